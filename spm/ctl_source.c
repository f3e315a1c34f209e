/*
 * ctl_source - fedmigctl sources: each source system's throttling as
 * fedmig-smd's processes last recorded it (lib/store_throttle.h): IMAP
 * sessions in use of the limit, the back-off (until when, why, refusals
 * in a row), refusals and waits counted; and the same as one line of
 * fedmigctl show for a request's source.
 */
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "ctl.h"
#include "store_throttle.h"
#include "timeutil.h"

static int cmd_sources(struct ctl *ctl, int argc, char **argv);

const struct ctl_cmd ctl_source_cmds[] = {
	{"sources", "",
	 "each source system's IMAP sessions in use of NAME_max_sessions, back-off and refusals "
	 "(fedmig-smd's throttling)",
	 cmd_sources},
	{NULL, NULL, NULL, NULL},
};

/* line: R as one line of text into BUF (LEN bytes). */
static void line(const struct store_thr *r, char *buf, size_t len)
{
	char limit[32], when[TIME_BUF], why[4 * sizeof(r->reason)], back[sizeof(why) + 96];

	if (r->max_sessions > 0)
		snprintf(limit, sizeof(limit), "%lld", r->max_sessions);
	else
		snprintf(limit, sizeof(limit), "no limit");
	if (r->until > time_now_us())
		snprintf(back, sizeof(back), "back-off until %s (%lld refusals in a row, the last: %s)",
			 time_format_local(r->until, when), r->level,
			 addr_show(r->reason, strlen(r->reason), why, sizeof(why)));
	else
		snprintf(back, sizeof(back), "no back-off");
	snprintf(buf, len, "sessions %lld/%s, %s, refusals %lld, waits for a session %lld",
		 r->in_use, limit, back, r->refusals, r->waits);
}

int ctl_source_line(struct store *s, const char *system, char *buf, size_t len)
{
	struct store_thr r;

	if (store_thr_get(s, system, &r) != STORE_OK)
		return -1;
	line(&r, buf, len);
	return 0;
}

/* source_json: R's members; backoff_until in seconds since the epoch, 0 when none runs. */
static json_t *source_json(const struct store_thr *r)
{
	long long until = r->until > time_now_us() ? r->until / 1000000 : 0;

	return ctl_json_ok(json_pack("{s:o, s:I, s:I, s:I, s:I, s:o, s:I, s:I}", "system",
				     ctl_json_string(r->system), "in_use", (json_int_t)r->in_use,
				     "max_sessions", (json_int_t)r->max_sessions, "backoff_until",
				     (json_int_t)until, "backoff_level", (json_int_t)r->level,
				     "reason", ctl_json_string(r->reason), "refusals",
				     (json_int_t)r->refusals, "waits", (json_int_t)r->waits));
}

static int print_one(void *ctx, const struct store_thr *r)
{
	char buf[2048];

	if (ctx) {
		json_array_append_new(ctx, source_json(r));
		return 0;
	}
	line(r, buf, sizeof(buf));
	printf("%s: %s\n", r->system, buf);
	return 0;
}

static int cmd_sources(struct ctl *ctl, int argc, char **argv)
{
	json_t *arr = ctl->json ? ctl_json_ok(json_array()) : NULL;

	if (argc != 0)
		return ctl_usage(&ctl_source_cmds[0]);
	if (store_thr_each(ctl_store(ctl), print_one, arr) != STORE_OK) {
		fprintf(stderr, "fedmigctl: %s\n", store_errmsg(ctl_store(ctl)));
		json_decref(arr);
		return 1;
	}
	if (arr) {
		ctl_json_put(stdout, json_pack("{s:o}", "sources", arr));
		printf("\n");
	}
	return 0;
}
