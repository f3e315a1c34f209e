/*
 * guardian - fedmig-agent's parent process: it long-polls the agent API
 * for tasks with its free slots, starts one migrator process per task
 * (at most agent_max_migrators), renews their leases by a heartbeat
 * every agent_heartbeat carrying the local source's health, and watches
 * them: a migrator whose task comes back lost or cancelled is stopped; one
 * that made no progress for agent_stall_timeout, or died before done, is
 * started again (after a back-off). SIGTERM or SIGINT: no more polling,
 * the migrators finish the batch under way, then it returns.
 *
 * Contract: guardian_run() returns the program's exit status: 0, 1 on a
 * local error, 2 when the server refused this agent (version, token).
 * ONCE: take the tasks there are, migrate them, return when none is left.
 */
#ifndef FEDMIG_AGENT_GUARDIAN_H
#define FEDMIG_AGENT_GUARDIAN_H

#include "config.h"

/* LOCAL_DIR: a workstation agent's ~/.thunderbird, where tasks of the
 * system "@local" read (src_local.h); NULL for a server agent. */
int guardian_run(const struct config *cfg, const char *token, int once, const char *local_dir);

#endif
