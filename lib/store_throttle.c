#include <stdio.h>
#include <string.h>

#include "backoff.h"
#include "store_int.h"
#include "store_throttle.h"

#define THR_COLS \
	"system, in_use, max_sessions, level, refusals, waits, until, next_login, updated, reason"

static void thr_row(struct db_stmt *st, struct store_thr *r)
{
	store_text(st, 0, r->system, sizeof(r->system));
	r->in_use = db_column_int64(st, 1);
	r->max_sessions = db_column_int64(st, 2);
	r->level = db_column_int64(st, 3);
	r->refusals = db_column_int64(st, 4);
	r->waits = db_column_int64(st, 5);
	r->until = db_column_int64(st, 6);
	r->next_login = db_column_int64(st, 7);
	r->updated = db_column_int64(st, 8);
	store_text(st, 9, r->reason, sizeof(r->reason));
}

int store_thr_get(struct store *s, const char *system, struct store_thr *r)
{
	struct db_stmt *st = store_prepare(s, "SELECT " THR_COLS " FROM smd_sources WHERE system = ?1");
	int rc;

	memset(r, 0, sizeof(*r));
	snprintf(r->system, sizeof(r->system), "%s", system);
	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, system);
	rc = db_step(st);
	if (rc == DB_ROW)
		thr_row(st, r);
	db_reset(st);
	if (rc != DB_ROW && rc != DB_DONE)
		return store_fail(s, "read a source's throttling");
	return rc == DB_ROW ? STORE_OK : STORE_NOTFOUND;
}

/* run_sys: ST with SYSTEM bound as ?1 and V as ?2, run to its end. */
static int run_sys(struct store *s, struct db_stmt *st, const char *system, long long v,
		   const char *context)
{
	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, system);
	db_bind_int64(st, 2, v);
	return store_run(s, st, context);
}

/* ensure: SYSTEM's row exists (inside the caller's transaction). */
static int ensure(struct store *s, const char *system, long long now)
{
	return run_sys(s,
		       store_prepare(s, "INSERT INTO smd_sources(system, updated) VALUES(?1, ?2)"
					" ON CONFLICT(system) DO NOTHING"),
		       system, now, "add a source's throttling");
}

/* row: SYSTEM's row in R, made if need be; in a write transaction. */
static int row(struct store *s, const char *system, long long now, struct store_thr *r)
{
	if (ensure(s, system, now) < 0 || store_thr_get(s, system, r) < 0)
		return STORE_ERR;
	return STORE_OK;
}

static int refused_body(struct store *s, const char *system, long long now, long long first_us,
			long long cap_us, int jitter, const char *reason, long long *until_r,
			int *started_r)
{
	struct store_thr r;

	if (row(s, system, now, &r) < 0)
		return STORE_ERR;
	long long d = backoff_delay_us(first_us, (int)(r.level < 60 ? r.level + 1 : 60), cap_us);

	d += d / 1000 * (jitter < 0 ? 0 : jitter > 1000 ? 1000 : jitter);
	*until_r = now + d > r.until ? now + d : r.until;
	*started_r = r.until <= now;
	struct db_stmt *st = store_prepare(
		s, "UPDATE smd_sources SET level = level + 1, refusals = refusals + 1, until = ?2,"
		   " reason = ?3, updated = ?4 WHERE system = ?1");

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, system);
	db_bind_int64(st, 2, *until_r);
	db_bind_text(st, 3, reason);
	db_bind_int64(st, 4, now);
	return store_run(s, st, "record a source's refusal");
}

int store_thr_refused(struct store *s, const char *system, long long now, long long first_us,
		      long long cap_us, int jitter, const char *reason, long long *until_r,
		      int *started_r)
{
	int rc;

	STORE_OWN_RETRY(s, rc,
			refused_body(s, system, now, first_us, cap_us, jitter, reason, until_r,
				     started_r));
	return rc;
}

int store_thr_ok(struct store *s, const char *system, long long now, int *ended_r)
{
	*ended_r = 0;
	if (run_sys(s,
		    store_prepare(s, "UPDATE smd_sources SET level = 0, until = 0, updated = ?2"
				     " WHERE system = ?1 AND level > 0"),
		    system, now, "end a source's back-off") < 0)
		return STORE_ERR;
	*ended_r = db_changes(store_dbh(s)) > 0;
	return STORE_OK;
}

static int login_body(struct store *s, const char *system, long long now, long long interval_us,
		      long long *at_r)
{
	struct store_thr r;

	if (row(s, system, now, &r) < 0)
		return STORE_ERR;
	/* A reservation far ahead (a clock step back) is not waited for. */
	*at_r = r.next_login > now && r.next_login - now <= 60 * interval_us ? r.next_login : now;
	return run_sys(s, store_prepare(s, "UPDATE smd_sources SET next_login = ?2 WHERE system = ?1"),
		       system, *at_r + interval_us, "reserve a source's login");
}

int store_thr_login_at(struct store *s, const char *system, long long now, long long interval_us,
		       long long *at_r)
{
	int rc;

	STORE_OWN_RETRY(s, rc, login_body(s, system, now, interval_us, at_r));
	return rc;
}

int store_thr_sessions(struct store *s, const char *system, long long in_use, long long max,
		       int waited, long long now)
{
	struct db_stmt *st = store_prepare(
		s, "INSERT INTO smd_sources(system, in_use, max_sessions, waits, updated)"
		   " VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(system) DO UPDATE SET"
		   " in_use = ?2, max_sessions = ?3, waits = smd_sources.waits + ?4,"
		   " updated = ?5");

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, system);
	db_bind_int64(st, 2, in_use);
	db_bind_int64(st, 3, max);
	db_bind_int64(st, 4, waited != 0);
	db_bind_int64(st, 5, now);
	return store_run(s, st, "record a source's sessions");
}

int store_thr_each(struct store *s, int (*cb)(void *ctx, const struct store_thr *r), void *ctx)
{
	struct db_stmt *st = store_prepare(s, "SELECT " THR_COLS " FROM smd_sources ORDER BY system");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	while ((rc = db_step(st)) == DB_ROW) {
		struct store_thr r;

		thr_row(st, &r);
		if (cb(ctx, &r) != 0) {
			rc = DB_DONE;
			break;
		}
	}
	db_reset(st);
	if (rc != DB_DONE)
		return store_fail(s, "list the sources' throttling");
	return STORE_OK;
}
