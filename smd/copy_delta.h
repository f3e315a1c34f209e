/*
 * copy_delta - a rerun of a folder's copy is a delta pass: besides the
 * new messages (copied by the stream as always), what changed since the
 * last pass is applied to the target, by the rule of delta_rule.h:
 *   - flags and keywords: UID STORE FLAGS.SILENT with the merged list;
 *   - messages expunged on the source: UID STORE +FLAGS.SILENT (\Deleted)
 *     and UID EXPUNGE of those UIDs only (a target without UIDPLUS: not
 *     done, warned and counted);
 *   - before the switch (copy_opts.switched = 0) the source wins: a
 *     message gone from the target is copied again, flags are the
 *     source's; after it (switched = 1) three-way with the journal's
 *     flags as the base: a change made on the target stays, a message
 *     the user deleted on the target is marked gone in the journal and
 *     never copied again, one the source expunged is expunged on the
 *     target unless the user changed it there.
 *
 * Crash safety: the target is changed first, then the journal records
 * it in one transaction; every action is idempotent when repeated from
 * the old journal (a flag store gives the same list, an expunged message
 * is then absent on both sides and its row forgotten, one marked
 * \Deleted by an interrupted expunge is expunged). A message to copy
 * again loses its journal row before it is appended, so a crash after
 * the append finds it on the target by hash (copy_journal.h).
 *
 * Contract: delta_apply(cp, before) with cp->msgs loaded from the source
 * and the journal, cp->vanished the journal's rows the source no longer
 * has and BEFORE the target's listing (with flags). On return each
 * journalled message's flags (m->flags) are those the target must show
 * (for verification), messages to copy again are MSG_TO_COPY, the
 * user's deletions MSG_GONE; counts in cp->dc. 0, or -1 (cperr).
 */
#ifndef FEDMIG_SMD_COPY_DELTA_H
#define FEDMIG_SMD_COPY_DELTA_H

#include "copy_int.h"

int delta_apply(struct cp *cp, struct scan_ctx *before);

/* delta_log: the folder's delta line (log and summary) when it did anything. */
void delta_log(struct cp *cp);

#endif
