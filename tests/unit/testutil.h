/*
 * testutil - what the check-based unit tests share beyond ckmain.h: a
 * private temporary directory (made fresh, removed with everything in it
 * without a shell), a whole run inside one, and a configuration built from
 * a printf format. Linked into every unit test (tests/part.mk).
 *
 * The helpers that can fail inside a test fail that test (ck_assert), so a
 * test needs no error path of its own for its scaffolding.
 */
#ifndef FEDMIG_TESTUTIL_H
#define FEDMIG_TESTUTIL_H

#include <stddef.h>

#include <check.h>

#include "config.h"
#include "store.h"

/* tu_tmpdir: make a fresh directory "/tmp/PREFIX-XXXXXX" in DIR (DIRSZ
 * bytes) and put the name of a database in it, "DIR/t.db", in DB (DBSZ
 * bytes). For a checked fixture's setup. */
void tu_tmpdir(char *dir, size_t dirsz, const char *prefix, char *db, size_t dbsz);

/* tu_rmtree: remove DIR and everything below it, following no link.
 * Returns 0, or -1 when something could not be removed. */
int tu_rmtree(const char *dir);

/* tu_rm_db: remove the SQLite database PATH and its -wal and -shm files. */
void tu_rm_db(const char *path);
/* tu_store_fresh: a new, empty store DIR/t.db, opened read-write (fails
 * the test when it cannot be). */
struct store *tu_store_fresh(const char *dir);
/* tu_store_sql: run Q on DIR/t.db beside the store (rows another process
 * writes in real life), failing the test on an error. */
void tu_store_sql(const char *dir, const char *q);

/*
 * The store tests on PostgreSQL: with FEDMIG_TEST_STATE_DATABASE set to a
 * postgresql:// URL (its password in the 0600 file
 * FEDMIG_TEST_STATE_DATABASE_PASSWORD_FILE), tu_store_open() opens that
 * database wherever a test opens a store file PATH. PATH stays a marker
 * with SQLite's meaning: a read-write open of a PATH that does not exist
 * empties the database (its schema dropped, so the store creates it
 * again) and creates PATH; tu_rm_db(PATH) removes it, so the next open is
 * of a new database; a read-only open needs PATH. tests/integ/store_pg.sh
 * runs the store tests so, one at a time (they share the database).
 */
/* tu_pg_url: the URL, or NULL (SQLite files). */
const char *tu_pg_url(void);
/* tu_store_open: store_open(PATH, ...), or the PostgreSQL database. */
struct store *tu_store_open(const char *path, enum store_mode mode, int busy_ms, char **err_r);
/* tu_exec: run Q on S's connection, failing the test on an error. */
void tu_exec(struct store *s, const char *q);
/* tu_exec_rc: Q on S's connection; 0, or -1 when the database refused it. */
int tu_exec_rc(struct store *s, const char *q);
/* tu_one: column 0 of the first row of Q on S's connection (-1: no row). */
long long tu_one(struct store *s, const char *q);
/* tu_old_store: a database at PATH made by SQLITE_SQL (an old schema and
 * its rows, SQLite's types; on PostgreSQL with the types the store's
 * schema uses there), for an upgrade test. */
void tu_old_store(const char *path, const char *sqlite_sql);
/* tu_zeroblob32: an SQL expression of 32 zero bytes on the tests' backend. */
const char *tu_zeroblob32(void);
/* tu_pg_sql: run Q on the PostgreSQL database on a connection of its own. */
void tu_pg_sql(const char *q);

/* tu_run_in_tmpdir: a test's main() when its tests share one directory for
 * the whole run: mkdtemp(TEMPLATE) (the name is left in TEMPLATE), run the
 * suite (ck_run), remove the directory. Returns the exit status: 0 only
 * when every test passed and the directory was made and removed. */
int tu_run_in_tmpdir(Suite *s, char *template);

/* tu_config: the configuration parsed from the text FMT formats (as
 * "test.conf"); fails the test when it does not parse. */
struct config *tu_config(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* tu_feed_fn: a parser's feed function, its status as an int. */
typedef int tu_feed_fn(void *parser, const char *chunk, size_t len, size_t *used_r);

/* tu_feed_bytewise: IN (LEN bytes) to FEED one byte at a time until it
 * answers other than MORE; every byte must be taken. When DONE, the
 * answer must come at the last byte. I and NAME: the case, for the
 * messages. Returns the last answer (MORE when there was none). */
int tu_feed_bytewise(tu_feed_fn *feed, void *parser, const char *in, size_t len, int more,
		     int done, int i, const char *name);

#endif
