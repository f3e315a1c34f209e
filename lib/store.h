/*
 * store - the directory and migration state, in one SQLite database.
 *
 * This header is the only door to the database: callers never see SQL, so
 * a second backend (PostgreSQL, for several front ends) is an addition
 * behind it. The SQLite backend runs in WAL mode with synchronous=FULL (a
 * committed switch is a promise to senders: it must survive power loss),
 * a busy timeout, foreign-key-free plain tables and prepared statements
 * only. The schema carries a version and upgrades itself when opened
 * read-write; a read-only open of an older or newer schema fails.
 *
 * Return values: STORE_OK (0), STORE_NOTFOUND (1) or STORE_ERR (-1, the
 * reason in store_errmsg(), valid until the next call). Strings in result
 * structs are copied into them; nothing returned needs freeing unless
 * said. Times are microseconds since the epoch, UTC.
 */
#ifndef FEDMIG_STORE_H
#define FEDMIG_STORE_H

#include <sys/types.h>

#include <stddef.h>

#include "addr.h"

#define STORE_OK 0
#define STORE_NOTFOUND 1
#define STORE_ERR (-1)

#define STORE_SYSTEM_MAX 64

enum store_mode { STORE_RDONLY, STORE_RDWR };

struct store;

/*
 * store_open: open PATH. STORE_RDWR creates the file (mode 0640) and
 * upgrades the schema; STORE_RDONLY needs an existing, current database.
 * NULL on error with *err_r set (caller frees).
 */
struct store *store_open(const char *path, enum store_mode mode, int busy_ms, char **err_r);
/*
 * store_open_pw: store_open, where PATH may also be a postgresql:// URL
 * (lib/db.h, db_url_parse: no password in it). PASSWORD_FILE (NULL or "":
 * none, then libpq's own ~/.pgpass or PGPASSFILE) holds the password
 * alone, mode 0600. The database must order text by bytes (collation C);
 * STORE_RDONLY opens with default_transaction_read_only. store_open() is
 * store_open_pw() without a password file.
 */
struct store *store_open_pw(const char *path, enum store_mode mode, int busy_ms,
			    const char *password_file, char **err_r);

/*
 * store_open_owned: store_open(STORE_RDWR), where a database file it
 * creates is given to UID:GID on its descriptor before SQLite writes
 * anything (SQLite run as root gives -wal and -shm the database file's
 * owner). For fedmigctl run as root on the daemons' database. PATH must
 * not be a symbolic link and must be a regular file, new or not.
 */
struct store *store_open_owned(const char *path, int busy_ms, uid_t uid, gid_t gid, char **err_r);
/*
 * store_open_config: the store CFG names: state_database (a file or a
 * postgresql:// URL), state_database_password_file, store_busy_timeout.
 * UID/GID ((uid_t)-1, (gid_t)-1: none) as store_open_owned for a file
 * opened read-write.
 */
struct config;
struct store *store_open_config(const struct config *cfg, enum store_mode mode, uid_t uid,
				gid_t gid, char **err_r);
void store_close(struct store **s);
const char *store_errmsg(const struct store *s);
/*
 * store_err_temporary: 1 when the last STORE_ERR was a temporary failure
 * of the database (a serialization failure, a deadlock, a lock timeout,
 * SQLITE_BUSY, a lost connection to the server) that the store's own
 * retries did not outlast: the same call may succeed shortly, so a
 * caller tries again later instead of failing its work.
 */
int store_err_temporary(const struct store *s);
int store_schema_version(struct store *s);
/*
 * store_guard: STORE_ERR when the database file was removed, replaced by
 * another file (reopen it), cut short or is no database any more; drops
 * the page cache when another process changed the file. The directory
 * lookups and store_held_add() call it first, so a damaged database is
 * an error, never a stale answer or a crash; a reopen recovers once the
 * file is whole again. The store never maps the file into memory.
 */
int store_guard(struct store *s);
/* store_check: PRAGMA integrity_check; STORE_ERR with the first problem. */
int store_check(struct store *s);

/* One transaction (BEGIN IMMEDIATE). Nesting is not supported. */
int store_begin(struct store *s);
int store_commit(struct store *s);
int store_rollback(struct store *s);

/* --- systems --- */
int store_system_put(struct store *s, const char *name, const char *domain);

/* --- directory --- */

enum dir_match {
	DIR_ACCESS,   /* the address is an access address */
	DIR_ALIAS,    /* an alias of an access address */
	DIR_PHYSICAL, /* the current physical address of a mailbox */
	DIR_FORMER,   /* a former physical address, forwarded to the current one */
};

struct dir_entry {
	char access[ADDR_MAX];
	char system[STORE_SYSTEM_MAX];
	char physical[ADDR_MAX];
	int held;
	long long held_since;
	long long switched_at; /* last switch, 0: never */
	long long request_id;  /* request holding or last switching it, 0: none */
	enum dir_match match;
};

/*
 * store_dir_lookup: the mailbox ADDR (canonical form) leads to, whether
 * ADDR is its access address, an alias, its physical address or a former
 * physical address. STORE_NOTFOUND when none.
 */
int store_dir_lookup(struct store *s, const char *addr, struct dir_entry *r);

/*
 * store_dir_lookup_next: store_dir_lookup() in one statement, and
 * *PHYS_NOTFOUND_R set to 1 when ADDR is an access address or an alias
 * whose physical address is neither an access address nor an alias, so
 * that store_dir_rewrite() of R->physical answers STORE_NOTFOUND from
 * this same row; read in the same statement (Postfix's cleanup asks for
 * that address next). 0 otherwise.
 */
int store_dir_lookup_next(struct store *s, const char *addr, struct dir_entry *r,
			  int *phys_notfound_r);

/*
 * store_dir_rewrite: what virtual_alias_maps must answer for ADDR: the
 * physical address for an access address, alias or former physical
 * address; STORE_NOTFOUND for anything else (a current physical address
 * rewrites to itself, so it is not found either).
 */
int store_dir_rewrite(struct store *s, const char *addr, char out[ADDR_MAX]);

struct dir_row {
	const char *access, *system, *physical;
	const char *const *aliases;
	size_t naliases;
	int line; /* for error messages */
};

struct dir_import_result {
	size_t added, updated, unchanged;
};

/* Called once per bad row; the import fails if it was called at all. */
typedef void (*store_row_error_fn)(void *ctx, int line, const char *why);

/*
 * store_dir_import: add or update ROWS (canonical addresses) in one
 * transaction. A row equal to the stored entry changes nothing. A row that
 * conflicts with the database (its alias or physical address belongs to
 * another entry, or it would change an entry being migrated) is reported
 * through ERR with its line. Duplicates inside ROWS are the caller's to
 * find. With any error, or with DRY_RUN, nothing is committed. STORE_ERR
 * when a row failed (RESULT undefined) or the database failed.
 */
int store_dir_import(struct store *s, const struct dir_row *rows, size_t n, int dry_run,
		     struct dir_import_result *result, store_row_error_fn err, void *ctx);

/* store_dir_aliases: aliases of ACCESS, space separated, caller frees. */
int store_dir_aliases(struct store *s, const char *access, char **list_r);
/* store_dir_formers: former physical addresses of ACCESS, space separated. */
int store_dir_formers(struct store *s, const char *access, char **list_r);

typedef int (*store_dir_fn)(void *ctx, const struct dir_entry *e);
/* store_dir_each: every entry ordered by access address; FN != 0 stops. */
int store_dir_each(struct store *s, store_dir_fn fn, void *ctx);
int store_dir_count(struct store *s, long long *n_r);

/*
 * The switch (DESIGN.md "The switch, exactly"). Each is one transaction
 * when called outside store_begin(), or part of the caller's.
 * store_dir_hold: mark ACCESS (and so its aliases and physical address)
 * held for REQUEST at time AT. store_dir_unhold: clear the mark.
 * store_dir_switch: point ACCESS at SYSTEM/PHYSICAL, record the old
 * physical address as a former one forwarding to the new, set switched_at
 * to AT and clear the hold. Moving back to a former physical address (a
 * rollback) removes that former entry.
 */
int store_dir_hold(struct store *s, const char *access, long long request_id, long long at);
int store_dir_unhold(struct store *s, const char *access);
int store_dir_switch(struct store *s, const char *access, const char *system,
		     const char *physical, long long request_id, long long at);

/*
 * Messages fedmig-milter quarantined: the release step requeues only
 * these. store_held_add: record QUEUE_ID (RECIPIENTS space separated).
 */
int store_held_add(struct store *s, const char *queue_id, long long request_id,
		   const char *recipients, long long at);

#endif
