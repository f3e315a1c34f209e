/*
 * ctl_dirsync - fedmigctl directory sync (spm/dirsync.h: the output and
 * the exit status are the engine's), and the sync's part of fedmigctl
 * directory show: the owner's last sync, and each other system's
 * downward contact for the address.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ctl.h"
#include "addr.h"
#include "dirsync.h"
#include "store_dir.h"
#include "store_req.h"
#include "timeutil.h"
#include "xalloc.h"

static int cmd_sync(struct ctl *ctl, int argc, char **argv)
{
	struct dirsync_opts o = {.up = 1, .down = 1};
	struct dirsync_report rep;
	const char **sys = xcalloc((size_t)argc + 1, sizeof(*sys));
	char *err = NULL;
	int fd, rc;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--dry-run") == 0 || strcmp(argv[i], "-n") == 0) {
			o.dry_run = 1;
		} else if (strcmp(argv[i], "--force") == 0) {
			o.force = 1;
		} else if (argv[i][0] == '-') {
			free(sys);
			return ctl_usage(&ctl_dirsync_cmds[0]);
		} else if (!config_has_system(ctl->cfg, argv[i]) ||
			   !dirsync_enabled(ctl->cfg, argv[i])) {
			fprintf(stderr, "fedmigctl: %s: no such system with a directory (%s_directory)\n",
				argv[i], config_has_system(ctl->cfg, argv[i]) ? argv[i] : "NAME");
			free(sys);
			return 1;
		} else {
			sys[o.nsystems++] = argv[i];
		}
	}
	o.systems = o.nsystems ? sys : NULL;
	if ((fd = dirsync_lock(ctl->cfg, &err)) < 0) {
		fprintf(stderr, "fedmigctl: %s\n", err);
		free(err);
		free(sys);
		return 2;
	}
	rc = dirsync_run(ctl->cfg, ctl_store(ctl), &o, stdout, &rep);
	close(fd);
	free(sys);
	if (rc < 0) {
		fprintf(stderr, "fedmigctl: %s\n", store_errmsg(ctl->store));
		return 2;
	}
	if (o.dry_run)
		printf("# dry run: nothing written\n");
	return dirsync_exit(&rep);
}

/* contacts_line: "SYS (yes|refused|no) ..." for every other system with a
 * directory. */
static int contacts_line(struct ctl *ctl, const struct dir_entry *e)
{
	size_t n, shown = 0;
	const char *const *sys = config_list(ctl->cfg, "systems", &n);

	printf("contacts:  ");
	for (size_t i = 0; i < n; i++) {
		int state = -1, rc;

		if (strcmp(sys[i], e->system) == 0 || !dirsync_enabled(ctl->cfg, sys[i]))
			continue;
		rc = store_dcontact_state(ctl->store, sys[i], e->access, &state);
		if (rc == STORE_ERR)
			return -1;
		printf("%s%s %s", shown++ ? ", " : "", sys[i],
		       rc == STORE_NOTFOUND ? "no"
		       : state == 0	    ? "yes"
					    : "refused (an entry there has the address)");
	}
	printf("%s\n", shown ? "" : "-");
	return 0;
}

int ctl_dirsync_show(struct ctl *ctl, const struct dir_entry *e)
{
	struct sys_sync ss;
	char *name = NULL, *conflict = NULL, t[TIME_BUF];
	int rc;

	if (store_dir_name(ctl->store, e->access, &name) < 0 ||
	    store_sys_sync_get(ctl->store, e->system, &ss) == STORE_ERR ||
	    store_dconflict_get(ctl->store, e->access, &conflict) < 0) {
		free(name);
		return -1;
	}
	printf("name:      %s\n", *name ? name : "-");
	printf("owner:     %s, last sync %s%s%s%s\n", e->system,
	       ss.last_sync ? time_format_local(ss.last_sync, t) : "never",
	       *ss.status ? " (" : "", ss.status, *ss.status ? ")" : "");
	if (*conflict)
		printf("conflict:  listed by %s\n", conflict);
	rc = contacts_line(ctl, e);
	store_sys_sync_free(&ss);
	free(name);
	free(conflict);
	return rc;
}

/* --- submit --group --- */

struct group {
	const char *domain, *to;
	char **addr;
	size_t n;
	char source[STORE_SYSTEM_MAX];
	int mixed; /* members on more than one source system */
};

static void member(struct group *g, const struct dir_entry *e)
{
	if (strcmp(e->system, g->to) == 0)
		return; /* there already */
	if (g->n == 0)
		snprintf(g->source, sizeof(g->source), "%s", e->system);
	else if (strcmp(g->source, e->system) != 0)
		g->mixed = 1;
	g->addr = xrealloc(g->addr, (g->n + 1) * sizeof(*g->addr));
	g->addr[g->n++] = xstrdup(e->access);
}

static int domain_member(void *ctx, const struct dir_entry *e)
{
	struct group *g = ctx;

	if (strcasecmp(addr_domain(e->access), g->domain) == 0)
		member(g, e);
	return 0;
}

/* ou_members: the accounts the sync listed in DN or below, as entries. */
static int ou_members(struct store *s, const char *dn, struct group *g)
{
	char *list = NULL, *save = NULL;
	struct dir_entry e;
	int rc = STORE_OK;

	if (store_dacc_group(s, dn, &list) < 0)
		return STORE_ERR;
	for (char *a = strtok_r(list, " ", &save); a && rc != STORE_ERR;
	     a = strtok_r(NULL, " ", &save))
		if ((rc = store_dir_lookup(s, a, &e)) == STORE_OK && e.match == DIR_ACCESS)
			member(g, &e);
	free(list);
	return rc == STORE_ERR ? STORE_ERR : STORE_OK;
}

/* add_batch: one batch of G's requests; the exit status. */
static int add_batch(struct ctl *ctl, const char *label, struct group *g, struct req *proto)
{
	struct store *s = ctl_store(ctl);
	long long batch = 0, now = time_now_us();
	int errors = 0;
	char tbuf[TIME_BUF];

	if (store_begin(s) < 0 || store_batch_add(s, label, now, &batch) < 0)
		goto fail;
	for (size_t i = 0; i < g->n; i++) {
		struct req r = *proto;
		int rc;

		snprintf(r.access, sizeof(r.access), "%s", g->addr[i]);
		r.batch_id = batch;
		rc = store_req_add(s, &r, now, label);
		if (rc == STORE_EXISTS) {
			fprintf(stderr, "fedmigctl: %s\n", store_errmsg(s));
			errors++;
		} else if (rc != STORE_OK) {
			goto fail;
		}
	}
	if (errors) {
		store_rollback(s);
		fprintf(stderr, "fedmigctl: %s: %d addresses already migrating: nothing submitted\n",
			label, errors);
		return 1;
	}
	if (store_commit(s) < 0)
		goto fail;
	printf("batch %lld: %zu requests (%s) from %s to %s at %s (scenario %s)\n", batch, g->n,
	       label, g->source, proto->target_system, time_format_local(proto->planned_at, tbuf),
	       proto->scenario);
	return 0;
fail:
	fprintf(stderr, "fedmigctl: %s\n", store_errmsg(s));
	store_rollback(s);
	return 1;
}

/* group_args: the options after "--group GROUP" into PROTO; 0, or -1. */
static int group_args(struct ctl *ctl, int argc, char **argv, struct req *proto)
{
	const char *at = "now", *scenario = config_str(ctl->cfg, "default_scenario"), *to = NULL;

	for (int i = 2; i < argc; i++) {
		if (i + 1 >= argc)
			return -1;
		if (strcmp(argv[i], "--to") == 0)
			to = argv[++i];
		else if (strcmp(argv[i], "--at") == 0)
			at = argv[++i];
		else if (strcmp(argv[i], "--scenario") == 0)
			scenario = argv[++i];
		else
			return -1;
	}
	if (to == NULL || strlen(to) >= sizeof(proto->target_system) ||
	    strlen(scenario) >= sizeof(proto->scenario))
		return -1;
	snprintf(proto->target_system, sizeof(proto->target_system), "%s", to);
	snprintf(proto->scenario, sizeof(proto->scenario), "%s", scenario);
	if (time_parse_local(at, time_now_us(), &proto->planned_at) < 0) {
		fprintf(stderr, "fedmigctl: %s: bad time (now, +30m, YYYY-MM-DD HH:MM[:SS])\n", at);
		return -2;
	}
	return 0;
}

int ctl_submit_group(struct ctl *ctl, const struct ctl_cmd *me, int argc, char **argv)
{
	struct group g = {0};
	struct req proto;
	const char *grp = argc > 1 ? argv[1] : "";
	int rc;

	memset(&proto, 0, sizeof(proto));
	if ((rc = group_args(ctl, argc, argv, &proto)) < 0 || argc < 2)
		return rc == -2 ? 1 : ctl_usage(me);
	if (!config_has_system(ctl->cfg, proto.target_system) ||
	    !config_has_scenario(ctl->cfg, proto.scenario)) {
		fprintf(stderr, "fedmigctl: unknown target system or scenario\n");
		return 1;
	}
	g.to = proto.target_system;
	if (strncmp(grp, "domain:", 7) == 0 && grp[7]) {
		g.domain = grp + 7;
		rc = store_dir_each(ctl_store(ctl), domain_member, &g);
	} else if (strncmp(grp, "ou:", 3) == 0 && grp[3]) {
		rc = ou_members(ctl_store(ctl), grp + 3, &g);
	} else {
		fprintf(stderr, "fedmigctl: %s: a group is domain:DOMAIN or ou:DN\n", grp);
		return 2;
	}
	if (rc < 0)
		fprintf(stderr, "fedmigctl: %s\n", store_errmsg(ctl->store));
	else if (g.n == 0)
		fprintf(stderr, "fedmigctl: %s: no address to move to %s\n", grp, g.to);
	else if (g.mixed)
		fprintf(stderr, "fedmigctl: %s: its addresses live on more than one system; a batch "
				"moves one source's\n", grp);
	rc = rc < 0 || g.n == 0 || g.mixed ? 1 : add_batch(ctl, grp, &g, &proto);
	for (size_t i = 0; i < g.n; i++)
		free(g.addr[i]);
	free(g.addr);
	return rc;
}

const struct ctl_cmd ctl_dirsync_cmds[] = {
	{"directory sync", "[--dry-run] [--force] [SYSTEM ...]",
	 "sync the directory with the systems' own directories, up then down; print each change "
	 "as CSV",
	 cmd_sync},
	{NULL, NULL, NULL, NULL},
};
