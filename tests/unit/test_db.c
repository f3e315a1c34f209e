/*
 * lib/db.h on a real backend: SQLite in a private directory, or the
 * PostgreSQL database FEDMIG_TEST_DB names (a postgresql:// URL, its
 * password in FEDMIG_TEST_DB_PASSWORD_FILE), as tests/integ/db_backends.sh
 * runs it. With FEDMIG_TEST_PG_DIR set too, the server restart cases run
 * (tests/lab/pg restart DIR in the middle of a connection's life).
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ckmain.h"
#include "db.h"
#include "testutil.h"

static char dir[64], target[512];
static const char *pwfile;

static void setup(void)
{
	const char *url = getenv("FEDMIG_TEST_DB");

	dir[0] = '\0';
	pwfile = getenv("FEDMIG_TEST_DB_PASSWORD_FILE");
	if (url != NULL && *url != '\0') {
		snprintf(target, sizeof(target), "%s", url);
		return;
	}
	tu_tmpdir(dir, sizeof(dir), "test_db", target, sizeof(target));
}

static void teardown(void)
{
	if (dir[0] != '\0')
		tu_rmtree(dir);
}

static struct db *open_db(int busy_ms)
{
	struct db_opts o = {.busy_ms = busy_ms, .connect_s = 5, .password_file = pwfile};
	char *err = NULL;
	struct db *db = db_open(target, &o, &err);

	ck_assert_msg(db != NULL, "open %s: %s", target, err ? err : "?");
	if (db_backend(db) == DB_SQLITE)
		ck_assert_int_eq(db_exec(db, "PRAGMA journal_mode=WAL"), DB_DONE);
	return db;
}

static void ok(struct db *db, int rc, int want)
{
	ck_assert_msg(rc == want, "got %d, want %d: %s", rc, want, db_errmsg(db));
}

/* A fresh schema of the tests' tables, with each backend's blob type. */
static struct db *fresh(int busy_ms)
{
	struct db *db = open_db(busy_ms);
	int pg = db_backend(db) == DB_PG;

	ok(db, db_exec(db, "DROP TABLE IF EXISTS t_val; DROP TABLE IF EXISTS t_kv"), DB_DONE);
	ok(db, db_exec(db, pg ? "CREATE TABLE t_val(id BIGINT PRIMARY KEY, i BIGINT, s TEXT, b BYTEA)"
			      : "CREATE TABLE t_val(id INTEGER PRIMARY KEY, i INTEGER, s TEXT, b BLOB)"),
	   DB_DONE);
	ok(db, db_exec(db, "CREATE TABLE IF NOT EXISTS t_kv(k TEXT PRIMARY KEY, v BIGINT NOT NULL)"),
	   DB_DONE);
	ok(db, db_exec(db, "CREATE TABLE IF NOT EXISTS t_kv(k TEXT PRIMARY KEY, v BIGINT NOT NULL)"),
	   DB_DONE);
	ok(db, db_exec(db, "INSERT INTO t_kv(k, v) VALUES('n', 0)"), DB_DONE);
	return db;
}

static int64_t kv_get(struct db *db, const char *k)
{
	struct db_stmt *st = db_prepare(db, "SELECT v FROM t_kv WHERE k = ?1");
	int64_t v;

	ck_assert_msg(st != NULL, "%s", db_errmsg(db));
	ok(db, db_bind_text(st, 1, k), DB_DONE);
	ok(db, db_step(st), DB_ROW);
	v = db_column_int64(st, 0);
	ok(db, db_step(st), DB_DONE);
	ok(db, db_reset(st), DB_DONE);
	return v;
}

static int kv_set(struct db *db, const char *k, int64_t v)
{
	struct db_stmt *st = db_prepare(db, "INSERT INTO t_kv(k, v) VALUES(?1, ?2) "
					    "ON CONFLICT(k) DO UPDATE SET v = excluded.v");

	if (st == NULL)
		return DB_ERR;
	db_bind_text(st, 1, k);
	db_bind_int64(st, 2, v);
	return db_step(st);
}

START_TEST(test_schema_and_cache)
{
	struct db *db = fresh(200);
	struct db_stmt *a, *b;

	a = db_prepare(db, "INSERT INTO t_kv(k, v) VALUES(?1, 1) ON CONFLICT DO NOTHING");
	ck_assert_ptr_nonnull(a);
	ok(db, db_bind_text(a, 1, "n"), DB_DONE);
	ok(db, db_step(a), DB_DONE);
	ck_assert_int_eq(db_changes(db), 0);
	b = db_prepare(db, "INSERT INTO t_kv(k, v) VALUES(?1, 1) ON CONFLICT DO NOTHING");
	ck_assert_ptr_eq(a, b);
	ok(db, db_bind_text(b, 1, "m"), DB_DONE);
	ok(db, db_step(b), DB_DONE);
	ck_assert_int_eq(db_changes(db), 1);
	ok(db, kv_set(db, "m", 7), DB_DONE);
	ck_assert_int_eq(kv_get(db, "m"), 7);
	ok(db, db_exec(db, "UPDATE t_kv SET v = v + 1"), DB_DONE);
	ck_assert_int_eq(db_changes(db), 2);
	/* A read in between leaves the count of the last write. */
	ck_assert_int_eq(kv_get(db, "m"), 8);
	ck_assert_int_eq(db_changes(db), 2);
	/* A statement the backend refuses: an error, never a crash. */
	ck_assert_ptr_null(db_prepare(db, "SELECT nosuchcolumn FROM t_kv"));
	ck_assert_int_eq(db_err_temporary(db), 0);
	ck_assert_ptr_null(db_prepare(db, "SELECT ?2"));
	db_close(&db);
	ck_assert_ptr_null(db);
}
END_TEST

START_TEST(test_types)
{
	static const unsigned char bin[] = {0, 1, 0xff, '\'', '\\', 'x', 0, 0x80};
	static const char text[] = "l'été \"?1\" $1 \\x00 -- /*";
	struct db *db = fresh(200);
	struct db_stmt *st = db_prepare(db, "INSERT INTO t_val(id, i, s, b) VALUES(?1, ?2, ?3, ?4)");
	const int64_t ints[] = {INT64_MIN, -1, 0, INT64_MAX};
	const void *p;
	size_t n;

	ck_assert_ptr_nonnull(st);
	for (int k = 0; k < 4; k++) {
		db_bind_int64(st, 1, k);
		db_bind_int64(st, 2, ints[k]);
		k == 3 ? db_bind_null(st, 3) : db_bind_text(st, 3, k == 2 ? "" : text);
		k == 3 ? db_bind_null(st, 4) : db_bind_blob(st, 4, bin, k == 2 ? 0 : sizeof(bin));
		ok(db, db_step(st), DB_DONE);
		ok(db, db_reset(st), DB_DONE);
	}
	st = db_prepare(db, "SELECT id, i, s, b FROM t_val ORDER BY id");
	for (int k = 0; k < 4; k++) {
		ok(db, db_step(st), DB_ROW);
		ck_assert_int_eq(db_column_count(st), 4);
		ck_assert_int_eq(db_column_int64(st, 0), k);
		ck_assert(db_column_int64(st, 1) == ints[k]);
		ck_assert_int_eq(db_column_null(st, 2), k == 3);
		ck_assert_str_eq(db_column_text(st, 2), k == 2 || k == 3 ? "" : text);
		p = db_column_blob(st, 3, &n);
		ck_assert_uint_eq(n, k >= 2 ? 0 : sizeof(bin));
		ck_assert(memcmp(p, bin, n) == 0);
		ck_assert_int_eq(db_column_null(st, 3), k == 3);
	}
	ok(db, db_step(st), DB_DONE);
	ok(db, db_reset(st), DB_DONE);
	/* Text that is no integer, read as one: an error, not a 0. */
	st = db_prepare(db, "SELECT s FROM t_val WHERE id = 0");
	ok(db, db_step(st), DB_ROW);
	ck_assert_int_eq(db_column_int64(st, 0), 0);
	ck_assert_int_eq(db_step(st), DB_ERR);
	ck_assert_int_eq(db_reset(st), DB_ERR);
	ck_assert_ptr_nonnull(strstr(db_errmsg(db), "not an integer"));
	/* A comparison is 0 or 1 on both (a boolean on PostgreSQL). */
	st = db_prepare(db, "SELECT i > 0, count(*) FROM t_val WHERE id = ?1 GROUP BY i");
	db_bind_int64(st, 1, 3);
	ok(db, db_step(st), DB_ROW);
	ck_assert_int_eq(db_column_int64(st, 0), 1);
	ck_assert_int_eq(db_column_int64(st, 1), 1);
	ok(db, db_reset(st), DB_DONE);
	db_close(&db);
}
END_TEST

/* ?N inside quotes and comments is text, outside a parameter. */
START_TEST(test_placeholders_in_quotes)
{
	struct db *db = fresh(200);
	struct db_stmt *st = db_prepare(db, "SELECT '?1 it''s', ?1, \"we?2ird\" -- ?3\n"
					    "FROM (SELECT ?2 AS \"we?2ird\") x /* ?9 */");

	ck_assert_msg(st != NULL, "%s", db_errmsg(db));
	db_bind_text(st, 1, "one");
	db_bind_text(st, 2, "two");
	ok(db, db_step(st), DB_ROW);
	ck_assert_str_eq(db_column_text(st, 0), "?1 it's");
	ck_assert_str_eq(db_column_text(st, 1), "one");
	ck_assert_str_eq(db_column_text(st, 2), "two");
	ok(db, db_reset(st), DB_DONE);
	db_close(&db);
}
END_TEST

START_TEST(test_transactions)
{
	struct db *db = fresh(200);

	ok(db, db_begin(db), DB_DONE);
	ck_assert_int_eq(db_in_tx(db), 1);
	ck_assert_int_eq(db_begin(db), DB_ERR);
	ok(db, kv_set(db, "a", 1), DB_DONE);
	ok(db, db_rollback(db), DB_DONE);
	ck_assert_int_eq(db_in_tx(db), 0);
	ok(db, db_begin(db), DB_DONE);
	ok(db, kv_set(db, "b", 2), DB_DONE);
	ok(db, db_commit(db), DB_DONE);
	struct db_stmt *st = db_prepare(db, "SELECT count(*) FROM t_kv WHERE k IN ('a', 'b')");

	ok(db, db_step(st), DB_ROW);
	ck_assert_int_eq(db_column_int64(st, 0), 1);
	ok(db, db_reset(st), DB_DONE);
	ck_assert_int_eq(kv_get(db, "b"), 2);
	ck_assert_int_eq(db_commit(db), DB_ERR);
	db_close(&db);
}
END_TEST

/*
 * Two writers read n and write n + 1. The second must fail with a
 * temporary error (SQLite: at BEGIN IMMEDIATE; PostgreSQL: at its write,
 * a serialization failure) and n must count the commits: no lost update.
 */
START_TEST(test_conflict_read_write)
{
	struct db *a = fresh(200), *b = open_db(200);
	int64_t va, vb = -1;
	int brc;

	ok(a, db_begin(a), DB_DONE);
	va = kv_get(a, "n");
	brc = db_begin(b);
	if (brc == DB_DONE)
		vb = kv_get(b, "n");
	ok(a, kv_set(a, "n", va + 1), DB_DONE);
	ok(a, db_commit(a), DB_DONE);
	if (brc == DB_DONE) {
		ck_assert_int_eq(vb, 0);
		brc = kv_set(b, "n", vb + 1);
		if (brc != DB_ERR)
			brc = db_commit(b);
		else
			db_rollback(b);
	}
	ck_assert_msg(brc == DB_ERR && db_err_temporary(b), "second writer: rc %d, %s", brc,
		      db_errmsg(b));
	ck_assert_int_eq(kv_get(a, "n"), 1);
	ck_assert_int_eq(kv_get(b, "n"), 1);
	db_close(&a);
	db_close(&b);
}
END_TEST

/* A writer blocked by another's lock gives up after busy_ms, temporary. */
START_TEST(test_conflict_lock_wait)
{
	struct db *a = fresh(200), *b = open_db(200);
	int brc;

	ok(a, db_begin(a), DB_DONE);
	ok(a, kv_set(a, "n", 5), DB_DONE);
	brc = db_begin(b);
	if (brc == DB_DONE) {
		brc = kv_set(b, "n", 6);
		db_rollback(b);
	}
	ck_assert_msg(brc == DB_ERR && db_err_temporary(b), "second writer: rc %d, %s", brc,
		      db_errmsg(b));
	ok(a, db_commit(a), DB_DONE);
	ck_assert_int_eq(kv_get(b, "n"), 5);
	db_close(&a);
	db_close(&b);
}
END_TEST

START_TEST(test_open_refused)
{
	static const char *const bad[] = {
		"postgresql://u:secret@127.0.0.1/db", "postgresql://127.0.0.1/db?sslmode=disable",
		"postgresql://127.0.0.1", "postgresql://127.0.0.1:0/db", "mysql://127.0.0.1/db",
		"postgresql://127.0.0.1:1/fedmig",
	};
	struct db_opts o = {.connect_s = 2};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *err = NULL;
		struct db *db = db_open(bad[i], &o, &err);

		ck_assert_msg(db == NULL, "%s opened", bad[i]);
		ck_assert_ptr_nonnull(err);
		ck_assert_msg(strstr(err, "secret") == NULL, "%s", err);
		free(err);
	}
}
END_TEST

static void pg_restart(void)
{
	const char *d = getenv("FEDMIG_TEST_PG_DIR");
	char script[512];
	pid_t pid;
	int status;

	snprintf(script, sizeof(script), "%s/tests/lab/pg", getenv("FEDMIG_TEST_ROOT"));
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		execl(script, script, "restart", d, (char *)NULL);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s restart failed", script);
}

/* The session lock: one holder; the holder asks again and gets it; a
 * bad name is refused before any file or server; closing releases it. */
START_TEST(test_session_lock)
{
	struct db *a = open_db(200), *b = open_db(200);

	ok(a, db_lock_held(a), 0);
	ok(a, db_lock_try(a, "pilot"), 1);
	ok(a, db_lock_try(a, "pilot"), 1);
	ok(a, db_lock_held(a), 1);
	ok(b, db_lock_try(b, "pilot"), 0);
	ok(b, db_lock_held(b), 0);
	ok(b, db_lock_try(b, "other"), 1); /* another name, another lock */
	ok(a, db_lock_try(a, "other"), DB_ERR); /* one name per connection */
	for (const char *const *bad = (const char *const[]){"", "Pilot", "../x", "a b", "a/b",
							  "123456789012345678901234567890123",
							  NULL};
	     *bad; bad++)
		ck_assert_int_eq(db_lock_try(b, *bad), DB_ERR);
	db_close(&a);
	db_close(&b);
	b = open_db(200);
	ok(b, db_lock_try(b, "pilot"), 1);
	if (db_backend(b) == DB_SQLITE) {
		char path[600], link[600];

		/* Beside the database, our pid in it; a link planted there is refused. */
		snprintf(path, sizeof(path), "%s.pilot-lock", target);
		ck_assert_int_eq(access(path, R_OK), 0);
		snprintf(link, sizeof(link), "%s.trap-lock", target);
		ck_assert_int_eq(symlink(path, link), 0);
		a = open_db(200);
		ck_assert_int_eq(db_lock_try(a, "trap"), DB_ERR);
		ck_assert_ptr_nonnull(strstr(db_errmsg(a), "symbolic link"));
		db_close(&a);
	}
	db_close(&b);
}
END_TEST

/* Outside a transaction: the first call after the restart fails,
 * temporary; the next reconnects and prepares its statement again. */
START_TEST(test_restart_idle)
{
	struct db *db = fresh(200);

	ok(db, kv_set(db, "n", 3), DB_DONE);
	pg_restart();
	ck_assert_int_eq(kv_set(db, "n", 4), DB_ERR);
	ck_assert_msg(db_err_temporary(db), "%s", db_errmsg(db));
	ck_assert_ptr_nonnull(strstr(db_errmsg(db), "lost"));
	ok(db, kv_set(db, "n", 4), DB_DONE);
	ck_assert_int_eq(kv_get(db, "n"), 4);
	db_close(&db);
}
END_TEST

/* A restart loses the advisory lock with the connection: the holder
 * learns it (db_lock_held 0) and another connection may take it. */
START_TEST(test_restart_lock)
{
	struct db *a = open_db(200), *b = open_db(200);

	ok(a, db_lock_try(a, "pilot"), 1);
	ok(b, db_lock_try(b, "pilot"), 0);
	pg_restart();
	ok(a, db_lock_held(a), 0);
	db_exec(b, "SELECT 1"); /* learns the connection was lost */
	ok(b, db_lock_try(b, "pilot"), 1);
	ok(a, db_lock_try(a, "pilot"), 0);
	db_close(&a);
	db_close(&b);
}
END_TEST

/* Inside one: every call fails until the rollback, nothing half-done. */
START_TEST(test_restart_in_tx)
{
	struct db *db = fresh(200);

	ok(db, db_begin(db), DB_DONE);
	ok(db, kv_set(db, "n", 9), DB_DONE);
	pg_restart();
	ck_assert_int_eq(kv_set(db, "x", 1), DB_ERR);
	ck_assert(db_err_temporary(db));
	ck_assert_int_eq(kv_set(db, "x", 1), DB_ERR);
	ck_assert_int_eq(db_exec(db, "SELECT 1"), DB_ERR);
	ck_assert_int_eq(db_commit(db), DB_ERR);
	ck_assert(db_err_temporary(db));
	ck_assert_int_eq(db_in_tx(db), 0);
	ck_assert_int_eq(kv_get(db, "n"), 0);
	ok(db, db_begin(db), DB_DONE);
	ok(db, kv_set(db, "n", 10), DB_DONE);
	ok(db, db_commit(db), DB_DONE);
	ck_assert_int_eq(kv_get(db, "n"), 10);
	db_close(&db);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_TEST(test_schema_and_cache), CK_TEST(test_types),
		CK_TEST(test_placeholders_in_quotes), CK_TEST(test_transactions),
		CK_TEST(test_conflict_read_write), CK_TEST(test_conflict_lock_wait),
		CK_TEST(test_open_refused), CK_TEST(test_session_lock),
	};
	const struct ck_test restarts[] = {
		CK_TEST(test_restart_idle),
		CK_TEST(test_restart_in_tx),
		CK_TEST(test_restart_lock),
	};
	Suite *s = suite_create("db");

	tcase_add_checked_fixture(CK_TCASE(s, "db", 30, tests), setup, teardown);
	if (getenv("FEDMIG_TEST_PG_DIR") != NULL && getenv("FEDMIG_TEST_ROOT") != NULL)
		tcase_add_checked_fixture(CK_TCASE(s, "restart", 60, restarts), setup, teardown);
	return ck_run(s);
}
