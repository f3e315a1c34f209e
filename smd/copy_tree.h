/*
 * copy_tree - the folder tree's part of a delta pass: whole folders
 * renamed or deleted on the source since the last pass, and the
 * subscriptions, applied to the target before any folder is copied.
 *
 * Renames: a journalled source folder that is gone while a folder the
 * journal does not know appeared with the same UIDVALIDITY (one STATUS
 * round trip for the new folders, only when some journalled folder is
 * gone; needs CONDSTORE, as copy_fast.h; each UIDVALIDITY must be unique
 * on both sides, else no pair) is a rename: RENAME on the target when it
 * has the old target folder and not the new one (its children go along,
 * as the source's did), then the journal follows (folder and rows keep
 * their UIDs: the folder's pass finds nothing to copy). A target that
 * already shows the new name and not the old one was renamed by a run
 * that died before its journal, or by a parent's rename: journal only.
 *
 * Deletes: a journalled folder gone from the source and not renamed is
 * deleted on the target only when the target folder holds exactly the
 * messages the journal says we copied there (by UID: nothing the user
 * filed there, nothing appended by a run that died), has no subfolder
 * left on the target, is not INBOX, not special-use and not the target
 * of another source folder; otherwise it is kept and logged. Either way
 * its journal is forgotten. Children are looked at before parents.
 *
 * Subscriptions: the journal keeps the set last applied (target names,
 * schema 13) as the base. A name the source no longer subscribes that
 * the base has and the target still subscribes is unsubscribed (both
 * rules: fedmig only unsubscribes what it subscribed). Before the switch
 * the source's set is then subscribed whole (setup_target); after it
 * (switched) a name in the base that the user unsubscribed on the
 * target stays unsubscribed: it is dropped from SUBS, which setup_target
 * subscribes and verify_folders checks.
 *
 * Crash safety: the target changes first, the journal after; each step,
 * repeated from the old journal, finds its change made and only
 * journals it (RENAME: the new name there, DELETE: the old name gone,
 * UNSUBSCRIBE: not subscribed any more).
 *
 * Contract: tree_before(cp, &subs, &nsubs) after map_folders and before
 * setup_target; it may drop entries of *SUBS (freed) and changes
 * cp->dst_folders and cp->dst_subs as the target now is. tree_after(cp)
 * once setup_target succeeded records the subscription base;
 * tree_free(cp) releases what tree_before kept (any time, repeatable).
 * Not used with a source driver of the caller's (o->src_driver) or a
 * dst_root: those folders are no user's tree. 0, or -1 (cperr).
 */
#ifndef FEDMIG_SMD_COPY_TREE_H
#define FEDMIG_SMD_COPY_TREE_H

#include "copy_int.h"

int tree_before(struct cp *cp, char ***subs, size_t *nsubs);
int tree_after(struct cp *cp);
void tree_free(struct cp *cp);

#endif
