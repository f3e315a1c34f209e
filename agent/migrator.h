/*
 * migrator - one task (a mailbox) in its own process: the action loop of
 * agent_spec.md ("POST /v1/tasks/REQ/next"), starting with seq 0, over
 * one source (source.h), each get-items batch staged (batch.h) and PUT.
 *
 * Contract: migrator_run() returns the process's exit status:
 *   MIG_DONE     the server said done or cancel
 *   MIG_FAILED   an error (logged): the guardian starts it again
 *   MIG_FATAL    the server refused this agent (version, token): exit 2
 *   MIG_LEASE    409: the task is not ours any more; nothing more sent
 *   MIG_STOPPED  SIGFD became readable (SIGTERM): the batch under way was
 *                uploaded and reported, no further action started
 * A byte goes to PROGRESS_FD per message staged and per action, so that
 * the guardian can tell a stalled migrator from a slow one.
 */
#ifndef FEDMIG_AGENT_MIGRATOR_H
#define FEDMIG_AGENT_MIGRATOR_H

#include "config.h"
#include "proto.h"

enum mig_exit { MIG_DONE = 0, MIG_FAILED = 1, MIG_FATAL = 2, MIG_LEASE = 3, MIG_STOPPED = 4 };

struct mig_args {
	const struct config *cfg;
	const char *token;
	const struct ap_task *task;
	int progress_fd;
	int sigfd;
	const char *local_dir; /* a workstation's ~/.thunderbird; NULL: a server agent */
};

int migrator_run(const struct mig_args *a);

#endif
