/*
 * apid_ws - fedmig-apid's workstation endpoints (brief WS; the protocol
 * in fedmig-apid(8)). POST /v1/ws/next and POST /v1/ws/report, for
 * agents enrolled with fedmigctl agent add NAME --workstation ADDRESS
 * only (a server agent gets 403 forbidden), about ADDRESS's request
 * only (another's: 404 not-found).
 */
#ifndef FEDMIG_APID_WS_H
#define FEDMIG_APID_WS_H

#include "apid.h"
#include "store_req.h"

/* What the step of a request depends on, read from the store. */
struct ws_facts {
	int found; /* ADDRESS has a request (its live one, else its latest) */
	struct req r;
	int task_phase;		/* its "@local" upload task's, -1: none */
	int job_state;		/* its SMD_LOCAL job's, -1: none */
	long long job_finished; /* µs */
	int test_ok;		/* the latest test since the job: ok */
	long long fail_at;	/* the latest failed test or switch since the job, 0: none */
	int cleaned;		/* a cleanup was reported */
};

/* apid_ws_decide: the step of F at NOW (µs): check, upload, switch,
 * cleanup or none; *RETRY_MS how long the agent should sleep (1000-60000). */
const char *apid_ws_decide(const struct config *cfg, const struct ws_facts *f, long long now,
			   long long *retry_ms);

struct apid_answer apid_ws_next(struct apid_req *r, json_t *body);
struct apid_answer apid_ws_report(struct apid_req *r, json_t *body);

#endif
