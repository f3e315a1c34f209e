/*
 * pim_sync_int - between the files of the sync engine (smd/pim_sync*.c).
 *
 * pim_sync_dav.c: a side (one system's DAV servers for one user),
 * discovery of its collections, collection creation, listings and
 * multigets. pim_sync_coll.c: one collection's sync. pim_sync.c: the
 * mailbox, the guards' configuration, the report.
 */
#ifndef FEDMIG_PIM_SYNC_INT_H
#define FEDMIG_PIM_SYNC_INT_H

#include "dav.h"
#include "pim_item.h"
#include "pim_sync.h"

struct pim_side {
	const char *system;
	char *login;
	struct dav *dav[3];	  /* by enum pim_kind; [PIM_CAL] may equal [PIM_CARD] */
	char *principal[3];	  /* decoded path per kind */
	char *home[3];		  /* addressbook / calendar home set */
	int is_target;
	struct pim_target want; /* what this side wants written */
};

/* A collection as listed in a home set. */
struct pim_dcoll {
	char *href, *name, *color, *desc, *token;
	unsigned restype, comps;
};

struct pim_dcolls {
	struct pim_dcoll *v;
	size_t n;
};

/* One entry of a listing: ETAG NULL when the sync-collection reported it
 * gone. */
struct pim_entry {
	char *href, *etag;
};

struct pim_listing {
	struct pim_entry *v; /* sorted by href */
	size_t n;
	int full; /* 1: every item of the collection is listed */
	char *token;
};

/* A fetched item. */
struct pim_fetched {
	char *href, *etag, *data;
	size_t len;
};

struct pim_fetch {
	struct pim_fetched *v; /* sorted by href after pim_multiget */
	size_t n;
};

int pim_side_open(const struct pim_opts *o, const char *system, const char *login, int target,
		  struct pim_side *s, char **err_r);
void pim_side_close(struct pim_side *s);
/* pim_discover: KIND's collections of S (the target's principal is
 * created when missing). 0, or -1 with *ERR_R. */
int pim_discover(struct pim_side *s, enum pim_kind kind, struct pim_dcolls *c, char **err_r);
void pim_dcolls_free(struct pim_dcolls *c);
/* pim_make_coll: create HREF on S like SRC (name, colour, description). */
int pim_make_coll(struct pim_side *s, enum pim_kind kind, const char *href,
		  const struct pim_dcoll *src, char **err_r);
/* pim_list: the items of collection HREF: a sync-collection from TOKEN
 * ("" for everything), else a PROPFIND of the etags. */
int pim_list(struct pim_side *s, enum pim_kind kind, const char *href, const char *token,
	     struct pim_listing *l, char **err_r);
void pim_listing_free(struct pim_listing *l);
const struct pim_entry *pim_listing_find(const struct pim_listing *l, const char *href);
/* pim_multiget: HREFS[0..N-1] of collection COLL, several REPORTs of up
 * to 100 at once; items the server did not return are absent. */
int pim_multiget(struct pim_side *s, enum pim_kind kind, const char *coll, char **hrefs,
		 size_t n, struct pim_fetch *f, char **err_r);
void pim_fetch_free(struct pim_fetch *f);
const struct pim_fetched *pim_fetch_find(const struct pim_fetch *f, const char *href);
/* pim_xml_call: METHOD on PATH of D with BODY (XML) and DEPTH; a 207 is
 * parsed, each response to FN. Returns the HTTP status, 0 when the
 * transport failed, -1 when the 207 did not parse; *ERR_R then (and for
 * any status other than 207: the reason). *TOKEN_R (when not NULL): the
 * multistatus's sync-token. */
int pim_xml_call(struct dav *d, const char *method, const char *path, const char *depth,
		 const char *body, dav_resp_fn fn, void *ctx, char **token_r, char **err_r);
/* pim_xml_escape: TEXT escaped for XML character data (caller frees). */
char *pim_xml_escape(const char *text);

/* pim_sync_coll: sync one source collection SRC (of KIND) to DST_HREF. */
struct pim_coll_ctx {
	const struct pim_opts *o;
	struct pim_side *src, *dst;
	enum pim_kind kind;
	const struct pim_dcoll *scoll;
	char *dst_href;
	const char *dst_now_token; /* the target collection's sync-token, or NULL */
	int dst_created;
	struct pim_coll rec; /* the stored row, updated by the run */
	char *why;	     /* a failure's reason */
	int held;
};
int pim_sync_coll(struct pim_coll_ctx *c);

#endif
