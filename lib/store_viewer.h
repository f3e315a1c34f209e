/*
 * store_viewer - the read-only credentials of the status page (schema
 * 14): a viewer NAME and the SHA-256 of its secret. fedmigctl viewer
 * writes them, fedmig-apid reads them for GET /status, /status.json and
 * /metrics. A viewer is no agent: the agent API never looks here, and
 * the status pages never look at agents.
 *
 * Return values as in store.h; STORE_VIEWER_EXISTS when the name is
 * taken.
 */
#ifndef FEDMIG_STORE_VIEWER_H
#define FEDMIG_STORE_VIEWER_H

#include "store.h"

#define STORE_VIEWER_EXISTS 2
#define VIEWER_NAME_MAX 65 /* 64 bytes and the NUL */
#define VIEWER_HASH_LEN 32 /* SHA-256 */

/* viewer_name_ok: 1-64 bytes of letters, digits, '-', '_', '.' (no ':',
 * which ends the name in HTTP Basic). */
int viewer_name_ok(const char *name);

struct viewer_row {
	char name[VIEWER_NAME_MAX];
	long long created, last_seen; /* µs; last_seen 0: never */
};

int store_viewer_add(struct store *s, const char *name, const unsigned char *hash,
		     long long now);
/* store_viewer_auth: STORE_OK when NAME exists and its secret hashes to
 * HASH (compared in constant time), its last_seen in *SEEN_R. Reads
 * only: a page polled every 2 s must not write the store each time. */
int store_viewer_auth(struct store *s, const char *name, const unsigned char *hash,
		      long long *seen_r);
/* store_viewer_seen: NAME's last_seen becomes NOW (the caller decides
 * how often). */
int store_viewer_seen(struct store *s, const char *name, long long now);
int store_viewer_remove(struct store *s, const char *name);
typedef int (*store_viewer_fn)(void *ctx, const struct viewer_row *r);
int store_viewer_each(struct store *s, store_viewer_fn fn, void *ctx);

#endif
