/*
 * ctl_request - fedmigctl commands for migration requests (submit, import,
 * list, show, cancel, retry, rollback, report).
 *
 * fedmigctl only writes the store: what touches mail systems or Postfix
 * (cancel and rollback) is an order fedmig-spm carries out at its next
 * pass, so the administrator's shell never needs Postfix's rights.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "ctl.h"
#include "state.h"
#include "store_agent.h"
#include "store_req.h"
#include "store_smd.h"
#include "timeutil.h"
#include "xalloc.h"


static int cmd_submit(struct ctl *ctl, int argc, char **argv);
static int cmd_import(struct ctl *ctl, int argc, char **argv);
static int cmd_list(struct ctl *ctl, int argc, char **argv);
static int cmd_show(struct ctl *ctl, int argc, char **argv);
static int cmd_cancel(struct ctl *ctl, int argc, char **argv);
static int cmd_retry(struct ctl *ctl, int argc, char **argv);
static int cmd_rollback(struct ctl *ctl, int argc, char **argv);
static int cmd_report(struct ctl *ctl, int argc, char **argv);

const struct ctl_cmd ctl_request_cmds[] = {
	{"submit", "ADDRESS|--group GROUP --to SYSTEM [--at TIME] [--scenario NAME]",
	 "register the migration of ADDRESS (or a group: domain:DOMAIN, ou:DN) to SYSTEM "
	 "(TIME: now, +2h, 2025-03-01 22:00)",
	 cmd_submit},
	{"import", "FILE.csv [--dry-run]",
	 "register a batch: address,target,planned,scenario per line; all or nothing",
	 cmd_import},
	{"list", "[--state S] [--batch ID]", "list migration requests", cmd_list},
	{"show", "ADDRESS", "a request and its whole history", cmd_show},
	{"cancel", "ADDRESS", "cancel a request not yet switched (fedmig-spm undoes its steps)",
	 cmd_cancel},
	{"retry", "ADDRESS", "resume a failed, sync-mismatch or check-failed request", cmd_retry},
	{"rollback", "ADDRESS|--batch ID [--purge-target]",
	 "make the source authoritative again (fedmig-spm switches back)", cmd_rollback},
	{"report", "[--batch ID] [--addresses] [--json]",
	 "requests per state, hold windows, failures with reasons; --addresses: one line each",
	 cmd_report},
	{NULL, NULL, NULL, NULL},
};

static const struct ctl_cmd *cmd_of(int (*fn)(struct ctl *, int, char **))
{
	for (const struct ctl_cmd *c = ctl_request_cmds; c->words; c++)
		if (c->fn == fn)
			return c;
	abort();
}

static int parse_id(const char *s, long long *id_r)
{
	char *end;

	errno = 0;
	*id_r = strtoll(s, &end, 10);
	return errno || *end || end == s || *id_r <= 0 ? -1 : 0;
}

/* check_request: why R cannot be registered, or NULL. */
static const char *check_request(const struct ctl *ctl, const struct req *r)
{
	if (!config_has_system(ctl->cfg, r->target_system))
		return "unknown target system (not in $systems)";
	if (!config_has_scenario(ctl->cfg, r->scenario))
		return "unknown scenario (not in $scenarios)";
	return NULL;
}

static int cmd_submit(struct ctl *ctl, int argc, char **argv)
{
	const struct ctl_cmd *me = cmd_of(cmd_submit);
	struct req r;
	const char *to = NULL, *at = "now", *scenario = config_str(ctl->cfg, "default_scenario");
	const char *why;
	char tbuf[TIME_BUF];
	long long now = time_now_us();

	memset(&r, 0, sizeof(r));
	if (argc < 1)
		return ctl_usage(me);
	if (strcmp(argv[0], "--group") == 0)
		return ctl_submit_group(ctl, me, argc, argv);
	for (int i = 1; i < argc; i++) {
		if (i + 1 < argc && strcmp(argv[i], "--to") == 0)
			to = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--at") == 0)
			at = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--scenario") == 0)
			scenario = argv[++i];
		else
			return ctl_usage(me);
	}
	if (to == NULL)
		return ctl_usage(me);
	if (ctl_normalize(ctl, argv[0], r.access) < 0)
		return 1;
	if (time_parse_local(at, now, &r.planned_at) < 0) {
		fprintf(stderr, "fedmigctl: %s: bad time (now, +30m, YYYY-MM-DD HH:MM[:SS])\n", at);
		return 1;
	}
	snprintf(r.target_system, sizeof(r.target_system), "%s", to);
	snprintf(r.scenario, sizeof(r.scenario), "%s", scenario);
	if ((why = check_request(ctl, &r)) != NULL) {
		fprintf(stderr, "fedmigctl: %s: %s\n", r.access, why);
		return 1;
	}
	int rc = store_req_add(ctl_store(ctl), &r, now, "submitted by fedmigctl");

	if (rc != STORE_OK) {
		fprintf(stderr, "fedmigctl: %s\n", store_errmsg(ctl_store(ctl)));
		return 1;
	}
	printf("request %lld: %s to %s at %s (scenario %s)\n", r.id, r.access, r.target_system,
	       time_format_local(r.planned_at, tbuf), r.scenario);
	return 0;
}

/* --- import --- */

struct import {
	struct ctl *ctl;
	const char *file;
	struct req *v;
	int *lines;
	size_t n, cap;
	int errors;
	long long now;
};

static void import_error(struct import *im, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void import_error(struct import *im, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d: ", im->file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	im->errors++;
}

static void import_record(struct import *im, const struct csv *csv)
{
	int line = csv_line(csv);
	size_t nf = csv_nfields(csv), len;
	const char *f[4] = {"", "", "", ""};
	struct req r;
	const char *why;

	for (size_t i = 0; i < nf && i < 4; i++)
		f[i] = csv_field(csv, i, &len);
	if (nf == 1 && *f[0] == '\0')
		return; /* blank line */
	if (f[0][0] == '#')
		return;
	if (line == 1 && strcmp(f[0], "address") == 0)
		return; /* header */
	if (nf < 2 || nf > 4) {
		import_error(im, line, "expected address,target[,planned[,scenario]], got %zu fields",
			     nf);
		return;
	}
	memset(&r, 0, sizeof(r));
	if (ctl_addr(im->ctl, f[0], r.access, &why) < 0) {
		char shown[ADDR_SHOW_MAX];

		import_error(im, line, "address \"%s\": %s",
			     addr_show(f[0], strlen(f[0]), shown, sizeof(shown)), why);
		return;
	}
	if (strlen(f[1]) >= sizeof(r.target_system) || strlen(f[3]) >= sizeof(r.scenario)) {
		import_error(im, line, "target or scenario name too long");
		return;
	}
	snprintf(r.target_system, sizeof(r.target_system), "%s", f[1]);
	snprintf(r.scenario, sizeof(r.scenario), "%s",
		 *f[3] ? f[3] : config_str(im->ctl->cfg, "default_scenario"));
	if (time_parse_local(*f[2] ? f[2] : "now", im->now, &r.planned_at) < 0) {
		char shown[64];

		import_error(im, line, "bad planned time \"%s\"",
			     addr_show(f[2], strlen(f[2]), shown, sizeof(shown)));
		return;
	}
	if ((why = check_request(im->ctl, &r)) != NULL) {
		char shown[80];

		import_error(im, line, "%s: %s",
			     addr_show(r.target_system, strlen(r.target_system), shown, sizeof(shown)),
			     why);
		return;
	}
	if (im->n == im->cap) {
		im->cap = im->cap ? im->cap * 2 : 64;
		im->v = xrealloc(im->v, im->cap * sizeof(*im->v));
		im->lines = xrealloc(im->lines, im->cap * sizeof(*im->lines));
	}
	im->lines[im->n] = line;
	im->v[im->n++] = r;
}

static void import_row(void *ctx, const struct csv *csv, const char *error)
{
	struct import *im = ctx;

	if (error)
		import_error(im, csv_line(csv), "%s", error);
	else
		import_record(im, csv);
}

static int cmp_access(const void *a, const void *b, void *ctx)
{
	const struct import *im = ctx;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = strcmp(im->v[i].access, im->v[j].access);

	return c ? c : im->lines[i] - im->lines[j];
}

/* import_dups: an address twice in the file is an error on its later
 * line. Sorted, not compared pairwise: a batch may have a million lines. */
static void import_dups(struct import *im)
{
	size_t *ix = xcalloc(im->n + 1, sizeof(*ix));

	for (size_t i = 0; i < im->n; i++)
		ix[i] = i;
	qsort_r(ix, im->n, sizeof(*ix), cmp_access, im);
	for (size_t k = 1; k < im->n; k++)
		if (strcmp(im->v[ix[k]].access, im->v[ix[k - 1]].access) == 0)
			import_error(im, im->lines[ix[k]], "%s already on line %d",
				     im->v[ix[k]].access, im->lines[ix[k - 1]]);
	free(ix);
}

static int cmd_import(struct ctl *ctl, int argc, char **argv)
{
	struct import im = {ctl, NULL, NULL, NULL, 0, 0, 0, time_now_us()};
	int dry_run = 0, rc = 1;
	char *err = NULL;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--dry-run") == 0)
			dry_run = 1;
		else if (im.file == NULL)
			im.file = argv[i];
		else
			return ctl_usage(cmd_of(cmd_import));
	}
	if (im.file == NULL)
		return ctl_usage(cmd_of(cmd_import));
	if (csv_read_file(im.file, import_row, &im, &err) < 0) {
		fprintf(stderr, "fedmigctl: %s\n", err);
		free(err);
		goto out;
	}
	import_dups(&im);
	if (im.errors) {
		fprintf(stderr, "fedmigctl: %s: %d errors, nothing imported\n", im.file, im.errors);
		goto out;
	}
	struct store *s = ctl_store(ctl);
	long long batch = 0;

	if (store_begin(s) < 0 || store_batch_add(s, im.file, im.now, &batch) < 0)
		goto store_fail;
	for (size_t i = 0; i < im.n; i++) {
		im.v[i].batch_id = batch;
		int r = store_req_add(s, &im.v[i], im.now, "imported by fedmigctl");

		if (r == STORE_EXISTS) {
			import_error(&im, im.lines[i], "%s", store_errmsg(s));
			continue;
		}
		if (r != STORE_OK)
			goto store_fail;
	}
	if (im.errors || dry_run) {
		store_rollback(s);
		if (im.errors)
			fprintf(stderr, "fedmigctl: %s: %d errors, nothing imported\n", im.file,
				im.errors);
		else
			printf("%s: %zu requests would be imported (dry run)\n", im.file, im.n);
		rc = im.errors ? 1 : 0;
		goto out;
	}
	if (store_commit(s) < 0)
		goto store_fail;
	printf("batch %lld: %zu requests from %s\n", batch, im.n, im.file);
	rc = 0;
	goto out;
store_fail:
	fprintf(stderr, "fedmigctl: %s\n", store_errmsg(s));
	store_rollback(s);
out:
	free(im.v);
	free(im.lines);
	return rc;
}

/* --- list, show --- */

struct lister {
	struct ctl *ctl;
	int first;
};

/* req_json: R as one JSON object; with S, also its copy jobs. */
static json_t *req_json(const struct req *r, struct store *s)
{
	json_t *o = ctl_json_ok(json_pack(
		"{s:I,s:o,s:o,s:o,s:i,s:s,s:I,s:I,s:i,s:I,s:I,s:I,s:o,s:o,s:o}", "id",
		(json_int_t)r->id, "address", ctl_json_string(r->access), "target",
		ctl_json_string(r->target_system), "scenario", ctl_json_string(r->scenario),
		"state", r->state, "state_name", state_name(r->state), "batch",
		(json_int_t)r->batch_id, "planned_at", (json_int_t)r->planned_at, "attempts",
		r->attempts, "hold_at", (json_int_t)r->hold_at, "switch_at", (json_int_t)r->switch_at,
		"release_at", (json_int_t)r->release_at, "reason", ctl_json_string(r->reason),
		"source_physical", ctl_json_string(r->source_physical), "target_physical",
		ctl_json_string(r->target_physical)));
	struct smd_status st;
	json_t *a;

	if (s && store_smd_status(s, smd_key(r->id, SMD_COPY), &st) == STORE_OK)
		json_object_set_new(o, "copy", ctl_job_json(json_object(), "state", &st));
	if (s && store_smd_status(s, smd_key(r->id, SMD_COPY_BACK), &st) == STORE_OK)
		json_object_set_new(o, "copy_back", ctl_job_json(json_object(), "state", &st));
	if (s && (a = ctl_agent_json(s, r->id)) != NULL)
		json_object_set_new(o, "agent", a);
	ctl_prestage_json(s, r, o);
	return o;
}

static int list_one(void *ctx, const struct req *r)
{
	struct lister *l = ctx;
	char tbuf[TIME_BUF], why[REQ_REASON_MAX + 64];
	const char *reason = ctl_req_reason(ctl_store(l->ctl), r, why, sizeof(why));

	if (l->ctl->json) {
		printf("%s\n  ", l->first ? "[" : ",");
		ctl_json_put(stdout, req_json(r, NULL));
	} else {
		if (l->first)
			printf("%-6s %-32s %-8s %-15s %-19s %s\n", "ID", "ADDRESS", "TARGET", "STATE",
			       "PLANNED", "REASON");
		char shown[4 * sizeof(why)];

		printf("%-6lld %-32s %-8s %-15s %-19s %s\n", r->id, r->access, r->target_system,
		       state_name(r->state), time_format_local(r->planned_at, tbuf),
		       addr_show(reason, strlen(reason), shown, sizeof(shown)));
	}
	l->first = 0;
	return 0;
}

static int cmd_list(struct ctl *ctl, int argc, char **argv)
{
	struct req_filter f = {-1, 0, NULL};
	struct lister l = {ctl, 1};

	for (int i = 0; i < argc; i++) {
		if (i + 1 < argc && strcmp(argv[i], "--state") == 0) {
			f.state = state_parse(argv[++i]);
			if (f.state < 0) {
				fprintf(stderr, "fedmigctl: unknown state %s\n", argv[i]);
				return 1;
			}
		} else if (i + 1 < argc && strcmp(argv[i], "--batch") == 0) {
			if (parse_id(argv[++i], &f.batch_id) < 0) {
				fprintf(stderr, "fedmigctl: bad batch id %s\n", argv[i]);
				return 1;
			}
		} else if (strcmp(argv[i], "--json") == 0) {
			ctl->json = 1;
		} else {
			return ctl_usage(cmd_of(cmd_list));
		}
	}
	if (store_req_each(ctl_store(ctl), &f, list_one, &l) < 0) {
		fprintf(stderr, "fedmigctl: %s\n", store_errmsg(ctl_store(ctl)));
		return 1;
	}
	if (ctl->json)
		printf(l.first ? "[]\n" : "\n]\n");
	return 0;
}

static int show_hist(void *ctx, const struct req_hist *h)
{
	char tbuf[TIME_BUF];

	printf("  %s  %-15s -> %-15s %-20s %s\n", time_format_local(h->at, tbuf),
	       h->from < 0 ? "-" : state_name(h->from), state_name(h->to), h->step, h->detail);
	return 0;
}

/* find_request: the request of ADDRESS, or print why and return -1. */
static int find_request(struct ctl *ctl, const char *address, struct req *r)
{
	char canon[ADDR_MAX];
	int rc;

	if (ctl_normalize(ctl, address, canon) < 0)
		return -1;
	rc = store_req_find(ctl_store(ctl), canon, r);
	if (rc == STORE_NOTFOUND) {
		fprintf(stderr, "fedmigctl: %s: no migration request\n", canon);
		return -1;
	}
	if (rc != STORE_OK) {
		fprintf(stderr, "fedmigctl: %s\n", store_errmsg(ctl_store(ctl)));
		return -1;
	}
	return 0;
}

static int cmd_show(struct ctl *ctl, int argc, char **argv)
{
	char t1[TIME_BUF];
	struct req r;

	if (argc != 1)
		return ctl_usage(cmd_of(cmd_show));
	if (find_request(ctl, argv[0], &r) < 0)
		return 1;
	if (ctl->json) {
		ctl_json_put(stdout, req_json(&r, ctl_store(ctl)));
		printf("\n");
		return 0;
	}
	printf("request %lld: %s -> %s (scenario %s%s)\n", r.id, r.access, r.target_system,
	       r.scenario, r.batch_id ? ", batch" : "");
	if (r.batch_id)
		printf("  batch:     %lld\n", r.batch_id);
	printf("  state:     %d %s%s%s\n", r.state, state_name(r.state), *r.action ? ", order: " : "",
	       r.action);
	printf("  planned:   %s\n", time_format_local(r.planned_at, t1));
	if (*r.source_physical)
		printf("  source:    %s on %s\n", r.source_physical, r.source_system);
	if (*r.target_physical)
		printf("  target:    %s on %s\n", r.target_physical, r.target_system);
	if (r.hold_at)
		printf("  held:      %s\n", time_format_local(r.hold_at, t1));
	if (r.switch_at)
		printf("  switched:  %s\n", time_format_local(r.switch_at, t1));
	if (r.release_at && r.hold_at)
		printf("  hold window: %.3f s\n", (double)(r.release_at - r.hold_at) / 1e6);
	if (*r.reason) {
		char shown[4 * REQ_REASON_MAX];

		printf("  reason:    %s\n", addr_show(r.reason, strlen(r.reason), shown, sizeof(shown)));
	}
	char line[1024];

	if (ctl_copy_line(ctl_store(ctl), smd_key(r.id, SMD_COPY), "copy", line, sizeof(line)) == 0)
		printf("  %s\n", line);
	if (ctl_copy_line(ctl_store(ctl), smd_key(r.id, SMD_COPY_BACK), "copy back", line,
			  sizeof(line)) == 0)
		printf("  %s\n", line);
	if (ctl_copy_line(ctl_store(ctl), smd_key(r.id, SMD_LOCAL), "local data", line,
			  sizeof(line)) == 0)
		printf("  %s\n", line);
	ctl_prestage_show(ctl_store(ctl), &r, stdout);
	if (ctl_agent_line(ctl_store(ctl), r.id, line, sizeof(line)) == 0)
		printf("  %s\n", line);
	if (*r.source_system && ctl_source_line(ctl_store(ctl), r.source_system, line,
						 sizeof(line)) == 0)
		printf("  source %s: %s\n", r.source_system, line);
	ctl_pim_show(ctl_store(ctl), &r, stdout);
	if (r.attempts)
		printf("  attempts:  %d\n", r.attempts);
	if (r.next_at != REQ_NEVER && !state_is_final(r.state))
		printf("  next:      %s\n", time_format_local(r.next_at, t1));
	printf("history:\n");
	if (store_req_history(ctl_store(ctl), r.id, show_hist, NULL) < 0) {
		fprintf(stderr, "fedmigctl: %s\n", store_errmsg(ctl_store(ctl)));
		return 1;
	}
	return 0;
}

/* --- orders --- */

/* order: record ACTION on R for fedmig-spm, due at once. */
static int order(struct ctl *ctl, struct req *r, const char *action, const char *detail)
{
	int from = r->state;

	snprintf(r->action, sizeof(r->action), "%s", action);
	r->next_at = time_now_us();
	r->updated = r->next_at;
	int rc = store_req_set(ctl_store(ctl), r, from, action, detail);

	if (rc == STORE_NOTFOUND) {
		fprintf(stderr, "fedmigctl: %s: the request changed meanwhile, try again\n",
			r->access);
		return 1;
	}
	if (rc != STORE_OK) {
		fprintf(stderr, "fedmigctl: %s\n", store_errmsg(ctl_store(ctl)));
		return 1;
	}
	return 0;
}

static int cmd_cancel(struct ctl *ctl, int argc, char **argv)
{
	struct req r;
	int where;

	if (argc != 1)
		return ctl_usage(cmd_of(cmd_cancel));
	if (find_request(ctl, argv[0], &r) < 0)
		return 1;
	where = state_is_offline(r.state) ? r.failed_from : r.state;
	if (state_in(r.state, STATE_SETTLED)) {
		fprintf(stderr, "fedmigctl: %s: request %lld is %s\n", r.access, r.id,
			state_name(r.state));
		return 1;
	}
	if (where >= ST_SWITCHED || r.switch_at) {
		fprintf(stderr, "fedmigctl: %s: already switched; use fedmigctl rollback\n",
			r.access);
		return 1;
	}
	if (order(ctl, &r, "cancel", "ordered by fedmigctl") != 0)
		return 1;
	printf("request %lld: cancel ordered; fedmig-spm carries it out\n", r.id);
	return 0;
}

static int cmd_retry(struct ctl *ctl, int argc, char **argv)
{
	struct req r;
	int from;

	if (argc != 1)
		return ctl_usage(cmd_of(cmd_retry));
	if (find_request(ctl, argv[0], &r) < 0)
		return 1;
	if (!state_is_offline(r.state) || r.failed_from < 0) {
		fprintf(stderr, "fedmigctl: %s: request %lld is %s, nothing to retry\n", r.access,
			r.id, state_name(r.state));
		return 1;
	}
	from = r.state;
	r.state = r.failed_from;
	r.failed_from = -1;
	r.attempts = 0;
	r.reason[0] = '\0';
	r.next_at = r.updated = time_now_us();
	/* With the request, its agent's task (if its source is read by one):
	 * a failed or cancelled read would fail the copy again at once. */
	struct store *s = ctl_store(ctl);
	int rc = store_begin(s);

	if (rc == STORE_OK) {
		rc = store_req_set(s, &r, from, "retry", "ordered by fedmigctl");
		if (rc == STORE_OK)
			rc = store_agent_task_retry(s, r.id);
		if (rc == STORE_OK)
			rc = store_commit(s);
		else
			store_rollback(s);
	}
	if (rc != STORE_OK) {
		fprintf(stderr, "fedmigctl: %s\n", store_errmsg(ctl_store(ctl)));
		return 1;
	}
	printf("request %lld: back to %s\n", r.id, state_name(r.state));
	return 0;
}

struct rb {
	struct ctl *ctl;
	const char *action;
	int errors, done;
};

static int rollback_one(void *ctx, const struct req *rc_)
{
	struct rb *b = ctx;
	struct req r = *rc_;
	int where = state_is_offline(r.state) ? r.failed_from : r.state;

	if (state_in(r.state, STATE_SETTLED) || where > ST_COPIED) {
		fprintf(stderr, "fedmigctl: %s: request %lld is %s: no rollback\n", r.access, r.id,
			state_name(r.state));
		b->errors++;
		return 0;
	}
	if (order(b->ctl, &r, b->action, "ordered by fedmigctl") != 0)
		b->errors++;
	else
		b->done++;
	return 0;
}

static int cmd_rollback(struct ctl *ctl, int argc, char **argv)
{
	struct rb b = {ctl, "rollback", 0, 0};
	const char *address = NULL;
	long long batch = 0;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--purge-target") == 0)
			b.action = "rollback-purge";
		else if (i + 1 < argc && strcmp(argv[i], "--batch") == 0) {
			if (parse_id(argv[++i], &batch) < 0) {
				fprintf(stderr, "fedmigctl: bad batch id %s\n", argv[i]);
				return 1;
			}
		} else if (address == NULL && argv[i][0] != '-')
			address = argv[i];
		else
			return ctl_usage(cmd_of(cmd_rollback));
	}
	if ((address == NULL) == (batch == 0))
		return ctl_usage(cmd_of(cmd_rollback));
	if (address) {
		struct req r;

		if (find_request(ctl, address, &r) < 0)
			return 1;
		rollback_one(&b, &r);
	} else {
		struct req_filter f = {-1, batch, NULL};

		if (store_batch_exists(ctl_store(ctl), batch) != STORE_OK) {
			fprintf(stderr, "fedmigctl: no batch %lld\n", batch);
			return 1;
		}
		if (store_req_each(ctl_store(ctl), &f, rollback_one, &b) < 0) {
			fprintf(stderr, "fedmigctl: %s\n", store_errmsg(ctl_store(ctl)));
			return 1;
		}
	}
	printf("%d rollbacks ordered; fedmig-spm carries them out\n", b.done);
	return b.errors ? 1 : 0;
}

/* --- report --- */

static int cmd_report(struct ctl *ctl, int argc, char **argv)
{
	long long batch = 0;
	int addresses = 0;

	for (int i = 0; i < argc; i++) {
		if (i + 1 < argc && strcmp(argv[i], "--batch") == 0) {
			if (parse_id(argv[++i], &batch) < 0) {
				fprintf(stderr, "fedmigctl: bad batch id %s\n", argv[i]);
				return 1;
			}
		} else if (strcmp(argv[i], "--json") == 0) {
			ctl->json = 1;
		} else if (strcmp(argv[i], "--addresses") == 0) {
			addresses = 1;
		} else {
			return ctl_usage(cmd_of(cmd_report));
		}
	}
	return ctl_report(ctl, batch, addresses);
}
