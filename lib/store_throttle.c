#include <stdio.h>
#include <string.h>

#include "backoff.h"
#include "store_int.h"
#include "store_throttle.h"

#define THR_COLS \
	"system, in_use, max_sessions, level, refusals, waits, until, next_login, updated, reason"

static void thr_row(sqlite3_stmt *st, struct store_thr *r)
{
	store_text_sq(st, 0, r->system, sizeof(r->system));
	r->in_use = sqlite3_column_int64(st, 1);
	r->max_sessions = sqlite3_column_int64(st, 2);
	r->level = sqlite3_column_int64(st, 3);
	r->refusals = sqlite3_column_int64(st, 4);
	r->waits = sqlite3_column_int64(st, 5);
	r->until = sqlite3_column_int64(st, 6);
	r->next_login = sqlite3_column_int64(st, 7);
	r->updated = sqlite3_column_int64(st, 8);
	store_text_sq(st, 9, r->reason, sizeof(r->reason));
}

int store_thr_get(struct store *s, const char *system, struct store_thr *r)
{
	sqlite3_stmt *st = store_prepare_sq(s, "SELECT " THR_COLS " FROM smd_sources WHERE system = ?1");
	int rc;

	memset(r, 0, sizeof(*r));
	snprintf(r->system, sizeof(r->system), "%s", system);
	if (st == NULL)
		return STORE_ERR;
	sqlite3_bind_text(st, 1, system, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		thr_row(st, r);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail_sq(s, "read a source's throttling");
	return rc == SQLITE_ROW ? STORE_OK : STORE_NOTFOUND;
}

/* run_sys: ST with SYSTEM bound as ?1 and V as ?2, run to its end. */
static int run_sys(struct store *s, sqlite3_stmt *st, const char *system, long long v,
		   const char *context)
{
	if (st == NULL)
		return STORE_ERR;
	sqlite3_bind_text(st, 1, system, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, v);
	return store_run_sq(s, st, context);
}

/* ensure: SYSTEM's row exists (inside the caller's transaction). */
static int ensure(struct store *s, const char *system, long long now)
{
	return run_sys(s,
		       store_prepare_sq(s, "INSERT INTO smd_sources(system, updated) VALUES(?1, ?2)"
					" ON CONFLICT(system) DO NOTHING"),
		       system, now, "add a source's throttling");
}

/* begin_row: a write transaction (*MINE: our own) and SYSTEM's row in R,
 * made if need be; STORE_ERR with the transaction ended. */
static int begin_row(struct store *s, const char *system, long long now, struct store_thr *r,
		     int *mine)
{
	if (store_own_begin(s, mine) < 0)
		return STORE_ERR;
	if (ensure(s, system, now) < 0 || store_thr_get(s, system, r) < 0)
		return store_own_end(s, *mine, STORE_ERR);
	return STORE_OK;
}

int store_thr_refused(struct store *s, const char *system, long long now, long long first_us,
		      long long cap_us, int jitter, const char *reason, long long *until_r,
		      int *started_r)
{
	struct store_thr r;
	int mine;

	if (begin_row(s, system, now, &r, &mine) < 0)
		return STORE_ERR;
	long long d = backoff_delay_us(first_us, (int)(r.level < 60 ? r.level + 1 : 60), cap_us);

	d += d / 1000 * (jitter < 0 ? 0 : jitter > 1000 ? 1000 : jitter);
	*until_r = now + d > r.until ? now + d : r.until;
	*started_r = r.until <= now;
	sqlite3_stmt *st = store_prepare_sq(
		s, "UPDATE smd_sources SET level = level + 1, refusals = refusals + 1, until = ?2,"
		   " reason = ?3, updated = ?4 WHERE system = ?1");

	if (st == NULL)
		return store_own_end(s, mine, STORE_ERR);
	sqlite3_bind_text(st, 1, system, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, *until_r);
	sqlite3_bind_text(st, 3, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now);
	return store_own_end(s, mine, store_run_sq(s, st, "record a source's refusal"));
}

int store_thr_ok(struct store *s, const char *system, long long now, int *ended_r)
{
	*ended_r = 0;
	if (run_sys(s,
		    store_prepare_sq(s, "UPDATE smd_sources SET level = 0, until = 0, updated = ?2"
				     " WHERE system = ?1 AND level > 0"),
		    system, now, "end a source's back-off") < 0)
		return STORE_ERR;
	*ended_r = sqlite3_changes(store_db(s)) > 0;
	return STORE_OK;
}

int store_thr_login_at(struct store *s, const char *system, long long now, long long interval_us,
		       long long *at_r)
{
	struct store_thr r;
	int mine;

	if (begin_row(s, system, now, &r, &mine) < 0)
		return STORE_ERR;
	/* A reservation far ahead (a clock step back) is not waited for. */
	*at_r = r.next_login > now && r.next_login - now <= 60 * interval_us ? r.next_login : now;
	return store_own_end(
		s, mine,
		run_sys(s, store_prepare_sq(s, "UPDATE smd_sources SET next_login = ?2 WHERE system = ?1"),
			system, *at_r + interval_us, "reserve a source's login"));
}

int store_thr_sessions(struct store *s, const char *system, long long in_use, long long max,
		       int waited, long long now)
{
	sqlite3_stmt *st = store_prepare_sq(
		s, "INSERT INTO smd_sources(system, in_use, max_sessions, waits, updated)"
		   " VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(system) DO UPDATE SET"
		   " in_use = ?2, max_sessions = ?3, waits = waits + ?4, updated = ?5");

	if (st == NULL)
		return STORE_ERR;
	sqlite3_bind_text(st, 1, system, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, in_use);
	sqlite3_bind_int64(st, 3, max);
	sqlite3_bind_int(st, 4, waited != 0);
	sqlite3_bind_int64(st, 5, now);
	return store_run_sq(s, st, "record a source's sessions");
}

int store_thr_each(struct store *s, int (*cb)(void *ctx, const struct store_thr *r), void *ctx)
{
	sqlite3_stmt *st = store_prepare_sq(s, "SELECT " THR_COLS " FROM smd_sources ORDER BY system");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_thr r;

		thr_row(st, &r);
		if (cb(ctx, &r) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail_sq(s, "list the sources' throttling");
	return STORE_OK;
}
