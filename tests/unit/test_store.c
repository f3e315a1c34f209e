/* The store: schema, import rules, lookups, the switch (on either backend,
 * testutil.h); the SQLite file's damage and replacement (SQLite only). */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store.h"
#include "store_int.h"
#include "ckmain.h"
#include "testutil.h"

static char dir[64], path[128];
static int nerrors;
static char lasterr[512];

static void setup(void)
{
	tu_tmpdir(dir, sizeof(dir), "fedmig-store", path, sizeof(path));
	nerrors = 0;
}

static void teardown(void)
{
	tu_rm_db(path);
	rmdir(dir);
}

static void on_err(void *ctx, int line, const char *why)
{
	nerrors++;
	snprintf(lasterr, sizeof(lasterr), "%d: %s", line, why);
}

static struct store *open_rw(void)
{
	char *err = NULL;
	struct store *s = tu_store_open(path, STORE_RDWR, 1000, &err);

	ck_assert_msg(s != NULL, "%s", err);
	return s;
}

static const char *const alice_aliases[] = {"a.smith@example.org", "smith@example.org"};
static const struct dir_row rows[] = {
	{"alice@example.org", "s1", "alice@s1.example.org", alice_aliases, 2, 2},
	{"bob@example.org", "s1", "bob@s1.example.org", NULL, 0, 3},
};

START_TEST(test_open_and_schema)
{
	char *err = NULL;
	struct store *s;

	ck_assert(tu_store_open(path, STORE_RDONLY, 100, &err) == NULL);
	free(err);
	s = open_rw();
	ck_assert_int_ge(store_schema_version(s), 1);
	ck_assert_int_eq(store_check(s), STORE_OK);
	store_close(&s);
	ck_assert(s == NULL);
	s = tu_store_open(path, STORE_RDONLY, 100, &err);
	ck_assert_msg(s != NULL, "%s", err);
	store_close(&s);
	/* Reopening read-write does not re-apply the schema. */
	s = open_rw();
	store_close(&s);
}
END_TEST

START_TEST(test_import_lookup)
{
	struct store *s = open_rw();
	struct dir_import_result r;
	struct dir_entry e;
	char out[ADDR_MAX];

	ck_assert_int_eq(store_dir_import(s, rows, 2, 0, &r, on_err, NULL), STORE_OK);
	ck_assert_uint_eq(r.added, 2);
	ck_assert_int_eq(store_dir_lookup(s, "alice@example.org", &e), STORE_OK);
	ck_assert_int_eq(e.match, DIR_ACCESS);
	ck_assert_str_eq(e.physical, "alice@s1.example.org");
	ck_assert_int_eq(store_dir_lookup(s, "smith@example.org", &e), STORE_OK);
	ck_assert_int_eq(e.match, DIR_ALIAS);
	ck_assert_str_eq(e.access, "alice@example.org");
	ck_assert_int_eq(store_dir_lookup(s, "alice@s1.example.org", &e), STORE_OK);
	ck_assert_int_eq(e.match, DIR_PHYSICAL);
	ck_assert_int_eq(store_dir_lookup(s, "nobody@example.org", &e), STORE_NOTFOUND);
	ck_assert_int_eq(store_dir_rewrite(s, "a.smith@example.org", out), STORE_OK);
	ck_assert_str_eq(out, "alice@s1.example.org");
	ck_assert_int_eq(store_dir_rewrite(s, "alice@s1.example.org", out), STORE_NOTFOUND);

	/* The same rows again change nothing. */
	ck_assert_int_eq(store_dir_import(s, rows, 2, 0, &r, on_err, NULL), STORE_OK);
	ck_assert_uint_eq(r.unchanged, 2);
	ck_assert_uint_eq(r.added + r.updated, 0);
	store_close(&s);
}
END_TEST

/* store_dir_lookup_next: the rewritten address's own answer is vouched
 * for only when nothing but this row can answer for it. */
START_TEST(test_lookup_next)
{
	struct store *s = open_rw();
	struct dir_import_result r;
	struct dir_entry e;
	char out[ADDR_MAX];
	int next = -1;

	ck_assert_int_eq(store_dir_import(s, rows, 2, 0, &r, on_err, NULL), STORE_OK);
	/* What the import refuses, made by hand: carol's alias is dave's
	 * physical address; erin's physical address is an access address. */
	tu_exec(s, "INSERT INTO directory(access, system, physical, updated) VALUES "
		   "('carol@example.org', 's1', 'carol@s1.example.org', 1), "
		   "('dave@example.org', 's1', 'dave@s1.example.org', 1), "
		   "('erin@example.org', 's1', 'erin2@example.org', 1), "
		   "('erin2@example.org', 's1', 'erin2@s1.example.org', 1)");
	tu_exec(s, "INSERT INTO aliases(alias, access) VALUES "
		   "('dave@s1.example.org', 'carol@example.org'), "
		   "('dv@example.org', 'dave@example.org')");
	ck_assert_int_eq(store_dir_lookup_next(s, "alice@example.org", &e, &next), STORE_OK);
	ck_assert_int_eq(e.match, DIR_ACCESS);
	ck_assert_str_eq(e.physical, "alice@s1.example.org");
	ck_assert_int_eq(next, 1);
	ck_assert_int_eq(store_dir_rewrite(s, "alice@s1.example.org", out), STORE_NOTFOUND);
	ck_assert_int_eq(store_dir_lookup_next(s, "dave@example.org", &e, &next), STORE_OK);
	ck_assert_int_eq(next, 0);
	ck_assert_int_eq(store_dir_rewrite(s, "dave@s1.example.org", out), STORE_OK);
	ck_assert_str_eq(out, "carol@s1.example.org");
	ck_assert_int_eq(store_dir_lookup_next(s, "erin@example.org", &e, &next), STORE_OK);
	ck_assert_int_eq(next, 0);
	ck_assert_int_eq(store_dir_rewrite(s, "erin2@example.org", out), STORE_OK);
	/* An alias vouches for its mailbox's physical address too... */
	ck_assert_int_eq(store_dir_lookup_next(s, "smith@example.org", &e, &next), STORE_OK);
	ck_assert_int_eq(e.match, DIR_ALIAS);
	ck_assert_str_eq(e.access, "alice@example.org");
	ck_assert_int_eq(next, 1);
	/* ...unless it is named elsewhere (dave's is carol's alias). */
	ck_assert_int_eq(store_dir_lookup_next(s, "dv@example.org", &e, &next), STORE_OK);
	ck_assert_int_eq(e.match, DIR_ALIAS);
	ck_assert_str_eq(e.access, "dave@example.org");
	ck_assert_int_eq(next, 0);
	/* The order of store_dir_lookup(): an alias before a physical address. */
	ck_assert_int_eq(store_dir_lookup_next(s, "dave@s1.example.org", &e, &next), STORE_OK);
	ck_assert_int_eq(e.match, DIR_ALIAS);
	ck_assert_str_eq(e.access, "carol@example.org");
	/* Physical and former addresses vouch for nothing. */
	ck_assert_int_eq(store_dir_lookup_next(s, "alice@s1.example.org", &e, &next), STORE_OK);
	ck_assert_int_eq(e.match, DIR_PHYSICAL);
	ck_assert_int_eq(next, 0);
	ck_assert_int_eq(store_dir_lookup_next(s, "nobody@example.org", &e, &next), STORE_NOTFOUND);
	ck_assert_int_eq(next, 0);
	/* Every key: the same entry and match as store_dir_lookup(). */
	static const char *const keys[] = {
		"alice@example.org", "smith@example.org", "a.smith@example.org",
		"alice@s1.example.org", "bob@example.org", "bob@s1.example.org",
		"carol@example.org", "dave@example.org", "dave@s1.example.org", "dv@example.org",
		"erin@example.org", "erin2@example.org", "erin2@s1.example.org", "nobody@example.org",
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		struct dir_entry a, b;
		int ra = store_dir_lookup(s, keys[i], &a), rb = store_dir_lookup_next(s, keys[i], &b, &next);

		ck_assert_msg(ra == rb, "%s: %d %d", keys[i], ra, rb);
		if (ra == STORE_OK) {
			ck_assert_str_eq(a.access, b.access);
			ck_assert_int_eq(a.match, b.match);
		}
	}
	store_close(&s);
}
END_TEST

START_TEST(test_import_conflicts)
{
	struct store *s = open_rw();
	struct dir_import_result r;
	long long n;
	static const char *const steal[] = {"smith@example.org"};
	static const struct dir_row bad[] = {
		{"carol@example.org", "s2", "carol@s2.example.org", NULL, 0, 5},
		{"dave@example.org", "s2", "dave@s2.example.org", steal, 1, 6},
	};
	static const struct dir_row phys[] = {
		{"erin@example.org", "s1", "alice@s1.example.org", NULL, 0, 9},
	};

	ck_assert_int_eq(store_dir_import(s, rows, 2, 0, &r, on_err, NULL), STORE_OK);
	ck_assert_int_eq(store_dir_import(s, bad, 2, 0, &r, on_err, NULL), STORE_ERR);
	ck_assert_int_eq(nerrors, 1);
	ck_assert_msg(strstr(lasterr, "6: alias smith@example.org is already the alias of "
				      "alice@example.org") != NULL, "%s", lasterr);
	/* All or nothing: carol (a good row) was not added either. */
	ck_assert_int_eq(store_dir_count(s, &n), STORE_OK);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(store_dir_import(s, phys, 1, 0, &r, on_err, NULL), STORE_ERR);
	ck_assert_msg(strstr(lasterr, "physical address alice@s1.example.org") != NULL, "%s",
		      lasterr);
	/* Dry run: counts, writes nothing. */
	ck_assert_int_eq(store_dir_import(s, bad, 1, 1, &r, on_err, NULL), STORE_OK);
	ck_assert_uint_eq(r.added, 1);
	ck_assert_int_eq(store_dir_count(s, &n), STORE_OK);
	ck_assert_int_eq(n, 2);
	store_close(&s);
}
END_TEST

START_TEST(test_switch)
{
	struct store *s = open_rw();
	struct dir_import_result r;
	struct dir_entry e;
	char out[ADDR_MAX];
	int next = -1;
	static const struct dir_row moved[] = {
		{"alice@example.org", "s2", "alice@s2.example.org", NULL, 0, 2},
	};

	ck_assert_int_eq(store_dir_import(s, rows, 2, 0, &r, on_err, NULL), STORE_OK);
	ck_assert_int_eq(store_dir_hold(s, "alice@example.org", 7, 1000), STORE_OK);
	/* Held: the alias and the physical address are held too. */
	ck_assert_int_eq(store_dir_lookup(s, "a.smith@example.org", &e), STORE_OK);
	ck_assert_int_eq(e.held, 1);
	ck_assert_int_eq(e.request_id, 7);
	ck_assert_int_eq(store_dir_lookup(s, "alice@s1.example.org", &e), STORE_OK);
	ck_assert_int_eq(e.held, 1);
	/* An entry being migrated is not changed by an import. */
	ck_assert_int_eq(store_dir_import(s, moved, 1, 0, &r, on_err, NULL), STORE_ERR);
	ck_assert(strstr(lasterr, "being migrated") != NULL);
	ck_assert_int_eq(store_dir_hold(s, "nobody@example.org", 7, 1000), STORE_NOTFOUND);

	ck_assert_int_eq(store_dir_switch(s, "alice@example.org", "s2", "alice@s2.example.org", 7,
					  2000),
			 STORE_OK);
	ck_assert_int_eq(store_dir_lookup(s, "alice@example.org", &e), STORE_OK);
	ck_assert_int_eq(e.held, 0);
	ck_assert_int_eq(e.switched_at, 2000);
	ck_assert_str_eq(e.physical, "alice@s2.example.org");
	/* The old physical address forwards to the new one. */
	ck_assert_int_eq(store_dir_lookup(s, "alice@s1.example.org", &e), STORE_OK);
	ck_assert_int_eq(e.match, DIR_FORMER);
	ck_assert_int_eq(store_dir_lookup_next(s, "alice@s1.example.org", &e, &next), STORE_OK);
	ck_assert_int_eq(e.match, DIR_FORMER);
	ck_assert_int_eq(next, 0);
	ck_assert_int_eq(store_dir_lookup_next(s, "alice@example.org", &e, &next), STORE_OK);
	ck_assert_str_eq(e.physical, "alice@s2.example.org");
	ck_assert_int_eq(next, 1);
	ck_assert_int_eq(store_dir_rewrite(s, "alice@s1.example.org", out), STORE_OK);
	ck_assert_str_eq(out, "alice@s2.example.org");
	ck_assert_int_eq(store_dir_rewrite(s, "smith@example.org", out), STORE_OK);
	ck_assert_str_eq(out, "alice@s2.example.org");

	/* Rollback: back to s1; s2's address now forwards to s1. */
	ck_assert_int_eq(store_dir_switch(s, "alice@example.org", "s1", "alice@s1.example.org", 7,
					  3000),
			 STORE_OK);
	ck_assert_int_eq(store_dir_lookup(s, "alice@s1.example.org", &e), STORE_OK);
	ck_assert_int_eq(e.match, DIR_PHYSICAL);
	ck_assert_int_eq(store_dir_rewrite(s, "alice@s2.example.org", out), STORE_OK);
	ck_assert_str_eq(out, "alice@s1.example.org");

	ck_assert_int_eq(store_held_add(s, "4Xyz1", 7, "alice@example.org", 1500), STORE_OK);
	ck_assert_int_eq(store_held_add(s, "4Xyz1", 7, "alice@example.org", 1500), STORE_OK);
	store_close(&s);
}
END_TEST

START_TEST(test_readonly_cannot_write)
{
	struct store *s = open_rw();
	struct dir_import_result r;
	char *err = NULL;

	ck_assert_int_eq(store_dir_import(s, rows, 2, 0, &r, on_err, NULL), STORE_OK);
	store_close(&s);
	s = tu_store_open(path, STORE_RDONLY, 100, &err);
	ck_assert(s != NULL);
	ck_assert_int_eq(store_dir_hold(s, "alice@example.org", 1, 1), STORE_ERR);
	ck_assert(*store_errmsg(s));
	store_close(&s);
}
END_TEST

/*
 * A row another connection holds locked, on PostgreSQL: the store's own
 * transaction waits at most busy_ms per try (lock_timeout), runs again a
 * bounded number of times, then fails as a temporary error; never a
 * guess, never "not found". Once the lock is gone it goes through.
 */
START_TEST(test_lock_timeout_retried)
{
	struct store *s = open_rw(), *other, *r;
	struct dir_import_result res;
	struct timespec t0, t1;
	char *err = NULL;
	double ms;

	ck_assert_int_eq(store_dir_import(s, rows, 2, 0, &res, on_err, NULL), STORE_OK);
	other = tu_store_open(path, STORE_RDWR, 100, &err);
	r = tu_store_open(path, STORE_RDWR, 100, &err);
	ck_assert_msg(other != NULL && r != NULL, "%s", err);
	ck_assert_int_eq(store_begin(other), STORE_OK);
	ck_assert_int_eq(store_dir_hold(other, "alice@example.org", 1, 1), STORE_OK);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(store_dir_hold(r, "alice@example.org", 2, 2), STORE_ERR);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	ck_assert_msg(strstr(store_errmsg(r), "lock") != NULL, "%s", store_errmsg(r));
	/* 1 + STORE_RETRY_MAX tries of 100 ms each, and the back-offs. */
	ck_assert_msg(ms >= (1 + STORE_RETRY_MAX) * 100 && ms < 5000, "%.0f ms", ms);
	ck_assert_int_eq(store_rollback(other), STORE_OK);
	ck_assert_int_eq(store_dir_hold(r, "alice@example.org", 2, 2), STORE_OK);
	store_close(&other);
	store_close(&r);
	store_close(&s);
}
END_TEST

/* slurp/spill: the whole file, to restore it in place as cp would. */
static char *slurp(size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	char *buf;

	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	*len_r = (size_t)ftell(f);
	rewind(f);
	buf = malloc(*len_r);
	ck_assert_uint_eq(fread(buf, 1, *len_r, f), *len_r);
	fclose(f);
	return buf;
}

static void spill(const char *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_TRUNC); /* same inode, like cp */

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

/*
 * A database truncated in place under an open handle (a backup restored
 * with cp, rsync --inplace, truncate): every lookup is an error, none a
 * stale answer from the page cache, and the same handle answers right
 * again once the file is whole. Before the fix the file was mapped
 * (mmap_size 256 MiB: a read past the new end, in a read transaction the
 * truncation overtook, is a SIGBUS), and a file replaced under the handle
 * was read on as if nothing happened.
 */
START_TEST(test_truncated_in_place)
{
	enum { N = 3000 };
	static struct dir_row many[N];
	static char acc[N][48], phys[N][48];
	struct dir_import_result res;
	struct dir_entry e;
	struct store *s = open_rw(), *r;
	char *err = NULL, *saved;
	size_t len;
	sqlite3_stmt *st;

	for (int i = 0; i < N; i++) {
		snprintf(acc[i], sizeof(acc[i]), "user%d@example.org", i);
		snprintf(phys[i], sizeof(phys[i]), "user%d@s1.example.org", i);
		many[i] = (struct dir_row){acc[i], "s1", phys[i], NULL, 0, i + 2};
	}
	ck_assert_int_eq(store_dir_import(s, many, N, 0, &res, on_err, NULL), STORE_OK);
	store_close(&s); /* the last close checkpoints: all in the file */
	saved = slurp(&len);
	ck_assert_uint_gt(len, 65536);

	r = store_open(path, STORE_RDONLY, 100, &err);
	ck_assert_msg(r != NULL, "%s", err);
	ck_assert_int_eq(sqlite3_prepare_v2(store_db(r), "PRAGMA mmap_size", -1, &st, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int64(st, 0), 0);
	sqlite3_finalize(st);
	for (int i = 0; i < N; i += 7) /* the cache holds every page now */
		ck_assert_int_eq(store_dir_lookup(r, acc[i], &e), STORE_OK);

	ck_assert_int_eq(truncate(path, 8192), 0);
	for (int i = 0; i < N; i += 97)
		ck_assert_msg(store_dir_lookup(r, acc[i], &e) == STORE_ERR,
			      "lookup %d after truncation answered", i);
	ck_assert_msg(strstr(store_errmsg(r), "truncated") != NULL, "%s", store_errmsg(r));
	ck_assert_int_eq(truncate(path, 0), 0);
	ck_assert_int_eq(store_dir_lookup(r, acc[1], &e), STORE_ERR);
	ck_assert_msg(strstr(store_errmsg(r), "empty (0 bytes)") != NULL, "%s", store_errmsg(r));
	/* A writer (the milter opens read-write) must not write a new,
	 * empty directory into the emptied file: the lookups would find
	 * nothing, and Postfix would bounce mail as "User unknown". */
	s = store_open(path, STORE_RDWR, 100, &err);
	ck_assert_msg(s == NULL, "read-write open of an emptied database succeeded");
	ck_assert_msg(strstr(err, "empty (0 bytes)") != NULL, "%s", err);
	free(err);
	err = NULL;
	{
		struct stat st;

		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_int_eq(st.st_size, 0);
	}

	spill(saved, len);
	ck_assert_int_eq(store_dir_lookup(r, acc[5], &e), STORE_OK);
	ck_assert_str_eq(e.physical, phys[5]);

	/* Garbage of the same size: not a database. */
	memset(saved + 10, 'x', 100);
	spill(saved, len);
	ck_assert_int_eq(store_dir_lookup(r, acc[5], &e), STORE_ERR);
	store_close(&r);
	free(saved);
}
END_TEST

/* Replaced (mv) or removed: an error, so the caller reopens. */
START_TEST(test_replaced_or_removed)
{
	struct store *s = open_rw(), *r;
	struct dir_import_result res;
	struct dir_entry e;
	char *err = NULL, other[160];

	ck_assert_int_eq(store_dir_import(s, rows, 2, 0, &res, on_err, NULL), STORE_OK);
	store_close(&s);
	r = store_open(path, STORE_RDONLY, 100, &err);
	ck_assert_msg(r != NULL, "%s", err);
	ck_assert_int_eq(store_dir_lookup(r, "bob@example.org", &e), STORE_OK);
	snprintf(other, sizeof(other), "%s/other.db", dir);
	ck_assert_int_eq(link(path, other), 0);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(store_dir_lookup(r, "bob@example.org", &e), STORE_ERR);
	ck_assert_int_eq(rename(other, path), 0); /* the same inode back: fine */
	ck_assert_int_eq(store_dir_lookup(r, "bob@example.org", &e), STORE_OK);
	s = open_rw();
	store_close(&s);
	ck_assert_int_eq(link(path, other), 0);
	ck_assert_int_eq(unlink(path), 0);
	{
		char buf[4096];
		FILE *in = fopen(other, "rb"), *out = fopen(path, "wb");
		size_t n;

		while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
			fwrite(buf, 1, n, out);
		fclose(in);
		fclose(out);
	}
	ck_assert_int_eq(store_dir_lookup(r, "bob@example.org", &e), STORE_ERR);
	ck_assert_msg(strstr(store_errmsg(r), "replaced") != NULL, "%s", store_errmsg(r));
	store_close(&r);
	unlink(other);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_TEST(test_open_and_schema), CK_TEST(test_import_lookup), CK_TEST(test_lookup_next),
		CK_TEST(test_import_conflicts), CK_TEST(test_switch),
		CK_TEST(test_readonly_cannot_write),
	};
	/* These look into the SQLite file: not run on PostgreSQL. */
	const struct ck_test file_tests[] = {
		CK_TEST(test_truncated_in_place),
		CK_TEST(test_replaced_or_removed),
	};
	/* A row lock that waits is PostgreSQL's (SQLite waits at BEGIN). */
	const struct ck_test pg_tests[] = {
		CK_TEST(test_lock_timeout_retried),
	};
	Suite *s = suite_create("store");

	tcase_add_checked_fixture(CK_TCASE(s, "store", 0, tests), setup, teardown);
	if (tu_pg_url() != NULL)
		tcase_add_checked_fixture(CK_TCASE(s, "pg", 0, pg_tests), setup, teardown);
	if (tu_pg_url() == NULL)
		tcase_add_checked_fixture(CK_TCASE(s, "file", 0, file_tests), setup, teardown);
	return ck_run(s);
}
