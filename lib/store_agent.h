/*
 * store_agent - the agent API's tables, writing side (agent_spec.md "The
 * store: who writes what"): agents and their enrolment, the leases and
 * actions of agent_tasks, the folders an agent listed, the batches and
 * items of the data buffer. fedmig-apid and fedmigctl call it; the data
 * mover's side is store_buffer.h.
 *
 * Return values as in store.h: STORE_OK, STORE_NOTFOUND, STORE_ERR (the
 * reason in store_errmsg()); a backend error is always STORE_ERR, which
 * the callers answer as a temporary failure, never as a guess. Every
 * change of several rows is one transaction of its own, or part of the
 * caller's when called inside store_begin(). Times: `created', `updated',
 * `last_seen', `enrolled' and `code_expires' in unix seconds; lease
 * times (`lease_until', `cancel_at') and NOW_MS in unix milliseconds.
 * Hashes are SHA-256 (32 bytes); codes and tokens never reach the store.
 */
#ifndef FEDMIG_STORE_AGENT_H
#define FEDMIG_STORE_AGENT_H

#include <stddef.h>

#include "addr.h"
#include "store.h"

#define AGENT_NAME_MAX 65   /* 1-64 bytes of [A-Za-z0-9._-] and the NUL */
#define AGENT_HASH_LEN 32
#define AGENT_FOLDER_MAX 1024 /* a folder name, NUL included */
#define AGENT_CURSOR_MAX 1024
#define AGENT_ACTION_MAX 2560 /* the stored action's JSON */
#define AGENT_REASON_MAX 512
#define AGENT_SRC_MAX 201

/* Folders an agent is never asked for: smd/driver.h's DRV_F_NOSELECT
 * and DRV_F_NONEXISTENT (which implies it), as agent_folders.attrs holds
 * them. */
#define AGENT_F_NOSELECT 0x03u

/* store_agent_add's answer when the name is taken. */
#define STORE_AGENT_EXISTS 2

enum agent_state { AGENT_CODE = 0, AGENT_ENROLLED = 1, AGENT_REVOKED = 2 };
enum agent_phase {
	PHASE_NEW = 0,
	PHASE_LISTING = 1,
	PHASE_ITEMS = 2,
	PHASE_DONE = 3,
	PHASE_FAILED = 4,
	PHASE_CANCELLED = 5,
};

/* agent_name_ok: NAME is 1-64 bytes of letters, digits, '-', '_', '.'. */
int agent_name_ok(const char *name);

struct agent_row {
	char name[AGENT_NAME_MAX];
	int state;
	char version[16];
	int slots;
	char health[128];
	long long created, enrolled, last_seen, code_expires;
	long long tasks; /* tasks whose lease it holds now (filled by _get/_each) */
	char systems[512]; /* the systems it may read, space-separated; "": any */
	int workstation;   /* 1: a workstation agent (lib/store_ws.h), 0: a server's */
	char address[ADDR_MAX]; /* a workstation agent's access address */
};

/* store_agent_add: a new agent NAME in state AGENT_CODE with the code's
 * hash, valid until EXPIRES, that may read SYSTEMS (space-separated
 * names; "": every system an agent reads). STORE_AGENT_EXISTS when the
 * name is taken. */
int store_agent_add(struct store *s, const char *name, const unsigned char *code_hash,
		    long long expires, long long now, const char *systems);
/* store_agent_enrol: one use of the code CODE_HASH: its hash cleared,
 * TOKEN_HASH set, state enrolled, in one transaction; the agent's name in
 * NAME_R. STORE_NOTFOUND when no agent has that code unused and unexpired. */
int store_agent_enrol(struct store *s, const unsigned char *code_hash,
		      const unsigned char *token_hash, long long now, char name_r[AGENT_NAME_MAX]);
/* store_agent_auth: the enrolled agent whose token hashes to TOKEN_HASH;
 * STORE_NOTFOUND when none (unknown or revoked). R->tasks is not filled. */
int store_agent_auth(struct store *s, const unsigned char *token_hash, struct agent_row *r);
/* store_agent_get: agent NAME, with the leases it holds at NOW_MS. */
int store_agent_get(struct store *s, const char *name, long long now_ms, struct agent_row *r);
typedef int (*store_agent_fn)(void *ctx, const struct agent_row *r);
/* store_agent_each: every agent by name, at NOW_MS for the lease count. */
int store_agent_each(struct store *s, long long now_ms, store_agent_fn fn, void *ctx);
/* store_agent_revoke: state revoked, token and code cleared, its leases
 * released, in one transaction. STORE_NOTFOUND when no such agent. */
int store_agent_revoke(struct store *s, const char *name);
/*
 * store_agent_task_retry: REQ's task after fedmigctl retry: one that
 * failed (4) tests the mailbox again; one cancelled (5, its request had
 * failed) resumes, from the listed folders' cursors when there are any.
 * Its lease and action are dropped. Other tasks are left alone.
 */
int store_agent_task_retry(struct store *s, long long req);
/* store_agent_seen: a heartbeat's news (VERSION, free SLOTS, HEALTH). */
int store_agent_seen(struct store *s, const char *name, const char *version, int slots,
		     const char *health, long long now);

struct agent_task {
	long long request_id;
	char system[STORE_SYSTEM_MAX];
	char mailbox[ADDR_MAX];
	char agent[AGENT_NAME_MAX];
	long long lease_until, seq;
	int phase;
	char action[AGENT_ACTION_MAX];
	char reason[AGENT_REASON_MAX];
	long long items, bytes, cancel_at;
	int req_state; /* the request's state; -1 when it has no request row */
};

/* store_agent_task: task REQ with its request's state. */
int store_agent_task(struct store *s, long long req, struct agent_task *r);
/* store_agent_task_save: T's agent, lease_until, seq, phase, action,
 * reason and cancel_at written back, `updated' set to NOW. */
int store_agent_task_save(struct store *s, const struct agent_task *t, long long now);
/*
 * store_agent_grant: at most MAX tasks with no live lease at NOW_MS,
 * phase < 3, a request neither final nor offline (or none) and a source
 * system among AGENT's (an agent not in the store gets none), oldest
 * first, leased to AGENT until NOW_MS + LEASE_MS: seq bumped, action
 * reset. One transaction. The tasks in OUT, their number in *N_R.
 */
int store_agent_grant(struct store *s, const char *agent, size_t max, long long now_ms,
		      long long lease_ms, struct agent_task *out, size_t *n_r);
/* store_agent_release: every lease of AGENT dropped (revocation). */
int store_agent_release(struct store *s, const char *agent);

struct agent_folder {
	char name[AGENT_FOLDER_MAX];
	char sep[2];
	unsigned attrs;
	int subscribed;
	char cursor[AGENT_CURSOR_MAX];
	int done;
	long long next_uid;
};

/* store_agent_folder_put: add folder F of REQ from a `list' result, or
 * update its sep, attrs and subscribed (cursor, done, next_uid stay). */
int store_agent_folder_put(struct store *s, long long req, const struct agent_folder *f);
/* store_agent_folder_next: the first folder of REQ by name that is
 * selectable and not done; STORE_NOTFOUND when none is left. */
int store_agent_folder_next(struct store *s, long long req, unsigned noselect,
			    struct agent_folder *r);
/* store_agent_folder_cursor: FOLDER's CURSOR and DONE after a get-items. */
int store_agent_folder_cursor(struct store *s, long long req, const char *folder,
			      const char *cursor, int done);

/* One uploaded item (buffer side). */
struct agent_item {
	char src[AGENT_SRC_MAX];
	char *flags; /* owned by the caller */
	char date[40];
	long long size, offset;
	unsigned char sha256[AGENT_HASH_LEN];
};

struct agent_batch_result {
	long long items, duplicates, bytes;
};

/* store_agent_batch_get: the stored batch (REQ, SEQ)'s counts;
 * STORE_NOTFOUND when it was never stored. */
int store_agent_batch_get(struct store *s, long long req, long long seq,
			  struct agent_batch_result *r);
/*
 * store_agent_batch_put: the batch SEQ of REQ for FOLDER in the spool file
 * PATH, its N items in order, in one transaction: an item whose (REQ,
 * FOLDER, src) is stored already (or earlier in the batch) is a
 * duplicate, not inserted; the others get the folder's next_uid in turn.
 * PATH is the file relative to apid_spool_directory, "REQ/SEQ.batch"
 * (the data mover checks that shape before it opens one). The batch
 * row's live is the number inserted; with none, PATH is stored as ''
 * (the caller removes the file). The task's items and bytes grow.
 */
int store_agent_batch_put(struct store *s, long long req, long long seq, const char *folder,
			  const char *path, const struct agent_item *items, size_t n, long long now,
			  struct agent_batch_result *r);
/* store_agent_batch_live: STORE_OK when the batch file PATH is referenced
 * by a batch with live items, STORE_NOTFOUND when not (sweep it). */
int store_agent_batch_live(struct store *s, const char *path);
/*
 * store_agent_abandon: the buffers no copy will read any more: those of
 * requests that ended without them (cancelled, rolled back, source
 * deleted) and that no agent may still write into (no lease live at
 * NOW_MS, or the agent's part over). In one transaction their items
 * become freed and their batches empty; *PATHS_R (NULL-terminated,
 * caller frees each and the array) are the batch files to remove after,
 * *FREED_R the items freed. A task with no request row is left alone.
 */
int store_agent_abandon(struct store *s, long long now_ms, char ***paths_r, long long *freed_r);
/* store_agent_buffered: bytes of REQ's items not yet freed. */
int store_agent_buffered(struct store *s, long long req, long long *bytes_r);

#endif
