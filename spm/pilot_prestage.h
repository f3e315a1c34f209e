/*
 * pilot_prestage - pre-staging (scenario key prestage): while a request
 * is short of its switch (states 1-3) the data mover copies its mailbox
 * in passes, one job of kind SMD_PRESTAGE queued again prestage_interval
 * after each pass ends, while mail still goes to the source. The states
 * keep the patent's numbers: a pass is a history line of the state the
 * request is in ("P1 pre-stage", "pass N: M messages, B bytes, T s" or
 * the failure), counted in the request (prestage_passes, prestage_last).
 * Once the address is formed (state 4) no pass is queued and one still
 * queued is dropped; one running finishes first (the data mover takes a
 * mailbox's lock per copy), and the copy queued at the switch (E13) is
 * the final pass. A failed pass is retried by the data mover's own
 * retries, then by the next pass; it never fails the request.
 *
 * pilot_prestage_tick(): for a request in states 1-4 and 7, before its
 * step: records a pass that ended (GO: R was written, read it again),
 * queues the first or next pass when due (states 1-3), drops a queued
 * one (state 4 on). WAIT when it wrote nothing, ERR on a store error.
 * pilot_prestage_due(): when R must be looked at again for its passes
 * (µs), REQ_NEVER when it need not be. pilot_prestage_wait(): 1 while
 * E4 must wait for the first pass (prestage_wait), with until when in
 * *AT_R; 0 when E4 may go on (a warning logged when the wait timed out,
 * its words in WARN, "" otherwise). pilot_prestage_drop(): cancel and
 * rollback drop a queued pass; -1 on a store error (logged).
 */
#ifndef FEDMIG_SPM_PILOT_PRESTAGE_H
#define FEDMIG_SPM_PILOT_PRESTAGE_H

#include <stddef.h>

#include "pilot_int.h"

/* The reason a request waiting for its first pass shows. */
#define PILOT_PRESTAGE_WAITING "prestage_wait: waiting for the first pre-stage pass"

int pilot_prestage_tick(struct pilot *p, struct req *r);
long long pilot_prestage_due(struct pilot *p, const struct req *r);
int pilot_prestage_wait(struct pilot *p, const struct req *r, long long *at_r, char *warn,
			size_t len);
int pilot_prestage_drop(struct pilot *p, const struct req *r);

#endif
