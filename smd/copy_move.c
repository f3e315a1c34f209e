/*
 * copy_move - moves between folders (see copy_move.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "copy_journal.h"
#include "copy_move.h"
#include "delta_rule.h"
#include "drv_imap.h"
#include "log.h"
#include "xalloc.h"

/* A journalled message gone from its source folder, or a new one. */
struct mv_msg {
	const struct folder *f;
	unsigned long long uid, dst_uid, size; /* uid: the source's */
	unsigned char sha[32];
	int hashed;
};

struct mv_list {
	struct mv_msg *m;
	size_t n;
};

struct mv {
	struct cp *cp;
	struct mv_list gone, arrived;
	long long moved;
	/* the folder being read */
	const struct folder *f;
	struct smd_map_row *rows;
	size_t nrows;
	struct mv_src {
		unsigned long long uid, size; /* uid first: sorted with cmp_ull */
	} *src;
	size_t nsrc;
};

static struct mv_msg *mv_add(struct mv_list *l, const struct folder *f, unsigned long long uid,
			     unsigned long long size)
{
	struct mv_msg *m;

	l->m = xrealloc(l->m, (l->n + 1) * sizeof(*l->m));
	m = &l->m[l->n++];
	memset(m, 0, sizeof(*m));
	m->f = f;
	m->uid = uid;
	m->size = size;
	return m;
}

static int on_row(void *ctx, const struct smd_map_row *row)
{
	struct mv *mv = ctx;

	mv->rows = xrealloc(mv->rows, (mv->nrows + 1) * sizeof(*mv->rows));
	mv->rows[mv->nrows] = *row;
	mv->rows[mv->nrows++].flags = NULL; /* valid during the callback only */
	return 0;
}

static int on_meta(void *ctx, const struct drv_meta *m)
{
	struct mv *mv = ctx;

	mv->src = xrealloc(mv->src, (mv->nsrc + 1) * sizeof(*mv->src));
	mv->src[mv->nsrc].uid = m->uid;
	mv->src[mv->nsrc++].size = m->size;
	return 0;
}

/* has_uid: UID in the N ascending elements of SIZE bytes at BASE, each starting with its UID. */
static int has_uid(const void *base, size_t n, size_t size, unsigned long long uid)
{
	return n && bsearch(&uid, base, n, size, cmp_ull) != NULL;
}

static void folder_reset(struct mv *mv)
{
	free(mv->rows);
	free(mv->src);
	mv->rows = NULL;
	mv->src = NULL;
	mv->nrows = mv->nsrc = 0;
}

/*
 * read_folder: F's journal and source listing: its journalled messages
 * gone from the source, and its new ones (by UID, UIDs ascending on both).
 */
static int read_folder(struct mv *mv, const struct folder *f)
{
	struct cp *cp = mv->cp;
	struct drv_cb cb = {.ctx = mv, .meta = on_meta};
	struct smd_folder jf;
	struct drv_result res;
	int jr = store_smd_folder_get(cp->o->store, cp->o->mailbox_key, f->name, &jf);
	unsigned op;

	if (jr < 0 || (jr == STORE_OK && store_smd_map_each(cp->o->store, cp->o->mailbox_key,
							    f->name, on_row, mv) < 0))
		return cperr(cp, "journal: %s", store_errmsg(cp->o->store));
	op = cp->sdrv->ops->open(cp->sdrv, f->name, DRV_OPEN_META, &cb);
	if (op == 0 || cp->sdrv->ops->flush(cp->sdrv) < 0 || cp->sdrv->ops->wait(cp->sdrv, op, &res) < 0)
		return drv_fail(cp, cp->sdrv);
	if (res.status != DRV_OK)
		return 0; /* the folder's own pass says why */
	if (jr == STORE_OK && res.box && res.box->uidvalidity != jf.uidvalidity)
		mv->nrows = 0; /* recreated on the source: its journal is void */
	if (mv->nsrc)
		qsort(mv->src, mv->nsrc, sizeof(*mv->src), cmp_ull);
	unsigned long long *ju = xmalloc((mv->nrows + 1) * sizeof(*ju));

	for (size_t i = 0; i < mv->nrows; i++)
		ju[i] = mv->rows[i].src_uid;
	qsort(ju, mv->nrows, sizeof(*ju), cmp_ull);
	for (size_t i = 0; i < mv->nrows; i++) {
		const struct smd_map_row *r = &mv->rows[i];

		if (!r->gone && !has_uid(mv->src, mv->nsrc, sizeof(*mv->src), r->src_uid)) {
			struct mv_msg *g = mv_add(&mv->gone, f, r->src_uid, (unsigned long long)r->size);

			g->dst_uid = r->dst_uid;
			memcpy(g->sha, r->sha256, 32);
			g->hashed = 1;
		}
	}
	for (size_t i = 0; i < mv->nsrc; i++)
		if (!has_uid(ju, mv->nrows, sizeof(*ju), mv->src[i].uid))
			mv_add(&mv->arrived, f, mv->src[i].uid, mv->src[i].size);
	free(ju);
	return 0;
}

/* candidate: a new message of the size of a gone one in another folder. */
static int candidate(const struct mv *mv, const struct mv_msg *a)
{
	for (size_t i = 0; i < mv->gone.n; i++)
		if (mv->gone.m[i].size == a->size && mv->gone.m[i].f != a->f)
			return 1;
	return 0;
}

static int on_hash(void *ctx, unsigned long long uid, const unsigned char *sha)
{
	struct mv *mv = ctx;

	for (size_t i = 0; i < mv->arrived.n; i++) {
		struct mv_msg *a = &mv->arrived.m[i];

		if (a->f == mv->f && a->uid == uid) {
			memcpy(a->sha, sha, 32);
			a->hashed = 1;
		}
	}
	return 0;
}

/* hash_arrived: the candidates' SHA-256 on the source, folder by folder. */
static int hash_arrived(struct mv *mv)
{
	struct cp *cp = mv->cp;
	unsigned long long *u = xmalloc((mv->arrived.n + 1) * sizeof(*u));
	int r = 0;

	for (size_t s = 0; s < cp->nsel && r == 0; s++) {
		struct drv_result res;
		size_t n = 0;
		unsigned op;

		mv->f = &cp->folders[cp->sel[s]];
		for (size_t i = 0; i < mv->arrived.n; i++)
			if (mv->arrived.m[i].f == mv->f && candidate(mv, &mv->arrived.m[i]))
				u[n++] = mv->arrived.m[i].uid;
		if (n == 0)
			continue;
		op = cp->sdrv->ops->open(cp->sdrv, mv->f->name, 0, NULL);
		if (op == 0 || cp->sdrv->ops->flush(cp->sdrv) < 0 ||
		    cp->sdrv->ops->wait(cp->sdrv, op, &res) < 0)
			r = drv_fail(cp, cp->sdrv);
		else if (res.status == DRV_OK)
			r = hash_fetch(cp, cp->sdrv, u, n, on_hash, mv);
	}
	free(u);
	return r;
}

/* done_ok: wait for OP of the target; 1 OK, 0 refused (logged), -1 failed. */
static int done_ok(struct cp *cp, unsigned op, const char *what)
{
	struct drv_result res;

	if (op == 0 || cp->ddrv->ops->flush(cp->ddrv) < 0 || cp->ddrv->ops->wait(cp->ddrv, op, &res) < 0)
		return drv_fail(cp, cp->ddrv);
	if (res.status != DRV_OK)
		log_warn("%s: %s: %s", cp->o->mailbox_key, what, res.text);
	return res.status == DRV_OK;
}

static int on_present(void *ctx, const struct drv_meta *m)
{
	*(int *)ctx = 1;
	return 0;
}

/* move_target: G's copy from its target folder to A's; 1 moved, 0 not there, -1. */
static int move_target(struct mv *mv, const struct mv_msg *g, const struct mv_msg *a)
{
	struct cp *cp = mv->cp;
	struct drv *d = cp->ddrv;
	int present = 0, r;
	struct drv_cb cb = {.ctx = &present, .meta = on_present};
	char set[24];

	snprintf(set, sizeof(set), "%llu", g->dst_uid);
	r = done_ok(cp, d->ops->open(d, g->f->dst, DRV_OPEN_WRITE, NULL), "SELECT");
	if (r > 0)
		r = done_ok(cp, d->ops->fetch(d, set, DRV_FETCH_SIZE, &cb), "UID FETCH");
	if (r <= 0 || !present)
		return r < 0 ? -1 : 0;
	if (d->ops->caps(d) & DRV_CAP_MOVE)
		return done_ok(cp, d->ops->move(d, set, a->f->dst), "UID MOVE");
	/* RFC 6851's fallback, on this one UID (UIDPLUS: checked by setup). */
	r = done_ok(cp, d->ops->copy(d, set, a->f->dst), "UID COPY");
	if (r > 0)
		r = done_ok(cp, d->ops->add_flags(d, set, "\\Deleted"), "UID STORE");
	if (r > 0)
		r = done_ok(cp, d->ops->expunge(d, set), "UID EXPUNGE");
	return r;
}

/* apply: the pair G (gone) -> A (arrived): the target, then the journal. */
static int apply(struct mv *mv, const struct mv_msg *g, const struct mv_msg *a)
{
	struct cp *cp = mv->cp;
	int r = move_target(mv, g, a);

	if (r < 0)
		return -1;
	if (r > 0 && cp->o->crash_delta > 0 && mv->moved + 1 >= cp->o->crash_delta)
		_exit(COPY_EXIT_CRASH_AFTER); /* test hook: moved, not journalled */
	/* Moved, or not in G's folder any more (moved by a run that died
	 * here, or by the user): either way A's pass finds it by hash or
	 * copies it. */
	if (store_smd_map_del(cp->o->store, cp->o->mailbox_key, g->f->name, g->uid) < 0)
		return cperr(cp, "journal: %s", store_errmsg(cp->o->store));
	if (r > 0) {
		log_info("%s: folder=%s uid=%llu moved to folder=%s uid=%llu: target %s -> %s",
			 cp->o->mailbox_key, g->f->name, g->uid, a->f->name, a->uid, g->f->dst,
			 a->f->dst);
		mv->moved++;
	}
	return 0;
}

/* ident: M for delta_moves; HEX its SHA-256, standing for the Message-ID (see the header). */
static struct delta_ident ident(const struct mv_msg *m, char hex_r[65])
{
	struct delta_ident d = {.uid = (uint32_t)m->uid, .folder = m->f->name,
				.message_id = m->hashed ? hex_r : NULL, .size = m->size,
				.has_hash = m->hashed};

	hex(m->sha, hex_r);
	memcpy(d.sha256, m->sha, 32);
	return d;
}

/* pair_and_move: delta_moves over the lists, each pair applied. */
static int pair_and_move(struct mv *mv)
{
	size_t ng = mv->gone.n, na = mv->arrived.n, n;
	struct delta_ident *gi = xcalloc(ng + 1, sizeof(*gi)), *ai = xcalloc(na + 1, sizeof(*ai));
	char(*gh)[65] = xcalloc(ng + 1, 65), (*ah)[65] = xcalloc(na + 1, 65);
	struct delta_move *pairs = xcalloc(ng + 1, sizeof(*pairs));
	int r = 0;

	for (size_t i = 0; i < ng; i++)
		gi[i] = ident(&mv->gone.m[i], gh[i]);
	for (size_t i = 0; i < na; i++)
		ai[i] = ident(&mv->arrived.m[i], ah[i]);
	n = delta_moves(gi, ng, ai, na, pairs, ng);
	for (size_t i = 0; i < n && r == 0; i++)
		r = apply(mv, &mv->gone.m[pairs[i].gone], &mv->arrived.m[pairs[i].arrived]);
	free(gi);
	free(ai);
	free(gh);
	free(ah);
	free(pairs);
	return r;
}

/* any_journal: 1 when a selected folder has a journal, 0 when none, -1
 * (logged) on a store error. */
static int any_journal(struct cp *cp)
{
	for (size_t s = 0; s < cp->nsel; s++) {
		struct smd_folder jf;
		int jr = store_smd_folder_get(cp->o->store, cp->o->mailbox_key,
					      cp->folders[cp->sel[s]].name, &jf);

		if (jr < 0)
			return cperr(cp, "journal: %s", store_errmsg(cp->o->store));
		if (jr == STORE_OK)
			return 1;
	}
	return 0;
}

int move_pass(struct cp *cp)
{
	struct mv mv = {.cp = cp};
	struct imap_conn *c = drv_imap_borrow(cp->sdrv);
	int r = 0;

	/* A move changes two folders; without CONDSTORE every folder would
	 * be listed twice (here and in its pass): moves then stay copies. */
	if (cp->nsel < 2 || c == NULL || !(imap_caps(c) & IMAP_CAP_CONDSTORE) || !cp->ddrv->ops->move)
		return 0;
	/* A move leaves a journalled folder: with none (a first copy) there
	 * is nothing to pair, and listing every folder here would only cost. */
	if ((r = any_journal(cp)) <= 0)
		return r;
	r = 0;
	for (size_t s = 0; s < cp->nsel && r == 0; s++) {
		r = read_folder(&mv, &cp->folders[cp->sel[s]]);
		folder_reset(&mv);
	}
	if (r == 0 && mv.gone.n && mv.arrived.n)
		r = hash_arrived(&mv);
	if (r == 0 && mv.gone.n && mv.arrived.n)
		r = pair_and_move(&mv);
	if (r == 0 && mv.moved) {
		log_info("%s: moves rule=%s moved=%lld", cp->o->mailbox_key,
			 cp->o->switched ? "three-way" : "source-wins", mv.moved);
		if (cp->o->summary)
			fprintf(cp->o->summary, "moves moved=%lld\n", mv.moved);
	}
	free(mv.gone.m);
	free(mv.arrived.m);
	return r;
}
