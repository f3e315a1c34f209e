/*
 * pilot_int - what the pilot's two halves share: pilot.c (the state
 * machine, the orders) and drain.c (the Postfix side of the switch: the
 * drain and the release sweeps). Not for other modules: they use pilot.h.
 */
#ifndef FEDMIG_SPM_PILOT_INT_H
#define FEDMIG_SPM_PILOT_INT_H

#include "config.h"
#include "pilot.h"
#include "postfix.h"
#include "store.h"

struct pilot {
	const struct config *cfg;
	struct store *s;
	struct pf *pf;
	int crash_after; /* test hook, 0: off */
	int steps;
	int status_warned;
};

#endif
