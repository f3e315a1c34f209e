/*
 * fe_pilot - the pilot's side of several Postfix front ends (issue 18,
 * DESIGN.md "Scale path"): with front ends registered (store_fe.h), the
 * drain and the release sweeps of a switch are orders each front end's
 * fedmig-frontend carries out on its own queue.
 *
 * fe_pilot_drain(): one drain order per registered front end for SET's
 * addresses, then wait (blocking, polling the store) until every front
 * end reported "drained": 0. -1 with WHY (WHYLEN bytes) when one
 * reported "failed", or did not answer: its order still new after
 * frontend_timeout, or running longer than drain_timeout plus
 * frontend_timeout. Then, per frontend_timeout_action, "abort" gives up
 * at once and "wait" waits on, up to hold_max from the drain's start;
 * never does the switch proceed without every front end drained. On
 * -1 the batch's open orders are cancelled: the caller lifts the hold
 * and the release orders requeue whatever a front end held.
 *
 * fe_pilot_release(): a release order for every front end holding
 * messages not yet released and without an open release order (a front
 * end that is down takes it when it comes back); nothing, not even a
 * write, with no front end registered. 0 or -1 (logged).
 */
#ifndef FEDMIG_SPM_FE_PILOT_H
#define FEDMIG_SPM_FE_PILOT_H

#include <stddef.h>

#include "drain.h"

int fe_pilot_drain(struct pilot *p, const struct drain_set *set, char *why, size_t whylen);
int fe_pilot_release(struct pilot *p);
/* fe_pilot_note: for the release's history line, " from this host's
 * queue; release ordered from every front end" with front ends
 * registered (the count released is the pilot's own queue's), else "". */
const char *fe_pilot_note(struct pilot *p);

#endif
