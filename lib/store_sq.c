/*
 * store_sq - TRANSITIONAL: the store's old SQLite helpers, on the
 * connection under lib/db.h, for the store_*.c modules not yet converted
 * to it (store_int.h). Removed with the last module converted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "xalloc.h"

#define STMT_CACHE 64

struct store_sq {
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} cache[STMT_CACHE];
	int ncache;
};

void store_sq_free(struct store *s)
{
	struct store_sq **sqp = store_sq_of(s);

	if (*sqp == NULL)
		return;
	for (int i = 0; i < (*sqp)->ncache; i++)
		sqlite3_finalize((*sqp)->cache[i].st);
	free(*sqp);
	*sqp = NULL;
}

int store_fail_sq(struct store *s, const char *context)
{
	store_set_error(s, "%s: %s", context, sqlite3_errmsg(store_db(s)));
	return STORE_ERR;
}

sqlite3_stmt *store_prepare_sq(struct store *s, const char *sql)
{
	struct store_sq **sqp = store_sq_of(s);
	struct store_sq *c;
	sqlite3_stmt *st;

	if (*sqp == NULL)
		*sqp = xcalloc(1, sizeof(**sqp));
	c = *sqp;
	for (int i = 0; i < c->ncache; i++)
		if (c->cache[i].sql == sql) {
			sqlite3_reset(c->cache[i].st);
			sqlite3_clear_bindings(c->cache[i].st);
			return c->cache[i].st;
		}
	if (sqlite3_prepare_v3(store_db(s), sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) !=
	    SQLITE_OK) {
		store_fail_sq(s, "prepare");
		return NULL;
	}
	if (c->ncache == STMT_CACHE) {
		sqlite3_finalize(c->cache[0].st);
		memmove(&c->cache[0], &c->cache[1], sizeof(c->cache[0]) * (STMT_CACHE - 1));
		c->ncache--;
	}
	c->cache[c->ncache].sql = sql;
	c->cache[c->ncache].st = st;
	c->ncache++;
	return st;
}

void store_text_sq(sqlite3_stmt *st, int i, char *buf, size_t size)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	snprintf(buf, size, "%s", t ? (const char *)t : "");
}

void store_read_entry_sq(sqlite3_stmt *st, struct dir_entry *r)
{
	store_text_sq(st, 0, r->access, sizeof(r->access));
	store_text_sq(st, 1, r->system, sizeof(r->system));
	store_text_sq(st, 2, r->physical, sizeof(r->physical));
	r->held = sqlite3_column_int(st, 3);
	r->held_since = sqlite3_column_int64(st, 4);
	r->switched_at = sqlite3_column_int64(st, 5);
	r->request_id = sqlite3_column_int64(st, 6);
}

int store_run_sq(struct store *s, sqlite3_stmt *st, const char *context)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail_sq(s, context);
	return STORE_OK;
}

int store_list_of_sq(struct store *s, sqlite3_stmt *st, const char *key, char **list_r)
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
		return store_fail_sq(s, "directory list");
	}
	*list_r = out;
	return STORE_OK;
}
