/*
 * ctl_dirsync - fedmigctl directory sync (spm/dirsync.h: the output and
 * the exit status are the engine's), and the sync's part of fedmigctl
 * directory show: the owner's last sync, and each other system's
 * downward contact for the address.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "dirsync.h"
#include "store_dir.h"
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

const struct ctl_cmd ctl_dirsync_cmds[] = {
	{"directory sync", "[--dry-run] [--force] [SYSTEM ...]",
	 "sync the directory with the systems' own directories, up then down; print each change "
	 "as CSV",
	 cmd_sync},
	{NULL, NULL, NULL, NULL},
};
