/* fedmig-policyd's lookup statistics file (lib/lookup_stats.h): the
 * buckets, what the writer writes the reader takes back unchanged, and
 * hostile files: long lines, bad numbers, missing fields, a symlink. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckmain.h"
#include "lookup_stats.h"
#include "testutil.h"

static char dir[] = "/tmp/test_lookup_stats.XXXXXX";

static void sample(struct lookup_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->time = 1700000000;
	lookup_stats_record(&st->k[LOOKUP_SOCKETMAP], 50000, 0);      /* 50 µs */
	lookup_stats_record(&st->k[LOOKUP_SOCKETMAP], 3000000, 1);    /* 3 ms */
	lookup_stats_record(&st->k[LOOKUP_POLICY], 100000, 0);        /* on the bound */
	lookup_stats_record(&st->k[LOOKUP_POLICY], 9000000000LL, 0);  /* 9 s: +Inf */
	lookup_stats_record(&st->k[LOOKUP_POLICY], -5, 1);            /* clock oddity: 0 */
}

START_TEST(test_record_buckets)
{
	struct lookup_stats st;

	sample(&st);
	ck_assert_int_eq(st.k[LOOKUP_SOCKETMAP].bucket[0], 1);
	ck_assert_int_eq(st.k[LOOKUP_SOCKETMAP].bucket[5], 1); /* <= 0.005 */
	ck_assert_int_eq(st.k[LOOKUP_SOCKETMAP].count, 2);
	ck_assert_int_eq(st.k[LOOKUP_SOCKETMAP].errors, 1);
	ck_assert_int_eq(st.k[LOOKUP_SOCKETMAP].sum_ns, 3050000);
	ck_assert_int_eq(st.k[LOOKUP_POLICY].bucket[0], 2);
	ck_assert_int_eq(st.k[LOOKUP_POLICY].bucket[LOOKUP_BUCKETS], 1);
	ck_assert_int_eq(st.k[LOOKUP_POLICY].count, 3);
}
END_TEST

START_TEST(test_roundtrip_file)
{
	struct lookup_stats st, back;
	char *err = NULL, *path;
	struct stat sb;

	sample(&st);
	ck_assert_int_eq(lookup_stats_write(dir, &st, &err), 0);
	ck_assert_int_eq(lookup_stats_write(dir, &st, &err), 0); /* replaces */
	path = NULL;
	ck_assert_int_ne(asprintf(&path, "%s/%s", dir, LOOKUP_STATS_FILE), -1);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 07777, 0640);
	free(path);
	ck_assert_int_eq(lookup_stats_read(dir, &back, &err), 0);
	ck_assert(memcmp(&st, &back, sizeof(st)) == 0);
}
END_TEST

/* put: DIR/policyd.stats holds TEXT (LEN bytes). */
static void put(const char *text, size_t len)
{
	char *path = NULL;
	int fd;

	ck_assert_int_ne(asprintf(&path, "%s/%s", dir, LOOKUP_STATS_FILE), -1);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	free(path);
}

static int read_back(void)
{
	struct lookup_stats st;
	char *err = NULL;
	int rc = lookup_stats_read(dir, &st, &err);

	if (rc < 0) {
		ck_assert_ptr_nonnull(err);
		free(err);
	}
	return rc;
}

/* Each edit of a good file (FROM replaced by TO) must be refused. */
#define E(from, to) {(from), (to), sizeof(to) - 1}
static const struct {
	const char *from, *to;
	size_t tolen; /* TO may hold a NUL */
} edits[] = {
	E("version 1\n", "version 2\n"),
	E("version 1\n", ""),
	E("time 1700000000\n", "time -1700000000\n"),
	E("time 1700000000\n", "time 17e8\n"),
	E("time 1700000000\n", "time  1700000000\n"),
	E("time 1700000000\n", "time 1700000000 \n"),
	E("time 1700000000\n", "time\t1700000000\n"),
	E("time 1700000000\n", "time \n"),
	E("time 1700000000\n", "time 0x10\n"),
	E("time 1700000000\n", "time 01700000000\n"),
	E("time 1700000000\n", "time 1000000000000000000\n"),
	E("time 1700000000\n", "time 1700000000\r\n"),
	E("socketmap_count 2\n", "socketmap_count 3\n"),
	E("socketmap_count 2\n", ""),
	E("socketmap_errors 1\n", "socketmap_errors 5\n"),
	E("policy_bucket_0 2\n", "policy_bucket_0 99999999999999999999999\n"),
	E("policy_bucket_0 2\n", "policy_bucket_0 2\npolicy_bucket_0 2\n"),
	E("policy_sum_ns ", "POLICY_SUM_NS "),
	E("policy_errors 1\n", "policy_errors 1\nextra 1\n"),
	E("policy_errors 1\n", "policy_errors 1"),
	E("policy_errors 1\n", "policy_errors 1\n\n"),
	E("socketmap_bucket_3 0\n", "socketmap_bucket_3 0\0\n"),
};

START_TEST(test_hostile_edits)
{
	struct lookup_stats st;
	char *text, *at, *bad;
	size_t fl = strlen(edits[_i].from), nl = edits[_i].tolen, head, rest;

	sample(&st);
	text = lookup_stats_encode(&st);
	at = strstr(text, edits[_i].from);
	ck_assert_msg(at != NULL, "edit %d: no %s", _i, edits[_i].from);
	head = (size_t)(at - text);
	rest = strlen(at + fl);
	bad = malloc(head + nl + rest + 1);
	memcpy(bad, text, head);
	memcpy(bad + head, edits[_i].to, nl);
	memcpy(bad + head + nl, at + fl, rest);
	put(bad, head + nl + rest);
	ck_assert_msg(read_back() == -1, "edit %d taken", _i);
	free(bad);
	free(text);
}
END_TEST

START_TEST(test_hostile_files)
{
	char *path = NULL, *big = malloc(LOOKUP_STATS_MAX * 2);
	struct lookup_stats st;
	char *err = NULL;

	ck_assert_int_ne(asprintf(&path, "%s/%s", dir, LOOKUP_STATS_FILE), -1);
	unlink(path);
	ck_assert_int_eq(read_back(), 1); /* absent: no error */
	put("", 0);
	ck_assert_int_eq(read_back(), -1);
	memset(big, 'a', LOOKUP_STATS_MAX * 2); /* one long line */
	put(big, LOOKUP_STATS_MAX * 2);
	ck_assert_int_eq(read_back(), -1);
	free(big);
	/* A symlink to a good file is refused (O_NOFOLLOW). */
	sample(&st);
	ck_assert_int_eq(lookup_stats_write(dir, &st, &err), 0);
	{
		char *real = NULL;

		ck_assert_int_ne(asprintf(&real, "%s/real", dir), -1);
		ck_assert_int_eq(rename(path, real), 0);
		ck_assert_int_eq(symlink(real, path), 0);
		ck_assert_int_eq(read_back(), -1);
		unlink(path);
		unlink(real);
		free(real);
	}
	/* A directory in its place. */
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(read_back(), -1);
	rmdir(path);
	free(path);
}
END_TEST

/* The writer never follows a link planted at its temporary name. */
START_TEST(test_write_no_follow)
{
	char *tmp = NULL, *victim = NULL, *err = NULL;
	struct lookup_stats st;
	struct stat sb;

	ck_assert_int_ne(asprintf(&tmp, "%s/.%s.%ld", dir, LOOKUP_STATS_FILE, (long)getpid()), -1);
	ck_assert_int_ne(asprintf(&victim, "%s/victim", dir), -1);
	ck_assert_int_eq(symlink(victim, tmp), 0);
	sample(&st);
	/* A stale name of ours is removed once and made anew, never followed. */
	ck_assert_int_eq(lookup_stats_write(dir, &st, &err), 0);
	ck_assert_int_eq(stat(victim, &sb), -1);
	ck_assert_int_eq(lookup_stats_write("/nonexistent/dir", &st, &err), -1);
	ck_assert_ptr_nonnull(err);
	free(err);
	free(tmp);
	free(victim);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_TEST(test_record_buckets), CK_TEST(test_roundtrip_file),
		CK_LOOP(test_hostile_edits, edits), CK_TEST(test_hostile_files),
		CK_TEST(test_write_no_follow),
	};

	return tu_run_in_tmpdir(CK_SUITE("lookup_stats", "lookup_stats", 0, tests), dir);
}
