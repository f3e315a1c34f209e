#include <stdlib.h>
#include <string.h>

#include "store_buffer.h"
#include "store_int.h"
#include "xalloc.h"

/* one_int: step ST (bound) for one integer; STORE_NOTFOUND without a row. */
static int one_int(struct store *s, struct db_stmt *st, long long *v_r, const char *context)
{
	int rc = db_step(st);

	if (rc == DB_ROW)
		*v_r = db_column_int64(st, 0);
	db_reset(st);
	if (rc == DB_DONE)
		return STORE_NOTFOUND;
	return rc == DB_ROW ? STORE_OK : store_fail(s, context);
}

int store_buffer_task_add(struct store *s, long long request_id, const char *src_system,
			  const char *mailbox, long long now)
{
	struct db_stmt *st = store_prepare(
		s, "INSERT INTO agent_tasks(request_id, src_system, mailbox, created,"
		   " updated) VALUES(?1, ?2, ?3, ?4, ?4) ON CONFLICT DO NOTHING");

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, request_id);
	db_bind_text(st, 2, src_system);
	db_bind_text(st, 3, mailbox);
	db_bind_int64(st, 4, now);
	return store_run(s, st, "agent task");
}

int store_buffer_task_find(struct store *s, const char *src_system, const char *mailbox,
			   long long *request_id_r)
{
	struct db_stmt *st = store_prepare(
		s, "SELECT request_id FROM agent_tasks WHERE src_system = ?1 AND mailbox = ?2"
		   " ORDER BY request_id DESC LIMIT 1");

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, src_system);
	db_bind_text(st, 2, mailbox);
	return one_int(s, st, request_id_r, "agent task");
}

/* The buffer's counts of a task; ?1 is its request id. */
#define TASK_COUNTS                                                                          \
	" (SELECT count(*) FROM agent_items i WHERE i.request_id = ?1 AND i.freed = 0),"      \
	" (SELECT coalesce(sum(size), 0) FROM agent_items i"                                 \
	"  WHERE i.request_id = ?1 AND i.freed = 0),"                                        \
	" (SELECT count(*) FROM agent_folders f WHERE f.request_id = ?1 AND f.attrs & 1 = 0" \
	"  AND f.done = 1),"                                                                 \
	" (SELECT count(*) FROM agent_folders f WHERE f.request_id = ?1 AND f.attrs & 1 = 0)"

int store_buffer_task_get(struct store *s, long long request_id, struct buffer_task *r)
{
	struct db_stmt *st = store_prepare(
		s, "SELECT agent, phase, reason, items, bytes," TASK_COUNTS ", lease_until"
		   " FROM agent_tasks WHERE request_id = ?1");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, request_id);
	rc = db_step(st);
	if (rc == DB_DONE) {
		db_reset(st);
		return STORE_NOTFOUND;
	}
	if (rc != DB_ROW) {
		db_reset(st);
		return store_fail(s, "agent task");
	}
	memset(r, 0, sizeof(*r));
	store_text(st, 0, r->agent, sizeof(r->agent));
	r->phase = (int)db_column_int64(st, 1);
	store_text(st, 2, r->reason, sizeof(r->reason));
	r->items = db_column_int64(st, 3);
	r->bytes = db_column_int64(st, 4);
	r->unfreed = db_column_int64(st, 5);
	r->waiting_bytes = db_column_int64(st, 6);
	r->folders_done = db_column_int64(st, 7);
	r->folders_total = db_column_int64(st, 8);
	r->lease_until = db_column_int64(st, 9);
	db_reset(st);
	return STORE_OK;
}

/* ------------------------------------------------------------ the master's gate */

struct due_job {
	struct smd_job_key key;
	char *system, *mailbox;
};

/* due_agent_jobs: the queued copies due at NOW whose source an agent reads
 * (a workstation's upload, SMD_LOCAL, included). */
static int due_agent_jobs(struct store *s, long long now, store_buffer_agent_fn is_agent,
			  void *ctx, struct due_job **jobs_r, size_t *n_r)
{
	struct db_stmt *st = store_prepare(
		s, "SELECT request_id, src_system, src_physical, kind FROM smd_jobs"
		   " WHERE state = 0 AND kind IN (0, 3) AND next_at <= ?1");
	struct due_job *jobs = NULL;
	size_t n = 0;
	int rc;

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, now);
	while ((rc = db_step(st)) == DB_ROW) {
		const char *system = db_column_text(st, 1);

		if (system == NULL || !is_agent(ctx, system))
			continue;
		jobs = xrealloc(jobs, (n + 1) * sizeof(*jobs));
		jobs[n].key = smd_key(db_column_int64(st, 0),
				      (int)db_column_int64(st, 3) == SMD_LOCAL ? SMD_LOCAL : SMD_COPY);
		jobs[n].system = xstrdup(system);
		jobs[n].mailbox = xstrdup(db_column_text(st, 2));
		n++;
	}
	db_reset(st);
	*jobs_r = jobs;
	*n_r = n;
	return rc == DB_DONE ? STORE_OK : store_fail(s, "agent jobs");
}

/*
 * gate_one: JOB's task; the job put off to DEFER_AT while its buffer is
 * idle. A task just made, or one an agent holds a live lease on, is let
 * through: its child waits for the uploads (buffer_job's idle time), so
 * the copy starts with the agent's first batch instead of a poll later.
 */
static int gate_one(struct store *s, const struct due_job *job, long long now,
		    long long defer_at)
{
	struct buffer_task t;
	int r = store_buffer_task_add(s, job->key.request_id, job->system, job->mailbox,
				      now / 1000000);
	int created = r == STORE_OK && db_changes(store_dbh(s)) > 0;

	if (r == STORE_OK)
		r = store_buffer_task_get(s, job->key.request_id, &t);
	if (r != STORE_OK)
		return STORE_ERR;
	if (created || t.unfreed > 0 || t.phase >= PHASE_DONE ||
	    (t.agent[0] && t.lease_until > now / 1000))
		return STORE_OK;
	struct db_stmt *st = store_prepare(
		s, "UPDATE smd_jobs SET next_at = ?2 WHERE request_id = ?1 AND kind = ?3");

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, job->key.request_id);
	db_bind_int64(st, 2, defer_at);
	db_bind_int64(st, 3, job->key.kind);
	return store_run(s, st, "agent gate");
}

static int gate_body(struct store *s, long long now, long long defer_at,
		     store_buffer_agent_fn is_agent, void *ctx)
{
	struct due_job *jobs = NULL;
	size_t n = 0;
	int r = due_agent_jobs(s, now, is_agent, ctx, &jobs, &n);

	for (size_t i = 0; i < n; i++) {
		if (r == STORE_OK)
			r = gate_one(s, &jobs[i], now, defer_at);
		free(jobs[i].system);
		free(jobs[i].mailbox);
	}
	free(jobs);
	return r;
}

int store_buffer_gate(struct store *s, long long now, long long defer_at,
		      store_buffer_agent_fn is_agent, void *ctx)
{
	int r;

	STORE_OWN_RETRY(s, r, gate_body(s, now, defer_at, is_agent, ctx));
	return r;
}

int store_buffer_requeue(struct store *s, struct smd_job_key key, const char *reason,
			 long long at)
{
	struct db_stmt *st = store_prepare(
		s, "UPDATE smd_jobs SET state = 0, attempts = CASE WHEN attempts > 1"
		   " THEN attempts - 1 ELSE 0 END, pid = 0,"
		   " reason = ?3, next_at = ?4, updated = ?4 WHERE request_id = ?1 AND kind = ?2");

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, key.request_id);
	db_bind_int64(st, 2, key.kind);
	db_bind_text(st, 3, reason);
	db_bind_int64(st, 4, at);
	return store_run(s, st, "agent requeue");
}

/* ------------------------------------------------------------ folders, items */

#define FOLDER_COLS                                                                     \
	"f.folder, f.sep, f.attrs, f.subscribed, f.done,"                               \
	" (SELECT count(*) FROM agent_items i WHERE i.request_id = f.request_id"        \
	"  AND i.folder = f.folder),"                                                   \
	" (SELECT coalesce(sum(size), 0) FROM agent_items i"                            \
	"  WHERE i.request_id = f.request_id AND i.folder = f.folder)"

static void folder_row(struct db_stmt *st, struct buffer_folder *f)
{
	const char *sep = db_column_text(st, 1);

	memset(f, 0, sizeof(*f));
	f->name = db_column_text(st, 0);
	f->name = f->name ? f->name : "";
	f->sep = sep && sep[0] && !sep[1] ? sep[0] : 0;
	f->attrs = (unsigned)(int)db_column_int64(st, 2);
	f->subscribed = (int)db_column_int64(st, 3) != 0;
	f->done = (int)db_column_int64(st, 4) != 0;
	f->items = db_column_int64(st, 5);
	f->bytes = db_column_int64(st, 6);
}

int store_buffer_folders_each(struct store *s, long long request_id, store_buffer_folder_fn fn,
			      void *ctx)
{
	struct db_stmt *st = store_prepare(s, "SELECT " FOLDER_COLS " FROM agent_folders f"
					    " WHERE f.request_id = ?1 ORDER BY f.folder");
	int rc, r = 0;

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, request_id);
	while (r == 0 && (rc = db_step(st)) == DB_ROW) {
		struct buffer_folder f;

		folder_row(st, &f);
		r = fn(ctx, &f);
	}
	db_reset(st);
	if (r != 0)
		return r;
	return rc == DB_DONE ? STORE_OK : store_fail(s, "agent folders");
}

int store_buffer_folder_find(struct store *s, long long request_id, const char *folder,
			     struct buffer_folder *r)
{
	struct db_stmt *st = store_prepare(s, "SELECT " FOLDER_COLS " FROM agent_folders f"
					    " WHERE f.request_id = ?1 AND f.folder = ?2");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, request_id);
	db_bind_text(st, 2, folder);
	rc = db_step(st);
	if (rc == DB_ROW) {
		folder_row(st, r);
		r->name = folder; /* the row's text is gone with the reset */
	}
	db_reset(st);
	if (rc == DB_DONE)
		return STORE_NOTFOUND;
	return rc == DB_ROW ? STORE_OK : store_fail(s, "agent folder");
}

static const char *col_text(struct db_stmt *st, int i)
{
	const char *t = db_column_text(st, i);

	return t ? t : "";
}

/* item_row: ST's row, or -1 when its hash is not a SHA-256. */
static int item_row(struct db_stmt *st, struct buffer_item *it)
{
	memset(it, 0, sizeof(*it));
	it->uid = (unsigned long long)db_column_int64(st, 0);
	it->size = (unsigned long long)db_column_int64(st, 1);
	it->offset = (unsigned long long)db_column_int64(st, 2);
	it->flags = col_text(st, 3);
	it->date = col_text(st, 4);
	it->path = col_text(st, 5);
	it->batch = db_column_int64(st, 7);
	it->freed = (int)db_column_int64(st, 8) != 0;
	size_t n;
	const void *h = db_column_blob(st, 6, &n);

	if (n != 32 || db_column_int64(st, 1) < 0 || db_column_int64(st, 2) < 0)
		return -1;
	memcpy(it->sha256, h, 32);
	return 0;
}

int store_buffer_items_each(struct store *s, long long request_id, const char *folder,
			    unsigned long long from, unsigned long long to,
			    store_buffer_item_fn fn, void *ctx)
{
	struct db_stmt *st = store_prepare(
		s, "SELECT i.uid, i.size, i.offset, i.flags, i.date, coalesce(b.path, ''),"
		   " i.sha256, i.batch, i.freed FROM agent_items i"
		   " LEFT JOIN agent_batches b ON b.id = i.batch"
		   " WHERE i.request_id = ?1 AND i.folder = ?2 AND i.uid BETWEEN ?3 AND ?4"
		   " ORDER BY i.uid");
	int rc, r = 0;

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, request_id);
	db_bind_text(st, 2, folder);
	db_bind_int64(st, 3, (long long)(from > (1ULL << 62) ? 1ULL << 62 : from));
	db_bind_int64(st, 4, (long long)(to > (1ULL << 62) ? 1ULL << 62 : to));
	while (r == 0 && (rc = db_step(st)) == DB_ROW) {
		struct buffer_item it;

		if (item_row(st, &it) < 0) {
			db_reset(st);
			store_set_error(s, "agent item uid %llu of %s: bad size, offset or sha256",
					it.uid, folder);
			return STORE_ERR;
		}
		r = fn(ctx, &it);
	}
	db_reset(st);
	if (r != 0)
		return r;
	return rc == DB_DONE ? STORE_OK : store_fail(s, "agent items");
}

/* ------------------------------------------------------------ freeing */

/* An item of ?1 that the journal of mailbox ?2 holds. */
#define JOURNALLED                                                                   \
	"EXISTS (SELECT 1 FROM smd_map m WHERE m.mailbox = ?2 AND m.folder = i.folder" \
	" AND m.src_uid = i.uid)"

/* emptied_paths: the paths of ?1's batches with nothing live left. */
static int emptied_paths(struct store *s, long long request_id, char ***paths_r)
{
	struct db_stmt *st = store_prepare(s, "SELECT path FROM agent_batches WHERE request_id = ?1"
					    " AND live <= 0 AND path != ''");
	char **paths = xcalloc(1, sizeof(*paths));
	size_t n = 0;
	int rc;

	if (st == NULL) {
		free(paths);
		return STORE_ERR;
	}
	db_bind_int64(st, 1, request_id);
	while ((rc = db_step(st)) == DB_ROW) {
		paths = xrealloc(paths, (n + 2) * sizeof(*paths));
		paths[n++] = xstrdup(col_text(st, 0));
		paths[n] = NULL;
	}
	db_reset(st);
	*paths_r = paths;
	return rc == DB_DONE ? STORE_OK : store_fail(s, "agent batches");
}

/* free_rows: mark what the journal holds; the batches it empties in *PATHS_R. */
static int free_rows(struct store *s, long long request_id, const char *mailbox,
		     char ***paths_r, long long *freed_r)
{
	/* The batches first: their counts come from the items not yet marked. */
	struct db_stmt *live = store_prepare(
		s, "UPDATE agent_batches SET live = live - (SELECT count(*) FROM agent_items i"
		   " WHERE i.batch = agent_batches.id AND i.freed = 0 AND " JOURNALLED ")"
		   " WHERE request_id = ?1");
	struct db_stmt *items = store_prepare(
		s, "UPDATE agent_items AS i SET freed = 1 WHERE i.request_id = ?1 AND i.freed = 0"
		   " AND " JOURNALLED);
	struct db_stmt *gone = store_prepare(
		s, "UPDATE agent_batches SET path = '' WHERE request_id = ?1 AND live <= 0");

	if (live == NULL || items == NULL || gone == NULL)
		return STORE_ERR;
	db_bind_int64(live, 1, request_id);
	db_bind_text(live, 2, mailbox);
	if (store_run(s, live, "agent free") < 0)
		return STORE_ERR;
	db_bind_int64(items, 1, request_id);
	db_bind_text(items, 2, mailbox);
	if (store_run(s, items, "agent free") < 0)
		return STORE_ERR;
	*freed_r = db_changes(store_dbh(s));
	if (emptied_paths(s, request_id, paths_r) < 0)
		return STORE_ERR;
	db_bind_int64(gone, 1, request_id);
	return store_run(s, gone, "agent free");
}

int store_buffer_free(struct store *s, long long request_id, const char *mailbox,
		      char ***paths_r, long long *freed_r)
{
	int own, r, attempt = 0;

	*paths_r = NULL;
	do {
		/* A run again starts from nothing: the rolled-back rows' paths go. */
		store_buffer_paths_free(*paths_r);
		*paths_r = NULL;
		*freed_r = 0;
		if (store_own_begin(s, &own) < 0)
			return STORE_ERR;
		r = store_own_end(s, own, free_rows(s, request_id, mailbox, paths_r, freed_r));
	} while (store_own_retry(s, own, r, &attempt));
	if (r != STORE_OK) {
		store_buffer_paths_free(*paths_r);
		*paths_r = NULL;
		*freed_r = 0;
	}
	return r;
}

void store_buffer_paths_free(char **paths)
{
	for (size_t i = 0; paths && paths[i]; i++)
		free(paths[i]);
	free(paths);
}

int store_buffer_unjournalled(struct store *s, long long request_id, const char *mailbox,
			      long long *n_r)
{
	struct db_stmt *st = store_prepare(s, "SELECT count(*) FROM agent_items i"
					    " WHERE i.request_id = ?1 AND NOT " JOURNALLED);

	*n_r = 0;
	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, request_id);
	db_bind_text(st, 2, mailbox);
	return one_int(s, st, n_r, "agent items");
}

int store_buffer_items_count(struct store *s, long long request_id, long long *n_r)
{
	struct db_stmt *st =
		store_prepare(s, "SELECT count(*) FROM agent_items WHERE request_id = ?1");

	*n_r = 0;
	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, request_id);
	return one_int(s, st, n_r, "agent items");
}
