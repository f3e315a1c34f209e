/*
 * dirsync_int - what the directory sync's parts share: dirsync.c (the
 * run: listings, the transaction, output), dirsync_up.c (upward plan and
 * apply), dirsync_down.c (downward). Not for other modules.
 *
 * A plan is a list of actions per system and direction; ds_act() adds
 * one and prints it; dirsync_up/dirsync_down apply what they planned.
 */
#ifndef FEDMIG_SPM_DIRSYNC_INT_H
#define FEDMIG_SPM_DIRSYNC_INT_H

#include "dirdrv.h"
#include "dirsync.h"
#include "store_dir.h"

enum ds_action { DS_ADD, DS_CHANGE, DS_REMOVE, DS_CONFLICT, DS_HELD, DS_EXISTS, DS_FAILED };

/* One system in a run. */
struct ds_sys {
	const char *name;
	int listed;		   /* the upward listing succeeded */
	struct dir_listing l;
	struct dacc *prev, *cur;   /* last good listing; the new one (both by key) */
	size_t nprev, ncur;
	size_t nlast;		   /* accounts of the last good listing */
	int has_contacts, contacts_listed;
	struct dir_contact *contacts; /* the driver's downward listing */
	size_t ncontacts;
	int held;		   /* its deletions are held back (shrink guard) */
	char why[DRV_WHY];	   /* why the listing failed */
	int counts[DS_FAILED + 1];
};

struct ds_run {
	const struct config *cfg;
	struct store *s;
	const struct dirsync_opts *o;
	FILE *out;
	struct dirsync_report *rep;
	long long now;
	struct ds_sys *sys;
	size_t nsys;
};

/* ds_act: count and print "SYS,DIR,ACTION,ADDRESS,DETAIL"; warn in the
 * log for conflicts, held deletions and failures. */
void ds_act(struct ds_run *r, struct ds_sys *y, int down, enum ds_action a, const char *address,
	    const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* ds_summary: the summary line of Y in one direction, STATUS given. */
void ds_summary(struct ds_run *r, struct ds_sys *y, int down, const char *status);
/* ds_share_over: 1 if N is more than directory_shrink_limit % of OF. */
int ds_share_over(const struct ds_run *r, size_t n, size_t of);
/* ds_live: 1 if a live request concerns ACCESS (its systems in *REQ). */
struct req;
int ds_live(struct ds_run *r, const char *access, struct req *req);

/* dirsync_up_prepare: Y's last good listing and its new account set
 * (merged), and whether the guard holds its deletions, before any
 * system's upward pass: each pass compares with the others' listings of
 * this run. -1 on a store error. */
int dirsync_up_prepare(struct ds_run *r, struct ds_sys *y);
/* The incremental listing's part (dirsync_incr.c). ds_incr_prepare: Y's
 * prev (the stored accounts the listing changes or deletes, and those in
 * a conflict), its new set (the changes, and those in a conflict), nlast
 * (how many accounts Y has); Y's cur holds the listing's changes.
 * ds_incr_elsewhere: 1 if another account of Y, unchanged by the listing,
 * has ACCESS. ds_incr_store: Y's accounts updated by key (deletions left
 * out when HELD), their count in *N_R. Each -1 on a store error. */
int ds_incr_prepare(struct ds_run *r, struct ds_sys *y);
int ds_incr_elsewhere(struct ds_run *r, const struct ds_sys *y, const char *access);
int ds_incr_store(struct ds_run *r, const struct ds_sys *y, int held, long long *n_r);
/* Upward for Y (prepared): plan, print, write (in the run's
 * transaction). -1 on a store error. */
int dirsync_up(struct ds_run *r, struct ds_sys *y);
/* Downward for Y (its contacts listed): plan, print, and unless a dry
 * run, the driver calls and their record. -1 on a store error. */
int dirsync_down(struct ds_run *r, struct ds_sys *y);

#endif
