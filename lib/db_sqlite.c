/*
 * db_sqlite - lib/db.h on SQLite: statements prepared persistent, bound
 * without copies, errors with their extended codes; BUSY and LOCKED are
 * the temporary ones. The file's mode, WAL and synchronous settings stay
 * the caller's (the store's open sequence, lib/store.c).
 */
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>

#include "db_int.h"
#include "xalloc.h"

struct sq_db {
	struct db base;
	sqlite3 *h;
	char *path;
};

struct sq_stmt {
	struct db_stmt base;
	sqlite3_stmt *st;
};

static sqlite3 *handle(struct db *db)
{
	return ((struct sq_db *)db)->h;
}

static sqlite3_stmt *stmt(struct db_stmt *st)
{
	return ((struct sq_stmt *)st)->st;
}

static int sq_fail(struct db *db, int rc, const char *context)
{
	int primary = rc & 0xff;

	return db_fail(db, primary == SQLITE_BUSY || primary == SQLITE_LOCKED, "%s: %s", context,
		       sqlite3_errmsg(handle(db)));
}

static void sq_close(struct db *db)
{
	sqlite3_close(handle(db));
	free(((struct sq_db *)db)->path);
	free(db);
}

static int sq_exec(struct db *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(handle(db), sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		int primary = sqlite3_extended_errcode(handle(db)) & 0xff;

		db_fail(db, primary == SQLITE_BUSY || primary == SQLITE_LOCKED, "%.60s: %s", sql,
			msg ? msg : sqlite3_errmsg(handle(db)));
		sqlite3_free(msg);
		return DB_ERR;
	}
	return DB_DONE;
}

static struct db_stmt *sq_prepare(struct db *db, const char *sql)
{
	struct sq_stmt *s = xcalloc(1, sizeof(*s));
	int rc = sqlite3_prepare_v3(handle(db), sql, -1, SQLITE_PREPARE_PERSISTENT, &s->st, NULL);

	if (rc != SQLITE_OK) {
		sq_fail(db, rc, "prepare");
		free(s);
		return NULL;
	}
	return &s->base;
}

static void sq_finalize(struct db_stmt *st)
{
	sqlite3_finalize(stmt(st));
	free(st);
}

static int sq_bind(struct db_stmt *st, int i, int text, const void *p, size_t n, const int64_t *v)
{
	int rc;

	if (v != NULL)
		rc = sqlite3_bind_int64(stmt(st), i, *v);
	else if (p == NULL)
		rc = sqlite3_bind_null(stmt(st), i);
	else if (text)
		rc = sqlite3_bind_text64(stmt(st), i, p, n, SQLITE_STATIC, SQLITE_UTF8);
	else
		rc = sqlite3_bind_blob64(stmt(st), i, p, n, SQLITE_STATIC);
	return rc == SQLITE_OK ? DB_DONE : sq_fail(st->db, rc, "bind");
}

static int sq_step(struct db_stmt *st)
{
	int rc = sqlite3_step(stmt(st));

	if (rc == SQLITE_ROW)
		return DB_ROW;
	if (rc == SQLITE_DONE)
		return DB_DONE;
	return sq_fail(st->db, rc, "query");
}

static void sq_reset(struct db_stmt *st, int clear)
{
	sqlite3_reset(stmt(st));
	if (clear)
		sqlite3_clear_bindings(stmt(st));
}

static int sq_ncols(struct db_stmt *st)
{
	return sqlite3_data_count(stmt(st));
}

static int sq_isnull(struct db_stmt *st, int i)
{
	return sqlite3_column_type(stmt(st), i) == SQLITE_NULL;
}

/* Strict, as on PostgreSQL: an integer, an integral real in range, or
 * text that is a whole decimal integer. */
static int sq_int64(struct db_stmt *st, int i, int64_t *v_r)
{
	double d;

	switch (sqlite3_column_type(stmt(st), i)) {
	case SQLITE_NULL:
		*v_r = 0;
		return 0;
	case SQLITE_INTEGER:
		*v_r = sqlite3_column_int64(stmt(st), i);
		return 0;
	case SQLITE_FLOAT:
		d = sqlite3_column_double(stmt(st), i);
		if (d == floor(d) && d >= -9.2e18 && d <= 9.2e18) {
			*v_r = (int64_t)d;
			return 0;
		}
		break;
	case SQLITE_TEXT:
		if (db_int64_text((const char *)sqlite3_column_text(stmt(st), i), v_r) == 0)
			return 0;
		break;
	default:
		break;
	}
	return db_fail(st->db, 0, "column %d (%s) is not an integer", i,
		       sqlite3_column_name(stmt(st), i));
}

static const char *sq_text(struct db_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(stmt(st), i);
}

static const void *sq_blob(struct db_stmt *st, int i, size_t *n_r)
{
	const void *p = sqlite3_column_blob(stmt(st), i);

	*n_r = (size_t)sqlite3_column_bytes(stmt(st), i);
	return p ? p : "";
}

static int64_t sq_changes(struct db *db)
{
	return sqlite3_changes(handle(db));
}

static const struct db_ops sq_ops;

static unsigned sq_generation(struct db *db)
{
	return 0;
}

static const char *sq_file(struct db *db)
{
	return ((struct sq_db *)db)->path;
}

struct sqlite3 *db_sqlite_handle(struct db *db)
{
	return db->ops == &sq_ops ? handle(db) : NULL;
}

static const struct db_ops sq_ops = {
	.close = sq_close,
	.exec = sq_exec,
	.prepare = sq_prepare,
	.finalize = sq_finalize,
	.bind = sq_bind,
	.step = sq_step,
	.reset = sq_reset,
	.ncols = sq_ncols,
	.isnull = sq_isnull,
	.int64 = sq_int64,
	.text = sq_text,
	.blob = sq_blob,
	.changes = sq_changes,
	.generation = sq_generation,
	.file = sq_file,
	.begin_sql = "BEGIN IMMEDIATE",
	.backend = DB_SQLITE,
};

struct db *db_sqlite_open(const char *path, const struct db_opts *o, char **err_r)
{
	struct sq_db *s = xcalloc(1, sizeof(*s));
	int flags = o->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;

	s->base.ops = &sq_ops;
	s->path = xstrdup(path);
	if (sqlite3_open_v2(path, &s->h, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		*err_r = xasprintf("open %s: %s", path, s->h ? sqlite3_errmsg(s->h) : "out of memory");
		sqlite3_close(s->h);
		free(s->path);
		free(s);
		return NULL;
	}
	sqlite3_extended_result_codes(s->h, 1);
	sqlite3_busy_timeout(s->h, o->busy_ms);
	return &s->base;
}
