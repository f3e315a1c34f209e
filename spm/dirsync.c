/*
 * dirsync - the run (contract in dirsync.h): every listing first, outside
 * any transaction (a slow LDAP server holds no lock on the store), then
 * upward for each system in one transaction, committed (or, in a dry run,
 * kept open and rolled back at the end), then downward.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csv.h"
#include "dirsync_int.h"
#include "log.h"
#include "state.h"
#include "store_req.h"
#include "timeutil.h"
#include "xalloc.h"

static const char *const action_names[] = {
	[DS_ADD] = "add",	  [DS_CHANGE] = "change", [DS_REMOVE] = "remove",
	[DS_CONFLICT] = "conflict", [DS_HELD] = "held",	  [DS_EXISTS] = "exists",
	[DS_FAILED] = "failed",
};

int dirsync_enabled(const struct config *cfg, const char *sys)
{
	const char *d = config_sys_str(cfg, sys, "directory");

	return *d && strcmp(d, "none") != 0;
}

int dirsync_exit(const struct dirsync_report *rep)
{
	if (rep->failed)
		return 2;
	return rep->held || rep->conflicts ? 1 : 0;
}

void ds_act(struct ds_run *r, struct ds_sys *y, int down, enum ds_action a, const char *address,
	    const char *fmt, ...)
{
	char detail[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	y->counts[a]++;
	if (a == DS_CONFLICT)
		r->rep->conflicts++;
	else if (a == DS_HELD)
		r->rep->held = 1;
	else if (a == DS_FAILED)
		r->rep->failed = 1;
	else
		r->rep->changes++;
	if (a == DS_CONFLICT || a == DS_HELD || a == DS_FAILED || a == DS_EXISTS)
		log_warn("directory sync %s %s: %s %s: %s%s", y->name, down ? "down" : "up",
			 action_names[a], *address ? address : "-", detail,
			 r->o->dry_run ? " (dry run)" : "");
	if (r->out == NULL)
		return;
	fprintf(r->out, "%s,%s,%s,", y->name, down ? "down" : "up", action_names[a]);
	csv_put(r->out, address);
	putc(',', r->out);
	csv_put(r->out, detail);
	putc('\n', r->out);
}

void ds_summary(struct ds_run *r, struct ds_sys *y, int down, const char *status)
{
	const int *c = y->counts;

	if (r->out)
		fprintf(r->out, "%s,%s,summary,%s,added=%d changed=%d removed=%d conflicts=%d "
				"held=%d exists=%d failed=%d\n",
			y->name, down ? "down" : "up", status, c[DS_ADD], c[DS_CHANGE],
			c[DS_REMOVE], c[DS_CONFLICT], c[DS_HELD], c[DS_EXISTS], c[DS_FAILED]);
	log_info("directory sync %s %s%s: %s, %d added, %d changed, %d removed, %d conflicts, "
		 "%d held",
		 y->name, down ? "down" : "up", r->o->dry_run ? " (dry run)" : "", status,
		 c[DS_ADD], c[DS_CHANGE], c[DS_REMOVE], c[DS_CONFLICT], c[DS_HELD]);
	memset(y->counts, 0, sizeof(y->counts));
}

int ds_share_over(const struct ds_run *r, size_t n, size_t of)
{
	long long limit = config_int(r->cfg, "directory_shrink_limit");

	/* More than LIMIT % of OF, in integers: n * 100 > of * limit. */
	return n > 0 && (unsigned long long)n * 100 > (unsigned long long)of * (unsigned long long)limit;
}

int ds_live(struct ds_run *r, const char *access, struct req *req)
{
	int rc = store_req_find(r->s, access, req);

	if (rc == STORE_ERR)
		return -1;
	return rc == STORE_OK && !state_is_final(req->state);
}

/* list: Y's listings, as the run wants them; no store write. */
static int list(struct ds_run *r, struct ds_sys *y)
{
	struct sys_sync ss;
	char why[DRV_WHY];

	if (store_sys_sync_get(r->s, y->name, &ss) == STORE_ERR)
		return -1;
	if (r->o->up) {
		why[0] = '\0';
		y->listed = dirdrv_list(r->cfg, y->name, ss.cookie, &y->l, why) == DRV_OK;
		if (!y->listed)
			snprintf(y->why, sizeof(y->why), "listing failed: %s", why);
	}
	y->has_contacts = r->o->down && dirdrv_has_contacts(r->cfg, y->name);
	if (y->has_contacts) {
		why[0] = '\0';
		y->contacts_listed =
			dirdrv_contacts(r->cfg, y->name, &y->contacts, &y->ncontacts, why) == DRV_OK;
		if (!y->contacts_listed && !*y->why)
			snprintf(y->why, sizeof(y->why), "contact listing failed: %s", why);
	}
	store_sys_sync_free(&ss);
	return 0;
}

/* up_failed: a failed listing changes nothing but the system's status. */
static int up_failed(struct ds_run *r, struct ds_sys *y)
{
	struct sys_sync ss;
	int rc;

	ds_act(r, y, 0, DS_FAILED, "", "%s; nothing changed", y->why);
	ds_summary(r, y, 0, "failed");
	if (store_sys_sync_get(r->s, y->name, &ss) == STORE_ERR)
		return -1;
	snprintf(ss.status, sizeof(ss.status), "failed");
	free(ss.cookie);
	ss.cookie = NULL; /* kept */
	rc = store_sys_sync_set(r->s, y->name, config_sys_str(r->cfg, y->name, "domain"), &ss);
	return rc == STORE_ERR ? -1 : 0;
}

static int run_up(struct ds_run *r)
{
	if (!r->o->up)
		return 0;
	for (size_t i = 0; i < r->nsys; i++)
		if (r->sys[i].listed && dirsync_up_prepare(r, &r->sys[i]) < 0)
			return -1;
	/* The conflicts of the systems listed are found afresh by this run
	 * (an incremental listing read the accounts they concern above):
	 * cleared before any pass, so that none erases what an earlier one
	 * of this run found. */
	for (size_t i = 0; i < r->nsys; i++)
		if (r->sys[i].listed && store_dconflict_clear(r->s, r->sys[i].name) == STORE_ERR)
			return -1;
	for (size_t i = 0; i < r->nsys; i++) {
		struct ds_sys *y = &r->sys[i];
		int rc = y->listed ? dirsync_up(r, y) : up_failed(r, y);

		if (rc < 0)
			return -1;
	}
	return 0;
}

static int run_down(struct ds_run *r)
{
	for (size_t i = 0; i < r->nsys; i++) {
		struct ds_sys *y = &r->sys[i];

		if (!y->has_contacts)
			continue;
		if (!y->contacts_listed) {
			ds_act(r, y, 1, DS_FAILED, "", "%s; nothing changed", y->why);
			ds_summary(r, y, 1, "failed");
		} else if (dirsync_down(r, y) < 0) {
			return -1;
		}
	}
	return 0;
}

/* pick: the systems of the run: those named, else every one with a
 * directory driver. */
static void pick(struct ds_run *r)
{
	size_t n;
	const char *const *all = config_list(r->cfg, "systems", &n);
	const char *const *v = r->o->systems ? r->o->systems : all;
	size_t nv = r->o->systems ? r->o->nsystems : n;

	r->sys = xcalloc(nv + 1, sizeof(*r->sys));
	for (size_t i = 0; i < nv; i++)
		if (dirsync_enabled(r->cfg, v[i]))
			r->sys[r->nsys++].name = v[i];
}

static void free_sys(struct ds_run *r)
{
	for (size_t i = 0; i < r->nsys; i++) {
		struct ds_sys *y = &r->sys[i];

		dir_listing_free(&y->l);
		dir_contacts_free(y->contacts, y->ncontacts);
		store_dacc_free(y->prev, y->nprev);
		store_dacc_free(y->cur, y->ncur);
	}
	free(r->sys);
}

int dirsync_run(const struct config *cfg, struct store *s, const struct dirsync_opts *o,
		FILE *out, struct dirsync_report *rep)
{
	struct ds_run r = {cfg, s, o, out, rep, time_now_us(), NULL, 0};
	int rc = -1;

	memset(rep, 0, sizeof(*rep));
	pick(&r);
	for (size_t i = 0; i < r.nsys; i++)
		if (list(&r, &r.sys[i]) < 0)
			goto out;
	if (store_begin(s) < 0)
		goto out;
	if (run_up(&r) < 0 || (!o->dry_run && store_commit(s) < 0)) {
		store_rollback(s);
		goto out;
	}
	rc = run_down(&r);
	if (o->dry_run)
		store_rollback(s);
out:
	if (rc < 0)
		log_error("directory sync: store: %s", store_errmsg(s));
	free_sys(&r);
	return rc;
}

int dirsync_lock(const struct config *cfg, char **err_r)
{
	char *path = xasprintf("%s/fedmig-dirsync.lock", config_str(cfg, "run_directory"));
	int fd = open(path, O_RDONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
	struct stat st;

	if (fd < 0) {
		*err_r = xasprintf("open %s: %s", path, strerror(errno));
	} else if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		*err_r = xasprintf("%s: not a regular file", path);
		close(fd);
		fd = -1;
	} else if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		*err_r = errno == EWOULDBLOCK
				 ? xasprintf("another directory sync is running (lock %s)", path)
				 : xasprintf("flock %s: %s", path, strerror(errno));
		close(fd);
		fd = -1;
	}
	free(path);
	return fd;
}

/* lists_all: 1 if A has ACCESS and every address of ALIASES. */
static int lists_all(const struct dacc *a, const char *access, const char *aliases,
		     char *why, size_t whysize)
{
	char *copy = xstrdup(aliases), *save = NULL;
	int ok = strcmp(a->access, access) == 0 ||
		 (snprintf(why, whysize, "it lists %s as %s", a->physical, a->access), 0);

	for (char *w = strtok_r(copy, " ", &save); w && ok; w = strtok_r(NULL, " ", &save)) {
		size_t len = strlen(w);
		const char *p = a->aliases;

		while ((p = strstr(p, w)) && !((p == a->aliases || p[-1] == ' ') &&
						(p[len] == ' ' || p[len] == '\0')))
			p += len;
		if (p == NULL) {
			snprintf(why, whysize, "it lists no alias %s", w);
			ok = 0;
		}
	}
	free(copy);
	return ok;
}

/* announces: the sync of SYS, then its account of PHYSICAL checked. */
static int announces(const struct config *cfg, struct store *s, const char *sys,
		     const char *physical, const char *access, const char *aliases, char *why,
		     size_t whysize)
{
	const char *v[1] = {sys};
	struct dirsync_opts o = {.up = 1, .systems = v, .nsystems = 1};
	struct dirsync_report rep;
	struct dacc a;
	char *err = NULL;
	int fd = dirsync_lock(cfg, &err), rc;

	if (fd < 0) {
		snprintf(why, whysize, "%s", err);
		free(err);
		return 0;
	}
	rc = dirsync_run(cfg, s, &o, NULL, &rep);
	close(fd);
	if (rc < 0)
		return -1;
	if (rep.failed || rep.held) {
		snprintf(why, whysize, "the sync of %s %s", sys, rep.failed ? "failed" : "was held");
		return 0;
	}
	rc = store_dacc_physical(s, sys, physical, &a);
	if (rc == STORE_ERR)
		return -1;
	if (rc == STORE_NOTFOUND) {
		snprintf(why, whysize, "%s's directory has no mailbox %s", sys, physical);
		return 0;
	}
	rc = lists_all(&a, access, aliases, why, whysize);
	store_dacc_clear(&a);
	return rc;
}

int dirsync_announces(const struct config *cfg, struct store *s, const struct req *r)
{
	char why[DRV_WHY], *aliases = NULL;
	int rc;

	if (!dirsync_enabled(cfg, r->target_system))
		return 0;
	if (store_dir_aliases(s, r->access, &aliases) < 0)
		return -1;
	why[0] = '\0';
	rc = announces(cfg, s, r->target_system, r->target_physical, r->access, aliases, why,
		       sizeof(why));
	free(aliases);
	if (rc == 0)
		log_info("%s: request=%lld E5 through the directory sync not known (%s): asking "
			 "the driver", r->access, r->id, why);
	else if (rc == 1)
		log_info("%s: request=%lld E5: %s's directory sync lists it", r->access, r->id,
			 r->target_system);
	return rc;
}
