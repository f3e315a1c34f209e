/*
 * store_status - what the status page, /metrics and "fedmigctl top" show,
 * read from the store in one pass, with the functions "fedmigctl report"
 * uses (store_req_counts, store_req_hold_windows, status_pct,
 * status_req_reason), so that every view shows the same numbers.
 *
 * Contract: status_sum_load() fills SUM for BATCH (0: every batch) or
 * returns STORE_ERR (store_errmsg() says why) with SUM freed; nothing is
 * guessed from a failed read. status_sum_free() frees what it holds and
 * may be called twice.
 */
#ifndef FEDMIG_STORE_STATUS_H
#define FEDMIG_STORE_STATUS_H

#include <stddef.h>

#include "store.h"
#include "store_req.h"

struct status_batch {
	long long id;
	long long total, settled, offline, switched; /* requests; settled: complete or final */
};

/* A copy job that ended: its messages and bytes at its end (µs). */
struct status_copy {
	long long at, msgs, bytes;
};

struct status_sum {
	long long batch;
	long long counts[STATE_SLOTS], total;
	long long *holds;	 /* hold windows, µs, ascending */
	size_t nholds;
	long long *switches;	 /* switch_at, µs, ascending */
	size_t nswitches;
	struct status_copy *copies; /* finished copy jobs, by end time */
	size_t ncopies;
	long long msgs_done, msgs_total, bytes_done, bytes_total;
	long long jobs[4];	 /* copy jobs per smd_job_state */
	long long held_pending;	 /* messages held, not yet gone */
	long long attention;	 /* requests off-line or with a failure reason */
	struct status_batch *batches; /* by id */
	size_t nbatches;
	long long last_change; /* the latest "updated" of a request, µs */
};

int status_sum_load(struct store *s, long long batch, struct status_sum *sum);
void status_sum_free(struct status_sum *sum);

/* status_changed: the latest "updated" of BATCH's requests (0: every
 * batch) in *LAST_R and the copy jobs running in *RUNNING_R: two indexed
 * reads, so that a poll with nothing new costs no pass. */
int status_changed(struct store *s, long long batch, long long *last_r, long long *running_r);

/* status_pct: the P-th percentile of V (N values, ascending), nearest
 * rank; 0 when N is 0. */
long long status_pct(const long long *v, size_t n, int p);

/* status_req_reason: why R is not moving on: its own reason, else the
 * last failure of its copy (or copy back) while fedmig-smd retries it;
 * "" when none. May format into BUF (LEN bytes). */
const char *status_req_reason(struct store *s, const struct req *r, char *buf, size_t len);

/* status_needs_attention: R is off-line or has a failure REASON. */
int status_needs_attention(const struct req *r, const char *reason);

/* The hold-window histogram's upper bounds in ms (then +Inf), shared by
 * the status page, /metrics and fedmigctl top; status_hold_hist: the cumulative
 * counts of SUM's hold windows, STATUS_HOLD_BUCKETS + 1 of them. */
#define STATUS_HOLD_BUCKETS 10
extern const long long status_hold_bounds_ms[STATUS_HOLD_BUCKETS];
void status_hold_hist(const struct status_sum *sum, long long out[STATUS_HOLD_BUCKETS + 1]);

#endif
