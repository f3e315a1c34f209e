/*
 * GET /metrics: SUM in the Prometheus text exposition format 0.0.4. Every
 * family has its HELP and TYPE before its samples, every label value is
 * one of ours (a state's or a job state's name: no escaping needed), and
 * fedmig-apid(8) documents each name. Lookup latencies are not in the
 * store (a write per lookup): fedmig-policyd keeps them in a file of the
 * run directory (lib/lookup_stats.h), read here when it is there, fresh
 * and well-formed; otherwise its families are left out, never a failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apid_status.h"
#include "log.h"
#include "lookup_stats.h"
#include "state.h"
#include "store_smd.h"

static void family(FILE *fp, const char *name, const char *type, const char *help)
{
	fprintf(fp, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void gauge(FILE *fp, const char *name, const char *help, long long v)
{
	family(fp, name, "gauge", help);
	fprintf(fp, "%s %lld\n", name, v);
}

static void requests(FILE *fp, const struct status_sum *sum)
{
	family(fp, "fedmig_requests", "gauge", "Migration requests in each state.");
	for (int i = 0; i < STATE_SLOTS; i++) {
		const char *name = state_name(i);

		if (strcmp(name, "unknown") != 0)
			fprintf(fp, "fedmig_requests{state=\"%s\"} %lld\n", name, sum->counts[i]);
	}
}

static void copies(FILE *fp, const struct status_sum *sum)
{
	static const char *const job_state[4] = {"queued", "running", "done", "failed"};

	family(fp, "fedmig_copy_jobs", "gauge",
	       "The data mover's copy jobs of the requests, by job state.");
	for (int i = 0; i < 4; i++)
		fprintf(fp, "fedmig_copy_jobs{state=\"%s\"} %lld\n", job_state[i], sum->jobs[i]);
	gauge(fp, "fedmig_copy_messages_done", "Messages the requests' copy jobs have copied.",
	      sum->msgs_done);
	gauge(fp, "fedmig_copy_messages_expected",
	      "Messages the requests' copy jobs found to copy (as far as known).", sum->msgs_total);
	gauge(fp, "fedmig_copy_bytes_done", "Bytes the requests' copy jobs have copied.",
	      sum->bytes_done);
	gauge(fp, "fedmig_copy_bytes_expected",
	      "Bytes the requests' copy jobs found to copy (as far as known).", sum->bytes_total);
}

static void holds(FILE *fp, const struct status_sum *sum)
{
	long long hist[STATUS_HOLD_BUCKETS + 1], total = 0;

	family(fp, "fedmig_hold_window_seconds", "histogram",
	       "Hold windows of released switches: from the hold to the release.");
	status_hold_hist(sum, hist);
	for (int b = 0; b < STATUS_HOLD_BUCKETS; b++)
		fprintf(fp, "fedmig_hold_window_seconds_bucket{le=\"%g\"} %lld\n",
			status_hold_bounds_ms[b] / 1e3, hist[b]);
	fprintf(fp, "fedmig_hold_window_seconds_bucket{le=\"+Inf\"} %lld\n",
		hist[STATUS_HOLD_BUCKETS]);
	for (size_t i = 0; i < sum->nholds; i++)
		total += sum->holds[i];
	fprintf(fp, "fedmig_hold_window_seconds_sum %.6f\n", total / 1e6);
	fprintf(fp, "fedmig_hold_window_seconds_count %zu\n", sum->nholds);
}

/* Older than this, the file's policyd is stopped or stuck: not shown. */
#define LOOKUP_STALE_S 60

static void lookup_hist(FILE *fp, const char *kind, const struct lookup_hist *h)
{
	long long cum = 0;

	for (int b = 0; b < LOOKUP_BUCKETS; b++) {
		cum += h->bucket[b];
		fprintf(fp, "fedmig_lookup_duration_seconds_bucket{kind=\"%s\",le=\"%g\"} %lld\n", kind,
			lookup_bounds_s[b], cum);
	}
	fprintf(fp, "fedmig_lookup_duration_seconds_bucket{kind=\"%s\",le=\"+Inf\"} %lld\n", kind,
		h->count);
	fprintf(fp, "fedmig_lookup_duration_seconds_sum{kind=\"%s\"} %.9f\n", kind, h->sum_ns / 1e9);
	fprintf(fp, "fedmig_lookup_duration_seconds_count{kind=\"%s\"} %lld\n", kind, h->count);
}

/* lookups: fedmig-policyd's lookup latency from RUN_DIR, when usable. */
static void lookups(FILE *fp, const char *run_dir)
{
	struct lookup_stats st;
	char *err = NULL;
	long long age;
	int rc = lookup_stats_read(run_dir, &st, &err);

	if (rc != 0) {
		if (rc < 0)
			log_warn("metrics: lookup latency left out: %s", err);
		free(err);
		return;
	}
	age = (long long)time(NULL) - st.time;
	if (age > LOOKUP_STALE_S || age < -LOOKUP_STALE_S) {
		log_warn("metrics: lookup latency left out: %s/%s was written %lld s ago (is "
			 "fedmig-policyd running?)",
			 run_dir, LOOKUP_STATS_FILE, age);
		return;
	}
	family(fp, "fedmig_lookup_duration_seconds", "histogram",
	       "fedmig-policyd's lookups, from the request read to the answer queued.");
	for (int k = 0; k < LOOKUP_KINDS; k++)
		lookup_hist(fp, lookup_kind_name[k], &st.k[k]);
	family(fp, "fedmig_lookup_errors_total", "counter",
	       "fedmig-policyd's temporary or permanent failure answers.");
	for (int k = 0; k < LOOKUP_KINDS; k++)
		fprintf(fp, "fedmig_lookup_errors_total{kind=\"%s\"} %lld\n", lookup_kind_name[k],
			st.k[k].errors);
	gauge(fp, "fedmig_policyd_stats_age_seconds",
	      "Seconds since fedmig-policyd last wrote its lookup statistics.", age < 0 ? 0 : age);
}

char *status_metrics(const struct status_sum *sum, const char *run_dir)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	if (fp == NULL)
		return NULL;
	requests(fp, sum);
	gauge(fp, "fedmig_requests_attention",
	      "Requests needing an administrator: off-line, or with a failure reason.",
	      sum->attention);
	gauge(fp, "fedmig_requests_switched", "Requests whose address has switched.",
	      (long long)sum->nswitches);
	gauge(fp, "fedmig_batches", "Batches with at least one request.",
	      (long long)sum->nbatches);
	copies(fp, sum);
	holds(fp, sum);
	gauge(fp, "fedmig_held_messages",
	      "Messages fedmig held during switches and that are still in the queue.",
	      sum->held_pending);
	family(fp, "fedmig_last_change_timestamp_seconds", "gauge",
	       "When a request last changed, seconds since the epoch.");
	fprintf(fp, "fedmig_last_change_timestamp_seconds %.3f\n", sum->last_change / 1e6);
	if (run_dir != NULL)
		lookups(fp, run_dir);
	if (fclose(fp) != 0) {
		free(text);
		return NULL;
	}
	return text;
}
