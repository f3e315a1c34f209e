/*
 * store_smd - the data mover's work queue and journal in the store.
 *
 * fedmig-spm enqueues a mailbox when its address has switched; fedmig-smd
 * claims jobs, records its progress and its per-folder journal (source
 * UID -> target UID, so a rerun copies only what is missing), and marks
 * the job done (copied and verified) or failed with a reason. fedmig-spm
 * reads the status to move the request 6 -> 7 (claimed) -> 8 (copied).
 * Implemented in store_smd.c (schema versions 3, 5, 10, 13 and 16).
 * SMD_PRESTAGE (brief QP enqueues it) is a delta pass before the switch:
 * the source wins (smd/copy.h, copy_opts.switched).
 *
 * A request has at most three jobs, told apart by their kind: SMD_COPY, its
 * mailbox to the target after the switch, SMD_COPY_BACK, a rollback's
 * copy of what the target received since back to the source, and
 * SMD_PRESTAGE, the same copy as SMD_COPY made before the switch while
 * mail still goes to the source, queued again after each pass
 * (store_smd_rearm) until the hold. A job is
 * named by its key, the pair (request id, kind), as in the table (schema
 * 5); the KEY arguments below and struct smd_job's key are that pair.
 */
#ifndef FEDMIG_STORE_SMD_H
#define FEDMIG_STORE_SMD_H

#include "store.h"

enum smd_job_state { SMD_QUEUED, SMD_RUNNING, SMD_DONE, SMD_FAILED };
enum smd_kind {
	SMD_COPY = 0,
	SMD_COPY_BACK = 1,
	SMD_PRESTAGE = 2,
	SMD_LOCAL = 3,
};

struct smd_job_key {
	long long request_id; /* > 0 */
	enum smd_kind kind;
};

/* smd_key: the key of REQUEST_ID's job of KIND. */
static inline struct smd_job_key smd_key(long long request_id, enum smd_kind kind)
{
	struct smd_job_key k = {request_id, kind};

	return k;
}

/*
 * A job in a log line: printf(SMD_KEY_FMT, SMD_KEY_ARGS(key)) gives
 * "request=42" for a copy (its lines read as they always did, tests and
 * log readers look for them) and "request=42 kind=copy-back" for a copy
 * back.
 */
#define SMD_KEY_FMT "request=%lld%s"
#define SMD_KEY_ARGS(k) (k).request_id, smd_kind_log((k).kind)

static inline const char *smd_kind_log(enum smd_kind kind)
{
	return kind == SMD_COPY_BACK  ? " kind=copy-back"
	       : kind == SMD_PRESTAGE ? " kind=prestage"
	       : kind == SMD_LOCAL    ? " kind=local"
				      : "";
}

struct smd_status {
	enum smd_job_state state;
	int attempts;
	long long folders_done, folders_total;
	long long msgs_done, msgs_total;
	long long bytes_done, bytes_total;
	long long started, finished; /* µs */
	char reason[512];	     /* why it failed, or "" */
};

/*
 * store_smd_enqueue: queue job KEY: its mailbox (ACCESS) to be copied from
 * SRC_SYSTEM/SRC_PHYSICAL to DST_SYSTEM/DST_PHYSICAL, due at AT. Queuing
 * a job already queued changes nothing (idempotent: a crash between
 * this and the caller's commit is harmless). Joins the caller's
 * transaction when one is open.
 */
int store_smd_enqueue(struct store *s, struct smd_job_key key, const char *access,
		      const char *src_system, const char *src_physical, const char *dst_system,
		      const char *dst_physical, long long at);

/*
 * store_smd_rearm: queue job KEY again, due at AT, if it is done or
 * failed: its attempts, progress and reason start afresh (one more pass
 * of a pre-stage). STORE_NOTFOUND when it is not done or failed (queued,
 * running or missing): nothing changed. Joins the caller's transaction.
 */
int store_smd_rearm(struct store *s, struct smd_job_key key, long long at);

/* store_smd_drop: forget job KEY if it is still queued (not started):
 * a pre-stage pass nobody needs any more. STORE_NOTFOUND when it is not
 * queued. Joins the caller's transaction. */
int store_smd_drop(struct store *s, struct smd_job_key key);

/* store_smd_status: the job KEY; STORE_NOTFOUND when none. */
int store_smd_status(struct store *s, struct smd_job_key key, struct smd_status *r);

/* ---- the data mover's side ---- */

/* A worker's name: smd_worker_name, or HOST:PID (schema 16). */
#define SMD_WORKER_MAX 96

struct smd_job {
	struct smd_job_key key;
	char access[ADDR_MAX];
	char src_system[STORE_SYSTEM_MAX], src_physical[ADDR_MAX];
	char dst_system[STORE_SYSTEM_MAX], dst_physical[ADDR_MAX];
	int attempts; /* including this one */
	/* store_smd_claim_as: the worker whose lease on the running job had
	 * expired when it was taken over, "" for a queued job. */
	char prev_worker[SMD_WORKER_MAX];
};

/*
 * A job's mailbox is copied by one process at a time. The store does not
 * know how that is enforced (smd/lock.h): it asks. TAKE(CTX, JOB), for
 * store_smd_claim, returns 0 when the caller may copy JOB and now holds
 * what makes it so (the mailbox's lock), non-zero to leave JOB queued;
 * for store_smd_recover it returns non-zero when JOB's copier is still
 * alive. Called inside the store's write transaction, so nobody claims or
 * recovers the job in between; it must not use the store.
 */
typedef int (*store_smd_take_fn)(void *ctx, const struct smd_job *job);

/*
 * store_smd_claim: take the queued job due first (next_at <= NOW; a
 * pre-stage pass only after every other due job) that TAKE accepts
 * (every one when TAKE is NULL), mark it running by PID and count the
 * attempt. STORE_NOTFOUND when none; *next_r (may be NULL) then
 * gets the next due time of a job not yet due, 0 when none.
 */
int store_smd_claim(struct store *s, long long now, int pid, store_smd_take_fn take, void *ctx,
		    struct smd_job *r, long long *next_r);
/*
 * store_smd_recover: running jobs whose copier is gone go back to the
 * queue, due at NOW; a job BUSY says is still being copied stays running
 * (BUSY NULL: every running job is queued again). Returns how many were
 * queued again, or STORE_ERR.
 */
int store_smd_recover(struct store *s, long long now, store_smd_take_fn busy, void *ctx);

/*
 * Several copy workers (schema 16). A worker claims with its name and a
 * lease: the job is its own until lease_until, which its master renews
 * (store_smd_renew) while the child copies. store_smd_claim_as takes the
 * queued job due first, or a running job whose lease has expired (its
 * worker is gone: the copy resumes from the journal), never one whose
 * lease is live, and never a job of a mailbox (the same source and
 * target) with another job under a live lease: the lease is the mailbox
 * lock across hosts. On PostgreSQL the candidate is read FOR UPDATE SKIP
 * LOCKED (concurrent claims skip each other's row; TAKE sees one candidate
 * per claim), on SQLite BEGIN IMMEDIATE serializes the claims. A running
 * job with lease_until 0 (store_smd_claim, a copier of before schema 16)
 * has no lease: never taken over, left to store_smd_recover.
 */
struct smd_worker {
	const char *name; /* 1..SMD_WORKER_MAX-1 bytes */
	int pid;
	long long lease_us; /* > 0 */
};

int store_smd_claim_as(struct store *s, long long now, const struct smd_worker *w,
		       store_smd_take_fn take, void *ctx, struct smd_job *r, long long *next_r);
/*
 * store_smd_renew: job KEY's lease runs until UNTIL if WORKER still holds
 * it (running, in its name); STORE_NOTFOUND when it does not any more (the
 * lease expired and another worker took the job: stop copying it).
 */
int store_smd_renew(struct store *s, struct smd_job_key key, const char *worker, long long until);
/*
 * store_smd_recover_mine: store_smd_recover for the running jobs of WORKER
 * (its own name), of a worker whose name starts with HOST_PREFIX when not
 * NULL (this host's "HOST:" names, where BUSY's lock check is
 * authoritative), and of no worker (""); other workers' jobs are left to
 * their leases.
 */
int store_smd_recover_mine(struct store *s, long long now, const char *worker,
			   const char *host_prefix, store_smd_take_fn busy, void *ctx);
int store_smd_progress(struct store *s, struct smd_job_key key, const struct smd_status *st);
/*
 * store_smd_finish: DONE when OK; else queued again at RETRY_AT (> 0) or
 * FAILED (RETRY_AT == 0), with REASON kept either way.
 */
int store_smd_finish(struct store *s, struct smd_job_key key, int ok, const char *reason,
		     long long retry_at, long long now);

/*
 * The journal, per mailbox (a key naming both ends, see smd/copy.c) and
 * source folder: the folder's UIDVALIDITY on both sides and one row per
 * copied message: source UID -> target UID, SHA-256 and size. Rows are
 * added in the caller's transaction, one per appended batch.
 */
struct smd_folder {
	char dst_name[1024];
	unsigned long long uidvalidity, dst_uidvalidity;
	long long messages, bytes;
	int verified;
	/* Schema 10: the source's HIGHESTMODSEQ before the last verified
	 * pass, 0 when none (smd/copy_fast.h). */
	unsigned long long highestmodseq;
};

int store_smd_folder_get(struct store *s, const char *mailbox, const char *folder,
			 struct smd_folder *r);
int store_smd_folder_put(struct store *s, const char *mailbox, const char *folder,
			 const struct smd_folder *f);

struct smd_map_row {
	unsigned long long src_uid, dst_uid;
	unsigned char sha256[32];
	long long size;
	/* Schema 10: the source's flags as last copied or applied (the base
	 * of the three-way rule, smd/delta_rule.h), NULL when not known;
	 * valid during the callback only. GONE: deleted on the target by
	 * the user after the switch, never to be copied again. */
	const char *flags;
	int gone;
};

typedef int (*store_smd_map_fn)(void *ctx, const struct smd_map_row *row);
/* store_smd_map_each: rows of FOLDER by source UID; FN != 0 stops. */
int store_smd_map_each(struct store *s, const char *mailbox, const char *folder,
		       store_smd_map_fn fn, void *ctx);
int store_smd_map_add(struct store *s, const char *mailbox, const char *folder,
		      const struct smd_map_row *row);
/* store_smd_map_set: a row's FLAGS (NULL: unknown) and GONE mark. */
int store_smd_map_set(struct store *s, const char *mailbox, const char *folder,
		      unsigned long long src_uid, const char *flags, int gone);
/* store_smd_map_del: forget one row (the message is gone from both sides). */
int store_smd_map_del(struct store *s, const char *mailbox, const char *folder,
		      unsigned long long src_uid);
/* store_smd_map_clear: forget FOLDER's rows (its UIDVALIDITY changed). */
int store_smd_map_clear(struct store *s, const char *mailbox, const char *folder);

/*
 * store_smd_folder_rename: the journal of folder OLD becomes NEW's (its
 * rows and messages), whose target folder is now DST_NAME: the folder
 * was renamed on both sides. STORE_NOTFOUND when OLD has no journal.
 * Call inside the caller's transaction (two tables change).
 */
int store_smd_folder_rename(struct store *s, const char *mailbox, const char *old,
			    const char *new, const char *dst_name);
/* store_smd_folder_forget: FOLDER's journal, folder and rows (the folder is
 * gone). Call inside the caller's transaction. */
int store_smd_folder_forget(struct store *s, const char *mailbox, const char *folder);

/*
 * Schema 13: the subscriptions last applied to the target (target names),
 * the base of the subscription rule (smd/copy_tree.h).
 */
typedef int (*store_smd_sub_fn)(void *ctx, const char *name);
int store_smd_subs_each(struct store *s, const char *mailbox, store_smd_sub_fn fn, void *ctx);
/* store_smd_subs_set: the base becomes NAMES[0..N); in the caller's transaction. */
int store_smd_subs_set(struct store *s, const char *mailbox, char *const *names, size_t n);

typedef int (*store_smd_folder_fn)(void *ctx, const char *folder, const struct smd_folder *f);
/* store_smd_folders_each: the folders of MAILBOX, for reports. */
int store_smd_folders_each(struct store *s, const char *mailbox, store_smd_folder_fn fn,
			   void *ctx);

/*
 * store_smd_relax: synchronous=NORMAL on this connection. For the child's
 * journal only: a journal row lost to a power cut is a message appended
 * but not recorded, which the next run finds on the target by its hash
 * (smd/copy.c), so the fsync per batch buys nothing.
 */
int store_smd_relax(struct store *s);

#endif
