/*
 * store_smd - the data mover's work queue and journal in the store.
 *
 * fedmig-spm enqueues a mailbox when its address has switched; fedmig-smd
 * claims jobs, records its progress and its per-folder journal (source
 * UID -> target UID, so a rerun copies only what is missing), and marks
 * the job done (copied and verified) or failed with a reason. fedmig-spm
 * reads the status to move the request 6 -> 7 (claimed) -> 8 (copied).
 * Implemented in store_smd.c (schema version 3).
 */
#ifndef FEDMIG_STORE_SMD_H
#define FEDMIG_STORE_SMD_H

#include "store.h"

enum smd_job_state { SMD_QUEUED, SMD_RUNNING, SMD_DONE, SMD_FAILED };

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
 * store_smd_enqueue: queue REQUEST_ID's mailbox (ACCESS) to be copied from
 * SRC_SYSTEM/SRC_PHYSICAL to DST_SYSTEM/DST_PHYSICAL, due at AT. Queuing
 * a request already queued changes nothing (idempotent: a crash between
 * this and the caller's commit is harmless). Joins the caller's
 * transaction when one is open.
 */
int store_smd_enqueue(struct store *s, long long request_id, const char *access,
		      const char *src_system, const char *src_physical, const char *dst_system,
		      const char *dst_physical, long long at);

/* store_smd_status: the job of REQUEST_ID; STORE_NOTFOUND when none. */
int store_smd_status(struct store *s, long long request_id, struct smd_status *r);

#endif
