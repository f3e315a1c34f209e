/*
 * db - what both backends share: the statement cache (keyed by the SQL
 * literal's address), errors, transactions, and the checks every call
 * makes before reaching the backend.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"
#include "xalloc.h"

int db_fail(struct db *db, int temporary, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(db->err, sizeof(db->err), fmt, ap);
	va_end(ap);
	db->temporary = temporary;
	return DB_ERR;
}

int db_int64_text(const char *t, int64_t *v_r)
{
	char *end;
	long long v;

	/* strtoll skips blanks and takes a sign: only [-]digits is a value. */
	if (t == NULL || !(t[0] == '-' || (t[0] >= '0' && t[0] <= '9')))
		return -1;
	errno = 0;
	v = strtoll(t, &end, 10);
	if (errno != 0 || end == t || *end != '\0' || (t[0] == '-' && t[1] == '\0'))
		return -1;
	*v_r = v;
	return 0;
}

int db_is_url(const char *target)
{
	return strncmp(target, "postgresql://", 13) == 0 || strncmp(target, "postgres://", 11) == 0;
}

struct db *db_open(const char *target, const struct db_opts *o, char **err_r)
{
	static const struct db_opts none;

	if (o == NULL)
		o = &none;
	if (db_is_url(target))
		return db_pg_open(target, o, err_r);
	if (strstr(target, "://") != NULL) {
		*err_r = xasprintf("state database '%.200s': neither a file path nor a "
				   "postgresql:// URL",
				   target);
		return NULL;
	}
	return db_sqlite_open(target, o, err_r);
}

void db_close(struct db **dbp)
{
	struct db *db = *dbp;

	if (db == NULL)
		return;
	for (size_t i = 0; i < db->cachecap; i++)
		if (db->cache[i] != NULL)
			db->ops->finalize(db->cache[i]);
	free(db->cache);
	db_lock_release(db);
	db->ops->close(db);
	*dbp = NULL;
}

enum db_backend db_backend(const struct db *db)
{
	return db->ops->backend;
}

const char *db_errmsg(const struct db *db)
{
	return db->err;
}

int db_err_temporary(const struct db *db)
{
	return db->temporary;
}

int db_exec(struct db *db, const char *sql)
{
	return db->ops->exec(db, sql);
}

/* The cache: open addressing on the SQL's address, at most half full. */
static size_t slot_of(const struct db *db, const char *sql)
{
	size_t h = ((size_t)(uintptr_t)sql >> 3) * 0x9E3779B97F4A7C15ull;
	size_t i = h & (db->cachecap - 1);

	while (db->cache[i] != NULL && db->cache[i]->sql != sql)
		i = (i + 1) & (db->cachecap - 1);
	return i;
}

static void cache_add(struct db *db, struct db_stmt *st)
{
	if (2 * (db->ncache + 1) > db->cachecap) {
		struct db_stmt **old = db->cache;
		size_t oldcap = db->cachecap;

		db->cachecap = oldcap ? 2 * oldcap : 64;
		db->cache = xcalloc(db->cachecap, sizeof(*db->cache));
		for (size_t i = 0; i < oldcap; i++)
			if (old[i] != NULL)
				db->cache[slot_of(db, old[i]->sql)] = old[i];
		free(old);
	}
	db->cache[slot_of(db, st->sql)] = st;
	db->ncache++;
}

struct db_stmt *db_prepare(struct db *db, const char *sql)
{
	struct db_stmt *st;

	if (db->cachecap > 0) {
		st = db->cache[slot_of(db, sql)];
		if (st != NULL) {
			db->ops->reset(st, 1);
			st->colerr = 0;
			st->ncols = 0;
			return st;
		}
	}
	/* The same placeholder rules on both backends: SQL that prepares on
	 * SQLite prepares on PostgreSQL too. */
	const char *why;
	int nparams;
	char *pgsql = db_rewrite_params(sql, &nparams, &why);

	if (pgsql == NULL) {
		db_fail(db, 0, "prepare: %s in: %.80s", why, sql);
		return NULL;
	}
	free(pgsql);
	st = db->ops->prepare(db, sql);
	if (st == NULL)
		return NULL;
	st->db = db;
	st->sql = sql;
	cache_add(db, st);
	return st;
}

static int bind(struct db_stmt *st, int i, int text, const void *p, size_t n, const int64_t *v)
{
	if (i < 1 || i > DB_MAX_PARAMS)
		return db_fail(st->db, 0, "internal error: parameter ?%d out of range", i);
	return st->db->ops->bind(st, i, text, p, n, v);
}

int db_bind_int64(struct db_stmt *st, int i, int64_t v)
{
	return bind(st, i, 0, NULL, 0, &v);
}

int db_bind_text(struct db_stmt *st, int i, const char *v)
{
	return bind(st, i, 1, v, v ? strlen(v) : 0, NULL);
}

int db_bind_blob(struct db_stmt *st, int i, const void *p, size_t n)
{
	/* A zero-length blob is a value, not NULL. */
	return bind(st, i, 0, p ? p : "", n, NULL);
}

int db_bind_null(struct db_stmt *st, int i)
{
	return bind(st, i, 0, NULL, 0, NULL);
}

int db_step(struct db_stmt *st)
{
	int rc;

	if (st->colerr)
		return DB_ERR;
	rc = st->db->ops->step(st);
	st->ncols = rc == DB_ROW ? st->db->ops->ncols(st) : 0;
	return rc;
}

int db_reset(struct db_stmt *st)
{
	int bad = st->colerr;

	st->db->ops->reset(st, 0);
	st->colerr = 0;
	st->ncols = 0;
	return bad ? DB_ERR : DB_DONE;
}

int db_column_count(struct db_stmt *st)
{
	return st->ncols;
}

static int column_ok(struct db_stmt *st, int i)
{
	if (i >= 0 && i < st->ncols)
		return 1;
	db_fail(st->db, 0, "internal error: column %d of %d read", i, st->ncols);
	st->colerr = 1;
	return 0;
}

int db_column_null(struct db_stmt *st, int i)
{
	return column_ok(st, i) ? st->db->ops->isnull(st, i) : 1;
}

int64_t db_column_int64(struct db_stmt *st, int i)
{
	int64_t v = 0;

	if (!column_ok(st, i))
		return 0;
	if (st->db->ops->int64(st, i, &v) < 0) {
		st->colerr = 1;
		return 0;
	}
	return v;
}

const char *db_column_text(struct db_stmt *st, int i)
{
	const char *t = column_ok(st, i) ? st->db->ops->text(st, i) : NULL;

	return t ? t : "";
}

const void *db_column_blob(struct db_stmt *st, int i, size_t *n_r)
{
	const void *p = NULL;

	*n_r = 0;
	if (column_ok(st, i))
		p = st->db->ops->blob(st, i, n_r);
	if (p == NULL && column_ok(st, i) && !st->db->ops->isnull(st, i))
		st->colerr = 1; /* the backend said why */
	return p ? p : "";
}

int64_t db_changes(struct db *db)
{
	return db->ops->changes(db);
}

int db_in_tx(const struct db *db)
{
	return db->in_tx;
}

int db_begin(struct db *db)
{
	if (db->in_tx)
		return db_fail(db, 0, "internal error: nested transaction");
	if (db->ops->exec(db, db->ops->begin_sql) < 0)
		return DB_ERR;
	db->in_tx = 1;
	return DB_DONE;
}

int db_commit(struct db *db)
{
	if (!db->in_tx)
		return db_fail(db, 0, "internal error: commit without a transaction");
	if (db->ops->exec(db, "COMMIT") < 0) {
		char err[sizeof(db->err)];
		int temporary = db->temporary;

		/* The commit's error is the one to report, not the rollback's. */
		memcpy(err, db->err, sizeof(err));
		db->ops->exec(db, "ROLLBACK");
		db->in_tx = 0;
		memcpy(db->err, err, sizeof(err));
		db->temporary = temporary;
		return DB_ERR;
	}
	db->in_tx = 0;
	return DB_DONE;
}

int db_rollback(struct db *db)
{
	int rc = db->ops->exec(db, "ROLLBACK");

	db->in_tx = 0;
	return rc;
}
