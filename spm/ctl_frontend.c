/*
 * fedmigctl frontend add|list|remove: the Postfix front ends the switch
 * drains and releases on (lib/store_fe.h). Registration is the
 * administrator's, never a front end's own: a registered front end that
 * is down makes a switch wait or abort (frontend_timeout_action), so a
 * host that vanished is never forgotten silently.
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "store_fe.h"
#include "timeutil.h"

static int cmd_add(struct ctl *ctl, int argc, char **argv);
static int cmd_list(struct ctl *ctl, int argc, char **argv);
static int cmd_remove(struct ctl *ctl, int argc, char **argv);

const struct ctl_cmd ctl_frontend_cmds[] = {
	{"frontend add", "NAME",
	 "register a Postfix front end: from now on every switch drains and releases on it"
	 " (fedmig-frontend --name NAME runs there)",
	 cmd_add},
	{"frontend list", "", "the front ends: name, registered, last heartbeat, open orders",
	 cmd_list},
	{"frontend remove", "NAME", "stop ordering the front end (its open orders are dropped)",
	 cmd_remove},
	{NULL, NULL, NULL, NULL},
};

static int check_name(const char *name)
{
	if (fe_name_ok(name))
		return 0;
	fprintf(stderr, "fedmigctl: front end name \"%.64s\": 1-63 letters, digits, '-', '_' or "
			"'.'\n", name);
	return -1;
}

static int cmd_add(struct ctl *ctl, int argc, char **argv)
{
	int rc;

	if (argc != 1)
		return ctl_usage(&ctl_frontend_cmds[0]);
	if (check_name(argv[0]) < 0)
		return 1;
	rc = store_fe_add(ctl_store(ctl), argv[0], time_now_us());
	if (rc == STORE_FE_EXISTS) {
		fprintf(stderr, "fedmigctl: front end %s is registered already\n", argv[0]);
		return 1;
	}
	if (rc != STORE_OK) {
		fprintf(stderr, "fedmigctl: %s\n", store_errmsg(ctl_store(ctl)));
		return 1;
	}
	return 0;
}

static int list_row(void *ctx, const struct fe_info *f)
{
	char reg[TIME_BUF], seen[TIME_BUF];

	if (*(int *)ctx)
		printf("%-24s %-19s %-19s %s\n", "NAME", "REGISTERED", "LAST SEEN", "OPEN ORDERS");
	*(int *)ctx = 0;
	printf("%-24s %-19s %-19s %lld\n", f->name, time_format_local(f->registered, reg),
	       time_format_local(f->last_seen, seen), f->open_orders);
	return 0;
}

static int cmd_list(struct ctl *ctl, int argc, char **argv)
{
	int first = 1;

	(void)argv;
	if (argc != 0)
		return ctl_usage(&ctl_frontend_cmds[1]);
	if (store_fe_list(ctl_store(ctl), list_row, &first) < 0) {
		fprintf(stderr, "fedmigctl: %s\n", store_errmsg(ctl_store(ctl)));
		return 1;
	}
	return 0;
}

static int cmd_remove(struct ctl *ctl, int argc, char **argv)
{
	long long held = 0;
	int rc;

	if (argc != 1)
		return ctl_usage(&ctl_frontend_cmds[2]);
	if (check_name(argv[0]) < 0)
		return 1;
	rc = store_fe_remove(ctl_store(ctl), argv[0]);
	if (rc == STORE_NOTFOUND) {
		fprintf(stderr, "fedmigctl: no front end %s\n", argv[0]);
		return 1;
	}
	if (rc != STORE_OK) {
		fprintf(stderr, "fedmigctl: %s\n", store_errmsg(ctl_store(ctl)));
		return 1;
	}
	if (store_fe_held_count(ctl_store(ctl), argv[0], &held) == STORE_OK && held > 0)
		fprintf(stderr, "fedmigctl: warning: %lld messages fedmig held are still in %s's "
				"hold queue: only fedmig-frontend --name %s releases them\n",
			held, argv[0], argv[0]);
	return 0;
}
