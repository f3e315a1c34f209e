/*
 * ws_run - fedmig-agent --workstation: the loop in the desktop user's
 * session that asks the agent API what to do for the user's request
 * (POST /v1/ws/next) and does it: the checks (E20/E22), the upload of
 * the Local Folders (E30, through the task poll as the "@local" task),
 * the profile switch (E30) and its test (E31), the rollback on a failed
 * test (E32), the cleanup (E33); each reported by POST /v1/ws/report.
 *
 * Contract: ws_run() returns the exit status: 0 after SIGTERM/SIGINT, 1 on
 * a local error that will not pass (no usable profile directory), 2 when
 * the server refused this agent (version, token). Errors of the API are
 * retried with jittered back-off. Thunderbird running on the profile
 * defers the upload and the switch (logged), never fails them. SIGUSR1
 * ends a sleep: the server is asked at once (a login hook, a test).
 * ws_rollback() is --workstation --rollback: the backup of prefs.js put
 * back now and reported; 0, or 1 (no backup, or an error: said on stderr).
 */
#ifndef FEDMIG_AGENT_WS_RUN_H
#define FEDMIG_AGENT_WS_RUN_H

#include "config.h"

int ws_run(const struct config *cfg, const char *token);
int ws_rollback(const struct config *cfg, const char *token);

#endif
