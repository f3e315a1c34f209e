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

int dst_literal(void *ctx, const char *text, size_t len, uint64_t size);
int dst_data(void *ctx, const char *d, size_t n, int end);
int dst_untagged(void *ctx, const char *text, size_t len);
/* readback_start: queue the read-back of what this run put in the folder. */
void readback_start(struct cp *cp);
int readback_finish(struct cp *cp);
/* verify: 0 when every message checks, 1 when some differ (reasons added). */
int verify(struct cp *cp, struct scan_ctx *after);

#endif
