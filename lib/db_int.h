/*
 * db_int - for the backends of lib/db.h only (db.c, db_sqlite.c,
 * db_pg.c). A backend's connection and statement structures start with
 * struct db and struct db_stmt; db.c owns the statement cache, the error
 * text and the transaction flag, and calls the backend through its ops.
 */
#ifndef FEDMIG_DB_INT_H
#define FEDMIG_DB_INT_H

#include "db.h"

struct db_ops {
	void (*close)(struct db *db);
	int (*exec)(struct db *db, const char *sql);
	struct db_stmt *(*prepare)(struct db *db, const char *sql);
	void (*finalize)(struct db_stmt *st);
	/* bind: P of N bytes (text when TEXT, P NULL for SQL NULL), or V. */
	int (*bind)(struct db_stmt *st, int i, int text, const void *p, size_t n, const int64_t *v);
	int (*step)(struct db_stmt *st);
	void (*reset)(struct db_stmt *st, int clear);
	int (*ncols)(struct db_stmt *st);
	int (*isnull)(struct db_stmt *st, int i);
	/* int64: 0 (NULL is 0), and -1 when the value is not an integer
	 * (st->colerr set by db.c with the message the backend wrote into
	 * db->err). */
	int (*int64)(struct db_stmt *st, int i, int64_t *v_r);
	const char *(*text)(struct db_stmt *st, int i);
	const void *(*blob)(struct db_stmt *st, int i, size_t *n_r);
	int64_t (*changes)(struct db *db);
	/* The connection's generation (PostgreSQL: bumped at each
	 * reconnection, which drops the session's locks), and the database
	 * file (SQLite: its session lock's file lives beside it). */
	unsigned (*generation)(struct db *db);
	const char *(*file)(struct db *db);
	const char *begin_sql;
	enum db_backend backend;
};

struct db {
	const struct db_ops *ops;
	char err[512];
	int temporary;
	int in_tx;
	struct db_stmt **cache;
	size_t ncache, cachecap;
	/* db_lock.c: the session lock held ("": none), its generation, the
	 * SQLite lock file's fd + 1 (0: none). */
	char lock_name[33];
	unsigned lock_gen;
	int lock_fd;
};

struct db_stmt {
	struct db *db;
	const char *sql;
	int colerr;
	/* The current row's columns, from ops->ncols after each step: the
	 * column getters check an index against it (the lookup path reads
	 * seven columns per row). */
	int ncols;
};

/* db_fail: record the error (TEMPORARY 1: worth a retry); DB_ERR. */
int db_fail(struct db *db, int temporary, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* db_int64_text: T (a whole decimal integer, nothing around it) as *V_R;
 * -1 otherwise. */
int db_int64_text(const char *t, int64_t *v_r);

/* db_lock_release: the session lock's file, at db_close. */
void db_lock_release(struct db *db);

struct db *db_sqlite_open(const char *path, const struct db_opts *o, char **err_r);
struct db *db_pg_open(const char *url, const struct db_opts *o, char **err_r);

#endif
