/*
 * state - the states of a migration request, numbered as in the patent
 * (DESIGN.md "State machine"), and their names.
 *
 * The main line keeps the patent's numbers 0-13; the off-line states get
 * numbers from 20 up so that they can never be confused with a patent
 * step. The numbers are stored in the database: never renumber.
 *
 * Contract: state_name() returns a static name, "unknown" for a number
 * that is not a state. state_parse() accepts a name or a number and
 * returns the state, or -1. state_is_final() is 1 for states the pilot
 * never leaves by itself (complete without deletion is not final: the
 * deletion may still be due). state_is_active() is 1 for states that
 * have work the pilot may still do.
 */
#ifndef FEDMIG_STATE_H
#define FEDMIG_STATE_H

enum req_state {
	ST_REGISTERED = 0,
	ST_TARGET_CREATED = 1,
	ST_CHECKED = 2,
	ST_RECHECKED = 3,
	ST_ADDRESS_FORMED = 4,
	ST_HELD = 5,
	ST_SWITCHED = 6,
	ST_COPYING = 7,
	ST_COPIED = 8,
	ST_LOCAL_DONE = 9,
	ST_COMPLETE = 10,
	ST_SOURCE_DELETED = 13,
	ST_CHECK_FAILED = 20,
	ST_SYNC_MISMATCH = 21,
	ST_FAILED = 22,
	ST_CANCELLED = 23,
	ST_ROLLED_BACK = 24,
};

const char *state_name(int state);
int state_parse(const char *s);
int state_is_final(int state);
/* state_is_offline: check-failed, sync-mismatch, failed (retry resumes). */
int state_is_offline(int state);
/* state_each: call FN for every state in display order. */
void state_each(void (*fn)(void *ctx, int state), void *ctx);

#endif
