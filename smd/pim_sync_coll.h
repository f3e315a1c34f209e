/*
 * pim_sync_coll - between pim_sync_coll.c (listings, what changed) and
 * pim_sync_write.c (decisions, writes, the table, verification): the
 * state of one collection's run.
 */
#ifndef FEDMIG_PIM_SYNC_COLL_H
#define FEDMIG_PIM_SYNC_COLL_H

#include "pim_sync_int.h"

enum {
	F_SRC_SEEN = 1,
	F_SRC_GONE = 2,
	F_DST_GONE = 4,
	F_DST_CHANGED = 8,
	F_SRC_CHANGED = 16, /* read and found changed (its hash too) */
};

struct prow {
	struct pim_row r;
	unsigned fl;
	int dirty, del;
	const struct pim_fetched *dst_now; /* the target's changed copy */
};

struct hrefs {
	char **v; /* borrowed */
	size_t n, cap;
};

struct uidref {
	char *uid;
	int used; /* adopted by a source item */
	const char *href, *etag;
	unsigned char hash[PIM_HASH_LEN];
};

enum op_kind { OP_CREATE, OP_UPDATE, OP_DELETE, OP_ADOPT };

struct op {
	enum op_kind k;
	struct prow *row;   /* the row it changes, or NULL: nr is a new row */
	struct pim_row nr;
	struct pim_item it; /* what a PUT writes */
	unsigned char src_hash[PIM_HASH_LEN];
	char *href, *if_match, *src_etag;
	int retried, pending;
	int to_src; /* two-way: the target's change written to the source */
	char *dst_etag; /* to_src: the target's etag and hash the row gets */
	unsigned char dst_hash[PIM_HASH_LEN];
};

struct cstate {
	struct pim_coll_ctx *c;
	struct prow *rows; /* the table's rows, sorted by src_href */
	size_t nrows, cap;
	size_t *by_dst; /* rows' indexes sorted by dst_href */
	struct pim_row *added;
	size_t nadded;
	struct pim_listing sl, tl;
	struct pim_fetch sf, tf;
	struct uidref *uids; /* target items no row knows, by UID */
	size_t nuids, untracked;
	struct op *ops;
	size_t nops;
	struct pim_counts n;
	long long written;
	int keep_src_token;
	char *fail; /* the first write failure */
};

void hrefs_add(struct hrefs *h, char *href);
void hrefs_free(struct hrefs *h);
struct prow *pc_row(struct cstate *cs, const char *src_href);
struct prow *pc_dst_row(struct cstate *cs, const char *dst_href);
struct uidref *pc_uid(struct cstate *cs, const char *uid);
void pc_set(char **f, const char *v);
void pc_index_dst(struct cstate *cs);
void pc_decide(struct cstate *cs);
/* pc_winner: the conflict rule for source item IT against the target's
 * changed copy DST: 1 the source's is written, 0 the target's is kept,
 * -1 neither (stop). */
int pc_winner(const struct cstate *cs, const struct pim_item *it, const struct pim_fetched *dst);
void pc_deletions(struct cstate *cs);
/* pc_backward: two-way: the target's changes, new items and deletions
 * to be written to the source (ops with to_src). */
void pc_backward(struct cstate *cs);
/* pc_to_source: two-way: an op writing the target's item F (of row P, or
 * new) to the source at HREF, If-Match IF_MATCH (the source's etag now).
 * 0, or -1 when F is rejected for the source (counted, logged). */
int pc_to_source(struct cstate *cs, struct prow *p, const struct pim_fetched *f,
		 const char *href, const char *if_match);
struct op *pc_op_new(struct cstate *cs, enum op_kind k, struct prow *p);
/* pc_item_href: COLL + a safe name for the other side's item HREF (caller frees). */
char *pc_item_href(const char *coll, const char *href, enum pim_kind kind);
int pc_write(struct cstate *cs);
int pc_save(struct cstate *cs, int ok);
int pc_verify(struct cstate *cs);
void pc_ops_free(struct cstate *cs);

#endif
