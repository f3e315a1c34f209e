/*
 * pim_sync_back: two-way, the other direction: what changed on the target
 * since the table (and not on the source: both is a conflict, decided in
 * pim_sync_decide.c) is written to the source; items new on the target
 * are created there; items deleted on the target are deleted there, under
 * the same guards.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pim_sync_coll.h"
#include "xalloc.h"

int pc_to_source(struct cstate *cs, struct prow *p, const struct pim_fetched *f,
		 const char *href, const char *if_match)
{
	struct pim_item it;
	char *err = NULL;

	if (pim_item_make(cs->c->kind, f->data, f->len, &cs->c->src->want, &it, &err) < 0) {
		log_warn("%s: %s: target item %s not written to the source: %s",
			 cs->c->o->mailbox_key, cs->c->scoll->href, f->href, err);
		free(err);
		cs->n.rejected++;
		return -1;
	}
	struct op *o = pc_op_new(cs, p ? OP_UPDATE : OP_CREATE, p);

	o->to_src = 1;
	o->it = it;
	memcpy(o->src_hash, it.hash, PIM_HASH_LEN);
	o->href = xstrdup(href);
	o->dst_etag = xstrdup(f->etag);
	if (pim_hash(cs->c->kind, f->data, f->len, o->dst_hash) < 0)
		memcpy(o->dst_hash, it.hash, PIM_HASH_LEN);
	if (p) {
		o->if_match = xstrdup(if_match);
		return 0;
	}
	o->nr.src_href = xstrdup(href);
	o->nr.uid = xstrdup(it.uid);
	o->nr.src_etag = xstrdup("");
	o->nr.dst_href = xstrdup(f->href);
	o->nr.dst_etag = xstrdup(f->etag);
	o->nr.reason = xstrdup("");
	return 0;
}

/* gone_on_target: rows deleted on the target, the source unchanged. */
static void gone_on_target(struct cstate *cs)
{
	const struct pim_opts *o = cs->c->o;
	size_t cand = 0;
	long long thr = config_int(o->cfg, "pim_delete_threshold");

	for (size_t i = 0; i < cs->nrows; i++) {
		const struct prow *p = &cs->rows[i];

		cand += (p->fl & F_DST_GONE) && !(p->fl & (F_SRC_GONE | F_SRC_CHANGED)) &&
			p->r.status == PIM_ROW_OK;
	}
	if (cand == 0)
		return;
	if (cs->tl.full && cs->tl.n == 0) {
		log_warn("%s: %s: the target lists no item while %zu were copied: nothing deleted "
			 "on the source",
			 o->mailbox_key, cs->c->scoll->href, cs->nrows);
		return;
	}
	if ((long long)cand * 100 > thr * (long long)cs->nrows && !o->force_delete) {
		log_warn("%s: %s: %zu of %zu items deleted on the target: more than "
			 "pim_delete_threshold = %lld%%; not deleted on the source without "
			 "--force-delete",
			 o->mailbox_key, cs->c->scoll->href, cand, cs->nrows, thr);
		cs->c->held = 1;
		return;
	}
	for (size_t i = 0; i < cs->nrows; i++) {
		struct prow *p = &cs->rows[i];

		if ((p->fl & F_DST_GONE) && !(p->fl & (F_SRC_GONE | F_SRC_CHANGED)) &&
		    p->r.status == PIM_ROW_OK) {
			struct op *op = pc_op_new(cs, OP_DELETE, p);

			op->to_src = 1;
			op->href = xstrdup(p->r.src_href);
			op->if_match = xstrdup(p->r.src_etag);
		}
	}
}

void pc_backward(struct cstate *cs)
{
	for (size_t i = 0; i < cs->nrows; i++) {
		struct prow *p = &cs->rows[i];

		if ((p->fl & F_DST_CHANGED) && p->dst_now &&
		    !(p->fl & (F_SRC_CHANGED | F_SRC_GONE)) && p->r.status == PIM_ROW_OK)
			pc_to_source(cs, p, p->dst_now, p->r.src_href, p->r.src_etag);
	}
	for (size_t i = 0; i < cs->nuids; i++) {
		const struct uidref *u = &cs->uids[i];
		const struct pim_fetched *f = pim_fetch_find(&cs->tf, u->href);

		if (u->used || f == NULL)
			continue;
		char *href = pc_item_href(cs->c->scoll->href, u->href, cs->c->kind);

		if (pc_row(cs, href) == NULL) /* a name the source's table already has: left */
			pc_to_source(cs, NULL, f, href, NULL);
		free(href);
	}
	gone_on_target(cs);
}
