/*
 * store_int - for the store_*.c files only.
 *
 * The store runs on lib/db.h. store_prepare() returns a cached prepared
 * statement for SQL, which must be a string literal (the cache is keyed by
 * its address), reset and with bindings cleared; NULL with the error
 * recorded. store_fail() records the database error of the last call with
 * a context and returns STORE_ERR. store_migrations (store_schema.c) are
 * the schema versions in order, store_nmigrations of them: store.c applies
 * those above a database's, each in its backend's text.
 *
 * store_dbh() is the store's lib/db.h connection. store_db() is the
 * SQLite connection under it (NULL on another backend), for what only
 * SQLite has: store.c's file settings and the tests that look into a file.
 */
#ifndef FEDMIG_STORE_INT_H
#define FEDMIG_STORE_INT_H

#include <sqlite3.h>

#include "db.h"
#include "store.h"

sqlite3 *store_db(struct store *s);
struct db *store_dbh(struct store *s);
struct db_stmt *store_prepare(struct store *s, const char *sql);
int store_fail(struct store *s, const char *context);
void store_set_error(struct store *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* store_text: column I as a string, "" for NULL, copied into BUF of SIZE. */
void store_text(struct db_stmt *st, int i, char *buf, size_t size);
/* The directory's columns in the order store_read_entry() reads them. */
#define DIR_COLS "d.access, d.system, d.physical, d.held, d.held_since, d.switched_at, d.request_id"
void store_read_entry(struct db_stmt *st, struct dir_entry *r);
/* store_run: step ST to the end (no rows expected); STORE_ERR with CONTEXT. */
int store_run(struct store *s, struct db_stmt *st, const char *context);
/* store_run_id: step ST, an INSERT ... RETURNING id (portable, where
 * sqlite3_last_insert_rowid is not), to the end; its id into *ID_R. */
int store_run_id(struct store *s, struct db_stmt *st, long long *id_r, const char *context);
/* store_in_tx: 1 inside store_begin(). */
int store_in_tx(const struct store *s);
/*
 * store_own_begin/store_own_end: a write's own transaction unless the
 * caller has one open (*OWN says which). store_own_end() returns RC after
 * committing, or after rolling back when RC is STORE_ERR (the error
 * message kept); STORE_ERR when the commit fails.
 */
int store_own_begin(struct store *s, int *own);
int store_own_end(struct store *s, int own, int rc);
/*
 * store_own_retry: 1 when the transaction just ended by store_own_end()
 * was the store's own (OWN), failed (RC STORE_ERR) on a temporary error
 * (db_err_temporary: a serialization failure, a deadlock, a lock timeout,
 * SQLITE_BUSY) and *ATTEMPT (0 at first, counted here) is below
 * STORE_RETRY_MAX: after a short back-off (5 ms doubling, with a little
 * jitter), the caller runs the WHOLE transaction again:
 *
 *     do {
 *             if (store_own_begin(s, &own) < 0)
 *                     return STORE_ERR;
 *             rc = store_own_end(s, own, body(s, ...));
 *     } while (store_own_retry(s, own, rc, &attempt));
 *
 * Inside the caller's transaction it is 0: the error reaches the caller,
 * whose transaction it is to run again.
 */
#define STORE_RETRY_MAX 4
int store_own_retry(struct store *s, int own, int rc, int *attempt);
/*
 * STORE_OWN_RETRY: that loop as one statement: RC gets the result of the
 * transaction whose body is the expression BODY (evaluated again, from
 * the start, for each run).
 */
#define STORE_OWN_RETRY(s, rc, body)                                                   \
	do {                                                                           \
		int own_, attempt_ = 0;                                                \
		do {                                                                   \
			if (store_own_begin((s), &own_) < 0) {                         \
				(rc) = STORE_ERR;                                      \
				break;                                                 \
			}                                                              \
			(rc) = store_own_end((s), own_, (body));                       \
		} while (store_own_retry((s), own_, (rc), &attempt_));                 \
	} while (0)

/* store_sql: SQLITE_SQL or PG_SQL, by the store's backend (both literals). */
const char *store_sql(const struct store *s, const char *sqlite_sql, const char *pg_sql);
/* store_pg_collation_ok: 0 when the PostgreSQL database orders text by
 * bytes (C collation), as SQLite does; -1 with *ERR_R (caller frees). */
int store_pg_collation_ok(struct store *s, const char *path, char **err_r);

/*
 * STORE_WORD_IN(W, LIST): SQL true when the text W is one of the
 * space-separated words of LIST (both SQL expressions). Written with
 * replace(), which SQLite and PostgreSQL share (instr() is SQLite's,
 * strpos() PostgreSQL's; LIKE would read _ and % in W as wildcards).
 */
#define STORE_WORD_IN(W, LIST)                                                                \
	"replace(' ' || " LIST " || ' ', ' ' || " W " || ' ', '') <> ' ' || " LIST " || ' '"

/* store_list_of: column 0 of the rows of ST run with KEY bound to ?1,
 * space-separated, into *LIST_R (caller frees). */
int store_list_of(struct store *s, struct db_stmt *st, const char *key, char **list_r);
/* store_put_aliases: ACCESS's aliases become ALIASES (N of them). */
int store_put_aliases(struct store *s, const char *access, const char *const *aliases, size_t n);

/* A schema version: SQL for SQLite, PG_SQL for PostgreSQL where that text
 * does not run there (store_schema_pg.c); NULL: SQL runs on both. */
struct store_migration {
	int version;
	const char *sql;
	const char *pg_sql;
};
extern const char store_pg_v1[], store_pg_v2[], store_pg_v3[], store_pg_v5[], store_pg_v6[],
	store_pg_v7[], store_pg_v8[], store_pg_v9[], store_pg_v10[], store_pg_v11[],
	store_pg_v12[], store_pg_v13[], store_pg_v14[];
extern const struct store_migration store_migrations[];
extern const size_t store_nmigrations;

#endif
