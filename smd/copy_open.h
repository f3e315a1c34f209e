/*
 * copy_open - opening a folder on both sides through their drivers,
 * pipelined: the source's open and metadata listing (uid, flags, date,
 * size) go out while the target still works on the previous folder, and
 * the target's open goes out behind the previous folder's read-back.
 * The *_start calls only send; the *_finish calls collect, returning 0 or
 * -1 with the reason in cp->err.
 */
#ifndef FEDMIG_SMD_COPY_OPEN_H
#define FEDMIG_SMD_COPY_OPEN_H

#include "copy_int.h"

int src_open_start(struct cp *cp, const struct folder *f);
/* src_open_finish: F's messages into cp->msgs (sorted by UID, as listed). */
int src_open_finish(struct cp *cp, const struct folder *f);
void src_open_free(struct src_open *so);
void dst_open_start(struct cp *cp, const struct folder *f);
/* dst_open_finish: cp->dst_uidvalidity, cp->permflags and *exists_r of F's target. */
int dst_open_finish(struct cp *cp, const struct folder *f, unsigned long long *exists_r);

#endif
