/*
 * The pilot's orders to the front ends and its wait for their answers
 * (contract in fe_pilot.h).
 */
#include <stdio.h>
#include <string.h>

#include "fe_pilot.h"
#include "log.h"
#include "timeutil.h"

#define FE_POLL_US 20000 /* the store, while front ends drain */
#define FE_KEEP_US (24LL * 3600 * 1000000) /* finished orders, then forgotten */

/* look: one pass over a batch's orders. */
struct look {
	long long now, answer_us, drain_us;
	int total, drained, failed;
	char silent[FE_NAME_MAX]; /* the first front end that did not answer */
	char why[FE_NAME_MAX + 320];
};

static int look_order(void *ctx, const struct fe_order *o)
{
	struct look *l = ctx;

	l->total++;
	if (strcmp(o->state, "drained") == 0) {
		l->drained++;
	} else if (strcmp(o->state, "new") != 0 && strcmp(o->state, "running") != 0) {
		if (!l->failed++)
			snprintf(l->why, sizeof(l->why), "front end %s: drain %s%s%s", o->frontend,
				 o->state, o->reason[0] ? ": " : "", o->reason);
	} else if (l->silent[0] == '\0') {
		/* A front end that took the order is bounded by its own
		 * drain_timeout; one that did not take it only by ours. */
		long long since = o->started > o->last_seen ? o->started : o->last_seen;
		int quiet = strcmp(o->state, "new") == 0
				    ? l->now - o->created > l->answer_us
				    : l->now - since > l->drain_us + l->answer_us;

		if (quiet)
			snprintf(l->silent, sizeof(l->silent), "%s", o->frontend);
	}
	return 0;
}

/* fe_wait: 0 drained everywhere, -1 with WHY; the orders of BATCH. */
static int fe_wait(struct pilot *p, long long batch, const char *label, char *why, size_t whylen)
{
	long long start = time_now_us();
	long long hold_max = config_time_ms(p->cfg, "hold_max") * 1000;
	int wait = strcmp(config_str(p->cfg, "frontend_timeout_action"), "wait") == 0;
	char warned[FE_NAME_MAX] = "";

	for (;;) {
		struct look l = {.now = time_now_us(),
				 .answer_us = config_time_ms(p->cfg, "frontend_timeout") * 1000,
				 .drain_us = config_time_ms(p->cfg, "drain_timeout") * 1000};

		if (store_fe_batch(p->s, batch, look_order, &l) < 0) {
			snprintf(why, whylen, "drain: %s", store_errmsg(p->s));
			return -1;
		}
		if (l.total > 0 && l.drained == l.total)
			return 0;
		if (l.failed) {
			snprintf(why, whylen, "%s", l.why);
			return -1;
		}
		if (l.total == 0) {
			snprintf(why, whylen, "drain: every front end was removed meanwhile");
			return -1;
		}
		if (l.silent[0] != '\0' && !wait) {
			snprintf(why, whylen, "front end %s did not answer within frontend_timeout",
				 l.silent);
			return -1;
		}
		if (l.silent[0] != '\0' && l.now - start > hold_max) {
			snprintf(why, whylen, "hold_max: front end %s did not answer", l.silent);
			return -1;
		}
		if (l.silent[0] != '\0' && strcmp(warned, l.silent) != 0) {
			log_warn("%s: front end %s does not answer: the switch waits for it "
				 "(frontend_timeout_action = wait), at most hold_max",
				 label, l.silent);
			snprintf(warned, sizeof(warned), "%s", l.silent);
		}
		time_sleep_us(FE_POLL_US);
	}
}

int fe_pilot_drain(struct pilot *p, const struct drain_set *set, char *why, size_t whylen)
{
	long long batch;
	int rc;

	if (store_fe_order_drain(p->s, set->n, set->phys, set->req, time_now_us(), &batch) < 0) {
		snprintf(why, whylen, "drain: %s", store_errmsg(p->s));
		return -1;
	}
	log_info("%s drain ordered from every front end (batch %lld)", set->label, batch);
	long long asked = time_mono_us();

	rc = fe_wait(p, batch, set->label, why, whylen);
	/* Finished orders are kept a day, for "fedmigctl frontend list" and
	 * a look into the store after an incident. */
	if (store_fe_prune(p->s, time_now_us() - FE_KEEP_US) < 0)
		log_error("forget old front end orders: %s", store_errmsg(p->s));
	if (rc == 0) {
		log_info("%s drained on every front end in %lld ms", set->label,
			 (time_mono_us() - asked) / 1000);
		return 0;
	}
	if (store_fe_batch_cancel(p->s, batch, time_now_us()) < 0)
		log_error("%s: cancel the drain orders of batch %lld: %s", set->label, batch,
			  store_errmsg(p->s));
	return -1;
}

int fe_pilot_release(struct pilot *p)
{
	/* One read, and no write on one Postfix host (store_fe_order_release). */
	if (store_fe_order_release(p->s, time_now_us()) < 0) {
		log_error("release orders to the front ends: %s", store_errmsg(p->s));
		return -1;
	}
	return 0;
}

const char *fe_pilot_note(struct pilot *p)
{
	long long nfe = 0;

	if (store_fe_count(p->s, &nfe) < 0 || nfe == 0)
		return "";
	return " from this host's queue; release ordered from every front end";
}
