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

static char *col_dup(struct db_stmt *st, int i)
{
	return xstrdup(db_column_text(st, i));
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

static void read_coll(struct db_stmt *st, struct pim_coll *c)
{
	c->src_href = col_dup(st, 0);
	c->kind = (int)db_column_int64(st, 1);
	c->dst_href = col_dup(st, 2);
	c->name = col_dup(st, 3);
	c->src_token = col_dup(st, 4);
	c->dst_token = col_dup(st, 5);
	c->n.items = db_column_int64(st, 6);
	c->n.created = db_column_int64(st, 7);
	c->n.updated = db_column_int64(st, 8);
	c->n.unchanged = db_column_int64(st, 9);
	c->n.deleted = db_column_int64(st, 10);
	c->n.conflicts = db_column_int64(st, 11);
	c->n.rejected = db_column_int64(st, 12);
	c->n.fixes = db_column_int64(st, 13);
	c->verified = (int)db_column_int64(st, 14);
	c->held = col_dup(st, 15);
	c->updated = db_column_int64(st, 16);
}

int store_pim_coll_get(struct store *s, const char *mailbox, const char *src_href,
		       struct pim_coll *c)
{
	struct db_stmt *st = store_prepare(
		s, "SELECT " COLL_COLS " FROM pim_collections WHERE mailbox = ?1 AND src_href = ?2");
	int rc;

	memset(c, 0, sizeof(*c));
	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, mailbox);
	db_bind_text(st, 2, src_href);
	rc = db_step(st);
	if (rc == DB_ROW) {
		read_coll(st, c);
		db_reset(st);
		return STORE_OK;
	}
	db_reset(st);
	return rc == DB_DONE ? STORE_NOTFOUND : store_fail(s, "read pim collection");
}

int store_pim_coll_put(struct store *s, const char *mailbox, const struct pim_coll *c)
{
	struct db_stmt *st = store_prepare(
		s, "INSERT INTO pim_collections(mailbox, " COLL_COLS ")"
		   " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,"
		   " ?17, ?18) ON CONFLICT(mailbox, src_href) DO UPDATE SET kind = ?3,"
		   " dst_href = ?4, name = ?5, src_token = ?6, dst_token = ?7, items = ?8,"
		   " created = ?9, updated_n = ?10, unchanged = ?11, deleted = ?12,"
		   " conflicts = ?13, rejected = ?14, fixes = ?15, verified = ?16, held = ?17,"
		   " updated = ?18");
	const long long nums[] = {c->n.items,	  c->n.created,	  c->n.updated,
				  c->n.unchanged, c->n.deleted,	  c->n.conflicts,
				  c->n.rejected,  c->n.fixes};

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, mailbox);
	db_bind_text(st, 2, c->src_href);
	db_bind_int64(st, 3, c->kind);
	db_bind_text(st, 4, c->dst_href);
	db_bind_text(st, 5, c->name ? c->name : "");
	db_bind_text(st, 6, c->src_token ? c->src_token : "");
	db_bind_text(st, 7, c->dst_token ? c->dst_token : "");
	for (int i = 0; i < 8; i++)
		db_bind_int64(st, 8 + i, nums[i]);
	db_bind_int64(st, 16, c->verified);
	db_bind_text(st, 17, c->held ? c->held : "");
	db_bind_int64(st, 18, now_s());
	return store_run(s, st, "write pim collection");
}

int store_pim_coll_each(struct store *s, const char *mailbox,
			int (*fn)(void *ctx, const struct pim_coll *c), void *ctx)
{
	struct db_stmt *st = store_prepare(
		s, "SELECT " COLL_COLS " FROM pim_collections WHERE mailbox = ?1 ORDER BY name, src_href");
	int rc, stop = 0;

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, mailbox);
	while (stop == 0 && (rc = db_step(st)) == DB_ROW) {
		struct pim_coll c;

		read_coll(st, &c);
		stop = fn(ctx, &c);
		store_pim_coll_free(&c);
	}
	if (stop == 0 && rc != DB_DONE)
		stop = store_fail(s, "list pim collections");
	db_reset(st);
	return stop;
}

static void read_hash(struct db_stmt *st, int i, unsigned char *h, int *has)
{
	size_t n;
	const void *b = db_column_blob(st, i, &n);

	*has = n == PIM_HASH_LEN;
	if (*has)
		memcpy(h, b, PIM_HASH_LEN);
}

static void read_row(struct db_stmt *st, int base, struct pim_row *r)
{
	r->src_href = col_dup(st, base);
	r->uid = col_dup(st, base + 1);
	r->src_etag = col_dup(st, base + 2);
	read_hash(st, base + 3, r->src_hash, &r->has_src_hash);
	r->dst_href = col_dup(st, base + 4);
	r->dst_etag = col_dup(st, base + 5);
	read_hash(st, base + 6, r->dst_hash, &r->has_dst_hash);
	r->status = (int)db_column_int64(st, base + 7);
	r->reason = col_dup(st, base + 8);
}

int store_pim_row_each(struct store *s, const char *mailbox, const char *src_coll,
		       int (*fn)(void *ctx, const struct pim_row *r), void *ctx)
{
	struct db_stmt *st = store_prepare(
		s, "SELECT " ROW_COLS " FROM pim_items WHERE mailbox = ?1 AND src_coll = ?2");
	int rc, stop = 0;

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, mailbox);
	db_bind_text(st, 2, src_coll);
	while (stop == 0 && (rc = db_step(st)) == DB_ROW) {
		struct pim_row r;

		read_row(st, 0, &r);
		stop = fn(ctx, &r);
		store_pim_row_free(&r);
	}
	if (stop == 0 && rc != DB_DONE)
		stop = store_fail(s, "read pim items");
	db_reset(st);
	return stop;
}

int store_pim_row_each_bad(struct store *s, const char *mailbox,
			   int (*fn)(void *ctx, const char *src_coll, const struct pim_row *r),
			   void *ctx)
{
	struct db_stmt *st = store_prepare(
		s, "SELECT src_coll, " ROW_COLS " FROM pim_items WHERE mailbox = ?1 AND status != 0"
		   " ORDER BY src_coll, src_href");
	int rc, stop = 0;

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, mailbox);
	while (stop == 0 && (rc = db_step(st)) == DB_ROW) {
		struct pim_row r;
		char *coll = col_dup(st, 0);

		read_row(st, 1, &r);
		stop = fn(ctx, coll, &r);
		store_pim_row_free(&r);
		free(coll);
	}
	if (stop == 0 && rc != DB_DONE)
		stop = store_fail(s, "read pim items");
	db_reset(st);
	return stop;
}

static void bind_hash(struct db_stmt *st, int i, const unsigned char *h, int has)
{
	if (has)
		db_bind_blob(st, i, h, PIM_HASH_LEN);
	else
		db_bind_null(st, i);
}

static void bind_str(struct db_stmt *st, int i, const char *v)
{
	db_bind_text(st, i, v ? v : "");
}

int store_pim_row_put(struct store *s, const char *mailbox, const char *src_coll,
		      const struct pim_row *r)
{
	struct db_stmt *st = store_prepare(
		s, "INSERT INTO pim_items(mailbox, src_coll, " ROW_COLS ", updated)"
		   " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
		   " ON CONFLICT(mailbox, src_coll, src_href) DO UPDATE SET uid = ?4,"
		   " src_etag = ?5, src_hash = ?6, dst_href = ?7, dst_etag = ?8, dst_hash = ?9,"
		   " status = ?10, reason = ?11, updated = ?12");

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
	db_bind_int64(st, 10, r->status);
	bind_str(st, 11, r->reason);
	db_bind_int64(st, 12, now_s());
	return store_run(s, st, "write pim item");
}

int store_pim_row_del(struct store *s, const char *mailbox, const char *src_coll,
		      const char *src_href)
{
	struct db_stmt *st = store_prepare(
		s, "DELETE FROM pim_items WHERE mailbox = ?1 AND src_coll = ?2 AND src_href = ?3");

	if (st == NULL)
		return STORE_ERR;
	bind_str(st, 1, mailbox);
	bind_str(st, 2, src_coll);
	bind_str(st, 3, src_href);
	return store_run(s, st, "delete pim item");
}

int store_pim_job(struct store *s, long long request_id, int kind, int state, long long items,
		  long long next_at)
{
	struct db_stmt *st = store_prepare(
		s, "UPDATE smd_jobs SET pim_state = ?3, pim_items = ?4, pim_next_at = ?5"
		   " WHERE request_id = ?1 AND kind = ?2");

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, request_id);
	db_bind_int64(st, 2, kind);
	db_bind_int64(st, 3, state);
	db_bind_int64(st, 4, items);
	db_bind_int64(st, 5, next_at);
	return store_run(s, st, "record the job's contacts and calendars");
}

int store_pim_mailbox_items(struct store *s, const char *mailbox, long long *n_r)
{
	struct db_stmt *st =
		store_prepare(s, "SELECT count(*) FROM pim_items WHERE mailbox = ?1");
	int rc;

	*n_r = 0;
	if (st == NULL)
		return STORE_ERR;
	bind_str(st, 1, mailbox);
	rc = db_step(st);
	if (rc == DB_ROW)
		*n_r = db_column_int64(st, 0);
	db_reset(st);
	return rc == DB_ROW ? STORE_OK : store_fail(s, "count pim items");
}

int store_pim_job_get(struct store *s, long long request_id, int kind, int *state_r,
		      long long *items_r)
{
	struct db_stmt *st = store_prepare(
		s, "SELECT pim_state, pim_items FROM smd_jobs WHERE request_id = ?1 AND kind = ?2");
	int rc;

	*state_r = 0;
	*items_r = 0;
	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, request_id);
	db_bind_int64(st, 2, kind);
	rc = db_step(st);
	if (rc == DB_ROW) {
		*state_r = (int)db_column_int64(st, 0);
		*items_r = db_column_int64(st, 1);
	}
	db_reset(st);
	return rc == DB_ROW ? STORE_OK : rc == DB_DONE ? STORE_NOTFOUND
							: store_fail(s, "read the job's PIM outcome");
}

int store_pim_resync(struct store *s, long long now, int copied_state, long long *n_r)
{
	struct db_stmt *q = store_prepare(
		s, "UPDATE smd_jobs SET state = ?3, next_at = ?1, pim_next_at = 0, updated = ?1"
		   " WHERE kind = ?5 AND state = ?4 AND pim_next_at > 0 AND pim_next_at <= ?1"
		   " AND request_id IN (SELECT id FROM requests WHERE state = ?2)");
	struct db_stmt *clr = store_prepare(
		s, "UPDATE smd_jobs SET pim_next_at = 0 WHERE pim_next_at > 0 AND pim_next_at <= ?1"
		   " AND request_id NOT IN (SELECT id FROM requests WHERE state = ?2)");
	int own, rc, attempt = 0;

	*n_r = 0;
	if (q == NULL || clr == NULL)
		return STORE_ERR;
	do {
		if (store_own_begin(s, &own) < 0)
			return STORE_ERR;
		db_bind_int64(q, 1, now);
		db_bind_int64(q, 2, copied_state);
		db_bind_int64(q, 3, SMD_QUEUED);
		db_bind_int64(q, 4, SMD_DONE);
		db_bind_int64(q, 5, SMD_COPY);
		rc = store_run(s, q, "queue a two-way resync");
		if (rc == STORE_OK)
			*n_r = db_changes(store_dbh(s));
		db_bind_int64(clr, 1, now);
		db_bind_int64(clr, 2, copied_state);
		if (rc == STORE_OK)
			rc = store_run(s, clr, "end the two-way resyncs");
		rc = store_own_end(s, own, rc);
	} while (store_own_retry(s, own, rc, &attempt));
	return rc;
}
