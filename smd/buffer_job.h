/*
 * buffer_job - fedmig-smd's side of a mailbox an agent reads
 * (NAME_access = agent, agent_spec.md): the child copies from the data
 * buffer (drv_buffer.h) to the target in passes while the agent uploads,
 * freeing after each verified pass what the journal holds.
 *
 * Contract: buffer_job_run() returns COPY_OK once the agent's task is
 * done (every folder uploaded) and a pass that began after that copied
 * and verified every item; COPY_FAILED with the reason in r->reason (a
 * copy failure, the agent's task failed or was cancelled, or it finished
 * with items in no selectable folder it listed);
 * COPY_STOPPED when *o->stop was set; BUFFER_JOB_IDLE when nothing new
 * arrived for IDLE_MS (the caller puts the job back without counting
 * an attempt, and the master starts it again when items appear).
 */
#ifndef FEDMIG_SMD_BUFFER_JOB_H
#define FEDMIG_SMD_BUFFER_JOB_H

#include "config.h"
#include "copy.h"
#include "store.h"

enum { BUFFER_JOB_IDLE = 3 };

/* smd_is_agent: 1 when SYSTEM's mailboxes are read by an agent, or
 * SYSTEM is a workstation's upload (WS_LOCAL_SYSTEM, an SMD_LOCAL job). */
int smd_is_agent(const struct config *cfg, const char *system);

/* buffer_job_root: the folder REQ's local data goes under (its
 * scenario's local_folder_root, caller frees); -1 with WHY. */
int buffer_job_root(const struct config *cfg, struct store *s, long long req, char **root_r,
		    char *why, size_t size);

struct buffer_job {
	long long request_id;
	const char *spool_dir; /* apid_spool_directory */
	long long idle_ms;     /* give up the slot after this long without news */
	long long poll_ms;     /* how often the store is looked at meanwhile */
	long long gap_ms;      /* at least this long between passes, but the last */
};

/* buffer_job_init: B for REQUEST_ID with CFG's spool and the daemon's timings
 * (30 s idle, the store looked at every 0.2 s, 2 s between passes). */
void buffer_job_init(struct buffer_job *b, const struct config *cfg, long long request_id);

/*
 * buffer_job_run: O (store, mailbox key, target, stop) with the buffer as
 * its source; the journal is kept under "KEY agent-request=ID", the
 * request's own (buffer UIDs start from 1 in every request).
 */
int buffer_job_run(const struct buffer_job *b, struct copy_opts *o, struct copy_result *r);

#endif
