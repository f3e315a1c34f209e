/*
 * db_lock - the session lock of lib/db.h (db_lock_try, db_lock_held): one
 * process of several leads (fedmig-spm's pilot). PostgreSQL: an advisory
 * lock, held by the server for the connection; SQLite: an flock on a file
 * beside the database, through daemon_lock() (a plain file of ours, no
 * link followed, our pid written in it: who leads).
 */
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "db_int.h"
#include "fnv.h"
#include "xalloc.h"

static int name_ok(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n < sizeof(((struct db *)0)->lock_name) &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* pg_key: the advisory lock's key, a 63-bit FNV-1a of "fedmig:" NAME (the
 * prefix keeps clear of other applications' keys on a shared server). */
static int64_t pg_key(const char *name)
{
	char *s = xasprintf("fedmig:%s", name);
	uint64_t h = fnv1a64(s);

	free(s);
	return (int64_t)(h >> 1);
}

static int pg_try(struct db *db, const char *name)
{
	struct db_stmt *st = db_prepare(db, "SELECT pg_try_advisory_lock(?1)");
	int rc, got;

	if (st == NULL)
		return DB_ERR;
	db_bind_int64(st, 1, pg_key(name));
	rc = db_step(st);
	got = rc == DB_ROW ? (int)db_column_int64(st, 0) : 0;
	if (db_reset(st) < 0 || rc != DB_ROW)
		return DB_ERR;
	if (got)
		db->lock_gen = db->ops->generation(db);
	return got ? 1 : 0;
}

static int file_try(struct db *db, const char *name)
{
	const char *path = db->ops->file(db);
	char *d = xstrdup(path), *b = xstrdup(path), *file, *err = NULL;
	const char *dir = dirname(d);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd = -1, rc;

	file = xasprintf("%s.%s-lock", basename(b), name);
	if (dfd < 0)
		rc = db_fail(db, 0, "lock %s: cannot open the directory %s", name, dir);
	else if ((fd = daemon_lock(dfd, dir, file, &err)) >= 0)
		rc = 1;
	else if (strstr(err, "already running") != NULL)
		rc = 0;
	else
		rc = db_fail(db, 0, "lock %s: %s", name, err);
	if (dfd >= 0)
		close(dfd);
	free(err);
	free(file);
	free(d);
	free(b);
	if (rc == 1)
		db->lock_fd = fd + 1;
	return rc;
}

int db_lock_try(struct db *db, const char *name)
{
	int rc;

	if (!name_ok(name))
		return db_fail(db, 0, "session lock '%.40s': a bad name", name);
	if (db->lock_name[0] != '\0') {
		if (strcmp(db->lock_name, name) == 0 && db_lock_held(db) == 1)
			return 1;
		if (strcmp(db->lock_name, name) != 0)
			return db_fail(db, 0, "session lock %s: this connection holds %s already",
				       name, db->lock_name);
	}
	if (db_in_tx(db))
		return db_fail(db, 0, "session lock %s: not inside a transaction", name);
	rc = db_backend(db) == DB_PG ? pg_try(db, name) : file_try(db, name);
	if (rc == 1)
		strcpy(db->lock_name, name);
	return rc;
}

int db_lock_held(struct db *db)
{
	if (db->lock_name[0] == '\0')
		return 0;
	if (db_backend(db) != DB_PG)
		return 1; /* the flock lives as long as its fd, ours until db_close */
	/* A round trip: a connection lost since shows now (and is opened
	 * again, without the lock). */
	if (db_exec(db, "SELECT 1") < 0 && db_exec(db, "SELECT 1") < 0)
		return DB_ERR;
	return db->ops->generation(db) == db->lock_gen ? 1 : 0;
}

void db_lock_release(struct db *db)
{
	if (db->lock_fd > 0)
		close(db->lock_fd - 1);
	db->lock_fd = 0;
	db->lock_name[0] = '\0';
}
