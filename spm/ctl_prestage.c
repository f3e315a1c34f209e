/*
 * fedmigctl's view of pre-staging and catch-up (spm/pilot_prestage.h):
 * fedmigctl show's "pre-stage" and "catch-up" lines, their JSON members,
 * and fedmigctl report's catch-up section (per mailbox, p50/p95/max).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "ctl.h"
#include "store_req.h"
#include "store_smd.h"
#include "timeutil.h"

/* catchup_words: how R's catch-up reads, with or without pre-staging. */
static const char *catchup_words(const struct req *r)
{
	return r->prestage_passes > 0 ? "after pre-staging" : "no pre-stage: the whole copy";
}

void ctl_prestage_show(struct store *s, const struct req *r, FILE *fp)
{
	struct smd_status st;
	char t[TIME_BUF], line[1024];
	int have = store_smd_status(s, smd_key(r->id, SMD_PRESTAGE), &st) == STORE_OK;

	if (have || r->prestage_passes > 0) {
		fprintf(fp, "  pre-stage: %d passes", r->prestage_passes);
		if (r->prestage_last)
			fprintf(fp, ", last ended %s", time_format_local(r->prestage_last, t));
		fputc('\n', fp);
	}
	if (have && ctl_copy_line(s, smd_key(r->id, SMD_PRESTAGE), "last pass", line,
				  sizeof(line)) == 0)
		fprintf(fp, "  %s\n", line);
	if (r->catchup_ms >= 0)
		fprintf(fp, "  catch-up:  %.1f s (%s)\n", (double)r->catchup_ms / 1e3,
			catchup_words(r));
}

void ctl_prestage_json(struct store *s, const struct req *r, json_t *o)
{
	struct smd_status st;
	json_t *pre = ctl_json_ok(json_pack("{s:i,s:I}", "passes", r->prestage_passes, "last",
					    (json_int_t)r->prestage_last));

	if (s && store_smd_status(s, smd_key(r->id, SMD_PRESTAGE), &st) == STORE_OK)
		ctl_job_json(pre, "state", &st);
	json_object_set_new(o, "prestage", pre);
	json_object_set_new(o, "catchup_ms",
			    r->catchup_ms >= 0 ? json_integer(r->catchup_ms) : json_null());
}

struct catchups {
	int first, json;
};

static int catchup_row(void *ctx, const struct req *r)
{
	struct catchups *c = ctx;

	if (r->catchup_ms < 0)
		return 0;
	if (c->json) {
		if (!c->first)
			putchar(',');
		ctl_json_put(stdout, json_pack("{s:I,s:o,s:I,s:i}", "id", (json_int_t)r->id,
					       "address", ctl_json_string(r->access),
					       "catchup_ms", (json_int_t)r->catchup_ms,
					       "prestage_passes", r->prestage_passes));
	} else {
		if (c->first)
			printf("catch-up per mailbox (switch to everything on the target):\n");
		printf("  %-32s %8.1f s  %d pre-stage passes%s\n", r->access,
		       (double)r->catchup_ms / 1e3, r->prestage_passes,
		       r->prestage_passes ? "" : " (the whole copy)");
	}
	c->first = 0;
	return 0;
}

int ctl_report_catchups(struct store *s, long long batch, int json)
{
	struct req_filter f = {-1, batch, NULL};
	struct catchups c = {1, json};

	if (json)
		printf("\"catchups\":[");
	if (store_req_each(s, &f, catchup_row, &c) < 0)
		return -1;
	if (json)
		printf("],");
	return 0;
}
