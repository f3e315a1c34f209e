/*
 * postfix - the Postfix commands the switch uses, run with argv (never a
 * shell) on the instance in $postfix_config_directory:
 *
 *   postqueue -c DIR -j           the queue, one JSON object per message
 *   postsuper -c DIR -h - deferred   hold the ids given on stdin, if
 *                                 still in the deferred queue
 *   postsuper -c DIR -r - hold    requeue them (re-rewritten, never -H),
 *                                 if still in the hold queue
 *   postkick -c DIR public pickup W   so requeued mail moves at once
 *
 * postsuper and postkick need root; postqueue does not. When started as
 * root, pf_open() forks a helper that stays root and does nothing but run
 * those two commands for syntactically checked queue ids it reads from a
 * socketpair; the caller then drops its privileges for good. When not
 * root, the commands run directly (tests, or a site that grants the
 * rights another way).
 *
 * Contract: pf_open() returns NULL with *ERR_R (caller frees) on failure.
 * pf_scan() calls FN for every message in the queue (messages in every
 * queue: incoming, active, deferred, hold, maildrop); 0, or -1 with the
 * reason logged, also when any line of the listing could not be read
 * (FN saw the others, but the caller must not act on an incomplete
 * listing). pf_hold()/pf_release() take up to any number of ids
 * and return 0 or -1 (logged). pf_hold() holds only what is still in
 * the deferred queue at that instant, pf_release() requeues only what is
 * still in the hold queue; an id that moved on (to active, or gone) is
 * not an error: the caller scans again to learn where it went. pf_kick()
 * wakes pickup.
 */
#ifndef FEDMIG_SPM_POSTFIX_H
#define FEDMIG_SPM_POSTFIX_H

#include <stddef.h>

#include "config.h"
#include "pq.h"

struct pf;

struct pf *pf_open(const struct config *cfg, char **err_r);
void pf_close(struct pf **pf);

typedef int (*pf_msg_fn)(void *ctx, const struct pq_msg *m);
int pf_scan(struct pf *pf, pf_msg_fn fn, void *ctx);
int pf_hold(struct pf *pf, const char *const *ids, size_t n);
int pf_release(struct pf *pf, const char *const *ids, size_t n);
int pf_kick(struct pf *pf);

/* pf_on_lost: FN(CAUSE) is called once, when a call finds the helper gone;
 * CAUSE is "privileged helper exited (signal 9)" or the like. */
typedef void (*pf_lost_fn)(const char *cause);
void pf_on_lost(struct pf *pf, pf_lost_fn fn);
/* pf_lost: why the helper is gone, or NULL while it serves (or none runs). */
const char *pf_lost(const struct pf *pf);
/* pf_helper_pid: the helper's pid, 0 when there is none (not root). */
long pf_helper_pid(const struct pf *pf);
/* pf_helper_exited: the program reaped the helper (its event loop's
 * SIGCHLD watcher) with wait STATUS: the helper is gone, as above; -1. */
int pf_helper_exited(struct pf *pf, int status);

/* pf_valid_id: 1 if ID is a Postfix queue id (qid.h). */
int pf_valid_id(const char *id);

#endif
