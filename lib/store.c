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

/* The advisory lock key (two int4) of a schema upgrade on PostgreSQL:
 * "fedm", 1. */
#define STORE_PG_UPGRADE_LOCK "1717921133, 1"

struct store {
	struct db *db;
	struct store_file file;
	enum store_mode mode;
	/* The last transaction the store owned failed on a temporary error. */
	int temp_fail;
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
	/* Temporary only when the error recorded is the database's own
	 * temporary one (store_fail and the like quote it), never for a
	 * refusal of the store's that merely follows one. */
	s->temp_fail = s->db != NULL && db_err_temporary(s->db) && db_errmsg(s->db)[0] &&
		       strstr(s->err, db_errmsg(s->db)) != NULL;
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

int store_err_temporary(const struct store *s)
{
	return s->temp_fail;
}

struct db_stmt *store_prepare(struct store *s, const char *sql)
{
	struct db_stmt *st = db_prepare(s->db, sql);

	/* db_prepare's message names the step already ("prepare: ..."). */
	if (st == NULL)
		store_set_error(s, "%s", db_errmsg(s->db));
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

const char *store_sql(const struct store *s, const char *sqlite_sql, const char *pg_sql)
{
	return db_backend(s->db) == DB_PG ? pg_sql : sqlite_sql;
}

static int read_version(struct store *s, int *v_r)
{
	struct db_stmt *st = store_prepare(
		s, store_sql(s, "SELECT name FROM sqlite_master WHERE type='table' "
				"AND name='schema_version'",
			     "SELECT 1 WHERE to_regclass('schema_version') IS NOT NULL"));
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
	if (v == 0 && exec(s, store_sql(s,
					 "CREATE TABLE schema_version(version INTEGER NOT NULL,"
					 " upgraded INTEGER NOT NULL)",
					 "CREATE TABLE schema_version(version BIGINT NOT NULL,"
					 " upgraded BIGINT NOT NULL)")) < 0)
		goto fail;
	for (size_t i = 0; i < store_nmigrations; i++) {
		const struct store_migration *m = &store_migrations[i];

		if (m->version <= v)
			continue;
		if (exec(s, m->pg_sql != NULL ? store_sql(s, m->sql, m->pg_sql) : m->sql) < 0 ||
		    add_version(s, m->version) < 0)
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

/* check_current: a read-only open needs the schema this program has. */
static int check_current(struct store *s, const char *path, char **err_r)
{
	int v;

	if (read_version(s, &v) < 0) {
		*err_r = xasprintf("%s: %s", path, s->err);
		return -1;
	}
	if (v != latest_version()) {
		*err_r = xasprintf("%s: schema version %d, this program needs %d "
				   "(fedmigctl check upgrades it)",
				   path, v, latest_version());
		return -1;
	}
	return 0;
}

static int open_sqlite(struct store *s, const char *path, const struct db_opts *o, uid_t uid,
		       gid_t gid, char **err_r)
{
	char why[512];
	int created = 0;

	if (s->mode == STORE_RDWR && create_file(path, uid, gid, &created, err_r) < 0)
		return -1;
	s->db = db_open(path, o, err_r);
	if (s->db == NULL)
		return -1;
	/* Never map the file: a database truncated under a mapping kills the
	 * process with SIGBUS at the next read past the new end. The page
	 * cache keeps the directory in memory; store_guard() drops it when
	 * the file changes under us. */
	exec(s, "PRAGMA mmap_size=0");
	exec(s, "PRAGMA cache_size=-32768");
	if (s->mode == STORE_RDWR) {
		/* Grow the file before a checkpoint writes a header that counts
		 * the new pages: readers compare the two (store_file.h). */
		int chunk = 256 * 1024;

		sqlite3_file_control(store_db(s), "main", SQLITE_FCNTL_CHUNK_SIZE, &chunk);
	}
	if (!created && store_file_open(&s->file, path, why, sizeof(why)) < 0) {
		*err_r = xstrdup(why);
		return -1;
	}
	if (s->mode != STORE_RDWR) {
		if (check_current(s, path, err_r) < 0)
			return -1;
		exec(s, "PRAGMA query_only=1");
		return 0;
	}
	if (set_wal(s, o->busy_ms) < 0 || exec(s, "PRAGMA synchronous=FULL") < 0 ||
	    upgrade(s) < 0) {
		*err_r = xasprintf("%s: %s", path, s->err);
		return -1;
	}
	/* A new database goes to the file at once, not only to its WAL:
	 * from now on an empty file means a damaged one. */
	if (created && exec(s, "PRAGMA wal_checkpoint") < 0) {
		*err_r = xasprintf("%s: %s", path, s->err);
		return -1;
	}
	if (created && store_file_open(&s->file, path, why, sizeof(why)) < 0) {
		*err_r = xstrdup(why);
		return -1;
	}
	return 0;
}

/*
 * open_pg: a PostgreSQL database (the server keeps durability and locks;
 * no file of ours). Two programs upgrading a new database at once would
 * both create the tables: the upgrade runs under a session advisory lock
 * (waiting at most busy_ms, the connection's lock_timeout).
 */
static int open_pg(struct store *s, const char *path, const struct db_opts *o, char **err_r)
{
	int rc;

	s->db = db_open(path, o, err_r);
	if (s->db == NULL || store_pg_collation_ok(s, path, err_r) < 0)
		return -1;
	if (s->mode != STORE_RDWR)
		return check_current(s, path, err_r);
	rc = exec(s, "SELECT pg_advisory_lock(" STORE_PG_UPGRADE_LOCK ")");
	if (rc == STORE_OK) {
		rc = upgrade(s);
		if (exec(s, "SELECT pg_advisory_unlock(" STORE_PG_UPGRADE_LOCK ")") < 0 && rc == 0)
			rc = STORE_ERR;
	}
	if (rc < 0) {
		*err_r = xasprintf("%s: %s", path, s->err);
		return -1;
	}
	return 0;
}

static struct store *open_as(const char *path, enum store_mode mode, int busy_ms,
			     const char *password_file, uid_t uid, gid_t gid, char **err_r)
{
	struct store *s = xcalloc(1, sizeof(*s));
	struct db_opts o = { .busy_ms = busy_ms, .readonly = mode != STORE_RDWR };
	int rc;

	s->file.fd = s->file.dirfd = -1;
	s->mode = mode;
	if (password_file != NULL && password_file[0] != '\0')
		o.password_file = password_file;
	/* A database server: no file of ours, its own durability and locks. */
	rc = db_is_url(path) ? open_pg(s, path, &o, err_r)
			     : open_sqlite(s, path, &o, uid, gid, err_r);
	if (rc < 0)
		store_close(&s);
	return s;
}

struct store *store_open(const char *path, enum store_mode mode, int busy_ms, char **err_r)
{
	return open_as(path, mode, busy_ms, NULL, (uid_t)-1, (gid_t)-1, err_r);
}

struct store *store_open_pw(const char *path, enum store_mode mode, int busy_ms,
			    const char *password_file, char **err_r)
{
	return open_as(path, mode, busy_ms, password_file, (uid_t)-1, (gid_t)-1, err_r);
}

struct store *store_open_owned(const char *path, int busy_ms, uid_t uid, gid_t gid, char **err_r)
{
	return open_as(path, STORE_RDWR, busy_ms, NULL, uid, gid, err_r);
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
	int rc;

	/* A database server has no file of ours to watch. */
	if (db_backend(s->db) == DB_PG)
		return STORE_OK;
	rc = store_file_check(&s->file, why, sizeof(why));
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
	struct db_stmt *st;
	int rc;

	/* PostgreSQL checks its own pages (and has no integrity_check): the
	 * check there is that the database answers with the current schema. */
	if (db_backend(s->db) == DB_PG) {
		rc = store_schema_version(s);
		if (rc >= 0 && rc != latest_version()) {
			store_set_error(s, "schema version %d, this program needs %d", rc,
					latest_version());
			return STORE_ERR;
		}
		return rc < 0 ? STORE_ERR : STORE_OK;
	}
	st = store_prepare(s, "PRAGMA integrity_check");
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
 * or -1: column 7 does. NEXT_R (or NULL): column 8, 0 without a row. */
static int lookup_one(struct store *s, const char *sql, const char *addr, int match,
		      struct dir_entry *r, int *next_r)
{
	struct db_stmt *st = store_prepare(s, sql);
	int rc;

	if (next_r)
		*next_r = 0;
	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, addr);
	rc = db_step(st);
	if (rc == DB_ROW) {
		store_read_entry(st, r);
		r->match = (enum dir_match)(match >= 0 ? match : (int)db_column_int64(st, 7));
		if (next_r)
			*next_r = (int)db_column_int64(st, 8);
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
	rc = lookup_one(s, by_access, addr, DIR_ACCESS, r, NULL);

	return rc == STORE_NOTFOUND ? lookup_one(s, by_other, addr, -1, r, NULL) : rc;
}

int store_dir_lookup_next(struct store *s, const char *addr, struct dir_entry *r,
			  int *phys_notfound_r)
{
	/* One round trip: store_dir_lookup()'s four questions in its order
	 * (the lowest match code wins), and for an access address or an alias
	 * whether its physical address is named nowhere else. physical is
	 * UNIQUE, and formers are asked only after physical addresses. */
#define NEXT_FREE                                                                                  \
	"CASE WHEN EXISTS (SELECT 1 FROM directory x WHERE x.access = d.physical) OR "            \
	"EXISTS (SELECT 1 FROM aliases y WHERE y.alias = d.physical) THEN 0 ELSE 1 END"
	static const char sql[] =
		"SELECT * FROM (SELECT " DIR_COLS ", 0 AS m, " NEXT_FREE " AS nx "
		"FROM directory d WHERE d.access = ?1 "
		"UNION ALL SELECT " DIR_COLS ", 1, " NEXT_FREE " FROM aliases a JOIN directory d "
		"ON d.access = a.access WHERE a.alias = ?1 "
		"UNION ALL SELECT " DIR_COLS ", 2, 0 FROM directory d WHERE d.physical = ?1 "
		"UNION ALL SELECT " DIR_COLS ", 3, 0 FROM formers f JOIN directory d "
		"ON d.access = f.access WHERE f.physical = ?1) x ORDER BY m LIMIT 1";
#undef NEXT_FREE
	int rc = store_guard(s);

	*phys_notfound_r = 0;
	return rc < 0 ? rc : lookup_one(s, sql, addr, -1, r, phys_notfound_r);
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
	int temp;

	if (!own)
		return rc;
	if (rc != STORE_ERR) {
		if (store_commit(s) == STORE_OK)
			return rc;
		s->temp_fail = db_err_temporary(s->db);
		return STORE_ERR;
	}
	temp = s->temp_fail || db_err_temporary(s->db);
	/* ROLLBACK must not overwrite the reason we are returning. */
	memcpy(keep, s->err, sizeof(keep));
	store_rollback(s);
	memcpy(s->err, keep, sizeof(keep));
	s->temp_fail = temp;
	return rc;
}

int store_own_retry(struct store *s, int own, int rc, int *attempt)
{
	useconds_t us;

	if (!own || rc != STORE_ERR || !s->temp_fail || *attempt >= STORE_RETRY_MAX)
		return 0;
	/* 5, 10, 20, 40 ms, and a little of this process's own, so that two
	 * writers that collided do not collide again in step. */
	us = (useconds_t)(5000 << *attempt) + (useconds_t)(getpid() % 8) * 500;
	(*attempt)++;
	usleep(us);
	return 1;
}
