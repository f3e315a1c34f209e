/*
 * apid_ws_step: which workstation step is due (apid_ws.h): a pure
 * function of the facts the endpoint read and the config.
 */
#include "apid_ws.h"
#include "state.h"
#include "store_smd.h"

/* A retry_ms: how long the agent sleeps before asking again. */
static long long clamp_ms(long long ms)
{
	return ms < 1000 ? 1000 : ms > 60000 ? 60000 : ms;
}

/* after_switch: the steps of a switched request with local data. */
static const char *after_switch(const struct config *cfg, const struct ws_facts *f,
				long long now, long long *retry_ms)
{
	long long again;

	if (f->task_phase < 0 || f->task_phase > PHASE_DONE)
		return "none"; /* not queued yet, or failed: the admin's business */
	if (f->task_phase < PHASE_DONE)
		return "upload";
	if (f->job_state != SMD_DONE || !config_scn_bool(cfg, f->r.scenario, "workstation_switch"))
		return "none";
	if (f->test_ok)
		return "none"; /* tested: the pilot moves on */
	again = f->fail_at + config_scn_time_ms(cfg, f->r.scenario, "workstation_retry") * 1000;
	if (f->fail_at && now < again) {
		*retry_ms = clamp_ms((again - now) / 1000);
		return "none";
	}
	return "switch";
}

const char *apid_ws_decide(const struct config *cfg, const struct ws_facts *f, long long now,
			   long long *retry_ms)
{
	const char *scn = f->r.scenario;
	long long due;

	*retry_ms = 30000;
	if (!f->found)
		return "none";
	if (config_scn_bool(cfg, scn, "workstation_checks")) {
		if (f->r.state == ST_TARGET_CREATED)
			return "check";
		if (f->r.state == ST_CHECKED) {
			due = f->r.updated + config_scn_time_ms(cfg, scn, "recheck_delay") * 1000;
			if (now >= due)
				return "check";
			*retry_ms = clamp_ms((due - now) / 1000);
			return "none";
		}
	}
	if (!config_scn_bool(cfg, scn, "local_data") && !config_scn_bool(cfg, scn, "workstation_checks"))
		return "none";
	if (f->r.state == ST_COMPLETE)
		return f->cleaned ? "none" : "cleanup";
	if (config_scn_bool(cfg, scn, "local_data") && f->r.state >= ST_SWITCHED &&
	    f->r.state <= ST_COPIED) {
		*retry_ms = 5000;
		return after_switch(cfg, f, now, retry_ms);
	}
	return "none";
}
