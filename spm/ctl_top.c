/*
 * fedmigctl top: the status page in a terminal, from the store (no
 * fedmig-apid needed): the same numbers (lib/store_status.h), a frame
 * every N seconds, or one with --once for scripts and tests. Plain ANSI:
 * the screen is cleared only between frames on a terminal, so --once or
 * a pipe gets plain text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "ctl.h"
#include "state.h"
#include "store_smd.h"
#include "store_status.h"
#include "timeutil.h"

#define TOP_FAILURES 10
#define BAR_WIDTH 30

static int cmd_top(struct ctl *ctl, int argc, char **argv);

const struct ctl_cmd ctl_top_cmds[] = {
	{"top", "[--once] [--interval SECONDS] [--batch ID]",
	 "the migration at a glance, refreshed (default every 2 s): states, batches, copies,"
	 " hold windows, what needs attention",
	 cmd_top},
	{NULL, NULL, NULL, NULL},
};

static void bar(long long part, long long whole, int width)
{
	int n = whole > 0 ? (int)(part * width / whole) : 0;

	putchar('[');
	for (int i = 0; i < width; i++)
		putchar(i < n ? '#' : '-');
	putchar(']');
}

static void print_state(void *ctx, int state)
{
	const long long *counts = ctx;

	if (state < STATE_SLOTS && counts[state])
		printf("  %-15s %lld\n", state_name(state), counts[state]);
}

static void holds(const struct status_sum *sum)
{
	long long hist[STATUS_HOLD_BUCKETS + 1], prev = 0;

	printf("hold windows: %zu switches, p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", sum->nholds,
	       status_pct(sum->holds, sum->nholds, 50) / 1e3,
	       status_pct(sum->holds, sum->nholds, 99) / 1e3,
	       sum->nholds ? sum->holds[sum->nholds - 1] / 1e3 : 0.0);
	if (sum->nholds == 0)
		return;
	status_hold_hist(sum, hist);
	for (int b = 0; b <= STATUS_HOLD_BUCKETS; b++) {
		if (b < STATUS_HOLD_BUCKETS)
			printf("  <= %6lld ms ", status_hold_bounds_ms[b]);
		else
			printf("  more        ");
		bar(hist[b] - prev, (long long)sum->nholds, BAR_WIDTH);
		printf(" %lld\n", hist[b] - prev);
		prev = hist[b];
	}
}

struct failures {
	struct store *s;
	int n;
};

static int failure(void *ctx, const struct req *r)
{
	struct failures *f = ctx;
	char why[REQ_REASON_MAX + 64], shown[4 * sizeof(why)];
	const char *reason = status_req_reason(f->s, r, why, sizeof(why));

	if (!status_needs_attention(r, reason))
		return 0;
	if (f->n++ == 0)
		printf("needing attention:\n");
	/* For a terminal: a reason may quote a server. */
	printf("  %-32s %-15s %s\n", r->access, state_name(r->state),
	       addr_show(reason, strlen(reason), shown, sizeof(shown)));
	return f->n >= TOP_FAILURES;
}

static int frame(struct store *s, long long batch)
{
	struct status_sum sum;
	struct req_filter filt = {-1, batch, NULL};
	struct failures f = {s, 0};
	char now[TIME_BUF];

	if (status_sum_load(s, batch, &sum) < 0)
		return -1;
	printf("fedmig top  %s  %s\n", time_format_local(time_now_us(), now),
	       batch ? "(one batch)" : "(every batch)");
	printf("requests %lld  complete %lld  switched %zu  need attention %lld  held messages "
	       "%lld\n",
	       sum.total, sum.counts[ST_COMPLETE], sum.nswitches, sum.attention, sum.held_pending);
	printf("copies: messages %lld/%lld, bytes %lld/%lld; jobs queued %lld, running %lld, done "
	       "%lld, failed %lld\n",
	       sum.msgs_done, sum.msgs_total, sum.bytes_done, sum.bytes_total, sum.jobs[SMD_QUEUED],
	       sum.jobs[SMD_RUNNING], sum.jobs[SMD_DONE], sum.jobs[SMD_FAILED]);
	holds(&sum);
	printf("states:\n");
	state_each(print_state, sum.counts);
	printf("batches:\n");
	for (size_t i = 0; i < sum.nbatches; i++) {
		const struct status_batch *b = &sum.batches[i];

		printf("  %-6lld ", b->id);
		bar(b->settled, b->total, BAR_WIDTH);
		printf(" %lld/%lld done, %lld switched, %lld off-line\n", b->settled, b->total,
		       b->switched, b->offline);
	}
	status_sum_free(&sum);
	return store_req_each(s, &filt, failure, &f);
}

static int top_args(int argc, char **argv, int *once, long long *interval, long long *batch)
{
	for (int i = 0; i < argc; i++) {
		char *end;

		if (strcmp(argv[i], "--once") == 0) {
			*once = 1;
			continue;
		}
		if (i + 1 >= argc)
			return -1;
		long long v = strtoll(argv[i + 1], &end, 10);

		if (*argv[i + 1] == '\0' || *end != '\0')
			return -1;
		if (strcmp(argv[i], "--interval") == 0 && v >= 1 && v <= 3600)
			*interval = v;
		else if (strcmp(argv[i], "--batch") == 0 && v >= 1)
			*batch = v;
		else
			return -1;
		i++;
	}
	return 0;
}

static int cmd_top(struct ctl *ctl, int argc, char **argv)
{
	long long interval = 2, batch = 0;
	int once = 0, tty = isatty(STDOUT_FILENO);
	struct store *s;

	if (top_args(argc, argv, &once, &interval, &batch) < 0)
		return ctl_usage(&ctl_top_cmds[0]);
	s = ctl_store(ctl);
	for (;;) {
		if (tty && !once)
			fputs("\033[H\033[2J", stdout);
		if (frame(s, batch) < 0) {
			fprintf(stderr, "fedmigctl: %s\n", store_errmsg(s));
			return 1;
		}
		fflush(stdout);
		if (once)
			return 0;
		time_sleep_us(interval * 1000000);
	}
}
