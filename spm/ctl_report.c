/*
 * fedmigctl's view of a request beyond its own row: the reason a copy
 * keeps failing (kept by the data mover, not the pilot), the data mover's
 * jobs, and "fedmigctl report" with its per-address table (--addresses).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "addr.h"
#include "state.h"
#include "store_pim.h"
#include "store_req.h"
#include "store_smd.h"
#include "store_status.h"

/* One implementation for fedmigctl and the status views: store_status.h. */
const char *ctl_req_reason(struct store *s, const struct req *r, char *buf, size_t len)
{
	return status_req_reason(s, r, buf, len);
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
	int have_job = store_smd_status(t->s, smd_key(r->id, SMD_COPY), &job) == STORE_OK;
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

/* --- the data mover's jobs --- */

static const char *smd_state_name(enum smd_job_state st)
{
	switch (st) {
	case SMD_QUEUED:
		return "queued";
	case SMD_RUNNING:
		return "running";
	case SMD_DONE:
		return "done";
	case SMD_FAILED:
		return "failed";
	}
	return "unknown";
}

/* done_of: "N" or "N/M" when the data mover knows the total. */
static const char *done_of(long long done, long long total, char buf[64])
{
	if (total > 0)
		snprintf(buf, 64, "%lld/%lld", done, total);
	else
		snprintf(buf, 64, "%lld", done);
	return buf;
}

int ctl_copy_line(struct store *s, struct smd_job_key key, const char *label, char *buf,
		  size_t len)
{
	struct smd_status st;
	char f[64], m[64], b[64], lab[32];

	if (store_smd_status(s, key, &st) != STORE_OK)
		return -1;
	snprintf(lab, sizeof(lab), "%s:", label);
	int n = snprintf(buf, len, "%-10s %s, folders %s, messages %s, bytes %s", lab,
			 smd_state_name(st.state), done_of(st.folders_done, st.folders_total, f),
			 done_of(st.msgs_done, st.msgs_total, m),
			 done_of(st.bytes_done, st.bytes_total, b));

	if (n > 0 && (size_t)n < len && st.attempts > 1)
		n += snprintf(buf + n, len - (size_t)n, ", attempt %d", st.attempts);
	if (n > 0 && (size_t)n < len && *st.reason) {
		char shown[1024];

		/* For a terminal: the reason may quote an IMAP server. */
		snprintf(buf + n, len - (size_t)n, ": %s",
			 addr_show(st.reason, strlen(st.reason), shown, sizeof(shown)));
	}
	return 0;
}

json_t *ctl_job_json(json_t *o, const char *state_key, const struct smd_status *st)
{
	json_t *job = ctl_json_ok(json_pack(
		"{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:i,s:o}", state_key, smd_state_name(st->state),
		"folders_done", (json_int_t)st->folders_done, "folders_total",
		(json_int_t)st->folders_total, "messages_done", (json_int_t)st->msgs_done,
		"messages_total", (json_int_t)st->msgs_total, "bytes_done",
		(json_int_t)st->bytes_done, "bytes_total", (json_int_t)st->bytes_total, "attempts",
		st->attempts, "reason", ctl_json_string(st->reason)));

	if (json_object_update(ctl_json_ok(o), job) < 0)
		ctl_json_ok(NULL);
	json_decref(job);
	return o;
}

/* --- report --- */

struct failures {
	struct store *s;
	int first;
	int json;
};

static int report_failure(void *ctx, const struct req *r)
{
	struct failures *f = ctx;
	char why[REQ_REASON_MAX + 64];
	const char *reason = ctl_req_reason(f->s, r, why, sizeof(why));

	if (!state_is_offline(r->state) && *reason == '\0')
		return 0;
	if (f->json) {
		if (!f->first)
			putchar(',');
		ctl_json_put(stdout, json_pack("{s:I,s:o,s:s,s:o}", "id", (json_int_t)r->id,
					       "address", ctl_json_string(r->access), "state",
					       state_name(r->state), "reason",
					       ctl_json_string(reason)));
	} else {
		if (f->first)
			printf("failures and retries:\n");
		char shown[4 * sizeof(why)];

		printf("  %-32s %-15s %s\n", r->access, state_name(r->state),
		       addr_show(reason, strlen(reason), shown, sizeof(shown)));
	}
	f->first = 0;
	return 0;
}

static const char *const pim_state_word[4] = {"not synced", "done", "failed", "held"};

struct copies {
	struct store *s;
	int first;
	int json;
};

/* report_copy: the data mover's progress of a request in 7 or 8. */
static int report_copy(void *ctx, const struct req *r)
{
	struct copies *c = ctx;
	struct smd_status st;
	char line[1024];

	if (r->state != ST_COPYING && r->state != ST_COPIED)
		return 0;
	int pim_state = 0;
	long long pim_items = 0;

	if (store_pim_job_get(c->s, r->id, SMD_COPY, &pim_state, &pim_items) == STORE_ERR)
		pim_state = 0;
	if (c->json) {
		if (store_smd_status(c->s, smd_key(r->id, SMD_COPY), &st) != STORE_OK)
			return 0;
		json_t *o = ctl_json_ok(json_pack("{s:I,s:o,s:s}", "id", (json_int_t)r->id,
						  "address", ctl_json_string(r->access), "state",
						  state_name(r->state)));

		/* "state" is the request's here, the job's is "copy". */
		ctl_job_json(o, "copy", &st);
		if (pim_state > 0 && pim_state < 4) {
			json_object_set_new(o, "pim", json_string(pim_state_word[pim_state]));
			json_object_set_new(o, "pim_items", json_integer(pim_items));
		}
		if (!c->first)
			putchar(',');
		ctl_json_put(stdout, o);
	} else {
		if (ctl_copy_line(c->s, smd_key(r->id, SMD_COPY), "copy", line, sizeof(line)) < 0)
			return 0;
		if (c->first)
			printf("copies:\n");
		printf("  %-32s %-15s %s", r->access, state_name(r->state), line);
		if (pim_state > 0 && pim_state < 4)
			printf("; contacts and calendars %s, items %lld", pim_state_word[pim_state],
			       pim_items);
		putchar('\n');
	}
	c->first = 0;
	return 0;
}

struct counts_print {
	const long long *counts;
	json_t *json; /* the "states" object, or NULL for text */
};

static void print_count(void *ctx, int state)
{
	struct counts_print *c = ctx;

	if (state >= STATE_SLOTS || c->counts[state] == 0)
		return;
	if (c->json)
		json_object_set_new(c->json, state_name(state), json_integer(c->counts[state]));
	else
		printf("  %-15s %lld\n", state_name(state), c->counts[state]);
}

/* report_catchup: the batch's catch-up times, p50/p95/max. */
static void report_catchup(const long long *v, size_t n, int json)
{
	if (json) {
		printf("\"catchup\":");
		ctl_json_put(stdout, json_pack("{s:I,s:f,s:f,s:f}", "count",
					       (json_int_t)n, "p50_s", ctl_json_tenths(status_pct(v, n, 50) / 1e3),
					       "p95_s", ctl_json_tenths(status_pct(v, n, 95) / 1e3), "max_s",
					       ctl_json_tenths(n ? v[n - 1] / 1e3 : 0.0)));
		return;
	}
	printf("catch-up: %zu mailboxes, p50 %.1f s, p95 %.1f s, max %.1f s\n", n,
	       status_pct(v, n, 50) / 1e3, status_pct(v, n, 95) / 1e3, n ? v[n - 1] / 1e3 : 0.0);
}

int ctl_report(struct ctl *ctl, long long batch, int addresses)
{
	long long counts[STATE_SLOTS], *w = NULL, *cu = NULL, total = 0;
	struct store *s;
	size_t n = 0, ncu = 0;

	s = ctl_store(ctl);
	if (store_req_counts(s, batch, counts) < 0 || store_req_hold_windows(s, batch, &w, &n) < 0 ||
	    store_req_catchups(s, batch, &cu, &ncu) < 0) {
		free(w);
		fprintf(stderr, "fedmigctl: %s\n", store_errmsg(s));
		return 1;
	}
	for (int i = 0; i < STATE_SLOTS; i++)
		total += counts[i];
	struct counts_print cp = {counts, NULL};
	struct failures f = {s, 1, ctl->json};
	struct req_filter filt = {-1, batch, NULL};

	if (ctl->json) {
		cp.json = ctl_json_ok(json_object());
		state_each(print_count, &cp);
		/* Open: the per-request arrays are streamed after it. */
		ctl_json_put_open(stdout,
				  json_pack("{s:I,s:I,s:o,s:{s:I,s:f,s:f,s:f}}", "batch",
					    (json_int_t)batch, "requests", (json_int_t)total, "states",
					    cp.json, "hold_windows", "count", (json_int_t)n, "p50_ms",
					    ctl_json_tenths(status_pct(w, n, 50) / 1e3), "p99_ms",
					    ctl_json_tenths(status_pct(w, n, 99) / 1e3), "max_ms",
					    ctl_json_tenths(n ? w[n - 1] / 1e3 : 0.0)));
		putchar(',');
	} else {
		if (batch)
			printf("batch %lld: %lld requests\n", batch, total);
		else
			printf("%lld requests\n", total);
		state_each(print_count, &cp);
		printf("hold windows: %zu switches, p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", n,
		       status_pct(w, n, 50) / 1e3, status_pct(w, n, 99) / 1e3, n ? w[n - 1] / 1e3 : 0.0);
	}
	free(w);
	report_catchup(cu, ncu, ctl->json);
	free(cu);
	if (ctl->json)
		putchar(',');
	if (ctl_report_catchups(s, batch, ctl->json) < 0) {
		fprintf(stderr, "fedmigctl: %s\n", store_errmsg(s));
		return 1;
	}
	if (addresses && ctl_report_addresses(s, batch, ctl->json, stdout) < 0) {
		fprintf(stderr, "fedmigctl: %s\n", store_errmsg(s));
		return 1;
	}
	struct copies cc = {s, 1, ctl->json};

	if (ctl->json)
		printf("\"copies\":[");
	if (store_req_each(s, &filt, report_copy, &cc) < 0) {
		fprintf(stderr, "fedmigctl: %s\n", store_errmsg(s));
		return 1;
	}
	if (ctl->json)
		printf("],\"failures\":[");
	if (store_req_each(s, &filt, report_failure, &f) < 0) {
		fprintf(stderr, "fedmigctl: %s\n", store_errmsg(s));
		return 1;
	}
	if (ctl->json)
		printf("]}\n");
	return 0;
}

/* --- contacts and calendars (fedmigctl show) --- */

static const char *const pim_kind_word[3] = {"", "addressbook", "calendar"};

static int pim_coll_line(void *ctx, const struct pim_coll *c)
{
	char shown[1024];

	fprintf(ctx,
		"    %s=%s created=%lld updated=%lld unchanged=%lld deleted=%lld conflict=%lld "
		"rejected=%lld fixes=%lld verified=%s%s%s\n",
		pim_kind_word[c->kind == 2 ? 2 : 1], addr_show(c->name, strlen(c->name), shown,
								 sizeof(shown)),
		c->n.created, c->n.updated, c->n.unchanged, c->n.deleted, c->n.conflicts,
		c->n.rejected, c->n.fixes, c->verified ? "yes" : "no", *c->held ? "; held: " : "",
		c->held);
	return 0;
}

static int pim_bad_line(void *ctx, const char *coll, const struct pim_row *r)
{
	char href[1024], why[1024];

	/* For a terminal: both come from the DAV servers. */
	fprintf(ctx, "    %s %s: %s\n", r->status == PIM_ROW_CONFLICT ? "conflict" : "rejected",
		addr_show(r->src_href, strlen(r->src_href), href, sizeof(href)),
		addr_show(r->reason, strlen(r->reason), why, sizeof(why)));
	return 0;
}

void ctl_pim_show(struct store *s, const struct req *r, FILE *fp)
{
	int state;
	long long items;

	if (!*r->source_physical || !*r->target_physical ||
	    store_pim_job_get(s, r->id, SMD_COPY, &state, &items) != STORE_OK)
		return;
	char *key = store_pim_mailbox_key(r->source_system, r->source_physical, r->target_system,
					  r->target_physical);

	if (state > 0 && state < 4)
		fprintf(fp, "  contacts and calendars: %s, items %lld\n", pim_state_word[state], items);
	if (store_pim_coll_each(s, key, pim_coll_line, fp) < 0 ||
	    store_pim_row_each_bad(s, key, pim_bad_line, fp) < 0)
		fprintf(fp, "  contacts and calendars: %s\n", store_errmsg(s));
	free(key);
}
