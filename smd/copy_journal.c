#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "copy_journal.h"
#include "log.h"
#include "xalloc.h"

/* ------------------------------------------------------------ hashing */


/* One hash_fetch: the callbacks' context. */
struct hash_job {
	struct cp *cp;
	hash_fn *fn;
	void *ctx;
	int streamed; /* a body was announced and is being hashed */
};

static int hash_body(void *ctx, const struct drv_body *b)
{
	struct hash_job *j = ctx;

	(void)b;
	EVP_DigestInit_ex(j->cp->md, EVP_sha256(), NULL);
	j->streamed = 1;
	return 0;
}

static int hash_data(void *ctx, const char *d, size_t n, int end)
{
	struct hash_job *j = ctx;

	EVP_DigestUpdate(j->cp->md, d, n);
	(void)end;
	return 0;
}

/* hash_meta: a body's FETCH response is complete. */
static int hash_meta(void *ctx, const struct drv_meta *m)
{
	struct hash_job *j = ctx;

	if (!j->streamed || m->uid == 0)
		return cperr(j->cp, "FETCH response without UID or body (seq %llu)", m->seq);
	unsigned char sha[32];
	unsigned int sl;

	EVP_DigestFinal_ex(j->cp->md, sha, &sl);
	j->streamed = 0;
	return j->fn(j->ctx, m->uid, sha);
}

int hash_fetch(struct cp *cp, struct drv *d, unsigned long long *uids, size_t n,
		      hash_fn *fn, void *ctx)
{
	struct hash_job j = {.cp = cp, .fn = fn, .ctx = ctx};
	struct drv_cb cb = {.ctx = &j, .meta = hash_meta, .body = hash_body, .data = hash_data};
	char **sets;
	size_t nsets = uidsets(uids, n, &sets);
	int r = 0;

	for (size_t i = 0; i < nsets && r == 0; i++) {
		unsigned op = d->ops->fetch(d, sets[i], DRV_FETCH_BODY, &cb);
		struct drv_result res;

		if (op == 0 || d->ops->wait(d, op, &res) < 0)
			r = cp->err[0] ? -1 : drv_fail(cp, d);
		else if (res.status != DRV_OK)
			r = cperr(cp, "UID FETCH (hashing): %s", res.text);
	}
	free_sets(sets, nsets);
	return r < 0 || cp->err[0] ? -1 : 0;
}

/* ------------------------------------------------------------ journal */

int load_row(void *ctx, const struct smd_map_row *row)
{
	struct load_ctx *l = ctx;
	struct cp *cp = l->cp;

	/* Both ordered by UID: a merge. */
	while (l->i < cp->nmsgs && cp->msgs[l->i].uid < row->src_uid)
		l->i++;
	if (l->i < cp->nmsgs && cp->msgs[l->i].uid == row->src_uid) {
		struct msg *m = &cp->msgs[l->i];

		m->state = MSG_JOURNALLED;
		m->dst_uid = row->dst_uid;
		memcpy(m->sha, row->sha256, 32);
		m->base = row->flags ? xstrdup(row->flags) : NULL;
		m->gone = row->gone;
		return 0;
	}
	/* Expunged on the source since: the delta pass decides (copy_delta.h). */
	cp->vanished = xrealloc(cp->vanished, (cp->nvanished + 1) * sizeof(*cp->vanished));
	cp->vanished[cp->nvanished++] = (struct vrow){row->src_uid, row->dst_uid,
						      row->flags ? xstrdup(row->flags) : NULL,
						      row->gone};
	return 0;
}

/* Rows kept for a UIDVALIDITY change: matched by hash to new UIDs. */
struct oldrow {
	struct smd_map_row row;
	int used;
};

struct remap_ctx {
	struct cp *cp;
	struct oldrow *rows;
	size_t n;
};

static int collect_row(void *ctx, const struct smd_map_row *row)
{
	struct remap_ctx *rc = ctx;

	rc->rows = xrealloc(rc->rows, (rc->n + 1) * sizeof(*rc->rows));
	rc->rows[rc->n].row = *row;
	rc->rows[rc->n].row.flags = row->flags ? xstrdup(row->flags) : NULL;
	rc->rows[rc->n].used = 0;
	rc->n++;
	return 0;
}

static void free_rows(struct remap_ctx *rc)
{
	for (size_t i = 0; i < rc->n; i++)
		free((char *)rc->rows[i].row.flags);
	free(rc->rows);
}

struct msg *find_uid(struct cp *cp, unsigned long long uid)
{
	size_t lo = 0, hi = cp->nmsgs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (cp->msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < cp->nmsgs && cp->msgs[lo].uid == uid ? &cp->msgs[lo] : NULL;
}

static int remap_hash(void *ctx, unsigned long long uid, const unsigned char *sha)
{
	struct remap_ctx *rc = ctx;
	struct msg *m = find_uid(rc->cp, uid);

	if (m == NULL)
		return 0;
	for (size_t i = 0; i < rc->n; i++)
		if (!rc->rows[i].used && memcmp(rc->rows[i].row.sha256, sha, 32) == 0) {
			rc->rows[i].used = 1;
			m->state = MSG_JOURNALLED;
			m->dst_uid = rc->rows[i].row.dst_uid;
			memcpy(m->sha, sha, 32);
			return 0;
		}
	return 0;
}

/*
 * The source folder's UIDVALIDITY changed: its UIDs mean nothing now.
 * Hash every source message and pair it with a journalled one of the
 * same hash (each used once), so nothing is copied twice.
 */
int remap_uidvalidity(struct cp *cp, const char *key)
{
	struct remap_ctx rc = {.cp = cp};
	int r;

	if (store_smd_map_each(cp->o->store, key, cp->f->name, collect_row, &rc) < 0)
		return cperr(cp, "journal: %s", store_errmsg(cp->o->store));
	log_warn("%s: folder=%s source UIDVALIDITY changed, matching %zu journalled messages "
		 "by hash",
		 key, cp->f->name, rc.n);
	unsigned long long *uids = xmalloc((cp->nmsgs + 1) * sizeof(*uids));

	for (size_t i = 0; i < cp->nmsgs; i++)
		uids[i] = cp->msgs[i].uid;
	r = cp->nmsgs ? hash_fetch(cp, cp->sdrv, uids, cp->nmsgs, remap_hash, &rc) : 0;
	free(uids);
	free_rows(&rc);
	if (r < 0)
		return -1;
	struct store *s = cp->o->store;

	if (store_begin(s) < 0 || store_smd_map_clear(s, key, cp->f->name) < 0)
		goto dberr;
	for (size_t i = 0; i < cp->nmsgs; i++)
		if (cp->msgs[i].state == MSG_JOURNALLED) {
			struct smd_map_row row = {.src_uid = cp->msgs[i].uid,
						  .dst_uid = cp->msgs[i].dst_uid,
						  .size = (long long)cp->msgs[i].size};

			memcpy(row.sha256, cp->msgs[i].sha, 32);
			if (store_smd_map_add(s, key, cp->f->name, &row) < 0)
				goto dberr;
		}
	return journal_commit(cp, 1);
dberr:
	return journal_commit(cp, 0);
}

/* unread_row: ROW names a target UID this run's read-back did not find. */
static int unread_row(struct cp *cp, const struct smd_map_row *row)
{
	const struct msg *m = find_uid(cp, row->src_uid);

	return m && m->unread && m->dst_uid == row->dst_uid;
}

/*
 * forget_unread: drop the journal rows whose target UID the read-back
 * did not find (a wrong APPENDUID). Kept, they would fail every later
 * run as "missing on the target" while the real copies sit there
 * unjournalled; without them the next run's orphan scan finds those
 * copies by size and SHA-256. The folder's rows are rewritten in one
 * transaction, every other row as it was.
 */
int forget_unread(struct cp *cp, const char *key)
{
	struct remap_ctx rc = {.cp = cp};
	struct store *s = cp->o->store;
	size_t dropped = 0, unread = 0;

	for (size_t i = 0; i < cp->nmsgs; i++)
		unread += cp->msgs[i].unread != 0;
	if (unread == 0)
		return 0; /* other differences: the rows are right */
	if (store_begin(s) < 0 || store_smd_map_each(s, key, cp->f->name, collect_row, &rc) < 0 ||
	    store_smd_map_clear(s, key, cp->f->name) < 0)
		goto dberr;
	for (size_t i = 0; i < rc.n; i++) {
		if (unread_row(cp, &rc.rows[i].row))
			dropped++;
		else if (store_smd_map_add(s, key, cp->f->name, &rc.rows[i].row) < 0)
			goto dberr;
	}
	if (store_commit(s) < 0)
		goto dberr;
	free_rows(&rc);
	if (dropped)
		log_warn("%s: folder=%s %zu journal rows named target UIDs that are not there; "
			 "forgotten, the next run looks for the copies by hash",
			 key, cp->f->name, dropped);
	return 0;
dberr:
	free_rows(&rc);
	cperr(cp, "journal: %s", store_errmsg(s));
	store_rollback(s);
	return -1;
}

/* ------------------------------------------------------------ target scan */

int scan_meta(void *ctx, const struct drv_meta *m)
{
	scan_add(ctx, m);
	return 0;
}

int scan_target(struct cp *cp, struct scan_ctx *s, unsigned long long exists)
{
	struct drv *d = cp->ddrv;
	struct drv_cb cb = {.ctx = s, .meta = scan_meta};
	struct drv_result res;

	s->cp = cp;
	if (exists == 0)
		return 0;
	/* FLAGS too: the delta pass compares them (copy_delta.h). */
	unsigned op = d->ops->fetch(d, "1:*", DRV_FETCH_SIZE | DRV_FETCH_FLAGS, &cb);

	if (op == 0 || d->ops->wait(d, op, &res) < 0)
		return cp->err[0] ? -1 : drv_fail(cp, d);
	if (res.status != DRV_OK)
		return cperr(cp, "UID FETCH in %s: %s", cp->f->dst, res.text);
	if (s->n)
		qsort(s->m, s->n, sizeof(*s->m), cmp_dst);
	return cp->err[0] ? -1 : 0;
}

int cmp_dst(const void *a, const void *b)
{
	const struct dst_msg *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* scan_find: scan_target sorts the listing by UID. */
struct dst_msg *scan_find(struct scan_ctx *s, unsigned long long uid)
{
	struct dst_msg key = {.uid = uid};

	return s->n ? bsearch(&key, s->m, s->n, sizeof(*s->m), cmp_dst) : NULL;
}

static int dst_hash(void *ctx, unsigned long long uid, const unsigned char *sha)
{
	struct dst_msg *d = scan_find(ctx, uid);

	if (d) {
		memcpy(d->sha, sha, 32);
		d->hashed = 1;
	}
	return 0;
}

static int src_match(void *ctx, unsigned long long uid, const unsigned char *sha)
{
	struct scan_ctx *s = ctx;
	struct msg *m = find_uid(s->cp, uid);

	if (m == NULL || m->state != MSG_TO_COPY)
		return 0;
	memcpy(m->sha, sha, 32);
	for (size_t i = 0; i < s->n; i++) {
		struct dst_msg *d = &s->m[i];

		if (!d->known && !d->matched && d->hashed && memcmp(d->sha, sha, 32) == 0) {
			d->matched = 1;
			m->state = MSG_FOUND;
			m->dst_uid = d->uid;
			break;
		}
	}
	return 0;
}

/*
 * find_orphans: messages on the target that the journal does not know
 * (appended by a run that died before its commit, or new mail in INBOX)
 * are paired with source messages still to copy: first by size, then by
 * SHA-256 of both. Paired ones are journalled as copied.
 */
int find_orphans(struct cp *cp, struct scan_ctx *s, const char *key)
{
	size_t nd = 0, ns = 0;
	unsigned long long *duids = xmalloc((s->n + 1) * sizeof(*duids));
	unsigned long long *suids = xmalloc((cp->nmsgs + 1) * sizeof(*suids));

	for (size_t i = 0; i < s->n; i++) {
		if (s->m[i].known)
			continue;
		for (size_t k = 0; k < cp->nmsgs; k++)
			if (cp->msgs[k].state == MSG_TO_COPY && cp->msgs[k].size == s->m[i].size) {
				duids[nd++] = s->m[i].uid;
				break;
			}
	}
	if (nd == 0)
		goto out;
	for (size_t k = 0; k < cp->nmsgs; k++) {
		if (cp->msgs[k].state != MSG_TO_COPY)
			continue;
		for (size_t i = 0; i < s->n; i++)
			if (!s->m[i].known && s->m[i].size == cp->msgs[k].size) {
				suids[ns++] = cp->msgs[k].uid;
				break;
			}
	}
	if (hash_fetch(cp, cp->ddrv, duids, nd, dst_hash, s) < 0 ||
	    hash_fetch(cp, cp->sdrv, suids, ns, src_match, s) < 0) {
		free(duids);
		free(suids);
		return -1;
	}
	size_t found = 0;
	struct store *st = cp->o->store;

	if (store_begin(st) < 0)
		goto dberr;
	for (size_t k = 0; k < cp->nmsgs; k++) {
		struct msg *m = &cp->msgs[k];

		if (m->state != MSG_FOUND)
			continue;
		struct smd_map_row row = {.src_uid = m->uid, .dst_uid = m->dst_uid,
					  .size = (long long)m->size, .flags = m->flags};

		memcpy(row.sha256, m->sha, 32);
		if (store_smd_map_add(st, key, cp->f->name, &row) < 0)
			goto dberr;
		found++;
	}
	if (store_commit(st) < 0)
		goto dberr;
	if (found)
		log_warn("%s: folder=%s found %zu messages already on the target (moved there, "
			 "or appended by an interrupted run); not copied again",
			 key, cp->f->name, found);
out:
	free(duids);
	free(suids);
	return 0;
dberr:
	cperr(cp, "journal: %s", store_errmsg(st));
	store_rollback(st);
	free(duids);
	free(suids);
	return -1;
}
