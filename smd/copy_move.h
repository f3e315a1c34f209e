/*
 * copy_move - messages moved between folders on the source since the last
 * pass are moved on the target too, not copied again and expunged.
 *
 * Before the folders' passes (in the mailbox's first lane, before the
 * others start) and only when at least two folders changed (a move
 * changes two; with the CONDSTORE fast path, copy_fast.h, an unchanged
 * folder is not even listed): each changed folder's source UIDs and
 * sizes are listed and compared with the journal. A journalled message
 * gone from folder A and a new one in folder B of the same size are
 * candidates; the new one's body is hashed on the source (the target
 * is not written) and delta_moves (delta_rule.h) pairs them by size and
 * SHA-256. The full-message hash covers the Message-ID header, so it
 * stands for "same Message-ID" as well: the journal keeps no Message-ID.
 *
 * For each pair, on the target: A's copy (its journalled UID) is moved
 * to B's target folder (UID MOVE, RFC 6851; without MOVE: UID COPY, then
 * \Deleted and UID EXPUNGE of that UID), then the journal drops A's
 * row. B's folder pass then finds the message on the target by its hash
 * (copy_journal.h find_orphans) and journals it: no byte is appended.
 * Crash safety: a rerun after the move and before the journal finds A's
 * copy no longer in A (UID FETCH), moves nothing and drops the row; B's
 * pass finds the message as before. After the switch (three-way) a
 * message the user deleted or moved away from A on the target is not
 * brought back: B's new message is journalled as deleted by the user.
 *
 * Contract: move_pass(cp) after fast_skip, before the lanes; 0, or -1
 * (cperr). Logs "moves moved=N" (and the summary line) when N > 0.
 */
#ifndef FEDMIG_SMD_COPY_MOVE_H
#define FEDMIG_SMD_COPY_MOVE_H

#include "copy_int.h"

int move_pass(struct cp *cp);

#endif
