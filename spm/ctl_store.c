/*
 * fedmigctl store copy FILE: a site that began on one host (SQLite) and
 * now needs several (PostgreSQL, README "Several MX hosts") keeps every
 * request, its history, the copy journals and the agents (lib/
 * store_copy.h). The configured state_database is the target; FILE, the
 * old SQLite store, is only read (upgraded to this version first, as
 * every program does when it opens it).
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "db.h"
#include "store_copy.h"
#include "xalloc.h"

static int cmd_copy(struct ctl *ctl, int argc, char **argv);

const struct ctl_cmd ctl_store_cmds[] = {
	{"store copy", "FILE",
	 "copy the SQLite store FILE into the configured postgresql:// state_database, which must be"
	 " empty (every fedmig program stopped)",
	 cmd_copy},
	{NULL, NULL, NULL, NULL},
};

/*
 * pilot_running: 1 when a fedmig-spm leads on FILE (it holds the flock on
 * FILE.pilot-lock, lib/db_lock.c), 0 when none does, -1 (printed) when
 * the lock file is not one to trust. Opened read-only, never created:
 * root must not leave a file of its own where the pilot locks.
 */
static int pilot_running(const char *file)
{
	char *path = xasprintf("%s.pilot-lock", file);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC), rc = 0;
	struct stat st;

	if (fd < 0) {
		if (errno != ENOENT) {
			fprintf(stderr, "fedmigctl: %s: %s\n", path, strerror(errno));
			rc = -1;
		}
		free(path);
		return rc;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "fedmigctl: %s is not a plain file\n", path);
		rc = -1;
	} else if (flock(fd, LOCK_SH | LOCK_NB) < 0)
		rc = errno == EWOULDBLOCK ? 1 : -1;
	close(fd);
	free(path);
	return rc;
}

/* open_source: FILE, a SQLite store of fedmig's, opened as its owner
 * would (root never leaves -wal or -shm files the daemons cannot open). */
static struct store *open_source(const struct ctl *ctl, const char *file)
{
	struct stat st;
	struct store *s;
	char *err = NULL;

	if (db_is_url(file)) {
		fprintf(stderr, "fedmigctl: store copy: %s is not a SQLite file\n", file);
		return NULL;
	}
	if (lstat(file, &st) < 0) {
		fprintf(stderr, "fedmigctl: store copy: %s: %s\n", file, strerror(errno));
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "fedmigctl: store copy: %s: not a plain file (a link is refused)\n",
			file);
		return NULL;
	}
	s = store_open_owned(file, (int)config_time_ms(ctl->cfg, "store_busy_timeout"),
			     geteuid() == 0 ? st.st_uid : (uid_t)-1,
			     geteuid() == 0 ? st.st_gid : (gid_t)-1, &err);
	if (s == NULL) {
		fprintf(stderr, "fedmigctl: store copy: %s: %s\n", file, err);
		free(err);
	}
	return s;
}

static int cmd_copy(struct ctl *ctl, int argc, char **argv)
{
	const char *target = config_str(ctl->cfg, "state_database");
	struct store_copy *c;
	struct store *from;
	char *err = NULL;
	long long rows;
	int rc;

	if (argc != 1)
		return ctl_usage(&ctl_store_cmds[0]);
	if (!db_is_url(target)) {
		fprintf(stderr, "fedmigctl: store copy: state_database is %s, not a postgresql:// "
				"URL: set it to the new database first (fedmig.conf(5))\n",
			target);
		return 1;
	}
	switch (pilot_running(argv[0])) {
	case 0:
		break;
	case 1:
		fprintf(stderr, "fedmigctl: store copy: fedmig-spm is running on %s: stop every "
				"fedmig program first\n",
			argv[0]);
		return 1;
	default:
		return 1;
	}
	from = open_source(ctl, argv[0]);
	if (from == NULL)
		return 1;
	c = store_copy_new();
	rows = store_copy_run(c, from, ctl_store(ctl), &err);
	rc = rows < 0;
	if (rc) {
		fprintf(stderr, "fedmigctl: store copy: %s; nothing was copied\n", err);
		free(err);
	} else {
		const char *name;
		long long n;

		for (int i = 0; store_copy_table(c, i, &name, &n) == 0; i++)
			if (n > 0)
				printf("%-24s %lld\n", name, n);
		printf("copied %lld rows from %s into %s\n", rows, argv[0], target);
	}
	store_close(&from);
	store_close(&ctl->store); /* before the copy's texts: its cache's keys */
	store_copy_free(&c);
	return rc;
}
