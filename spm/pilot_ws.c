#include <stdio.h>
#include <string.h>

#include "log.h"
#include "pilot_ws.h"
#include "state.h"
#include "store_buffer.h"
#include "store_smd.h"
#include "store_ws.h"
#include "timeutil.h"

/* How often a request waiting for its workstation looks again: after
 * the switch (the upload, the test), and before it (the checks). */
#define WS_POLL_US 2000000LL
#define WS_CHECK_POLL_US (60LL * 1000000)

static int ws_wait(struct pilot *p, struct req *r, long long at, const char *reason)
{
	if (store_req_wait(p->s, r->id, r->state, at, reason) == STORE_ERR)
		return pilot_store_err(p, r);
	return WAIT;
}

/* The checks, E20-E24: a failed one stops the request before anything
 * moves. The agent's report makes the request due at once; this is only
 * how often a request nobody reports on is looked at again. */
int pilot_ws_checks(struct pilot *p, struct req *r)
{
	char detail[REQ_REASON_MAX];
	long long at, since = 0, now = time_now_us();
	int ok, rc;

	if (r->state == ST_CHECKED) {
		since = r->updated + config_scn_time_ms(p->cfg, r->scenario, "recheck_delay") * 1000;
		if (now < since)
			return ws_wait(p, r, since, "waiting for the second workstation check");
	}
	rc = store_check_last(p->s, r->id, since, &at, &ok, detail);
	if (rc == STORE_ERR)
		return pilot_store_err(p, r);
	if (rc == STORE_NOTFOUND)
		return ws_wait(p, r, now + WS_CHECK_POLL_US, "waiting for a workstation check");
	if (!ok) {
		r->failed_from = r->state;
		snprintf(r->reason, sizeof(r->reason), "workstation check failed: %.400s", detail);
		rc = pilot_move(p, r, ST_CHECK_FAILED, "E24 check-failed", "%s", detail);
		if (rc == GO)
			store_req_wait(p->s, r->id, ST_CHECK_FAILED, REQ_NEVER, detail);
		return rc == GO ? WAIT : rc;
	}
	if (r->state == ST_TARGET_CREATED)
		return pilot_move(p, r, ST_CHECKED, "E20 checked", "%s", detail);
	return pilot_move(p, r, ST_RECHECKED, "E23 rechecked", "%s", detail);
}

int pilot_ws_agent_source(const struct pilot *p, const char *system)
{
	const char *access = config_sys_str(p->cfg, system, "access");

	return access && strcmp(access, "agent") == 0;
}

int pilot_ws_queue(struct pilot *p, struct req *r)
{
	long long now = time_now_us();

	/* Refused at E2 since; a request registered before is refused here. */
	if (pilot_ws_agent_source(p, r->source_system))
		return pilot_fail(p, r, "E30 upload", PILOT_WS_AGENT_SOURCE);
	/* Both idempotent: a crash between them is mended by the next pass
	 * (pilot_ws_copied queues again what is missing). No transaction of
	 * our own: a group step's is open in copied. */
	if (store_buffer_task_add(p->s, r->id, WS_LOCAL_SYSTEM, r->access, now / 1000000) < 0 ||
	    store_smd_enqueue(p->s, smd_key(r->id, SMD_LOCAL), r->access, WS_LOCAL_SYSTEM,
			      r->access, r->target_system, r->target_physical, now) < 0)
		return pilot_store_err(p, r);
	return GO;
}

/* counted: the upload's counts in the history once (E30), when its job
 * finished at FINISHED. */
static int counted(struct pilot *p, struct req *r, const struct smd_status *st)
{
	struct ws_report w = {.request_id = r->id, .at = time_now_us(), .ok = 1};
	char detail[256];
	long long at;
	int ok, rc = store_ws_last(p->s, r->id, "upload", st->finished, &at, &ok);

	if (rc != STORE_NOTFOUND)
		return rc == STORE_OK ? 0 : pilot_store_err(p, r);
	snprintf(w.step, sizeof(w.step), "upload");
	snprintf(w.data, sizeof(w.data), "{\"messages\":%lld,\"bytes\":%lld}", st->msgs_done,
		 st->bytes_done);
	snprintf(detail, sizeof(detail), "%lld messages, %lld bytes in %lld folders, verified",
		 st->msgs_done, st->bytes_done, st->folders_done);
	if (store_ws_report_add(p->s, &w, r->state, "E30 upload counted", detail) != STORE_OK)
		return pilot_store_err(p, r);
	return 0;
}

int pilot_ws_copied(struct pilot *p, struct req *r)
{
	struct smd_status st;
	long long at;
	int ok, rc = store_smd_status(p->s, smd_key(r->id, SMD_LOCAL), &st);

	if (rc == STORE_ERR)
		return pilot_store_err(p, r);
	if (rc == STORE_NOTFOUND) /* switched by an older fedmig-spm */
		return pilot_ws_queue(p, r);
	if (st.state == SMD_FAILED)
		return pilot_fail(p, r, "E30 upload", st.reason);
	if (st.state != SMD_DONE)
		return ws_wait(p, r, time_now_us() + WS_POLL_US, "waiting for the local data upload");
	if (counted(p, r, &st) < 0)
		return ERR;
	if (!pilot_scn(p, r, "workstation_switch"))
		return pilot_move(p, r, ST_LOCAL_DONE, "E30-E31 local-done",
				  "%lld messages uploaded; profile not switched (workstation_switch"
				  " = no)", st.msgs_done);
	rc = store_ws_last(p->s, r->id, "test", st.finished, &at, &ok);
	if (rc == STORE_ERR)
		return pilot_store_err(p, r);
	if (rc == STORE_OK && ok)
		return pilot_move(p, r, ST_LOCAL_DONE, "E30-E31 local-done",
				  "%lld messages uploaded, profile switched and tested", st.msgs_done);
	return ws_wait(p, r, time_now_us() + WS_POLL_US,
		       "waiting for the workstation's profile switch and test");
}
