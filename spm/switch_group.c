/*
 * switch_group - the group switch (contract in switch_group.h). The
 * phases are the switch of one's (switch.c), each done once for the
 * whole group; what each writes per request is switch.c's own code
 * (sw_hold_in, sw_switch_in, sw_ended), so a request's fields and
 * history do not depend on the size of its group.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drain.h"
#include "fe_pilot.h"
#include "log.h"
#include "state.h"
#include "switch.h"
#include "switch_group.h"
#include "timeutil.h"
#include "xalloc.h"

/* The ends of the phases, in order: what the hold window is made of. */
enum mark { M_START, M_VERIFY, M_HOLD, M_GRACE, M_DRAIN, M_SWITCH, M_SWITCHED, M_SWEEP, M_RELEASE,
	    NMARKS };

struct grp {
	struct pilot *p;
	const long long *ids; /* the members' request ids */
	size_t n;
	struct req *r;	      /* each member as last read */
	int *in;	      /* 1: the member takes part in the phase */
	char tag[64];	      /* " (group ID of N)", for the history */
	int moved;	      /* switched */
	int released;
	long long t[NMARKS];  /* when each phase ended (µs, monotonic), 0: not reached */
};

/* mark: phase M of G ended now (the group's log line says where a
 * hold window's time goes). */
static void mark(struct grp *g, enum mark m)
{
	g->t[m] = time_mono_us();
}

/* load: read every member still in (all, with ALL) again; IN marks those
 * in STATE with no order (switched: not yet released). The count, or -1. */
static int load(struct grp *g, int state, int all)
{
	int k = 0;

	for (size_t i = 0; i < g->n; i++) {
		struct req *r = &g->r[i];
		int rc;

		if (!all && !g->in[i])
			continue;
		rc = store_req_get(g->p->s, g->ids[i], r);
		if (rc == STORE_ERR) {
			log_error("request=%lld: %s", g->ids[i], store_errmsg(g->p->s));
			return -1;
		}
		g->in[i] = rc == STORE_OK && r->state == state && *r->action == '\0' &&
			   (state != ST_SWITCHED || r->release_at == 0);
		k += g->in[i];
	}
	snprintf(g->tag, sizeof(g->tag), " (group %lld of %d)", g->ids[0], k);
	return k;
}

/* tx_end: commit the phase's transaction after RC (GO), or roll it back. */
static int tx_end(struct grp *g, int rc)
{
	if (rc == GO && store_commit(g->p->s) == 0)
		return 0;
	store_rollback(g->p->s);
	log_error("group %lld: store: %s", g->ids[0], store_errmsg(g->p->s));
	return -1;
}

/* tx_load: begin the phase's transaction and read its members again in
 * it (nobody writes them till the commit); 0 or -1. */
static int tx_load(struct grp *g, int state)
{
	if (store_begin(g->p->s) < 0 || load(g, state, 0) < 0)
		return tx_end(g, ERR);
	return 0;
}

/* crash_points: each member's crash point after a phase (the test hook). */
static void crash_points(struct grp *g, const char *what)
{
	for (size_t i = 0; i < g->n; i++)
		if (g->in[i])
			pilot_crash_point(g->p, &g->r[i], what);
}

/* phase_hold: E5-E7 for the address-formed members, then ONE
 * transaction holding every member that passed; 0 or -1. */
static int phase_hold(struct grp *g)
{
	long long now;
	int rc = GO;

	if (load(g, ST_ADDRESS_FORMED, 1) < 0)
		return -1;
	for (size_t i = 0; i < g->n; i++) {
		if (!g->in[i])
			continue;
		rc = pilot_verify(g->p, &g->r[i]);
		if (rc == ERR)
			return -1;
		g->in[i] = rc == GO; /* else it left the group, as the switch of one */
	}
	mark(g, M_VERIFY);
	if (tx_load(g, ST_ADDRESS_FORMED) < 0)
		return -1;
	now = time_now_us();
	rc = GO;
	for (size_t i = 0; i < g->n && rc == GO; i++)
		if (g->in[i])
			rc = sw_hold_in(g->p, &g->r[i], SW_FORWARD, now, g->tag);
	if (tx_end(g, rc) < 0)
		return -1;
	mark(g, M_HOLD);
	crash_points(g, "E8 hold");
	return 0;
}

/* ended: end the hold of every member in the phase for WHY, then sweep
 * once for all; 0 or -1. */
static int ended(struct grp *g, const char *why)
{
	int rc = 0;

	log_warn("group %lld: %s: the hold of all its addresses ends", g->ids[0], why);
	for (size_t i = 0; i < g->n && rc == 0; i++)
		if (g->in[i] && sw_ended(g->p, &g->r[i], why, 0) == ERR)
			rc = -1;
	pilot_sweep(g->p); /* what was held for them goes on to the old mailboxes */
	return rc;
}

/* grace: drop the members held longer than hold_max (ended), then wait
 * out the grace after the latest hold; 0 or -1. */
static int grace(struct grp *g)
{
	long long now = time_now_us(), last = 0;
	long long hold_max = config_time_ms(g->p->cfg, "hold_max") * 1000;
	int swept = 0;

	for (size_t i = 0; i < g->n; i++) {
		if (!g->in[i])
			continue;
		if (now - g->r[i].hold_at <= hold_max) {
			last = g->r[i].hold_at > last ? g->r[i].hold_at : last;
			continue;
		}
		if (sw_ended(g->p, &g->r[i], "hold longer than hold_max", 0) == ERR)
			return -1;
		g->in[i] = 0;
		swept = 1;
	}
	if (swept)
		pilot_sweep(g->p);
	/* As sw_switch(): never less than the grace after this process led. */
	if (g->p->led_at > last)
		last = g->p->led_at;
	last += sw_grace_us(g->p->cfg);
	if (now < last)
		time_sleep_us(last - now);
	mark(g, M_GRACE);
	return 0;
}

/* drain: one drain for every member's old physical address; 0 when
 * drained, 1 when the hold of all ended, -1 on a store error. */
static int drain(struct grp *g)
{
	const char **phys = xcalloc(g->n, sizeof(*phys));
	long long *req = xcalloc(g->n, sizeof(*req));
	char label[64], why[256];
	size_t k = 0;
	int rc;

	for (size_t i = 0; i < g->n; i++)
		if (g->in[i]) {
			phys[k] = g->r[i].source_physical;
			req[k++] = g->r[i].id;
		}
	/* The log lines of the switch of one, the group's id as request. */
	snprintf(label, sizeof(label), "group %lld: request=%lld", g->ids[0], g->ids[0]);
	struct drain_set set = {k, phys, req, label};

	rc = k == 0 ? 0 : pilot_drain_set(g->p, &set, why, sizeof(why));
	free(phys);
	free(req);
	if (rc == 0)
		return 0;
	return ended(g, why) < 0 ? -1 : 1;
}

/* phase_switch: grace, drain, then ONE transaction switching every held
 * member; 0 or -1. */
static int phase_switch(struct grp *g)
{
	long long now;
	int rc;

	if ((rc = load(g, ST_HELD, 1)) <= 0)
		return rc;
	if (grace(g) < 0 || (rc = drain(g)) < 0)
		return -1;
	if (rc > 0)
		return 0;
	mark(g, M_DRAIN);
	crash_points(g, "E8 drained");
	if (tx_load(g, ST_HELD) < 0)
		return -1;
	now = time_now_us();
	rc = GO;
	for (size_t i = 0; i < g->n && rc == GO; i++)
		if (g->in[i])
			rc = sw_switch_in(g->p, &g->r[i], SW_FORWARD, now, g->tag);
	if (rc == GO)
		sw_commit_hook(&g->r[0]);
	if (tx_end(g, rc) < 0)
		return -1;
	mark(g, M_SWITCH);
	for (size_t i = 0; i < g->n; i++)
		if (g->in[i]) {
			sw_switched(g->p, &g->r[i], SW_FORWARD);
			g->moved++;
		}
	mark(g, M_SWITCHED);
	return 0;
}

/* publish: one transaction lifting the hold the switch kept on every
 * switched member (sw_publish_in); 0 or -1. */
static int publish(struct grp *g)
{
	long long now;
	int rc = GO;

	if (tx_load(g, ST_SWITCHED) < 0)
		return -1;
	now = time_now_us();
	for (size_t i = 0; i < g->n && rc == GO; i++)
		if (g->in[i])
			rc = sw_publish_in(g->p, &g->r[i], SW_FORWARD, now);
	return tx_end(g, rc);
}

/* phase_release: the switch published, one release sweep, then the
 * release time on every switched member, in one transaction; 0 or -1. */
static int phase_release(struct grp *g)
{
	long long now;
	int rc, n;

	if ((rc = load(g, ST_SWITCHED, 1)) <= 0)
		return rc;
	if (publish(g) < 0)
		return -1;
	n = pilot_sweep(g->p);
	/* Released now, as the switch of one records it: not after the
	 * transaction below has read every member again. */
	now = time_now_us();
	mark(g, M_SWEEP);
	if (tx_load(g, ST_SWITCHED) < 0)
		return -1;
	rc = GO;
	for (size_t i = 0; i < g->n && rc == GO; i++) {
		struct req *r = &g->r[i];

		if (!g->in[i])
			continue;
		r->release_at = now;
		rc = pilot_set(g->p, r, r->state, "E9 release",
			       "hold window %.3f s, %d messages released%s%s%s",
			       (double)(r->release_at - r->hold_at) / 1e6, n < 0 ? 0 : n,
			       fe_pilot_note(g->p),
			       n < 0 ? " (sweep failed: the next sweeps retry)" : "", g->tag);
	}
	if (tx_end(g, rc) < 0)
		return -1;
	mark(g, M_RELEASE);
	for (size_t i = 0; i < g->n; i++)
		g->released += g->in[i];
	crash_points(g, "E9 release");
	return 0;
}

/* spent_text: where the group's time went, in ms per phase reached (a
 * phase resumed after a crash starts where the last one reached ended). */
static void spent_text(const struct grp *g, char *out, size_t len)
{
	static const char *const names[NMARKS] = {"", "verify", "hold", "grace", "drain",
						  "switch", "after switch", "sweep", "release"};
	long long last = g->t[M_START];
	size_t k = 0;

	out[0] = '\0';
	for (int m = M_VERIFY; m < NMARKS && k < len; m++) {
		if (g->t[m] == 0)
			continue;
		k += (size_t)snprintf(out + k, len - k, "%s%s %lld ms", k ? ", " : "", names[m],
				      (g->t[m] - last) / 1000);
		last = g->t[m];
	}
}

/* run_group: the N members of one group through every phase; moved or -1. */
static int run_group(struct pilot *p, const long long *ids, size_t n)
{
	struct grp g = {p, ids, n, xcalloc(n, sizeof(struct req)), xcalloc(n, sizeof(int)), "", 0, 0,
			{0}};
	char spent[256];
	int rc;

	mark(&g, M_START);
	rc = phase_hold(&g) < 0 || phase_switch(&g) < 0 || phase_release(&g) < 0 ? -1 : 0;
	spent_text(&g, spent, sizeof(spent));
	log_info("group %lld: %d of %zu addresses switched, %d released, in %.3f s (%s)", ids[0],
		 g.moved, n, g.released, (double)(time_mono_us() - g.t[M_START]) / 1e6, spent);
	free(g.r);
	free(g.in);
	return rc < 0 ? -1 : g.moved + g.released;
}

/* next_group: the first untaken id's group (same target, at most MAX)
 * into OUT; its size. */
static size_t next_group(const long long *ids, size_t n, char (*tgt)[STORE_SYSTEM_MAX],
			 int *taken, size_t max, long long *out)
{
	size_t k = 0, first = n;

	for (size_t i = 0; i < n && k < max; i++) {
		if (taken[i] || (first < n && strcmp(tgt[i], tgt[first]) != 0))
			continue;
		first = first < n ? first : i;
		taken[i] = 1;
		out[k++] = ids[i];
	}
	return k;
}

static int cmp_id(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

int sw_group_pass(struct pilot *p, const long long *due, size_t n)
{
	char (*tgt)[STORE_SYSTEM_MAX] = xcalloc(n + 1, sizeof(*tgt));
	int *taken = xcalloc(n + 1, sizeof(*taken)), moved = 0, m;
	long long *grp = xcalloc(n + 1, sizeof(*grp));
	size_t max = (size_t)config_int(p->cfg, "switch_group_max"), k;
	long long *ids = xcalloc(n + 1, sizeof(*ids));
	struct req r;

	/* In id order, not due order: a group and its id (its first member)
	 * do not depend on when each member became due, so a rerun after a
	 * crash forms the same group. */
	memcpy(ids, due, n * sizeof(*ids));
	qsort(ids, n, sizeof(*ids), cmp_id);
	for (size_t i = 0; i < n; i++) {
		if (store_req_get(p->s, ids[i], &r) == STORE_OK)
			snprintf(tgt[i], sizeof(tgt[i]), "%s", r.target_system);
		else
			taken[i] = 1; /* gone, or a store error the next step reports */
	}
	while (moved >= 0 && (k = next_group(ids, n, tgt, taken, max, grp)) > 0)
		if (k > 1)
			moved = (m = run_group(p, grp, k)) < 0 ? -1 : moved + m;
	free(tgt);
	free(taken);
	free(grp);
	free(ids);
	return moved;
}
