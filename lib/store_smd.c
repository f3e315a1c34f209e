#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_int.h"
#include "store_smd.h"
#include "xalloc.h"

/* A job's key is its primary key (request_id, kind): JOB_IS matches the
 * key bound as ?1, ?2 by bind_key(); the other parameters follow. */
#define JOB_IS "request_id = ?1 AND kind = ?2"
/* The order jobs came in before the key had two columns: by the signed job
 * id (the request id, negated for a copy back), so copy backs first, the
 * newest first. Kept so that no claim or recovery order changes. */
#define ORDER_KEY "CASE kind WHEN 1 THEN -request_id ELSE request_id END"
/* Pre-stage passes are claimed after every other due job: a copy after a
 * switch is what its user waits for (the catch-up), a pass is not. */
#define PRESTAGE_LAST "(kind = 2)"
_Static_assert(SMD_PRESTAGE == 2, "PRESTAGE_LAST names SMD_PRESTAGE");

/* key_check: KEY names a job (a request id > 0, a known kind), or the
 * store's error says why not: a bug in the caller, not to reach the table. */
static int key_check(struct store *s, struct smd_job_key key)
{
	if (key.request_id > 0 && (key.kind == SMD_COPY || key.kind == SMD_COPY_BACK ||
				   key.kind == SMD_PRESTAGE || key.kind == SMD_LOCAL))
		return STORE_OK;
	store_set_error(s, "smd job: bad key request=%lld kind=%d", key.request_id, (int)key.kind);
	return STORE_ERR;
}

static void bind_key(struct db_stmt *st, struct smd_job_key key)
{
	db_bind_int64(st, 1, key.request_id);
	db_bind_int64(st, 2, key.kind);
}

/* run_one: store_run(), STORE_NOTFOUND when no row changed. */
static int run_one(struct store *s, struct db_stmt *st, const char *context)
{
	int rc = store_run(s, st, context);

	if (rc == STORE_OK && db_changes(store_dbh(s)) == 0)
		rc = STORE_NOTFOUND;
	return rc;
}

int store_smd_enqueue(struct store *s, struct smd_job_key key, const char *access,
		      const char *src_system, const char *src_physical, const char *dst_system,
		      const char *dst_physical, long long at)
{
	struct db_stmt *st = store_prepare(
		s, "INSERT INTO smd_jobs(request_id, kind, access, src_system, src_physical,"
		   " dst_system, dst_physical, next_at, created, updated)"
		   " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?8)"
		   " ON CONFLICT(request_id, kind) DO NOTHING");

	if (st == NULL || key_check(s, key) < 0)
		return STORE_ERR;
	bind_key(st, key);
	db_bind_text(st, 3, access);
	db_bind_text(st, 4, src_system);
	db_bind_text(st, 5, src_physical);
	db_bind_text(st, 6, dst_system);
	db_bind_text(st, 7, dst_physical);
	db_bind_int64(st, 8, at);
	return store_run(s, st, "enqueue smd job");
}

int store_smd_rearm(struct store *s, struct smd_job_key key, long long at)
{
	struct db_stmt *st = store_prepare(
		s, "UPDATE smd_jobs SET state = ?3, attempts = 0, pid = 0, folders_done = 0,"
		   " folders_total = 0, msgs_done = 0, msgs_total = 0, bytes_done = 0,"
		   " bytes_total = 0, started = 0, finished = 0, reason = '', next_at = ?4,"
		   " updated = ?4 WHERE " JOB_IS " AND state IN (?5, ?6)");

	if (st == NULL || key_check(s, key) < 0)
		return STORE_ERR;
	bind_key(st, key);
	db_bind_int64(st, 3, SMD_QUEUED);
	db_bind_int64(st, 4, at);
	db_bind_int64(st, 5, SMD_DONE);
	db_bind_int64(st, 6, SMD_FAILED);
	return run_one(s, st, "queue smd job again");
}

int store_smd_drop(struct store *s, struct smd_job_key key)
{
	struct db_stmt *st =
		store_prepare(s, "DELETE FROM smd_jobs WHERE " JOB_IS " AND state = ?3");

	if (st == NULL || key_check(s, key) < 0)
		return STORE_ERR;
	bind_key(st, key);
	db_bind_int64(st, 3, SMD_QUEUED);
	return run_one(s, st, "drop smd job");
}

int store_smd_status(struct store *s, struct smd_job_key key, struct smd_status *r)
{
	struct db_stmt *st = store_prepare(
		s, "SELECT state, attempts, folders_done, folders_total, msgs_done, msgs_total,"
		   " bytes_done, bytes_total, started, finished, reason"
		   " FROM smd_jobs WHERE " JOB_IS);
	int rc;

	if (st == NULL || key_check(s, key) < 0)
		return STORE_ERR;
	bind_key(st, key);
	rc = db_step(st);
	if (rc == DB_DONE) {
		db_reset(st);
		return STORE_NOTFOUND;
	}
	if (rc != DB_ROW) {
		db_reset(st);
		return store_fail(s, "smd status");
	}
	memset(r, 0, sizeof(*r));
	r->state = (enum smd_job_state)(int)db_column_int64(st, 0);
	r->attempts = (int)db_column_int64(st, 1);
	r->folders_done = db_column_int64(st, 2);
	r->folders_total = db_column_int64(st, 3);
	r->msgs_done = db_column_int64(st, 4);
	r->msgs_total = db_column_int64(st, 5);
	r->bytes_done = db_column_int64(st, 6);
	r->bytes_total = db_column_int64(st, 7);
	r->started = db_column_int64(st, 8);
	r->finished = db_column_int64(st, 9);
	store_text(st, 10, r->reason, sizeof(r->reason));
	db_reset(st);
	return STORE_OK;
}

/* JOB_COLS, in this order, are what job_row() reads. */
#define JOB_COLS                                                                    \
	"request_id, kind, access, src_system, src_physical, dst_system, dst_physical," \
	" attempts"

/* job_row: the job in ST's JOB_COLS (attempts as counted so far). */
static void job_row(struct db_stmt *st, struct smd_job *r)
{
	memset(r, 0, sizeof(*r));
	int kind = (int)db_column_int64(st, 1);

	r->key.request_id = db_column_int64(st, 0);
	r->key.kind = kind == SMD_COPY_BACK || kind == SMD_PRESTAGE || kind == SMD_LOCAL
			      ? (enum smd_kind)kind
			      : SMD_COPY;
	store_text(st, 2, r->access, sizeof(r->access));
	store_text(st, 3, r->src_system, sizeof(r->src_system));
	store_text(st, 4, r->src_physical, sizeof(r->src_physical));
	store_text(st, 5, r->dst_system, sizeof(r->dst_system));
	store_text(st, 6, r->dst_physical, sizeof(r->dst_physical));
	r->attempts = (int)db_column_int64(st, 7);
}

/* The claim's candidates, without leases (store_smd_claim): queued jobs due. */
#define CLAIM_PLAIN                                                            \
	"SELECT " JOB_COLS ", state, worker FROM smd_jobs WHERE state = 0 AND" \
	" next_at <= ?1 ORDER BY " PRESTAGE_LAST ", next_at, " ORDER_KEY
/* With leases (schema 16): queued jobs due and running jobs whose lease
 * has expired, of a mailbox with no other job under a live lease. */
#define CLAIM_LEASED                                                                        \
	"SELECT " JOB_COLS ", state, worker FROM smd_jobs j WHERE ((state = 0 AND"          \
	" next_at <= ?1) OR (state = 1 AND lease_until > 0 AND lease_until <= ?1))"         \
	" AND NOT EXISTS (SELECT 1 FROM smd_jobs o WHERE o.src_physical = j.src_physical"   \
	" AND o.dst_physical = j.dst_physical AND o.state = 1 AND o.lease_until > ?1"       \
	" AND o.src_system = j.src_system AND o.dst_system = j.dst_system"                  \
	" AND NOT (o.request_id = j.request_id AND o.kind = j.kind))"                       \
	" ORDER BY " PRESTAGE_LAST ", next_at, " ORDER_KEY

/* claim_sql: the candidates' query for W (NULL: no lease) on S's backend.
 * PostgreSQL locks the one row it returns and skips rows other claims
 * hold (all rows of a result are locked at once: hence LIMIT 1). */
static struct db_stmt *claim_sql(struct store *s, const struct smd_worker *w)
{
	if (w == NULL)
		return store_prepare(s, CLAIM_PLAIN);
	if (db_backend(store_dbh(s)) == DB_PG)
		return store_prepare(s, CLAIM_LEASED " LIMIT 1 FOR UPDATE OF j SKIP LOCKED");
	return store_prepare(s, CLAIM_LEASED);
}

/* claim_pick: the first candidate TAKE accepts into *R: 1, 0 when none,
 * or STORE_ERR. */
static int claim_pick(struct store *s, long long now, const struct smd_worker *w,
		      store_smd_take_fn take, void *ctx, struct smd_job *r)
{
	struct db_stmt *st = claim_sql(s, w);
	int rc, taken = 0;

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, now);
	while ((rc = db_step(st)) == DB_ROW) {
		job_row(st, r);
		if (db_column_int64(st, 8) == SMD_RUNNING)
			store_text(st, 9, r->prev_worker, sizeof(r->prev_worker));
		if (take == NULL || take(ctx, r) == 0) {
			taken = 1;
			break;
		}
	}
	if (db_reset(st) < 0 || (rc != DB_ROW && rc != DB_DONE))
		return store_fail(s, "smd claim");
	return taken;
}

/* next_due: when the next job not yet due comes due, 0 when none. */
static int next_due(struct store *s, long long now, long long *next_r)
{
	struct db_stmt *st = store_prepare(s, "SELECT MIN(next_at) FROM smd_jobs WHERE state = 0"
					      " AND next_at > ?1");

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, now);
	if (db_step(st) == DB_ROW)
		*next_r = db_column_int64(st, 0);
	db_reset(st);
	return STORE_OK;
}

/* claim_body: claim's work inside its transaction (TAKE may run again
 * when a temporary error makes the store run the transaction again). */
static int claim_body(struct store *s, long long now, int pid, const struct smd_worker *w,
		      store_smd_take_fn take, void *ctx, struct smd_job *r, long long *next_r)
{
	int rc;
	struct db_stmt *st;

	if (next_r)
		*next_r = 0;
	/* In the write transaction, so that TAKE runs before anyone else can
	 * see the job as running or recover it. */
	rc = claim_pick(s, now, w, take, ctx, r);
	if (rc <= 0) {
		if (rc == 0 && next_r && next_due(s, now, next_r) < 0)
			rc = STORE_ERR;
		return rc < 0 ? rc : STORE_NOTFOUND;
	}
	r->attempts++;
	st = store_prepare(s, "UPDATE smd_jobs SET state = 1, attempts = attempts + 1, pid = ?3,"
			      " started = ?4, finished = 0, updated = ?4, worker = ?5,"
			      " lease_until = ?6 WHERE " JOB_IS);
	if (st == NULL)
		return STORE_ERR;
	bind_key(st, r->key);
	db_bind_int64(st, 3, pid);
	db_bind_int64(st, 4, now);
	db_bind_text(st, 5, w ? w->name : "");
	db_bind_int64(st, 6, w ? now + w->lease_us : 0);
	return store_run(s, st, "smd claim");
}

static int claim(struct store *s, long long now, int pid, const struct smd_worker *w,
		 store_smd_take_fn take, void *ctx, struct smd_job *r, long long *next_r)
{
	int rc;

	STORE_OWN_RETRY(s, rc, claim_body(s, now, pid, w, take, ctx, r, next_r));
	return rc;
}

int store_smd_claim(struct store *s, long long now, int pid, store_smd_take_fn take, void *ctx,
		    struct smd_job *r, long long *next_r)
{
	return claim(s, now, pid, NULL, take, ctx, r, next_r);
}

int store_smd_claim_as(struct store *s, long long now, const struct smd_worker *w,
		       store_smd_take_fn take, void *ctx, struct smd_job *r, long long *next_r)
{
	size_t n = w->name ? strlen(w->name) : 0;

	if (n == 0 || n >= SMD_WORKER_MAX || w->lease_us <= 0) {
		store_set_error(s, "smd claim: bad worker name or lease");
		return STORE_ERR;
	}
	return claim(s, now, w->pid, w, take, ctx, r, next_r);
}

static int renew_body(struct store *s, struct smd_job_key key, const char *worker,
		      long long until)
{
	struct db_stmt *st = store_prepare(s, "UPDATE smd_jobs SET lease_until = ?4 WHERE " JOB_IS
					      " AND state = 1 AND worker = ?3");

	if (st == NULL)
		return STORE_ERR;
	bind_key(st, key);
	db_bind_text(st, 3, worker);
	db_bind_int64(st, 4, until);
	return run_one(s, st, "smd renew lease");
}

int store_smd_renew(struct store *s, struct smd_job_key key, const char *worker, long long until)
{
	int rc;

	if (key_check(s, key) < 0)
		return STORE_ERR;
	STORE_OWN_RETRY(s, rc, renew_body(s, key, worker, until));
	return rc;
}

/* recover_keys: the running jobs of ST (run with its bindings) that BUSY
 * does not keep, into *IDS_R (N_R of them). */
static int recover_keys(struct store *s, struct db_stmt *st, store_smd_take_fn busy, void *ctx,
			struct smd_job_key **ids_r, size_t *n_r)
{
	size_t cap = 0;
	int rc;

	while ((rc = db_step(st)) == DB_ROW) {
		struct smd_job job;

		job_row(st, &job);
		if (busy && busy(ctx, &job) != 0)
			continue;
		if (*n_r == cap) {
			cap = cap ? 2 * cap : 8;
			*ids_r = xrealloc(*ids_r, cap * sizeof(**ids_r));
		}
		(*ids_r)[(*n_r)++] = job.key;
	}
	if (db_reset(st) < 0 || rc != DB_DONE)
		return store_fail(s, "smd recover");
	return STORE_OK;
}

/* recover: the jobs SEL selects (bound already) that BUSY does not keep
 * go back to the queue; how many, or STORE_ERR. In a transaction. */
static int recover(struct store *s, struct db_stmt *sel, long long now, store_smd_take_fn busy,
		   void *ctx)
{
	struct smd_job_key *ids = NULL;
	size_t n = 0;
	struct db_stmt *st;
	int rc = recover_keys(s, sel, busy, ctx, &ids, &n);

	if (rc < 0) {
		free(ids);
		return rc;
	}
	st = store_prepare(s, "UPDATE smd_jobs SET state = 0, pid = 0, next_at = ?3,"
			      " updated = ?3, worker = '', lease_until = 0"
			      " WHERE " JOB_IS " AND state = 1");
	if (st == NULL) {
		free(ids);
		return STORE_ERR;
	}
	for (size_t i = 0; i < n && rc == STORE_OK; i++) {
		bind_key(st, ids[i]);
		db_bind_int64(st, 3, now);
		rc = store_run(s, st, "smd recover");
	}
	free(ids);
	return rc < 0 ? rc : (int)n;
}

/* recover_sel: the running jobs WORKER may recover (all of them when
 * WORKER is NULL), then recover(). */
static int recover_sel(struct store *s, long long now, const char *worker,
		       const char *host_prefix, store_smd_take_fn busy, void *ctx)
{
	struct db_stmt *st;

	if (worker == NULL)
		st = store_prepare(s, "SELECT " JOB_COLS " FROM smd_jobs WHERE state = 1"
				      " ORDER BY " ORDER_KEY);
	else
		st = store_prepare(
			s, "SELECT " JOB_COLS " FROM smd_jobs WHERE state = 1 AND"
			   " (worker = ?1 OR worker = '' OR (CAST(?2 AS TEXT) <> '' AND"
			   " substr(worker, 1, length(CAST(?2 AS TEXT))) = CAST(?2 AS TEXT)))"
			   " ORDER BY " ORDER_KEY);
	if (st == NULL)
		return STORE_ERR;
	if (worker != NULL) {
		db_bind_text(st, 1, worker);
		db_bind_text(st, 2, host_prefix ? host_prefix : "");
	}
	return recover(s, st, now, busy, ctx);
}

static int recover_tx(struct store *s, long long now, const char *worker,
		      const char *host_prefix, store_smd_take_fn busy, void *ctx)
{
	int rc;

	STORE_OWN_RETRY(s, rc, recover_sel(s, now, worker, host_prefix, busy, ctx));
	return rc;
}

int store_smd_recover(struct store *s, long long now, store_smd_take_fn busy, void *ctx)
{
	return recover_tx(s, now, NULL, NULL, busy, ctx);
}

int store_smd_recover_mine(struct store *s, long long now, const char *worker,
			   const char *host_prefix, store_smd_take_fn busy, void *ctx)
{
	return recover_tx(s, now, worker, host_prefix, busy, ctx);
}

static int progress_body(struct store *s, struct smd_job_key key, const struct smd_status *p)
{
	struct db_stmt *st = store_prepare(
		s, "UPDATE smd_jobs SET folders_done = ?3, folders_total = ?4, msgs_done = ?5,"
		   " msgs_total = ?6, bytes_done = ?7, bytes_total = ?8,"
		   " updated = ?9 WHERE " JOB_IS);

	if (st == NULL)
		return STORE_ERR;
	bind_key(st, key);
	db_bind_int64(st, 3, p->folders_done);
	db_bind_int64(st, 4, p->folders_total);
	db_bind_int64(st, 5, p->msgs_done);
	db_bind_int64(st, 6, p->msgs_total);
	db_bind_int64(st, 7, p->bytes_done);
	db_bind_int64(st, 8, p->bytes_total);
	/* Whole seconds, as the SQL's strftime('%s','now') gave before. */
	db_bind_int64(st, 9, (long long)time(NULL) * 1000000);
	return store_run(s, st, "smd progress");
}

int store_smd_progress(struct store *s, struct smd_job_key key, const struct smd_status *p)
{
	int rc;

	if (key_check(s, key) < 0)
		return STORE_ERR;
	STORE_OWN_RETRY(s, rc, progress_body(s, key, p));
	return rc;
}

static int finish_body(struct store *s, struct smd_job_key key, int ok, const char *reason,
		       long long retry_at, long long now)
{
	struct db_stmt *st = store_prepare(
		s, "UPDATE smd_jobs SET state = ?3, reason = ?4, next_at = ?5, finished = ?6,"
		   " pid = 0, updated = ?6 WHERE " JOB_IS);

	if (st == NULL)
		return STORE_ERR;
	bind_key(st, key);
	db_bind_int64(st, 3, ok ? SMD_DONE : retry_at > 0 ? SMD_QUEUED : SMD_FAILED);
	db_bind_text(st, 4, ok ? "" : reason ? reason : "");
	db_bind_int64(st, 5, retry_at);
	db_bind_int64(st, 6, now);
	return store_run(s, st, "smd finish");
}

int store_smd_finish(struct store *s, struct smd_job_key key, int ok, const char *reason,
		     long long retry_at, long long now)
{
	int rc;

	if (key_check(s, key) < 0)
		return STORE_ERR;
	STORE_OWN_RETRY(s, rc, finish_body(s, key, ok, reason, retry_at, now));
	return rc;
}

/* ------------------------------------------------------------ journal */

int store_smd_folder_get(struct store *s, const char *mailbox, const char *folder,
			 struct smd_folder *r)
{
	struct db_stmt *st = store_prepare(
		s, "SELECT uidvalidity, dst_folder, dst_uidvalidity, messages, bytes, verified,"
		   " highestmodseq FROM smd_folders WHERE mailbox = ?1 AND folder = ?2");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, mailbox);
	db_bind_text(st, 2, folder);
	rc = db_step(st);
	if (rc != DB_ROW) {
		db_reset(st);
		return rc == DB_DONE ? STORE_NOTFOUND : store_fail(s, "smd folder");
	}
	memset(r, 0, sizeof(*r));
	r->uidvalidity = (unsigned long long)db_column_int64(st, 0);
	store_text(st, 1, r->dst_name, sizeof(r->dst_name));
	r->dst_uidvalidity = (unsigned long long)db_column_int64(st, 2);
	r->messages = db_column_int64(st, 3);
	r->bytes = db_column_int64(st, 4);
	r->verified = (int)db_column_int64(st, 5);
	r->highestmodseq = (unsigned long long)db_column_int64(st, 6);
	db_reset(st);
	return STORE_OK;
}

int store_smd_folder_put(struct store *s, const char *mailbox, const char *folder,
			 const struct smd_folder *f)
{
	struct db_stmt *st = store_prepare(
		s, "INSERT INTO smd_folders(mailbox, folder, uidvalidity, dst_folder,"
		   " dst_uidvalidity, messages, bytes, verified, highestmodseq, updated)"
		   " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
		   " ON CONFLICT(mailbox, folder) DO UPDATE SET uidvalidity = ?3, dst_folder = ?4,"
		   " dst_uidvalidity = ?5, messages = ?6, bytes = ?7, verified = ?8,"
		   " highestmodseq = ?9, updated = excluded.updated");

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, mailbox);
	db_bind_text(st, 2, folder);
	db_bind_int64(st, 3, (long long)f->uidvalidity);
	db_bind_text(st, 4, f->dst_name);
	db_bind_int64(st, 5, (long long)f->dst_uidvalidity);
	db_bind_int64(st, 6, f->messages);
	db_bind_int64(st, 7, f->bytes);
	db_bind_int64(st, 8, f->verified);
	db_bind_int64(st, 9, (long long)f->highestmodseq);
	db_bind_int64(st, 10, (long long)time(NULL) * 1000000);
	return store_run(s, st, "smd folder put");
}

int store_smd_folders_each(struct store *s, const char *mailbox, store_smd_folder_fn fn, void *ctx)
{
	struct db_stmt *st = store_prepare(
		s, "SELECT folder, uidvalidity, dst_folder, dst_uidvalidity, messages, bytes,"
		   " verified FROM smd_folders WHERE mailbox = ?1 ORDER BY folder");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, mailbox);
	while ((rc = db_step(st)) == DB_ROW) {
		struct smd_folder f;
		char folder[1024];

		memset(&f, 0, sizeof(f));
		store_text(st, 0, folder, sizeof(folder));
		f.uidvalidity = (unsigned long long)db_column_int64(st, 1);
		store_text(st, 2, f.dst_name, sizeof(f.dst_name));
		f.dst_uidvalidity = (unsigned long long)db_column_int64(st, 3);
		f.messages = db_column_int64(st, 4);
		f.bytes = db_column_int64(st, 5);
		f.verified = (int)db_column_int64(st, 6);
		if (fn(ctx, folder, &f) != 0) {
			db_reset(st);
			return STORE_OK;
		}
	}
	db_reset(st);
	return rc == DB_DONE ? STORE_OK : store_fail(s, "smd folders");
}

int store_smd_map_each(struct store *s, const char *mailbox, const char *folder,
		       store_smd_map_fn fn, void *ctx)
{
	struct db_stmt *st = store_prepare(s, "SELECT src_uid, dst_uid, sha256, size, flags, gone"
					    " FROM smd_map"
					    " WHERE mailbox = ?1 AND folder = ?2 ORDER BY src_uid");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, mailbox);
	db_bind_text(st, 2, folder);
	while ((rc = db_step(st)) == DB_ROW) {
		struct smd_map_row row;
		size_t n;
		const void *b = db_column_blob(st, 2, &n);

		memset(&row, 0, sizeof(row));
		row.src_uid = (unsigned long long)db_column_int64(st, 0);
		row.dst_uid = (unsigned long long)db_column_int64(st, 1);
		if (n == 32)
			memcpy(row.sha256, b, 32);
		row.size = db_column_int64(st, 3);
		/* NULL: flags never copied (schema 10), not "none". */
		row.flags = db_column_null(st, 4) ? NULL : db_column_text(st, 4);
		row.gone = (int)db_column_int64(st, 5) != 0;
		if (fn(ctx, &row) != 0) {
			db_reset(st);
			return STORE_OK;
		}
	}
	db_reset(st);
	return rc == DB_DONE ? STORE_OK : store_fail(s, "smd map");
}

int store_smd_map_add(struct store *s, const char *mailbox, const char *folder,
		      const struct smd_map_row *row)
{
	struct db_stmt *st = store_prepare(
		s, "INSERT INTO smd_map(mailbox, folder, src_uid, dst_uid, sha256, size,"
		   " flags, gone) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
		   " ON CONFLICT(mailbox, folder, src_uid) DO UPDATE SET dst_uid = ?4,"
		   " sha256 = ?5, size = ?6, flags = ?7, gone = ?8");

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, mailbox);
	db_bind_text(st, 2, folder);
	db_bind_int64(st, 3, (long long)row->src_uid);
	db_bind_int64(st, 4, (long long)row->dst_uid);
	db_bind_blob(st, 5, row->sha256, 32);
	db_bind_int64(st, 6, row->size);
	if (row->flags)
		db_bind_text(st, 7, row->flags);
	else
		db_bind_null(st, 7);
	db_bind_int64(st, 8, row->gone != 0);
	return store_run(s, st, "smd map add");
}

int store_smd_map_set(struct store *s, const char *mailbox, const char *folder,
		      unsigned long long src_uid, const char *flags, int gone)
{
	struct db_stmt *st = store_prepare(s, "UPDATE smd_map SET flags = ?4, gone = ?5"
					    " WHERE mailbox = ?1 AND folder = ?2 AND src_uid = ?3");

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, mailbox);
	db_bind_text(st, 2, folder);
	db_bind_int64(st, 3, (long long)src_uid);
	if (flags)
		db_bind_text(st, 4, flags);
	else
		db_bind_null(st, 4);
	db_bind_int64(st, 5, gone != 0);
	return store_run(s, st, "smd map set");
}

int store_smd_map_del(struct store *s, const char *mailbox, const char *folder,
		      unsigned long long src_uid)
{
	struct db_stmt *st = store_prepare(
		s, "DELETE FROM smd_map WHERE mailbox = ?1 AND folder = ?2 AND src_uid = ?3");

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, mailbox);
	db_bind_text(st, 2, folder);
	db_bind_int64(st, 3, (long long)src_uid);
	return store_run(s, st, "smd map del");
}

int store_smd_map_clear(struct store *s, const char *mailbox, const char *folder)
{
	struct db_stmt *st = store_prepare(s, "DELETE FROM smd_map WHERE mailbox = ?1 AND folder = ?2");

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, mailbox);
	db_bind_text(st, 2, folder);
	return store_run(s, st, "smd map clear");
}

int store_smd_relax(struct store *s)
{
	if (db_exec(store_dbh(s),
		    store_sql(s, "PRAGMA synchronous=NORMAL", "SET synchronous_commit = off")) < 0)
		return store_fail(s, "synchronous=NORMAL");
	return STORE_OK;
}

/* ---- schema 13: folder renames and deletes, the subscription base ---- */

/* run_mf: ST with ?1 = MAILBOX, ?2 = FOLDER and ?3 = EXTRA (may be NULL) bound. */
static int run_mf(struct store *s, struct db_stmt *st, const char *mailbox, const char *folder,
		  const char *extra, const char *context)
{
	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, mailbox);
	db_bind_text(st, 2, folder);
	if (extra)
		db_bind_text(st, 3, extra);
	return store_run(s, st, context);
}

/* rename_folder_row: smd_folders' row OLD becomes NEW with target DST_NAME. */
static int rename_folder_row(struct store *s, const char *mailbox, const char *old,
			     const char *new, const char *dst_name)
{
	struct db_stmt *st = store_prepare(s, "UPDATE smd_folders SET folder = ?3, dst_folder = ?4"
					    " WHERE mailbox = ?1 AND folder = ?2");

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 4, dst_name);
	if (run_mf(s, st, mailbox, old, new, "smd folder rename") < 0)
		return STORE_ERR;
	if (db_changes(store_dbh(s)) == 0) {
		store_set_error(s, "smd folder rename: %s: no journal", old);
		return STORE_NOTFOUND;
	}
	return STORE_OK;
}

static int rename_body(struct store *s, const char *mailbox, const char *old, const char *new,
		       const char *dst_name)
{
	/* NEW's own rows, if any (a folder of that name vanished earlier and
	 * its journal lingered), would collide: the renamed folder's win. */
	int rc = store_smd_folder_forget(s, mailbox, new);
	if (rc == STORE_OK)
		rc = rename_folder_row(s, mailbox, old, new, dst_name);
	if (rc == STORE_OK)
		rc = run_mf(s,
			    store_prepare(s, "UPDATE smd_map SET folder = ?3"
					     " WHERE mailbox = ?1 AND folder = ?2"),
			    mailbox, old, new, "smd map rename");
	return rc;
}

int store_smd_folder_rename(struct store *s, const char *mailbox, const char *old,
			    const char *new, const char *dst_name)
{
	int rc;

	STORE_OWN_RETRY(s, rc, rename_body(s, mailbox, old, new, dst_name));
	return rc;
}

static int forget_body(struct store *s, const char *mailbox, const char *folder)
{
	int rc = run_mf(s, store_prepare(s, "DELETE FROM smd_map WHERE mailbox = ?1 AND folder = ?2"),
		    mailbox, folder, NULL, "smd map forget");
	if (rc == STORE_OK)
		rc = run_mf(s,
			    store_prepare(s, "DELETE FROM smd_folders WHERE mailbox = ?1 AND folder = ?2"),
			    mailbox, folder, NULL, "smd folder forget");
	return rc;
}

int store_smd_folder_forget(struct store *s, const char *mailbox, const char *folder)
{
	int rc;

	STORE_OWN_RETRY(s, rc, forget_body(s, mailbox, folder));
	return rc;
}

int store_smd_subs_each(struct store *s, const char *mailbox, store_smd_sub_fn fn, void *ctx)
{
	struct db_stmt *st =
		store_prepare(s, "SELECT name FROM smd_subs WHERE mailbox = ?1 ORDER BY name");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, mailbox);
	while ((rc = db_step(st)) == DB_ROW) {
		const char *name = db_column_text(st, 0);

		if (fn(ctx, name ? name : "") != 0) {
			db_reset(st);
			return STORE_OK;
		}
	}
	db_reset(st);
	return rc == DB_DONE ? STORE_OK : store_fail(s, "smd subs");
}

static int subs_body(struct store *s, const char *mailbox, char *const *names, size_t n)
{
	int rc;
	struct db_stmt *st = store_prepare(s, "DELETE FROM smd_subs WHERE mailbox = ?1");

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, mailbox);
	rc = store_run(s, st, "smd subs clear");
	for (size_t i = 0; i < n && rc == STORE_OK; i++) {
		st = store_prepare(s, "INSERT INTO smd_subs(mailbox, name) VALUES(?1, ?2)"
				      " ON CONFLICT DO NOTHING");
		rc = run_mf(s, st, mailbox, names[i], NULL, "smd subs add");
	}
	return rc;
}

int store_smd_subs_set(struct store *s, const char *mailbox, char *const *names, size_t n)
{
	int rc;

	STORE_OWN_RETRY(s, rc, subs_body(s, mailbox, names, n));
	return rc;
}
