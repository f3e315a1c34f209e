#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "copy_open.h"
#include "xalloc.h"

/* ------------------------------------------------------------ SELECT */


static void sel_event(struct sel_ctx *s, const struct imap_event *ev)
{
	const struct imap_code *code = &ev->u.state.code;

	if (ev->bad)
		return;
	if (ev->type == IMAP_EV_EXISTS)
		s->exists = ev->u.num;
	else if (ev->type == IMAP_EV_EXPUNGE)
		s->expunge = 1;
	else if (ev->type == IMAP_EV_STATE && code->type == IMAP_CODE_PERMANENTFLAGS &&
		 s->permflags) {
		/* No fixed limit: a user with many keywords has a long list, and
		 * a truncated one would refuse every keyword. */
		free(*s->permflags);
		*s->permflags = xstrndup(code->list.p, code->list.len);
	}
}

int uv_event(void *ctx, const struct imap_event *ev)
{
	struct uv_ctx *u = ctx;

	if (ev->type == IMAP_EV_STATE && !ev->bad &&
	    ev->u.state.code.type == IMAP_CODE_UIDVALIDITY)
		u->uidvalidity = ev->u.state.code.num;
	sel_event(&u->sel, ev);
	return 0;
}

/* ------------------------------------------------------------ metadata */

/* src_meta: one "* N FETCH (UID FLAGS INTERNALDATE RFC822.SIZE)". */
static int src_meta(struct src_open *so, const struct imap_fetch *fi, const char *text)
{
	struct cp *cp = so->cp;

	if (!fi->has_uid || !fi->has_flags || !fi->has_date || !fi->has_size)
		return cperr(cp, "FETCH response without UID, FLAGS, INTERNALDATE or size: %.100s",
			     text);
	if (fi->seq != so->n + 1)
		return cperr(cp, "FETCH response out of sequence: %.100s", text);
	if (so->n == so->cap) {
		so->cap = so->cap ? 2 * so->cap : 64;
		so->msgs = xrealloc(so->msgs, so->cap * sizeof(*so->msgs));
	}
	struct msg *m = &so->msgs[so->n++];

	memset(m, 0, sizeof(*m));
	m->uid = fi->uid;
	m->seq = (unsigned)fi->seq;
	m->size = fi->size;
	m->flags = xstrndup(fi->flags, fi->flags_len);
	snprintf(m->date, sizeof(m->date), "%s", fi->date);
	return 0;
}

static int src_open_event(void *ctx, const struct imap_event *ev)
{
	struct src_open *so = ctx;

	if (ev->type == IMAP_EV_FETCH && ev->bad)
		return cperr(so->cp, "malformed FETCH response: %.100s", ev->raw.p);
	if (ev->type == IMAP_EV_FETCH)
		return src_meta(so, &ev->u.fetch, ev->raw.p);
	return uv_event(&so->uv, ev);
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

/*
 * src_open_start: EXAMINE F and list its messages (UID FETCH 1:* is valid
 * on an empty folder, so the listing need not wait for EXISTS).
 */
int src_open_start(struct cp *cp, const struct folder *f)
{
	struct src_open *so = &cp->so;

	src_open_free(so);
	memset(&so->uv, 0, sizeof(so->uv));
	so->f = f;
	so->cp = cp;
	so->h = (struct imap_handler){.event = src_open_event, .ctx = so};
	imap_set_handler(cp->src, &so->h);
	so->exam_tag = imap_cmd(cp->src, "EXAMINE %s", imap_q(cp->src, f->name));
	so->fetch_tag = imap_cmd(cp->src, "UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE)");
	so->active = 1;
	if (imap_flush(cp->src) < 0)
		return conn_fail(cp, cp->src);
	return 0;
}

/* src_open_finish: collect F's EXAMINE and listing into cp->msgs. */
int src_open_finish(struct cp *cp, const struct folder *f)
{
	struct src_open *so = &cp->so;
	enum imap_status st;
	const char *text;

	if ((!so->active || so->f != f) && src_open_start(cp, f) < 0)
		return -1;
	so->active = 0;
	if (imap_wait(cp->src, so->exam_tag, &st, &text) < 0)
		return cp->err[0] ? -1 : conn_fail(cp, cp->src);
	if (st != IMAP_OK)
		return cperr(cp, "EXAMINE %s: %s %s", f->name, st == IMAP_NO ? "NO" : "BAD", text);
	if (so->uv.uidvalidity == 0)
		return cperr(cp, "EXAMINE %s: no UIDVALIDITY", f->name);
	if (imap_wait(cp->src, so->fetch_tag, &st, &text) < 0)
		return cp->err[0] ? -1 : conn_fail(cp, cp->src);
	imap_set_handler(cp->src, NULL);
	if (cp->err[0])
		return -1;
	if (st != IMAP_OK)
		return cperr(cp, "UID FETCH in %s: %s", f->name, text);
	free_msgs(cp);
	cp->msgs = so->msgs;
	cp->nmsgs = so->n;
	so->msgs = NULL;
	so->n = so->cap = 0;
	cp->src_uidvalidity = so->uv.uidvalidity;
	cp->src_exists = so->uv.sel.exists;
	if (so->uv.sel.expunge || cp->nmsgs != cp->src_exists)
		return cperr(cp, "folder %s changed while it was read (%zu of %llu messages)",
			     f->name, cp->nmsgs, cp->src_exists);
	return 0;
}

/*
 * dst_open_start: SELECT F on the target. Its untagged responses reach
 * cp->dso through the target's handler (dst_untagged); anything another
 * command left pending before it is answered first, as IMAP orders them.
 */
void dst_open_start(struct cp *cp, const struct folder *f)
{
	struct dst_open *d = &cp->dso;

	free(d->permflags);
	memset(d, 0, sizeof(*d));
	d->f = f;
	d->uv.sel.permflags = &d->permflags;
	imap_set_handler(cp->dst, &cp->dst_h);
	d->tag = imap_cmd(cp->dst, "SELECT %s", imap_q(cp->dst, f->dst));
	d->active = 1;
}

int dst_open_finish(struct cp *cp, const struct folder *f, unsigned long long *exists_r)
{
	struct dst_open *d = &cp->dso;
	enum imap_status st;
	const char *text;

	if (!d->active || d->f != f)
		dst_open_start(cp, f);
	if (imap_wait(cp->dst, d->tag, &st, &text) < 0)
		return cp->err[0] ? -1 : conn_fail(cp, cp->dst);
	d->active = 0;
	if (cp->err[0])
		return -1;
	if (st != IMAP_OK)
		return cperr(cp, "SELECT %s: %s %s", f->dst, st == IMAP_NO ? "NO" : "BAD", text);
	if (d->uv.uidvalidity == 0)
		return cperr(cp, "SELECT %s: no UIDVALIDITY", f->dst);
	cp->dst_uidvalidity = d->uv.uidvalidity;
	*exists_r = d->uv.sel.exists;
	free(cp->permflags);
	cp->permflags = d->permflags;
	d->permflags = NULL;
	return 0;
}
