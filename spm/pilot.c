#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "dirsync.h"
#include "drain.h"
#include "driver.h"
#include "log.h"
#include "pilot_int.h"
#include "pilot_prestage.h"
#include "pilot_ws.h"
#include "state.h"
#include "store_req.h"
#include "store_smd.h"
#include "switch.h"
#include "switch_group.h"
#include "timeutil.h"
#include "xalloc.h"

#define WAIT_POLL_US (60LL * 1000000)	/* re-look at a request waiting on others */
#define PASS_LIMIT 10000		/* requests looked at per pass */
#define STEPS_PER_REQUEST 32		/* transitions of one request per pass */

struct pilot *pilot_new(const struct config *cfg, struct store *s, struct pf *pf)
{
	struct pilot *p = xcalloc(1, sizeof(*p));
	const char *c = getenv("FEDMIG_SPM_CRASH_AFTER");

	p->cfg = cfg;
	p->s = s;
	p->pf = pf;
	p->crash_after = c ? atoi(c) : 0;
	return p;
}

void pilot_set_led_at(struct pilot *p, long long us)
{
	p->led_at = us;
}

void pilot_set_frontend(struct pilot *p, const char *name)
{
	snprintf(p->frontend, sizeof(p->frontend), "%s", name);
}

void pilot_free(struct pilot **p)
{
	free(*p);
	*p = NULL;
}

/* crash_point: the test hook (isync run-tests.pl): die right after step N. */
void pilot_crash_point(struct pilot *p, const struct req *r, const char *what)
{
	p->steps++;
	log_debug("request=%lld step %d: %s", r->id, p->steps, what);
	if (p->crash_after > 0 && p->steps == p->crash_after) {
		log_info("request=%lld: test hook: exiting after step %d (%s)", r->id, p->steps,
			 what);
		_exit(99);
	}
}

static const char *scenario_ok(const struct pilot *p, const struct req *r)
{
	return config_has_scenario(p->cfg, r->scenario) ? NULL : "unknown scenario";
}

int pilot_scn(const struct pilot *p, const struct req *r, const char *key)
{
	return config_scn_bool(p->cfg, r->scenario, key);
}

int pilot_store_err(struct pilot *p, const struct req *r)
{
	(store_err_temporary(p->s) ? log_debug : log_error)("request=%lld: store: %s", r->id,
							     store_errmsg(p->s));
	return ERR;
}

int pilot_abort(struct pilot *p, const struct req *r)
{
	store_rollback(p->s);
	return pilot_store_err(p, r);
}

int pilot_commit(struct pilot *p, const struct req *r, int rc)
{
	if (rc == GO && store_commit(p->s) == 0)
		return GO;
	store_rollback(p->s);
	return rc == ERR ? ERR : pilot_store_err(p, r);
}

/* vset: store_req_set with a formatted detail; GO, also when somebody
 * changed the request meanwhile (it is read again next time). */
static int vset(struct pilot *p, struct req *r, int from, const char *step, const char *fmt,
		va_list ap) __attribute__((format(printf, 5, 0)));
static int vset(struct pilot *p, struct req *r, int from, const char *step, const char *fmt,
		va_list ap)
{
	char detail[1024];
	int rc;

	vsnprintf(detail, sizeof(detail), fmt, ap);
	r->updated = time_now_us();
	rc = store_req_set(p->s, r, from, step, detail);
	if (rc == STORE_NOTFOUND) {
		log_info("request=%lld: changed meanwhile, read again", r->id);
		return GO;
	}
	if (rc != STORE_OK)
		return pilot_store_err(p, r);
	log_info("%s: %s request=%lld %s -> %s%s%s", r->access, step, r->id, state_name(from),
		 state_name(r->state), *detail ? " " : "", detail);
	return GO;
}

int pilot_set(struct pilot *p, struct req *r, int from, const char *step, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vset(p, r, from, step, fmt, ap);
	va_end(ap);
	return rc;
}

/* pilot_move: the transition to TO (next step due at once, or never for
 * states the pilot does not leave). */
int pilot_move(struct pilot *p, struct req *r, int to, const char *step, const char *fmt, ...)
{
	int from = r->state, rc;
	va_list ap;

	r->attempts = 0;
	r->reason[0] = '\0';
	r->next_at = state_is_final(to) || state_is_offline(to) ? REQ_NEVER : time_now_us();
	r->state = to;
	va_start(ap, fmt);
	rc = vset(p, r, from, step, fmt, ap);
	va_end(ap);
	return rc;
}

static int wait_until(struct pilot *p, struct req *r, long long at, const char *reason)
{
	long long pre = pilot_prestage_due(p, r);

	at = pre < at ? pre : at;
	if (store_req_wait(p->s, r->id, r->state, at, reason) == STORE_ERR)
		return pilot_store_err(p, r);
	return WAIT;
}

int pilot_fail(struct pilot *p, struct req *r, const char *step, const char *why)
{
	int tx = r->state == ST_HELD || r->state == ST_SWITCHED;

	/* Never leave a hold behind a failed request (a switched one keeps
	 * its hold until the release publishes the switch). */
	if (tx && (r->state == ST_HELD ? sw_unhold_tx(p, r) : sw_publish_tx(p, r)) == ERR)
		return ERR;
	r->failed_from = r->state;
	int rc = pilot_move(p, r, ST_FAILED, step, "%s", why);

	snprintf(r->reason, sizeof(r->reason), "%s", why);
	/* move() cleared the reason; keep it on the failed request. */
	if (rc == GO && store_req_wait(p->s, r->id, ST_FAILED, REQ_NEVER, why) == STORE_ERR)
		rc = ERR;
	if (tx && (rc != GO || store_commit(p->s) < 0)) {
		store_rollback(p->s);
		return pilot_store_err(p, r);
	}
	log_error("%s: request=%lld failed at %s: %s", r->access, r->id, step, why);
	return rc == GO ? WAIT : rc;
}

/* backoff_us: the delay before attempt ATTEMPTS + 1 of R's step (the
 * scenario's retry_backoff, doubled at each attempt, a day at most). */
long long pilot_backoff_us(const struct pilot *p, const struct req *r, int attempts)
{
	long long ms = config_has_scenario(p->cfg, r->scenario)
			       ? config_scn_time_ms(p->cfg, r->scenario, "retry_backoff")
			       : config_time_ms(p->cfg, "retry_backoff");

	return backoff_delay_us(ms * 1000, attempts, BACKOFF_CAP_US);
}

/* retry: a step failed for REASON; try again later or fail for good. */
int pilot_retry(struct pilot *p, struct req *r, const char *step, int drv, const char *why)
{
	if (drv == DRV_FAIL || r->attempts >= config_int(p->cfg, "max_retries"))
		return pilot_fail(p, r, step, why);
	r->attempts++;
	snprintf(r->reason, sizeof(r->reason), "%s", why);
	r->next_at = time_now_us() + pilot_backoff_us(p, r, r->attempts);
	log_warn("%s: request=%lld %s: %s (attempt %d, retry in %llds)", r->access, r->id, step,
		 why, r->attempts, pilot_backoff_us(p, r, r->attempts) / 1000000);
	int rc = pilot_set(p, r, r->state, step, "attempt %d failed: %s", r->attempts, why);

	return rc == GO ? WAIT : rc;
}

/* --- the steps --- */

static int local_part_at(const char *phys, const char *domain, char out[ADDR_MAX])
{
	const char *at = strrchr(phys, '@');

	if (at == NULL || (size_t)(at - phys) + 1 + strlen(domain) >= ADDR_MAX)
		return -1;
	snprintf(out, ADDR_MAX, "%.*s@%s", (int)(at - phys), phys, domain);
	return 0;
}

static int step_register(struct pilot *p, struct req *r)
{
	struct dir_entry e;
	char why[DRV_WHY];
	const char *domain;
	int rc;

	if (scenario_ok(p, r))
		return pilot_fail(p, r, "E2 create", "unknown scenario");
	if (!config_has_system(p->cfg, r->target_system))
		return pilot_fail(p, r, "E2 create", "unknown target system");
	rc = store_dir_lookup(p->s, r->access, &e);
	if (rc == STORE_ERR)
		return pilot_store_err(p, r);
	if (rc == STORE_NOTFOUND || e.match != DIR_ACCESS)
		return pilot_fail(p, r, "E2 create",
				  rc == STORE_NOTFOUND ? "not in the directory"
						       : "not an access address in the directory");
	if (strcmp(e.system, r->target_system) == 0)
		return pilot_fail(p, r, "E2 create", "already on the target system");
	if (pilot_scn(p, r, "local_data") && pilot_ws_agent_source(p, e.system))
		return pilot_fail(p, r, "E2 create", PILOT_WS_AGENT_SOURCE);
	snprintf(r->source_system, sizeof(r->source_system), "%s", e.system);
	snprintf(r->source_physical, sizeof(r->source_physical), "%s", e.physical);
	domain = config_sys_str(p->cfg, r->target_system, "domain");
	if (*domain == '\0' || local_part_at(e.physical, domain, r->target_physical) < 0)
		return pilot_fail(p, r, "E2 create", "target system has no usable domain");
	rc = driver_create(p->cfg, r->target_system, r->target_physical, r->access, why);
	if (rc != DRV_OK)
		return pilot_retry(p, r, "E2 create", rc, why);
	pilot_crash_point(p, r, "E2 create");
	rc = driver_redirect(p->cfg, r->target_system, r->target_physical, r->source_physical, why);
	if (rc != DRV_OK)
		return pilot_retry(p, r, "E2 redirect", rc, why);
	pilot_crash_point(p, r, "E2 redirect");
	return pilot_move(p, r, ST_TARGET_CREATED, "E2 target-created",
			  "mailbox %s on %s, from %s on %s", r->target_physical, r->target_system,
			  r->source_physical, r->source_system);
}

static int step_form(struct pilot *p, struct req *r)
{
	char why[DRV_WHY], *aliases = NULL, *save = NULL;
	const char **v = NULL;
	size_t n = 0;
	int rc;
	char warn[128];
	long long until;

	if (r->planned_at > time_now_us())
		return wait_until(p, r, r->planned_at, "");
	if (pilot_prestage_wait(p, r, &until, warn, sizeof(warn)))
		return wait_until(p, r, until, PILOT_PRESTAGE_WAITING);
	if (store_dir_aliases(p->s, r->access, &aliases) < 0)
		return pilot_store_err(p, r);
	v = xcalloc(strlen(aliases) / 2 + 2, sizeof(*v));
	for (char *a = strtok_r(aliases, " ", &save); a; a = strtok_r(NULL, " ", &save))
		v[n++] = a;
	rc = driver_form(p->cfg, r->target_system, r->target_physical, r->access, v, n, why);
	free(v);
	free(aliases);
	if (rc != DRV_OK)
		return pilot_retry(p, r, "E4 form", rc, why);
	pilot_crash_point(p, r, "E4 form");
	rc = driver_unredirect(p->cfg, r->target_system, r->target_physical, why);
	if (rc != DRV_OK)
		return pilot_retry(p, r, "E4 unredirect", rc, why);
	pilot_crash_point(p, r, "E4 unredirect");
	return pilot_move(p, r, ST_ADDRESS_FORMED, "E4 address-formed", "planned instant reached%s",
			  warn);
}

static int step_verify_and_hold(struct pilot *p, struct req *r)
{
	int rc = pilot_verify(p, r);

	return rc == GO ? sw_hold(p, r, SW_FORWARD) : rc;
}

/* held: E8-E9, drain and switch, or lift the hold and try again later. */
static int step_held(struct pilot *p, struct req *r)
{
	return sw_switch(p, r, SW_FORWARD, r->hold_at);
}

/*
 * complete_wait: 1 (with the step's result in *RC_R) while R must stay
 * short of complete: NAME_complete_delay after SINCE. A complete request
 * cannot be rolled back, so the delay is the administrator's window for
 * "fedmigctl rollback" once everything else is done.
 */
static int complete_wait(struct pilot *p, struct req *r, long long since, int *rc_r)
{
	long long due = since + config_scn_time_ms(p->cfg, r->scenario, "complete_delay") * 1000;
	char why[128];

	if (time_now_us() >= due)
		return 0;
	snprintf(why, sizeof(why), "complete_delay: rollback possible for %llds more",
		 (due - time_now_us() + 999999) / 1000000);
	*rc_r = wait_until(p, r, due, why);
	return 1;
}

static int step_switched(struct pilot *p, struct req *r)
{
	char why[DRV_WHY];
	int rc;

	rc = sw_release(p, r, SW_FORWARD, NULL);
	if (rc != GO)
		return rc;
	rc = driver_redirect(p->cfg, r->source_system, r->source_physical, r->target_physical, why);
	if (rc != DRV_OK)
		return pilot_retry(p, r, "E9 redirect", rc, why);
	pilot_crash_point(p, r, "E9 redirect");
	if (pilot_scn(p, r, "local_data") && (rc = pilot_ws_queue(p, r)) != GO)
		return rc;
	if (pilot_scn(p, r, "copy_data")) {
		/* Queued at the switch already; again for a request switched by
		 * an older fedmig-spm (a no-op otherwise). */
		if (store_begin(p->s) < 0)
			return pilot_store_err(p, r);
		if (store_smd_enqueue(p->s, smd_key(r->id, SMD_COPY), r->access, r->source_system,
				      r->source_physical, r->target_system, r->target_physical,
				      time_now_us()) < 0)
			return pilot_abort(p, r);
		rc = pilot_move(p, r, ST_COPYING, "E13 copy queued", "for fedmig-smd");
		return pilot_commit(p, r, rc);
	}
	if (pilot_scn(p, r, "local_data"))
		return pilot_move(p, r, ST_COPIED, "E15 copied", "no server copy in scenario %s",
				  r->scenario);
	if (complete_wait(p, r, r->release_at, &rc))
		return rc;
	r->complete_at = time_now_us();
	return pilot_move(p, r, ST_COMPLETE, "E40 complete", "no data copy in scenario %s",
			  r->scenario);
}

static int step_copying(struct pilot *p, struct req *r)
{
	struct smd_status st;
	int rc = store_smd_status(p->s, smd_key(r->id, SMD_COPY), &st);

	if (rc == STORE_ERR)
		return pilot_store_err(p, r);
	if (rc == STORE_NOTFOUND)
		return pilot_fail(p, r, "E15 copy", "the copy job is missing");
	if (st.state == SMD_FAILED)
		return pilot_fail(p, r, "E15 copy", st.reason);
	/* The copy takes seconds to hours: look again in a second. */
	if (st.state != SMD_DONE)
		return wait_until(p, r, time_now_us() + 1000000, "");
	/* Catch-up: from the switch to everything present on the target. */
	r->catchup_ms = r->switch_at && st.finished > r->switch_at
				? (st.finished - r->switch_at) / 1000 : 0;
	return pilot_move(p, r, ST_COPIED, "E15 copied", "%lld messages, %lld bytes, catch-up %.1f s",
			  st.msgs_done, st.bytes_done, (double)r->catchup_ms / 1000);
}

static int step_copied(struct pilot *p, struct req *r)
{
	int rc;

	if (r->state == ST_COPIED && pilot_scn(p, r, "local_data"))
		return pilot_ws_copied(p, r);
	/* updated: when the request reached copied (or local-done); waits
	 * do not move it. */
	if (complete_wait(p, r, r->updated, &rc))
		return rc;
	r->complete_at = time_now_us();
	return pilot_move(p, r, ST_COMPLETE, "E40 complete", "scenario %s done", r->scenario);
}

static int step_complete(struct pilot *p, struct req *r)
{
	char why[DRV_WHY];
	long long due;
	int rc;

	if (scenario_ok(p, r) || !pilot_scn(p, r, "delete_source"))
		return wait_until(p, r, REQ_NEVER, NULL);
	due = r->complete_at + config_scn_time_ms(p->cfg, r->scenario, "delete_delay") * 1000;
	if (time_now_us() < due)
		return wait_until(p, r, due, NULL);
	rc = driver_delete(p->cfg, r->source_system, r->source_physical, why);
	if (rc != DRV_OK)
		return pilot_retry(p, r, "E41 delete", rc, why);
	pilot_crash_point(p, r, "E41 delete");
	return pilot_move(p, r, ST_SOURCE_DELETED, "E41 source-deleted", "%s deleted on %s",
			  r->source_physical, r->source_system);
}

/* --- administrator's orders --- */

static int order_cancel(struct pilot *p, struct req *r)
{
	char why[DRV_WHY];
	int rc, where = state_is_offline(r->state) ? r->failed_from : r->state;

	if (where >= ST_SWITCHED || r->switch_at) {
		r->action[0] = '\0';
		return pilot_set(p, r, r->state, "cancel refused",
				 "already switched: use rollback");
	}
	if (*r->target_physical) {
		rc = driver_unredirect(p->cfg, r->target_system, r->target_physical, why);
		if (rc == DRV_OK)
			rc = driver_unform(p->cfg, r->target_system, r->target_physical, why);
		if (rc != DRV_OK)
			return pilot_retry(p, r, "cancel", rc, why);
		pilot_crash_point(p, r, "cancel unredirect");
	}
	if (pilot_prestage_drop(p, r) < 0)
		return ERR;
	int tx = r->state == ST_HELD;

	if (tx && sw_unhold_tx(p, r) == ERR)
		return ERR;
	r->action[0] = '\0';
	rc = pilot_move(p, r, ST_CANCELLED, "cancel", "by the administrator");
	if (tx && pilot_commit(p, r, rc) == ERR)
		return ERR;
	pilot_sweep(p);
	return WAIT;
}

/*
 * copy_back: after the directory points at the source again, the mail
 * that reached the target since the switch goes back to the source: the
 * data mover in reverse, the request's SMD_COPY_BACK job, from target to
 * source. It skips what the source
 * already has (it pairs messages by size and SHA-256, and the target's
 * copies are byte for byte the source's), so only new mail is appended.
 * A forward copy not yet started is cancelled (it would copy the source's
 * new mail to a mailbox nobody uses); a running one is waited for, so the
 * two never run at once. GO once the copy back is done (DETAIL says how
 * much), WAIT meanwhile, or the request fails with the mover's reason
 * (fedmigctl retry queues the copy back again).
 */
static int copy_back(struct pilot *p, struct req *r, char *detail, size_t len)
{
	struct smd_status fwd, back;
	struct smd_job_key fwd_key = smd_key(r->id, SMD_COPY);
	struct smd_job_key back_key = smd_key(r->id, SMD_COPY_BACK);
	long long now = time_now_us();
	int rc;

	rc = store_smd_status(p->s, back_key, &back);
	if (rc == STORE_ERR)
		return pilot_store_err(p, r);
	if (rc == STORE_NOTFOUND) {
		if (store_begin(p->s) < 0)
			return pilot_store_err(p, r);
		rc = store_smd_status(p->s, fwd_key, &fwd);
		if (rc == STORE_OK && fwd.state == SMD_RUNNING) {
			store_rollback(p->s);
			return wait_until(p, r, now + 1000000, "rollback: waiting for the running copy");
		}
		if ((rc == STORE_OK && fwd.state == SMD_QUEUED &&
		     store_smd_finish(p->s, fwd_key, 0, "cancelled by the rollback", 0, now) < 0) ||
		    rc == STORE_ERR ||
		    store_smd_enqueue(p->s, back_key, r->access, r->target_system,
				      r->target_physical, r->source_system, r->source_physical,
				      now) < 0 ||
		    store_commit(p->s) < 0) {
			store_rollback(p->s);
			return pilot_store_err(p, r);
		}
		log_info("%s: request=%lld copy back queued: %s to %s", r->access, r->id,
			 r->target_physical, r->source_physical);
		pilot_crash_point(p, r, "rollback copy back queued");
		return wait_until(p, r, now + 1000000, "rollback: copying back");
	}
	if (back.state == SMD_FAILED && back.finished < r->updated) {
		/* Failed before the administrator's retry: once more. */
		if (store_smd_finish(p->s, back_key, 0, back.reason, now, now) < 0)
			return pilot_store_err(p, r);
		return wait_until(p, r, now + 1000000, "rollback: copying back");
	}
	if (back.state == SMD_FAILED) {
		char why[600];

		snprintf(why, sizeof(why), "copy back: %s", back.reason);
		return pilot_fail(p, r, "rollback copy back", why);
	}
	if (back.state != SMD_DONE)
		return wait_until(p, r, now + 1000000, "rollback: copying back");
	/* How many went back is in the job's row (fedmigctl show's "copy back"
	 * line) and fedmig-smd's log, not repeated in the history. */
	snprintf(detail, len, "; mail the target received since the switch copied back");
	return GO;
}

static int order_rollback(struct pilot *p, struct req *r)
{
	int purge = strcmp(r->action, "rollback-purge") == 0;
	char why[DRV_WHY];
	struct dir_entry e;
	int rc;

	if (r->state == ST_COMPLETE || r->state == ST_SOURCE_DELETED) {
		r->action[0] = '\0';
		return pilot_set(p, r, r->state, "rollback refused", "request is %s",
				 state_name(r->state));
	}
	if (pilot_prestage_drop(p, r) < 0)
		return ERR;
	rc = store_dir_lookup(p->s, r->access, &e);
	if (rc == STORE_ERR)
		return pilot_store_err(p, r);
	if (rc == STORE_OK && r->switch_at && strcmp(e.physical, r->target_physical) == 0)
		/* The switch in reverse: hold, drain, switch back, release. */
		return e.held ? sw_switch(p, r, SW_BACK, e.held_since) : sw_hold(p, r, SW_BACK);
	/* Held but never switched (state 5, or a crash mid-rollback). */
	if (rc == STORE_OK && e.held && e.request_id == r->id && sw_unhold(p, r) == ERR)
		return ERR;
	char copied_back[128] = "";
	int n;

	sw_release(p, r, SW_BACK, &n);
	if (r->switch_at && pilot_scn(p, r, "copy_data")) {
		rc = copy_back(p, r, copied_back, sizeof(copied_back));
		if (rc != GO)
			return rc;
	}
	if (r->switch_at) {
		rc = driver_unredirect(p->cfg, r->source_system, r->source_physical, why);
		if (rc != DRV_OK)
			return pilot_retry(p, r, "rollback unredirect", rc, why);
		pilot_crash_point(p, r, "rollback unredirect source");
	}
	if (*r->target_physical) {
		rc = driver_unredirect(p->cfg, r->target_system, r->target_physical, why);
		/* The target announces the access addresses no more (E4 undone). */
		if (rc == DRV_OK)
			rc = driver_unform(p->cfg, r->target_system, r->target_physical, why);
		if (rc != DRV_OK)
			return pilot_retry(p, r, "rollback unredirect", rc, why);
		pilot_crash_point(p, r, "rollback unredirect target");
		if (purge) {
			rc = driver_delete(p->cfg, r->target_system, r->target_physical, why);
			if (rc != DRV_OK)
				return pilot_retry(p, r, "rollback purge", rc, why);
			pilot_crash_point(p, r, "rollback purge");
		}
	}
	r->action[0] = '\0';
	rc = pilot_move(p, r, ST_ROLLED_BACK, "rollback",
			"%s is authoritative again%s%s%s; %d held messages released",
			r->source_system, purge ? ", target mailbox deleted" : "", copied_back,
			r->switch_at && !*copied_back
				? "; mail delivered to the target since the switch stays there"
				: "",
			n < 0 ? 0 : n);
	return rc == GO ? WAIT : rc;
}

/* created: E2-E4, the workstation checks if the scenario has them. */
static int step_created(struct pilot *p, struct req *r)
{
	return pilot_scn(p, r, "workstation_checks") ? pilot_ws_checks(p, r) : step_form(p, r);
}

/*
 * The steps, one per state the pilot leaves by itself. GROUP: the step's
 * effects are idempotent (drivers, waits, the data mover's status,
 * completion), so it may commit without an fsync of its own, sharing one
 * transaction with other requests' steps when their drivers are local
 * file operations: a due pass of 10,000 requests spent 24 s in 20,000
 * fsynced commits. A crash or power cut may lose the last group, whose
 * steps are then done again. The hold, the switch, the release and the
 * orders commit on their own, durably.
 */
static const struct step {
	int state;
	int (*run)(struct pilot *p, struct req *r);
	int group;
	const char *name; /* the patent's events the step covers, for the log */
} steps[] = {
	{ST_REGISTERED, step_register, 1, "E2"},
	{ST_TARGET_CREATED, step_created, 1, "E20-E4"},
	{ST_CHECKED, pilot_ws_checks, 1, "E23"},
	{ST_RECHECKED, step_form, 1, "E4"},
	{ST_ADDRESS_FORMED, step_verify_and_hold, 0, "E5-E8"},
	{ST_HELD, step_held, 0, "E8-E9"},
	{ST_SWITCHED, step_switched, 0, "E9-E13"},
	{ST_COPYING, step_copying, 1, "E15"},
	{ST_COPIED, step_copied, 1, "E40"},
	{ST_LOCAL_DONE, step_copied, 1, "E40"},
	{ST_COMPLETE, step_complete, 1, "E41"},
};
#define NSTEPS (sizeof(steps) / sizeof(steps[0]))

/* step_for: the step of R's state, NULL for a state with none. */
static const struct step *step_for(const struct req *r)
{
	for (size_t i = 0; i < NSTEPS; i++)
		if (steps[i].state == r->state)
			return &steps[i];
	return NULL;
}

static int step(struct pilot *p, struct req *r)
{
	const struct step *st;

	if (strcmp(r->action, "cancel") == 0)
		return order_cancel(p, r);
	if (strncmp(r->action, "rollback", 8) == 0)
		return order_rollback(p, r);
	if (scenario_ok(p, r) && !state_is_final(r->state) && !state_is_offline(r->state))
		return pilot_fail(p, r, "scenario", "unknown scenario (configuration changed?)");
	int rc = pilot_prestage_tick(p, r);

	if (rc != WAIT)
		return rc;
	st = step_for(r);
	if (st == NULL)
		return wait_until(p, r, REQ_NEVER, NULL);
	log_debug("request=%lld: %s step %s", r->id, state_name(r->state), st->name);
	return st->run(p, r);
}

/*
 * Group commit (steps[].group). The transaction is kept short
 * (GROUP_MAX_US) so that the milter's writes wait little; a step with an
 * exec driver commits on its own, durably.
 */
#define GROUP_MAX_US 50000
#define GROUP_MAX 500

static int relaxed(const struct pilot *p, const struct req *r)
{
	const struct step *st = step_for(r);

	/* An order commits on its own. */
	if (*r->action || st == NULL || !st->group)
		return 0;
	return driver_is_local(p->cfg, r->target_system) &&
	       (*r->source_system == '\0' || driver_is_local(p->cfg, r->source_system));
}

struct group {
	int durable; /* synchronous=FULL on the connection */
	int open;    /* a shared transaction is open */
	int n;
	long long since;
};

/* group_end: commit the shared transaction, if any; 0 or -1. */
static int group_end(struct pilot *p, struct group *g)
{
	if (!g->open)
		return 0;
	g->open = 0;
	if (store_commit(p->s) < 0) {
		log_error("store: commit: %s", store_errmsg(p->s));
		return -1;
	}
	return 0;
}

/* group_for: the transaction mode R's next step runs in; 0 or -1. */
static int group_for(struct pilot *p, struct group *g, const struct req *r)
{
	int relax = relaxed(p, r);

	if (g->open && (!relax || g->n >= GROUP_MAX || time_mono_us() - g->since > GROUP_MAX_US))
		if (group_end(p, g) < 0)
			return -1;
	if (g->durable == relax && store_req_durable(p->s, g->durable = !relax) < 0)
		log_warn("store: %s", store_errmsg(p->s));
	if (relax && !g->open) {
		if (store_begin(p->s) < 0) {
			log_error("store: %s", store_errmsg(p->s));
			return -1;
		}
		g->open = 1;
		g->n = 0;
		g->since = time_mono_us();
	}
	g->n += g->open;
	return 0;
}

/* groupable: R's next step is part of a switch a group may share. */
static int groupable(const struct pilot *p, const struct req *r)
{
	return config_int(p->cfg, "switch_group_max") > 1 && *r->action == '\0' &&
	       (r->state == ST_ADDRESS_FORMED || r->state == ST_HELD ||
		(r->state == ST_SWITCHED && r->release_at == 0)) &&
	       !scenario_ok(p, r);
}

/* run_req: request ID's steps due now; the number it moved, or -1. With
 * DEFER, a request that reaches a switch stops there and joins DEFER (the
 * caller sized it for every due id), to switch with the others in one
 * group at the end of the pass. */
static int run_req(struct pilot *p, struct group *g, long long id, long long *defer, size_t *nd)
{
	int moved = 0;

	for (int k = 0; k < STEPS_PER_REQUEST; k++) {
		struct req r;
		int rc = store_req_get(p->s, id, &r);

		if (rc == STORE_ERR) {
			(store_err_temporary(p->s) ? log_debug : log_error)("request=%lld: %s", id,
									     store_errmsg(p->s));
			return -1;
		}
		if (rc != STORE_OK || r.next_at > time_now_us())
			break;
		if (defer && groupable(p, &r)) {
			defer[(*nd)++] = id;
			break;
		}
		if (group_for(p, g, &r) < 0)
			return -1;
		rc = step(p, &r);
		if (rc == ERR)
			return -1;
		if (rc == WAIT)
			break;
		moved++;
	}
	return moved;
}

/* switch_groups: the switches the pass gathered in DEFER, in groups
 * (switch_group.h), then each request's further steps; moved or -1. */
static int switch_groups(struct pilot *p, struct group *g, long long *defer, size_t nd)
{
	int moved, m;

	if (group_end(p, g) < 0)
		return -1;
	if (!g->durable && store_req_durable(p->s, g->durable = 1) < 0)
		log_warn("store: %s", store_errmsg(p->s));
	moved = sw_group_pass(p, defer, nd);
	for (size_t i = 0; i < nd && moved >= 0; i++)
		moved = (m = run_req(p, g, defer[i], NULL, NULL)) < 0 ? -1 : moved + m;
	return moved;
}

int pilot_pass(struct pilot *p)
{
	struct group g = {1, 0, 0, 0};
	long long *ids = NULL, *defer;
	size_t n = 0, nd = 0;
	int moved = 0, m;

	if (store_req_due(p->s, time_now_us(), PASS_LIMIT, &ids, &n) < 0) {
		(store_err_temporary(p->s) ? log_debug : log_error)("due requests: %s",
								     store_errmsg(p->s));
		return -1;
	}
	defer = xcalloc(n + 1, sizeof(*defer));
	for (size_t i = 0; i < n && moved >= 0; i++)
		moved = (m = run_req(p, &g, ids[i], defer, &nd)) < 0 ? -1 : moved + m;
	if (moved >= 0 && nd > 0)
		moved = (m = switch_groups(p, &g, defer, nd)) < 0 ? -1 : moved + m;
	free(ids);
	free(defer);
	if (moved < 0) {
		if (g.open)
			store_rollback(p->s);
	} else if (group_end(p, &g) < 0) {
		moved = -1;
	}
	if (!g.durable && store_req_durable(p->s, 1) < 0)
		log_warn("store: %s", store_errmsg(p->s));
	return moved;
}

long long pilot_next_due_ms(struct pilot *p, long long cap_ms)
{
	long long at;

	if (store_req_next_due(p->s, &at) < 0)
		return cap_ms;
	if (at == REQ_NEVER)
		return cap_ms;
	long long ms = (at - time_now_us()) / 1000;

	return ms < 0 ? 0 : ms > cap_ms ? cap_ms : ms;
}
