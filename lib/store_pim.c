#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "store_pim.h"
#include "store_smd.h"
#include "timeutil.h"
#include "xalloc.h"

#define COLL_COLS                                                                         \
	"src_href, kind, dst_href, name, src_token, dst_token, items, created, updated_n,"  \
	" unchanged, deleted, conflicts, rejected, fixes, verified, held, updated"
#define ROW_COLS "src_href, uid, src_etag, src_hash, dst_href, dst_etag, dst_hash, status, reason"

static char *col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return xstrdup(t ? (const char *)t : "");
}

static long long now_s(void)
{
	return time_now_us() / 1000000;
}

char *store_pim_mailbox_key(const char *src_system, const char *src_login,
			    const char *dst_system, const char *dst_login)
{
	return xasprintf("%s:%s>%s:%s", src_system, src_login, dst_system, dst_login);
}

void store_pim_coll_free(struct pim_coll *c)
{
	free(c->src_href);
	free(c->dst_href);
	free(c->name);
	free(c->src_token);
	free(c->dst_token);
	free(c->held);
	memset(c, 0, sizeof(*c));
}

void store_pim_row_free(struct pim_row *r)
{
	free(r->src_href);
	free(r->uid);
	free(r->src_etag);
	free(r->dst_href);
	free(r->dst_etag);
	free(r->reason);
	memset(r, 0, sizeof(*r));
}

static void read_coll(sqlite3_stmt *st, struct pim_coll *c)
{
	c->src_href = col_dup(st, 0);
	c->kind = sqlite3_column_int(st, 1);
	c->dst_href = col_dup(st, 2);
	c->name = col_dup(st, 3);
	c->src_token = col_dup(st, 4);
	c->dst_token = col_dup(st, 5);
	c->n.items = sqlite3_column_int64(st, 6);
	c->n.created = sqlite3_column_int64(st, 7);
	c->n.updated = sqlite3_column_int64(st, 8);
	c->n.unchanged = sqlite3_column_int64(st, 9);
	c->n.deleted = sqlite3_column_int64(st, 10);
	c->n.conflicts = sqlite3_column_int64(st, 11);
	c->n.rejected = sqlite3_column_int64(st, 12);
	c->n.fixes = sqlite3_column_int64(st, 13);
	c->verified = sqlite3_column_int(st, 14);
	c->held = col_dup(st, 15);
	c->updated = sqlite3_column_int64(st, 16);
}

int store_pim_coll_get(struct store *s, const char *mailbox, const char *src_href,
		       struct pim_coll *c)
{
	sqlite3_stmt *st = store_prepare_sq(
		s, "SELECT " COLL_COLS " FROM pim_collections WHERE mailbox = ?1 AND src_href = ?2");
	int rc;

	memset(c, 0, sizeof(*c));
	if (st == NULL)
		return STORE_ERR;
	sqlite3_bind_text(st, 1, mailbox, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, src_href, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		read_coll(st, c);
		sqlite3_reset(st);
		return STORE_OK;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? STORE_NOTFOUND : store_fail_sq(s, "read pim collection");
}

int store_pim_coll_put(struct store *s, const char *mailbox, const struct pim_coll *c)
{
	sqlite3_stmt *st = store_prepare_sq(
		s, "INSERT OR REPLACE INTO pim_collections(mailbox, " COLL_COLS ")"
		   " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,"
		   " ?17, ?18)");
	const long long nums[] = {c->n.items,	  c->n.created,	  c->n.updated,
				  c->n.unchanged, c->n.deleted,	  c->n.conflicts,
				  c->n.rejected,  c->n.fixes};

	if (st == NULL)
		return STORE_ERR;
	sqlite3_bind_text(st, 1, mailbox, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, c->src_href, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, c->kind);
	sqlite3_bind_text(st, 4, c->dst_href, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, c->name ? c->name : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, c->src_token ? c->src_token : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, c->dst_token ? c->dst_token : "", -1, SQLITE_STATIC);
	for (int i = 0; i < 8; i++)
		sqlite3_bind_int64(st, 8 + i, nums[i]);
	sqlite3_bind_int(st, 16, c->verified);
	sqlite3_bind_text(st, 17, c->held ? c->held : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 18, now_s());
	return store_run_sq(s, st, "write pim collection");
}

int store_pim_coll_each(struct store *s, const char *mailbox,
			int (*fn)(void *ctx, const struct pim_coll *c), void *ctx)
{
	sqlite3_stmt *st = store_prepare_sq(
		s, "SELECT " COLL_COLS " FROM pim_collections WHERE mailbox = ?1 ORDER BY name, src_href");
	int rc, stop = 0;

	if (st == NULL)
		return STORE_ERR;
	sqlite3_bind_text(st, 1, mailbox, -1, SQLITE_STATIC);
	while (stop == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct pim_coll c;

		read_coll(st, &c);
		stop = fn(ctx, &c);
		store_pim_coll_free(&c);
	}
	if (stop == 0 && rc != SQLITE_DONE)
		stop = store_fail_sq(s, "list pim collections");
	sqlite3_reset(st);
	return stop;
}

static void read_hash(sqlite3_stmt *st, int i, unsigned char *h, int *has)
{
	const void *b = sqlite3_column_blob(st, i);

	*has = b != NULL && sqlite3_column_bytes(st, i) == PIM_HASH_LEN;
	if (*has)
		memcpy(h, b, PIM_HASH_LEN);
}

static void read_row(sqlite3_stmt *st, int base, struct pim_row *r)
{
	r->src_href = col_dup(st, base);
	r->uid = col_dup(st, base + 1);
	r->src_etag = col_dup(st, base + 2);
	read_hash(st, base + 3, r->src_hash, &r->has_src_hash);
	r->dst_href = col_dup(st, base + 4);
	r->dst_etag = col_dup(st, base + 5);
	read_hash(st, base + 6, r->dst_hash, &r->has_dst_hash);
	r->status = sqlite3_column_int(st, base + 7);
	r->reason = col_dup(st, base + 8);
}

int store_pim_row_each(struct store *s, const char *mailbox, const char *src_coll,
		       int (*fn)(void *ctx, const struct pim_row *r), void *ctx)
{
	sqlite3_stmt *st = store_prepare_sq(
		s, "SELECT " ROW_COLS " FROM pim_items WHERE mailbox = ?1 AND src_coll = ?2");
	int rc, stop = 0;

	if (st == NULL)
		return STORE_ERR;
	sqlite3_bind_text(st, 1, mailbox, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, src_coll, -1, SQLITE_STATIC);
	while (stop == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct pim_row r;

		read_row(st, 0, &r);
		stop = fn(ctx, &r);
		store_pim_row_free(&r);
	}
	if (stop == 0 && rc != SQLITE_DONE)
		stop = store_fail_sq(s, "read pim items");
	sqlite3_reset(st);
	return stop;
}

int store_pim_row_each_bad(struct store *s, const char *mailbox,
			   int (*fn)(void *ctx, const char *src_coll, const struct pim_row *r),
			   void *ctx)
{
	sqlite3_stmt *st = store_prepare_sq(
		s, "SELECT src_coll, " ROW_COLS " FROM pim_items WHERE mailbox = ?1 AND status != 0"
		   " ORDER BY src_coll, src_href");
	int rc, stop = 0;

	if (st == NULL)
		return STORE_ERR;
	sqlite3_bind_text(st, 1, mailbox, -1, SQLITE_STATIC);
	while (stop == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct pim_row r;
		char *coll = col_dup(st, 0);

		read_row(st, 1, &r);
		stop = fn(ctx, coll, &r);
		store_pim_row_free(&r);
		free(coll);
	}
	if (stop == 0 && rc != SQLITE_DONE)
		stop = store_fail_sq(s, "read pim items");
	sqlite3_reset(st);
	return stop;
}

static void bind_hash(sqlite3_stmt *st, int i, const unsigned char *h, int has)
{
	if (has)
		sqlite3_bind_blob(st, i, h, PIM_HASH_LEN, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static void bind_str(sqlite3_stmt *st, int i, const char *v)
{
	sqlite3_bind_text(st, i, v ? v : "", -1, SQLITE_STATIC);
}

int store_pim_row_put(struct store *s, const char *mailbox, const char *src_coll,
		      const struct pim_row *r)
{
	sqlite3_stmt *st = store_prepare_sq(
		s, "INSERT OR REPLACE INTO pim_items(mailbox, src_coll, " ROW_COLS ", updated)"
		   " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");

	if (st == NULL)
		return STORE_ERR;
	bind_str(st, 1, mailbox);
	bind_str(st, 2, src_coll);
	bind_str(st, 3, r->src_href);
	bind_str(st, 4, r->uid);
	bind_str(st, 5, r->src_etag);
	bind_hash(st, 6, r->src_hash, r->has_src_hash);
	bind_str(st, 7, r->dst_href);
	bind_str(st, 8, r->dst_etag);
	bind_hash(st, 9, r->dst_hash, r->has_dst_hash);
	sqlite3_bind_int(st, 10, r->status);
	bind_str(st, 11, r->reason);
	sqlite3_bind_int64(st, 12, now_s());
	return store_run_sq(s, st, "write pim item");
}

int store_pim_row_del(struct store *s, const char *mailbox, const char *src_coll,
		      const char *src_href)
{
	sqlite3_stmt *st = store_prepare_sq(
		s, "DELETE FROM pim_items WHERE mailbox = ?1 AND src_coll = ?2 AND src_href = ?3");

	if (st == NULL)
		return STORE_ERR;
	bind_str(st, 1, mailbox);
	bind_str(st, 2, src_coll);
	bind_str(st, 3, src_href);
	return store_run_sq(s, st, "delete pim item");
}

int store_pim_job(struct store *s, long long request_id, int kind, int state, long long items,
		  long long next_at)
{
	sqlite3_stmt *st = store_prepare_sq(
		s, "UPDATE smd_jobs SET pim_state = ?3, pim_items = ?4, pim_next_at = ?5"
		   " WHERE request_id = ?1 AND kind = ?2");

	if (st == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, request_id);
	sqlite3_bind_int(st, 2, kind);
	sqlite3_bind_int(st, 3, state);
	sqlite3_bind_int64(st, 4, items);
	sqlite3_bind_int64(st, 5, next_at);
	return store_run_sq(s, st, "record the job's contacts and calendars");
}

int store_pim_mailbox_items(struct store *s, const char *mailbox, long long *n_r)
{
	sqlite3_stmt *st =
		store_prepare_sq(s, "SELECT count(*) FROM pim_items WHERE mailbox = ?1");
	int rc;

	*n_r = 0;
	if (st == NULL)
		return STORE_ERR;
	bind_str(st, 1, mailbox);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*n_r = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? STORE_OK : store_fail_sq(s, "count pim items");
}

int store_pim_job_get(struct store *s, long long request_id, int kind, int *state_r,
		      long long *items_r)
{
	sqlite3_stmt *st = store_prepare_sq(
		s, "SELECT pim_state, pim_items FROM smd_jobs WHERE request_id = ?1 AND kind = ?2");
	int rc;

	*state_r = 0;
	*items_r = 0;
	if (st == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(st, 1, request_id);
	sqlite3_bind_int(st, 2, kind);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*state_r = sqlite3_column_int(st, 0);
		*items_r = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? STORE_OK : rc == SQLITE_DONE ? STORE_NOTFOUND
							: store_fail_sq(s, "read the job's PIM outcome");
}

int store_pim_resync(struct store *s, long long now, int copied_state, long long *n_r)
{
	sqlite3_stmt *q = store_prepare_sq(
		s, "UPDATE smd_jobs SET state = ?3, next_at = ?1, pim_next_at = 0, updated = ?1"
		   " WHERE kind = ?5 AND state = ?4 AND pim_next_at > 0 AND pim_next_at <= ?1"
		   " AND request_id IN (SELECT id FROM requests WHERE state = ?2)");
	sqlite3_stmt *clr = store_prepare_sq(
		s, "UPDATE smd_jobs SET pim_next_at = 0 WHERE pim_next_at > 0 AND pim_next_at <= ?1"
		   " AND request_id NOT IN (SELECT id FROM requests WHERE state = ?2)");
	int own, rc;

	*n_r = 0;
	if (q == NULL || clr == NULL || store_own_begin(s, &own) < 0)
		return STORE_ERR;
	sqlite3_bind_int64(q, 1, now);
	sqlite3_bind_int(q, 2, copied_state);
	sqlite3_bind_int(q, 3, SMD_QUEUED);
	sqlite3_bind_int(q, 4, SMD_DONE);
	sqlite3_bind_int(q, 5, SMD_COPY);
	rc = store_run_sq(s, q, "queue a two-way resync");
	if (rc == STORE_OK)
		*n_r = sqlite3_changes(store_db(s));
	sqlite3_bind_int64(clr, 1, now);
	sqlite3_bind_int(clr, 2, copied_state);
	if (rc == STORE_OK)
		rc = store_run_sq(s, clr, "end the two-way resyncs");
	return store_own_end(s, own, rc);
}
