#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store_file.h"
#include "store_fe.h"
#include "store_int.h"
#include "xalloc.h"

struct store {
	struct db *db;
	struct store_file file;
	enum store_mode mode;
	char err[512];
};

static int latest_version(void)
{
	return store_migrations[store_nmigrations - 1].version;
}

sqlite3 *store_db(struct store *s)
{
	return db_sqlite_handle(s->db);
}

struct db *store_dbh(struct store *s)
{
	return s->db;
}

int store_in_tx(const struct store *s)
{
	return db_in_tx(s->db);
}

void store_set_error(struct store *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
}

int store_fail(struct store *s, const char *context)
{
	store_set_error(s, "%s: %s", context, db_errmsg(s->db));
	return STORE_ERR;
}

const char *store_errmsg(const struct store *s)
{
	return s->err;
}

struct db_stmt *store_prepare(struct store *s, const char *sql)
{
	struct db_stmt *st = db_prepare(s->db, sql);

	if (st == NULL)
		store_fail(s, "prepare");
	return st;
}

void store_text(struct db_stmt *st, int i, char *buf, size_t size)
{
	snprintf(buf, size, "%s", db_column_text(st, i));
}

static int exec(struct store *s, const char *sql)
{
	if (db_exec(s->db, sql) < 0) {
		store_set_error(s, "%s", db_errmsg(s->db));
		return STORE_ERR;
	}
	return STORE_OK;
}

/*
 * set_wal: PRAGMA journal_mode=WAL. Two processes opening a new database
 * at the same moment can get SQLITE_BUSY here without the busy handler
 * being called (the mode change wants an exclusive lock), so retry with
 * a short backoff for up to BUSY_MS.
 */
static int set_wal(struct store *s, int busy_ms)
{
	long waited_us = 0, step_us = 1000;

	for (;;) {
		if (db_exec(s->db, "PRAGMA journal_mode=WAL") == DB_DONE)
			return STORE_OK;
		if (!db_err_temporary(s->db))
			break;
		if (waited_us >= (long)busy_ms * 1000)
			break;
		usleep((useconds_t)step_us);
		waited_us += step_us;
		if (step_us < 50000)
			step_us *= 2;
	}
	store_set_error(s, "%s", db_errmsg(s->db));
	return STORE_ERR;
}

static int read_version(struct store *s, int *v_r)
{
	struct db_stmt *st = store_prepare(s, "SELECT name FROM sqlite_master WHERE type='table' "
					      "AND name='schema_version'");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	rc = db_step(st);
	db_reset(st);
	if (rc == DB_DONE) {
		*v_r = 0;
		return STORE_OK;
	}
	if (rc != DB_ROW)
		return store_fail(s, "read schema");
	st = store_prepare(s, "SELECT max(version) FROM schema_version");
	if (st == NULL)
		return STORE_ERR;
	rc = db_step(st);
	*v_r = rc == DB_ROW ? (int)db_column_int64(st, 0) : 0;
	if (db_reset(st) < 0)
		rc = DB_ERR;
	return rc == DB_ROW ? STORE_OK : store_fail(s, "read schema version");
}

/* add_version: the row saying version V is in, the time from C (portable,
 * where strftime('%s','now') is SQLite's). */
static int add_version(struct store *s, int v)
{
	struct db_stmt *st = store_prepare(s, "INSERT INTO schema_version VALUES(?1, ?2)");

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, v);
	db_bind_int64(st, 2, (int64_t)time(NULL));
	return store_run(s, st, "record schema version");
}

static int upgrade(struct store *s)
{
	int v;

	if (store_begin(s) < 0)
		return STORE_ERR;
	if (read_version(s, &v) < 0)
		goto fail;
	if (v > latest_version()) {
		store_set_error(s, "database schema version %d is newer than this program (%d)", v,
				latest_version());
		goto fail;
	}
	if (v == 0 && exec(s, "CREATE TABLE schema_version(version INTEGER NOT NULL,"
			      " upgraded INTEGER NOT NULL)") < 0)
		goto fail;
	for (size_t i = 0; i < store_nmigrations; i++) {
		if (store_migrations[i].version <= v)
			continue;
		if (exec(s, store_migrations[i].sql) < 0 ||
		    add_version(s, store_migrations[i].version) < 0)
			goto fail;
	}
	return store_commit(s);
fail:
	return store_own_end(s, 1, STORE_ERR);
}

/*
 * create_file: make sure PATH is a regular file fedmig may open, creating
 * it ourselves so the mode is ours, not the umask's, and so we know
 * whether it is new (*CREATED_R): only a file we created may be empty (an
 * existing one was cut short, and SQLite would write a new, empty
 * directory into it). 0, or -1 with *ERR_R.
 */
static int create_file(const char *path, uid_t uid, gid_t gid, int *created_r, char **err_r)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	struct stat st;

	*created_r = fd >= 0;
	if (fd < 0 && errno == EEXIST)
		fd = open(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		*err_r = xasprintf("open %s: %s", path,
				   errno == ELOOP ? "a symbolic link, refused" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		*err_r = xasprintf("open %s: not a regular file", path);
		close(fd);
		return -1;
	}
	/* On the descriptor, never by path: the directory may be writable by
	 * the user we hand the file to. */
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) && fchown(fd, uid, gid) < 0) {
		*err_r = xasprintf("chown %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static struct store *open_as(const char *path, enum store_mode mode, int busy_ms, uid_t uid,
			     gid_t gid, char **err_r);

struct store *store_open(const char *path, enum store_mode mode, int busy_ms, char **err_r)
{
	return open_as(path, mode, busy_ms, (uid_t)-1, (gid_t)-1, err_r);
}

struct store *store_open_owned(const char *path, int busy_ms, uid_t uid, gid_t gid, char **err_r)
{
	return open_as(path, STORE_RDWR, busy_ms, uid, gid, err_r);
}

static struct store *open_as(const char *path, enum store_mode mode, int busy_ms, uid_t uid,
			     gid_t gid, char **err_r)
{
	struct store *s = xcalloc(1, sizeof(*s));
	struct db_opts o = { .busy_ms = busy_ms, .readonly = mode != STORE_RDWR };
	char why[512];
	int created = 0;
	int v;

	s->file.fd = s->file.dirfd = -1;
	s->mode = mode;
	/* A file path only for now: the store on PostgreSQL is a later step
	 * (HACKING, "The store on PostgreSQL"). */
	if (db_is_url(path)) {
		*err_r = xasprintf("state database %.200s: PostgreSQL is not supported yet", path);
		free(s);
		return NULL;
	}
	if (mode == STORE_RDWR && create_file(path, uid, gid, &created, err_r) < 0) {
		free(s);
		return NULL;
	}
	s->db = db_open(path, &o, err_r);
	if (s->db == NULL)
		goto fail;
	/* Never map the file: a database truncated under a mapping kills the
	 * process with SIGBUS at the next read past the new end. The page
	 * cache keeps the directory in memory; store_guard() drops it when
	 * the file changes under us. */
	exec(s, "PRAGMA mmap_size=0");
	exec(s, "PRAGMA cache_size=-32768");
	if (mode == STORE_RDWR) {
		/* Grow the file before a checkpoint writes a header that counts
		 * the new pages: readers compare the two (store_file.h). */
		int chunk = 256 * 1024;

		sqlite3_file_control(store_db(s), "main", SQLITE_FCNTL_CHUNK_SIZE, &chunk);
	}
	if (!created && store_file_open(&s->file, path, why, sizeof(why)) < 0) {
		*err_r = xstrdup(why);
		goto fail;
	}
	if (mode == STORE_RDWR) {
		if (set_wal(s, busy_ms) < 0 || exec(s, "PRAGMA synchronous=FULL") < 0 ||
		    upgrade(s) < 0) {
			*err_r = xasprintf("%s: %s", path, s->err);
			goto fail;
		}
		/* A new database goes to the file at once, not only to its WAL:
		 * from now on an empty file means a damaged one. */
		if (created && exec(s, "PRAGMA wal_checkpoint") < 0) {
			*err_r = xasprintf("%s: %s", path, s->err);
			goto fail;
		}
		if (created && store_file_open(&s->file, path, why, sizeof(why)) < 0) {
			*err_r = xstrdup(why);
			goto fail;
		}
	} else {
		if (read_version(s, &v) < 0) {
			*err_r = xasprintf("%s: %s", path, s->err);
			goto fail;
		}
		if (v != latest_version()) {
			*err_r = xasprintf("%s: schema version %d, this program needs %d "
					   "(fedmigctl check upgrades it)",
					   path, v, latest_version());
			goto fail;
		}
		exec(s, "PRAGMA query_only=1");
	}
	return s;
fail:
	store_close(&s);
	return NULL;
}

void store_close(struct store **sp)
{
	struct store *s = *sp;

	if (s == NULL)
		return;
	db_close(&s->db);
	store_file_close(&s->file);
	free(s);
	*sp = NULL;
}

int store_guard(struct store *s)
{
	char why[512];
	int rc = store_file_check(&s->file, why, sizeof(why));

	if (rc < 0) {
		store_set_error(s, "%s", why);
		return STORE_ERR;
	}
	/* Another process wrote the file: pages cached before may be gone
	 * from it (a restored backup). Outside a transaction none is in use. */
	if (rc > 0 && !store_in_tx(s))
		sqlite3_db_release_memory(store_db(s));
	return STORE_OK;
}

int store_schema_version(struct store *s)
{
	int v;

	return read_version(s, &v) < 0 ? STORE_ERR : v;
}

int store_check(struct store *s)
{
	struct db_stmt *st = store_prepare(s, "PRAGMA integrity_check");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	rc = db_step(st);
	if (rc != DB_ROW)
		return store_fail(s, "integrity_check");
	const char *r = db_column_text(st, 0);

	if (r == NULL || strcmp(r, "ok") != 0) {
		store_set_error(s, "integrity_check: %s", r ? r : "(null)");
		db_reset(st);
		return STORE_ERR;
	}
	db_reset(st);
	return STORE_OK;
}

int store_begin(struct store *s)
{
	if (db_begin(s->db) < 0) {
		store_set_error(s, "%s", db_errmsg(s->db));
		return STORE_ERR;
	}
	return STORE_OK;
}

int store_commit(struct store *s)
{
	if (db_commit(s->db) < 0) {
		store_set_error(s, "%s", db_errmsg(s->db));
		return STORE_ERR;
	}
	return STORE_OK;
}

int store_rollback(struct store *s)
{
	if (db_rollback(s->db) < 0) {
		store_set_error(s, "%s", db_errmsg(s->db));
		return STORE_ERR;
	}
	return STORE_OK;
}

int store_run(struct store *s, struct db_stmt *st, const char *context)
{
	int rc = db_step(st);

	if (db_reset(st) < 0 || rc != DB_DONE)
		return store_fail(s, context);
	return STORE_OK;
}

int store_run_id(struct store *s, struct db_stmt *st, long long *id_r, const char *context)
{
	int rc = db_step(st);

	if (rc == DB_ROW) {
		*id_r = db_column_int64(st, 0);
		rc = db_step(st);
	}
	if (db_reset(st) < 0 || rc != DB_DONE)
		return store_fail(s, context);
	return STORE_OK;
}

int store_system_put(struct store *s, const char *name, const char *domain)
{
	struct db_stmt *st = store_prepare(s, "INSERT INTO systems(name, domain) VALUES(?1, ?2) "
					    "ON CONFLICT(name) DO UPDATE SET domain = ?2 "
					    "WHERE systems.domain <> ?2");

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, name);
	db_bind_text(st, 2, domain);
	return store_run(s, st, "store system");
}

/* --- directory --- */

void store_read_entry(struct db_stmt *st, struct dir_entry *r)
{
	store_text(st, 0, r->access, sizeof(r->access));
	store_text(st, 1, r->system, sizeof(r->system));
	store_text(st, 2, r->physical, sizeof(r->physical));
	r->held = (int)db_column_int64(st, 3);
	r->held_since = db_column_int64(st, 4);
	r->switched_at = db_column_int64(st, 5);
	r->request_id = db_column_int64(st, 6);
}

/* lookup_one: run SQL (one row or none) for ADDR; MATCH tags the result,
 * or -1: column 7 does. */
static int lookup_one(struct store *s, const char *sql, const char *addr, int match,
		      struct dir_entry *r)
{
	struct db_stmt *st = store_prepare(s, sql);
	int rc;

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, addr);
	rc = db_step(st);
	if (rc == DB_ROW) {
		store_read_entry(st, r);
		r->match = (enum dir_match)(match >= 0 ? match : (int)db_column_int64(st, 7));
	}
	if (db_reset(st) < 0)
		rc = DB_ERR;
	if (rc == DB_ROW)
		return STORE_OK;
	if (rc == DB_DONE)
		return STORE_NOTFOUND;
	return store_fail(s, "directory lookup");
}

int store_dir_lookup(struct store *s, const char *addr, struct dir_entry *r)
{
	/* Most lookups are access addresses: ask for those first, alone. */
	static const char by_access[] = "SELECT " DIR_COLS " FROM directory d WHERE d.access = ?1";
	static const char by_other[] =
		"SELECT " DIR_COLS ", 1 FROM aliases a JOIN directory d "
		"ON d.access = a.access WHERE a.alias = ?1 "
		"UNION ALL SELECT " DIR_COLS ", 2 FROM directory d WHERE d.physical = ?1 "
		"UNION ALL SELECT " DIR_COLS ", 3 FROM formers f JOIN directory d "
		"ON d.access = f.access WHERE f.physical = ?1 "
		"LIMIT 1";
	int rc = store_guard(s);

	if (rc < 0)
		return rc;
	rc = lookup_one(s, by_access, addr, DIR_ACCESS, r);

	return rc == STORE_NOTFOUND ? lookup_one(s, by_other, addr, -1, r) : rc;
}

int store_dir_rewrite(struct store *s, const char *addr, char out[ADDR_MAX])
{
	struct dir_entry e;
	int rc = store_dir_lookup(s, addr, &e);

	if (rc != STORE_OK)
		return rc;
	if (e.match == DIR_PHYSICAL)
		return STORE_NOTFOUND;
	memcpy(out, e.physical, sizeof(e.physical));
	return STORE_OK;
}

int store_list_of(struct store *s, struct db_stmt *st, const char *key, char **list_r)
{
	size_t len = 0, cap = 64;
	char *out = xmalloc(cap);
	int rc;

	out[0] = '\0';
	db_bind_text(st, 1, key);
	while ((rc = db_step(st)) == DB_ROW) {
		const char *a = db_column_text(st, 0);
		size_t al = strlen(a);

		if (len + al + 2 > cap) {
			cap = (len + al + 2) * 2;
			out = xrealloc(out, cap);
		}
		if (len)
			out[len++] = ' ';
		memcpy(out + len, a, al + 1);
		len += al;
	}
	if (db_reset(st) < 0)
		rc = DB_ERR;
	if (rc != DB_DONE) {
		free(out);
		return store_fail(s, "directory list");
	}
	*list_r = out;
	return STORE_OK;
}

int store_dir_aliases(struct store *s, const char *access, char **list_r)
{
	struct db_stmt *st =
		store_prepare(s, "SELECT alias FROM aliases WHERE access = ?1 ORDER BY alias");

	return st ? store_list_of(s, st, access, list_r) : STORE_ERR;
}

int store_dir_formers(struct store *s, const char *access, char **list_r)
{
	struct db_stmt *st = store_prepare(
		s, "SELECT physical FROM formers WHERE access = ?1 ORDER BY since, physical");

	return st ? store_list_of(s, st, access, list_r) : STORE_ERR;
}

int store_dir_each(struct store *s, store_dir_fn fn, void *ctx)
{
	/* FN may run lookups (other statements), never this one again. */
	struct db_stmt *st =
		store_prepare(s, "SELECT " DIR_COLS " FROM directory d ORDER BY d.access");
	struct dir_entry e;
	int rc;

	if (st == NULL)
		return STORE_ERR;
	while ((rc = db_step(st)) == DB_ROW) {
		store_read_entry(st, &e);
		e.match = DIR_ACCESS;
		if (fn(ctx, &e) != 0) {
			rc = DB_DONE;
			break;
		}
	}
	if (db_reset(st) < 0)
		rc = DB_ERR;
	return rc == DB_DONE ? STORE_OK : store_fail(s, "directory list");
}

int store_dir_count(struct store *s, long long *n_r)
{
	struct db_stmt *st = store_prepare(s, "SELECT count(*) FROM directory");

	if (st == NULL)
		return STORE_ERR;
	if (db_step(st) != DB_ROW) {
		db_reset(st);
		return store_fail(s, "directory count");
	}
	*n_r = db_column_int64(st, 0);
	db_reset(st);
	return STORE_OK;
}

int store_own_begin(struct store *s, int *own)
{
	*own = !store_in_tx(s);
	return *own ? store_begin(s) : STORE_OK;
}

int store_own_end(struct store *s, int own, int rc)
{
	char keep[sizeof(s->err)];

	if (!own)
		return rc;
	if (rc != STORE_ERR)
		return store_commit(s) < 0 ? STORE_ERR : rc;
	/* ROLLBACK must not overwrite the reason we are returning. */
	memcpy(keep, s->err, sizeof(keep));
	store_rollback(s);
	memcpy(s->err, keep, sizeof(keep));
	return rc;
}

static int changed_one(struct store *s, const char *access)
{
	if (db_changes(s->db) == 0) {
		store_set_error(s, "%s: not in the directory", access);
		return STORE_NOTFOUND;
	}
	return STORE_OK;
}

int store_dir_hold(struct store *s, const char *access, long long request_id, long long at)
{
	int own, rc = STORE_ERR;
	struct db_stmt *st;

	if (store_own_begin(s, &own) < 0)
		return STORE_ERR;
	st = store_prepare(s, "UPDATE directory SET held = 1, held_since = ?2, request_id = ?3, "
			      "updated = ?2 WHERE access = ?1");
	if (st) {
		db_bind_text(st, 1, access);
		db_bind_int64(st, 2, at);
		db_bind_int64(st, 3, request_id);
		rc = store_run(s, st, "hold");
		if (rc == STORE_OK)
			rc = changed_one(s, access);
	}
	return store_own_end(s, own, rc);
}

int store_dir_unhold(struct store *s, const char *access)
{
	int own, rc = STORE_ERR;
	struct db_stmt *st;

	if (store_own_begin(s, &own) < 0)
		return STORE_ERR;
	st = store_prepare(s, "UPDATE directory SET held = 0, held_since = 0 WHERE access = ?1");
	if (st) {
		db_bind_text(st, 1, access);
		rc = store_run(s, st, "unhold");
		if (rc == STORE_OK)
			rc = changed_one(s, access);
	}
	return store_own_end(s, own, rc);
}

static int do_switch(struct store *s, const char *access, const char *system,
		     const char *physical, long long request_id, long long at)
{
	struct dir_entry e;
	struct db_stmt *st;
	int rc = store_dir_lookup(s, access, &e);

	if (rc != STORE_OK || e.match != DIR_ACCESS) {
		store_set_error(s, "%s: not an access address in the directory", access);
		return rc == STORE_ERR ? STORE_ERR : STORE_NOTFOUND;
	}
	if (strcmp(e.physical, physical) != 0) {
		/* The old physical address forwards to the new one from now on. */
		st = store_prepare(s, "INSERT INTO formers(physical, access, since) VALUES(?1, ?2, ?3) "
				      "ON CONFLICT(physical) DO UPDATE SET access = ?2, since = ?3");
		if (st == NULL)
			return STORE_ERR;
		db_bind_text(st, 1, e.physical);
		db_bind_text(st, 2, access);
		db_bind_int64(st, 3, at);
		if (store_run(s, st, "record former address") < 0)
			return STORE_ERR;
		/* Moving back (rollback): the target is no longer a former address. */
		st = store_prepare(s, "DELETE FROM formers WHERE physical = ?1");
		if (st == NULL)
			return STORE_ERR;
		db_bind_text(st, 1, physical);
		if (store_run(s, st, "remove former address") < 0)
			return STORE_ERR;
	}
	st = store_prepare(s, "UPDATE directory SET system = ?2, physical = ?3, held = 0, "
			      "held_since = 0, switched_at = ?4, request_id = ?5, updated = ?4 "
			      "WHERE access = ?1");
	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, access);
	db_bind_text(st, 2, system);
	db_bind_text(st, 3, physical);
	db_bind_int64(st, 4, at);
	db_bind_int64(st, 5, request_id);
	return store_run(s, st, "switch");
}

int store_dir_switch(struct store *s, const char *access, const char *system,
		     const char *physical, long long request_id, long long at)
{
	int own;

	if (store_own_begin(s, &own) < 0)
		return STORE_ERR;
	return store_own_end(s, own, do_switch(s, access, system, physical, request_id, at));
}

int store_held_add(struct store *s, const char *queue_id, long long request_id,
		   const char *recipients, long long at)
{
	return store_fe_held_add(s, "", queue_id, request_id, recipients, at);
}
