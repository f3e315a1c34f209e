/* /metrics and fedmig-policyd's lookup statistics file: a fresh file
 * gives the histogram (cumulative buckets, +Inf = count), the errors and
 * the age; no file, a stale one, a damaged one or a symlink give none of
 * them and still the rest of /metrics (never a failure). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apid_status.h"
#include "ckmain.h"
#include "lookup_stats.h"
#include "testutil.h"

static char dir[] = "/tmp/test_status_lookups.XXXXXX";

/* metrics: /metrics of an empty store with the statistics file written
 * AGE seconds ago (AGE < 0: no file). */
static char *metrics(long long age)
{
	struct status_sum sum;
	struct lookup_stats st;
	char *err = NULL, *text;

	memset(&sum, 0, sizeof(sum));
	memset(&st, 0, sizeof(st));
	if (age >= 0) {
		lookup_stats_record(&st.k[LOOKUP_SOCKETMAP], 50000, 0);
		lookup_stats_record(&st.k[LOOKUP_SOCKETMAP], 3000000, 1);
		lookup_stats_record(&st.k[LOOKUP_POLICY], 9000000000LL, 0);
		st.time = (long long)time(NULL) - age;
		ck_assert_int_eq(lookup_stats_write(dir, &st, &err), 0);
	}
	text = status_metrics(&sum, dir);
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(strstr(text, "# TYPE fedmig_requests gauge\n"));
	return text;
}

static void clear(void)
{
	char path[sizeof(dir) + sizeof(LOOKUP_STATS_FILE) + 1];

	snprintf(path, sizeof(path), "%s/%s", dir, LOOKUP_STATS_FILE);
	unlink(path);
}

START_TEST(test_fresh)
{
	char *text = metrics(2);

	ck_assert_ptr_nonnull(strstr(text, "# TYPE fedmig_lookup_duration_seconds histogram\n"));
	ck_assert_ptr_nonnull(strstr(
		text, "\nfedmig_lookup_duration_seconds_bucket{kind=\"socketmap\",le=\"0.0001\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(
		text, "\nfedmig_lookup_duration_seconds_bucket{kind=\"socketmap\",le=\"0.005\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(
		text, "\nfedmig_lookup_duration_seconds_bucket{kind=\"policy\",le=\"0.25\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(
		text, "\nfedmig_lookup_duration_seconds_bucket{kind=\"policy\",le=\"+Inf\"} 1\n"));
	ck_assert_ptr_nonnull(
		strstr(text, "\nfedmig_lookup_duration_seconds_sum{kind=\"socketmap\"} 0.003050000\n"));
	ck_assert_ptr_nonnull(
		strstr(text, "\nfedmig_lookup_duration_seconds_count{kind=\"socketmap\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(text, "# TYPE fedmig_lookup_errors_total counter\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nfedmig_lookup_errors_total{kind=\"socketmap\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nfedmig_policyd_stats_age_seconds "));
	free(text);
	clear();
}
END_TEST

START_TEST(test_absent_stale_bad)
{
	char *text, path[sizeof(dir) + sizeof(LOOKUP_STATS_FILE) + 1];
	struct status_sum sum;
	FILE *fp;

	text = metrics(-1);
	ck_assert_ptr_null(strstr(text, "fedmig_lookup"));
	free(text);
	text = metrics(61);
	ck_assert_ptr_null(strstr(text, "fedmig_lookup"));
	ck_assert_ptr_null(strstr(text, "fedmig_policyd_stats_age_seconds"));
	free(text);
	/* A fresh file with a line too many. */
	free(metrics(0));
	snprintf(path, sizeof(path), "%s/%s", dir, LOOKUP_STATS_FILE);
	fp = fopen(path, "a");
	ck_assert_ptr_nonnull(fp);
	fputs("junk 1\n", fp);
	fclose(fp);
	memset(&sum, 0, sizeof(sum));
	text = status_metrics(&sum, dir);
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_null(strstr(text, "fedmig_lookup"));
	free(text);
	clear();
	ck_assert_int_eq(symlink("/etc/passwd", path), 0);
	text = metrics(-1);
	ck_assert_ptr_null(strstr(text, "fedmig_lookup"));
	free(text);
	clear();
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {CK_TEST(test_fresh), CK_TEST(test_absent_stale_bad)};

	return tu_run_in_tmpdir(CK_SUITE("status_lookups", "status_lookups", 30, tests), dir);
}
