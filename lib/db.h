/*
 * db - the store's database connection, on SQLite or on PostgreSQL.
 *
 * db_open() takes a path (SQLite) or a postgresql:// URL (libpq; see
 * db_url_parse below for what the URL may hold: the password never, it
 * comes from DB_OPTS.password_file, a 0600 file read with secrets_read).
 * SQL is written once, for both, with ?N placeholders (1-based); on
 * PostgreSQL they become $N when the statement is prepared (outside
 * quoted strings and identifiers). db_prepare() returns a statement
 * cached by the address of SQL, which must be a string literal or live as
 * long as the connection; it comes reset, its bindings cleared. Text and
 * blob bindings are not copied: they must stay valid until the first
 * db_step() after binding (both backends read them there at the latest).
 *
 * db_step() returns DB_ROW, DB_DONE or DB_ERR. Column getters read the
 * current row: NULL is 0, "" or an empty blob, as in SQLite. An integer
 * column is parsed strictly on PostgreSQL (int2/4/8, numeric without a
 * fraction, bool as 0/1): anything else is an error, recorded on the
 * statement, so the next db_step() or db_reset() returns DB_ERR; a value
 * is never guessed.
 *
 * Transactions: db_begin() is BEGIN IMMEDIATE on SQLite (the single
 * writer, waiting up to busy_ms for it) and BEGIN ISOLATION LEVEL
 * SERIALIZABLE on PostgreSQL, where every statement outside db_begin()
 * runs SERIALIZABLE too (default_transaction_isolation) and a statement
 * waits at most busy_ms for a lock (lock_timeout). SERIALIZABLE because
 * the store's read-modify-write code was written against one writer: SSI
 * guarantees the outcome of some serial order for every transaction as
 * written, where READ COMMITTED would need a FOR UPDATE on every row any
 * transaction reads before writing (about 120 statements to audit, and
 * one forgotten is a silent lost update). The price is a serialization
 * failure (40001), a deadlock (40P01) or a lock timeout (55P03): a
 * temporary error on which the caller rolls back and runs its whole
 * transaction again.
 *
 * Errors: db_errmsg() says what failed, for an admin; db_err_temporary()
 * is 1 when the last error was SQLITE_BUSY/LOCKED, a serialization
 * failure, a lock or statement timeout, or a lost connection: retrying
 * later may succeed. Every other error is still a temporary failure for
 * the store's callers (never a guess), only not one worth an immediate
 * retry. A lost connection is reopened by the next db_exec(), db_begin()
 * or db_step() outside a transaction (statements are prepared again on
 * the new one); inside a transaction every call but db_rollback() fails
 * until the caller rolls back, so nothing the caller thought transactional
 * is ever run in autocommit. A COMMIT whose connection was lost may have
 * been applied or not: the caller reads the state again before redoing.
 */
#ifndef FEDMIG_DB_H
#define FEDMIG_DB_H

#include <stddef.h>
#include <stdint.h>

enum db_backend { DB_SQLITE, DB_PG };

enum { DB_ERR = -1, DB_DONE = 0, DB_ROW = 1 };

struct db_opts {
	/* SQLite: the busy timeout; PostgreSQL: lock_timeout (0: none). */
	int busy_ms;
	/* PostgreSQL: connect_timeout in seconds (0: 10). */
	int connect_s;
	/* PostgreSQL: a 0600 file holding the password alone (NULL: none). */
	const char *password_file;
	/* Open read-only (SQLite: SQLITE_OPEN_READONLY; PostgreSQL:
	 * default_transaction_read_only). */
	int readonly;
};

struct db;
struct db_stmt;

/* db_is_url: TARGET names a PostgreSQL database (postgresql:// or
 * postgres://), not a file. */
int db_is_url(const char *target);
/* db_open: NULL with *ERR_R (caller frees) when TARGET cannot be opened. */
struct db *db_open(const char *target, const struct db_opts *o, char **err_r);
void db_close(struct db **dbp);
enum db_backend db_backend(const struct db *db);

/* db_exec: SQL without parameters, one statement or several separated by
 * semicolons (the schema); DB_DONE or DB_ERR. */
int db_exec(struct db *db, const char *sql);
struct db_stmt *db_prepare(struct db *db, const char *sql);

int db_bind_int64(struct db_stmt *st, int i, int64_t v);
int db_bind_text(struct db_stmt *st, int i, const char *v);
int db_bind_blob(struct db_stmt *st, int i, const void *p, size_t n);
int db_bind_null(struct db_stmt *st, int i);

int db_step(struct db_stmt *st);
/* db_reset: ready to run again (bindings kept); DB_ERR when a column read
 * since the last db_step() failed (its message in db_errmsg). */
int db_reset(struct db_stmt *st);

int db_column_count(struct db_stmt *st);
int db_column_null(struct db_stmt *st, int i);
int64_t db_column_int64(struct db_stmt *st, int i);
const char *db_column_text(struct db_stmt *st, int i);
const void *db_column_blob(struct db_stmt *st, int i, size_t *n_r);

/* db_changes: rows changed by the last INSERT, UPDATE or DELETE step. */
int64_t db_changes(struct db *db);

int db_begin(struct db *db);
int db_commit(struct db *db);
int db_rollback(struct db *db);
int db_in_tx(const struct db *db);

/* db_sqlite_handle: the SQLite connection under DB, NULL on PostgreSQL;
 * for what only SQLite has (the store's file settings, tests that look
 * into a database file). */
struct sqlite3 *db_sqlite_handle(struct db *db);

/*
 * The session lock (db_lock.c): one process of several leads.
 * db_lock_try: take lock NAME ([a-z0-9_-], 1-32 bytes; one name per
 * connection) without waiting: 1 got (or held already by this
 * connection), 0 held by another process, DB_ERR. Outside a transaction.
 * PostgreSQL: pg_try_advisory_lock on a 63-bit hash of "fedmig:NAME",
 * held by the server as long as the connection; SQLite: an flock on the
 * file "DATABASE.NAME-lock" beside the database (created 0644 by
 * lib/daemon.c's daemon_lock: a plain file of ours, never a link; our pid
 * written in it), held until db_close.
 * db_lock_held: 1 while the lock taken is still held, 0 once it is not (or
 * none was taken): on PostgreSQL a connection lost released it, and the
 * connection opened again holds nothing; it makes a round trip to know.
 * DB_ERR when the server cannot be reached at all.
 */
int db_lock_try(struct db *db, const char *name);
int db_lock_held(struct db *db);

const char *db_errmsg(const struct db *db);
int db_err_temporary(const struct db *db);

/*
 * The pure parts, for the tests and the fuzzer (db_sql.c).
 *
 * db_rewrite_params: SQL with ?N placeholders (N 1..DB_MAX_PARAMS) as
 * PostgreSQL's $N, into a new string (caller frees); *NPARAMS_R the
 * highest N. Quoted text ('...', "...", with doubled quotes) and comments
 * (-- to the end of the line, / * ... * /) are copied unchanged. NULL
 * with *ERR_R (static text) on a bare ? or ?0, an N over the limit, or an
 * unterminated quote or comment.
 *
 * db_url_parse: postgresql://[USER@]HOST[:PORT]/DBNAME and nothing else:
 * USER and DBNAME [A-Za-z0-9_.-] (1-63), HOST a name of [A-Za-z0-9.-] or
 * an IPv4 or [IPv6] literal, PORT 1-65535. A password in the URL, a query
 * string, %-escapes, a missing database or anything else is refused
 * with a sentence in ERR (so no libpq option can be smuggled in).
 */
#define DB_MAX_PARAMS 99

struct db_url {
	char user[64];
	char host[256];
	char port[6];
	char dbname[64];
};

char *db_rewrite_params(const char *sql, int *nparams_r, const char **err_r);
int db_url_parse(const char *url, struct db_url *u, char *err, size_t errsize);

#endif
