/*
 * store_throttle - each source system's throttling state, shared by all
 * of fedmig-smd's children and read by fedmigctl (schema 12, table
 * smd_sources, one row per source system, made on first use).
 *
 * The back-off: a refusal (NO [LIMIT], [UNAVAILABLE], BYE or a refused
 * connection at or right after login) raises the level by one and sets
 * "until" to now + DELAY (the caller's, jitter included) unless a later
 * "until" is already set by another child; a successful login clears it.
 * The rate cap: each new session reserves the next login instant, spaced
 * INTERVAL apart, in one write transaction, so that children never take
 * the same instant. Sessions in use are the count the children record at
 * each take and release of a slot (smd/throttle.h): a child killed with
 * KILL leaves it one too high until the next take or release.
 *
 * Contract: every function returns STORE_OK or STORE_ERR (message in
 * store_errmsg); times are µs since the epoch; SYSTEM is a configured
 * system name (bound as a parameter, never in SQL text).
 */
#ifndef FEDMIG_STORE_THROTTLE_H
#define FEDMIG_STORE_THROTTLE_H

#include "store.h"

struct store_thr {
	char system[128];
	long long in_use, max_sessions, level, refusals, waits;
	long long until, next_login, updated;
	char reason[256];
};

/* store_thr_get: SYSTEM's row, or all zero (and STORE_NOTFOUND) without one. */
int store_thr_get(struct store *s, const char *system, struct store_thr *r);
/*
 * store_thr_refused: count a refusal (REASON) and back off from NOW for
 * backoff_delay_us(FIRST_US, refusals in a row, CAP_US), plus JITTER
 * thousandths of it (0..1000). *UNTIL_R gets the back-off's end;
 * *STARTED_R 1 when no back-off was running (the caller logs its start).
 */
int store_thr_refused(struct store *s, const char *system, long long now, long long first_us,
		      long long cap_us, int jitter, const char *reason, long long *until_r,
		      int *started_r);
/* store_thr_ok: a login succeeded: *ENDED_R 1 when that ended a back-off. */
int store_thr_ok(struct store *s, const char *system, long long now, int *ended_r);
/* store_thr_login_at: reserve SYSTEM's next login instant into *AT_R. */
int store_thr_login_at(struct store *s, const char *system, long long now, long long interval_us,
		       long long *at_r);
/* store_thr_sessions: sessions in use and the limit; WAITED counts a wait. */
int store_thr_sessions(struct store *s, const char *system, long long in_use, long long max,
		       int waited, long long now);
/* store_thr_each: every source's row, by name; CB returning non-zero stops. */
int store_thr_each(struct store *s, int (*cb)(void *ctx, const struct store_thr *r), void *ctx);

#endif
