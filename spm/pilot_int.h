/*
 * pilot_int - what the pilot's parts share: pilot.c (the state machine,
 * the orders), switch.c (the switch, both ways) and drain.c (the Postfix
 * side of the switch: the drain and the release sweeps). Not for other
 * modules: they use pilot.h.
 *
 * A step returns GO (moved: look at the request again), WAIT (nothing
 * more to do now) or ERR (store error, logged). The helpers below are the
 * steps' vocabulary: pilot_set() writes R's new fields and a history line
 * (GO, also when somebody changed the request meanwhile: it is read
 * again); pilot_move() is the transition to a new state (attempts and
 * reason cleared, next step due at once or never); pilot_fail() and
 * pilot_retry() end a step that went wrong; pilot_commit() ends a step's
 * own transaction (commit after GO, roll back otherwise) and
 * pilot_abort() rolls it back after a store error; pilot_crash_point()
 * is the test hook (pilot.h). pilot_verify() (switch.c) is E5-E7 before the hold:
 * GO when R's address may be held now, else R moved (sync-mismatch,
 * failed, retried) and WAIT or ERR.
 */
#ifndef FEDMIG_SPM_PILOT_INT_H
#define FEDMIG_SPM_PILOT_INT_H

#include "config.h"
#include "pilot.h"
#include "postfix.h"
#include "store.h"
#include "store_fe.h"
#include "store_req.h"

struct pilot {
	const struct config *cfg;
	struct store *s;
	struct pf *pf;
	int crash_after; /* test hook, 0: off */
	int steps;
	int status_warned;
	pilot_switch_fn on_switch; /* pilot_on_switch(), NULL: none */
	void *on_switch_ctx;
	/* "": the pilot; else fedmig-frontend's name: drains and sweeps
	 * act on that front end's own queue and held messages. */
	char frontend[FE_NAME_MAX];
	long long led_at; /* pilot_set_led_at(), 0: unknown */
};

#define GO 1	 /* moved: look at the request again */
#define WAIT 0	 /* nothing more to do now */
#define ERR (-1) /* store error */

int pilot_scn(const struct pilot *p, const struct req *r, const char *key);
int pilot_store_err(struct pilot *p, const struct req *r);
int pilot_commit(struct pilot *p, const struct req *r, int rc);
int pilot_abort(struct pilot *p, const struct req *r);
void pilot_crash_point(struct pilot *p, const struct req *r, const char *what);
int pilot_set(struct pilot *p, struct req *r, int from, const char *step, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
int pilot_move(struct pilot *p, struct req *r, int to, const char *step, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
int pilot_fail(struct pilot *p, struct req *r, const char *step, const char *why);
int pilot_retry(struct pilot *p, struct req *r, const char *step, int drv, const char *why);
int pilot_verify(struct pilot *p, struct req *r);
long long pilot_backoff_us(const struct pilot *p, const struct req *r, int attempts);

#endif
