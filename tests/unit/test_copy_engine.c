/*
 * The copy engine (copy.h) against two in-process fake IMAP servers
 * (fake_imap.h) and a temporary store: no Postfix, no Dovecot. Each case
 * is {source, target, what ran before, what the target does wrong} ->
 * {result, journal, target contents}, then (for most) a clean rerun that
 * must complete. Only copy.h, store.h and store_smd.h are used, so the
 * cases survive a rewrite of the engine's insides.
 *
 * Models are written as "INBOX#7=a0,b1|Work#9=c2": folders (with their
 * UIDVALIDITY, 1 when left out) and their messages in UID order; a letter is a message
 * body, the digit its flags (0 \Seen, 1 \Seen \Flagged $Work, 2 none).
 */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ckmain.h"
#include "copy.h"
#include "copy_env.h"
#include "fake_imap.h"
#include "store.h"
#include "store_smd.h"

static char dir[] = "/tmp/fedmig-test-copy-engine.XXXXXX";

/* ------------------------------------------------------------ journal */

enum jstate { J_COMPLETE, J_CONSISTENT, J_WRONG };

struct jcheck {
	const struct fake_folder *src, *dst;
	size_t rows;
	int wrong;
	unsigned seen[64];
};

static int jrow(void *ctx, const struct smd_map_row *row)
{
	struct jcheck *j = ctx;
	const struct fake_msg *s = NULL, *d = NULL;

	for (size_t i = 0; i < j->src->n; i++)
		if (j->src->m[i].uid == row->src_uid)
			s = &j->src->m[i];
	for (size_t i = 0; j->dst && i < j->dst->n; i++)
		if (j->dst->m[i].uid == row->dst_uid)
			d = &j->dst->m[i];
	if (s == NULL || d == NULL || s->len != d->len || memcmp(s->body, d->body, s->len) != 0 ||
	    row->size != (long long)s->len)
		j->wrong = 1;
	for (size_t i = 0; i < j->rows && i < 64; i++)
		if (j->seen[i] == row->dst_uid)
			j->wrong = 1; /* one target message for two source ones */
	if (j->rows < 64)
		j->seen[j->rows] = (unsigned)row->dst_uid;
	j->rows++;
	return 0;
}

/* journal_state: every row right (and every message journalled: complete)? */
static enum jstate journal_state(struct store *st, struct fake_model *src, struct fake_model *dst)
{
	int complete = 1;

	for (size_t i = 0; i < src->nf; i++) {
		struct jcheck j = {.src = &src->f[i], .dst = fake_folder_find(dst, src->f[i].name)};

		ck_assert_int_eq(store_smd_map_each(st, "k", src->f[i].name, jrow, &j), 0);
		if (j.wrong)
			return J_WRONG;
		if (j.rows != src->f[i].n)
			complete = 0;
	}
	return complete ? J_COMPLETE : J_CONSISTENT;
}

/* ------------------------------------------------------------ runs */

enum pre { PRE_NONE, PRE_COPY, PRE_CRASH_AFTER, PRE_CRASH_MID, PRE_STOP };
enum rerun { RERUN_NONE, RERUN_OK, RERUN_FAILS };


/* ------------------------------------------------------------ cases */

#define ANY (-1)
#define AT_LEAST(n) (-100 - (n)) /* a count that depends on timing, but not below N */

static int count_ok(long long got, long long want)
{
	return want == ANY || (want <= -100 ? got >= -100 - want : got == want);
}

static const struct ecase {
	const char *name;
	const char *src, *dst;	   /* the models before anything ran */
	enum pre pre;		   /* what ran before the run under test */
	long pre_n;		   /* its crash point, or the source body at which it stops */
	const char *src_then;	   /* the source after it (NULL: unchanged) */
	unsigned dst_uv_bump;	   /* added to the target folders' UIDVALIDITY after it */
	struct fake_faults fault;  /* the target in the run under test */
	int batch;
	int want_rc;
	const char *want_reason;   /* in r.reason, or NULL */
	long long copied, found, skipped; /* or ANY */
	enum jstate journal;
	const char *want_dst;	   /* the target after the run under test */
	enum rerun rerun;	   /* a clean rerun afterwards */
	const char *rerun_reason;
	int stop_split;		   /* the source stops that run at this body, the next one cut */
} cases[] = {
	{"fresh copy", "INBOX#7=a0,b1|Work#9=c2,d0|Work/Old#11=e1|Empty#12=", "INBOX#50=", PRE_NONE,
	 0, NULL, 0, {0}, 0, COPY_OK, NULL, 5, 0, 0, J_COMPLETE,
	 "INBOX=a0,b1|Work=c2,d0|Work/Old=e1|Empty=", RERUN_OK, NULL, 0},
	{"rerun copies nothing", "INBOX#7=a0,b1|Work#9=c2", "INBOX#50=", PRE_COPY, 0, NULL, 0, {0},
	 0, COPY_OK, NULL, 0, 0, 3, J_COMPLETE, "INBOX=a0,b1|Work=c2", RERUN_NONE, NULL, 0},
	{"resume after a stop mid-folder", "INBOX#7=a0,b0,c0,d0,e0", "INBOX#50=", PRE_STOP, 3, NULL,
	 0, {0}, 1, COPY_OK, NULL, ANY, 0, AT_LEAST(1), J_COMPLETE, "INBOX=a0,b0,c0,d0,e0", RERUN_OK,
	 NULL, 0},
	{"orphans after a crash", "INBOX#7=a0,b0,c0", "INBOX#50=", PRE_CRASH_AFTER, 1, NULL, 0, {0},
	 1, COPY_OK, NULL, ANY, AT_LEAST(1), 0, J_COMPLETE, "INBOX=a0,b0,c0", RERUN_OK, NULL, 0},
	{"crash mid-literal", "INBOX#7=a0,b0,c0", "INBOX#50=", PRE_CRASH_MID, 2, NULL, 0, {0}, 1,
	 COPY_OK, NULL, ANY, ANY, ANY, J_COMPLETE, "INBOX=a0,b0,c0", RERUN_OK, NULL, 0},
	{"duplicates in the source", "INBOX#7=a0,a0,b0", "INBOX#50=", PRE_NONE, 0, NULL, 0, {0}, 0,
	 COPY_OK, NULL, 3, 0, 0, J_COMPLETE, "INBOX=a0,a0,b0", RERUN_OK, NULL, 0},
	{"duplicates, crash between them", "INBOX#7=a0,a0,b0", "INBOX#50=", PRE_CRASH_AFTER, 1, NULL,
	 0, {0}, 1, COPY_OK, NULL, ANY, AT_LEAST(1), 0, J_COMPLETE, "INBOX=a0,a0,b0", RERUN_OK, NULL, 0},
	{"source UIDVALIDITY changed", "INBOX#7=a0,b1", "INBOX#50=", PRE_COPY, 0, "INBOX#8=a0,b1", 0,
	 {0}, 0, COPY_OK, NULL, 0, 0, 2, J_COMPLETE, "INBOX=a0,b1", RERUN_OK, NULL, 0},
	{"target UIDVALIDITY changed", "INBOX#7=a0,b1", "INBOX#50=", PRE_COPY, 0, NULL, 1, {0}, 0,
	 COPY_OK, NULL, 0, 2, 0, J_COMPLETE, "INBOX=a0,b1", RERUN_OK, NULL, 0},
	{"flags changed on the source", "INBOX#7=a0,b1,c2", "INBOX#50=", PRE_COPY, 0,
	 "INBOX#7=a1,b2,c0", 0, {0}, 0, COPY_OK, NULL, 0, 0, 3, J_COMPLETE, "INBOX=a1,b2,c0",
	 RERUN_OK, NULL, 0},
	{"target without UIDPLUS", "INBOX#7=a0", "INBOX#50=", PRE_NONE, 0, NULL, 0,
	 {.no_uidplus = 1}, 0, COPY_FAILED, "lacks UIDPLUS", 0, 0, 0, J_CONSISTENT, "INBOX=",
	 RERUN_OK, NULL, 0},
	{"APPENDUID missing", "INBOX#7=a0,b0", "INBOX#50=", PRE_NONE, 0, NULL, 0,
	 {.appenduid_missing = 1}, 0, COPY_FAILED, "no APPENDUID", 0, 0, 0, J_CONSISTENT,
	 "INBOX=a0,b0", RERUN_OK, NULL, 0},
	/* The lying UIDs are journalled before verification notices: the
	 * mailbox fails and their rows are dropped, so the rerun finds the
	 * real copies by hash and copies nothing twice. */
	{"APPENDUID with wrong UIDs", "INBOX#7=a0,b0", "INBOX#50=", PRE_NONE, 0, NULL, 0,
	 {.appenduid_uid_off = 100}, 0, COPY_FAILED, "not read back", 2, 0, 0, J_CONSISTENT,
	 "INBOX=a0,b0", RERUN_OK, NULL, 0},
	{"APPENDUID with wrong UIDVALIDITY", "INBOX#7=a0,b0", "INBOX#50=", PRE_NONE, 0, NULL, 0,
	 {.appenduid_uv_off = 1}, 0, COPY_FAILED, "UIDVALIDITY changed on the target", 0, 0, 0,
	 J_CONSISTENT, "INBOX=a0,b0", RERUN_OK, NULL, 0},
	{"APPEND answered NO", "INBOX#7=a0,b0,c0|Work#9=d0", "INBOX#50=", PRE_NONE, 0, NULL, 0,
	 {.append_no_at = 1}, 1, COPY_FAILED, "NO [OVERQUOTA]", ANY, 0, 0, J_CONSISTENT, NULL,
	 RERUN_OK, NULL, 0},
	{"connection cut mid-literal", "INBOX#7=a0,b0,c0", "INBOX#50=", PRE_NONE, 0, NULL, 0,
	 {.drop_after_bytes = 150}, 1, COPY_FAILED, NULL, ANY, 0, 0, J_CONSISTENT, NULL, RERUN_OK,
	 NULL, 0},
	/* A CREATE answered [ALREADYEXISTS] (the target's LIST did not show
	 * the folder) fails the mailbox today; the next run copies it. */
	{"CREATE of a folder the target did not list", "INBOX#7=a0|Work#9=b0",
	 "INBOX#50=|Work#60=", PRE_NONE, 0, NULL, 0, {.list_hides = "Work"}, 0, COPY_FAILED,
	 "CREATE Work: [ALREADYEXISTS]", 0, 0, 0, J_CONSISTENT, "INBOX=|Work=", RERUN_OK, NULL, 0},
	/* A stop noticed at the end of a message while the next one's body
	 * has begun to arrive (and the source is cut inside it): that body
	 * is not appended, the run stops at once (its IMAP timeout is a
	 * second here) with the first message copied and journalled. */
	{"stop while the next body arrives", "INBOX#7=a0,b0,c0", "INBOX#50=", PRE_NONE, 0, NULL, 0,
	 {0}, 1, COPY_STOPPED, NULL, 1, 0, 0, J_CONSISTENT, "INBOX=a0", RERUN_OK, NULL, 1},
};

static void env_init(struct env *e, const struct ecase *c)
{
	memset(e, 0, sizeof(*e));
	model_parse(&e->src, c->src);
	model_parse(&e->dst, c->dst);
	e->dst.next_uidvalidity = 1000;
	e->timeout_ms = 5000;
	snprintf(e->db, sizeof(e->db), "%s/case%d.db", dir, (int)(c - cases));
	unlink(e->db);
}

/* before: what ran before the run under test, then the changes after it. */
static void before(struct env *e, const struct ecase *c)
{
	struct copy_result r;

	if (c->pre != PRE_NONE) {
		env_listen(e, NULL, c->pre == PRE_STOP ? (int)c->pre_n : 0, 0);
		if (c->pre != PRE_CRASH_AFTER && c->pre != PRE_CRASH_MID)
			env_serve(e);
		if (c->pre == PRE_COPY)
			ck_assert_int_eq(run(e, c->batch, &r), COPY_OK);
		else if (c->pre == PRE_STOP)
			ck_assert_msg(run(e, c->batch, &r) == COPY_STOPPED, "%s: not stopped: %s",
				      c->name, r.reason);
		else
			run_crash(e, c->batch, c->pre == PRE_CRASH_AFTER ? c->pre_n : 0,
				  c->pre == PRE_CRASH_MID ? c->pre_n : 0);
		env_stop(e);
	}
	if (c->src_then) {
		fake_model_free(&e->src);
		model_parse(&e->src, c->src_then);
	}
	for (size_t i = 0; i < e->dst.nf; i++)
		e->dst.f[i].uidvalidity += c->dst_uv_bump;
}

/* check_subscribed: after a complete copy every source subscription is the target's too. */
static void check_subscribed(struct env *e, const struct ecase *c)
{
	for (size_t i = 0; i < e->src.nf; i++) {
		const struct fake_folder *d = fake_folder_find(&e->dst, e->src.f[i].name);

		ck_assert_msg(!e->src.f[i].subscribed || (d && d->subscribed),
			      "%s: %s not subscribed on the target", c->name, e->src.f[i].name);
	}
}

static void check_counts(const struct ecase *c, const struct copy_result *r)
{
	ck_assert_msg(count_ok(r->copied, c->copied), "%s: copied=%lld", c->name, r->copied);
	ck_assert_msg(count_ok(r->found, c->found), "%s: found=%lld", c->name, r->found);
	ck_assert_msg(count_ok(r->skipped, c->skipped), "%s: skipped=%lld", c->name, r->skipped);
	if (c->want_rc == COPY_OK)
		ck_assert_msg(r->copied + r->found + r->skipped == r->messages,
			      "%s: done %lld of %lld", c->name, r->copied + r->found + r->skipped,
			      r->messages);
}

/* after: the state once the run under test is over. */
static void check_state(struct env *e, const struct ecase *c, enum jstate want, const char *dst)
{
	struct store *st = store_at(e->db);
	char got[512], want_dst[512];
	enum jstate j = journal_state(st, &e->src, &e->dst);

	store_close(&st);
	ck_assert_msg(j == want, "%s: journal state %d, want %d", c->name, j, want);
	model_repr(&e->dst, got, sizeof(got));
	if (dst == NULL) {
		/* No message twice, nothing half-written: a subset of the source. */
		ck_assert_msg(strchr(got, '?') == NULL, "%s: target %s", c->name, got);
		return;
	}
	struct fake_model m = {0};

	model_parse(&m, dst);
	model_repr(&m, want_dst, sizeof(want_dst));
	fake_model_free(&m);
	ck_assert_msg(strcmp(got, want_dst) == 0, "%s: target %s, want %s", c->name, got, want_dst);
}

static void rerun(struct env *e, const struct ecase *c)
{
	struct copy_result r;
	char want[512];

	env_start(e, NULL, 0, 0);
	int rc = run(e, c->batch, &r);

	env_stop(e);
	if (c->rerun == RERUN_FAILS) {
		ck_assert_msg(rc == COPY_FAILED && strstr(r.reason, c->rerun_reason),
			      "%s: rerun rc=%d: %s", c->name, rc, r.reason);
		return;
	}
	ck_assert_msg(rc == COPY_OK, "%s: rerun rc=%d: %s", c->name, rc, r.reason);
	check_subscribed(e, c);
	model_repr(&e->src, want, sizeof(want));
	check_state(e, c, J_COMPLETE, NULL);
	char got[512];

	model_repr(&e->dst, got, sizeof(got));
	ck_assert_msg(strcmp(got, want) == 0, "%s: after the rerun %s, want %s", c->name, got, want);
}

/* open_fds: how many descriptors this process has open. */
static int open_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

START_TEST(test_case)
{
	const struct ecase *c = &cases[_i];
	struct env e;
	struct copy_result r;
	int fds = open_fds();

	env_init(&e, c);
	before(&e, c);
	env_start(&e, &c->fault, c->stop_split, c->stop_split > 0);
	/* The fake servers answer at once: where the case expects the engine
	 * to wait for nothing, a second is a hang. */
	e.timeout_ms = c->stop_split ? 1000 : 5000;
	int rc = run(&e, c->batch, &r);

	e.timeout_ms = 5000;
	env_stop(&e);
	ck_assert_msg(rc == c->want_rc, "%s: rc=%d, want %d: %s", c->name, rc, c->want_rc,
		      r.reason);
	if (c->want_reason)
		ck_assert_msg(strstr(r.reason, c->want_reason) != NULL, "%s: reason %s", c->name,
			      r.reason);
	check_counts(c, &r);
	check_state(&e, c, c->journal, c->want_dst);
	if (rc == COPY_OK)
		check_subscribed(&e, c);
	if (c->rerun != RERUN_NONE)
		rerun(&e, c);
	fake_model_free(&e.src);
	fake_model_free(&e.dst);
	unlink(e.db);
	ck_assert_msg(open_fds() == fds, "%s: %d descriptors left open", c->name, open_fds() - fds);
}
END_TEST

/* ------------------------------------------------------------ delta passes */
/*
 * Before the switch the source wins: its flag changes and expunges reach
 * the target, a change made on the target is undone, a message gone from
 * the target is copied again, new messages arrive; a second pass finds
 * nothing to do. _i: with a crash after the target was changed, before
 * the journal (_i = 1), then the rerun: the same result, no duplicate.
 */
START_TEST(test_delta_prestage)
{
	struct env e;
	struct copy_result r;
	struct fake_folder *sf, *df;

	delta_env(&e, dir, "INBOX=a0,b2,c2,d0");
	sf = fake_folder_find(&e.src, "INBOX");
	df = fake_folder_find(&e.dst, "INBOX");
	fake_msg_flags(sf, 2, "\\Seen $Label1");
	fake_msg_expunge(sf, 3);
	fake_msg_flags(df, 1, "\\Answered");
	fake_msg_expunge(df, 4);
	char body[200], date[40];

	body_of('e', body, sizeof(body));
	date_of('e', date, sizeof(date));
	fake_msg_add(sf, body, strlen(body), "\\Flagged", date);
	delta_pass(&e, _i, &r);
	flags_is(&e.dst, 'a', "\\Seen");
	flags_is(&e.dst, 'b', "\\Seen $Label1");
	ck_assert_int_eq(count_of(&e.dst, "INBOX", 'c'), 0);
	ck_assert_int_eq(count_of(&e.dst, "INBOX", 'd'), 1);
	ck_assert_int_eq(count_of(&e.dst, "INBOX", 'e'), 1);
	ck_assert_int_eq(df->n, 4);
	if (_i == 0) {
		ck_assert_int_eq(r.d_flags, 2);
		ck_assert_int_eq(r.d_expunged, 1);
	}
	delta_pass(&e, 0, &r);
	ck_assert_int_eq(r.copied + r.d_flags + r.d_expunged + r.d_gone, 0);
	ck_assert_int_eq(r.skipped, 4);
	delta_done(&e);
}
END_TEST

/*
 * After the switch, three-way: the user's changes on the target win
 * (flags, a deletion, a message changed there and expunged on the
 * source), the source's other changes arrive, flags merge per flag, and
 * what the user deleted never comes back. _i as above.
 */
START_TEST(test_delta_switched)
{
	struct env e;
	struct copy_result r;
	struct fake_folder *sf, *df;

	delta_env(&e, dir, "INBOX=a0,b2,c2,d2,e2,f2");
	e.switched = 1;
	sf = fake_folder_find(&e.src, "INBOX");
	df = fake_folder_find(&e.dst, "INBOX");
	fake_msg_flags(df, 1, "\\Seen \\Answered"); /* a: the user, on the target */
	fake_msg_expunge(df, 2);		     /* b: deleted by the user */
	fake_msg_flags(sf, 2, "\\Seen");	     /* ... and read on the source */
	fake_msg_flags(sf, 3, "\\Flagged");	     /* c: changed on the source */
	fake_msg_expunge(sf, 4);		     /* d: expunged on the source */
	fake_msg_flags(sf, 5, "\\Seen");	     /* e: both, other flags */
	fake_msg_flags(df, 5, "$Work");
	fake_msg_flags(df, 6, "$Work"); /* f: changed on the target, expunged on the source */
	fake_msg_expunge(sf, 6);
	delta_pass(&e, _i, &r);
	flags_is(&e.dst, 'a', "\\Seen \\Answered");
	ck_assert_int_eq(count_of(&e.dst, "INBOX", 'b'), 0);
	flags_is(&e.dst, 'c', "\\Flagged");
	ck_assert_int_eq(count_of(&e.dst, "INBOX", 'd'), 0);
	flags_is(&e.dst, 'e', "\\Seen $Work");
	flags_is(&e.dst, 'f', "$Work");
	ck_assert_int_eq(df->n, 4);
	if (_i == 0) {
		ck_assert_int_eq(r.d_gone, 1);
		ck_assert_int_eq(r.d_expunged, 1);
		ck_assert_int_eq(r.d_flags, 2);
	}
	/* Nothing comes back, nothing changes, however often it runs. */
	for (int k = 0; k < 2; k++) {
		delta_pass(&e, 0, &r);
		ck_assert_int_eq(r.copied + r.d_flags + r.d_expunged + r.d_gone, 0);
		ck_assert_int_eq(df->n, 4);
		ck_assert_int_eq(count_of(&e.dst, "INBOX", 'b'), 0);
	}
	delta_done(&e);
}
END_TEST

/*
 * The CONDSTORE fast path (copy_fast.h): a pass over a folder unchanged
 * since the last verified pass costs STATUS only (fewer commands, no
 * listing); a flag change on the source, [NOMODSEQ] or a forgotten
 * HIGHESTMODSEQ makes it a full pass again.
 */
START_TEST(test_delta_condstore)
{
	struct env e;
	struct copy_result r;
	unsigned c0;

	memset(&e, 0, sizeof(e));
	e.timeout_ms = 5000;
	snprintf(e.db, sizeof(e.db), "%s/delta.db", dir);
	unlink(e.db);
	model_parse(&e.src, "INBOX=a0,b2,c2,d0|Work=e1");
	model_parse(&e.dst, "INBOX=");
	e.src.condstore = 1;
	e.src.qresync = _i;
	delta_pass(&e, 0, &r);
	ck_assert_int_eq(r.copied, 5);
	c0 = e.src.commands;
	delta_pass(&e, 0, &r); /* unchanged: STATUS only */
	unsigned quick = e.src.commands - c0;

	ck_assert_int_eq(r.copied + r.d_flags + r.found, 0);
	ck_assert_int_eq(r.skipped, 5);
	ck_assert_int_eq(r.folders, 2);
	struct fake_folder *sf = fake_folder_find(&e.src, "INBOX");

	sf->nomodseq = 1; /* the same folder without mod-sequences: a full pass */
	c0 = e.src.commands;
	delta_pass(&e, 0, &r);
	ck_assert_uint_gt(e.src.commands - c0, quick);
	ck_assert_int_eq(r.skipped, 5);
	sf->nomodseq = 0;
	fake_msg_flags(sf, 2, "\\Seen $Label1");
	delta_pass(&e, 0, &r); /* moved on since: the change arrives */
	ck_assert_int_eq(r.d_flags, 1);
	flags_is(&e.dst, 'b', "\\Seen $Label1");
	c0 = e.src.commands;
	delta_pass(&e, 0, &r); /* and the next pass is quick again */
	ck_assert_uint_eq(e.src.commands - c0, quick);
	ck_assert_int_eq(r.verified, r.folders);
	delta_done(&e);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("copy_engine");
	TCase *tc = tcase_create("core");
	int rc;

	if (mkdtemp(dir) == NULL)
		return 1;
	/* As in fedmig-smd: a cut connection is an error return, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	tcase_set_timeout(tc, 20);
	tcase_add_loop_test(tc, test_case, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_loop_test(tc, test_delta_prestage, 0, 2);
	tcase_add_loop_test(tc, test_delta_switched, 0, 2);
	tcase_add_loop_test(tc, test_delta_condstore, 0, 2);
	suite_add_tcase(s, tc);
	rc = ck_run(s);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char p[300];

		snprintf(p, sizeof(p), "%s/case%zu.db", dir, i);
		unlink(p);
		snprintf(p, sizeof(p), "%s/case%zu.db-wal", dir, i);
		unlink(p);
		snprintf(p, sizeof(p), "%s/case%zu.db-shm", dir, i);
		unlink(p);
	}
	if (rmdir(dir) < 0)
		rc = 1;
	return rc;
}
