/*
 * fedmigctl's view of a request beyond its own row: the reason a copy
 * keeps failing (kept by the data mover, not the pilot) and the per-address
 * table of "fedmigctl report --addresses".
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "state.h"
#include "store_req.h"
#include "store_smd.h"

const char *ctl_req_reason(struct store *s, const struct req *r, char *buf, size_t len)
{
	struct smd_status st;

	if (*r->reason)
		return r->reason;
	/* While fedmig-smd retries a copy, the pilot waits and keeps no
	 * reason of its own: the job's last failure is the one to show. */
	for (int back = 0; back < 2; back++) {
		if (store_smd_status(s, back ? -r->id : r->id, &st) != STORE_OK)
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

struct states {
	FILE *fp;
	long long created;
	json_t *json; /* the "states" array, or NULL for text */
};

static int print_state(void *ctx, const struct req_hist *h)
{
	struct states *st = ctx;
	double secs = (double)(h->at - st->created) / 1e6;

	if (st->json)
		json_array_append_new(st->json, ctl_json_ok(json_pack("{s:i,s:f}", "state", h->to,
								      "after_s",
								      ctl_json_tenths(secs))));
	else
		fprintf(st->fp, " %d@%.1f", h->to, secs);
	return 0;
}

struct addr_table {
	FILE *fp;
	struct store *s;
	int json, first, err;
};

/* address_json: R's row for --json; its "states" array is filled after. */
static json_t *address_json(const struct req *r, const struct smd_status *job, int have_job,
			    double hold_ms)
{
	return ctl_json_ok(json_pack(
		"{s:I,s:o,s:s,s:o,s:o,s:o,s:[]}", "id", (json_int_t)r->id, "address",
		ctl_json_string(r->access), "state", state_name(r->state), "hold_ms",
		hold_ms < 0 ? json_null() : json_real(ctl_json_tenths(hold_ms)), "copied",
		have_job ? json_integer(job->msgs_done) : json_null(), "verified",
		have_job ? json_boolean(job->state == SMD_DONE) : json_null(), "states"));
}

static int address_row(void *ctx, const struct req *r)
{
	struct addr_table *t = ctx;
	struct smd_status job;
	int have_job = store_smd_status(t->s, r->id, &job) == STORE_OK;
	const char *verified = !have_job ? "-" : job.state == SMD_DONE ? "yes" : "no";
	struct states st = {t->fp, r->created, NULL};
	char hold[32] = "-", copied[32] = "-";
	double hold_ms = -1;
	json_t *row = NULL;

	if (r->hold_at > 0 && r->release_at > r->hold_at) {
		hold_ms = (double)(r->release_at - r->hold_at) / 1e3;
		snprintf(hold, sizeof(hold), "%.1f", hold_ms);
	}
	if (have_job)
		snprintf(copied, sizeof(copied), "%lld", job.msgs_done);
	if (t->json) {
		row = address_json(r, &job, have_job, hold_ms);
		st.json = json_object_get(row, "states");
		if (!t->first)
			fputc(',', t->fp);
	} else {
		if (t->first)
			fprintf(t->fp, "%-32s %-15s %9s %8s %8s  %s\n", "ADDRESS", "STATE",
				"HOLD ms", "COPIED", "VERIFIED", "STATES (state@seconds after submission)");
		fprintf(t->fp, "%-32s %-15s %9s %8s %8s ", r->access, state_name(r->state), hold,
			copied, verified);
	}
	t->first = 0;
	if (store_req_history(t->s, r->id, print_state, &st) < 0) {
		json_decref(row);
		t->err = 1;
		return -1;
	}
	if (row)
		ctl_json_put(t->fp, row);
	else
		fputc('\n', t->fp);
	return 0;
}

int ctl_report_addresses(struct store *s, long long batch, int json, FILE *fp)
{
	struct req_filter f = {-1, batch, NULL};
	struct addr_table t = {fp, s, json, 1, 0};

	if (json)
		fputs("\"addresses\":[", fp);
	if (store_req_each(s, &f, address_row, &t) < 0 || t.err)
		return -1;
	if (json)
		fputs("],", fp);
	return 0;
}
