/*
 * One pass over the requests for the status views (store_status.h). The
 * counts and hold windows come from the same store functions "fedmigctl
 * report" uses; the pass adds what only the status views need: the
 * batches, the switch times, the copy jobs' totals and ends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"
#include "store_int.h"
#include "store_smd.h"
#include "store_status.h"
#include "xalloc.h"

long long status_pct(const long long *v, size_t n, int p)
{
	if (n == 0)
		return 0;
	size_t i = (n * (size_t)p + 99) / 100;

	return v[i == 0 ? 0 : i - 1];
}

/* one_number: column 0 of ST's one row into *V_R. */
static int one_number(struct store *s, struct db_stmt *st, long long *v_r, const char *context)
{
	int rc = db_step(st);

	if (rc == DB_ROW)
		*v_r = db_column_int64(st, 0);
	db_reset(st);
	return rc == DB_ROW ? STORE_OK : store_fail(s, context);
}

int status_changed(struct store *s, long long batch, long long *last_r, long long *running_r)
{
	struct db_stmt *st = store_prepare(s, "SELECT coalesce(max(updated), 0) FROM requests"
					    " WHERE ?1 = 0 OR batch_id = ?1");

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, batch);
	if (one_number(s, st, last_r, "last change") < 0)
		return STORE_ERR;
	st = store_prepare(s, "SELECT count(*) FROM smd_jobs WHERE state = 1 AND kind = 0");
	if (st == NULL)
		return STORE_ERR;
	return one_number(s, st, running_r, "running copies");
}

const char *status_req_reason(struct store *s, const struct req *r, char *buf, size_t len)
{
	struct smd_status st;

	if (*r->reason)
		return r->reason;
	/* While fedmig-smd retries a copy, the pilot waits and keeps no
	 * reason of its own: the job's last failure is the one to show. */
	for (int back = 0; back < 2; back++) {
		if (store_smd_status(s, smd_key(r->id, back ? SMD_COPY_BACK : SMD_COPY), &st) != STORE_OK)
			continue;
		if (st.state == SMD_DONE || *st.reason == '\0')
			continue;
		snprintf(buf, len, "%s attempt %d failed%s: %s", back ? "copy back" : "copy",
			 st.attempts, st.state == SMD_FAILED ? " for good" : ", retrying",
			 st.reason);
		return buf;
	}
	return "";
}

const long long status_hold_bounds_ms[STATUS_HOLD_BUCKETS] = {100,  250,   500,   1000,  2500,
							      5000, 10000, 30000, 60000, 300000};

void status_hold_hist(const struct status_sum *sum, long long out[STATUS_HOLD_BUCKETS + 1])
{
	size_t i = 0;

	/* The windows are ascending: one walk fills every bucket. */
	for (int b = 0; b < STATUS_HOLD_BUCKETS; b++) {
		while (i < sum->nholds && sum->holds[i] <= status_hold_bounds_ms[b] * 1000)
			i++;
		out[b] = (long long)i;
	}
	out[STATUS_HOLD_BUCKETS] = (long long)sum->nholds;
}

int status_needs_attention(const struct req *r, const char *reason)
{
	return state_is_offline(r->state) || *reason != '\0';
}

struct pass {
	struct store *s;
	struct status_sum *sum;
	size_t cap_sw, cap_cp, cap_b;
	int err;
};

static struct status_batch *batch_of(struct pass *p, long long id)
{
	struct status_sum *sum = p->sum;

	/* Requests come by id, and batches are made in id order: the batch
	 * is nearly always the last one. */
	for (size_t i = sum->nbatches; i-- > 0;)
		if (sum->batches[i].id == id)
			return &sum->batches[i];
	if (sum->nbatches == p->cap_b) {
		p->cap_b = p->cap_b ? 2 * p->cap_b : 8;
		sum->batches = xrealloc(sum->batches, p->cap_b * sizeof(*sum->batches));
	}
	sum->batches[sum->nbatches] = (struct status_batch){id, 0, 0, 0, 0};
	return &sum->batches[sum->nbatches++];
}

static void add_copy(struct pass *p, const struct smd_status *job)
{
	struct status_sum *sum = p->sum;

	if (job->state >= SMD_QUEUED && job->state <= SMD_FAILED)
		sum->jobs[job->state]++;
	sum->msgs_done += job->msgs_done;
	sum->msgs_total += job->msgs_total;
	sum->bytes_done += job->bytes_done;
	sum->bytes_total += job->bytes_total;
	if (job->state != SMD_DONE || job->finished <= 0)
		return;
	if (sum->ncopies == p->cap_cp) {
		p->cap_cp = p->cap_cp ? 2 * p->cap_cp : 64;
		sum->copies = xrealloc(sum->copies, p->cap_cp * sizeof(*sum->copies));
	}
	sum->copies[sum->ncopies++] = (struct status_copy){job->finished, job->msgs_done,
							   job->bytes_done};
}

static int one_request(void *ctx, const struct req *r)
{
	struct pass *p = ctx;
	struct status_sum *sum = p->sum;
	struct status_batch *b = batch_of(p, r->batch_id);
	struct smd_status job;
	char why[REQ_REASON_MAX + 64];
	int rc;

	b->total++;
	b->settled += state_in(r->state, STATE_SETTLED);
	b->offline += state_is_offline(r->state);
	if (r->switch_at > 0) {
		b->switched++;
		if (sum->nswitches == p->cap_sw) {
			p->cap_sw = p->cap_sw ? 2 * p->cap_sw : 64;
			sum->switches = xrealloc(sum->switches, p->cap_sw * sizeof(long long));
		}
		sum->switches[sum->nswitches++] = r->switch_at;
	}
	if (r->updated > sum->last_change)
		sum->last_change = r->updated;
	if (status_needs_attention(r, status_req_reason(p->s, r, why, sizeof(why))))
		sum->attention++;
	rc = store_smd_status(p->s, smd_key(r->id, SMD_COPY), &job);
	if (rc == STORE_ERR) {
		p->err = 1;
		return -1;
	}
	if (rc == STORE_OK)
		add_copy(p, &job);
	return 0;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

static int cmp_copy(const void *a, const void *b)
{
	return cmp_ll(&((const struct status_copy *)a)->at, &((const struct status_copy *)b)->at);
}

int status_sum_load(struct store *s, long long batch, struct status_sum *sum)
{
	struct req_filter f = {-1, batch, NULL};
	struct pass p = {s, sum, 0, 0, 0, 0};

	memset(sum, 0, sizeof(*sum));
	sum->batch = batch;
	if (store_req_counts(s, batch, sum->counts) < 0 ||
	    store_req_hold_windows(s, batch, &sum->holds, &sum->nholds) < 0 ||
	    store_held_count_pending(s, &sum->held_pending) < 0 ||
	    store_req_each(s, &f, one_request, &p) < 0 || p.err) {
		status_sum_free(sum);
		return STORE_ERR;
	}
	for (int i = 0; i < STATE_SLOTS; i++)
		sum->total += sum->counts[i];
	if (sum->nswitches)
		qsort(sum->switches, sum->nswitches, sizeof(long long), cmp_ll);
	if (sum->ncopies)
		qsort(sum->copies, sum->ncopies, sizeof(*sum->copies), cmp_copy);
	return STORE_OK;
}

void status_sum_free(struct status_sum *sum)
{
	free(sum->holds);
	free(sum->switches);
	free(sum->copies);
	free(sum->batches);
	sum->holds = sum->switches = NULL;
	sum->copies = NULL;
	sum->batches = NULL;
	sum->nholds = sum->nswitches = sum->ncopies = sum->nbatches = 0;
}
