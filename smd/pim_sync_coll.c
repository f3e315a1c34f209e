/*
 * pim_sync_coll: one collection, one way (source -> target): listings of
 * both sides against the correspondence table, the changed items read,
 * decided (new, changed, gone, conflict), written, recorded, verified.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pim_sync_coll.h"
#include "xalloc.h"

static int cmp_row(const void *a, const void *b)
{
	return strcmp(((const struct prow *)a)->r.src_href, ((const struct prow *)b)->r.src_href);
}

static char *sdup(const char *s)
{
	return xstrdup(s ? s : "");
}

static int on_row(void *ctx, const struct pim_row *r)
{
	struct cstate *cs = ctx;

	if (cs->nrows == cs->cap)
		cs->rows = xrealloc(cs->rows, (cs->cap = cs->cap ? 2 * cs->cap : 256) *
						      sizeof(*cs->rows));
	struct prow *p = &cs->rows[cs->nrows++];

	memset(p, 0, sizeof(*p));
	p->r = *r;
	p->r.src_href = sdup(r->src_href);
	p->r.uid = sdup(r->uid);
	p->r.src_etag = sdup(r->src_etag);
	p->r.dst_href = sdup(r->dst_href);
	p->r.dst_etag = sdup(r->dst_etag);
	p->r.reason = sdup(r->reason);
	return 0;
}

struct prow *pc_row(struct cstate *cs, const char *src_href)
{
	struct prow key = {.r.src_href = (char *)src_href};

	return cs->nrows ? bsearch(&key, cs->rows, cs->nrows, sizeof(*cs->rows), cmp_row) : NULL;
}

void pc_set(char **f, const char *v)
{
	free(*f);
	*f = sdup(v);
}

static int load(struct cstate *cs)
{
	const struct pim_opts *o = cs->c->o;

	if (store_pim_row_each(o->store, o->mailbox_key, cs->c->scoll->href, on_row, cs) != 0) {
		cs->c->why = xasprintf("cannot read the correspondence table: %s",
				       store_errmsg(o->store));
		return -1;
	}
	if (cs->nrows > 1)
		qsort(cs->rows, cs->nrows, sizeof(*cs->rows), cmp_row);
	return 0;
}

/* list_one: nothing to list when the collection's sync-token (NOW, from
 * the discovery's PROPFIND) is the one the table holds (TOKEN): an
 * unchanged collection costs no REPORT. */
static int list_one(struct pim_side *s, enum pim_kind kind, const char *href, const char *token,
		    const char *now, struct pim_listing *l, char **err)
{
	if (token && *token && now && strcmp(token, now) == 0) {
		memset(l, 0, sizeof(*l));
		l->token = xstrdup(now);
		return 0;
	}
	return pim_list(s, kind, href, token ? token : "", l, err);
}

static int list_both(struct cstate *cs)
{
	struct pim_coll_ctx *c = cs->c;
	const char *st = cs->nrows ? c->rec.src_token : "";
	const char *dt = cs->nrows && !c->dst_created ? c->rec.dst_token : "";
	char *err = NULL;

	if (list_one(c->src, c->kind, c->scoll->href, st, c->scoll->token, &cs->sl, &err) < 0 ||
	    list_one(c->dst, c->kind, c->dst_href, dt, c->dst_now_token, &cs->tl, &err) < 0) {
		c->why = xasprintf("listing failed, nothing deleted: %s", err);
		free(err);
		return -1;
	}
	return 0;
}

/* mark_src: the source's changes against the table; HREFS gets what to read. */
static void mark_src(struct cstate *cs, struct hrefs *want)
{
	for (size_t i = 0; i < cs->sl.n; i++) {
		const struct pim_entry *e = &cs->sl.v[i];
		struct prow *p = pc_row(cs, e->href);

		if (e->etag == NULL) {
			if (p)
				p->fl |= F_SRC_GONE;
			continue;
		}
		if (p)
			p->fl |= F_SRC_SEEN;
		if (p == NULL || strcmp(e->etag, p->r.src_etag) != 0 ||
		    p->r.status == PIM_ROW_CONFLICT)
			hrefs_add(want, e->href);
	}
	for (size_t i = 0; i < cs->nrows; i++) {
		struct prow *p = &cs->rows[i];

		if (cs->sl.full && !(p->fl & F_SRC_SEEN))
			p->fl |= F_SRC_GONE;
		/* a conflict is decided again on every run, under the rule in
		 * force then: read even when the listing says nothing changed */
		else if (!(p->fl & (F_SRC_SEEN | F_SRC_GONE)) && p->r.status == PIM_ROW_CONFLICT)
			hrefs_add(want, p->r.src_href);
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* mark_dst: the target's changes against the table, and the target's items
 * no row knows (read for their UIDs: adopted, not written twice). */
static void mark_dst(struct cstate *cs, struct hrefs *want)
{
	char **known = xcalloc(cs->nrows + 1, sizeof(*known));

	for (size_t i = 0; i < cs->nrows; i++) {
		struct prow *p = &cs->rows[i];
		const struct pim_entry *e = pim_listing_find(&cs->tl, p->r.dst_href);

		known[i] = p->r.dst_href;
		if (*p->r.dst_href == '\0')
			continue;
		if ((e && e->etag == NULL) || (e == NULL && cs->tl.full))
			p->fl |= F_DST_GONE;
		else if (e && strcmp(e->etag, p->r.dst_etag) != 0)
			hrefs_add(want, e->href);
		else if (p->r.status == PIM_ROW_CONFLICT) /* decided again (mark_src) */
			hrefs_add(want, p->r.dst_href);
	}
	qsort(known, cs->nrows, sizeof(*known), cmp_str);
	for (size_t i = 0; i < cs->tl.n; i++) {
		const struct pim_entry *e = &cs->tl.v[i];

		if (e->etag && (cs->nrows == 0 ||
				!bsearch(&e->href, known, cs->nrows, sizeof(*known), cmp_str))) {
			hrefs_add(want, e->href);
			cs->untracked++;
		}
	}
	free(known);
}

static int fetch(struct cstate *cs, struct pim_side *s, const char *coll, struct hrefs *h,
		 struct pim_fetch *f)
{
	char *err = NULL;

	if (pim_multiget(s, cs->c->kind, coll, h->v, h->n, f, &err) < 0) {
		cs->c->why = xasprintf("reading items failed: %s", err);
		free(err);
		return -1;
	}
	return 0;
}

static int cmp_uid(const void *a, const void *b)
{
	return strcmp(((const struct uidref *)a)->uid, ((const struct uidref *)b)->uid);
}

/* target_state: the target items read: a row's copy really changed (its
 * hash too), or only its etag; unknown items by UID. */
static void target_state(struct cstate *cs)
{
	for (size_t i = 0; i < cs->tf.n; i++) {
		const struct pim_fetched *f = &cs->tf.v[i];
		struct prow *p = pc_dst_row(cs, f->href);
		unsigned char h[PIM_HASH_LEN];

		if (pim_hash(cs->c->kind, f->data, f->len, h) < 0)
			memset(h, 0, sizeof(h));
		if (p == NULL) {
			char *uid = pim_uid(cs->c->kind, f->data, f->len);

			if (uid == NULL)
				continue;
			cs->uids = xrealloc(cs->uids, (cs->nuids + 1) * sizeof(*cs->uids));
			struct uidref *u = &cs->uids[cs->nuids++];

			memset(u, 0, sizeof(*u));
			u->uid = uid;
			u->href = f->href;
			u->etag = f->etag;
			memcpy(u->hash, h, sizeof(h));
			continue;
		}
		if (p->r.has_dst_hash && memcmp(h, p->r.dst_hash, sizeof(h)) == 0) {
			pc_set(&p->r.dst_etag, f->etag);
			p->dirty = 1;
		} else {
			p->fl |= F_DST_CHANGED;
			p->dst_now = f;
		}
	}
	if (cs->nuids)
		qsort(cs->uids, cs->nuids, sizeof(*cs->uids), cmp_uid);
}

struct uidref *pc_uid(struct cstate *cs, const char *uid)
{
	struct uidref key = {.uid = (char *)uid};

	return cs->nuids ? bsearch(&key, cs->uids, cs->nuids, sizeof(*cs->uids), cmp_uid) : NULL;
}

static void cs_free(struct cstate *cs)
{
	for (size_t i = 0; i < cs->nrows; i++)
		store_pim_row_free(&cs->rows[i].r);
	free(cs->rows);
	for (size_t i = 0; i < cs->nadded; i++)
		store_pim_row_free(&cs->added[i]);
	free(cs->added);
	free(cs->by_dst);
	for (size_t i = 0; i < cs->nuids; i++)
		free(cs->uids[i].uid);
	free(cs->uids);
	pc_ops_free(cs);
	pim_listing_free(&cs->sl);
	pim_listing_free(&cs->tl);
	pim_fetch_free(&cs->sf);
	pim_fetch_free(&cs->tf);
}

int pim_sync_coll(struct pim_coll_ctx *c)
{
	struct cstate cs;
	struct hrefs sw = {0}, tw = {0};
	int rc = -1;

	memset(&cs, 0, sizeof(cs));
	cs.c = c;
	if (load(&cs) < 0 || list_both(&cs) < 0)
		goto out;
	pc_index_dst(&cs);
	mark_src(&cs, &sw);
	mark_dst(&cs, &tw);
	if (fetch(&cs, c->src, c->scoll->href, &sw, &cs.sf) < 0 ||
	    fetch(&cs, c->dst, c->dst_href, &tw, &cs.tf) < 0)
		goto out;
	target_state(&cs);
	pc_decide(&cs);
	pc_deletions(&cs);
	if (c->o->two_way)
		pc_backward(&cs);
	if (pc_write(&cs) < 0)
		goto save;
	rc = 0;
save:
	if (pc_save(&cs, rc == 0) < 0)
		rc = -1;
	if (rc == 0 && pc_verify(&cs) < 0)
		rc = -1;
out:
	hrefs_free(&sw);
	hrefs_free(&tw);
	cs_free(&cs);
	return rc;
}
