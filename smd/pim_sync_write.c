/*
 * pim_sync_write: the writes of one collection's run (PUT, DELETE, up to
 * pim_requests at once), a 412 read again and decided again, the table
 * and the collection's row saved, the target read back and verified.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pim_sync_coll.h"
#include "xalloc.h"

static int cmp_dst(const void *a, const void *b, void *ctx)
{
	const struct cstate *cs = ctx;

	return strcmp(cs->rows[*(const size_t *)a].r.dst_href,
		      cs->rows[*(const size_t *)b].r.dst_href);
}

void pc_index_dst(struct cstate *cs)
{
	cs->by_dst = xcalloc(cs->nrows + 1, sizeof(*cs->by_dst));
	for (size_t i = 0; i < cs->nrows; i++)
		cs->by_dst[i] = i;
	qsort_r(cs->by_dst, cs->nrows, sizeof(*cs->by_dst), cmp_dst, cs);
}

struct prow *pc_dst_row(struct cstate *cs, const char *dst_href)
{
	size_t lo = 0, hi = cs->nrows;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(cs->rows[cs->by_dst[mid]].r.dst_href, dst_href);

		if (c == 0)
			return &cs->rows[cs->by_dst[mid]];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static struct pim_row *op_row(struct op *o)
{
	return o->row ? &o->row->r : &o->nr;
}

/* keep_row: a new row (O's) joins the table. */
static void keep_row(struct cstate *cs, struct op *o)
{
	if (o->row) {
		o->row->dirty = 1;
		return;
	}
	cs->added = xrealloc(cs->added, (cs->nadded + 1) * sizeof(*cs->added));
	cs->added[cs->nadded++] = o->nr;
	memset(&o->nr, 0, sizeof(o->nr));
}

/* op_done: O's write took (or, ADOPT, was not needed); ETAG the target's. */
static void op_done(struct cstate *cs, struct op *o, const char *etag)
{
	struct pim_row *r = op_row(o);

	if (o->k == OP_DELETE) {
		o->row->del = o->row->dirty = 1;
		cs->n.deleted++;
		cs->written++;
		return;
	}
	if (o->to_src) { /* the target's item, now the source's too */
		pc_set(&r->src_etag, etag);
		pc_set(&r->dst_etag, o->dst_etag);
		memcpy(r->dst_hash, o->dst_hash, PIM_HASH_LEN);
	} else {
		pc_set(&r->dst_href, o->href);
		pc_set(&r->dst_etag, etag);
		if (o->src_etag)
			pc_set(&r->src_etag, o->src_etag);
		memcpy(r->dst_hash, o->it.hash, PIM_HASH_LEN);
	}
	pc_set(&r->uid, o->it.uid);
	memcpy(r->src_hash, o->src_hash, PIM_HASH_LEN);
	r->has_dst_hash = r->has_src_hash = 1;
	r->status = PIM_ROW_OK;
	pc_set(&r->reason, "");
	if (o->k != OP_ADOPT) {
		cs->written++;
		if (o->row == NULL && o->k == OP_CREATE)
			cs->n.created++;
		else
			cs->n.updated++;
	}
	keep_row(cs, o);
}

/* op_bad: O's row with STATUS and WHY; the target left as it is (DST, when read). */
static void op_bad(struct cstate *cs, struct op *o, int status, const char *why,
		   const struct pim_fetched *dst)
{
	struct pim_row *r = op_row(o);

	log_warn("%s: %s: %s %s: %s", cs->c->o->mailbox_key, cs->c->scoll->href,
		 status == PIM_ROW_CONFLICT ? "conflict on" : "rejected", o->href, why);
	if (o->k == OP_DELETE) {
		o->row->del = o->row->dirty = 1;
		cs->n.conflicts++;
		return;
	}
	if (o->src_etag)
		pc_set(&r->src_etag, o->src_etag);
	if (status == PIM_ROW_REJECTED) {
		cs->n.rejected++;
	} else {
		cs->n.conflicts++;
		if (dst) { /* known to the table: a later run sees it as the target's */
			pc_set(&r->dst_href, dst->href);
			pc_set(&r->dst_etag, dst->etag);
		}
	}
	pc_set(&r->uid, o->it.uid);
	r->status = status;
	pc_set(&r->reason, why);
	keep_row(cs, o);
}

static void op_req(struct op *o, struct dav_req *r, enum pim_kind kind)
{
	memset(r, 0, sizeof(*r));
	r->method = o->k == OP_DELETE ? "DELETE" : "PUT";
	r->path = xstrdup(o->href);
	if (o->k != OP_CREATE && o->if_match && *o->if_match)
		r->if_match = o->if_match;
	r->if_none_match = o->k == OP_CREATE;
	if (o->k != OP_DELETE) {
		r->body = xstrndup(o->it.text, o->it.len);
		r->body_len = o->it.len;
		r->ctype = kind == PIM_CAL ? "text/calendar; charset=utf-8"
					   : "text/vcard; charset=utf-8";
	}
}

/* outcome: the answer R to O; 1 when it was a 412 (read again). */
static int outcome(struct cstate *cs, struct op *o, struct dav_req *r)
{
	int st = r->status;

	if (st >= 200 && st < 300) {
		op_done(cs, o, r->etag ? r->etag : "");
	} else if (st == 404 && o->k == OP_DELETE) {
		op_done(cs, o, "");
	} else if (st == 412 && o->to_src) {
		op_bad(cs, o, PIM_ROW_CONFLICT, "changed on the source while being written (412)",
		       NULL);
	} else if (st == 412) {
		return 1;
	} else if (st >= 400 && st < 500) {
		char *why = dav_reason(r);

		op_bad(cs, o, PIM_ROW_REJECTED, why, NULL);
		free(why);
	} else if (cs->fail == NULL) {
		char *why = dav_reason(r);

		cs->fail = xasprintf("%s %s: %s", r->method, o->href, why);
		free(why);
	}
	return 0;
}

/* again: O got a 412; F is the target's item now (NULL: gone). Decide
 * again: 1 when O is to be sent once more. */
static int again(struct cstate *cs, struct op *o, const struct pim_fetched *f)
{
	unsigned char h[PIM_HASH_LEN];

	if (o->k == OP_DELETE) {
		if (f == NULL) {
			op_done(cs, o, "");
			return 0;
		}
		op_bad(cs, o, PIM_ROW_CONFLICT, "deleted on the source, changed on the target",
		       f);
		return 0;
	}
	if (f && pim_hash(cs->c->kind, f->data, f->len, h) == 0 &&
	    memcmp(h, o->it.hash, PIM_HASH_LEN) == 0) {
		o->k = OP_ADOPT; /* already there: written by a run that was cut */
		op_done(cs, o, f->etag);
		return 0;
	}
	int w = f ? pc_winner(cs, &o->it, f) : 1;

	if (w == 1 && !o->retried) {
		o->retried = 1;
		o->k = f ? OP_UPDATE : OP_CREATE;
		pc_set(&o->if_match, f ? f->etag : "");
		return 1;
	}
	if (w == 0 && f) {
		struct pim_row *r = op_row(o);

		pc_set(&r->dst_href, f->href);
		pc_set(&r->dst_etag, f->etag);
		r->has_dst_hash = pim_hash(cs->c->kind, f->data, f->len, r->dst_hash) == 0;
		pc_set(&r->uid, o->it.uid);
		if (o->src_etag)
			pc_set(&r->src_etag, o->src_etag);
		memcpy(r->src_hash, o->src_hash, PIM_HASH_LEN);
		r->has_src_hash = 1;
		keep_row(cs, o);
		return 0;
	}
	op_bad(cs, o, PIM_ROW_CONFLICT, "changed on the target while being written (412)", f);
	return 0;
}

/* reread: the 412s of this round read again and decided again. */
static int reread(struct cstate *cs, struct op **v, size_t n)
{
	struct hrefs h = {0};
	struct pim_fetch f;
	char *err = NULL;
	int more = 0;

	for (size_t i = 0; i < n; i++)
		hrefs_add(&h, v[i]->href);
	if (pim_multiget(cs->c->dst, cs->c->kind, cs->c->dst_href, h.v, h.n, &f, &err) < 0) {
		if (cs->fail == NULL)
			cs->fail = xasprintf("reading again after 412: %s", err);
		free(err);
		hrefs_free(&h);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		v[i]->pending = again(cs, v[i], pim_fetch_find(&f, v[i]->href));
		more |= v[i]->pending;
	}
	pim_fetch_free(&f);
	hrefs_free(&h);
	return more;
}

/* round: send every pending op; returns 1 when some are to be sent again. */
static int round_run(struct cstate *cs)
{
	size_t n = 0, n412 = 0;
	struct dav_req *rq = xcalloc(cs->nops + 1, sizeof(*rq));
	struct dav_req **p = xcalloc(cs->nops + 1, sizeof(*p));
	struct op **idx = xcalloc(cs->nops + 1, sizeof(*idx));
	struct op **bad = xcalloc(cs->nops + 1, sizeof(*bad));
	int more = 0;

	size_t nd = 0;

	/* the target's writes first, then the source's (two-way) */
	for (int side = 0; side < 2; side++) {
		for (size_t i = 0; i < cs->nops; i++)
			if (cs->ops[i].pending && cs->ops[i].to_src == side) {
				op_req(&cs->ops[i], &rq[n], cs->c->kind);
				idx[n] = &cs->ops[i];
				p[n] = &rq[n];
				n++;
			}
		if (side == 0)
			nd = n;
	}
	dav_run(cs->c->dst->dav[cs->c->kind], p, nd);
	dav_run(cs->c->src->dav[cs->c->kind], p + nd, n - nd);
	for (size_t i = 0; i < n; i++) {
		idx[i]->pending = 0;
		if (outcome(cs, idx[i], &rq[i]))
			bad[n412++] = idx[i];
		dav_req_free(&rq[i]);
	}
	if (n412)
		more = reread(cs, bad, n412);
	free(rq);
	free(p);
	free(idx);
	free(bad);
	return more;
}

int pc_write(struct cstate *cs)
{
	for (size_t i = 0; i < cs->nops; i++) {
		if (cs->ops[i].k == OP_ADOPT)
			op_done(cs, &cs->ops[i], cs->ops[i].if_match);
		else
			cs->ops[i].pending = 1;
	}
	for (int r = 0; r < 3 && round_run(cs); r++)
		;
	if (cs->fail) {
		cs->c->why = xstrdup(cs->fail);
		return -1;
	}
	return 0;
}

static long long count_rows(const struct cstate *cs)
{
	long long n = (long long)cs->nadded;

	for (size_t i = 0; i < cs->nrows; i++)
		n += !cs->rows[i].del;
	return n;
}

/* pc_save: the rows changed, then the collection's row: its new sync
 * tokens only when OK (a failed run lists the same changes again). */
int pc_save(struct cstate *cs, int ok)
{
	const struct pim_opts *o = cs->c->o;
	struct pim_coll *rec = &cs->c->rec;
	int rc = store_begin(o->store);

	for (size_t i = 0; rc == STORE_OK && i < cs->nrows; i++) {
		struct prow *p = &cs->rows[i];

		if (p->del)
			rc = store_pim_row_del(o->store, o->mailbox_key, rec->src_href, p->r.src_href);
		else if (p->dirty)
			rc = store_pim_row_put(o->store, o->mailbox_key, rec->src_href, &p->r);
	}
	for (size_t i = 0; rc == STORE_OK && i < cs->nadded; i++)
		rc = store_pim_row_put(o->store, o->mailbox_key, rec->src_href, &cs->added[i]);
	rec->n = cs->n;
	rec->n.items = count_rows(cs);
	rec->n.unchanged = rec->n.items - cs->n.created - cs->n.updated - cs->n.rejected -
			   cs->n.conflicts;
	if (rec->n.unchanged < 0)
		rec->n.unchanged = 0;
	if (ok && !cs->keep_src_token && cs->sl.token)
		pc_set(&rec->src_token, cs->sl.token);
	if (ok && cs->tl.token)
		pc_set(&rec->dst_token, cs->tl.token);
	if (!cs->c->held)
		pc_set(&rec->held, "");
	if (cs->written || !ok)
		rec->verified = 0;
	if (rc == STORE_OK)
		rc = store_pim_coll_put(o->store, o->mailbox_key, rec);
	rc = rc == STORE_OK ? store_commit(o->store) : (store_rollback(o->store), STORE_ERR);
	if (rc != STORE_OK) {
		free(cs->c->why);
		cs->c->why = xasprintf("cannot record the correspondence table: %s",
				       store_errmsg(o->store));
		return -1;
	}
	return 0;
}

struct vrow {
	struct pim_row *r;
};

static void vrow_add(struct vrow **v, size_t *n, struct pim_row *r)
{
	if (r->status != PIM_ROW_OK || *r->dst_href == '\0' || !r->has_dst_hash)
		return;
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = (struct vrow){r};
}

/* written: the op that wrote the target's item at HREF this run, or NULL. */
static const struct op *written(const struct cstate *cs, const char *href)
{
	for (size_t i = 0; i < cs->nops; i++) {
		const struct op *o = &cs->ops[i];

		if (!o->to_src && o->k != OP_DELETE && o->it.text && strcmp(o->href, href) == 0)
			return &cs->ops[i];
	}
	return NULL;
}

/* recount: an item counted created, updated or unchanged is now rejected. */
static void recount(struct pim_counts *n, const struct op *o)
{
	long long *was = !o || o->k == OP_ADOPT ? &n->unchanged
			 : o->row == NULL && o->k == OP_CREATE ? &n->created : &n->updated;

	if (*was > 0)
		(*was)--;
	n->rejected++;
}

/* altered: the target holds R's item, but not as it was written: the item
 * is rejected with what the server changed; the other items are not
 * held back by it. 0, or -1 when the table cannot record it. */
static int altered(struct cstate *cs, struct pim_row *r, const struct pim_fetched *got)
{
	const struct op *o = written(cs, r->dst_href);
	char *props = o ? pim_diff_props(o->it.text, o->it.len, got->data, got->len) : NULL;
	int v4 = cs->c->kind == PIM_CARD && cs->c->dst->want.vcard_version == 40;
	int named = props && *props;
	char *why = xasprintf("the target server stored it altered%s%s%s%s", named ? " (" : "",
			      named ? props : "",
			      !named ? "" : strchr(props, ',') ? " differ)" : " differs)",
			      v4 ? "; Radicale 3.1 cuts vCard 4.0 URI values (data: photos, "
				   "URLs with commas): set the target's dav_vcard to 3.0"
				 : "");

	log_warn("%s: %s: rejected %s: %s", cs->c->o->mailbox_key, cs->c->scoll->href,
		 r->dst_href, why);
	free(props);
	r->status = PIM_ROW_REJECTED;
	pc_set(&r->reason, why);
	free(why);
	recount(&cs->c->rec.n, o);
	return store_pim_row_put(cs->c->o->store, cs->c->o->mailbox_key, cs->c->rec.src_href,
				 r) == STORE_OK ? 0 : -1;
}

/* differing: the rows whose target item is missing (listed: the run
 * fails) or not what was written (rejected one by one: altered). */
static char *differing(struct cstate *cs, const struct vrow *v, size_t n,
		       const struct pim_fetch *f, size_t *bad_r)
{
	char *list = xstrdup("");

	*bad_r = 0;
	for (size_t i = 0; i < n; i++) {
		const struct pim_fetched *it = pim_fetch_find(f, v[i].r->dst_href);
		unsigned char h[PIM_HASH_LEN];

		if (it && pim_hash(cs->c->kind, it->data, it->len, h) == 0 &&
		    memcmp(h, v[i].r->dst_hash, PIM_HASH_LEN) == 0)
			continue;
		if (it && altered(cs, v[i].r, it) == 0)
			continue;
		if (++*bad_r <= 10) {
			char *l = xasprintf("%s%s%s%s", list, *list ? " " : "", v[i].r->dst_href,
					    it ? "" : " (missing)");

			free(list);
			list = l;
		}
	}
	return list;
}

/* pc_verify: every row's target item read back and compared with what was
 * written; skipped when nothing was written since the last verification. */
int pc_verify(struct cstate *cs)
{
	struct pim_coll *rec = &cs->c->rec;
	struct vrow *v = NULL;
	struct hrefs h = {0};
	struct pim_fetch f;
	size_t n = 0, bad = 0;
	char *err = NULL;

	if (rec->verified && cs->written == 0)
		return 0;
	for (size_t i = 0; i < cs->nrows; i++)
		if (!cs->rows[i].del)
			vrow_add(&v, &n, &cs->rows[i].r);
	for (size_t i = 0; i < cs->nadded; i++)
		vrow_add(&v, &n, &cs->added[i]);
	for (size_t i = 0; i < n; i++)
		hrefs_add(&h, v[i].r->dst_href);
	int rc = pim_multiget(cs->c->dst, cs->c->kind, cs->c->dst_href, h.v, h.n, &f, &err);

	if (rc < 0) {
		cs->c->why = xasprintf("verification failed: %s", err);
		free(err);
	} else {
		char *list = differing(cs, v, n, &f, &bad);

		if (bad) {
			cs->c->why = xasprintf("verification failed: %zu of %zu items differ on the "
					       "target: %s%s",
					       bad, n, list, bad > 10 ? " ..." : "");
			rc = -1;
		}
		free(list);
		pim_fetch_free(&f);
	}
	hrefs_free(&h);
	free(v);
	rec->verified = rc == 0;
	if (store_pim_coll_put(cs->c->o->store, cs->c->o->mailbox_key, rec) != STORE_OK && rc == 0) {
		cs->c->why = xasprintf("cannot record the verification: %s",
				       store_errmsg(cs->c->o->store));
		rc = -1;
	}
	return rc;
}
