/*
 * store_fe - several Postfix front ends (schema 15, issue 18): the
 * front ends the administrator registered, the pilot's orders to each,
 * and the held messages of each front end's queue.
 *
 * A front end is a Postfix host running fedmig-frontend under a NAME
 * (fe_name_ok: letters, digits, "-", "_", ".", under FE_NAME_MAX bytes);
 * "" is the pilot's own local queue, which is never registered. With no
 * front end registered the pilot drains and releases on its local queue
 * as it always did.
 *
 * Orders. store_fe_order_drain() writes, in one transaction, one order
 * per registered front end to drain the N addresses {REQ[i], PHYS[i]},
 * under a new batch number (*BATCH_R) that names the round; the
 * addresses are stored once per batch. store_fe_order_release() writes a
 * release order for every front end that has held messages not yet
 * released and no open release order (release orders coalesce: a sweep
 * releases whatever is releasable; the pilot may call it at every sweep
 * without piling orders up). An order is
 * "new", "running" (a front end took it), then "drained", "released",
 * "failed" (REASON says why) or "cancelled" (the pilot gave up on it).
 * Orders persist: a front end that was down takes them when it comes
 * back. store_fe_order_next() gives a front end its oldest open order
 * ("new" or "running": a front end that died mid-order takes it again).
 *
 * Every function returns STORE_OK, STORE_NOTFOUND where said, or
 * STORE_ERR with store_errmsg(). Writes run in their own transaction
 * unless the caller has one open.
 */
#ifndef FEDMIG_STORE_FE_H
#define FEDMIG_STORE_FE_H

#include <stddef.h>

#include "store.h"
#include "store_req.h"

#define FE_NAME_MAX 64
#define STORE_FE_EXISTS 2

int fe_name_ok(const char *name);

struct fe_info {
	char name[FE_NAME_MAX];
	long long registered, last_seen; /* µs; last_seen 0: never */
	long long open_orders;
};
typedef int (*store_fe_fn)(void *ctx, const struct fe_info *f);

/* store_fe_add: STORE_FE_EXISTS when NAME is registered already. */
int store_fe_add(struct store *s, const char *name, long long now);
/* store_fe_remove: NAME and its open orders; STORE_NOTFOUND if unknown. */
int store_fe_remove(struct store *s, const char *name);
int store_fe_list(struct store *s, store_fe_fn fn, void *ctx);
int store_fe_count(struct store *s, long long *n_r);
/* store_fe_seen: NAME's heartbeat; STORE_NOTFOUND if not registered. */
int store_fe_seen(struct store *s, const char *name, long long now);

/* Held messages per front end (FE "" the pilot's own queue). */
int store_fe_held_add(struct store *s, const char *fe, const char *queue_id,
		      long long request_id, const char *recipients, long long at);
int store_fe_held_pending(struct store *s, const char *fe, store_held_fn fn, void *ctx);
int store_fe_held_count(struct store *s, const char *fe, long long *n_r);

struct fe_order {
	char frontend[FE_NAME_MAX];
	long long batch;
	char kind[16];	 /* "drain", "release" */
	char state[16];	 /* "new", "running", "drained", "released", "failed", "cancelled" */
	char reason[256];
	long long created, started, finished, last_seen; /* last_seen: the front end's */
};
typedef int (*store_fe_order_fn)(void *ctx, const struct fe_order *o);
typedef int (*store_fe_addr_fn)(void *ctx, long long request_id, const char *physical);

int store_fe_order_drain(struct store *s, size_t n, const char *const *phys,
			 const long long *req, long long now, long long *batch_r);
int store_fe_order_release(struct store *s, long long now);
/* store_fe_order_next: FE's oldest open order into *O; STORE_NOTFOUND: none. */
int store_fe_order_next(struct store *s, const char *fe, struct fe_order *o);
/* store_fe_batch_addrs: FN for every address of drain batch BATCH. */
int store_fe_batch_addrs(struct store *s, long long batch, store_fe_addr_fn fn, void *ctx);
/* store_fe_batch: FN for every order of BATCH (the pilot's wait). */
int store_fe_batch(struct store *s, long long batch, store_fe_order_fn fn, void *ctx);
/* store_fe_order_state: FE's order BATCH becomes STATE (REASON may be
 * NULL); "running" sets started, the others finished, to NOW. */
int store_fe_order_state(struct store *s, const char *fe, long long batch, const char *state,
			 const char *reason, long long now);
/* store_fe_batch_cancel: BATCH's open orders become "cancelled". */
int store_fe_batch_cancel(struct store *s, long long batch, long long now);
/* store_fe_prune: forget orders finished before BEFORE, and the
 * addresses of batches left without an order. */
int store_fe_prune(struct store *s, long long before);

#endif
