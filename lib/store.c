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
#include "store_int.h"
#include "xalloc.h"

#define STMT_CACHE 64

struct store {
	sqlite3 *db;
	struct store_file file;
	enum store_mode mode;
	int in_tx;
	char err[512];
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} cache[STMT_CACHE];
	int ncache;
};

static int latest_version(void)
{
	return store_migrations[store_nmigrations - 1].version;
}

sqlite3 *store_db(struct store *s)
{
	return s->db;
}

int store_in_tx(const struct store *s)
{
	return s->in_tx;
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
	store_set_error(s, "%s: %s", context, sqlite3_errmsg(s->db));
	return STORE_ERR;
}

const char *store_errmsg(const struct store *s)
{
	return s->err;
}

sqlite3_stmt *store_prepare(struct store *s, const char *sql)
{
	for (int i = 0; i < s->ncache; i++)
		if (s->cache[i].sql == sql) {
			sqlite3_reset(s->cache[i].st);
			sqlite3_clear_bindings(s->cache[i].st);
			return s->cache[i].st;
		}
	sqlite3_stmt *st;

	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		store_fail(s, "prepare");
		return NULL;
	}
	if (s->ncache == STMT_CACHE) {
		/* Not expected: the module has fewer statements than slots. */
		sqlite3_finalize(s->cache[0].st);
		memmove(&s->cache[0], &s->cache[1], sizeof(s->cache[0]) * (STMT_CACHE - 1));
		s->ncache--;
	}
	s->cache[s->ncache].sql = sql;
	s->cache[s->ncache].st = st;
	s->ncache++;
	return st;
}

void store_text(sqlite3_stmt *st, int i, char *buf, size_t size)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	snprintf(buf, size, "%s", t ? (const char *)t : "");
}

static int exec(struct store *s, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		store_set_error(s, "%.60s: %s", sql, msg ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
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
		int rc = sqlite3_exec(s->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);

		if (rc == SQLITE_OK)
			return STORE_OK;
		if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
			break;
		if (waited_us >= (long)busy_ms * 1000)
			break;
		usleep((useconds_t)step_us);
		waited_us += step_us;
		if (step_us < 50000)
			step_us *= 2;
	}
	store_set_error(s, "PRAGMA journal_mode=WAL: %s", sqlite3_errmsg(s->db));
	return STORE_ERR;
}

static int read_version(struct store *s, int *v_r)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(s->db,
				"SELECT name FROM sqlite_master WHERE type='table' AND "
				"name='schema_version'",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return store_fail(s, "read schema");
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE) {
		*v_r = 0;
		return STORE_OK;
	}
	if (rc != SQLITE_ROW)
		return store_fail(s, "read schema");
	if (sqlite3_prepare_v2(s->db, "SELECT max(version) FROM schema_version", -1, &st, NULL) !=
	    SQLITE_OK)
		return store_fail(s, "read schema version");
	rc = sqlite3_step(st);
	*v_r = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? STORE_OK : store_fail(s, "read schema version");
}

static int upgrade(struct store *s)
{
	int v;

	if (exec(s, "BEGIN IMMEDIATE") < 0)
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
		if (exec(s, store_migrations[i].sql) < 0)
			goto fail;
		char sql[128];

		snprintf(sql, sizeof(sql),
			 "INSERT INTO schema_version VALUES(%d, strftime('%%s','now'))",
			 store_migrations[i].version);
		if (exec(s, sql) < 0)
			goto fail;
	}
	return exec(s, "COMMIT");
fail:
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return STORE_ERR;
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
	char why[512];
	int created = 0;

	s->file.fd = s->file.dirfd = -1;
	int flags = mode == STORE_RDWR ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
				       : SQLITE_OPEN_READONLY;
	int v;

	s->mode = mode;
	if (mode == STORE_RDWR && create_file(path, uid, gid, &created, err_r) < 0) {
		free(s);
		return NULL;
	}
	if (sqlite3_open_v2(path, &s->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		*err_r = xasprintf("open %s: %s", path,
				   s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, busy_ms);
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

		sqlite3_file_control(s->db, "main", SQLITE_FCNTL_CHUNK_SIZE, &chunk);
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
	for (int i = 0; i < s->ncache; i++)
		sqlite3_finalize(s->cache[i].st);
	sqlite3_close(s->db);
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
	if (rc > 0 && !s->in_tx)
		sqlite3_db_release_memory(s->db);
	return STORE_OK;
}

int store_schema_version(struct store *s)
{
	int v;

	return read_version(s, &v) < 0 ? STORE_ERR : v;
}

int store_check(struct store *s)
{
	sqlite3_stmt *st = store_prepare(s, "PRAGMA integrity_check");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		return store_fail(s, "integrity_check");
	const char *r = (const char *)sqlite3_column_text(st, 0);

	if (r == NULL || strcmp(r, "ok") != 0) {
		store_set_error(s, "integrity_check: %s", r ? r : "(null)");
		sqlite3_reset(st);
		return STORE_ERR;
	}
	sqlite3_reset(st);
	return STORE_OK;
}

int store_begin(struct store *s)
{
	if (s->in_tx) {
		store_set_error(s, "internal error: nested transaction");
		return STORE_ERR;
	}
	if (exec(s, "BEGIN IMMEDIATE") < 0)
		return STORE_ERR;
	s->in_tx = 1;
	return STORE_OK;
}

int store_commit(struct store *s)
{
	s->in_tx = 0;
	if (exec(s, "COMMIT") < 0) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return STORE_ERR;
	}
	return STORE_OK;
}

int store_rollback(struct store *s)
{
	s->in_tx = 0;
	return exec(s, "ROLLBACK");
}

int store_run(struct store *s, sqlite3_stmt *st, const char *context)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail(s, context);
	return STORE_OK;
}

int store_system_put(struct store *s, const char *name, const char *domain)
{
	sqlite3_stmt *st = store_prepare(s, "INSERT INTO systems(name, domain) VALUES(?1, ?2) "
					    "ON CONFLICT(name) DO UPDATE SET domain = ?2 "
					    "WHERE domain <> ?2");

	if (st == NULL)
		return STORE_ERR;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, domain, -1, SQLITE_STATIC);
	return store_run(s, st, "store system");
}

/* --- directory --- */

void store_read_entry(sqlite3_stmt *st, struct dir_entry *r)
{
	store_text(st, 0, r->access, sizeof(r->access));
	store_text(st, 1, r->system, sizeof(r->system));
	store_text(st, 2, r->physical, sizeof(r->physical));
	r->held = sqlite3_column_int(st, 3);
	r->held_since = sqlite3_column_int64(st, 4);
	r->switched_at = sqlite3_column_int64(st, 5);
	r->request_id = sqlite3_column_int64(st, 6);
}

/* lookup_one: run SQL (one row or none) for ADDR; MATCH tags the result,
 * or -1: column 7 does. */
static int lookup_one(struct store *s, const char *sql, const char *addr, int match,
		      struct dir_entry *r)
{
	sqlite3_stmt *st = store_prepare(s, sql);
	int rc;

	if (st == NULL)
		return STORE_ERR;
	sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		store_read_entry(st, r);
		r->match = (enum dir_match)(match >= 0 ? match : sqlite3_column_int(st, 7));
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return STORE_OK;
	if (rc == SQLITE_DONE)
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

int store_list_of(struct store *s, sqlite3_stmt *st, const char *key, char **list_r)
{
	size_t len = 0, cap = 64;
	char *out = xmalloc(cap);
	int rc;

	out[0] = '\0';
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *a = (const char *)sqlite3_column_text(st, 0);
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
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		free(out);
		return store_fail(s, "directory list");
	}
	*list_r = out;
	return STORE_OK;
}

int store_dir_aliases(struct store *s, const char *access, char **list_r)
{
	sqlite3_stmt *st =
		store_prepare(s, "SELECT alias FROM aliases WHERE access = ?1 ORDER BY alias");

	return st ? store_list_of(s, st, access, list_r) : STORE_ERR;
}

int store_dir_formers(struct store *s, const char *access, char **list_r)
{
	sqlite3_stmt *st = store_prepare(
		s, "SELECT physical FROM formers WHERE access = ?1 ORDER BY since, physical");

	return st ? store_list_of(s, st, access, list_r) : STORE_ERR;
}

int store_dir_each(struct store *s, store_dir_fn fn, void *ctx)
{
	/* Not cached: the caller may call lookups from FN. */
	sqlite3_stmt *st;
	struct dir_entry e;
	int rc;

	if (sqlite3_prepare_v2(s->db, "SELECT " DIR_COLS " FROM directory d ORDER BY d.access", -1,
			       &st, NULL) != SQLITE_OK)
		return store_fail(s, "directory list");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		store_read_entry(st, &e);
		e.match = DIR_ACCESS;
		if (fn(ctx, &e) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? STORE_OK : store_fail(s, "directory list");
}

int store_dir_count(struct store *s, long long *n_r)
{
	sqlite3_stmt *st = store_prepare(s, "SELECT count(*) FROM directory");

	if (st == NULL)
		return STORE_ERR;
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return store_fail(s, "directory count");
	}
	*n_r = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return STORE_OK;
}

int store_own_begin(struct store *s, int *own)
{
	*own = !s->in_tx;
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
	if (sqlite3_changes(s->db) == 0) {
		store_set_error(s, "%s: not in the directory", access);
		return STORE_NOTFOUND;
	}
	return STORE_OK;
}

int store_dir_hold(struct store *s, const char *access, long long request_id, long long at)
{
	int own, rc = STORE_ERR;
	sqlite3_stmt *st;

	if (store_own_begin(s, &own) < 0)
		return STORE_ERR;
	st = store_prepare(s, "UPDATE directory SET held = 1, held_since = ?2, request_id = ?3, "
			      "updated = ?2 WHERE access = ?1");
	if (st) {
		sqlite3_bind_text(st, 1, access, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, at);
		sqlite3_bind_int64(st, 3, request_id);
		rc = store_run(s, st, "hold");
		if (rc == STORE_OK)
			rc = changed_one(s, access);
	}
	return store_own_end(s, own, rc);
}

int store_dir_unhold(struct store *s, const char *access)
{
	int own, rc = STORE_ERR;
	sqlite3_stmt *st;

	if (store_own_begin(s, &own) < 0)
		return STORE_ERR;
	st = store_prepare(s, "UPDATE directory SET held = 0, held_since = 0 WHERE access = ?1");
	if (st) {
		sqlite3_bind_text(st, 1, access, -1, SQLITE_STATIC);
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
	sqlite3_stmt *st;
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
		sqlite3_bind_text(st, 1, e.physical, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, access, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, at);
		if (store_run(s, st, "record former address") < 0)
			return STORE_ERR;
		/* Moving back (rollback): the target is no longer a former address. */
		st = store_prepare(s, "DELETE FROM formers WHERE physical = ?1");
		if (st == NULL)
			return STORE_ERR;
		sqlite3_bind_text(st, 1, physical, -1, SQLITE_STATIC);
		if (store_run(s, st, "remove former address") < 0)
			return STORE_ERR;
	}
	st = store_prepare(s, "UPDATE directory SET system = ?2, physical = ?3, held = 0, "
			      "held_since = 0, switched_at = ?4, request_id = ?5, updated = ?4 "
			      "WHERE access = ?1");
	if (st == NULL)
		return STORE_ERR;
	sqlite3_bind_text(st, 1, access, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, system, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, physical, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, at);
	sqlite3_bind_int64(st, 5, request_id);
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
	sqlite3_stmt *st;

	/* Never write into a file cut short: it would look whole again. */
	if (store_guard(s) < 0)
		return STORE_ERR;
	st = store_prepare(s, "INSERT INTO held_messages(queue_id, request_id, held_at, recipients) "
			      "VALUES(?1, ?2, ?3, ?4) ON CONFLICT(queue_id) DO NOTHING");
	if (st == NULL)
		return STORE_ERR;
	sqlite3_bind_text(st, 1, queue_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, request_id);
	sqlite3_bind_int64(st, 3, at);
	sqlite3_bind_text(st, 4, recipients, -1, SQLITE_STATIC);
	return store_run(s, st, "record held message");
}
