/*
 * throttle - the source's IMAP sessions, limited per source system across
 * all of fedmig-smd's processes (children and their lanes): at most
 * NAME_max_sessions at once, at most NAME_max_logins_per_s new ones a
 * second, and a back-off shared by all of them when the source refuses
 * (NO [LIMIT], NO [UNAVAILABLE], BYE at or right after login, a refused
 * or reset connection): exponential with jitter from NAME_backoff up to
 * NAME_backoff_max, cleared by the next successful login.
 *
 * The slots: NAME_max_sessions one-byte OFD write locks (F_OFD_SETLK) in
 * the file "STATE_DATABASE.smd-sessions", at offsets given by a hash of
 * the system's name. Why locks, not pids in the store: the kernel frees a
 * slot when the last holder of its open file dies, however it dies (KILL
 * included), no recorded pid can be reused by an unrelated process, and
 * no store write is needed to take or give back a slot. The back-off and
 * the rate's next login instant are shared through the store
 * (lib/store_throttle.h), where fedmigctl reads them too.
 *
 * Contract: throttle_open() returns a logged-in source session, holding
 * a slot in *SLOT_R (close it with throttle_close() after the session),
 * or NULL with *err_r (caller frees): a hard failure (authentication, a
 * TLS or URL error) at once, throttling only after NAME_backoff_give_up
 * of refusals in a row, or a stop (*STOP set). A throttling refusal is
 * never a failure before that: the caller's job keeps its attempts.
 */
#ifndef FEDMIG_SMD_THROTTLE_H
#define FEDMIG_SMD_THROTTLE_H

#include <signal.h>
#include <stddef.h>

#include "config.h"
#include "copy.h"
#include "store.h"

struct throttle_conf {
	/* The slot file's base: state_database, beside which it lives, or
	 * on a postgresql:// store RUN_DIRECTORY/sessions (the slots then
	 * count this host's sessions: each worker host has its own). */
	char db[4096];
	const char *system; /* the source system's name */
	int max_sessions;   /* 0: no limit */
	int max_logins_per_s; /* 0: none */
	long long backoff_us, backoff_max_us, give_up_us;
};

/* throttle_conf_init: SYSTEM's settings from CFG (strings point into CFG). */
void throttle_conf_init(struct throttle_conf *t, const struct config *cfg, const char *system);

enum thr_class { THR_FAIL = 0, THR_BACKOFF = 1 };
/*
 * throttle_code_class: what a NO or BAD answer to a login means by its
 * response code CODE (the LEN bytes inside the brackets, from the server:
 * anything): THR_BACKOFF for LIMIT and UNAVAILABLE, THR_FAIL otherwise.
 */
int throttle_code_class(const char *code, size_t len);
/* throttle_conn_class: the same for our IMAP client's error text of a
 * connection that failed before or during its login. */
int throttle_conn_class(const char *err);

#define THR_SLOT_BUSY (-2)
/* throttle_slot_take: one of SYSTEM's MAX slots: an fd, THR_SLOT_BUSY or -1 (*err_r). */
int throttle_slot_take(const char *db, const char *system, int max, char **err_r);
/* throttle_slots_used: how many of SYSTEM's MAX slots are held, or -1. */
int throttle_slots_used(const char *db, const char *system, int max);

struct imap_conn *throttle_open(const struct throttle_conf *t, struct store *s,
				const struct copy_side *side, volatile sig_atomic_t *stop,
				int *slot_r, char **err_r);
/* throttle_close: give back the slot (*SLOT, set to -1) after the session's end. */
void throttle_close(const struct throttle_conf *t, struct store *s, int *slot);

#endif
