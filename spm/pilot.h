/*
 * pilot - the migration pilot's work: every due request through the state
 * machine (DESIGN.md), the switch (hold, grace, drain, switch, release),
 * release sweeps, cancel and rollback orders. fedmig-spm's daemon and
 * --once both call these; nothing here knows which one runs it.
 *
 * Contract: pilot_new() takes CFG, S and PF (not owned). pilot_pass()
 * runs every request due now as far as it can go, and returns the number
 * of requests it moved, or -1 on a store error (logged). pilot_sweep()
 * releases held messages whose recipients are no longer held; returns how
 * many it released, -1 on error. pilot_sweep_interval_ms() says when the
 * next sweep is due: fast while a switch is recent and the milter reports
 * an SMTP transaction begun before it (or cannot be asked), the
 * configured release_sweep otherwise; pilot_sweeping() is 0 once no
 * switch needs sweeps any more (--once exits then).
 *
 * Test hook: with FEDMIG_SPM_CRASH_AFTER=N in the environment the process
 * exits (status 99, no cleanup, like a crash) right after its N-th step
 * (each external side effect and each committed transition is a step).
 */
#ifndef FEDMIG_SPM_PILOT_H
#define FEDMIG_SPM_PILOT_H

#include "config.h"
#include "postfix.h"
#include "store.h"

struct pilot;

struct pilot *pilot_new(const struct config *cfg, struct store *s, struct pf *pf);
void pilot_free(struct pilot **p);
int pilot_pass(struct pilot *p);
int pilot_sweep(struct pilot *p);
long long pilot_sweep_interval_ms(struct pilot *p);
int pilot_sweeping(struct pilot *p);
/* pilot_on_switch: FN(CTX, FROM, TO) after each committed switch and
 * rollback switch, with the systems the address left and reached (for
 * the downward directory sync). */
typedef void (*pilot_switch_fn)(void *ctx, const char *from, const char *to);
void pilot_on_switch(struct pilot *p, pilot_switch_fn fn, void *ctx);
/* pilot_set_frontend: drains and sweeps act for the front end NAME
 * (fedmig-frontend: its own queue, its own held messages) instead of
 * the pilot's ("", the default: front ends get orders). */
void pilot_set_frontend(struct pilot *p, const char *name);
/* pilot_set_led_at: this process leads since US (wall clock): a hold it
 * finds older was committed by another process, on another clock, and
 * the grace is counted from US too (sw_grace_us()). */
void pilot_set_led_at(struct pilot *p, long long us);
/* pilot_next_due_ms: ms until the earliest request is due (capped). */
long long pilot_next_due_ms(struct pilot *p, long long cap_ms);

#endif
