#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"
#include "store_agent.h"
#include "store_int.h"
#include "store_ws.h"
#include "xalloc.h"

int agent_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= AGENT_NAME_MAX)
		return 0;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
			return 0;
	return 1;
}

/* one_row: ST stepped once: STORE_OK on a row (reset it after reading),
 * STORE_NOTFOUND (reset) when none, STORE_ERR with CONTEXT. */
static int one_row(struct store *s, struct db_stmt *st, const char *context)
{
	int rc = db_step(st);

	if (rc == DB_ROW)
		return STORE_OK;
	db_reset(st);
	return rc == DB_DONE ? STORE_NOTFOUND : store_fail(s, context);
}

int store_agent_add(struct store *s, const char *name, const unsigned char *code_hash,
		    long long expires, long long now, const char *systems)
{
	struct db_stmt *st = store_prepare(
		s, "INSERT INTO agents(name, code_hash, code_expires, state, created, systems)"
		   " VALUES(?1, ?2, ?3, 0, ?4, ?5) ON CONFLICT(name) DO NOTHING");

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, name);
	db_bind_blob(st, 2, code_hash, AGENT_HASH_LEN);
	db_bind_int64(st, 3, expires);
	db_bind_int64(st, 4, now);
	db_bind_text(st, 5, systems);
	if (store_run(s, st, "add agent") < 0)
		return STORE_ERR;
	return db_changes(store_dbh(s)) == 1 ? STORE_OK : STORE_AGENT_EXISTS;
}

int store_agent_enrol(struct store *s, const unsigned char *code_hash,
		      const unsigned char *token_hash, long long now, char name_r[AGENT_NAME_MAX])
{
	/* One statement: the code's use and the token's issue are atomic. */
	struct db_stmt *st = store_prepare(
		s, "UPDATE agents SET code_hash = NULL, code_expires = 0, token_hash = ?2,"
		   " state = 1, enrolled = ?3, last_seen = ?3"
		   " WHERE code_hash = ?1 AND state = 0 AND code_expires >= ?3 RETURNING name");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	db_bind_blob(st, 1, code_hash, AGENT_HASH_LEN);
	db_bind_blob(st, 2, token_hash, AGENT_HASH_LEN);
	db_bind_int64(st, 3, now);
	if ((rc = one_row(s, st, "enrol agent")) != STORE_OK)
		return rc;
	store_text(st, 0, name_r, AGENT_NAME_MAX);
	/* Step to the end so the change is made, then reset. */
	rc = db_step(st);
	db_reset(st);
	return rc == DB_DONE ? STORE_OK : store_fail(s, "enrol agent");
}

#define AGENT_COLS \
	"name, state, version, slots, health, created, enrolled, last_seen, code_expires, systems," \
	" kind = 'workstation', address"

static void agent_read(struct db_stmt *st, struct agent_row *r)
{
	memset(r, 0, sizeof(*r));
	store_text(st, 0, r->name, sizeof(r->name));
	r->state = (int)db_column_int64(st, 1);
	store_text(st, 2, r->version, sizeof(r->version));
	r->slots = (int)db_column_int64(st, 3);
	store_text(st, 4, r->health, sizeof(r->health));
	r->created = db_column_int64(st, 5);
	r->enrolled = db_column_int64(st, 6);
	r->last_seen = db_column_int64(st, 7);
	r->code_expires = db_column_int64(st, 8);
	store_text(st, 9, r->systems, sizeof(r->systems));
	r->workstation = (int)db_column_int64(st, 10);
	store_text(st, 11, r->address, sizeof(r->address));
}

int store_agent_auth(struct store *s, const unsigned char *token_hash, struct agent_row *r)
{
	struct db_stmt *st = store_prepare(
		s, "SELECT " AGENT_COLS " FROM agents WHERE token_hash = ?1 AND state = 1");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	db_bind_blob(st, 1, token_hash, AGENT_HASH_LEN);
	if ((rc = one_row(s, st, "agent auth")) != STORE_OK)
		return rc;
	agent_read(st, r);
	db_reset(st);
	return STORE_OK;
}

/* The lease count as the 13th column, with NOW_MS bound as ?1. */
#define AGENT_TASKS_COL \
	", (SELECT count(*) FROM agent_tasks t WHERE t.agent = a.name AND t.lease_until >= ?1)"

int store_agent_get(struct store *s, const char *name, long long now_ms, struct agent_row *r)
{
	struct db_stmt *st = store_prepare(
		s, "SELECT " AGENT_COLS AGENT_TASKS_COL " FROM agents a WHERE name = ?2");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, now_ms);
	db_bind_text(st, 2, name);
	if ((rc = one_row(s, st, "agent get")) != STORE_OK)
		return rc;
	agent_read(st, r);
	r->tasks = db_column_int64(st, 12);
	db_reset(st);
	return STORE_OK;
}

int store_agent_each(struct store *s, long long now_ms, store_agent_fn fn, void *ctx)
{
	struct db_stmt *st =
		store_prepare(s, "SELECT " AGENT_COLS AGENT_TASKS_COL " FROM agents a ORDER BY name");
	struct agent_row r;
	int rc;

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, now_ms);
	while ((rc = db_step(st)) == DB_ROW) {
		agent_read(st, &r);
		r.tasks = db_column_int64(st, 12); /* after AGENT_COLS' 12 */
		if (fn(ctx, &r) != 0) {
			db_reset(st);
			return STORE_OK;
		}
	}
	db_reset(st);
	return rc == DB_DONE ? STORE_OK : store_fail(s, "agent list");
}

int store_agent_release(struct store *s, const char *agent)
{
	struct db_stmt *st = store_prepare(
		s, "UPDATE agent_tasks SET agent = '', lease_until = 0 WHERE agent = ?1");

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, agent);
	return store_run(s, st, "release leases");
}

int store_agent_revoke(struct store *s, const char *name)
{
	struct db_stmt *st;
	int own, rc, attempt = 0;

	do {
		if (store_own_begin(s, &own) < 0)
			return STORE_ERR;
		st = store_prepare(s, "UPDATE agents SET state = 2, token_hash = NULL, code_hash = NULL"
				      " WHERE name = ?1");
		rc = st ? STORE_OK : STORE_ERR;
		if (rc == STORE_OK) {
			db_bind_text(st, 1, name);
			rc = store_run(s, st, "revoke agent");
		}
		if (rc == STORE_OK && db_changes(store_dbh(s)) == 0)
			rc = STORE_NOTFOUND;
		if (rc == STORE_OK)
			rc = store_agent_release(s, name);
		rc = store_own_end(s, own, rc);
	} while (store_own_retry(s, own, rc, &attempt));
	return rc;
}

int store_agent_task_retry(struct store *s, long long req)
{
	/* A failed read tests again; a cancelled one resumes from the folders'
	 * cursors when it had listed them. The lease goes: any agent may take it. */
	struct db_stmt *st = store_prepare(
		s, "UPDATE agent_tasks SET phase = CASE WHEN phase = 5 AND EXISTS(SELECT 1 FROM"
		   " agent_folders f WHERE f.request_id = ?1) THEN 2 ELSE 0 END, reason = '',"
		   " agent = '', lease_until = 0, action = '', cancel_at = 0"
		   " WHERE request_id = ?1 AND phase IN (4, 5)");

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, req);
	return store_run(s, st, "retry agent task");
}

int store_agent_seen(struct store *s, const char *name, const char *version, int slots,
		     const char *health, long long now)
{
	struct db_stmt *st = store_prepare(
		s, "UPDATE agents SET version = ?2, slots = ?3, health = ?4, last_seen = ?5"
		   " WHERE name = ?1");

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, name);
	db_bind_text(st, 2, version);
	db_bind_int64(st, 3, slots);
	db_bind_text(st, 4, health);
	db_bind_int64(st, 5, now);
	return store_run(s, st, "agent seen");
}

/* --- tasks --- */

#define TASK_COLS                                                                              \
	"t.request_id, t.src_system, t.mailbox, t.agent, t.lease_until, t.seq, t.phase, t.action," \
	" t.reason, t.items, t.bytes, t.cancel_at, coalesce(r.state, -1)"
#define TASK_FROM " FROM agent_tasks t LEFT JOIN requests r ON r.id = t.request_id"

static void task_read(struct db_stmt *st, struct agent_task *r)
{
	memset(r, 0, sizeof(*r));
	r->request_id = db_column_int64(st, 0);
	store_text(st, 1, r->system, sizeof(r->system));
	store_text(st, 2, r->mailbox, sizeof(r->mailbox));
	store_text(st, 3, r->agent, sizeof(r->agent));
	r->lease_until = db_column_int64(st, 4);
	r->seq = db_column_int64(st, 5);
	r->phase = (int)db_column_int64(st, 6);
	store_text(st, 7, r->action, sizeof(r->action));
	store_text(st, 8, r->reason, sizeof(r->reason));
	r->items = db_column_int64(st, 9);
	r->bytes = db_column_int64(st, 10);
	r->cancel_at = db_column_int64(st, 11);
	r->req_state = (int)db_column_int64(st, 12);
}

int store_agent_task(struct store *s, long long req, struct agent_task *r)
{
	struct db_stmt *st = store_prepare(s, "SELECT " TASK_COLS TASK_FROM " WHERE t.request_id = ?1");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, req);
	if ((rc = one_row(s, st, "agent task")) != STORE_OK)
		return rc;
	task_read(st, r);
	db_reset(st);
	return STORE_OK;
}

int store_agent_task_save(struct store *s, const struct agent_task *t, long long now)
{
	struct db_stmt *st = store_prepare(
		s, "UPDATE agent_tasks SET agent = ?2, lease_until = ?3, seq = ?4, phase = ?5,"
		   " action = ?6, reason = ?7, cancel_at = ?8, updated = ?9 WHERE request_id = ?1");

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, t->request_id);
	db_bind_text(st, 2, t->agent);
	db_bind_int64(st, 3, t->lease_until);
	db_bind_int64(st, 4, t->seq);
	db_bind_int64(st, 5, t->phase);
	db_bind_text(st, 6, t->action);
	db_bind_text(st, 7, t->reason);
	db_bind_int64(st, 8, t->cancel_at);
	db_bind_int64(st, 9, now);
	return store_run(s, st, "save agent task");
}

/* grant_select: the tasks AGENT may take now: free, not done, their
 * request live; a server agent's: their system among the agent's (none
 * listed: any), never a workstation's upload; a workstation agent's: the
 * upload of its own address's request only. */
static int grant_select(struct store *s, const char *agent, size_t max, long long now_ms,
			struct agent_task *out, size_t *n_r)
{
	struct db_stmt *st = store_prepare(
		s, "SELECT " TASK_COLS TASK_FROM " WHERE (t.agent = '' OR t.lease_until < ?1)"
		   " AND t.phase < 3"
		   " AND (r.state IS NULL OR ((CAST(?2 AS BIGINT) >> CAST(r.state AS INTEGER)) & 1) = 0)"
		   " AND (SELECT CASE WHEN a.kind = 'workstation'"
		   "  THEN t.src_system = '" WS_LOCAL_SYSTEM "' AND r.access = a.address"
		   "  ELSE t.src_system <> '" WS_LOCAL_SYSTEM "' AND (a.systems = '' OR"
		   "  " STORE_WORD_IN("t.src_system", "a.systems") ") END"
		   "  FROM agents a WHERE a.name = ?4)"
		   " ORDER BY t.created, t.request_id LIMIT ?3");
	int rc;

	*n_r = 0;
	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, now_ms);
	db_bind_int64(st, 2, state_mask(STATE_FINAL) | state_mask(STATE_OFFLINE));
	db_bind_int64(st, 3, (long long)max);
	db_bind_text(st, 4, agent);
	while ((rc = db_step(st)) == DB_ROW)
		task_read(st, &out[(*n_r)++]);
	db_reset(st);
	return rc == DB_DONE ? STORE_OK : store_fail(s, "grant tasks");
}

int store_agent_grant(struct store *s, const char *agent, size_t max, long long now_ms,
		      long long lease_ms, struct agent_task *out, size_t *n_r)
{
	int own, rc, attempt = 0;

	*n_r = 0;
	if (max == 0)
		return STORE_OK;
	do {
		if (store_own_begin(s, &own) < 0)
			return STORE_ERR;
		rc = grant_select(s, agent, max, now_ms, out, n_r);
		for (size_t i = 0; rc == STORE_OK && i < *n_r; i++) {
			struct agent_task *t = &out[i];

			snprintf(t->agent, sizeof(t->agent), "%s", agent);
			t->lease_until = now_ms + lease_ms;
			t->seq++;
			t->action[0] = '\0';
			rc = store_agent_task_save(s, t, now_ms / 1000);
		}
		if (rc != STORE_OK)
			*n_r = 0;
		rc = store_own_end(s, own, rc);
	} while (store_own_retry(s, own, rc, &attempt));
	return rc;
}

/* --- folders --- */

int store_agent_folder_put(struct store *s, long long req, const struct agent_folder *f)
{
	struct db_stmt *st = store_prepare(
		s, "INSERT INTO agent_folders(request_id, folder, sep, attrs, subscribed)"
		   " VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(request_id, folder) DO UPDATE SET"
		   " sep = excluded.sep, attrs = excluded.attrs, subscribed = excluded.subscribed");

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, req);
	db_bind_text(st, 2, f->name);
	db_bind_text(st, 3, f->sep);
	db_bind_int64(st, 4, f->attrs);
	db_bind_int64(st, 5, f->subscribed != 0);
	return store_run(s, st, "put agent folder");
}

int store_agent_folder_next(struct store *s, long long req, unsigned noselect,
			    struct agent_folder *r)
{
	struct db_stmt *st = store_prepare(
		s, "SELECT folder, sep, attrs, subscribed, cursor, done, next_uid FROM agent_folders"
		   " WHERE request_id = ?1 AND done = 0 AND (attrs & ?2) = 0 ORDER BY folder LIMIT 1");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, req);
	db_bind_int64(st, 2, noselect);
	if ((rc = one_row(s, st, "next agent folder")) != STORE_OK)
		return rc;
	memset(r, 0, sizeof(*r));
	store_text(st, 0, r->name, sizeof(r->name));
	store_text(st, 1, r->sep, sizeof(r->sep));
	r->attrs = (unsigned)db_column_int64(st, 2);
	r->subscribed = (int)db_column_int64(st, 3);
	store_text(st, 4, r->cursor, sizeof(r->cursor));
	r->done = (int)db_column_int64(st, 5);
	r->next_uid = db_column_int64(st, 6);
	db_reset(st);
	return STORE_OK;
}

int store_agent_folder_cursor(struct store *s, long long req, const char *folder,
			      const char *cursor, int done)
{
	struct db_stmt *st = store_prepare(
		s, "UPDATE agent_folders SET cursor = ?3, done = ?4 WHERE request_id = ?1 AND folder = ?2");

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, req);
	db_bind_text(st, 2, folder);
	db_bind_text(st, 3, cursor);
	db_bind_int64(st, 4, done != 0);
	if (store_run(s, st, "agent folder cursor") < 0)
		return STORE_ERR;
	return db_changes(store_dbh(s)) == 1 ? STORE_OK : STORE_NOTFOUND;
}

/* --- the data buffer --- */

int store_agent_batch_get(struct store *s, long long req, long long seq,
			  struct agent_batch_result *r)
{
	struct db_stmt *st = store_prepare(
		s, "SELECT items, duplicates, bytes FROM agent_batches WHERE request_id = ?1 AND seq = ?2");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, req);
	db_bind_int64(st, 2, seq);
	if ((rc = one_row(s, st, "agent batch")) != STORE_OK)
		return rc;
	r->items = db_column_int64(st, 0);
	r->duplicates = db_column_int64(st, 1);
	r->bytes = db_column_int64(st, 2);
	db_reset(st);
	return STORE_OK;
}

/* item_insert: IT as the next uid of FOLDER unless (REQ, FOLDER, src) is
 * stored: *ADDED_R 1 when inserted, 0 for a duplicate. */
static int item_insert(struct store *s, long long req, const char *folder, long long batch,
		       const struct agent_item *it, int *added_r)
{
	struct db_stmt *st = store_prepare(
		s, "INSERT INTO agent_items(request_id, folder, uid, src_key, flags, date, size,"
		   " sha256, batch, \"offset\")"
		   " SELECT ?1, ?2, next_uid, ?3, ?4, ?5, ?6, ?7, ?8, ?9 FROM agent_folders"
		   " WHERE request_id = ?1 AND folder = ?2"
		   " ON CONFLICT DO NOTHING");

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, req);
	db_bind_text(st, 2, folder);
	db_bind_text(st, 3, it->src);
	db_bind_text(st, 4, it->flags ? it->flags : "");
	db_bind_text(st, 5, it->date);
	db_bind_int64(st, 6, it->size);
	db_bind_blob(st, 7, it->sha256, AGENT_HASH_LEN);
	db_bind_int64(st, 8, batch);
	db_bind_int64(st, 9, it->offset);
	if (store_run(s, st, "insert agent item") < 0)
		return STORE_ERR;
	*added_r = db_changes(store_dbh(s)) == 1;
	if (!*added_r)
		return STORE_OK;
	st = store_prepare(s, "UPDATE agent_folders SET next_uid = next_uid + 1"
			      " WHERE request_id = ?1 AND folder = ?2");
	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, req);
	db_bind_text(st, 2, folder);
	return store_run(s, st, "agent folder next uid");
}

/* batch_row: the batch's row with live = 0, its id in *ID_R. */
static int batch_row(struct store *s, long long req, long long seq, const char *folder,
		     const char *path, long long now, long long *id_r)
{
	struct db_stmt *st = store_prepare(
		s, "INSERT INTO agent_batches(request_id, seq, folder, path, items, duplicates, bytes,"
		   " live, created) VALUES(?1, ?2, ?3, ?4, 0, 0, 0, 0, ?5) RETURNING id");

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, req);
	db_bind_int64(st, 2, seq);
	db_bind_text(st, 3, folder);
	db_bind_text(st, 4, path);
	db_bind_int64(st, 5, now);
	return store_run_id(s, st, id_r, "insert agent batch");
}

/* batch_counts: the batch's and the task's counters once the items are in. */
static int batch_counts(struct store *s, long long req, long long id,
			const struct agent_batch_result *r)
{
	struct db_stmt *st = store_prepare(
		s, "UPDATE agent_batches SET items = ?2, duplicates = ?3, bytes = ?4, live = ?2,"
		   " path = CASE WHEN CAST(?2 AS BIGINT) = 0 THEN '' ELSE path END WHERE id = ?1");

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, id);
	db_bind_int64(st, 2, r->items);
	db_bind_int64(st, 3, r->duplicates);
	db_bind_int64(st, 4, r->bytes);
	if (store_run(s, st, "agent batch counts") < 0)
		return STORE_ERR;
	st = store_prepare(s, "UPDATE agent_tasks SET items = items + ?2, bytes = bytes + ?3"
			      " WHERE request_id = ?1");
	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, req);
	db_bind_int64(st, 2, r->items);
	db_bind_int64(st, 3, r->bytes);
	return store_run(s, st, "agent task counts");
}

static int batch_body(struct store *s, long long req, long long seq, const char *folder,
		      const char *path, const struct agent_item *items, size_t n, long long now,
		      struct agent_batch_result *r)
{
	long long id = 0;
	int rc, added;

	memset(r, 0, sizeof(*r)); /* a run again counts from nothing */
	rc = batch_row(s, req, seq, folder, path, now, &id);
	for (size_t i = 0; rc == STORE_OK && i < n; i++) {
		rc = item_insert(s, req, folder, id, &items[i], &added);
		if (rc == STORE_OK && added) {
			r->items++;
			r->bytes += items[i].size;
		} else if (rc == STORE_OK) {
			r->duplicates++;
		}
	}
	if (rc == STORE_OK)
		rc = batch_counts(s, req, id, r);
	return rc;
}

int store_agent_batch_put(struct store *s, long long req, long long seq, const char *folder,
			  const char *path, const struct agent_item *items, size_t n, long long now,
			  struct agent_batch_result *r)
{
	int rc;

	STORE_OWN_RETRY(s, rc, batch_body(s, req, seq, folder, path, items, n, now, r));
	return rc;
}

int store_agent_batch_live(struct store *s, const char *path)
{
	struct db_stmt *st =
		store_prepare(s, "SELECT 1 FROM agent_batches WHERE path = ?1 AND live > 0 LIMIT 1");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, path);
	rc = one_row(s, st, "agent batch live");
	if (rc == STORE_OK)
		db_reset(st);
	return rc;
}

/* A row's request_id is one of an abandoned buffer (?1 final states, ?2 now ms, ?3 PHASE_DONE). */
#define ABANDONED                                                                               \
	" request_id IN (SELECT t.request_id FROM agent_tasks t JOIN requests r"                \
	" ON r.id = t.request_id"                                                               \
	" WHERE ((CAST(?1 AS BIGINT) >> CAST(r.state AS INTEGER)) & 1) = 1"                      \
	" AND (t.agent = '' OR t.lease_until < ?2 OR t.phase >= ?3))"

static struct db_stmt *abandon_stmt(struct store *s, const char *sql, long long now_ms)
{
	struct db_stmt *st = store_prepare(s, sql);

	if (st != NULL) {
		db_bind_int64(st, 1, state_mask(STATE_FINAL));
		db_bind_int64(st, 2, now_ms);
		db_bind_int64(st, 3, PHASE_DONE);
	}
	return st;
}

/* abandon_rows: the paths first (the update clears them), then the rows. */
static int abandon_rows(struct store *s, long long now_ms, char ***paths_r, size_t *n_r,
			long long *freed_r)
{
	struct db_stmt *st = abandon_stmt(
		s, "SELECT path FROM agent_batches WHERE path != '' AND" ABANDONED, now_ms);
	int rc;

	if (st == NULL)
		return STORE_ERR;
	while ((rc = db_step(st)) == DB_ROW) {
		*paths_r = xrealloc(*paths_r, (*n_r + 2) * sizeof(**paths_r));
		(*paths_r)[(*n_r)++] = xstrdup(db_column_text(st, 0));
		(*paths_r)[*n_r] = NULL;
	}
	db_reset(st);
	if (rc != DB_DONE)
		return store_fail(s, "abandoned batches");
	st = abandon_stmt(s, "UPDATE agent_items SET freed = 1 WHERE freed = 0 AND" ABANDONED,
			  now_ms);
	if (st == NULL || store_run(s, st, "abandon items") < 0)
		return STORE_ERR;
	*freed_r = db_changes(store_dbh(s));
	st = abandon_stmt(s,
			  "UPDATE agent_batches SET live = 0, path = '' WHERE path != '' AND" ABANDONED,
			  now_ms);
	return st == NULL ? STORE_ERR : store_run(s, st, "abandon batches");
}

/* paths_clear: PATHS (*N of them) emptied, nothing freed. */
static void paths_clear(char **paths, size_t *n, long long *freed_r)
{
	for (size_t i = 0; i < *n; i++)
		free(paths[i]);
	paths[0] = NULL;
	*n = 0;
	*freed_r = 0;
}

int store_agent_abandon(struct store *s, long long now_ms, char ***paths_r, long long *freed_r)
{
	size_t n = 0;
	int own, rc, attempt = 0;

	*paths_r = xcalloc(1, sizeof(**paths_r));
	do {
		/* A run again starts from nothing: the rolled-back rows' paths go. */
		paths_clear(*paths_r, &n, freed_r);
		if (store_own_begin(s, &own) < 0)
			return STORE_ERR;
		rc = store_own_end(s, own, abandon_rows(s, now_ms, paths_r, &n, freed_r));
	} while (store_own_retry(s, own, rc, &attempt));
	if (rc != STORE_OK)
		paths_clear(*paths_r, &n, freed_r);
	return rc;
}

int store_agent_buffered(struct store *s, long long req, long long *bytes_r)
{
	struct db_stmt *st = store_prepare(
		s, "SELECT coalesce(sum(size), 0) FROM agent_items WHERE request_id = ?1 AND freed = 0");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	db_bind_int64(st, 1, req);
	if ((rc = one_row(s, st, "agent buffered")) != STORE_OK)
		return rc == STORE_NOTFOUND ? store_fail(s, "agent buffered") : rc;
	*bytes_r = db_column_int64(st, 0);
	db_reset(st);
	return STORE_OK;
}
