/*
 * pim_sync_decide: what to do with each item whose source changed, and
 * with each one gone from the source (pim_sync_coll.h).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "log.h"
#include "pim_sync_coll.h"
#include "xalloc.h"

void hrefs_add(struct hrefs *h, char *href)
{
	if (h->n == h->cap)
		h->v = xrealloc(h->v, (h->cap = h->cap ? 2 * h->cap : 256) * sizeof(*h->v));
	h->v[h->n++] = href;
}

void hrefs_free(struct hrefs *h)
{
	free(h->v);
	memset(h, 0, sizeof(*h));
}

struct op *pc_op_new(struct cstate *cs, enum op_kind k, struct prow *p)
{
	cs->ops = xrealloc(cs->ops, (cs->nops + 1) * sizeof(*cs->ops));
	struct op *o = &cs->ops[cs->nops++];

	memset(o, 0, sizeof(*o));
	o->k = k;
	o->row = p;
	return o;
}

void pc_ops_free(struct cstate *cs)
{
	for (size_t i = 0; i < cs->nops; i++) {
		store_pim_row_free(&cs->ops[i].nr);
		pim_item_free(&cs->ops[i].it);
		free(cs->ops[i].href);
		free(cs->ops[i].if_match);
		free(cs->ops[i].src_etag);
		free(cs->ops[i].dst_etag);
	}
	free(cs->ops);
	cs->ops = NULL;
	cs->nops = 0;
	free(cs->fail);
}

/* basename_ok: a plain name, safe to append to a collection's href. */
static int basename_ok(const char *b, size_t n)
{
	if (n == 0 || n > 200 || b[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-~@+=",
			    b[i]) || b[i] == '\0')
			return 0;
	return 1;
}

/*
 * pc_item_href: where the other side's item HREF goes in collection COLL:
 * under its own last segment when that is a plain name, else under one
 * made from the SHA-256 of HREF. A source user chooses the hrefs of the
 * items they create: a segment that is empty, dots, percent-encoded (an
 * encoded "/" or "..") or anything else could otherwise make the PUT land
 * on the collection itself, its parent or another path.
 */
char *pc_item_href(const char *coll, const char *href, enum pim_kind kind)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = strlen(href), end;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char name[2 * 32 + 5];

	while (n > 0 && href[n - 1] == '/')
		n--;
	end = n;
	while (n > 0 && href[n - 1] != '/')
		n--;
	if (end == strlen(href) && basename_ok(href + n, end - n))
		return xasprintf("%s%s", coll, href + n);
	if (EVP_Digest(href, strlen(href), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen < 32)
		memset(md, 0, sizeof(md));
	for (size_t i = 0; i < 32; i++) {
		name[2 * i] = hex[md[i] >> 4];
		name[2 * i + 1] = hex[md[i] & 15];
	}
	snprintf(name + 64, 5, "%s", kind == PIM_CARD ? ".vcf" : ".ics");
	return xasprintf("%s%s", coll, name);
}

int pc_winner(const struct cstate *cs, const struct pim_item *it, const struct pim_fetched *dst)
{
	switch (cs->c->o->conflict) {
	case PIM_SOURCE_WINS: return 1;
	case PIM_TARGET_WINS: return 0;
	case PIM_NEWEST: {
		struct pim_item t;
		struct pim_target none = {0, 0};
		char *err = NULL;
		time_t tm = 0;

		if (dst && pim_item_make(cs->c->kind, dst->data, dst->len, &none, &t, &err) == 0) {
			tm = t.modified;
			pim_item_free(&t);
		}
		free(err);
		return it->modified >= tm ? 1 : 0;
	}
	case PIM_STOP: break;
	}
	return -1;
}

static void set_conflict(struct prow *p, const char *why)
{
	p->r.status = PIM_ROW_CONFLICT;
	pc_set(&p->r.reason, why);
	p->dirty = 1;
}

/* keep_target: the row follows both sides as they are now. */
static void keep_target(struct prow *p, const char *src_etag, const unsigned char *src_hash,
			const struct pim_fetched *dst, enum pim_kind kind)
{
	pc_set(&p->r.src_etag, src_etag);
	memcpy(p->r.src_hash, src_hash, PIM_HASH_LEN);
	p->r.has_src_hash = 1;
	if (dst) {
		pc_set(&p->r.dst_etag, dst->etag);
		p->r.has_dst_hash = pim_hash(kind, dst->data, dst->len, p->r.dst_hash) == 0;
	}
	p->r.status = PIM_ROW_OK;
	pc_set(&p->r.reason, "");
	p->dirty = 1;
}

/* changed: source item F (made into IT) has a row P. */
static void changed(struct cstate *cs, struct prow *p, const struct pim_fetched *f,
		    struct pim_item *it, const unsigned char *sh)
{
	struct op *o;

	if (p->fl & F_DST_CHANGED) {
		int w = pc_winner(cs, it, p->dst_now);

		if (w < 0) {
			set_conflict(p, "changed on both sides since the last sync");
			cs->n.conflicts++;
			pim_item_free(it);
			return;
		}
		/* two-way: the target's copy won, so it is the source's too */
		if (w == 0 && cs->c->o->two_way && p->dst_now &&
		    pc_to_source(cs, p, p->dst_now, p->r.src_href, f->etag) == 0) {
			pim_item_free(it);
			return;
		}
		if (w == 0) {
			keep_target(p, f->etag, sh, p->dst_now, cs->c->kind);
			pim_item_free(it);
			return;
		}
	}
	o = pc_op_new(cs, (p->fl & F_DST_GONE) ? OP_CREATE : OP_UPDATE, p);
	o->it = *it;
	memcpy(o->src_hash, sh, PIM_HASH_LEN);
	o->href = xstrdup(p->r.dst_href);
	if (o->k == OP_UPDATE)
		o->if_match = xstrdup(p->dst_now ? p->dst_now->etag : p->r.dst_etag);
	o->src_etag = xstrdup(f->etag);
}

/* fresh: source item F has no row: adopt the target's item of the same
 * UID (a run killed after its PUT), or create it. */
static void fresh(struct cstate *cs, const struct pim_fetched *f, struct pim_item *it,
		  const unsigned char *sh)
{
	struct uidref *u = pc_uid(cs, it->uid);
	struct op *o = pc_op_new(cs, u ? OP_UPDATE : OP_CREATE, NULL);

	o->nr.src_href = xstrdup(f->href);
	o->nr.uid = xstrdup(it->uid);
	o->nr.src_etag = xstrdup(f->etag);
	o->nr.reason = xstrdup("");
	memcpy(o->src_hash, sh, PIM_HASH_LEN);
	o->it = *it;
	if (u) {
		u->used = 1;
		o->href = xstrdup(u->href);
		o->if_match = xstrdup(u->etag);
		if (memcmp(u->hash, it->hash, PIM_HASH_LEN) == 0) {
			o->k = OP_ADOPT; /* nothing to write: adopted as it is */
		}
	} else {
		o->href = pc_item_href(cs->c->dst_href, f->href, cs->c->kind);
	}
	o->nr.dst_href = xstrdup(o->href);
}

static void reject(struct cstate *cs, struct prow *p, const struct pim_fetched *f,
		   const char *why)
{
	log_warn("%s: %s: item %s rejected: %s", cs->c->o->mailbox_key, cs->c->scoll->href,
		 f->href, why);
	cs->n.rejected++;
	if (p == NULL) {
		cs->added = xrealloc(cs->added, (cs->nadded + 1) * sizeof(*cs->added));
		struct pim_row *r = &cs->added[cs->nadded++];

		memset(r, 0, sizeof(*r));
		r->src_href = xstrdup(f->href);
		r->uid = xstrdup("");
		r->dst_href = xstrdup("");
		r->dst_etag = xstrdup("");
		r->src_etag = xstrdup(f->etag);
		r->reason = xstrdup(why);
		r->status = PIM_ROW_REJECTED;
		return;
	}
	pc_set(&p->r.src_etag, f->etag);
	pc_set(&p->r.reason, why);
	p->r.status = PIM_ROW_REJECTED;
	p->dirty = 1;
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* duplicates: UIDs met twice among the source items read (each item is
 * copied all the same, under its own href). */
static void duplicates(struct cstate *cs, char **uids, size_t n)
{
	qsort(uids, n, sizeof(*uids), cmp_cstr);
	for (size_t i = 1; i < n; i++)
		if (strcmp(uids[i], uids[i - 1]) == 0 && (i < 2 || strcmp(uids[i], uids[i - 2]) != 0))
			log_warn("%s: %s: duplicate UID %s", cs->c->o->mailbox_key,
				 cs->c->scoll->href, uids[i]);
}

void pc_decide(struct cstate *cs)
{
	char **uids = xcalloc(cs->sf.n + 1, sizeof(*uids));
	size_t nu = 0;

	for (size_t i = 0; i < cs->sf.n; i++) {
		const struct pim_fetched *f = &cs->sf.v[i];
		struct prow *p = pc_row(cs, f->href);
		struct pim_item it;
		unsigned char sh[PIM_HASH_LEN];
		char *err = NULL;

		if (p && (p->fl & F_SRC_GONE))
			continue;
		if (pim_item_make(cs->c->kind, f->data, f->len, &cs->c->dst->want, &it, &err) < 0) {
			reject(cs, p, f, err);
			free(err);
			continue;
		}
		if (pim_hash(cs->c->kind, f->data, f->len, sh) < 0)
			memcpy(sh, it.hash, sizeof(sh));
		uids[nu++] = xstrdup(it.uid);
		if (*it.fixes) {
			log_info("%s: %s: %s: %s", cs->c->o->mailbox_key, cs->c->scoll->href,
				 f->href, it.fixes);
			cs->n.fixes++;
		}
		if (p && p->r.has_src_hash && memcmp(sh, p->r.src_hash, sizeof(sh)) == 0 &&
		    p->r.status == PIM_ROW_OK) {
			pc_set(&p->r.src_etag, f->etag); /* a new etag, the same content */
			p->dirty = 1;
			pim_item_free(&it);
		} else if (p) {
			p->fl |= F_SRC_CHANGED;
			changed(cs, p, f, &it, sh);
		} else {
			fresh(cs, f, &it, sh);
		}
	}
	duplicates(cs, uids, nu);
	for (size_t i = 0; i < nu; i++)
		free(uids[i]);
	free(uids);
}

/* pc_deletions: rows gone from the source, under the guards. */
void pc_deletions(struct cstate *cs)
{
	const struct pim_opts *o = cs->c->o;
	size_t cand = 0;

	if (cs->sl.full && cs->sl.n == 0 && cs->nrows > 0) {
		log_warn("%s: %s: the source lists no item while %zu were copied: nothing deleted",
			 o->mailbox_key, cs->c->scoll->href, cs->nrows);
		cs->keep_src_token = 1;
		return;
	}
	for (size_t i = 0; i < cs->nrows; i++) {
		struct prow *p = &cs->rows[i];

		if (!(p->fl & F_SRC_GONE))
			continue;
		/* a conflict's target copy is the target's own: kept */
		if (p->r.status == PIM_ROW_CONFLICT)
			p->fl |= F_DST_CHANGED;
		if (p->fl & (F_DST_GONE | F_DST_CHANGED)) {
			if (p->fl & F_DST_CHANGED) {
				log_warn("%s: %s: %s deleted on the source but changed on the "
					 "target: the target's copy is kept",
					 o->mailbox_key, cs->c->scoll->href, p->r.src_href);
				cs->n.conflicts++;
			}
			p->del = p->dirty = 1;
		} else {
			cand++;
		}
	}
	long long thr = config_int(o->cfg, "pim_delete_threshold");

	if (cand > 0 && (long long)cand * 100 > thr * (long long)cs->nrows && !o->force_delete) {
		free(cs->c->rec.held);
		cs->c->rec.held = xasprintf("%zu of %zu items deleted on the source: more than "
					    "pim_delete_threshold = %lld%%; not deleted without "
					    "--force-delete",
					    cand, cs->nrows, thr);
		log_warn("%s: %s: %s", o->mailbox_key, cs->c->scoll->href, cs->c->rec.held);
		cs->c->held = 1;
		cs->keep_src_token = 1;
		return;
	}
	for (size_t i = 0; i < cs->nrows; i++) {
		struct prow *p = &cs->rows[i];

		if ((p->fl & F_SRC_GONE) && !(p->fl & (F_DST_GONE | F_DST_CHANGED))) {
			struct op *op = pc_op_new(cs, OP_DELETE, p);

			op->href = xstrdup(p->r.dst_href);
			op->if_match = xstrdup(p->r.dst_etag);
		}
	}
}
