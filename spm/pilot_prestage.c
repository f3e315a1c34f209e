#include <stdio.h>
#include <string.h>

#include "log.h"
#include "pilot_prestage.h"
#include "state.h"
#include "store_smd.h"
#include "timeutil.h"

/* How soon to look again at a pass queued or running: a quarter of the
 * interval, between 1 s and 30 s, so that thousands of requests queued
 * for their first pass do not each cost a look every second. */
#define POLL_MIN_US 1000000LL
#define POLL_MAX_US 30000000LL

/* active: R is pre-staged. Not a source an agent reads: its agent
 * uploads the mailbox once, for the copy after the switch. */
static int active(const struct pilot *p, const struct req *r)
{
	return *r->action == '\0' && pilot_scn(p, r, "prestage") && *r->source_system &&
	       strcmp(config_sys_str(p->cfg, r->source_system, "access"), "agent") != 0;
}

/* before_form: R may still queue passes (states 1-3, the address not
 * formed yet: nothing held). */
static int before_form(const struct req *r)
{
	return r->state == ST_TARGET_CREATED || r->state == ST_CHECKED ||
	       r->state == ST_RECHECKED;
}

static long long interval_us(const struct pilot *p, const struct req *r)
{
	return config_scn_time_ms(p->cfg, r->scenario, "prestage_interval") * 1000;
}

/* record: the pass that ended at ST->finished, once, in R's history. */
static int record(struct pilot *p, struct req *r, const struct smd_status *st)
{
	double secs = st->started && st->finished > st->started
			      ? (double)(st->finished - st->started) / 1e6
			      : 0.0;

	r->prestage_last = st->finished;
	if (st->state == SMD_FAILED) {
		log_warn("%s: request=%lld pre-stage pass %d failed: %s; the next in %llds",
			 r->access, r->id, r->prestage_passes + 1, st->reason,
			 interval_us(p, r) / 1000000);
		return pilot_set(p, r, r->state, "P1 pre-stage", "pass %d failed: %.400s",
				 r->prestage_passes + 1, st->reason);
	}
	r->prestage_passes++;
	return pilot_set(p, r, r->state, "P1 pre-stage", "pass %d: %lld messages, %lld bytes, %.1f s",
			 r->prestage_passes, st->msgs_done, st->bytes_done, secs);
}

static int enqueue(struct pilot *p, const struct req *r, long long now)
{
	if (store_smd_enqueue(p->s, smd_key(r->id, SMD_PRESTAGE), r->access, r->source_system,
			      r->source_physical, r->target_system, r->target_physical,
			      now) < 0)
		return pilot_store_err(p, r);
	log_info("%s: request=%lld pre-stage pass %d queued for fedmig-smd", r->access, r->id,
		 r->prestage_passes + 1);
	return WAIT;
}

int pilot_prestage_tick(struct pilot *p, struct req *r)
{
	struct smd_status st;
	long long now = time_now_us();
	int rc;

	if (!active(p, r) || !*r->target_physical ||
	    !(before_form(r) || r->state == ST_ADDRESS_FORMED || r->state == ST_COPYING))
		return WAIT;
	rc = store_smd_status(p->s, smd_key(r->id, SMD_PRESTAGE), &st);
	if (rc == STORE_ERR)
		return pilot_store_err(p, r);
	if (rc == STORE_NOTFOUND)
		return before_form(r) ? enqueue(p, r, now) : WAIT;
	if ((st.state == SMD_DONE || st.state == SMD_FAILED) && st.finished > r->prestage_last)
		return record(p, r, &st);
	if (st.state == SMD_QUEUED && !before_form(r)) {
		if (store_smd_drop(p->s, smd_key(r->id, SMD_PRESTAGE)) == STORE_ERR)
			return pilot_store_err(p, r);
		log_info("%s: request=%lld queued pre-stage pass dropped: the copy after the "
			 "switch is the final pass",
			 r->access, r->id);
		return WAIT;
	}
	if ((st.state == SMD_DONE || st.state == SMD_FAILED) && before_form(r) &&
	    now >= st.finished + interval_us(p, r)) {
		if (store_smd_rearm(p->s, smd_key(r->id, SMD_PRESTAGE), now) == STORE_ERR)
			return pilot_store_err(p, r);
		log_info("%s: request=%lld pre-stage pass %d queued for fedmig-smd", r->access,
			 r->id, r->prestage_passes + 1);
	}
	return WAIT;
}

static long long poll_us(const struct pilot *p, const struct req *r)
{
	long long us = interval_us(p, r) / 4;

	return us < POLL_MIN_US ? POLL_MIN_US : us > POLL_MAX_US ? POLL_MAX_US : us;
}

long long pilot_prestage_due(struct pilot *p, const struct req *r)
{
	struct smd_status st;
	int rc;

	if (!active(p, r) || !before_form(r))
		return REQ_NEVER;
	rc = store_smd_status(p->s, smd_key(r->id, SMD_PRESTAGE), &st);
	if (rc == STORE_ERR) {
		pilot_store_err(p, r);
		return time_now_us() + poll_us(p, r);
	}
	if (rc == STORE_NOTFOUND || st.state == SMD_QUEUED || st.state == SMD_RUNNING ||
	    st.finished > r->prestage_last)
		return time_now_us() + poll_us(p, r);
	return st.finished + interval_us(p, r);
}

int pilot_prestage_wait(struct pilot *p, const struct req *r, long long *at_r, char *warn,
			size_t len)
{
	long long max = config_scn_time_ms(p->cfg, r->scenario, "prestage_wait_max") * 1000;

	*warn = '\0';
	if (!active(p, r) || !pilot_scn(p, r, "prestage_wait") || r->prestage_passes > 0)
		return 0;
	if (time_now_us() < r->planned_at + max) {
		*at_r = r->planned_at + max;
		if (strcmp(r->reason, PILOT_PRESTAGE_WAITING) != 0)
			log_info("%s: request=%lld planned instant reached; the address is formed "
				 "once the first pre-stage pass has finished (prestage_wait, at "
				 "most %llds)",
				 r->access, r->id, max / 1000000);
		return 1;
	}
	snprintf(warn, len, "; no pre-stage pass finished within prestage_wait_max (%llds)",
		 max / 1000000);
	log_warn("%s: request=%lld no pre-stage pass has finished %llds after the planned "
		 "instant (prestage_wait_max): switching anyway, the copy after the switch "
		 "will be the whole mailbox",
		 r->access, r->id, max / 1000000);
	return 0;
}

int pilot_prestage_drop(struct pilot *p, const struct req *r)
{
	int rc = store_smd_drop(p->s, smd_key(r->id, SMD_PRESTAGE));

	if (rc == STORE_ERR)
		return pilot_store_err(p, r);
	if (rc == STORE_OK)
		log_info("%s: request=%lld queued pre-stage pass dropped", r->access, r->id);
	return 0;
}
