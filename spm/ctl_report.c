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

void ctl_json_str(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(fp, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(fp, "\\u%04x", *p);
		else
			fputc(*p, fp);
	}
	fputc('"', fp);
}

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
	int json, first;
};

static int print_state(void *ctx, const struct req_hist *h)
{
	struct states *st = ctx;
	double secs = (double)(h->at - st->created) / 1e6;

	if (st->json)
		fprintf(st->fp, "%s{\"state\":%d,\"after_s\":%.1f}", st->first ? "" : ",", h->to,
			secs);
	else
		fprintf(st->fp, " %d@%.1f", h->to, secs);
	st->first = 0;
	return 0;
}

struct addr_table {
	FILE *fp;
	struct store *s;
	int json, first, err;
};

static int address_row(void *ctx, const struct req *r)
{
	struct addr_table *t = ctx;
	struct smd_status job;
	int have_job = store_smd_status(t->s, r->id, &job) == STORE_OK;
	const char *verified = !have_job ? "-" : job.state == SMD_DONE ? "yes" : "no";
	struct states st = {t->fp, r->created, t->json, 1};
	char hold[32] = "-", copied[32] = "-";

	if (r->hold_at > 0 && r->release_at > r->hold_at)
		snprintf(hold, sizeof(hold), "%.1f", (double)(r->release_at - r->hold_at) / 1e3);
	if (have_job)
		snprintf(copied, sizeof(copied), "%lld", job.msgs_done);
	if (t->json) {
		fprintf(t->fp, "%s{\"id\":%lld,\"address\":", t->first ? "" : ",", r->id);
		ctl_json_str(t->fp, r->access);
		fprintf(t->fp, ",\"state\":\"%s\",\"hold_ms\":%s,\"copied\":%s,\"verified\":%s,"
			       "\"states\":[",
			state_name(r->state), hold[0] == '-' ? "null" : hold,
			have_job ? copied : "null",
			!have_job ? "null" : job.state == SMD_DONE ? "true" : "false");
	} else {
		if (t->first)
			fprintf(t->fp, "%-32s %-15s %9s %8s %8s  %s\n", "ADDRESS", "STATE",
				"HOLD ms", "COPIED", "VERIFIED", "STATES (state@seconds after submission)");
		fprintf(t->fp, "%-32s %-15s %9s %8s %8s ", r->access, state_name(r->state), hold,
			copied, verified);
	}
	t->first = 0;
	if (store_req_history(t->s, r->id, print_state, &st) < 0) {
		t->err = 1;
		return -1;
	}
	fputs(t->json ? "]}" : "\n", t->fp);
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
