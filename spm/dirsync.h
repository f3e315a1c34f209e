/*
 * dirsync - the directory sync (DESIGN.md "Directory sync and
 * coexistence"): upward, each system's own directory (spm/dirdrv.h)
 * becomes its accounts in fedmig's directory; downward, each system with
 * contacts gets one for every address another system owns.
 *
 * Upward, per system S: the listing (full, or incremental merged into S's
 * last good one) is compared with S's last good listing and with the
 * directory. A new account is added (owner S); a changed one (physical
 * address, aliases, name) changed; one gone from the listing removed,
 * unless a live request concerns its address or another system owns it
 * now. An entry a CSV import made is adopted: the same row. An address
 * (access or alias) that another system lists too, or that the directory
 * gives to another system or entry, is a conflict: reported, recorded,
 * and nothing about that account changes; except when a live request
 * moves the address between those two systems (the target announced it
 * at E4): then the directory's owner stays and nothing is reported.
 * Each system is compared with the others' listings of this run where
 * they were fetched in it (else their last good ones): an address whose
 * owner no longer lists it goes to the system that does, unless the
 * owner's deletions are held. Downward, a contact for an address in
 * conflict is left as it is, reported. An incremental listing reads and
 * writes only the accounts it changes or deletes and those in a conflict.
 *
 * Guards: a listing that failed changes nothing for its system. A full
 * listing shorter than the last good one by more than
 * directory_shrink_limit percent, or an incremental one deleting more
 * than that share, deletes nothing (additions and changes apply): the
 * deletions are reported "held" and the system's sync is recorded held,
 * its last good listing and cookie kept, until a run with FORCE. The same
 * share of a system's contacts deleted downward (for addresses gone from
 * the directory) needs FORCE too.
 *
 * Dry run == real run: every store change is made in one transaction that
 * a dry run rolls back, so each system is planned against the same state
 * both ways; the driver calls downward are what a dry run leaves out (and
 * so a contact a system refuses, DIR_EXISTS, shows as an addition in a
 * dry run, and as "exists" once in the real run; never retried after).
 *
 * Output: one CSV line per action, "system,direction,action,address,
 * detail" (direction up|down, action add|change|remove|conflict|held|
 * exists|failed), then a summary line per system and direction,
 * "system,direction,summary,STATUS,added=N changed=N removed=N
 * conflicts=N held=N" (STATUS ok|held|failed|off).
 *
 * Contract: dirsync_run() returns 0 (REP says what happened), or -1 when
 * the store failed (logged). The caller holds the sync lock
 * (dirsync_lock(): one sync at a time, fedmigctl or fedmig-spm).
 */
#ifndef FEDMIG_SPM_DIRSYNC_H
#define FEDMIG_SPM_DIRSYNC_H

#include <stdio.h>

#include "config.h"
#include "store.h"

struct dirsync_opts {
	int dry_run, force;
	int up, down;		     /* which directions (both for the whole sync) */
	const char *const *systems;  /* NULL: every system with NAME_directory set */
	size_t nsystems;
};

struct dirsync_report {
	int failed;    /* a listing or a driver call failed */
	int held;      /* a guard held deletions back */
	int conflicts; /* conflicts reported */
	size_t changes;
};

int dirsync_run(const struct config *cfg, struct store *s, const struct dirsync_opts *o,
		FILE *out, struct dirsync_report *rep);

/* dirsync_exit: the exit status fedmigctl gives REP: 2 a failure, 1
 * something held or a conflict, 0 else. */
int dirsync_exit(const struct dirsync_report *rep);

/* dirsync_lock: the sync lock in run_directory, taken without waiting;
 * the descriptor (close() it to release), or -1 with *ERR_R (caller
 * frees): "another directory sync is running", or why not. */
int dirsync_lock(const struct config *cfg, char **err_r);

/*
 * dirsync_announces: E5 through the directory sync, for request R when
 * its target has a directory: an upward sync of the target now (under the
 * lock), then 1 if it succeeded and lists the account of R's target
 * mailbox with R's access address and every alias the directory has for
 * it; 0 when that is not known (no directory, the lock busy, a failed or
 * held sync, an address missing: logged, and the caller falls back on the
 * driver's announced addresses); -1 on a store error.
 */
struct req;
int dirsync_announces(const struct config *cfg, struct store *s, const struct req *r);

/* dirsync_enabled: 1 if SYS has a directory driver (NAME_directory). */
int dirsync_enabled(const struct config *cfg, const char *sys);

#endif
