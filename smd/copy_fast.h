/*
 * copy_fast - the CONDSTORE fast path of a pass (RFC 7162): before any
 * folder is opened, one pipelined STATUS (UIDVALIDITY HIGHESTMODSEQ) for
 * every selectable folder (delta_moved, smd/delta.h). A folder whose
 * UIDVALIDITY and HIGHESTMODSEQ equal what the journal recorded after
 * its last verified pass has not changed on the source since: it is left
 * out of the pass (no EXAMINE, no listing, no target work) and counted as
 * the journal says. Every other folder gets the full pass, which then
 * records the HIGHESTMODSEQ seen here (seen before the listing: a change
 * made during the pass shows at the next one).
 *
 * Off, every folder passed in full as before, when the source offers no
 * CONDSTORE or is not an IMAP driver, or for a folder the journal has no
 * HIGHESTMODSEQ for, that was not verified, whose target name changed,
 * or that answered NOMODSEQ (no HIGHESTMODSEQ in STATUS), a lower or
 * higher HIGHESTMODSEQ, or another UIDVALIDITY.
 *
 * Contract: fast_skip(cp, &msgs, &bytes) after setup_mailbox, before the
 * lanes: drops the unchanged folders from cp->sel, adds them to cp->r,
 * sets each folder's st_* and returns in *MSGS, *BYTES what the dropped
 * folders hold. 0, or -1 (cperr: the source connection failed).
 */
#ifndef FEDMIG_SMD_COPY_FAST_H
#define FEDMIG_SMD_COPY_FAST_H

#include "copy_int.h"

int fast_skip(struct cp *cp, long long *msgs, long long *bytes);

#endif
