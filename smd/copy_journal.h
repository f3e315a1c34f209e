/*
 * copy_journal - what is already on the target: the journal's rows for a
 * folder (source UID -> target UID, SHA-256), their remapping by hash
 * when the source's UIDVALIDITY changed, and messages on the target that
 * the journal does not know (a crash between the server's OK and the
 * commit), paired with source messages by size and then SHA-256.
 * Each returns 0 or -1 with the reason in cp->err.
 */
#ifndef FEDMIG_SMD_COPY_JOURNAL_H
#define FEDMIG_SMD_COPY_JOURNAL_H

#include "copy_int.h"

/* load_row: store_smd_map_each callback marking journalled messages (state 1). */
struct load_ctx {
	struct cp *cp;
	size_t i;
};
int load_row(void *ctx, const struct smd_map_row *row);
int remap_uidvalidity(struct cp *cp, const char *key);
/* scan_target: the target folder's UIDs, sizes and flags into S, sorted by UID. */
int scan_target(struct cp *cp, struct scan_ctx *s, unsigned long long exists);
/* scan_meta: a drv_cb meta callback adding each message to the scan_ctx CTX. */
int scan_meta(void *ctx, const struct drv_meta *m);
struct dst_msg *scan_find(struct scan_ctx *s, unsigned long long uid);
int cmp_dst(const void *a, const void *b);
int find_orphans(struct cp *cp, struct scan_ctx *s, const char *key);
/*
 * forget_unread: after verification, delete the rows of messages marked
 * unread (their target UID was not read back); every other row stays.
 */
int forget_unread(struct cp *cp, const char *key);
/* find_uid: the message of cp->msgs with source UID, or NULL. */
struct msg *find_uid(struct cp *cp, unsigned long long uid);

/* hash_fn: the SHA-256 of the body of UID, for the caller of hash_fetch. */
typedef int hash_fn(void *ctx, unsigned long long uid, const unsigned char *sha);
/* hash_fetch: SHA-256 of the bodies of UIDS (sorted) on D's current folder, each through FN. */
int hash_fetch(struct cp *cp, struct drv *d, unsigned long long *uids, size_t n, hash_fn *fn,
	       void *ctx);

#endif
