/*
 * store_copy - a SQLite store into an empty PostgreSQL one (contract in
 * store_copy.h). The tables and columns are PostgreSQL's, read from its
 * catalog: the source is only read, with SQLite's own API because a
 * value's storage class decides how it is bound. Names reach SQL text, so
 * each is checked to be a plain lower-case identifier and then quoted.
 */
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "store_copy.h"
#include "store_int.h"
#include "xalloc.h"

struct col {
	char *name;
	int bytea, identity;
};

struct tab {
	char *name;
	struct col *cols;
	int ncols;
	long long rows;
};

struct store_copy {
	struct tab *tabs;
	int ntabs;
	char **sql; /* every text prepared on TO: its statement cache's keys */
	int nsql;
	char *err;
};

struct store_copy *store_copy_new(void)
{
	return xcalloc(1, sizeof(struct store_copy));
}

static void clear_tabs(struct store_copy *c)
{
	for (int i = 0; i < c->ntabs; i++) {
		for (int j = 0; j < c->tabs[i].ncols; j++)
			free(c->tabs[i].cols[j].name);
		free(c->tabs[i].cols);
		free(c->tabs[i].name);
	}
	free(c->tabs);
	c->tabs = NULL;
	c->ntabs = 0;
}

void store_copy_free(struct store_copy **cp)
{
	struct store_copy *c = *cp;

	if (c == NULL)
		return;
	clear_tabs(c);
	for (int i = 0; i < c->nsql; i++)
		free(c->sql[i]);
	free(c->sql);
	free(c->err);
	free(c);
	*cp = NULL;
}

int store_copy_table(const struct store_copy *c, int i, const char **name_r, long long *rows_r)
{
	if (i < 0 || i >= c->ntabs)
		return -1;
	*name_r = c->tabs[i].name;
	*rows_r = c->tabs[i].rows;
	return 0;
}

static int fail(struct store_copy *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct store_copy *c, const char *fmt, ...)
{
	va_list ap;
	char buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	free(c->err);
	c->err = xstrdup(buf);
	return -1;
}

/* ident_ok: a name fedmig's schema could have, safe to quote as is. */
static int ident_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n < 64 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n &&
	       !(s[0] >= '0' && s[0] <= '9');
}

/* printable: S may be shown as it is (no control bytes, ASCII). */
static int printable(const char *s)
{
	if (s == NULL)
		return 0;
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return 0;
	return 1;
}

/* keep: SQL, kept until store_copy_free (TO's cache is keyed by it). */
static const char *keep(struct store_copy *c, char *sql)
{
	c->sql = xrealloc(c->sql, (size_t)(c->nsql + 1) * sizeof(*c->sql));
	c->sql[c->nsql++] = sql;
	return sql;
}

/* quoted_cols: "a","b",... of T, into a new string. */
static char *quoted_cols(const struct tab *t)
{
	char *s = NULL;
	size_t len = 0;

	for (int j = 0; j < t->ncols; j++) {
		if (j)
			xappend(&s, &len, ",", 1);
		xappend(&s, &len, "\"", 1);
		xappend(&s, &len, t->cols[j].name, strlen(t->cols[j].name));
		xappend(&s, &len, "\"", 1);
	}
	xappend(&s, &len, "", 1);
	return s;
}

/* target_tables: TO's tables and columns (schema_version aside). */
static int target_tables(struct store_copy *c, struct db *to)
{
	struct db_stmt *st = db_prepare(
		to, "SELECT table_name, column_name, data_type, is_identity"
		    " FROM information_schema.columns WHERE table_schema = current_schema()"
		    " AND table_name <> 'schema_version' ORDER BY table_name, ordinal_position");
	int rc;

	if (st == NULL)
		return fail(c, "the target's tables: %s", db_errmsg(to));
	while ((rc = db_step(st)) == DB_ROW) {
		const char *tn = db_column_text(st, 0), *cn = db_column_text(st, 1);
		struct tab *t = c->ntabs ? &c->tabs[c->ntabs - 1] : NULL;

		if (!ident_ok(tn) || !ident_ok(cn)) {
			db_reset(st);
			return fail(c, "the target has a table or column fedmig's schema does not "
				       "name plainly: %.64s.%.64s",
				    tn, cn);
		}
		if (t == NULL || strcmp(t->name, tn) != 0) {
			c->tabs = xrealloc(c->tabs, (size_t)(c->ntabs + 1) * sizeof(*c->tabs));
			t = &c->tabs[c->ntabs++];
			memset(t, 0, sizeof(*t));
			t->name = xstrdup(tn);
		}
		if (t->ncols == DB_MAX_PARAMS) {
			db_reset(st);
			return fail(c, "table %s: more than %d columns", tn, DB_MAX_PARAMS);
		}
		t->cols = xrealloc(t->cols, (size_t)(t->ncols + 1) * sizeof(*t->cols));
		t->cols[t->ncols].name = xstrdup(cn);
		t->cols[t->ncols].bytea = strcmp(db_column_text(st, 2), "bytea") == 0;
		t->cols[t->ncols].identity = strcmp(db_column_text(st, 3), "YES") == 0;
		t->ncols++;
	}
	if (db_reset(st) < 0 || rc != DB_DONE)
		return fail(c, "the target's tables: %s", db_errmsg(to));
	if (c->ntabs == 0)
		return fail(c, "the target has no fedmig table");
	return 0;
}

/* same_columns: FROM's table T has exactly T's columns (any order). */
static int same_columns(struct store_copy *c, sqlite3 *from, const struct tab *t)
{
	sqlite3_stmt *st;
	int n = 0, rc;

	if (sqlite3_prepare_v2(from, "SELECT name FROM pragma_table_info(?1)", -1, &st, NULL) !=
	    SQLITE_OK)
		return fail(c, "the source's columns: %s", sqlite3_errmsg(from));
	sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		int j;

		for (j = 0; j < t->ncols && strcmp(t->cols[j].name, name ? name : "") != 0; j++)
			;
		if (j == t->ncols) {
			sqlite3_finalize(st);
			return fail(c, "table %s: the source has a column the target has not: %.64s",
				    t->name, name ? name : "");
		}
		n++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return fail(c, "table %s: the source's columns: %s", t->name, sqlite3_errmsg(from));
	if (n == 0)
		return fail(c, "the source has no table %s: not a fedmig store at this version",
			    t->name);
	if (n != t->ncols)
		return fail(c, "table %s: the source lacks %d of the target's columns", t->name,
			    t->ncols - n);
	return 0;
}

/* source_extra: a table of FROM's that the target has not. */
static int source_extra(struct store_copy *c, sqlite3 *from)
{
	sqlite3_stmt *st;
	int rc, bad = 0;

	if (sqlite3_prepare_v2(from,
			       "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT "
			       "LIKE 'sqlite\\_%' ESCAPE '\\' AND name <> 'schema_version'",
			       -1, &st, NULL) != SQLITE_OK)
		return fail(c, "the source's tables: %s", sqlite3_errmsg(from));
	while (!bad && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		int i;

		for (i = 0; i < c->ntabs && strcmp(c->tabs[i].name, name ? name : "") != 0; i++)
			;
		if (i == c->ntabs)
			bad = fail(c, "the source has a table the target has not: %.64s",
				   printable(name) ? name : "(a name with other bytes)");
	}
	if (!bad && rc != SQLITE_DONE)
		bad = fail(c, "the source's tables: %s", sqlite3_errmsg(from));
	sqlite3_finalize(st);
	return bad;
}

/* empty: TO's table T holds no row. */
static int empty(struct store_copy *c, struct db *to, const struct tab *t)
{
	struct db_stmt *st = db_prepare(to, keep(c, xasprintf("SELECT count(*) FROM \"%s\"", t->name)));
	long long n;
	int rc;

	if (st == NULL)
		return fail(c, "table %s: %s", t->name, db_errmsg(to));
	rc = db_step(st);
	n = rc == DB_ROW ? db_column_int64(st, 0) : 0;
	if (db_reset(st) < 0 || rc != DB_ROW)
		return fail(c, "table %s: %s", t->name, db_errmsg(to));
	if (n > 0)
		return fail(c, "the target is not empty (table %s holds %lld rows): store copy only "
			       "fills a new database",
			    t->name, n);
	return 0;
}

/* bind: FROM's column J of the current row into parameter J+1 of INS. */
static int bind(struct store_copy *c, const struct tab *t, sqlite3_stmt *sel, struct db_stmt *ins,
		int j)
{
	const struct col *col = &t->cols[j];
	int type = sqlite3_column_type(sel, j);

	if (type == SQLITE_NULL)
		return db_bind_null(ins, j + 1);
	if (col->bytea) {
		const void *p = sqlite3_column_blob(sel, j);
		int n = sqlite3_column_bytes(sel, j);

		return db_bind_blob(ins, j + 1, p ? p : "", (size_t)n);
	}
	switch (type) {
	case SQLITE_INTEGER:
		return db_bind_int64(ins, j + 1, sqlite3_column_int64(sel, j));
	case SQLITE_TEXT: {
		const char *s = (const char *)sqlite3_column_text(sel, j);

		if ((size_t)sqlite3_column_bytes(sel, j) != strlen(s))
			return fail(c, "table %s, column %s: a NUL byte in text", t->name,
				    col->name);
		return db_bind_text(ins, j + 1, s);
	}
	default:
		return fail(c, "table %s, column %s: a %s value, which fedmig never writes there",
			    t->name, col->name, type == SQLITE_FLOAT ? "real number" : "binary");
	}
}

/* copy_table: every row of FROM's table T into TO's. */
static int copy_table(struct store_copy *c, sqlite3 *from, struct db *to, struct tab *t)
{
	char *cols = quoted_cols(t), *sel_sql, *ins_sql = NULL, *vals = NULL;
	size_t vlen = 0;
	sqlite3_stmt *sel;
	struct db_stmt *ins;
	int rc = 0, step = SQLITE_DONE;

	for (int j = 0; j < t->ncols; j++) {
		char p[16];

		snprintf(p, sizeof(p), "%s?%d", j ? "," : "", j + 1);
		xappend(&vals, &vlen, p, strlen(p));
	}
	xappend(&vals, &vlen, "", 1);
	sel_sql = xasprintf("SELECT %s FROM \"%s\"", cols, t->name);
	ins_sql = xasprintf("INSERT INTO \"%s\"(%s) VALUES(%s)", t->name, cols, vals);
	free(cols);
	free(vals);
	if (sqlite3_prepare_v2(from, sel_sql, -1, &sel, NULL) != SQLITE_OK) {
		rc = fail(c, "table %s: the source: %s", t->name, sqlite3_errmsg(from));
		free(sel_sql);
		free(ins_sql);
		return rc;
	}
	free(sel_sql);
	ins = db_prepare(to, keep(c, ins_sql));
	if (ins == NULL)
		rc = fail(c, "table %s: %s", t->name, db_errmsg(to));
	while (rc == 0 && (step = sqlite3_step(sel)) == SQLITE_ROW) {
		for (int j = 0; rc == 0 && j < t->ncols; j++)
			if (bind(c, t, sel, ins, j) < 0)
				rc = c->err ? -1 : fail(c, "table %s: %s", t->name, db_errmsg(to));
		if (rc == 0 && db_step(ins) != DB_DONE)
			rc = fail(c, "table %s, row %lld: %s", t->name, t->rows + 1, db_errmsg(to));
		if (db_reset(ins) < 0 && rc == 0)
			rc = fail(c, "table %s: %s", t->name, db_errmsg(to));
		if (rc == 0)
			t->rows++;
	}
	if (rc == 0 && step != SQLITE_DONE)
		rc = fail(c, "table %s: the source: %s", t->name, sqlite3_errmsg(from));
	sqlite3_finalize(sel);
	return rc;
}

/* identities: each identity column's sequence past its largest id. */
static int identities(struct store_copy *c, struct db *to, const struct tab *t)
{
	for (int j = 0; j < t->ncols; j++) {
		struct db_stmt *st;
		int rc;

		if (!t->cols[j].identity)
			continue;
		st = db_prepare(to, keep(c, xasprintf("SELECT setval(pg_get_serial_sequence(?1, ?2), "
						      "(SELECT max(\"%s\") FROM \"%s\"))",
						      t->cols[j].name, t->name)));
		if (st == NULL)
			return fail(c, "table %s: %s", t->name, db_errmsg(to));
		db_bind_text(st, 1, t->name);
		db_bind_text(st, 2, t->cols[j].name);
		rc = db_step(st);
		if (db_reset(st) < 0 || rc != DB_ROW)
			return fail(c, "table %s: its id sequence: %s", t->name, db_errmsg(to));
	}
	return 0;
}

static int run(struct store_copy *c, sqlite3 *from, struct db *to)
{
	if (target_tables(c, to) < 0 || source_extra(c, from) < 0)
		return -1;
	for (int i = 0; i < c->ntabs; i++)
		if (same_columns(c, from, &c->tabs[i]) < 0 || empty(c, to, &c->tabs[i]) < 0)
			return -1;
	for (int i = 0; i < c->ntabs; i++)
		if (copy_table(c, from, to, &c->tabs[i]) < 0 || identities(c, to, &c->tabs[i]) < 0)
			return -1;
	return 0;
}

long long store_copy_run(struct store_copy *c, struct store *from, struct store *to, char **err_r)
{
	sqlite3 *src = store_db(from);
	struct db *dst = store_dbh(to);
	long long rows = 0;
	int vf, vt;

	clear_tabs(c);
	free(c->err);
	c->err = NULL;
	if (src == NULL || db_backend(dst) != DB_PG) {
		*err_r = xstrdup("store copy goes from a SQLite file to a postgresql:// database");
		return -1;
	}
	vf = store_schema_version(from);
	vt = store_schema_version(to);
	if (vf < 0 || vt < 0 || vf != vt) {
		*err_r = vf < 0 || vt < 0 ? xasprintf("the schema version: %s",
						      store_errmsg(vf < 0 ? from : to))
					  : xasprintf("the source is at schema version %d, the "
						      "target at %d: open both with this fedmigctl",
						      vf, vt);
		return -1;
	}
	/* A read transaction on the source: one consistent state, even if
	 * a program still wrote to it (it must not: store copy's page says). */
	if (sqlite3_exec(src, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		*err_r = xasprintf("the source: %s", sqlite3_errmsg(src));
		return -1;
	}
	if (db_begin(dst) != DB_DONE) {
		*err_r = xasprintf("the target: %s", db_errmsg(dst));
		sqlite3_exec(src, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	if (run(c, src, dst) < 0) {
		db_rollback(dst);
		sqlite3_exec(src, "ROLLBACK", NULL, NULL, NULL);
		*err_r = xstrdup(c->err ? c->err : "store copy failed");
		for (int i = 0; i < c->ntabs; i++)
			c->tabs[i].rows = 0;
		return -1;
	}
	sqlite3_exec(src, "ROLLBACK", NULL, NULL, NULL);
	if (db_commit(dst) != DB_DONE) {
		*err_r = xasprintf("the target's commit: %s", db_errmsg(dst));
		return -1;
	}
	for (int i = 0; i < c->ntabs; i++)
		rows += c->tabs[i].rows;
	return rows;
}
