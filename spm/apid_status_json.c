/*
 * The body of GET /status.json (apid_status.h, fedmig-apid(8) lists its
 * members). Numbers as "fedmigctl report" computes them: the state
 * counts, hold windows and failure reasons come from lib/store_status.h;
 * an address row has the columns of "fedmigctl report --addresses".
 * Times are ms since the epoch, UTC, for the page's script.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "apid_status.h"
#include "state.h"
#include "store_smd.h"

/* str: S as a JSON string; a byte of invalid UTF-8 (a reason may quote
 * anything a server said) makes every byte outside ASCII a '?'. */
static json_t *str(const char *s)
{
	json_t *j = json_string(s);
	char *copy;

	if (j)
		return j;
	copy = strdup(s);
	if (copy == NULL)
		return NULL;
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

static double tenths(double x)
{
	return (double)(long long)(x * 10 + (x < 0 ? -0.5 : 0.5)) / 10;
}

static json_t *hold_json(const struct status_sum *sum)
{
	long long hist[STATUS_HOLD_BUCKETS + 1];
	json_t *buckets = json_array();

	status_hold_hist(sum, hist);
	for (int b = 0; b <= STATUS_HOLD_BUCKETS; b++)
		json_array_append_new(buckets,
				      json_pack("{s:o,s:I}", "le_ms",
						b < STATUS_HOLD_BUCKETS
							? json_integer(status_hold_bounds_ms[b])
							: json_null(),
						"count", (json_int_t)hist[b]));
	return json_pack("{s:I,s:f,s:f,s:f,s:o}", "count", (json_int_t)sum->nholds, "p50_ms",
			 tenths(status_pct(sum->holds, sum->nholds, 50) / 1e3), "p99_ms",
			 tenths(status_pct(sum->holds, sum->nholds, 99) / 1e3), "max_ms",
			 tenths(sum->nholds ? sum->holds[sum->nholds - 1] / 1e3 : 0.0), "buckets",
			 buckets);
}

/* series: VALUES at times AT (µs, ascending, N, STRIDE bytes apart) summed
 * into STATUS_BINS bins from the first to NOW. */
static json_t *series(const long long *at, size_t stride, const long long *values, size_t n,
		      long long now)
{
	long long start = n ? *at / 1000 : now / 1000, end = now / 1000, bins[STATUS_BINS] = {0};
	json_t *counts = json_array();

	/* A time after NOW (another host's clock) widens the range. */
	if (n) {
		long long last = *(const long long *)((const char *)at + (n - 1) * stride) / 1000;

		end = last > end ? last : end;
	}
	long long step = (end - start) / STATUS_BINS + 1;

	for (size_t i = 0; i < n; i++) {
		long long t = *(const long long *)((const char *)at + i * stride) / 1000;
		long long b = (t - start) / step;

		bins[b < 0 ? 0 : b >= STATUS_BINS ? STATUS_BINS - 1 : b] +=
			values ? *(const long long *)((const char *)values + i * stride) : 1;
	}
	for (int b = 0; b < STATUS_BINS; b++)
		json_array_append_new(counts, json_integer(bins[b]));
	return json_pack("{s:I,s:I,s:o}", "start_ms", (json_int_t)start, "step_ms",
			 (json_int_t)step, "counts", counts);
}

static json_t *states_json(const long long *counts)
{
	json_t *o = json_object();

	for (int i = 0; i < STATE_SLOTS; i++)
		if (counts[i])
			json_object_set_new(o, state_name(i), json_integer(counts[i]));
	return o;
}

static json_t *batches_json(const struct status_sum *sum)
{
	json_t *a = json_array();

	for (size_t i = 0; i < sum->nbatches; i++) {
		const struct status_batch *b = &sum->batches[i];

		json_array_append_new(a, json_pack("{s:I,s:I,s:I,s:I,s:I}", "id", (json_int_t)b->id,
						   "requests", (json_int_t)b->total, "settled",
						   (json_int_t)b->settled, "offline",
						   (json_int_t)b->offline, "switched",
						   (json_int_t)b->switched));
	}
	return a;
}

static json_t *copy_json(const struct status_sum *sum)
{
	return json_pack("{s:I,s:I,s:I,s:I,s:{s:I,s:I,s:I,s:I}}", "messages_done",
			 (json_int_t)sum->msgs_done, "messages_total", (json_int_t)sum->msgs_total,
			 "bytes_done", (json_int_t)sum->bytes_done, "bytes_total",
			 (json_int_t)sum->bytes_total, "jobs", "queued",
			 (json_int_t)sum->jobs[SMD_QUEUED], "running",
			 (json_int_t)sum->jobs[SMD_RUNNING], "done", (json_int_t)sum->jobs[SMD_DONE],
			 "failed", (json_int_t)sum->jobs[SMD_FAILED]);
}

/* summary_json: SUM's members, the top of the body. */
static json_t *summary_json(const struct status_sum *sum, long long now)
{
	return json_pack("{s:I,s:I,s:I,s:I,s:o,s:o,s:o,s:I,s:I,s:o,s:o,s:o}", "now_ms",
			 (json_int_t)(now / 1000), "last_change_us",
			 (json_int_t)sum->last_change, "batch", (json_int_t)sum->batch,
			 "requests", (json_int_t)sum->total, "states", states_json(sum->counts),
			 "hold_windows", hold_json(sum), "copy", copy_json(sum), "held_messages",
			 (json_int_t)sum->held_pending, "attention", (json_int_t)sum->attention,
			 "batches", batches_json(sum), "switches",
			 series(sum->switches, sizeof(long long), NULL, sum->nswitches, now),
			 "copied",
			 sum->ncopies ? series(&sum->copies[0].at, sizeof(*sum->copies),
					       &sum->copies[0].msgs, sum->ncopies, now)
				      : series(NULL, 0, NULL, 0, now));
}

/* --- the address table, the failures --- */

struct rows {
	struct store *s;
	const struct status_query *q;
	json_t *rows, *failures;
	long long matching;
	int err;
};

/* address_row: R as "fedmigctl report --addresses" shows it. */
static int address_row(struct rows *t, const struct req *r)
{
	struct smd_status job;
	int rc = store_smd_status(t->s, smd_key(r->id, SMD_COPY), &job);
	int released = r->hold_at > 0 && r->release_at > r->hold_at;

	if (rc == STORE_ERR)
		return -1;
	json_array_append_new(
		t->rows,
		json_pack("{s:I,s:o,s:s,s:I,s:o,s:o,s:o,s:I}", "id", (json_int_t)r->id, "address",
			  str(r->access), "state", state_name(r->state), "batch", (json_int_t)r->batch_id,
			  "hold_ms",
			  released ? json_real(tenths((r->release_at - r->hold_at) / 1e3))
				   : json_null(),
			  "copied", rc == STORE_OK ? json_integer(job.msgs_done) : json_null(),
			  "verified", rc == STORE_OK ? json_boolean(job.state == SMD_DONE) : json_null(),
			  "updated_ms", (json_int_t)(r->updated / 1000)));
	return 0;
}

static int one_row(void *ctx, const struct req *r)
{
	struct rows *t = ctx;
	long long first = (long long)t->q->page * t->q->per_page;
	char why[REQ_REASON_MAX + 64];
	const char *reason = status_req_reason(t->s, r, why, sizeof(why));

	if (status_needs_attention(r, reason) && json_array_size(t->failures) < STATUS_FAILURES_MAX)
		json_array_append_new(t->failures,
				      json_pack("{s:I,s:o,s:s,s:o}", "id", (json_int_t)r->id,
						"address", str(r->access), "state",
						state_name(r->state), "reason", str(reason)));
	if (*t->q->search && strcasestr(r->access, t->q->search) == NULL)
		return 0;
	if (t->matching >= first && t->matching < first + t->q->per_page &&
	    address_row(t, r) < 0) {
		t->err = 1;
		return -1;
	}
	t->matching++;
	return 0;
}

static int rows_json(struct store *s, const struct status_query *q, json_t *o)
{
	struct req_filter f = {-1, q->batch, NULL};
	struct rows t = {s, q, json_array(), json_array(), 0, 0};

	if (store_req_each(s, &f, one_row, &t) < 0 || t.err) {
		json_decref(t.rows);
		json_decref(t.failures);
		return -1;
	}
	json_object_set_new(o, "failures", t.failures);
	json_object_set_new(o, "addresses",
			    json_pack("{s:I,s:i,s:i,s:o,s:o}", "matching", (json_int_t)t.matching,
				      "page", q->page, "per_page", q->per_page, "search", str(q->search),
				      "rows", t.rows));
	return 0;
}

/* --- one request in detail --- */

static int hist_row(void *ctx, const struct req_hist *h)
{
	json_array_append_new(ctx, json_pack("{s:I,s:o,s:s,s:o,s:o}", "at_ms",
					     (json_int_t)(h->at / 1000), "from",
					     h->from < 0 ? json_null() : json_string(state_name(h->from)),
					     "to", state_name(h->to), "step", str(h->step), "detail",
					     str(h->detail)));
	return 0;
}

static json_t *detail_json(struct store *s, long long id, long long now)
{
	struct req r;
	char why[REQ_REASON_MAX + 64];
	int rc = store_req_get(s, id, &r);
	json_t *hist;

	if (rc == STORE_NOTFOUND)
		return json_pack("{s:I,s:I,s:n}", "now_ms", (json_int_t)(now / 1000), "request",
				 (json_int_t)id, "detail");
	if (rc != STORE_OK || store_req_history(s, id, hist_row, hist = json_array()) < 0) {
		if (rc == STORE_OK)
			json_decref(hist);
		return NULL;
	}
	return json_pack("{s:I,s:I,s:{s:o,s:s,s:I,s:o,s:o,s:o,s:o}}", "now_ms",
			 (json_int_t)(now / 1000), "request", (json_int_t)id, "detail", "address",
			 str(r.access), "state", state_name(r.state), "batch", (json_int_t)r.batch_id,
			 "reason", str(status_req_reason(s, &r, why, sizeof(why))), "source",
			 str(r.source_system), "target", str(r.target_system), "history", hist);
}

json_t *status_json(struct store *s, const struct status_query *q, long long now)
{
	struct status_sum sum;
	long long last, running, held;
	json_t *o;

	if (q->request > 0)
		return detail_json(s, q->request, now);
	/* Nothing changed since the page's last answer: a few bytes and no
	 * pass. A copy running changes its counters without its request,
	 * and held messages leave the queue after it: answered in full. */
	if (q->since > 0) {
		if (status_changed(s, q->batch, &last, &running) < 0 ||
		    store_held_count_pending(s, &held) < 0)
			return NULL;
		if (last <= q->since && running == 0 && held == 0)
			return json_pack("{s:I,s:I,s:b}", "now_ms", (json_int_t)(now / 1000),
					 "last_change_us", (json_int_t)last, "unchanged", 1);
	}
	if (status_sum_load(s, q->batch, &sum) < 0)
		return NULL;
	o = summary_json(&sum, now);
	status_sum_free(&sum);
	if (o && rows_json(s, q, o) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}
