#include <stdlib.h>
#include <string.h>

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

static void bind_key(sqlite3_stmt *st, struct smd_job_key key)
{
	sqlite3_bind_int64(st, 1, key.request_id);
	sqlite3_bind_int(st, 2, key.kind);
}

int store_smd_enqueue(struct store *s, struct smd_job_key key, const char *access,
		      const char *src_system, const char *src_physical, const char *dst_system,
		      const char *dst_physical, long long at)
{
	sqlite3_stmt *st = store_prepare_sq(
		s, "INSERT INTO smd_jobs(request_id, kind, access, src_system, src_physical,"
		   " dst_system, dst_physical, next_at, created, updated)"
		   " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?8)"
		   " ON CONFLICT(request_id, kind) DO NOTHING");

	if (st == NULL || key_check(s, key) < 0)
		return STORE_ERR;
	bind_key(st, key);
	sqlite3_bind_text(st, 3, access, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, src_system, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, src_physical, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, dst_system, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, dst_physical, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, at);
	return store_run_sq(s, st, "enqueue smd job");
}

int store_smd_rearm(struct store *s, struct smd_job_key key, long long at)
{
	sqlite3_stmt *st = store_prepare_sq(
		s, "UPDATE smd_jobs SET state = ?3, attempts = 0, pid = 0, folders_done = 0,"
		   " folders_total = 0, msgs_done = 0, msgs_total = 0, bytes_done = 0,"
		   " bytes_total = 0, started = 0, finished = 0, reason = '', next_at = ?4,"
		   " updated = ?4 WHERE " JOB_IS " AND state IN (?5, ?6)");
	int rc;

	if (st == NULL || key_check(s, key) < 0)
		return STORE_ERR;
	bind_key(st, key);
	sqlite3_bind_int(st, 3, SMD_QUEUED);
	sqlite3_bind_int64(st, 4, at);
	sqlite3_bind_int(st, 5, SMD_DONE);
	sqlite3_bind_int(st, 6, SMD_FAILED);
	rc = store_run_sq(s, st, "queue smd job again");
	if (rc == STORE_OK && sqlite3_changes(store_db(s)) == 0)
		rc = STORE_NOTFOUND;
	return rc;
}

int store_smd_drop(struct store *s, struct smd_job_key key)
{
	sqlite3_stmt *st =
		store_prepare_sq(s, "DELETE FROM smd_jobs WHERE " JOB_IS " AND state = ?3");
	int rc;

	if (st == NULL || key_check(s, key) < 0)
		return STORE_ERR;
	bind_key(st, key);
	sqlite3_bind_int(st, 3, SMD_QUEUED);
	rc = store_run_sq(s, st, "drop smd job");
	if (rc == STORE_OK && sqlite3_changes(store_db(s)) == 0)
		rc = STORE_NOTFOUND;
	return rc;
}

int store_smd_status(struct store *s, struct smd_job_key key, struct smd_status *r)
{
	sqlite3_stmt *st = store_prepare_sq(
		s, "SELECT state, attempts, folders_done, folders_total, msgs_done, msgs_total,"
		   " bytes_done, bytes_total, started, finished, reason"
		   " FROM smd_jobs WHERE " JOB_IS);
	int rc;

	if (st == NULL || key_check(s, key) < 0)
		return STORE_ERR;
	bind_key(st, key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return STORE_NOTFOUND;
	}
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return store_fail_sq(s, "smd status");
	}
	memset(r, 0, sizeof(*r));
	r->state = (enum smd_job_state)sqlite3_column_int(st, 0);
	r->attempts = sqlite3_column_int(st, 1);
	r->folders_done = sqlite3_column_int64(st, 2);
	r->folders_total = sqlite3_column_int64(st, 3);
	r->msgs_done = sqlite3_column_int64(st, 4);
	r->msgs_total = sqlite3_column_int64(st, 5);
	r->bytes_done = sqlite3_column_int64(st, 6);
	r->bytes_total = sqlite3_column_int64(st, 7);
	r->started = sqlite3_column_int64(st, 8);
	r->finished = sqlite3_column_int64(st, 9);
	store_text_sq(st, 10, r->reason, sizeof(r->reason));
	sqlite3_reset(st);
	return STORE_OK;
}

/* JOB_COLS, in this order, are what job_row() reads. */
#define JOB_COLS                                                                    \
	"request_id, kind, access, src_system, src_physical, dst_system, dst_physical," \
	" attempts"

/* job_row: the job in ST's JOB_COLS (attempts as counted so far). */
static void job_row(sqlite3_stmt *st, struct smd_job *r)
{
	memset(r, 0, sizeof(*r));
	int kind = sqlite3_column_int(st, 1);

	r->key.request_id = sqlite3_column_int64(st, 0);
	r->key.kind = kind == SMD_COPY_BACK || kind == SMD_PRESTAGE || kind == SMD_LOCAL
			      ? (enum smd_kind)kind
			      : SMD_COPY;
	store_text_sq(st, 2, r->access, sizeof(r->access));
	store_text_sq(st, 3, r->src_system, sizeof(r->src_system));
	store_text_sq(st, 4, r->src_physical, sizeof(r->src_physical));
	store_text_sq(st, 5, r->dst_system, sizeof(r->dst_system));
	store_text_sq(st, 6, r->dst_physical, sizeof(r->dst_physical));
	r->attempts = sqlite3_column_int(st, 7);
}

int store_smd_claim(struct store *s, long long now, int pid, store_smd_take_fn take, void *ctx,
		    struct smd_job *r, long long *next_r)
{
	int mine, rc, taken = 0;
	sqlite3_stmt *st;

	if (next_r)
		*next_r = 0;
	if (store_own_begin(s, &mine) < 0)
		return STORE_ERR;
	/* In the write transaction, so that TAKE runs before anyone else can
	 * see the job as running or recover it. */
	st = store_prepare_sq(s, "SELECT " JOB_COLS " FROM smd_jobs WHERE state = 0 AND next_at <= ?1"
			      " ORDER BY " PRESTAGE_LAST ", next_at, " ORDER_KEY);
	if (st == NULL)
		return store_own_end(s, mine, STORE_ERR);
	sqlite3_bind_int64(st, 1, now);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		job_row(st, r);
		if (take == NULL || take(ctx, r) == 0) {
			taken = 1;
			break;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_own_end(s, mine, store_fail_sq(s, "smd claim"));
	if (!taken) {
		if (next_r) {
			st = store_prepare_sq(s, "SELECT MIN(next_at) FROM smd_jobs WHERE state = 0"
					      " AND next_at > ?1");
			if (st == NULL)
				return store_own_end(s, mine, STORE_ERR);
			sqlite3_bind_int64(st, 1, now);
			if (sqlite3_step(st) == SQLITE_ROW)
				*next_r = sqlite3_column_int64(st, 0);
			sqlite3_reset(st);
		}
		return store_own_end(s, mine, STORE_NOTFOUND);
	}
	r->attempts++;
	st = store_prepare_sq(s, "UPDATE smd_jobs SET state = 1, attempts = attempts + 1, pid = ?3,"
			      " started = ?4, finished = 0, updated = ?4 WHERE " JOB_IS);
	if (st == NULL)
		return store_own_end(s, mine, STORE_ERR);
	bind_key(st, r->key);
	sqlite3_bind_int(st, 3, pid);
	sqlite3_bind_int64(st, 4, now);
	return store_own_end(s, mine, store_run_sq(s, st, "smd claim"));
}

int store_smd_recover(struct store *s, long long now, store_smd_take_fn busy, void *ctx)
{
	struct smd_job_key *ids = NULL;
	size_t n = 0, cap = 0;
	int mine, rc;
	sqlite3_stmt *st;

	if (store_own_begin(s, &mine) < 0)
		return STORE_ERR;
	st = store_prepare_sq(s, "SELECT " JOB_COLS " FROM smd_jobs WHERE state = 1"
			      " ORDER BY " ORDER_KEY);
	if (st == NULL)
		return store_own_end(s, mine, STORE_ERR);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct smd_job job;

		job_row(st, &job);
		if (busy && busy(ctx, &job) != 0)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 8;
			ids = xrealloc(ids, cap * sizeof(*ids));
		}
		ids[n++] = job.key;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		free(ids);
		return store_own_end(s, mine, store_fail_sq(s, "smd recover"));
	}
	st = store_prepare_sq(s, "UPDATE smd_jobs SET state = 0, pid = 0, next_at = ?3,"
			      " updated = ?3 WHERE " JOB_IS " AND state = 1");
	if (st == NULL) {
		free(ids);
		return store_own_end(s, mine, STORE_ERR);
	}
	rc = STORE_OK;
	for (size_t i = 0; i < n && rc == STORE_OK; i++) {
		bind_key(st, ids[i]);
		sqlite3_bind_int64(st, 3, now);
		rc = store_run_sq(s, st, "smd recover");
	}
	free(ids);
	return store_own_end(s, mine, rc < 0 ? rc : (int)n);
}

int store_smd_progress(struct store *s, struct smd_job_key key, const struct smd_status *p)
{
	sqlite3_stmt *st = store_prepare_sq(
		s, "UPDATE smd_jobs SET folders_done = ?3, folders_total = ?4, msgs_done = ?5,"
		   " msgs_total = ?6, bytes_done = ?7, bytes_total = ?8,"
		   " updated = strftime('%s','now') * 1000000 WHERE " JOB_IS);

	if (st == NULL || key_check(s, key) < 0)
		return STORE_ERR;
	bind_key(st, key);
	sqlite3_bind_int64(st, 3, p->folders_done);
	sqlite3_bind_int64(st, 4, p->folders_total);
	sqlite3_bind_int64(st, 5, p->msgs_done);
	sqlite3_bind_int64(st, 6, p->msgs_total);
	sqlite3_bind_int64(st, 7, p->bytes_done);
	sqlite3_bind_int64(st, 8, p->bytes_total);
	return store_run_sq(s, st, "smd progress");
}

int store_smd_finish(struct store *s, struct smd_job_key key, int ok, const char *reason,
		     long long retry_at, long long now)
{
	sqlite3_stmt *st = store_prepare_sq(
		s, "UPDATE smd_jobs SET state = ?3, reason = ?4, next_at = ?5, finished = ?6,"
		   " pid = 0, updated = ?6 WHERE " JOB_IS);

	if (st == NULL || key_check(s, key) < 0)
		return STORE_ERR;
	bind_key(st, key);
	sqlite3_bind_int(st, 3, ok ? SMD_DONE : retry_at > 0 ? SMD_QUEUED : SMD_FAILED);
	sqlite3_bind_text(st, 4, ok ? "" : reason ? reason : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, retry_at);
	sqlite3_bind_int64(st, 6, now);
	return store_run_sq(s, st, "smd finish");
}

/* ------------------------------------------------------------ journal */

int store_smd_folder_get(struct store *s, const char *mailbox, const char *folder,
			 struct smd_folder *r)
{
	sqlite3_stmt *st = store_prepare_sq(
		s, "SELECT uidvalidity, dst_folder, dst_uidvalidity, messages, bytes, verified,"
		   " highestmodseq FROM smd_folders WHERE mailbox = ?1 AND folder = ?2");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	sqlite3_bind_text(st, 1, mailbox, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, folder, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return rc == SQLITE_DONE ? STORE_NOTFOUND : store_fail_sq(s, "smd folder");
	}
	memset(r, 0, sizeof(*r));
	r->uidvalidity = (unsigned long long)sqlite3_column_int64(st, 0);
	store_text_sq(st, 1, r->dst_name, sizeof(r->dst_name));
	r->dst_uidvalidity = (unsigned long long)sqlite3_column_int64(st, 2);
	r->messages = sqlite3_column_int64(st, 3);
	r->bytes = sqlite3_column_int64(st, 4);
	r->verified = sqlite3_column_int(st, 5);
	r->highestmodseq = (unsigned long long)sqlite3_column_int64(st, 6);
	sqlite3_reset(st);
	return STORE_OK;
}

int store_smd_folder_put(struct store *s, const char *mailbox, const char *folder,
			 const struct smd_folder *f)
{
	sqlite3_stmt *st = store_prepare_sq(
		s, "INSERT INTO smd_folders(mailbox, folder, uidvalidity, dst_folder,"
		   " dst_uidvalidity, messages, bytes, verified, highestmodseq, updated)"
		   " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, strftime('%s','now') * 1000000)"
		   " ON CONFLICT(mailbox, folder) DO UPDATE SET uidvalidity = ?3, dst_folder = ?4,"
		   " dst_uidvalidity = ?5, messages = ?6, bytes = ?7, verified = ?8,"
		   " highestmodseq = ?9, updated = excluded.updated");

	if (st == NULL)
		return STORE_ERR;
	sqlite3_bind_text(st, 1, mailbox, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, folder, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (long long)f->uidvalidity);
	sqlite3_bind_text(st, 4, f->dst_name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (long long)f->dst_uidvalidity);
	sqlite3_bind_int64(st, 6, f->messages);
	sqlite3_bind_int64(st, 7, f->bytes);
	sqlite3_bind_int(st, 8, f->verified);
	sqlite3_bind_int64(st, 9, (long long)f->highestmodseq);
	return store_run_sq(s, st, "smd folder put");
}

int store_smd_folders_each(struct store *s, const char *mailbox, store_smd_folder_fn fn, void *ctx)
{
	sqlite3_stmt *st = store_prepare_sq(
		s, "SELECT folder, uidvalidity, dst_folder, dst_uidvalidity, messages, bytes,"
		   " verified FROM smd_folders WHERE mailbox = ?1 ORDER BY folder");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	sqlite3_bind_text(st, 1, mailbox, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct smd_folder f;
		char folder[1024];

		memset(&f, 0, sizeof(f));
		store_text_sq(st, 0, folder, sizeof(folder));
		f.uidvalidity = (unsigned long long)sqlite3_column_int64(st, 1);
		store_text_sq(st, 2, f.dst_name, sizeof(f.dst_name));
		f.dst_uidvalidity = (unsigned long long)sqlite3_column_int64(st, 3);
		f.messages = sqlite3_column_int64(st, 4);
		f.bytes = sqlite3_column_int64(st, 5);
		f.verified = sqlite3_column_int(st, 6);
		if (fn(ctx, folder, &f) != 0) {
			sqlite3_reset(st);
			return STORE_OK;
		}
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? STORE_OK : store_fail_sq(s, "smd folders");
}

int store_smd_map_each(struct store *s, const char *mailbox, const char *folder,
		       store_smd_map_fn fn, void *ctx)
{
	sqlite3_stmt *st = store_prepare_sq(s, "SELECT src_uid, dst_uid, sha256, size, flags, gone"
					    " FROM smd_map"
					    " WHERE mailbox = ?1 AND folder = ?2 ORDER BY src_uid");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	sqlite3_bind_text(st, 1, mailbox, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, folder, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct smd_map_row row;
		const void *b = sqlite3_column_blob(st, 2);

		memset(&row, 0, sizeof(row));
		row.src_uid = (unsigned long long)sqlite3_column_int64(st, 0);
		row.dst_uid = (unsigned long long)sqlite3_column_int64(st, 1);
		if (b && sqlite3_column_bytes(st, 2) == 32)
			memcpy(row.sha256, b, 32);
		row.size = sqlite3_column_int64(st, 3);
		row.flags = (const char *)sqlite3_column_text(st, 4);
		row.gone = sqlite3_column_int(st, 5) != 0;
		if (fn(ctx, &row) != 0) {
			sqlite3_reset(st);
			return STORE_OK;
		}
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? STORE_OK : store_fail_sq(s, "smd map");
}

int store_smd_map_add(struct store *s, const char *mailbox, const char *folder,
		      const struct smd_map_row *row)
{
	sqlite3_stmt *st = store_prepare_sq(
		s, "INSERT OR REPLACE INTO smd_map(mailbox, folder, src_uid, dst_uid, sha256, size,"
		   " flags, gone) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");

	if (st == NULL)
		return STORE_ERR;
	sqlite3_bind_text(st, 1, mailbox, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, folder, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (long long)row->src_uid);
	sqlite3_bind_int64(st, 4, (long long)row->dst_uid);
	sqlite3_bind_blob(st, 5, row->sha256, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, row->size);
	if (row->flags)
		sqlite3_bind_text(st, 7, row->flags, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 7);
	sqlite3_bind_int(st, 8, row->gone != 0);
	return store_run_sq(s, st, "smd map add");
}

int store_smd_map_set(struct store *s, const char *mailbox, const char *folder,
		      unsigned long long src_uid, const char *flags, int gone)
{
	sqlite3_stmt *st = store_prepare_sq(s, "UPDATE smd_map SET flags = ?4, gone = ?5"
					    " WHERE mailbox = ?1 AND folder = ?2 AND src_uid = ?3");

	if (st == NULL)
		return STORE_ERR;
	sqlite3_bind_text(st, 1, mailbox, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, folder, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (long long)src_uid);
	if (flags)
		sqlite3_bind_text(st, 4, flags, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 4);
	sqlite3_bind_int(st, 5, gone != 0);
	return store_run_sq(s, st, "smd map set");
}

int store_smd_map_del(struct store *s, const char *mailbox, const char *folder,
		      unsigned long long src_uid)
{
	sqlite3_stmt *st = store_prepare_sq(
		s, "DELETE FROM smd_map WHERE mailbox = ?1 AND folder = ?2 AND src_uid = ?3");

	if (st == NULL)
		return STORE_ERR;
	sqlite3_bind_text(st, 1, mailbox, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, folder, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (long long)src_uid);
	return store_run_sq(s, st, "smd map del");
}

int store_smd_map_clear(struct store *s, const char *mailbox, const char *folder)
{
	sqlite3_stmt *st = store_prepare_sq(s, "DELETE FROM smd_map WHERE mailbox = ?1 AND folder = ?2");

	if (st == NULL)
		return STORE_ERR;
	sqlite3_bind_text(st, 1, mailbox, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, folder, -1, SQLITE_STATIC);
	return store_run_sq(s, st, "smd map clear");
}

int store_smd_relax(struct store *s)
{
	if (sqlite3_exec(store_db(s), "PRAGMA synchronous=NORMAL", NULL, NULL, NULL) != SQLITE_OK)
		return store_fail_sq(s, "synchronous=NORMAL");
	return STORE_OK;
}

/* ---- schema 13: folder renames and deletes, the subscription base ---- */

/* run_mf: ST with ?1 = MAILBOX, ?2 = FOLDER and ?3 = EXTRA (may be NULL) bound. */
static int run_mf(struct store *s, sqlite3_stmt *st, const char *mailbox, const char *folder,
		  const char *extra, const char *context)
{
	if (st == NULL)
		return STORE_ERR;
	sqlite3_bind_text(st, 1, mailbox, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, folder, -1, SQLITE_STATIC);
	if (extra)
		sqlite3_bind_text(st, 3, extra, -1, SQLITE_STATIC);
	return store_run_sq(s, st, context);
}

/* rename_folder_row: smd_folders' row OLD becomes NEW with target DST_NAME. */
static int rename_folder_row(struct store *s, const char *mailbox, const char *old,
			     const char *new, const char *dst_name)
{
	sqlite3_stmt *st = store_prepare_sq(s, "UPDATE smd_folders SET folder = ?3, dst_folder = ?4"
					    " WHERE mailbox = ?1 AND folder = ?2");

	if (st == NULL)
		return STORE_ERR;
	sqlite3_bind_text(st, 4, dst_name, -1, SQLITE_STATIC);
	if (run_mf(s, st, mailbox, old, new, "smd folder rename") < 0)
		return STORE_ERR;
	if (sqlite3_changes(store_db(s)) == 0) {
		store_set_error(s, "smd folder rename: %s: no journal", old);
		return STORE_NOTFOUND;
	}
	return STORE_OK;
}

int store_smd_folder_rename(struct store *s, const char *mailbox, const char *old,
			    const char *new, const char *dst_name)
{
	int own, rc = store_own_begin(s, &own);

	if (rc < 0)
		return rc;
	/* NEW's own rows, if any (a folder of that name vanished earlier and
	 * its journal lingered), would collide: the renamed folder's win. */
	rc = store_smd_folder_forget(s, mailbox, new);
	if (rc == STORE_OK)
		rc = rename_folder_row(s, mailbox, old, new, dst_name);
	if (rc == STORE_OK)
		rc = run_mf(s,
			    store_prepare_sq(s, "UPDATE smd_map SET folder = ?3"
					     " WHERE mailbox = ?1 AND folder = ?2"),
			    mailbox, old, new, "smd map rename");
	return store_own_end(s, own, rc);
}

int store_smd_folder_forget(struct store *s, const char *mailbox, const char *folder)
{
	int own, rc = store_own_begin(s, &own);

	if (rc < 0)
		return rc;
	rc = run_mf(s, store_prepare_sq(s, "DELETE FROM smd_map WHERE mailbox = ?1 AND folder = ?2"),
		    mailbox, folder, NULL, "smd map forget");
	if (rc == STORE_OK)
		rc = run_mf(s,
			    store_prepare_sq(s, "DELETE FROM smd_folders WHERE mailbox = ?1 AND folder = ?2"),
			    mailbox, folder, NULL, "smd folder forget");
	return store_own_end(s, own, rc);
}

int store_smd_subs_each(struct store *s, const char *mailbox, store_smd_sub_fn fn, void *ctx)
{
	sqlite3_stmt *st =
		store_prepare_sq(s, "SELECT name FROM smd_subs WHERE mailbox = ?1 ORDER BY name");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	sqlite3_bind_text(st, 1, mailbox, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);

		if (fn(ctx, name ? name : "") != 0) {
			sqlite3_reset(st);
			return STORE_OK;
		}
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? STORE_OK : store_fail_sq(s, "smd subs");
}

int store_smd_subs_set(struct store *s, const char *mailbox, char *const *names, size_t n)
{
	int own, rc = store_own_begin(s, &own);
	sqlite3_stmt *st;

	if (rc < 0)
		return rc;
	st = store_prepare_sq(s, "DELETE FROM smd_subs WHERE mailbox = ?1");
	if (st == NULL)
		return store_own_end(s, own, STORE_ERR);
	sqlite3_bind_text(st, 1, mailbox, -1, SQLITE_STATIC);
	rc = store_run_sq(s, st, "smd subs clear");
	for (size_t i = 0; i < n && rc == STORE_OK; i++) {
		st = store_prepare_sq(s, "INSERT OR IGNORE INTO smd_subs(mailbox, name) VALUES(?1, ?2)");
		rc = run_mf(s, st, mailbox, names[i], NULL, "smd subs add");
	}
	return store_own_end(s, own, rc);
}
