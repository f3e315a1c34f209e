/*
 * drain - the Postfix side of the switch (DESIGN.md "The switch,
 * exactly", steps 2 and 5): the drain before a switch and the release
 * sweeps after it. pilot_sweep(), pilot_sweep_interval_ms() and
 * pilot_sweeping() (contracts in pilot.h) live here too.
 *
 * pilot_drain(): wait, bounded by drain_timeout, until no message for
 * PHYS (an old physical address, canonical) is on its way in Postfix;
 * deferred ones for PHYS are put on hold and recorded under R's request
 * id so a sweep requeues them after the switch. Returns 0 when drained,
 * -1 with the reason in WHY (WHYLEN bytes) otherwise; R is not changed.
 * It blocks (polling postqueue) for up to drain_timeout.
 *
 * pilot_drain_set(): the same for a group switch, in one round of
 * postqueue scans and postsuper holds for all of SET's addresses: a
 * deferred message is recorded under the request of the first address
 * of SET among its recipients; WHY and the log name SET's LABEL.
 */
#ifndef FEDMIG_SPM_DRAIN_H
#define FEDMIG_SPM_DRAIN_H

#include <stddef.h>

#include "pilot_int.h"
#include "store_req.h"

struct drain_set {
	size_t n;
	const char *const *phys;  /* N old physical addresses, canonical */
	const long long *req;     /* the request of each */
	const char *label;        /* for the log: "alice@example.org: request=12" */
};

int pilot_drain(struct pilot *p, const struct req *r, const char *phys, char *why,
		size_t whylen);
int pilot_drain_set(struct pilot *p, const struct drain_set *set, char *why, size_t whylen);

#endif
