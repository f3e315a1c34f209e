#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"
#include "store_int.h"
#include "store_req.h"
#include "xalloc.h"

#define REQ_COLS                                                                          \
	"id, access, target_system, scenario, planned_at, batch_id, state, attempts, "    \
	"next_at, reason, source_system, source_physical, target_physical, hold_at, "     \
	"switch_at, release_at, created, updated, action, failed_from, complete_at, "       \
	"catchup_ms, prestage_passes, prestage_last"

/* Live requests: not in the bound mask of settled states (state.h), the
 * set the partial unique index requests_live was written from. */
#define LIVE "((CAST(?2 AS BIGINT) >> CAST(state AS INTEGER)) & 1) = 0"

/* The columns of REQ_COLS, in order, and the fields read_req() fills: a
 * text, or a number as wide as its field (int or long long). */
static const struct req_col {
	int text;
	size_t off, size;
} req_cols[] = {
#define NUM(f) {0, offsetof(struct req, f), sizeof(((struct req *)0)->f)}
#define TEXT(f) {1, offsetof(struct req, f), sizeof(((struct req *)0)->f)}
	NUM(id), TEXT(access), TEXT(target_system), TEXT(scenario), NUM(planned_at),
	NUM(batch_id), NUM(state), NUM(attempts), NUM(next_at), TEXT(reason),
	TEXT(source_system), TEXT(source_physical), TEXT(target_physical), NUM(hold_at),
	NUM(switch_at), NUM(release_at), NUM(created), NUM(updated), TEXT(action),
	NUM(failed_from), NUM(complete_at), NUM(catchup_ms), NUM(prestage_passes),
	NUM(prestage_last),
#undef NUM
#undef TEXT
};

static void read_req(struct db_stmt *st, struct req *r)
{
	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < sizeof(req_cols) / sizeof(req_cols[0]); i++) {
		const struct req_col *c = &req_cols[i];
		char *f = (char *)r + c->off;

		if (c->text) {
			store_text(st, (int)i, f, c->size);
		} else if (c->size == sizeof(int)) {
			int n = (int)db_column_int64(st, (int)i);

			memcpy(f, &n, sizeof(n));
		} else {
			long long n = db_column_int64(st, (int)i);

			memcpy(f, &n, sizeof(n));
		}
	}
	r->loaded = r->updated;
}

static int add_history(struct store *s, long long id, long long at, int from, int to,
		       const char *step, const char *detail)
{
	struct db_stmt *st = store_prepare(s, "INSERT INTO history(request_id, at, from_state, "
					    "to_state, step, detail) VALUES(?1, ?2, ?3, ?4, ?5, ?6)");

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, id);
	db_bind_int64(st, 2, at);
	if (from < 0)
		db_bind_null(st, 3);
	else
		db_bind_int64(st, 3, from);
	db_bind_int64(st, 4, to);
	db_bind_text(st, 5, step);
	db_bind_text(st, 6, detail ? detail : "");
	return store_run(s, st, "write history");
}

int store_req_note(struct store *s, long long id, long long at, int state, const char *step,
		   const char *detail)
{
	return add_history(s, id, at, state, state, step, detail);
}

/* latest_req: the one row ST (selecting REQ_COLS for ?1 = ACCESS) gives. */
static int latest_req(struct store *s, struct db_stmt *st, const char *access, struct req *r)
{
	int rc;

	db_bind_text(st, 1, access);
	rc = db_step(st);
	if (rc == DB_ROW)
		read_req(st, r);
	db_reset(st);
	if (rc == DB_ROW)
		return STORE_OK;
	return rc == DB_DONE ? STORE_NOTFOUND : store_fail(s, "find request");
}

static int find_live(struct store *s, const char *access, struct req *r)
{
	struct db_stmt *st = store_prepare(s, "SELECT " REQ_COLS " FROM requests WHERE access = ?1 "
					    "AND " LIVE " ORDER BY id DESC LIMIT 1");

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 2, state_mask(STATE_SETTLED));
	return latest_req(s, st, access, r);
}

/* add_body: store_req_add in its transaction. */
static int add_body(struct store *s, struct req *r, long long now, const char *detail)
{
	struct req live;
	int rc = find_live(s, r->access, &live);

	if (rc == STORE_OK) {
		store_set_error(s, "%s already has request %lld (%s)", r->access, live.id,
				state_name(live.state));
		r->id = live.id;
		return STORE_EXISTS;
	}
	if (rc == STORE_ERR)
		return rc;
	struct db_stmt *st = store_prepare(
		s, "INSERT INTO requests(access, target_system, scenario, planned_at, batch_id, "
		   "state, next_at, created, updated) VALUES(?1, ?2, ?3, ?4, ?5, 0, ?6, ?7, ?7) "
		   "RETURNING id");

	if (st == NULL)
		return STORE_ERR;
	r->state = ST_REGISTERED;
	r->attempts = 0;
	r->next_at = now;
	r->created = r->updated = r->loaded = now;
	r->failed_from = -1;
	r->catchup_ms = -1;
	db_bind_text(st, 1, r->access);
	db_bind_text(st, 2, r->target_system);
	db_bind_text(st, 3, r->scenario);
	db_bind_int64(st, 4, r->planned_at);
	db_bind_int64(st, 5, r->batch_id);
	db_bind_int64(st, 6, r->next_at);
	db_bind_int64(st, 7, now);
	rc = store_run_id(s, st, &r->id, "store request");
	if (rc == STORE_OK)
		rc = add_history(s, r->id, now, -1, ST_REGISTERED, "E1 register", detail);
	return rc;
}

int store_req_add(struct store *s, struct req *r, long long now, const char *detail)
{
	int rc;

	STORE_OWN_RETRY(s, rc, add_body(s, r, now, detail));
	return rc;
}

int store_req_get(struct store *s, long long id, struct req *r)
{
	struct db_stmt *st = store_prepare(s, "SELECT " REQ_COLS " FROM requests WHERE id = ?1");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, id);
	rc = db_step(st);
	if (rc == DB_ROW)
		read_req(st, r);
	db_reset(st);
	if (rc == DB_ROW)
		return STORE_OK;
	return rc == DB_DONE ? STORE_NOTFOUND : store_fail(s, "read request");
}

int store_req_find(struct store *s, const char *access, struct req *r)
{
	int rc = find_live(s, access, r);

	if (rc != STORE_NOTFOUND)
		return rc;
	struct db_stmt *st = store_prepare(s, "SELECT " REQ_COLS " FROM requests WHERE access = ?1 "
					    "ORDER BY id DESC LIMIT 1");

	return st ? latest_req(s, st, access, r) : STORE_ERR;
}

/* set_body: store_req_set in its transaction. */
static int set_body(struct store *s, const struct req *r, int from, const char *step,
		    const char *detail)
{
	int rc;
	struct db_stmt *st = store_prepare(
		s, "UPDATE requests SET state = ?3, attempts = ?4, next_at = ?5, "
		   "reason = ?6, source_system = ?7, source_physical = ?8, "
		   "target_physical = ?9, hold_at = ?10, switch_at = ?11, "
		   "release_at = ?12, updated = ?13, action = ?14, failed_from = ?15, "
		   "complete_at = ?16, planned_at = ?17, catchup_ms = ?19, "
		   "prestage_passes = ?20, prestage_last = ?21 "
		   "WHERE id = ?1 AND state = ?2 AND updated = ?18");
	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, r->id);
	db_bind_int64(st, 2, from);
	db_bind_int64(st, 3, r->state);
	db_bind_int64(st, 4, r->attempts);
	db_bind_int64(st, 5, r->next_at);
	db_bind_text(st, 6, r->reason);
	db_bind_text(st, 7, r->source_system);
	db_bind_text(st, 8, r->source_physical);
	db_bind_text(st, 9, r->target_physical);
	db_bind_int64(st, 10, r->hold_at);
	db_bind_int64(st, 11, r->switch_at);
	db_bind_int64(st, 12, r->release_at);
	db_bind_int64(st, 13, r->updated);
	db_bind_text(st, 14, r->action);
	db_bind_int64(st, 15, r->failed_from);
	db_bind_int64(st, 16, r->complete_at);
	db_bind_int64(st, 17, r->planned_at);
	db_bind_int64(st, 18, r->loaded);
	db_bind_int64(st, 19, r->catchup_ms);
	db_bind_int64(st, 20, r->prestage_passes);
	db_bind_int64(st, 21, r->prestage_last);
	rc = store_run(s, st, "update request");
	if (rc == STORE_OK && db_changes(store_dbh(s)) == 0) {
		store_set_error(s, "request %lld is no longer %s", r->id, state_name(from));
		rc = STORE_NOTFOUND;
	}
	if (rc == STORE_OK)
		rc = add_history(s, r->id, r->updated, from, r->state, step, detail);
	return rc;
}

int store_req_set(struct store *s, struct req *r, int from, const char *step,
		  const char *detail)
{
	int rc;

	/* Every write moves "updated" on, so a concurrent reader notices. */
	if (r->updated <= r->loaded)
		r->updated = r->loaded + 1;
	STORE_OWN_RETRY(s, rc, set_body(s, r, from, step, detail));
	if (rc == STORE_OK)
		r->loaded = r->updated;
	return rc;
}

/* int64_column: step ST (bound) to the end, collecting column 0. */
static int int64_column(struct store *s, struct db_stmt *st, const char *context,
			long long **v_r, size_t *n_r)
{
	size_t n = 0, cap = 16;
	long long *v = xmalloc(cap * sizeof(*v));
	int rc;

	while ((rc = db_step(st)) == DB_ROW) {
		if (n == cap) {
			cap *= 2;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[n++] = db_column_int64(st, 0);
	}
	db_reset(st);
	if (rc != DB_DONE) {
		free(v);
		return store_fail(s, context);
	}
	*v_r = v;
	*n_r = n;
	return STORE_OK;
}

int store_req_due(struct store *s, long long now, size_t limit, long long **ids_r, size_t *n_r)
{
	struct db_stmt *st = store_prepare(s, "SELECT id FROM requests WHERE next_at <= ?1 "
					    "ORDER BY next_at, id LIMIT ?2");

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, now);
	db_bind_int64(st, 2, (long long)limit);
	return int64_column(s, st, "due requests", ids_r, n_r);
}

int store_req_each(struct store *s, const struct req_filter *f, store_req_fn fn, void *ctx)
{
	/* FN may call the store (other statements), never this list again. */
	struct db_stmt *st =
		store_prepare(s, "SELECT " REQ_COLS " FROM requests WHERE (?1 < 0 OR state = ?1) "
				 "AND (?2 = 0 OR batch_id = ?2) AND (CAST(?3 AS TEXT) IS NULL OR access = ?3) "
				 "ORDER BY id");
	struct req r;
	int rc;

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, f->state);
	db_bind_int64(st, 2, f->batch_id);
	if (f->access)
		db_bind_text(st, 3, f->access);
	while ((rc = db_step(st)) == DB_ROW) {
		read_req(st, &r);
		if (fn(ctx, &r) != 0) {
			rc = DB_DONE;
			break;
		}
	}
	if (db_reset(st) < 0)
		rc = DB_ERR;
	return rc == DB_DONE ? STORE_OK : store_fail(s, "list requests");
}

int store_req_history(struct store *s, long long id, store_hist_fn fn, void *ctx)
{
	struct db_stmt *st = store_prepare(s, "SELECT at, from_state, to_state, step, detail "
					      "FROM history WHERE request_id = ?1 ORDER BY id");
	struct req_hist h;
	int rc;

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, id);
	while ((rc = db_step(st)) == DB_ROW) {
		h.at = db_column_int64(st, 0);
		h.from = db_column_null(st, 1) ? -1 : (int)db_column_int64(st, 1);
		h.to = (int)db_column_int64(st, 2);
		store_text(st, 3, h.step, sizeof(h.step));
		store_text(st, 4, h.detail, sizeof(h.detail));
		if (fn(ctx, &h) != 0) {
			rc = DB_DONE;
			break;
		}
	}
	if (db_reset(st) < 0)
		rc = DB_ERR;
	return rc == DB_DONE ? STORE_OK : store_fail(s, "read history");
}

int store_req_counts(struct store *s, long long batch_id, long long counts_r[STATE_SLOTS])
{
	struct db_stmt *st = store_prepare(s, "SELECT state, count(*) FROM requests "
					    "WHERE ?1 = 0 OR batch_id = ?1 GROUP BY state");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	memset(counts_r, 0, sizeof(long long) * STATE_SLOTS);
	db_bind_int64(st, 1, batch_id);
	while ((rc = db_step(st)) == DB_ROW) {
		int state = (int)db_column_int64(st, 0);

		if (state >= 0 && state < STATE_SLOTS)
			counts_r[state] = db_column_int64(st, 1);
	}
	db_reset(st);
	return rc == DB_DONE ? STORE_OK : store_fail(s, "count requests");
}

/* batch_column: the numbers SQL (with ?1 the batch, 0: all) selects, as
 * int64_column gives them; WHAT names them in an error. */
static int batch_column(struct store *s, const char *sql, const char *what, long long batch_id,
			long long **v_r, size_t *n_r)
{
	struct db_stmt *st = store_prepare(s, sql);

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, batch_id);
	return int64_column(s, st, what, v_r, n_r);
}

int store_req_hold_windows(struct store *s, long long batch_id, long long **v_r, size_t *n_r)
{
	return batch_column(s,
			    "SELECT release_at - hold_at FROM requests WHERE release_at > 0 AND "
			    "hold_at > 0 AND (?1 = 0 OR batch_id = ?1) ORDER BY 1",
			    "hold windows", batch_id, v_r, n_r);
}

int store_req_catchups(struct store *s, long long batch_id, long long **v_r, size_t *n_r)
{
	return batch_column(s,
			    "SELECT catchup_ms FROM requests WHERE catchup_ms >= 0 "
			    "AND (?1 = 0 OR batch_id = ?1) ORDER BY 1",
			    "catch-up times", batch_id, v_r, n_r);
}

int store_batch_add(struct store *s, const char *source, long long now, long long *id_r)
{
	struct db_stmt *st =
		store_prepare(s, "INSERT INTO batches(source, created) VALUES(?1, ?2) RETURNING id");

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, source);
	db_bind_int64(st, 2, now);
	return store_run_id(s, st, id_r, "store batch");
}

int store_batch_exists(struct store *s, long long id)
{
	struct db_stmt *st = store_prepare(s, "SELECT 1 FROM batches WHERE id = ?1");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, id);
	rc = db_step(st);
	db_reset(st);
	if (rc == DB_ROW)
		return STORE_OK;
	return rc == DB_DONE ? STORE_NOTFOUND : store_fail(s, "read batch");
}

int store_check_add(struct store *s, long long request_id, long long at, int ok,
		    const char *detail)
{
	struct db_stmt *st = store_prepare(s, "INSERT INTO checks(request_id, at, ok, detail) "
					    "VALUES(?1, ?2, ?3, ?4)");

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, request_id);
	db_bind_int64(st, 2, at);
	db_bind_int64(st, 3, ok ? 1 : 0);
	db_bind_text(st, 4, detail ? detail : "");
	return store_run(s, st, "store check");
}

int store_check_last(struct store *s, long long request_id, long long since, long long *at_r,
		     int *ok_r, char *detail)
{
	struct db_stmt *st = store_prepare(s, "SELECT at, ok, detail FROM checks WHERE "
					    "request_id = ?1 AND at >= ?2 ORDER BY at DESC LIMIT 1");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, request_id);
	db_bind_int64(st, 2, since);
	rc = db_step(st);
	if (rc == DB_ROW) {
		*at_r = db_column_int64(st, 0);
		*ok_r = (int)db_column_int64(st, 1);
		store_text(st, 2, detail, REQ_REASON_MAX);
	}
	db_reset(st);
	if (rc == DB_ROW)
		return STORE_OK;
	return rc == DB_DONE ? STORE_NOTFOUND : store_fail(s, "read check");
}

int store_held_pending(struct store *s, store_held_fn fn, void *ctx)
{
	struct db_stmt *st =
		store_prepare(s, "SELECT queue_id, request_id, held_at, recipients, released_at, "
				 "frontend FROM held_messages WHERE gone = 0 ORDER BY held_at");
	struct held_msg m;
	int rc;

	if (st == NULL)
		return STORE_ERR;
	while ((rc = db_step(st)) == DB_ROW) {
		store_text(st, 0, m.queue_id, sizeof(m.queue_id));
		m.request_id = db_column_int64(st, 1);
		m.held_at = db_column_int64(st, 2);
		m.recipients = db_column_text(st, 3);
		m.released_at = db_column_int64(st, 4);
		m.frontend = db_column_text(st, 5);
		if (m.frontend == NULL)
			m.frontend = "";
		if (fn(ctx, &m) != 0) {
			rc = DB_DONE;
			break;
		}
	}
	if (db_reset(st) < 0)
		rc = DB_ERR;
	return rc == DB_DONE ? STORE_OK : store_fail(s, "held messages");
}

int store_held_count_pending(struct store *s, long long *n_r)
{
	struct db_stmt *st = store_prepare(s, "SELECT count(*) FROM held_messages WHERE gone = 0");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	rc = db_step(st);
	if (rc == DB_ROW)
		*n_r = db_column_int64(st, 0);
	db_reset(st);
	return rc == DB_ROW ? STORE_OK : store_fail(s, "count held messages");
}

int store_held_released(struct store *s, const char *queue_id, long long at)
{
	struct db_stmt *st = store_prepare(s, "UPDATE held_messages SET released_at = ?2 "
					    "WHERE queue_id = ?1 AND gone = 0");

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, queue_id);
	db_bind_int64(st, 2, at);
	return store_run(s, st, "mark released");
}

/* held_write: run ST, a write of the held message ?1 = QUEUE_ID. */
static int held_write(struct store *s, struct db_stmt *st, const char *queue_id,
		      const char *context)
{
	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, queue_id);
	return store_run(s, st, context);
}

int store_held_gone(struct store *s, const char *queue_id)
{
	return held_write(s,
			  store_prepare(s, "UPDATE held_messages SET gone = 1 WHERE queue_id = ?1"),
			  queue_id, "mark gone");
}

int store_held_forget(struct store *s, const char *queue_id)
{
	return held_write(s,
			  store_prepare(s, "DELETE FROM held_messages WHERE queue_id = ?1 "
					   "AND released_at = 0 AND gone = 0"),
			  queue_id, "forget held message");
}

int store_req_wait(struct store *s, long long id, int state, long long next_at,
		   const char *reason)
{
	struct db_stmt *st = store_prepare(s, "UPDATE requests SET next_at = ?3, "
					    "reason = coalesce(?4, reason) WHERE id = ?1 AND state = ?2");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, id);
	db_bind_int64(st, 2, state);
	db_bind_int64(st, 3, next_at);
	if (reason)
		db_bind_text(st, 4, reason);
	rc = store_run(s, st, "update request");
	if (rc == STORE_OK && db_changes(store_dbh(s)) == 0)
		return STORE_NOTFOUND;
	return rc;
}

static int one_int64(struct store *s, struct db_stmt *st, long long *v_r, long long dflt,
		     const char *context)
{
	int rc;

	if (st == NULL)
		return STORE_ERR;
	rc = db_step(st);
	if (rc == DB_ROW)
		*v_r = db_column_null(st, 0) ? dflt : db_column_int64(st, 0);
	db_reset(st);
	return rc == DB_ROW ? STORE_OK : store_fail(s, context);
}

int store_req_next_due(struct store *s, long long *at_r)
{
	return one_int64(s, store_prepare(s, "SELECT min(next_at) FROM requests"), at_r, REQ_NEVER,
			 "next due request");
}

int store_req_last_switch(struct store *s, long long *at_r)
{
	return one_int64(s, store_prepare(s, "SELECT max(switch_at) FROM requests"), at_r, 0,
			 "last switch");
}

int store_req_durable(struct store *s, int on)
{
	/* PostgreSQL: a commit waits for its WAL flush, or not (a crash of the
	 * server's host may lose the last commits, never corrupts). */
	struct db_stmt *st = store_prepare(
		s, on ? store_sql(s, "PRAGMA synchronous = FULL", "SET synchronous_commit = on")
		      : store_sql(s, "PRAGMA synchronous = NORMAL", "SET synchronous_commit = off"));
	int rc;

	if (st == NULL)
		return STORE_ERR;
	rc = db_step(st);
	db_reset(st);
	return rc == DB_DONE || rc == DB_ROW ? STORE_OK : store_fail(s, "synchronous");
}
