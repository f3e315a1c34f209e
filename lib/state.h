/*
 * state - the states of a migration request, numbered as in the patent
 * (DESIGN.md "State machine"), their names, and the sets they belong to.
 *
 * The main line keeps the patent's numbers 0-13; the off-line states get
 * numbers from 20 up so that they can never be confused with a patent
 * step. The numbers are stored in the database: never renumber.
 *
 * Contract: state_name() returns a static name, "unknown" for a number
 * that is not a state. state_parse() accepts a name or a number and
 * returns the state, or -1. Every set a state belongs to is written once,
 * in state.c's table; state_in() and state_mask() read it:
 *   STATE_FINAL    the pilot never leaves it by itself (complete is not
 *                  final: the source's deletion may still be due);
 *   STATE_OFFLINE  check-failed, sync-mismatch, failed (retry resumes);
 *   STATE_SETTLED  the request no longer owns its access address: final,
 *                  or complete (the address is on the target for good, a
 *                  new request may take it); the rest are "live", one per
 *                  address (the unique index requests_live).
 * state_mask() is the set as a bit mask, bit N for state N, for SQL
 * ("(?n >> state) & 1" on a bound mask: no list of numbers in the SQL).
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

enum state_set {
	STATE_FINAL = 1 << 0,
	STATE_OFFLINE = 1 << 1,
	STATE_SETTLED = 1 << 2,
};

const char *state_name(int state);
int state_parse(const char *s);
/* state_in: 1 if STATE is in every set of SETS (an or of enum state_set). */
int state_in(int state, int sets);
/* state_mask: the states in every set of SETS, bit N for state N. */
long long state_mask(int sets);
int state_is_final(int state);
int state_is_offline(int state);
/* state_each: call FN for every state in display order. */
void state_each(void (*fn)(void *ctx, int state), void *ctx);

#endif
