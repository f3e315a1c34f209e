/*
 * fedmig-smd - the data mover. See fedmig-smd(8).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "buffer_job.h"
#include "db.h"
#include "lock.h"
#include "log.h"
#include "pim_sync.h"
#include "server.h"
#include "smd.h"
#include "store_buffer.h"
#include "store_smd.h"
#include "timeutil.h"
#include "xalloc.h"

static int opt_once, opt_pim, opt_pim_only, opt_two_way, opt_force_delete, opt_prestage;
static const char *opt_user, *opt_from, *opt_to, *opt_src_user, *opt_dst_user;

static int option(int opt, const char *arg)
{
	switch (opt) {
	case '1':
		opt_once = 1;
		return 0;
	case 'u':
		opt_user = arg;
		return 0;
	case 'F':
		opt_from = arg;
		return 0;
	case 'T':
		opt_to = arg;
		return 0;
	case 'S':
		opt_src_user = arg;
		return 0;
	case 'D':
		opt_dst_user = arg;
		return 0;
	case 'P':
		opt_pim = 1;
		return 0;
	case 'p':
		opt_pim_only = opt_pim = 1;
		return 0;
	case 'R':
		opt_prestage = 1;
		return 0;
	case 'W':
		opt_two_way = 1;
		return 0;
	case 'X':
		opt_force_delete = 1;
		return 0;
	}
	return -1;
}

/* login_on: USER's login on SYSTEM: its local part at NAME_domain. */
static char *login_on(const struct config *cfg, const char *user, const char *system)
{
	const char *at = strrchr(user, '@');
	const char *domain = config_sys_str(cfg, system, "domain");

	if (*domain == '\0')
		return xstrdup(user);
	return xasprintf("%.*s@%s", at ? (int)(at - user) : (int)strlen(user), user, domain);
}

/*
 * direct_copy: O's copy of KEY; from the data buffer of the newest agent
 * task reading SRC_LOGIN when the source is read by an agent (its own
 * journal, as the daemon's child keeps it).
 */
static int direct_copy(const struct config *cfg, struct copy_opts *o, const char *key,
		       const char *src_login, struct copy_result *r)
{
	long long req = 0;

	o->mailbox_key = key;
	if (!smd_is_agent(cfg, opt_from))
		return copy_mailbox(o, r);
	memset(r, 0, sizeof(*r));
	int fr = store_buffer_task_find(o->store, opt_from, src_login, &req);

	if (fr != STORE_OK) {
		snprintf(r->reason, sizeof(r->reason), "%s",
			 fr == STORE_NOTFOUND ? "no agent task reads this mailbox"
					      : store_errmsg(o->store));
		return COPY_FAILED;
	}
	struct buffer_job b;

	buffer_job_init(&b, cfg, req);
	int rc = buffer_job_run(&b, o, r);

	if (rc == BUFFER_JOB_IDLE) {
		snprintf(r->reason, sizeof(r->reason),
			 "the agent has not uploaded every folder yet; copied what it has");
		rc = COPY_FAILED;
	}
	return rc;
}

/* direct_pim: -u's contacts and calendars, after its mail (or alone with
 * --pim-only), in the default scenario's mode unless --two-way. */
static int direct_pim(const struct config *cfg, struct store *s, const char *key,
		      const char *src_login, const char *dst_login)
{
	struct pim_opts po;
	struct pim_result pr;

	memset(&po, 0, sizeof(po));
	po.cfg = cfg;
	po.store = s;
	po.src_system = opt_from;
	po.src_login = src_login;
	po.dst_system = opt_to;
	po.dst_login = dst_login;
	po.mailbox_key = key;

	if (!pim_sync_wanted(cfg, opt_from, opt_to)) {
		printf("pim: skipped: %s and %s do not both have a carddav or caldav URL\n",
		       opt_from, opt_to);
		log_info("%s: contacts and calendars skipped: %s and %s do not both have "
			 "%s_carddav or %s_caldav",
			 key, opt_from, opt_to, opt_to, opt_to);
		return opt_pim_only ? 1 : 0;
	}
	pim_opts_scenario(&po, cfg, config_str(cfg, "default_scenario"));
	po.two_way |= opt_two_way;
	po.force_delete = opt_force_delete;
	po.summary = stdout;
	int rc = pim_sync_run(&po, &pr);

	if (rc == PIM_FAILED)
		printf("reason: %s\n", pr.reason);
	else if (rc == PIM_HELD)
		printf("held: deletions above pim_delete_threshold not done (--force-delete)\n");
	fflush(stdout);
	return rc == PIM_OK ? 0 : rc == PIM_HELD ? 3 : 1;
}

static int direct(const struct config *cfg)
{
	struct copy_opts o;
	struct copy_result r;
	char *err = NULL;
	int rc = 1;

	if (opt_from == NULL || opt_to == NULL) {
		fprintf(stderr, "fedmig-smd: -u needs --from SYSTEM and --to SYSTEM\n");
		return 2;
	}
	/* -u's one-copier lock is a file beside the database; on a server the
	 * queue's lease is the mailbox's lock, which -u does not take. */
	if (db_is_url(config_str(cfg, "state_database"))) {
		fprintf(stderr, "fedmig-smd: -u needs a state_database file (its mailbox lock lives "
				"beside it); on a postgresql:// store copy through the queue "
				"(fedmigctl submit), where the worker's lease locks the mailbox\n");
		return 2;
	}
	char *src_login = opt_src_user ? xstrdup(opt_src_user) : login_on(cfg, opt_user, opt_from);
	char *dst_login = opt_dst_user ? xstrdup(opt_dst_user) : login_on(cfg, opt_user, opt_to);
	struct store *s = store_open_config(cfg, STORE_RDWR, (uid_t)-1, (gid_t)-1, &err);

	memset(&o, 0, sizeof(o));
	if (s == NULL) {
		log_error("%s", err);
		goto out;
	}
	store_smd_relax(s);
	smd_copy_opts(cfg, &o);
	if (!opt_pim_only && ((!smd_is_agent(cfg, opt_from) &&
			       smd_side_init(cfg, opt_from, src_login, &o.src, &err) < 0) ||
			      smd_side_init(cfg, opt_to, dst_login, &o.dst, &err) < 0)) {
		log_error("%s", err);
		goto out;
	}
	char *key = smd_mailbox_key(opt_from, src_login, opt_to, dst_login);
	/* One copier per mailbox (smd/lock.h), the queue's children too: held
	 * until we exit, by our lanes as well. */
	int lock = smd_lock_take(config_str(cfg, "state_database"), key, &err);

	if (lock < 0) {
		if (lock == SMD_LOCK_BUSY)
			err = xasprintf("%s: another fedmig-smd is copying this mailbox: not copied",
					key);
		log_error("%s", err);
		printf("reason: %s\n", err);
		free(key);
		goto out;
	}
	o.store = s;
	o.summary = stdout;
	/* A pre-stage pass runs before the switch: the source wins. */
	o.switched = !opt_prestage;
	if (opt_pim_only) {
		rc = direct_pim(cfg, s, key, src_login, dst_login);
		close(lock);
		free(key);
		goto out;
	}
	long long t0 = time_mono_us();
	int cr = direct_copy(cfg, &o, key, src_login, &r);

	printf("mailbox=%s folders=%lld messages=%lld bytes=%lld done=%lld copied=%lld found=%lld "
	       "skipped=%lld verified=%lld/%lld refused_keywords=%lld seconds=%.2f result=%s\n",
	       key, r.folders, r.messages, r.bytes, r.copied + r.found + r.skipped, r.copied,
	       r.found, r.skipped, r.verified, r.folders,
	       r.refused_keywords, (double)(time_mono_us() - t0) / 1e6,
	       cr == COPY_OK ? "ok" : cr == COPY_STOPPED ? "stopped" : "failed");
	if (cr != COPY_OK) {
		printf("reason: %s\n", r.reason[0] ? r.reason : "stopped");
		log_error("%s: copy failed: %s", key, r.reason);
	} else {
		log_info("%s: copied folders=%lld messages=%lld bytes=%lld done=%lld copied=%lld "
			 "found=%lld skipped=%lld",
			 key, r.folders, r.messages, r.bytes, r.copied + r.found + r.skipped, r.copied,
			 r.found, r.skipped);
	}
	fflush(stdout);
	rc = cr == COPY_OK ? 0 : 1;
	if (rc == 0 && opt_pim)
		rc = direct_pim(cfg, s, key, src_login, dst_login);
	close(lock);
	free(key);
out:
	free(err);
	smd_side_free(&o.src);
	smd_side_free(&o.dst);
	store_close(&s);
	free(src_login);
	free(dst_login);
	return rc;
}

static int run(struct server *srv, struct config *cfg)
{
	if (opt_user) {
		log_info("started -- version %s, configuration %s, one mailbox: %s from %s to %s",
			 FEDMIG_VERSION, config_path(cfg), opt_user, opt_from ? opt_from : "?",
			 opt_to ? opt_to : "?");
		int rc = direct(cfg);

		log_info("terminating: one mailbox: mailboxes done=%d failed=%d", rc == 0, rc != 0);
		return rc;
	}
	return smd_master(srv, cfg, opt_once);
}

static const struct server_opt opts[] = {
	{'1', "once", NULL, "process the mailboxes due, wait for the children, exit"},
	{'u', "user", "ADDRESS", "copy this one mailbox now (no queue), then exit"},
	{'F', "from", "SYSTEM", "with -u: the source system"},
	{'T', "to", "SYSTEM", "with -u: the target system"},
	{'S', "src-user", "LOGIN", "with -u: login on the source (default: local part\n"
				   "of ADDRESS at the source's domain)"},
	{'D', "dst-user", "LOGIN", "with -u: login on the target (likewise)"},
	{'P', "pim", NULL, "with -u: copy contacts and calendars after the mail"},
	{'p', "pim-only", NULL, "with -u: copy only contacts and calendars (no mail)"},
	{'R', "prestage", NULL, "with -u: a pass before the switch: the source wins\n"
				"(flags, expunges: the target is made to match it)"},
	{'W', "two-way", NULL, "with --pim or --pim-only: sync both ways"},
	{'X', "force-delete", NULL, "with --pim or --pim-only: delete even above\n"
				    "pim_delete_threshold"},
	{0, NULL, NULL, NULL},
};

/* -u copies in the foreground, without the loop; the master's hooks run
 * only in the queue's loop. */
static const struct server_ops ops = {
	.name = "fedmig-smd",
	.synopsis = "fedmig data mover: copies switched mailboxes over IMAP",
	.opts = opts,
	.option = option,
	.run = run,
	.stop = smd_master_stop,
	.child = smd_master_child,
	.reload = smd_master_reload,
	.restart_keys = smd_restart_keys,
};

int main(int argc, char **argv)
{
	return server_main(argc, argv, &ops);
}
