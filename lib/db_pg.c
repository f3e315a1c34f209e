/*
 * db_pg - lib/db.h on PostgreSQL through libpq's extended protocol:
 * PQprepare once per connection, PQexecPrepared with text parameters
 * (blobs in binary), every row of a result fetched at once (the store's
 * queries are bounded). The URL is parsed by db_url_parse and handed to
 * libpq as separate keywords, never as a connection string, so nothing in
 * it can add a libpq option. A lost connection is opened again by the
 * next call outside a transaction; statements are prepared again on it
 * (their generation is older than the connection's).
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_int.h"
#include "secrets.h"
#include "xalloc.h"

/* pg_type.h's OIDs, stable since forever. */
#define OID_BOOL 16
#define OID_BYTEA 17

struct pg_db {
	struct db base;
	PGconn *c;
	struct db_url url;
	char *password;
	char options[160];
	int connect_s;
	unsigned gen;       /* bumped at each (re)connection */
	unsigned nextname;  /* server-side statement names s1, s2, ... */
	int tx_lost;        /* the connection died inside a transaction */
	int64_t changes;
};

struct pg_stmt {
	struct db_stmt base;
	char *sql;          /* with $N */
	int nparams;
	char name[16];
	unsigned gen;
	const char **vals;
	int *lens, *fmts;
	char (*ints)[24];
	PGresult *res;
	int row, nrows;
	void **blobs;       /* decoded bytea of the current row, per column */
};

static struct pg_db *pgdb(struct db *db)
{
	return (struct pg_db *)db;
}

static struct pg_stmt *pgst(struct db_stmt *st)
{
	return (struct pg_stmt *)st;
}

static int conn_lost(struct pg_db *p)
{
	return p->c == NULL || PQstatus(p->c) == CONNECTION_BAD;
}

/* A class of SQLSTATE worth a retry: connection (08), resources (53),
 * operator intervention (57: shutdown, timeouts), serialization and
 * deadlock (40001, 40P01), lock not available (55P03). */
static int sqlstate_temporary(const char *s)
{
	if (s == NULL)
		return 0;
	return strncmp(s, "08", 2) == 0 || strncmp(s, "53", 2) == 0 || strncmp(s, "57", 2) == 0 ||
	       strcmp(s, "40001") == 0 || strcmp(s, "40P01") == 0 || strcmp(s, "55P03") == 0;
}

/* pg_fail: the error of RES (or of the connection when NULL). */
static int pg_fail(struct pg_db *p, const PGresult *res, const char *context)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	int lost = conn_lost(p);

	if (msg == NULL)
		msg = p->c ? PQerrorMessage(p->c) : "no connection";
	if (lost && p->base.in_tx)
		p->tx_lost = 1;
	db_fail(&p->base, lost || sqlstate_temporary(state), "%.80s: %s%s%s%s", context,
		lost ? "connection to the database server lost: " : "", state ? state : "",
		state ? " " : "", msg);
	/* libpq's messages end in a newline; an admin's log line does not. */
	p->base.err[strcspn(p->base.err, "\n")] = '\0';
	return DB_ERR;
}

static void no_notices(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static int pg_connect(struct pg_db *p)
{
	char timeout[16];
	const char *kw[10], *val[10];
	int n = 0;

	snprintf(timeout, sizeof(timeout), "%d", p->connect_s);
#define KV(k, v) \
	if ((v) != NULL && *(v) != '\0') { kw[n] = (k); val[n] = (v); n++; }
	KV("host", p->url.host);
	KV("port", p->url.port);
	KV("dbname", p->url.dbname);
	KV("user", p->url.user);
	KV("password", p->password);
	KV("connect_timeout", timeout);
	KV("application_name", "fedmig");
	KV("client_encoding", "UTF8");
	KV("options", p->options);
#undef KV
	kw[n] = val[n] = NULL;
	PQfinish(p->c);
	p->c = PQconnectdbParams(kw, val, 0);
	if (p->c == NULL)
		return db_fail(&p->base, 1, "connect to %s: out of memory", p->url.host);
	if (PQstatus(p->c) != CONNECTION_OK) {
		db_fail(&p->base, 1, "connect to %s:%s database %s: %s", p->url.host,
			*p->url.port ? p->url.port : "5432", p->url.dbname, PQerrorMessage(p->c));
		p->base.err[strcspn(p->base.err, "\n")] = '\0';
		return DB_ERR;
	}
	PQsetNoticeProcessor(p->c, no_notices, NULL);
	p->gen++;
	return DB_DONE;
}

/* ready: a live connection for a new command; a lost one is opened again
 * outside a transaction only. */
static int ready(struct pg_db *p)
{
	if (p->tx_lost)
		return db_fail(&p->base, 1, "the connection to the database server was lost in a "
					    "transaction: it was rolled back");
	if (!conn_lost(p))
		return DB_DONE;
	if (p->base.in_tx) {
		p->tx_lost = 1;
		return ready(p);
	}
	return pg_connect(p);
}

/* note_changes: as sqlite3_changes(), only a write counts (a SELECT in
 * between leaves the count of the last INSERT, UPDATE or DELETE). */
static void note_changes(struct pg_db *p, PGresult *res)
{
	const char *cmd = PQcmdStatus(res), *tuples = PQcmdTuples(res);

	if (strncmp(cmd, "INSERT ", 7) == 0 || strncmp(cmd, "UPDATE ", 7) == 0 ||
	    strncmp(cmd, "DELETE ", 7) == 0)
		p->changes = *tuples ? strtoll(tuples, NULL, 10) : 0;
}

static void pg_close(struct db *db)
{
	struct pg_db *p = pgdb(db);

	PQfinish(p->c);
	secrets_wipe(&p->password);
	free(p);
}

/* pg_exec: one or more commands. ROLLBACK after a lost connection has
 * nothing to undo; a COMMIT the server answers with ROLLBACK (the
 * transaction had failed) is an error, not a success. */
static int pg_exec(struct db *db, const char *sql)
{
	struct pg_db *p = pgdb(db);
	PGresult *res;
	int rc = DB_DONE;

	if (p->tx_lost && strcmp(sql, "ROLLBACK") == 0) {
		p->tx_lost = 0;
		return DB_DONE;
	}
	if (ready(p) < 0)
		return DB_ERR;
	res = PQexec(p->c, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = pg_fail(p, res, sql);
	else if (strcmp(sql, "COMMIT") == 0 && strcmp(PQcmdStatus(res), "ROLLBACK") == 0)
		rc = db_fail(db, 0, "COMMIT: the transaction had failed and was rolled back");
	else
		note_changes(p, res);
	PQclear(res);
	return rc;
}

static int pg_prepare_on_server(struct pg_stmt *s)
{
	struct pg_db *p = pgdb(s->base.db);
	PGresult *res = PQprepare(p->c, s->name, s->sql, s->nparams, NULL);
	int rc = PQresultStatus(res) == PGRES_COMMAND_OK ? DB_DONE : pg_fail(p, res, "prepare");

	PQclear(res);
	if (rc == DB_DONE)
		s->gen = p->gen;
	return rc;
}

static void pg_finalize(struct db_stmt *st)
{
	struct pg_stmt *s = pgst(st);

	PQclear(s->res);
	if (s->blobs != NULL)
		for (int i = 0; i < PQnfields(s->res); i++)
			free(s->blobs[i]);
	free(s->blobs);
	free(s->sql);
	free(s->vals);
	free(s->lens);
	free(s->fmts);
	free(s->ints);
	free(s);
}

static struct db_stmt *pg_prepare(struct db *db, const char *sql)
{
	struct pg_db *p = pgdb(db);
	struct pg_stmt *s = xcalloc(1, sizeof(*s));
	const char *why;

	s->sql = db_rewrite_params(sql, &s->nparams, &why);
	if (s->sql == NULL) {
		db_fail(db, 0, "prepare: %s in: %.80s", why, sql);
		free(s);
		return NULL;
	}
	s->base.db = db;
	snprintf(s->name, sizeof(s->name), "s%u", ++p->nextname);
	s->vals = xcalloc((size_t)s->nparams + 1, sizeof(*s->vals));
	s->lens = xcalloc((size_t)s->nparams + 1, sizeof(*s->lens));
	s->fmts = xcalloc((size_t)s->nparams + 1, sizeof(*s->fmts));
	s->ints = xcalloc((size_t)s->nparams + 1, sizeof(*s->ints));
	if (ready(p) < 0 || pg_prepare_on_server(s) < 0) {
		pg_finalize(&s->base);
		return NULL;
	}
	return &s->base;
}

static int pg_bind(struct db_stmt *st, int i, int text, const void *v, size_t n, const int64_t *iv)
{
	struct pg_stmt *s = pgst(st);

	if (i > s->nparams)
		return db_fail(st->db, 0, "internal error: ?%d bound, the statement has %d", i,
			       s->nparams);
	if (n > 0x7fffffff)
		return db_fail(st->db, 0, "a value of %zu bytes is too large", n);
	s->fmts[i - 1] = 0;
	s->lens[i - 1] = 0;
	if (iv != NULL) {
		snprintf(s->ints[i - 1], sizeof(s->ints[i - 1]), "%lld", (long long)*iv);
		s->vals[i - 1] = s->ints[i - 1];
	} else if (v != NULL && text && memchr(v, '\0', n) != NULL) {
		return db_fail(st->db, 0, "a text value holds a NUL byte");
	} else {
		s->vals[i - 1] = v;
		s->lens[i - 1] = (int)n;
		s->fmts[i - 1] = v != NULL && !text; /* a blob goes binary: no escaping */
	}
	return DB_DONE;
}

static void clear_row(struct pg_stmt *s)
{
	if (s->blobs == NULL)
		return;
	for (int i = 0; i < PQnfields(s->res); i++) {
		free(s->blobs[i]);
		s->blobs[i] = NULL;
	}
}

static void pg_reset(struct db_stmt *st, int clear)
{
	struct pg_stmt *s = pgst(st);

	clear_row(s);
	free(s->blobs);
	s->blobs = NULL;
	PQclear(s->res);
	s->res = NULL;
	s->row = s->nrows = 0;
	if (clear)
		for (int i = 0; i < s->nparams; i++)
			s->vals[i] = NULL;
}

static int run(struct pg_stmt *s)
{
	struct pg_db *p = pgdb(s->base.db);
	if (ready(p) < 0 || (s->gen != p->gen && pg_prepare_on_server(s) < 0))
		return DB_ERR;
	s->res = PQexecPrepared(p->c, s->name, s->nparams, s->vals, s->lens, s->fmts, 0);
	switch (PQresultStatus(s->res)) {
	case PGRES_TUPLES_OK:
	case PGRES_COMMAND_OK:
		break;
	default:
		pg_fail(p, s->res, "query");
		PQclear(s->res);
		s->res = NULL;
		return DB_ERR;
	}
	note_changes(p, s->res);
	s->nrows = PQntuples(s->res);
	s->row = -1;
	if (PQnfields(s->res) > 0)
		s->blobs = xcalloc((size_t)PQnfields(s->res), sizeof(*s->blobs));
	return DB_DONE;
}

static int pg_step(struct db_stmt *st)
{
	struct pg_stmt *s = pgst(st);

	if (s->res == NULL && run(s) < 0)
		return DB_ERR;
	clear_row(s);
	if (s->row < s->nrows)
		s->row++;
	return s->row < s->nrows ? DB_ROW : DB_DONE;
}

static int pg_ncols(struct db_stmt *st)
{
	struct pg_stmt *s = pgst(st);

	return s->res != NULL && s->row >= 0 && s->row < s->nrows ? PQnfields(s->res) : 0;
}

static int pg_isnull(struct db_stmt *st, int i)
{
	return PQgetisnull(pgst(st)->res, pgst(st)->row, i);
}

static int pg_column_int64(struct db_stmt *st, int i, int64_t *v_r)
{
	struct pg_stmt *s = pgst(st);
	const char *t = PQgetvalue(s->res, s->row, i);

	if (PQgetisnull(s->res, s->row, i)) {
		*v_r = 0;
		return 0;
	}
	if (PQftype(s->res, i) == OID_BOOL && (t[0] == 't' || t[0] == 'f') && t[1] == '\0') {
		*v_r = t[0] == 't';
		return 0;
	}
	if (db_int64_text(t, v_r) == 0)
		return 0;
	return db_fail(st->db, 0, "column %d (%s) is not an integer: '%.40s'", i,
		       PQfname(s->res, i), t);
}

static const char *pg_column_text(struct db_stmt *st, int i)
{
	return PQgetvalue(pgst(st)->res, pgst(st)->row, i);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A bytea comes as text in hex (bytea_output=hex): \x then pairs. */
static const void *pg_column_blob(struct db_stmt *st, int i, size_t *n_r)
{
	struct pg_stmt *s = pgst(st);
	const char *t = PQgetvalue(s->res, s->row, i);
	size_t len = (size_t)PQgetlength(s->res, s->row, i);
	unsigned char *out;

	if (PQftype(s->res, i) != OID_BYTEA) {
		*n_r = len;
		return t;
	}
	if (len < 2 || t[0] != '\\' || t[1] != 'x' || len % 2 != 0) {
		db_fail(st->db, 0, "column %d (%s): bytea not in hex", i, PQfname(s->res, i));
		return NULL;
	}
	out = xmalloc(len / 2);
	for (size_t k = 2; k < len; k += 2) {
		int hi = hexval(t[k]), lo = hexval(t[k + 1]);

		if (hi < 0 || lo < 0) {
			free(out);
			db_fail(st->db, 0, "column %d (%s): bad bytea hex", i, PQfname(s->res, i));
			return NULL;
		}
		out[k / 2 - 1] = (unsigned char)(hi << 4 | lo);
	}
	free(s->blobs[i]);
	s->blobs[i] = out;
	*n_r = len / 2 - 1;
	return out;
}

static int64_t pg_changes(struct db *db)
{
	return pgdb(db)->changes;
}

static unsigned pg_generation(struct db *db)
{
	return pgdb(db)->gen;
}

static const char *pg_file(struct db *db)
{
	return NULL;
}

static const struct db_ops pg_ops = {
	.close = pg_close,
	.exec = pg_exec,
	.prepare = pg_prepare,
	.finalize = pg_finalize,
	.bind = pg_bind,
	.step = pg_step,
	.reset = pg_reset,
	.ncols = pg_ncols,
	.isnull = pg_isnull,
	.int64 = pg_column_int64,
	.text = pg_column_text,
	.blob = pg_column_blob,
	.changes = pg_changes,
	.generation = pg_generation,
	.file = pg_file,
	.begin_sql = "BEGIN ISOLATION LEVEL SERIALIZABLE",
	.backend = DB_PG,
};

static int read_password(struct pg_db *p, const char *file, char **err_r)
{
	char *buf;
	size_t len;

	if (secrets_read(file, &buf, &len, err_r) < 0)
		return -1;
	/* The file holds the password alone; a final newline is not part of it. */
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	if (len == 0 || memchr(buf, '\0', len) != NULL || memchr(buf, '\n', len) != NULL) {
		*err_r = xasprintf("%s: must hold the password alone, on one line", file);
		secrets_free(buf, len);
		return -1;
	}
	p->password = xstrdup(buf);
	secrets_free(buf, len);
	return 0;
}

struct db *db_pg_open(const char *url, const struct db_opts *o, char **err_r)
{
	struct pg_db *p = xcalloc(1, sizeof(*p));
	char why[256];

	p->base.ops = &pg_ops;
	if (db_url_parse(url, &p->url, why, sizeof(why)) < 0) {
		*err_r = xasprintf("state database URL refused: %s", why);
		free(p);
		return NULL;
	}
	if (o->password_file != NULL && read_password(p, o->password_file, err_r) < 0) {
		free(p);
		return NULL;
	}
	p->connect_s = o->connect_s > 0 ? o->connect_s : 10;
	/* One writer's guarantees for every statement (db.h), a lock wait as
	 * long as SQLite's busy timeout, bytea as hex for pg_column_blob. */
	snprintf(p->options, sizeof(p->options),
		 "-c default_transaction_isolation=serializable -c lock_timeout=%d "
		 "-c bytea_output=hex%s",
		 o->busy_ms > 0 ? o->busy_ms : 0,
		 o->readonly ? " -c default_transaction_read_only=on" : "");
	if (pg_connect(p) < 0) {
		*err_r = xstrdup(p->base.err);
		pg_close(&p->base);
		return NULL;
	}
	return &p->base;
}
