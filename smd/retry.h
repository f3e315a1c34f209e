/*
 * retry - a temporary store error is not a failure.
 *
 * On a PostgreSQL store several workers and pilots write at once:
 * SERIALIZABLE transactions fail now and then with a serialization
 * failure or a deadlock, and a server restart drops every connection.
 * The store runs its own transactions again a few times (store_own_retry,
 * ~75 ms in all); what outlasts that (store_err_temporary) is "try again
 * shortly" to the master: the next poll claims again, the next renewal
 * renews, and a job's outcome is written again until it sticks.
 *
 * Contract: smd_temp_note() logs a temporary error of WHAT at most once
 * per SMD_TEMP_LOG_US (one line an outage, not one a poll) and returns 1;
 * a lasting error it returns 0 without logging (the caller's to log).
 * smd_job_finish() is store_smd_finish() that tries again on temporary
 * errors for up to SMD_FINISH_WAIT_US (a restarting server), logging
 * what it could not write; its result is store_smd_finish()'s.
 */
#ifndef FEDMIG_SMD_RETRY_H
#define FEDMIG_SMD_RETRY_H

#include "store.h"
#include "store_smd.h"

#define SMD_TEMP_LOG_US (60LL * 1000000)
#define SMD_FINISH_WAIT_US (30LL * 1000000)

struct smd_temp_log {
	long long last; /* monotonic µs of the last line, 0: none yet */
};

int smd_temp_note(struct smd_temp_log *t, const struct store *s, const char *what);
int smd_job_finish(struct store *s, struct smd_job_key key, int ok, const char *reason,
		   long long retry_at, long long now);

#endif
