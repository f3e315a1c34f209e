/*
 * The front ends, their orders and their held messages (store_fe.h).
 * Portable SQL (SQLite and PostgreSQL): ?N parameters, no AUTOINCREMENT;
 * a batch number is the pilot's clock, pushed past the last one.
 */
#include <string.h>

#include "store_fe.h"
#include "store_int.h"

#define OPEN_STATES "('new', 'running')"

int fe_name_ok(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n < FE_NAME_MAX &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") ==
		       n;
}

int store_fe_add(struct store *s, const char *name, long long now)
{
	struct db_stmt *st = store_prepare(s, "INSERT INTO frontends(name, registered)"
					    " VALUES(?1, ?2) ON CONFLICT(name) DO NOTHING");

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, name);
	db_bind_int64(st, 2, now);
	if (store_run(s, st, "add front end") < 0)
		return STORE_ERR;
	return db_changes(store_dbh(s)) == 1 ? STORE_OK : STORE_FE_EXISTS;
}

int store_fe_remove(struct store *s, const char *name)
{
	struct db_stmt *st;
	int own, rc;

	if (store_own_begin(s, &own) < 0)
		return STORE_ERR;
	st = store_prepare(s, "DELETE FROM fe_orders WHERE frontend = ?1 AND state IN " OPEN_STATES);
	if (st == NULL)
		return store_own_end(s, own, STORE_ERR);
	db_bind_text(st, 1, name);
	if (store_run(s, st, "remove front end's orders") < 0)
		return store_own_end(s, own, STORE_ERR);
	st = store_prepare(s, "DELETE FROM frontends WHERE name = ?1");
	if (st == NULL)
		return store_own_end(s, own, STORE_ERR);
	db_bind_text(st, 1, name);
	rc = store_run(s, st, "remove front end");
	if (rc == STORE_OK && db_changes(store_dbh(s)) == 0)
		rc = STORE_NOTFOUND;
	return store_own_end(s, own, rc);
}

int store_fe_list(struct store *s, store_fe_fn fn, void *ctx)
{
	struct db_stmt *st = store_prepare(
		s, "SELECT f.name, f.registered, f.last_seen, (SELECT count(*) FROM fe_orders o"
		   " WHERE o.frontend = f.name AND o.state IN " OPEN_STATES ")"
		   " FROM frontends f ORDER BY f.name");
	struct fe_info f;
	int rc;

	if (st == NULL)
		return STORE_ERR;
	while ((rc = db_step(st)) == DB_ROW) {
		store_text(st, 0, f.name, sizeof(f.name));
		f.registered = db_column_int64(st, 1);
		f.last_seen = db_column_int64(st, 2);
		f.open_orders = db_column_int64(st, 3);
		if (fn(ctx, &f) != 0) {
			rc = DB_DONE;
			break;
		}
	}
	if (db_reset(st) < 0)
		rc = DB_ERR;
	return rc == DB_DONE ? STORE_OK : store_fail(s, "list front ends");
}

/* count_of: ST's one integer (a count) into *N_R. */
static int count_of(struct store *s, struct db_stmt *st, long long *n_r, const char *context)
{
	int rc;

	if (st == NULL)
		return STORE_ERR;
	rc = db_step(st);
	if (rc == DB_ROW)
		*n_r = db_column_int64(st, 0);
	if (db_reset(st) < 0)
		rc = DB_ERR;
	return rc == DB_ROW ? STORE_OK : store_fail(s, context);
}

int store_fe_count(struct store *s, long long *n_r)
{
	return count_of(s, store_prepare(s, "SELECT count(*) FROM frontends"), n_r,
			"count front ends");
}

int store_fe_seen(struct store *s, const char *name, long long now)
{
	struct db_stmt *st = store_prepare(s, "UPDATE frontends SET last_seen = ?2 WHERE name = ?1");

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, name);
	db_bind_int64(st, 2, now);
	if (store_run(s, st, "front end heartbeat") < 0)
		return STORE_ERR;
	return db_changes(store_dbh(s)) == 1 ? STORE_OK : STORE_NOTFOUND;
}

/* --- held messages per front end --- */

int store_fe_held_add(struct store *s, const char *fe, const char *queue_id,
		      long long request_id, const char *recipients, long long at)
{
	struct db_stmt *st;

	/* Never write into a file cut short: it would look whole again. */
	if (store_guard(s) < 0)
		return STORE_ERR;
	st = store_prepare(s, "INSERT INTO held_messages(queue_id, request_id, held_at, recipients,"
			      " frontend) VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(queue_id) DO NOTHING");
	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, queue_id);
	db_bind_int64(st, 2, request_id);
	db_bind_int64(st, 3, at);
	db_bind_text(st, 4, recipients);
	db_bind_text(st, 5, fe);
	return store_run(s, st, "record held message");
}

/* held_of: store_held_pending()'s rows of one front end. */
struct held_of {
	const char *fe;
	store_held_fn fn;
	void *ctx;
};

static int held_of_fe(void *ctx, const struct held_msg *m)
{
	const struct held_of *h = ctx;

	return strcmp(m->frontend, h->fe) == 0 ? h->fn(h->ctx, m) : 0;
}

int store_fe_held_pending(struct store *s, const char *fe, store_held_fn fn, void *ctx)
{
	struct held_of h = {fe, fn, ctx};

	/* Pending rows are few (held, not yet gone): no query of its own. */
	return store_held_pending(s, held_of_fe, &h);
}

int store_fe_held_count(struct store *s, const char *fe, long long *n_r)
{
	struct db_stmt *st = store_prepare(
		s, "SELECT count(*) FROM held_messages WHERE gone = 0 AND frontend = ?1");

	if (st != NULL)
		db_bind_text(st, 1, fe);
	return count_of(s, st, n_r, "count held messages");
}

/* --- orders --- */

/* The front ends F that need a release order: none open, and messages
 * held in their queue not yet released. */
#define RELEASE_DUE \
	" WHERE NOT EXISTS (SELECT 1 FROM fe_orders o WHERE o.frontend = f.name" \
	" AND o.kind = 'release' AND o.state IN " OPEN_STATES ")" \
	" AND EXISTS (SELECT 1 FROM held_messages h WHERE h.frontend = f.name" \
	" AND h.gone = 0 AND h.released_at = 0)"

/* next_batch: a new batch number into *BATCH_R: NOW, or past the last. */
static int next_batch(struct store *s, long long now, long long *batch_r)
{
	long long last = 0;

	if (count_of(s, store_prepare(s, "SELECT coalesce(max(batch), 0) FROM fe_orders"), &last,
		     "last order batch") < 0)
		return STORE_ERR;
	*batch_r = now > last ? now : last + 1;
	return STORE_OK;
}

/* order_all: an order of KIND in BATCH for every registered front end
 * (ONLY_IDLE, for a release: RELEASE_DUE's only). */
static int order_all(struct store *s, long long batch, const char *kind, int only_idle,
		     long long now)
{
	struct db_stmt *st =
		only_idle ? store_prepare(s, "INSERT INTO fe_orders(frontend, batch, kind, created)"
					     " SELECT f.name, ?1, ?2, ?3 FROM frontends f" RELEASE_DUE)
			  : store_prepare(s, "INSERT INTO fe_orders(frontend, batch, kind, created)"
					     " SELECT f.name, ?1, ?2, ?3 FROM frontends f");

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, batch);
	db_bind_text(st, 2, kind);
	db_bind_int64(st, 3, now);
	return store_run(s, st, "write front end orders");
}

static int drain_body(struct store *s, size_t n, const char *const *phys, const long long *req,
		      long long now, long long *batch_r)
{
	struct db_stmt *st;

	if (next_batch(s, now, batch_r) < 0 || order_all(s, *batch_r, "drain", 0, now) < 0)
		return STORE_ERR;
	for (size_t i = 0; i < n; i++) {
		st = store_prepare(s, "INSERT INTO fe_batch_addrs(batch, request_id, physical)"
				      " VALUES(?1, ?2, ?3)");
		if (st == NULL)
			return STORE_ERR;
		db_bind_int64(st, 1, *batch_r);
		db_bind_int64(st, 2, req[i]);
		db_bind_text(st, 3, phys[i]);
		if (store_run(s, st, "write drain order address") < 0)
			return STORE_ERR;
	}
	return STORE_OK;
}

/* Both read the last batch and write orders while the front ends update
 * theirs: on PostgreSQL a serialization failure is likely under load
 * (bench/scale: a group of 500 addresses failed so), and the whole
 * transaction runs again (store_int.h). */
int store_fe_order_drain(struct store *s, size_t n, const char *const *phys,
			 const long long *req, long long now, long long *batch_r)
{
	int rc;

	STORE_OWN_RETRY(s, rc, drain_body(s, n, phys, req, now, batch_r));
	return rc;
}

static int release_body(struct store *s, long long now)
{
	long long batch;

	if (next_batch(s, now, &batch) < 0 || order_all(s, batch, "release", 1, now) < 0)
		return STORE_ERR;
	return STORE_OK;
}

int store_fe_order_release(struct store *s, long long now)
{
	long long due = 0;
	int rc;

	/* The pilot asks at every sweep: a read first, a write only when a
	 * front end needs an order. */
	if (count_of(s, store_prepare(s, "SELECT count(*) FROM frontends f" RELEASE_DUE),
		     &due, "front ends to release") < 0)
		return STORE_ERR;
	if (due == 0)
		return STORE_OK;
	STORE_OWN_RETRY(s, rc, release_body(s, now));
	return rc;
}

#define ORDER_COLS \
	"o.frontend, o.batch, o.kind, o.state, o.reason, o.created, o.started, o.finished," \
	" coalesce(f.last_seen, 0)"

static void read_order(struct db_stmt *st, struct fe_order *o)
{
	store_text(st, 0, o->frontend, sizeof(o->frontend));
	o->batch = db_column_int64(st, 1);
	store_text(st, 2, o->kind, sizeof(o->kind));
	store_text(st, 3, o->state, sizeof(o->state));
	store_text(st, 4, o->reason, sizeof(o->reason));
	o->created = db_column_int64(st, 5);
	o->started = db_column_int64(st, 6);
	o->finished = db_column_int64(st, 7);
	o->last_seen = db_column_int64(st, 8);
}

int store_fe_order_next(struct store *s, const char *fe, struct fe_order *o)
{
	struct db_stmt *st = store_prepare(
		s, "SELECT " ORDER_COLS " FROM fe_orders o LEFT JOIN frontends f"
		   " ON f.name = o.frontend WHERE o.frontend = ?1 AND o.state IN " OPEN_STATES
		   " ORDER BY o.batch LIMIT 1");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, fe);
	rc = db_step(st);
	if (rc == DB_ROW)
		read_order(st, o);
	if (db_reset(st) < 0)
		rc = DB_ERR;
	if (rc == DB_ROW)
		return STORE_OK;
	return rc == DB_DONE ? STORE_NOTFOUND : store_fail(s, "next front end order");
}

int store_fe_batch_addrs(struct store *s, long long batch, store_fe_addr_fn fn, void *ctx)
{
	struct db_stmt *st = store_prepare(s, "SELECT request_id, physical FROM fe_batch_addrs"
					    " WHERE batch = ?1 ORDER BY request_id, physical");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, batch);
	while ((rc = db_step(st)) == DB_ROW) {
		const char *phys = db_column_text(st, 1);

		if (fn(ctx, db_column_int64(st, 0), phys ? phys : "") != 0) {
			rc = DB_DONE;
			break;
		}
	}
	if (db_reset(st) < 0)
		rc = DB_ERR;
	return rc == DB_DONE ? STORE_OK : store_fail(s, "drain order addresses");
}

int store_fe_batch(struct store *s, long long batch, store_fe_order_fn fn, void *ctx)
{
	struct db_stmt *st = store_prepare(
		s, "SELECT " ORDER_COLS " FROM fe_orders o LEFT JOIN frontends f"
		   " ON f.name = o.frontend WHERE o.batch = ?1 ORDER BY o.frontend");
	struct fe_order o;
	int rc;

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, batch);
	while ((rc = db_step(st)) == DB_ROW) {
		read_order(st, &o);
		if (fn(ctx, &o) != 0) {
			rc = DB_DONE;
			break;
		}
	}
	if (db_reset(st) < 0)
		rc = DB_ERR;
	return rc == DB_DONE ? STORE_OK : store_fail(s, "front end orders");
}

int store_fe_order_state(struct store *s, const char *fe, long long batch, const char *state,
			 const char *reason, long long now)
{
	int running = strcmp(state, "running") == 0;
	struct db_stmt *st =
		running ? store_prepare(s, "UPDATE fe_orders SET state = ?3, reason = ?4,"
					   " started = ?5 WHERE frontend = ?1 AND batch = ?2")
			: store_prepare(s, "UPDATE fe_orders SET state = ?3, reason = ?4,"
					   " finished = ?5 WHERE frontend = ?1 AND batch = ?2");

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, fe);
	db_bind_int64(st, 2, batch);
	db_bind_text(st, 3, state);
	db_bind_text(st, 4, reason ? reason : "");
	db_bind_int64(st, 5, now);
	if (store_run(s, st, "front end order state") < 0)
		return STORE_ERR;
	return db_changes(store_dbh(s)) == 1 ? STORE_OK : STORE_NOTFOUND;
}

int store_fe_batch_cancel(struct store *s, long long batch, long long now)
{
	struct db_stmt *st = store_prepare(s, "UPDATE fe_orders SET state = 'cancelled', finished = ?2"
					    " WHERE batch = ?1 AND state IN " OPEN_STATES);

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, batch);
	db_bind_int64(st, 2, now);
	return store_run(s, st, "cancel front end orders");
}

int store_fe_prune(struct store *s, long long before)
{
	struct db_stmt *st;
	int own;

	if (store_own_begin(s, &own) < 0)
		return STORE_ERR;
	st = store_prepare(s, "DELETE FROM fe_orders WHERE state NOT IN " OPEN_STATES
			      " AND finished < ?1");
	if (st == NULL)
		return store_own_end(s, own, STORE_ERR);
	db_bind_int64(st, 1, before);
	if (store_run(s, st, "prune front end orders") < 0)
		return store_own_end(s, own, STORE_ERR);
	st = store_prepare(s, "DELETE FROM fe_batch_addrs WHERE NOT EXISTS"
			      " (SELECT 1 FROM fe_orders o WHERE o.batch = fe_batch_addrs.batch)");
	if (st == NULL)
		return store_own_end(s, own, STORE_ERR);
	return store_own_end(s, own, store_run(s, st, "prune drain order addresses"));
}
