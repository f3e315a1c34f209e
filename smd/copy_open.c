#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copy_open.h"
#include "log.h"
#include "xalloc.h"

/* ------------------------------------------------------------ source */

/* src_meta: one message of the listing, in sequence. */
static int src_meta(void *ctx, const struct drv_meta *dm)
{
	struct src_open *so = ctx;

	if (dm->seq != so->n + 1)
		return cperr(so->cp, "FETCH response out of sequence: message %llu, UID %llu",
			     dm->seq, dm->uid);
	if (so->n == so->cap) {
		so->cap = so->cap ? 2 * so->cap : 64;
		so->msgs = xrealloc(so->msgs, so->cap * sizeof(*so->msgs));
	}
	struct msg *m = &so->msgs[so->n++];

	memset(m, 0, sizeof(*m));
	m->uid = dm->uid;
	m->seq = (unsigned)dm->seq;
	m->size = dm->size;
	m->flags = xstrndup(dm->flags, dm->flags_len);
	snprintf(m->date, sizeof(m->date), "%s", dm->date);
	return 0;
}

void src_open_free(struct src_open *so)
{
	for (size_t i = 0; i < so->n; i++)
		free(so->msgs[i].flags);
	free(so->msgs);
	so->msgs = NULL;
	so->n = so->cap = 0;
	so->active = 0;
}

/* src_open_start: open F read-only with its messages' metadata. */
int src_open_start(struct cp *cp, const struct folder *f)
{
	struct src_open *so = &cp->so;
	struct drv *d = cp->sdrv;
	struct drv_cb cb = {.ctx = so, .meta = src_meta};

	src_open_free(so);
	so->f = f;
	so->cp = cp;
	so->op = d->ops->open(d, f->name, DRV_OPEN_META, &cb);
	so->active = 1;
	if (so->op == 0 || d->ops->flush(d) < 0)
		return drv_fail(cp, d);
	return 0;
}

/* src_open_finish: collect F's opening and listing into cp->msgs. */
int src_open_finish(struct cp *cp, const struct folder *f)
{
	struct src_open *so = &cp->so;
	struct drv *d = cp->sdrv;
	struct drv_result res;

	if ((!so->active || so->f != f) && src_open_start(cp, f) < 0)
		return -1;
	so->active = 0;
	if (d->ops->wait(d, so->op, &res) < 0)
		return cp->err[0] ? -1 : drv_fail(cp, d);
	if (cp->err[0])
		return -1;
	if (res.status != DRV_OK && res.step == 0)
		return cperr(cp, "EXAMINE %s: %s %s", f->name, res.status == DRV_NO ? "NO" : "BAD",
			     res.text);
	if (res.box->uidvalidity == 0)
		return cperr(cp, "EXAMINE %s: no UIDVALIDITY", f->name);
	if (res.status != DRV_OK)
		return cperr(cp, "UID FETCH in %s: %s", f->name, res.text);
	free_msgs(cp);
	cp->msgs = so->msgs;
	cp->nmsgs = so->n;
	so->msgs = NULL;
	so->n = so->cap = 0;
	cp->src_uidvalidity = res.box->uidvalidity;
	cp->src_exists = res.box->exists;
	if (res.box->expunged || cp->nmsgs > cp->src_exists)
		return cperr(cp, "folder %s changed while it was read (%zu of %llu messages)",
			     f->name, cp->nmsgs, cp->src_exists);
	/* New mail that arrived after the listing (EXISTS grew, nothing was
	 * expunged): the listing is a consistent earlier view, the next pass
	 * copies the rest (mail flowing in during a pre-stage). */
	if (cp->nmsgs < cp->src_exists)
		log_info("%s: folder=%s %llu messages arrived while it was read, left to the "
			 "next pass",
			 cp->o->mailbox_key, f->name, cp->src_exists - cp->nmsgs);
	return 0;
}

/* ------------------------------------------------------------ target */

/*
 * dst_open_start: open F on the target for writing (sent, not flushed);
 * anything another command left pending before it is answered first, as
 * IMAP orders them.
 */
void dst_open_start(struct cp *cp, const struct folder *f)
{
	struct dst_open *d = &cp->dso;

	d->f = f;
	d->op = cp->ddrv->ops->open(cp->ddrv, f->dst, DRV_OPEN_WRITE | DRV_OPEN_PERMFLAGS, NULL);
	d->active = 1;
}

int dst_open_finish(struct cp *cp, const struct folder *f, unsigned long long *exists_r)
{
	struct dst_open *d = &cp->dso;
	struct drv *dv = cp->ddrv;
	struct drv_result res;

	if (!d->active || d->f != f)
		dst_open_start(cp, f);
	d->active = 0;
	if (d->op == 0 || dv->ops->wait(dv, d->op, &res) < 0)
		return cp->err[0] ? -1 : drv_fail(cp, dv);
	if (cp->err[0])
		return -1;
	if (res.status != DRV_OK)
		return cperr(cp, "SELECT %s: %s %s", f->dst, res.status == DRV_NO ? "NO" : "BAD",
			     res.text);
	if (res.box->uidvalidity == 0)
		return cperr(cp, "SELECT %s: no UIDVALIDITY", f->dst);
	cp->dst_uidvalidity = res.box->uidvalidity;
	*exists_r = res.box->exists;
	free(cp->permflags);
	cp->permflags = res.box->permflags ? xstrdup(res.box->permflags) : NULL;
	return 0;
}
