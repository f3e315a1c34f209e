/*
 * copy_stream - the data path: pipelined UID FETCH BODY.PEEK[] on the
 * source streams each literal straight into a MULTIAPPEND on the target
 * (non-synchronising literals when the target has LITERAL+), a batch at
 * a time; each acknowledged batch is journalled in one transaction with
 * the progress. Memory does not depend on message sizes.
 */
#ifndef FEDMIG_SMD_COPY_STREAM_H
#define FEDMIG_SMD_COPY_STREAM_H

#include "copy_int.h"

/*
 * target_flags: the flags of FLAGS the target can store (caller frees);
 * refused keywords are counted and logged.
 */
char *target_flags(struct cp *cp, const char *flags);
/* write_progress: the shared counters into the job's row (with a request). */
int write_progress(struct cp *cp, struct store *s);
/* reap: journal acknowledged batches; with ALL, wait for every one. */
int reap(struct cp *cp, const char *key, int all);
void drop_batches(struct cp *cp);
/*
 * stream_copy: copy every message of state 0. Batches may still be in
 * flight on return: the caller reaps them. 0 or -1 (cp->err).
 */
int stream_copy(struct cp *cp, const char *key);

#endif
