/*
 * store_pim - the contacts and calendars tables (schema 7): one row per
 * source collection of a mailbox (its target, sync tokens, last run's
 * counts) and the correspondence table, one row per source item: UID,
 * etag and content hash on each side. MAILBOX is smd_mailbox_key(), the
 * mail journal's key. Hrefs are decoded paths (dav.h). Strings in the
 * structures are malloc'd by the loaders and freed by the *_free calls.
 * Return values as store.h: STORE_OK, STORE_NOTFOUND, STORE_ERR.
 */
#ifndef FEDMIG_STORE_PIM_H
#define FEDMIG_STORE_PIM_H

#include "store.h"

#define PIM_HASH_LEN 32

enum pim_row_status { PIM_ROW_OK = 0, PIM_ROW_CONFLICT = 1, PIM_ROW_REJECTED = 2 };
enum pim_job_state { PIM_JOB_NONE = 0, PIM_JOB_DONE = 1, PIM_JOB_FAILED = 2, PIM_JOB_HELD = 3 };

struct pim_counts {
	long long items, created, updated, unchanged, deleted, conflicts, rejected, fixes;
};

struct pim_coll {
	char *src_href, *dst_href, *name, *src_token, *dst_token, *held;
	int kind; /* pim_item.h's enum pim_kind */
	struct pim_counts n;
	int verified;
	long long updated; /* unix seconds */
};

struct pim_row {
	char *src_href, *uid, *src_etag, *dst_href, *dst_etag, *reason;
	unsigned char src_hash[PIM_HASH_LEN], dst_hash[PIM_HASH_LEN];
	int has_src_hash, has_dst_hash;
	int status; /* enum pim_row_status */
};

/* store_pim_mailbox_key: the key "SRC:LOGIN>DST:LOGIN" of a mailbox's
 * copy, the mail journal's and these tables' (caller frees). */
char *store_pim_mailbox_key(const char *src_system, const char *src_login,
			    const char *dst_system, const char *dst_login);

void store_pim_coll_free(struct pim_coll *c);
void store_pim_row_free(struct pim_row *r);

/* store_pim_coll_get: the row of MAILBOX's SRC_HREF into *C. */
int store_pim_coll_get(struct store *s, const char *mailbox, const char *src_href,
		       struct pim_coll *c);
/* store_pim_coll_put: insert or replace C (updated set to now). */
int store_pim_coll_put(struct store *s, const char *mailbox, const struct pim_coll *c);
/* store_pim_coll_each: every collection of MAILBOX, by name; FN's non-zero
 * return stops (returned). C is valid during the call only. */
int store_pim_coll_each(struct store *s, const char *mailbox,
			int (*fn)(void *ctx, const struct pim_coll *c), void *ctx);

/* store_pim_row_each: every row of MAILBOX's collection SRC_COLL. */
int store_pim_row_each(struct store *s, const char *mailbox, const char *src_coll,
		       int (*fn)(void *ctx, const struct pim_row *r), void *ctx);
/* store_pim_row_each_bad: the conflict and rejected rows of MAILBOX (any
 * collection), for fedmigctl show. */
int store_pim_row_each_bad(struct store *s, const char *mailbox,
			   int (*fn)(void *ctx, const char *src_coll, const struct pim_row *r),
			   void *ctx);
/* store_pim_row_put: insert or replace R in SRC_COLL. */
int store_pim_row_put(struct store *s, const char *mailbox, const char *src_coll,
		      const struct pim_row *r);
int store_pim_row_del(struct store *s, const char *mailbox, const char *src_coll,
		      const char *src_href);

/* store_pim_job: the PIM outcome of the smd job (REQUEST_ID, KIND). */
int store_pim_job(struct store *s, long long request_id, int kind, int state, long long items,
		  long long next_at);
/* store_pim_resync: two-way: the forward jobs done whose pim_next_at
 * (µs) is due and whose request is still in state COPIED_STATE queued
 * again (their mail copy reruns cheaply from the journal, then their
 * contacts and calendars); the others' pim_next_at cleared. *N_R: how
 * many were queued. */
int store_pim_resync(struct store *s, long long now, int copied_state, long long *n_r);
/* store_pim_job_get: the PIM outcome of the job (REQUEST_ID, KIND). */
int store_pim_job_get(struct store *s, long long request_id, int kind, int *state_r,
		      long long *items_r);
/* store_pim_mailbox_items: the number of correspondence rows of MAILBOX. */
int store_pim_mailbox_items(struct store *s, const char *mailbox, long long *n_r);

#endif
