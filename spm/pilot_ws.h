/*
 * pilot_ws - the pilot's workstation steps after the switch (brief WS):
 * a request whose scenario has local_data gets, at the switch, the
 * upload task a workstation agent leases (source WS_LOCAL_SYSTEM) and
 * the SMD_LOCAL job that copies the upload into the target; in copied
 * (8) it moves to local-done (9) once that job is done and, with
 * workstation_switch, the agent reported a successful test after it.
 * Before the switch, the checks (states 1 -> 2 -> 3 or check-failed,
 * the agent's reports read through store_check_last). Steps return
 * GO, WAIT or ERR (pilot_int.h).
 */
#ifndef FEDMIG_SPM_PILOT_WS_H
#define FEDMIG_SPM_PILOT_WS_H

#include "pilot_int.h"

/* pilot_ws_checks: states target-created (with workstation_checks) and
 * checked: the first, then the second check a recheck_delay later. */
int pilot_ws_checks(struct pilot *p, struct req *r);
/* pilot_ws_agent_source: SYSTEM is read by a server agent: a request
 * from it cannot have local_data (a request has one agent task, and the
 * workstation's upload would need a second); refused at E2 with
 * PILOT_WS_AGENT_SOURCE as the reason, before anything moves. */
#define PILOT_WS_AGENT_SOURCE                                                                 \
	"the scenario has local_data but the source system is read by a server agent: a "    \
	"request has one agent task; use a scenario without local_data for this system"
int pilot_ws_agent_source(const struct pilot *p, const char *system);
/* pilot_ws_queue: R's upload task and SMD_LOCAL job (idempotent, in
 * the caller's transaction if one is open); GO when queued, else the step's end (a
 * source read by a server agent fails the request: agent tasks are one
 * per request). */
int pilot_ws_queue(struct pilot *p, struct req *r);
/* pilot_ws_copied: state copied with local_data. */
int pilot_ws_copied(struct pilot *p, struct req *r);

#endif
