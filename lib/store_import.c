/*
 * store_import - store_dir_import() (lib/store.h): the directory loaded
 * from a CSV file, row by row with each conflict reported by line, in one
 * transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_int.h"
#include "xalloc.h"

/* owner_of: the access address that owns ADDR in any role, "" if none. */
static int owner_of(struct store *s, const char *addr, char owner[ADDR_MAX], enum dir_match *m)
{
	struct dir_entry e;
	int rc = store_dir_lookup(s, addr, &e);

	owner[0] = '\0';
	if (rc == STORE_OK) {
		memcpy(owner, e.access, ADDR_MAX);
		*m = e.match;
	}
	return rc == STORE_ERR ? STORE_ERR : STORE_OK;
}

static const char *role_name(enum dir_match m)
{
	switch (m) {
	case DIR_ACCESS:
		return "access address";
	case DIR_ALIAS:
		return "alias";
	case DIR_PHYSICAL:
		return "physical address";
	case DIR_FORMER:
		return "former physical address";
	}
	return "address";
}

/* row_conflicts: 1 if an address of ROW belongs to another entry (reported). */
static int row_conflicts(struct store *s, const struct dir_row *row, store_row_error_fn err,
			 void *ctx)
{
	char owner[ADDR_MAX], why[3 * ADDR_MAX];
	enum dir_match m = DIR_ACCESS;
	int bad = 0;

	if (owner_of(s, row->access, owner, &m) < 0)
		return -1;
	if (*owner && (strcmp(owner, row->access) != 0 || m != DIR_ACCESS)) {
		snprintf(why, sizeof(why), "%s is already the %s of %s", row->access, role_name(m),
			 owner);
		err(ctx, row->line, why);
		bad = 1;
	}
	if (owner_of(s, row->physical, owner, &m) < 0)
		return -1;
	if (*owner && (strcmp(owner, row->access) != 0 || m == DIR_ALIAS)) {
		snprintf(why, sizeof(why), "physical address %s is already the %s of %s",
			 row->physical, role_name(m), owner);
		err(ctx, row->line, why);
		bad = 1;
	}
	for (size_t i = 0; i < row->naliases; i++) {
		if (owner_of(s, row->aliases[i], owner, &m) < 0)
			return -1;
		if (*owner && (strcmp(owner, row->access) != 0 || m != DIR_ALIAS)) {
			snprintf(why, sizeof(why), "alias %s is already the %s of %s",
				 row->aliases[i], role_name(m), owner);
			err(ctx, row->line, why);
			bad = 1;
		}
	}
	return bad;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* same_aliases: 1 if STORED (sorted, space separated) equals ROW's aliases. */
static int same_aliases(const char *stored, const struct dir_row *row)
{
	const char **v = xcalloc(row->naliases + 1, sizeof(*v));
	size_t len = 0;

	for (size_t i = 0; i < row->naliases; i++) {
		v[i] = row->aliases[i];
		len += strlen(v[i]) + 1;
	}
	qsort(v, row->naliases, sizeof(*v), cmp_str);
	char *joined = xcalloc(len + 1, 1);

	for (size_t i = 0; i < row->naliases; i++) {
		if (i)
			strcat(joined, " ");
		strcat(joined, v[i]);
	}
	int same = strcmp(joined, stored) == 0;

	free(joined);
	free(v);
	return same;
}

int store_put_aliases(struct store *s, const char *access, const char *const *aliases, size_t n)
{
	struct db_stmt *del = store_prepare(s, "DELETE FROM aliases WHERE access = ?1");

	if (del == NULL)
		return STORE_ERR;
	db_bind_text(del, 1, access);
	if (store_run(s, del, "delete aliases") < 0)
		return STORE_ERR;
	for (size_t i = 0; i < n; i++) {
		struct db_stmt *ins = store_prepare(s, "INSERT INTO aliases(alias, access) VALUES(?1, ?2)");

		if (ins == NULL)
			return STORE_ERR;
		db_bind_text(ins, 1, aliases[i]);
		db_bind_text(ins, 2, access);
		if (store_run(s, ins, "insert alias") < 0)
			return STORE_ERR;
	}
	return STORE_OK;
}

static int import_row(struct store *s, const struct dir_row *row, int empty, long long now,
		      struct dir_import_result *res, store_row_error_fn err, void *ctx)
{
	char why[3 * ADDR_MAX];
	int exists = 0, c;
	struct dir_entry cur;

	if (!empty) {
		struct db_stmt *st = store_prepare(s, "SELECT " DIR_COLS " FROM directory d "
						    "WHERE d.access = ?1");

		if (st == NULL)
			return STORE_ERR;
		db_bind_text(st, 1, row->access);
		int rc = db_step(st);

		if (rc == DB_ROW) {
			store_read_entry(st, &cur);
			exists = 1;
		}
		db_reset(st);
		if (rc != DB_ROW && rc != DB_DONE)
			return store_fail(s, "directory lookup");
	}
	if (exists && strcmp(cur.system, row->system) == 0 &&
	    strcmp(cur.physical, row->physical) == 0) {
		char *stored;

		if (store_dir_aliases(s, row->access, &stored) < 0)
			return STORE_ERR;
		int same = same_aliases(stored, row);

		free(stored);
		if (same) {
			res->unchanged++;
			return STORE_OK;
		}
	}
	if (exists && (cur.held || cur.request_id)) {
		snprintf(why, sizeof(why), "%s is being migrated (request %lld): not changed",
			 row->access, cur.request_id);
		err(ctx, row->line, why);
		return 1;
	}
	if (!empty) {
		c = row_conflicts(s, row, err, ctx);
		if (c != 0)
			return c;
	}
	struct db_stmt *st = store_prepare(
		s, "INSERT INTO directory(access, system, physical, updated) VALUES(?1, ?2, ?3, ?4) "
		   "ON CONFLICT(access) DO UPDATE SET system = ?2, physical = ?3, updated = ?4");

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, row->access);
	db_bind_text(st, 2, row->system);
	db_bind_text(st, 3, row->physical);
	db_bind_int64(st, 4, now);
	if (store_run(s, st, "store directory entry") < 0)
		return STORE_ERR;
	if (store_put_aliases(s, row->access, row->aliases, row->naliases) < 0)
		return STORE_ERR;
	if (exists)
		res->updated++;
	else
		res->added++;
	return STORE_OK;
}

int store_dir_import(struct store *s, const struct dir_row *rows, size_t n, int dry_run,
		     struct dir_import_result *res, store_row_error_fn err, void *ctx)
{
	long long count, now;
	int bad = 0;
	struct timespec ts;

	memset(res, 0, sizeof(*res));
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	if (store_begin(s) < 0)
		return STORE_ERR;
	if (store_dir_count(s, &count) < 0)
		goto fail;
	/* An empty directory (a first import) cannot conflict: skip the checks. */
	for (size_t i = 0; i < n; i++) {
		int rc = import_row(s, &rows[i], count == 0, now, res, err, ctx);

		if (rc < 0)
			goto fail;
		bad |= rc;
	}
	if (bad || dry_run) {
		store_rollback(s);
		if (bad)
			store_set_error(s, "bad rows: nothing imported");
		return bad ? STORE_ERR : STORE_OK;
	}
	return store_commit(s);
fail:
	store_rollback(s);
	return STORE_ERR;
}

/* --- the switch --- */
