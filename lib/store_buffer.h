/*
 * store_buffer - the data mover's side of the agent data buffer (schema
 * 6, agent_spec.md): the task a job whose source is read by an agent
 * gets, the folders and items the agent uploaded (fedmig-apid writes
 * them, smd/drv_buffer.c reads them), the freeing of what the journal
 * holds, and the summary fedmigctl show prints.
 *
 * Contract: a request's buffer UIDs are those of agent_items (one UID
 * sequence per folder, from 1, never reused); freed items keep their
 * metadata row. Functions return STORE_OK, STORE_NOTFOUND where said,
 * or STORE_ERR with store_errmsg().
 */
#ifndef FEDMIG_STORE_BUFFER_H
#define FEDMIG_STORE_BUFFER_H

#include "store.h"
#include "store_agent.h" /* enum agent_phase: agent_tasks.phase */
#include "store_smd.h"

struct buffer_task {
	char agent[128];
	int phase;
	char reason[512];
	long long items, bytes;	      /* uploaded */
	long long waiting_bytes;      /* uploaded, not freed yet */
	long long unfreed;	      /* items not freed yet */
	long long folders_done, folders_total; /* selectable folders */
	long long lease_until;	      /* unix ms; with agent: who works on it */
};

/* store_buffer_task_add: REQUEST_ID's task (INSERT OR IGNORE); NOW in seconds. */
int store_buffer_task_add(struct store *s, long long request_id, const char *src_system,
			  const char *mailbox, long long now);
/* store_buffer_task_find: the newest task reading MAILBOX of SRC_SYSTEM; STORE_NOTFOUND. */
int store_buffer_task_find(struct store *s, const char *src_system, const char *mailbox,
			   long long *request_id_r);
/* store_buffer_task_get: the task and its buffer's counts; STORE_NOTFOUND when none. */
int store_buffer_task_get(struct store *s, long long request_id, struct buffer_task *r);

/*
 * store_buffer_gate: queued jobs due at NOW (µs) whose source IS_AGENT
 * (CTX, system name) says an agent reads: each gets its task, and one
 * whose buffer has nothing unfreed while its task is neither done nor
 * failed, nor just made, nor leased to an agent, is put off to DEFER_AT
 * (not claimed: no attempt is counted).
 * Copy backs are left alone (the child refuses them).
 */
typedef int (*store_buffer_agent_fn)(void *ctx, const char *system);
int store_buffer_gate(struct store *s, long long now, long long defer_at,
		      store_buffer_agent_fn is_agent, void *ctx);
/*
 * store_buffer_requeue: job KEY back to the queue, due at AT, without
 * the attempt its claim counted (a child that waited for the agent in
 * vain is no failure), with REASON as its note.
 */
int store_buffer_requeue(struct store *s, struct smd_job_key key, const char *reason,
			 long long at);

struct buffer_folder {
	const char *name;
	char sep;
	unsigned attrs; /* driver.h DRV_F_* */
	int subscribed, done;
	long long items, bytes; /* in the buffer, freed or not */
};
typedef int (*store_buffer_folder_fn)(void *ctx, const struct buffer_folder *f);
/* store_buffer_folders_each: REQUEST_ID's folders by name; FN != 0 stops (returned). */
int store_buffer_folders_each(struct store *s, long long request_id, store_buffer_folder_fn fn,
			      void *ctx);
/* store_buffer_folder_find: FOLDER's row (name points into FOLDER); STORE_NOTFOUND. */
int store_buffer_folder_find(struct store *s, long long request_id, const char *folder,
			     struct buffer_folder *r);

struct buffer_item {
	unsigned long long uid, size, offset;
	const char *flags, *date, *path; /* path: the batch file, "" once freed */
	unsigned char sha256[32];
	long long batch;
	int freed;
};
typedef int (*store_buffer_item_fn)(void *ctx, const struct buffer_item *it);
/*
 * store_buffer_items_each: FOLDER's items with FROM <= uid <= TO, by
 * uid; FN != 0 stops (returned). A row whose sha256 is not 32 bytes
 * fails (STORE_ERR).
 */
int store_buffer_items_each(struct store *s, long long request_id, const char *folder,
			    unsigned long long from, unsigned long long to,
			    store_buffer_item_fn fn, void *ctx);

/*
 * store_buffer_free: in one transaction, every unfreed item of
 * REQUEST_ID that the journal of MAILBOX (smd_map) holds becomes freed,
 * its batch's live count drops, and a batch left with none gets path ''.
 * *PATHS_R (NULL-terminated, caller frees with store_buffer_paths_free)
 * are those batches' former paths, to unlink after the commit; *FREED_R
 * the items freed.
 */
int store_buffer_free(struct store *s, long long request_id, const char *mailbox,
		      char ***paths_r, long long *freed_r);
void store_buffer_paths_free(char **paths);
/* store_buffer_unjournalled: REQUEST_ID's items MAILBOX's journal lacks. */
int store_buffer_unjournalled(struct store *s, long long request_id, const char *mailbox,
			      long long *n_r);
/* store_buffer_items_count: REQUEST_ID's items (a pass waits for it to grow). */
int store_buffer_items_count(struct store *s, long long request_id, long long *n_r);

#endif
