/*
 * dirsync_spm - fedmig-spm's directory syncs (spm/dirsync.h), each in a
 * child process so that a slow directory server never delays a switch,
 * one at a time: the whole sync every directory_sync_interval, and the
 * sync of the two systems of each switch and rollback right after it
 * (upward first: what the system lists as its own is never made a
 * contact there, and a switch or rollback changed that list; then
 * downward, the contacts following the new owner). A sync wanted while a child runs starts when it ends. A
 * child that fails is logged; the next scheduled sync retries it.
 *
 * Contract: dsp_want_system() and dsp_want_full() note what is wanted;
 * dsp_start() forks the child for it, unless one runs; dsp_reaped() is
 * 1 (and starts what is wanted next) if PID was that child. dsp_run_now()
 * does what is wanted in this process (--once). CFG is the daemon's
 * current configuration, given at each call (a reload replaces it).
 */
#ifndef FEDMIG_SPM_DIRSYNC_SPM_H
#define FEDMIG_SPM_DIRSYNC_SPM_H

#include <sys/types.h>

#include "config.h"
#include "store.h"

struct dsp;

/* dsp_new: CLOSE_FD (fedmig-spm's lock, or -1) is closed in each child. */
struct dsp *dsp_new(int close_fd);
void dsp_free(struct dsp **d);
void dsp_want_system(struct dsp *d, const struct config *cfg, const char *sys);
void dsp_want_full(struct dsp *d);
void dsp_start(struct dsp *d, const struct config *cfg);
int dsp_reaped(struct dsp *d, const struct config *cfg, pid_t pid, int status);
void dsp_run_now(struct dsp *d, const struct config *cfg, struct store *s);

#endif
