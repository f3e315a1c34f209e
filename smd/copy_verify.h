/*
 * copy_verify - read the target back and compare. The target's handler
 * (dst_untagged, dst_literal, dst_data) is installed from the first
 * SELECT on and serves the read-back, a pipelined listing and a pending
 * SELECT alike. verify() writes each difference to the log and to
 * cp->r->reason.
 */
#ifndef FEDMIG_SMD_COPY_VERIFY_H
#define FEDMIG_SMD_COPY_VERIFY_H

#include "copy_int.h"

/* readback_start: queue the read-back of what this run put in the folder. */
void readback_start(struct cp *cp);
int readback_finish(struct cp *cp);
/* rb_clear: forget the read-back of the previous folder. */
void rb_clear(struct cp *cp);
/*
 * verify: every source message is on the target with the same bytes
 * (SHA-256 and size), the same flags and keywords (as sets, \\Recent
 * aside) and the same INTERNALDATE (as an instant). 0 when all check, 1
 * when some differ: each difference is logged and added to the reason,
 * naming the folder, the source UID and what differs.
 */
int verify(struct cp *cp, struct scan_ctx *after);

#endif
