/* pf_scan on a listing it cannot wholly read: the drain and the release
 * sweep must not decide from it. A postqueue stand-in prints the lines.
 * The queues postsuper may act in. And the root helper: gone (killed)
 * vs. a command it ran failing. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckmain.h"
#include "testutil.h"
#include "config.h"
#include "postfix.h"

static char dir[] = "/tmp/test_spm_pf_XXXXXX";

static const char good[] = "{\"queue_name\":\"deferred\",\"queue_id\":\"A10001\",\"recipients\":"
			   "[{\"address\":\"alice@s1.example.org\"}]}";

/* fake_postqueue: a postqueue printing LINES, and a config naming it. */
static struct config *fake_postqueue(const char *lines)
{
	char path[300];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/postqueue", dir);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fprintf(fp, "#!/bin/sh\ncat <<'EOF'\n%sEOF\n", lines);
	fclose(fp);
	ck_assert_int_eq(chmod(path, 0755), 0);
	return tu_config("postfix_command_directory = %s\npostfix_config_directory = %s\n", dir,
			 dir);
}

static int count(void *ctx, const struct pq_msg *m)
{
	(*(int *)ctx)++;
	return 0;
}

static int scan(const char *lines, int *seen_r)
{
	struct config *cfg = fake_postqueue(lines);
	char *err = NULL;
	struct pf *pf = pf_open(cfg, &err);
	int rc;

	ck_assert_msg(pf != NULL, "%s", err ? err : "");
	*seen_r = 0;
	rc = pf_scan(pf, count, seen_r);
	pf_close(&pf);
	config_free(&cfg);
	return rc;
}

START_TEST(test_whole_listing)
{
	char lines[512];
	int seen;

	snprintf(lines, sizeof(lines), "%s\n%s\n", good, good);
	ck_assert_int_eq(scan(lines, &seen), 0);
	ck_assert_int_eq(seen, 2);
}
END_TEST

START_TEST(test_unreadable_line)
{
	char lines[512];
	int seen;

	/* Before: 0, and the drain took the queue for empty of P1. */
	snprintf(lines, sizeof(lines), "%s\n{\"queue_name\":\"deferred\"}\n", good);
	ck_assert_int_eq(scan(lines, &seen), -1);
	ck_assert_int_eq(seen, 1);
}
END_TEST

/* The queue each postsuper may act in: a stand-in records its arguments
 * and its standard input. Requeued from any queue (postsuper's default),
 * a message that left hold after the sweep's scan was requeued while
 * qmgr delivered it, and delivered twice. */
START_TEST(test_postsuper_queues)
{
	const char *ids[] = {"4jf9Z93pPTz1dPWp", "4jf9TG0vfBz1dPSR"};
	char path[300], got[512], want[512];
	struct config *cfg = fake_postqueue("");
	char *err = NULL;
	struct pf *pf;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/postsuper", dir);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fprintf(fp, "#!/bin/sh\necho \"$*\" >%s/args\ncat >>%s/args\n", dir, dir);
	fclose(fp);
	ck_assert_int_eq(chmod(path, 0755), 0);
	pf = pf_open(cfg, &err);
	ck_assert_msg(pf != NULL, "%s", err ? err : "");
	for (int verb = 0; verb < 2; verb++) {
		size_t n;

		ck_assert_int_eq((verb ? pf_release : pf_hold)(pf, ids, 2), 0);
		snprintf(path, sizeof(path), "%s/args", dir);
		fp = fopen(path, "r");
		ck_assert_ptr_nonnull(fp);
		n = fread(got, 1, sizeof(got) - 1, fp);
		fclose(fp);
		got[n] = '\0';
		snprintf(want, sizeof(want), "-c %s %s - %s\n%s\n%s\n", dir, verb ? "-r" : "-h",
			 verb ? "hold" : "deferred", ids[0], ids[1]);
		ck_assert_str_eq(got, want);
	}
	pf_close(&pf);
	config_free(&cfg);
}
END_TEST

/* The root helper gone vs. a command it ran failing (only root forks it). */
static int lost_calls;
static char lost_cause[200];

static void on_lost(const char *cause)
{
	lost_calls++;
	snprintf(lost_cause, sizeof(lost_cause), "%s", cause);
}

static const struct {
	const char *name, *postqueue; /* lines printed; NULL: exit 1 */
	int kill_helper;
	const char *want_lost; /* NULL: the helper still serves */
} helper_cases[] = {
	{"helper killed", good, 1, "privileged helper exited (signal 9)"},
	{"postqueue fails", NULL, 0, NULL},
	{"helper serves", good, 0, NULL},
};

START_TEST(test_helper_lost)
{
	const char *ids[] = {"A10001"};
	char lines[512], *err = NULL;
	struct config *cfg;
	struct pf *pf;
	int seen = 0, want_rc;

	if (geteuid() != 0)
		return; /* no helper without root */
	/* A write to a closed socket must be an error, not this death. */
	signal(SIGPIPE, SIG_DFL);
	lost_calls = 0;
	lost_cause[0] = '\0';
	snprintf(lines, sizeof(lines), "%s\n", helper_cases[_i].postqueue ? good : "");
	cfg = fake_postqueue(lines);
	if (helper_cases[_i].postqueue == NULL) {
		char path[300];
		FILE *fp;

		snprintf(path, sizeof(path), "%s/postqueue", dir);
		fp = fopen(path, "w");
		ck_assert_ptr_nonnull(fp);
		fprintf(fp, "#!/bin/sh\nexit 1\n");
		fclose(fp);
	}
	snprintf(lines, sizeof(lines), "%s/postsuper", dir);
	FILE *ps = fopen(lines, "w");

	ck_assert_ptr_nonnull(ps);
	fprintf(ps, "#!/bin/sh\nexec cat >/dev/null\n");
	fclose(ps);
	ck_assert_int_eq(chmod(lines, 0755), 0);
	pf = pf_open(cfg, &err);
	ck_assert_msg(pf != NULL, "%s: %s", helper_cases[_i].name, err ? err : "");
	pf_on_lost(pf, on_lost);
	ck_assert_msg(pf_helper_pid(pf) > 0, "%s: no helper", helper_cases[_i].name);
	if (helper_cases[_i].kill_helper)
		ck_assert_int_eq(kill((pid_t)pf_helper_pid(pf), SIGKILL), 0);
	want_rc = helper_cases[_i].want_lost || helper_cases[_i].postqueue == NULL ? -1 : 0;
	ck_assert_msg(pf_scan(pf, count, &seen) == want_rc, "%s: pf_scan not %d",
		      helper_cases[_i].name, want_rc);
	if (helper_cases[_i].want_lost) {
		ck_assert_msg(lost_calls == 1 && strcmp(lost_cause, helper_cases[_i].want_lost) == 0,
			      "%s: lost %d times, cause \"%s\"", helper_cases[_i].name, lost_calls,
			      lost_cause);
		ck_assert_str_eq(pf_lost(pf), helper_cases[_i].want_lost);
		/* Every later call fails at once, the program told once. */
		ck_assert_int_eq(pf_hold(pf, ids, 1), -1);
		ck_assert_int_eq(pf_kick(pf), -1);
		ck_assert_int_eq(lost_calls, 1);
	} else {
		ck_assert_msg(lost_calls == 0 && pf_lost(pf) == NULL, "%s: helper taken for gone: %s",
			      helper_cases[_i].name, lost_cause);
		ck_assert_msg(pf_hold(pf, ids, 1) == 0, "%s: pf_hold", helper_cases[_i].name);
	}
	pf_close(&pf);
	config_free(&cfg);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_TEST(test_whole_listing), CK_TEST(test_unreadable_line),
		CK_TEST(test_postsuper_queues),
		CK_LOOP(test_helper_lost, helper_cases),
	};

	return tu_run_in_tmpdir(CK_SUITE("spm_pf", "core", 10, tests), dir);
}
