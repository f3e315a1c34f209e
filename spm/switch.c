/*
 * switch - hold, grace, drain, switch, release, for both ways (contract
 * in switch.h). What differs between the ways is data (which physical
 * address is drained, where the directory leads after, the step names)
 * and two forward-only duties: the forward switch moves the request to
 * held and switched, and queues the mailbox copy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dirsync.h"
#include "drain.h"
#include "fe_pilot.h"
#include "driver.h"
#include "log.h"
#include "state.h"
#include "store_smd.h"
#include "switch.h"
#include "timeutil.h"

/* Each way's step names, which are its crash_point labels too; ENDED is
 * the step that lifts a hold the drain could not switch. */
static const struct way {
	const char *hold, *drained, *sw, *release, *ended;
} ways[] = {
	[SW_FORWARD] = {"E8 hold", "E8 drained", "E9 switch", "E9 release", "E8 hold ended"},
	/* Back, the release is told in the rolled-back transition. */
	[SW_BACK] = {"rollback hold", "rollback drained", "rollback switch", NULL,
		     "rollback drain"},
};

/* from_phys: the physical address the switch leads away from (drained). */
static const char *from_phys(const struct req *r, enum sw_dir dir)
{
	return dir == SW_FORWARD ? r->source_physical : r->target_physical;
}

static const char *to_phys(const struct req *r, enum sw_dir dir)
{
	return dir == SW_FORWARD ? r->target_physical : r->source_physical;
}

static const char *to_system(const struct req *r, enum sw_dir dir)
{
	return dir == SW_FORWARD ? r->target_system : r->source_system;
}

void pilot_on_switch(struct pilot *p, pilot_switch_fn fn, void *ctx)
{
	p->on_switch = fn;
	p->on_switch_ctx = ctx;
}

int sw_unhold_tx(struct pilot *p, struct req *r)
{
	if (store_begin(p->s) < 0)
		return pilot_store_err(p, r);
	if (store_dir_unhold(p->s, r->access) == STORE_ERR)
		return pilot_abort(p, r);
	return GO;
}

int sw_publish_tx(struct pilot *p, struct req *r)
{
	if (store_begin(p->s) < 0)
		return pilot_store_err(p, r);
	if (sw_publish_in(p, r, SW_FORWARD, time_now_us()) == ERR)
		return pilot_abort(p, r);
	return GO;
}

int sw_unhold(struct pilot *p, struct req *r)
{
	int rc = GO;

	/* Switched back: the switch kept the hold (sw_switch_in), lifted now
	 * with the switch time the milter's rule needs (sw_publish_in); the
	 * plain unhold after it for a hold that never switched. */
	if (store_begin(p->s) < 0)
		return pilot_store_err(p, r);
	if (r->switch_at != 0)
		rc = sw_publish_in(p, r, SW_BACK, time_now_us());
	if (rc == GO && store_dir_unhold(p->s, r->access) == STORE_ERR)
		rc = pilot_store_err(p, r);
	if (pilot_commit(p, r, rc) == ERR)
		return ERR;
	pilot_crash_point(p, r, "rollback unhold");
	return GO;
}

/* pilot_verify: E5-E7, the target announces the access address and
 * aliases, and R's address may be held (pilot_int.h). */
int pilot_verify(struct pilot *p, struct req *r)
{
	char why[DRV_WHY], *list = NULL, *aliases = NULL, *save = NULL, missing[ADDR_MAX * 2];
	struct dir_entry e;
	int rc;

	if ((rc = dirsync_announces(p->cfg, p->s, r)) < 0)
		return pilot_store_err(p, r);
	if (rc == 1)
		goto announced;
	rc = driver_addresses(p->cfg, r->target_system, &list, why);
	if (rc != DRV_OK)
		return pilot_retry(p, r, "E5 addresses", rc, why);
	if (store_dir_aliases(p->s, r->access, &aliases) < 0) {
		free(list);
		return pilot_store_err(p, r);
	}
	missing[0] = '\0';
	if (!driver_list_has(list, r->access))
		snprintf(missing, sizeof(missing), "%s", r->access);
	for (char *a = strtok_r(aliases, " ", &save); a && !*missing; a = strtok_r(NULL, " ", &save))
		if (!driver_list_has(list, a))
			snprintf(missing, sizeof(missing), "%s", a);
	free(list);
	free(aliases);
	if (*missing) {
		r->failed_from = r->state;
		snprintf(r->reason, sizeof(r->reason), "target %s does not announce %.300s",
			 r->target_system, missing);
		snprintf(why, sizeof(why), "%.400s", r->reason);
		rc = pilot_move(p, r, ST_SYNC_MISMATCH, "E7 sync-mismatch", "%s; nothing held",
				why);
		if (rc == GO)
			store_req_wait(p->s, r->id, ST_SYNC_MISMATCH, REQ_NEVER, why);
		log_error("%s: request=%lld sync-mismatch: %s", r->access, r->id, why);
		return rc == GO ? WAIT : rc;
	}
announced:
	rc = store_dir_lookup(p->s, r->access, &e);
	if (rc == STORE_ERR)
		return pilot_store_err(p, r);
	if (rc != STORE_OK || strcmp(e.physical, r->source_physical) != 0)
		return pilot_fail(p, r, "E8 hold",
				  "the directory entry changed since registration");
	if (e.held && e.request_id != r->id)
		return pilot_retry(p, r, "E8 hold", DRV_TEMP, "held by another request");
	return GO;
}

int sw_hold_in(struct pilot *p, struct req *r, enum sw_dir dir, long long now, const char *grp)
{
	int from = r->state;

	if (store_dir_hold(p->s, r->access, r->id, now) != STORE_OK)
		return pilot_store_err(p, r);
	r->next_at = now;
	if (dir == SW_FORWARD) {
		/* Not pilot_move(): the attempts count on. A hold that could
		 * not be switched comes back to address-formed (hold_ended),
		 * and its attempts must reach max_retries, or a drain that
		 * always fails would hold and lift the address for ever, each
		 * time "attempt 1". The switch starts the count afresh. */
		r->hold_at = now;
		r->switch_at = r->release_at = 0;
		r->reason[0] = '\0';
		r->state = ST_HELD;
	}
	return pilot_set(p, r, from, ways[dir].hold, "%s, its aliases and %s held%s", r->access,
			 from_phys(r, dir), grp);
}

typedef int (*in_tx_fn)(struct pilot *p, struct req *r, enum sw_dir dir, long long now,
			const char *grp);

/* own_tx: FN's writes for R alone, in a transaction of their own. */
static int own_tx(struct pilot *p, struct req *r, enum sw_dir dir, in_tx_fn fn)
{
	int rc;

	if (store_begin(p->s) < 0)
		return pilot_store_err(p, r);
	rc = fn(p, r, dir, time_now_us(), "");
	if (rc == ERR) {
		store_rollback(p->s);
		return ERR;
	}
	if (fn == sw_switch_in)
		sw_commit_hook(r);
	return pilot_commit(p, r, rc);
}

int sw_hold(struct pilot *p, struct req *r, enum sw_dir dir)
{
	int rc = own_tx(p, r, dir, sw_hold_in);

	if (rc == GO)
		pilot_crash_point(p, r, ways[dir].hold);
	return rc;
}

/* sw_ended: end a forward hold that could not be switched; back to
 * address-formed, retried. SWEEP: release what was held for it now (a
 * group sweeps once for all its members instead). */
int sw_ended(struct pilot *p, struct req *r, const char *why, int sweep)
{
	int rc, from = r->state;

	if (r->attempts >= config_int(p->cfg, "max_retries")) {
		/* pilot_fail() lifts the hold; what the drain held goes on to
		 * the old mailbox, as below. */
		rc = pilot_fail(p, r, "E8 switch", why);
		if (rc != ERR && sweep)
			pilot_sweep(p);
		return rc;
	}
	if (sw_unhold_tx(p, r) == ERR)
		return ERR;
	r->state = ST_ADDRESS_FORMED;
	r->attempts++;
	snprintf(r->reason, sizeof(r->reason), "%s", why);
	r->next_at = time_now_us() + pilot_backoff_us(p, r, r->attempts);
	rc = pilot_set(p, r, from, ways[SW_FORWARD].ended, "%s (attempt %d, retry in %llds)", why,
		       r->attempts, pilot_backoff_us(p, r, r->attempts) / 1000000);
	if (pilot_commit(p, r, rc) == ERR)
		return ERR;
	pilot_crash_point(p, r, ways[SW_FORWARD].ended);
	if (sweep)
		pilot_sweep(p); /* what was held for it goes on to the old mailbox */
	return WAIT;
}

/* hold_ended: the hold could not be switched for WHY: lift it, retry. */
static int hold_ended(struct pilot *p, struct req *r, enum sw_dir dir, const char *why)
{
	if (dir == SW_FORWARD)
		return sw_ended(p, r, why, 1);
	store_dir_unhold(p->s, r->access);
	pilot_sweep(p);
	return pilot_retry(p, r, ways[dir].ended, DRV_TEMP, why);
}

int sw_switch_in(struct pilot *p, struct req *r, enum sw_dir dir, long long now, const char *grp)
{
	int from = r->state, copy = dir == SW_FORWARD && pilot_scn(p, r, "copy_data");

	/* The address stays held until sw_publish_in(), after this commit:
	 * a transaction whose RCPT was looked up before the commit (the old
	 * physical address recorded) and whose MAIL FROM came after NOW
	 * would otherwise end after the commit neither held nor "switched
	 * after its MAIL FROM", and go to the old mailbox. */
	if (store_dir_switch(p->s, r->access, to_system(r, dir), to_phys(r, dir), r->id, now) !=
		    STORE_OK ||
	    store_dir_hold(p->s, r->access, r->id, now) != STORE_OK)
		return pilot_store_err(p, r);
	/* The mailbox copy is queued in the switch's own transaction: from now
	 * on new mail reaches the target, and the user's old mail is what
	 * matters most, so no later step (release, redirect, a driver that
	 * fails for good) may keep the copy from being handed to fedmig-smd. */
	if (copy && store_smd_enqueue(p->s, smd_key(r->id, SMD_COPY), r->access, r->source_system,
				      r->source_physical, r->target_system, r->target_physical, now) < 0)
		return pilot_store_err(p, r);
	/* Back, the rollback's switch time is the one release sweeps key off
	 * now (pilot_sweeping: store_req_last_switch): the stragglers it
	 * catches are swept fast, not at the next slow sweep. The forward
	 * switch stays in the history. */
	r->switch_at = now;
	r->next_at = now;
	if (dir == SW_FORWARD) {
		r->attempts = 0;
		r->reason[0] = '\0';
		r->state = ST_SWITCHED;
	}
	return pilot_set(p, r, from, ways[dir].sw, "%s and %s %slead to %s%s%s", r->access,
			 from_phys(r, dir), dir == SW_FORWARD ? "now " : "", to_phys(r, dir),
			 dir == SW_BACK ? " again"
			 : copy	        ? "; mailbox copy queued for fedmig-smd"
					: "",
			 grp);
}

int sw_publish_in(struct pilot *p, struct req *r, enum sw_dir dir, long long now)
{
	struct dir_entry e;
	int rc = store_dir_lookup(p->s, r->access, &e);

	if (rc == STORE_ERR)
		return pilot_store_err(p, r);
	/* Published already, or switched by a fedmig-spm that did not keep
	 * the hold: nothing to do. */
	if (rc != STORE_OK || !e.held || e.request_id != r->id ||
	    strcmp(e.physical, to_phys(r, dir)) != 0)
		return GO;
	/* NOW is later than the switch's commit: every RCPT that saw the old
	 * address had its MAIL FROM before it, so the milter holds it. */
	if (store_dir_switch(p->s, r->access, to_system(r, dir), to_phys(r, dir), r->id, now) !=
	    STORE_OK)
		return pilot_store_err(p, r);
	return GO;
}

void sw_commit_hook(const struct req *r)
{
	const char *ms = getenv("FEDMIG_SPM_SWITCH_COMMIT_DELAY_MS");

	/* Test hook: a switch transaction slow to commit (a loaded disk, a
	 * group of hundreds), so that a test can hold an SMTP transaction in
	 * the window. */
	if (ms == NULL || atoi(ms) <= 0)
		return;
	log_info("request=%lld: test hook: switch transaction committed in %d ms", r->id, atoi(ms));
	time_sleep_us(atoi(ms) * 1000LL);
}

void sw_switched(struct pilot *p, const struct req *r, enum sw_dir dir)
{
	pilot_crash_point(p, r, ways[dir].sw);
	/* The downward contacts follow (in a child: never delaying this). */
	if (p->on_switch)
		p->on_switch(p->on_switch_ctx, dir == SW_FORWARD ? r->source_system : r->target_system,
			     to_system(r, dir));
}

/* switch_tx: the switch itself, one transaction. */
static int switch_tx(struct pilot *p, struct req *r, enum sw_dir dir)
{
	int rc = own_tx(p, r, dir, sw_switch_in);

	if (rc == GO)
		sw_switched(p, r, dir);
	return rc;
}

long long sw_grace_us(const struct config *cfg)
{
	long long grace = config_time_ms(cfg, "switch_grace");
	long long cache = 2 * config_time_ms(cfg, "socketmap_cache_time");

	return (grace > cache ? grace : cache) * 1000;
}

int sw_switch(struct pilot *p, struct req *r, enum sw_dir dir, long long held_since)
{
	/* A hold found at a takeover was timed by another clock: the grace
	 * counts from this process's lead too, never less. */
	long long from = held_since > p->led_at ? held_since : p->led_at;
	long long grace_end = from + sw_grace_us(p->cfg);
	long long now = time_now_us();
	char why[256];

	if (dir == SW_FORWARD && now - held_since > config_time_ms(p->cfg, "hold_max") * 1000)
		return hold_ended(p, r, dir, "hold longer than hold_max");
	if (now < grace_end)
		time_sleep_us(grace_end - now);
	if (pilot_drain(p, r, from_phys(r, dir), why, sizeof(why)) < 0)
		return hold_ended(p, r, dir, why);
	pilot_crash_point(p, r, ways[dir].drained);
	return switch_tx(p, r, dir);
}

int sw_release(struct pilot *p, struct req *r, enum sw_dir dir, int *n_r)
{
	int n, rc;

	/* Forward, released once: the redirect after it may be retried. */
	if (dir == SW_FORWARD && r->release_at != 0)
		return GO;
	if (dir == SW_FORWARD) {
		if (store_begin(p->s) < 0)
			return pilot_store_err(p, r);
		if (pilot_commit(p, r, sw_publish_in(p, r, dir, time_now_us())) == ERR)
			return ERR;
	}
	n = pilot_sweep(p);
	if (n_r)
		*n_r = n;
	if (dir == SW_BACK)
		return GO;
	r->release_at = time_now_us();
	rc = pilot_set(p, r, r->state, ways[dir].release,
		       "hold window %.3f s, %d messages released%s%s",
		       (double)(r->release_at - r->hold_at) / 1e6, n < 0 ? 0 : n, fe_pilot_note(p),
		       n < 0 ? " (sweep failed: the next sweeps retry)" : "");
	if (rc == GO)
		pilot_crash_point(p, r, ways[dir].release);
	return rc;
}
