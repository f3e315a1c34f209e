/*
 * store_ws - the workstation steps in the store (schema version 9): the
 * workstation agents (one access address each, agents.kind and
 * agents.address), what they report (ws_reports, one row per report,
 * each also a history row of its request so that fedmigctl show tells
 * the story), and the name of a request's local data upload task (an
 * agent_tasks row, store_buffer_task_add): WS_LOCAL_SYSTEM, a name no
 * config system can have (config names are letters, digits, '_' and
 * '-'), so that a server agent never takes it and a workstation agent
 * takes nothing else (store_agent_grant).
 *
 * Return values as in store.h. Times of reports are µs, like the
 * history and the checks the pilot reads (store_check_last).
 */
#ifndef FEDMIG_STORE_WS_H
#define FEDMIG_STORE_WS_H

#include "store.h"

#define WS_LOCAL_SYSTEM "@local"
#define WS_DETAIL_MAX 401 /* a report's one line, NUL included */
#define WS_DATA_MAX 1024  /* a report's counts as JSON */
#define WS_STEP_MAX 16

struct ws_report {
	long long request_id;
	long long at; /* µs */
	char step[WS_STEP_MAX]; /* check, switch, test, repair, cleanup, rollback */
	int ok;
	char detail[WS_DETAIL_MAX];
	char data[WS_DATA_MAX];
};

/* store_ws_agent_add: a workstation agent NAME bound to ADDRESS, as
 * store_agent_add (STORE_AGENT_EXISTS when the name is taken). */
int store_ws_agent_add(struct store *s, const char *name, const unsigned char *code_hash,
		       long long expires, long long now, const char *address);

/*
 * store_ws_report_add: report W stored with its history row (STATE ->
 * STATE, HIST_STEP, HIST_DETAIL), and for a check, the check the pilot
 * waits for (store_check_add), in one transaction.
 */
int store_ws_report_add(struct store *s, const struct ws_report *w, int state,
			const char *hist_step, const char *hist_detail);

/* store_ws_last: the latest report of STEP for REQ at or after SINCE
 * (µs): its time and outcome; STORE_NOTFOUND when none. */
int store_ws_last(struct store *s, long long req, const char *step, long long since,
		  long long *at_r, int *ok_r);

#endif
