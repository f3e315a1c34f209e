/*
 * store_req - migration requests, their history, batches, workstation
 * checks and the held-message ledger, in the store (schema version 2;
 * 11 adds the pre-stage and catch-up fields).
 *
 * A request moves through the states of state.h. Every change of a
 * request goes through store_req_set(), which writes the request and one
 * history row (time, from, to, step, detail) in the same transaction, and
 * only if the request is still in the state the caller read: two writers
 * (fedmig-spm and fedmigctl) can never both move one request.
 *
 * Return values as in store.h; STORE_EXISTS when a live request for the
 * address already exists. Functions join the caller's transaction when
 * one is open (store_begin), else run in their own.
 */
#ifndef FEDMIG_STORE_REQ_H
#define FEDMIG_STORE_REQ_H

#include "store.h"

#define STORE_EXISTS 2

/* next_at of a request with nothing left to do (final or waiting on an
 * administrator): it never comes due. */
#define REQ_NEVER 9223372036854775807LL

#define REQ_SCENARIO_MAX 64
#define REQ_REASON_MAX 512
#define REQ_ACTION_MAX 32

struct req {
	long long id;
	char access[ADDR_MAX];
	char target_system[STORE_SYSTEM_MAX];
	char scenario[REQ_SCENARIO_MAX];
	long long planned_at;
	long long batch_id;
	int state;
	int attempts; /* failed attempts of the current step */
	long long next_at;
	char reason[REQ_REASON_MAX]; /* why the last attempt failed, or "" */
	char source_system[STORE_SYSTEM_MAX];
	char source_physical[ADDR_MAX];
	char target_physical[ADDR_MAX];
	long long hold_at, switch_at, release_at; /* µs, 0: not yet */
	long long created, updated;
	/* Administrator's order the pilot carries out: "", "cancel",
	 * "rollback" or "rollback-purge". */
	char action[REQ_ACTION_MAX];
	int failed_from;      /* state a request in an off-line state left, -1 */
	long long complete_at; /* when it reached complete, 0: not yet */
	/* Schema 11 (pre-stage): switch_at to the copy's end in ms, -1: not
	 * yet; pre-stage passes finished; when the last one ended (µs, 0:
	 * none). */
	long long catchup_ms;
	int prestage_passes;
	long long prestage_last;
	/* The stored "updated" when read: store_req_set() writes only if
	 * nobody wrote the request since (optimistic locking). */
	long long loaded;
};

struct req_hist {
	long long at;
	int from; /* -1: none (the request was created) */
	int to;
	char step[64];
	char detail[1024];
};

/*
 * store_req_add: store R (access, target_system, scenario, planned_at,
 * batch_id set; the rest is filled in: state 0, next_at = planned_at
 * or now, created) with the history row "E1 register DETAIL"; R->id is
 * set. STORE_EXISTS (nothing stored, the live request's id in R->id)
 * when ACCESS already has a live request (not complete, source-deleted,
 * cancelled or rolled-back).
 */
int store_req_add(struct store *s, struct req *r, long long now, const char *detail);

/* store_req_get: request ID. */
int store_req_get(struct store *s, long long id, struct req *r);
/* store_req_find: the live request for ACCESS, else its latest one. */
int store_req_find(struct store *s, const char *access, struct req *r);

/*
 * store_req_set: write every field of R (state included) if the stored
 * request is still in state FROM and unchanged since R was read, and
 * append the history row FROM -> R->state, STEP, DETAIL at R->updated;
 * R->loaded is then R->updated. STORE_NOTFOUND (nothing written) when the
 * request is gone or was changed meanwhile: read it again.
 */
int store_req_set(struct store *s, struct req *r, int from, const char *step,
		  const char *detail);

/* store_req_note: a history row STATE -> STATE of request ID at AT,
 * the request left as it is (an event that moves nothing, e.g. a
 * workstation agent's report). */
int store_req_note(struct store *s, long long id, long long at, int state, const char *step,
		   const char *detail);

/*
 * store_req_due: ids of up to LIMIT requests with next_at <= NOW, the
 * earliest first, into *IDS_R (caller frees), their count in *N_R.
 */
int store_req_due(struct store *s, long long now, size_t limit, long long **ids_r, size_t *n_r);

/*
 * store_req_wait: set only next_at (and reason, may be NULL: unchanged) of
 * request ID if it is still in STATE; no history row (waiting is not an
 * event). STORE_NOTFOUND when it is not in STATE.
 */
int store_req_wait(struct store *s, long long id, int state, long long next_at,
		   const char *reason);
/*
 * store_req_durable: ON (the default): a commit is on disk when it
 * returns. OFF: commits stay atomic and are seen at once by every other
 * process, but the last ones may be lost to a power cut (WAL with
 * synchronous=NORMAL: no fsync per commit). For the pilot's steps whose
 * side effects are idempotent, so that a lost transition is only done
 * again; never for the hold, the switch or the release. Outside a
 * transaction only.
 */
int store_req_durable(struct store *s, int on);

/* store_req_next_due: the earliest next_at, REQ_NEVER when none. */
int store_req_next_due(struct store *s, long long *at_r);
/* store_req_last_switch: the latest switch_at of any request, 0: none. */
int store_req_last_switch(struct store *s, long long *at_r);

struct req_filter {
	int state;	    /* -1: any */
	long long batch_id; /* 0: any */
	const char *access; /* NULL: any */
};

typedef int (*store_req_fn)(void *ctx, const struct req *r);
/* store_req_each: matching requests by id; FN != 0 stops. Not cached:
 * FN may call other store functions. */
int store_req_each(struct store *s, const struct req_filter *f, store_req_fn fn, void *ctx);

typedef int (*store_hist_fn)(void *ctx, const struct req_hist *h);
/* store_req_history: the history of request ID, oldest first. */
int store_req_history(struct store *s, long long id, store_hist_fn fn, void *ctx);

/* store_req_counts: COUNTS_R[i] = requests in state i (0..STATE_SLOTS-1)
 * of BATCH_ID (0: all). */
#define STATE_SLOTS 32
int store_req_counts(struct store *s, long long batch_id, long long counts_r[STATE_SLOTS]);

/* store_req_hold_windows: release_at - hold_at (µs) of every released
 * switch of BATCH_ID (0: all), ascending, into *V_R (caller frees). */
int store_req_hold_windows(struct store *s, long long batch_id, long long **v_r, size_t *n_r);

/* store_req_catchups: catchup_ms of every request of BATCH_ID (0: all)
 * whose copy has ended since its switch, ascending, into *V_R (caller
 * frees). */
int store_req_catchups(struct store *s, long long batch_id, long long **v_r, size_t *n_r);

/* store_batch_add: a new batch imported from SOURCE; its id in *ID_R. */
int store_batch_add(struct store *s, const char *source, long long now, long long *id_r);
/* store_batch_exists: STORE_OK or STORE_NOTFOUND. */
int store_batch_exists(struct store *s, long long id);

/* --- workstation checks (written by the agent API, read by the pilot) --- */
int store_check_add(struct store *s, long long request_id, long long at, int ok,
		    const char *detail);
/*
 * store_check_last: the latest check of REQUEST_ID at or after SINCE:
 * *AT_R, *OK_R, DETAIL (REQ_REASON_MAX bytes). STORE_NOTFOUND when none.
 */
int store_check_last(struct store *s, long long request_id, long long since, long long *at_r,
		     int *ok_r, char *detail);

/* --- messages fedmig held (the milter writes them with store_held_add) --- */
struct held_msg {
	char queue_id[64];
	long long request_id;
	long long held_at;
	long long released_at; /* 0: not yet; > 0: released (still pending) */
	const char *recipients; /* tab separated (space in old rows), valid during the callback */
	const char *frontend;	/* whose queue holds it ("": the pilot's own), as recipients */
};

typedef int (*store_held_fn)(void *ctx, const struct held_msg *m);
/*
 * A held message stays pending until a queue scan no longer finds it:
 * "postsuper -r" of a message that qmgr is still delivering takes effect
 * only after that delivery, and a deferral can put it back on hold, so
 * a release is checked, not trusted. released_at: 0 not released, > 0
 * released at that time; gone (a column of its own): finished, no longer
 * in the queue. store_held_pending: every pending (not gone) held
 * message, oldest first.
 */
int store_held_pending(struct store *s, store_held_fn fn, void *ctx);
/* store_held_count_pending: how many store_held_pending() would list. */
int store_held_count_pending(struct store *s, long long *n_r);
/* store_held_released: QUEUE_ID was released at AT (> 0); still pending. */
int store_held_released(struct store *s, const char *queue_id, long long at);
/* store_held_gone: QUEUE_ID is no longer in the queue: finished. */
int store_held_gone(struct store *s, const char *queue_id);
/* store_held_forget: drop QUEUE_ID if never released (the drain recorded
 * it before "postsuper -h" and then did not find it in the hold queue). */
int store_held_forget(struct store *s, const char *queue_id);

#endif
