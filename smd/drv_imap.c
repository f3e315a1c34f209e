/*
 * drv_imap - the IMAP driver (driver.h) over one logged-in imap.c
 * connection. Operations are IMAP commands, pipelined: an operation's id
 * is the tag of its last command. An untagged response belongs to the
 * oldest operation not yet completed that asked for its kind: a server
 * may run pipelined commands at once (Dovecot runs FETCHes side by side)
 * and interleave their responses, so the order alone does not tell.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drv_imap.h"
#include "xalloc.h"

enum kind { K_SIMPLE, K_LIST, K_OPEN, K_FETCH, K_APPEND };

/* One pending operation: tags first..last, sent back to back. */
struct pend {
	unsigned first, last;
	enum kind kind;
	unsigned how;
	struct drv_cb cb;
	struct drv_box box;
	char *permflags;
	size_t n; /* append: messages announced */
	unsigned counted; /* list: DRV_COUNT_* */
};

struct drv_imap {
	struct drv base;
	struct imap_conn *c;
	struct imap_handler h;
	struct pend *q; /* pending: q[head..nq) in the order they were started */
	size_t head, nq, cap;
	struct pend last;	 /* the operation wait() returned last (its box, permflags) */
	unsigned body_op;	 /* the operation whose body is streaming, or 0 */
	unsigned long long *uids; /* append results */
	char err[300];
};

/* dfail: the driver fails; its first reason is kept (driver.h drv_err). */
#define dfail(d, ...) drv_err((d)->err, sizeof((d)->err), __VA_ARGS__)

static struct pend *find(struct drv_imap *d, unsigned op);

/* accepts: P asked for responses like EV (a body: HAS_BODY). */
static int accepts(const struct pend *p, enum imap_ev type, int has_body)
{
	switch (type) {
	case IMAP_EV_FETCH:
		if (p->kind == K_OPEN)
			return (p->how & DRV_OPEN_META) != 0;
		return p->kind == K_FETCH && !(p->how & DRV_FETCH_BODY) == !has_body;
	case IMAP_EV_LIST:
	case IMAP_EV_STATUS:
		return p->kind == K_LIST;
	case IMAP_EV_EXISTS:
	case IMAP_EV_STATE:
		return p->kind == K_OPEN;
	case IMAP_EV_EXPUNGE:
		return p->kind == K_OPEN || p->cb.expunged != NULL;
	default:
		return 0;
	}
}

/* owner: the oldest operation not completed that takes such a response. */
static struct pend *owner(struct drv_imap *d, enum imap_ev type, int has_body)
{
	for (size_t i = d->head; i < d->nq; i++)
		if (!imap_done(d->c, d->q[i].last) && accepts(&d->q[i], type, has_body))
			return &d->q[i];
	return NULL;
}

static unsigned push(struct drv_imap *d, unsigned first, enum kind k, unsigned how,
		     const struct drv_cb *cb)
{
	if (d->nq == d->cap && d->head > 0) {
		memmove(d->q, d->q + d->head, (d->nq - d->head) * sizeof(*d->q));
		d->nq -= d->head;
		d->head = 0;
	} else if (d->nq == d->cap) {
		d->cap = d->cap ? 2 * d->cap : 16;
		d->q = xrealloc(d->q, d->cap * sizeof(*d->q));
	}
	struct pend *p = &d->q[d->nq++];

	memset(p, 0, sizeof(*p));
	p->first = first;
	p->last = imap_next_tag(d->c) - 1;
	p->kind = k;
	p->how = how;
	if (cb)
		p->cb = *cb;
	imap_set_handler(d->c, &d->h);
	return d->err[0] ? 0 : p->last;
}

/* ------------------------------------------------------------ events */

static int on_fetch(struct drv_imap *d, struct pend *p, const struct imap_event *ev)
{
	const struct imap_fetch *fi = &ev->u.fetch;
	int body = p->kind == K_FETCH && (p->how & DRV_FETCH_BODY);

	if (ev->bad)
		return dfail(d, "malformed FETCH response: %.100s", ev->raw.p);
	if (p->kind == K_OPEN && !(p->how & DRV_OPEN_META))
		return 0; /* news the server chose to tell */
	if (p->kind == K_OPEN &&
	    (!fi->has_uid || !fi->has_flags || !fi->has_date || !fi->has_size))
		return dfail(d, "FETCH response without UID, FLAGS, INTERNALDATE or size: %.100s",
			     ev->raw.p);
	/* Other FETCH responses of a fetch are flag changes the server chose
	 * to tell; an open's listing hands every one to the owner to judge. */
	if (p->kind == K_FETCH && (body ? !fi->has_body
				       : !fi->has_uid ||
						 ((p->how & DRV_FETCH_SIZE) && !fi->has_size)))
		return 0;
	if (p->cb.meta == NULL)
		return 0;
	struct drv_meta m = {.seq = fi->seq, .uid = fi->has_uid ? fi->uid : 0, .size = fi->size,
			     .flags = fi->has_flags ? fi->flags : NULL, .flags_len = fi->flags_len,
			     .date = fi->has_date ? fi->date : NULL};

	return p->cb.meta(p->cb.ctx, &m);
}

static int on_list(struct drv_imap *d, struct pend *p, const struct imap_event *ev)
{
	const struct imap_list *l = &ev->u.list;
	unsigned attrs = l->attr_bits & (DRV_F_NOSELECT | DRV_F_SENT | DRV_F_DRAFTS |
					 DRV_F_TRASH | DRV_F_JUNK | DRV_F_ARCHIVE);

	if (ev->bad)
		return dfail(d, "malformed LIST response: %.100s", ev->raw.p);
	if (l->attr_bits & IMAP_LIST_NONEXISTENT)
		attrs |= DRV_F_NOSELECT | DRV_F_NONEXISTENT;
	struct drv_folder f = {.name = l->name, .sep = l->sep, .attrs = attrs,
			       .subscribed = l->lsub};

	return p->cb.folder ? p->cb.folder(p->cb.ctx, &f) : 0;
}

/* on_state: the codes an open operation collects. */
static void on_state(struct pend *p, const struct imap_event *ev)
{
	const struct imap_code *code = &ev->u.state.code;

	if (ev->bad || p->kind != K_OPEN)
		return;
	if (code->type == IMAP_CODE_UIDVALIDITY) {
		p->box.uidvalidity = code->num;
	} else if (code->type == IMAP_CODE_PERMANENTFLAGS && (p->how & DRV_OPEN_PERMFLAGS)) {
		free(p->permflags);
		p->permflags = xstrndup(code->list.p, code->list.len);
	}
}

static int on_event(void *ctx, const struct imap_event *ev)
{
	struct drv_imap *d = ctx;
	int body = ev->type == IMAP_EV_FETCH && ev->u.fetch.has_body;
	struct pend *p = body && d->body_op ? find(d, d->body_op) : NULL;

	if (body)
		d->body_op = 0; /* the body's response is complete */
	if (ev->type == IMAP_EV_FETCH && ev->bad && d->nq > d->head)
		return dfail(d, "malformed FETCH response: %.100s", ev->raw.p);
	if (p == NULL && (p = owner(d, ev->type, body)) == NULL)
		return 0; /* nothing asked: unsolicited news */
	switch (ev->type) {
	case IMAP_EV_FETCH:
		return on_fetch(d, p, ev);
	case IMAP_EV_LIST:
		return p->kind == K_LIST ? on_list(d, p, ev) : 0;
	case IMAP_EV_STATUS:
		if (p->kind == K_LIST && !ev->bad && p->cb.count)
			return p->cb.count(p->cb.ctx, ev->u.status.messages, ev->u.status.size);
		return 0;
	case IMAP_EV_EXISTS:
		if (!ev->bad)
			p->box.exists = ev->u.num;
		return 0;
	case IMAP_EV_EXPUNGE:
		p->box.expunged = 1;
		return p->cb.expunged ? p->cb.expunged(p->cb.ctx) : 0;
	case IMAP_EV_STATE:
		on_state(p, ev);
		return 0;
	default:
		return 0;
	}
}

static int on_body(void *ctx, const struct imap_body *b)
{
	struct drv_imap *d = ctx;
	struct pend *p = owner(d, IMAP_EV_FETCH, 1);

	if (p == NULL || p->kind != K_FETCH || p->cb.body == NULL)
		return IMAP_LIT_INLINE;
	d->body_op = p->last;
	struct drv_body db = {.seq = b->seq, .uid = b->uid, .has_uid = b->has_uid,
			      .size = b->size};

	return p->cb.body(p->cb.ctx, &db) < 0 ? -1 : IMAP_LIT_STREAM;
}

static int on_data(void *ctx, const char *data, size_t n, int end)
{
	struct drv_imap *d = ctx;
	struct pend *p = d->body_op ? find(d, d->body_op) : NULL;

	if (p == NULL || p->cb.data == NULL)
		return 0;
	return p->cb.data(p->cb.ctx, data, n, end);
}

/* ------------------------------------------------------------ operations */

static unsigned op_list(struct drv *dv, unsigned how, const struct drv_cb *cb)
{
	struct drv_imap *d = (struct drv_imap *)dv;
	unsigned caps = imap_caps(d->c);
	int ext = (caps & IMAP_CAP_LIST_EXTENDED) != 0;
	const char *su = ext && (caps & IMAP_CAP_SPECIAL_USE) ? "SPECIAL-USE" : "";
	/* The size of the mailbox, to decide how many lanes it is worth. */
	const char *status = !(how & DRV_LIST_COUNTS) || !ext || !(caps & IMAP_CAP_LIST_STATUS)
				     ? ""
			     : caps & IMAP_CAP_STATUS_SIZE ? "STATUS (MESSAGES SIZE)"
							   : "STATUS (MESSAGES)";
	unsigned first = imap_cmd(d->c, "LIST \"\" \"\"");

	if (*su || *status)
		imap_cmd(d->c, "LIST \"\" \"*\" RETURN (%s%s%s)", su, *su && *status ? " " : "",
			 status);
	else
		imap_cmd(d->c, "LIST \"\" \"*\"");
	if (how & DRV_LIST_SUBS)
		imap_cmd(d->c, "LSUB \"\" \"*\"");
	unsigned op = push(d, first, K_LIST, how, cb);

	if (op && *status)
		d->q[d->nq - 1].counted = DRV_COUNT_MESSAGES |
					  (caps & IMAP_CAP_STATUS_SIZE ? DRV_COUNT_BYTES : 0);
	return op;
}

static unsigned op_open(struct drv *dv, const char *folder, unsigned how, const struct drv_cb *cb)
{
	struct drv_imap *d = (struct drv_imap *)dv;
	unsigned first = imap_cmd(d->c, "%s %s", how & DRV_OPEN_WRITE ? "SELECT" : "EXAMINE",
				  imap_q(d->c, folder));

	/* UID FETCH 1:* is valid on an empty folder: it need not wait for EXISTS. */
	if (how & DRV_OPEN_META)
		imap_cmd(d->c, "UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE)");
	return push(d, first, K_OPEN, how, cb);
}

static unsigned op_fetch(struct drv *dv, const char *uidset, unsigned what, const struct drv_cb *cb)
{
	struct drv_imap *d = (struct drv_imap *)dv;
	unsigned first = imap_cmd(d->c, "UID FETCH %s (%s%s%s%s%s)", uidset,
				  what & ~DRV_FETCH_BODY ? "UID" : "",
				  what & DRV_FETCH_SIZE ? " RFC822.SIZE" : "",
				  what & DRV_FETCH_FLAGS ? " FLAGS" : "",
				  what & DRV_FETCH_DATE ? " INTERNALDATE" : "",
				  what & DRV_FETCH_BODY ? (what & ~DRV_FETCH_BODY ? " BODY.PEEK[]"
										   : "BODY.PEEK[]")
							: "");

	return push(d, first, K_FETCH, what, cb);
}

static unsigned op_append_start(struct drv *dv, const char *folder)
{
	struct drv_imap *d = (struct drv_imap *)dv;
	unsigned tag = imap_take_tag(d->c);

	if (imap_writef(d->c, "A%u APPEND %s", tag, imap_q(d->c, folder)) < 0)
		return 0;
	return push(d, tag, K_APPEND, 0, NULL);
}

static struct pend *find(struct drv_imap *d, unsigned op)
{
	for (size_t i = d->head; i < d->nq; i++)
		if (d->q[i].last == op)
			return &d->q[i];
	return NULL;
}

static int op_append_msg(struct drv *dv, unsigned op, const char *flags, const char *date,
			 uint64_t size)
{
	struct drv_imap *d = (struct drv_imap *)dv;
	struct pend *p = find(d, op);
	int lp = (imap_caps(d->c) & IMAP_CAP_LITERALPLUS) != 0;

	if (p == NULL)
		return dfail(d, "append to an unknown operation");
	if (imap_writef(d->c, " (%s) \"%s\" {%llu%s}\r\n", flags, date, (unsigned long long)size,
			lp ? "+" : "") < 0)
		return -1;
	p->n++;
	if (!lp) {
		int w = imap_wait_continuation(d->c, op);

		if (w != 0)
			return w < 0 ? -1 : 1;
	}
	return 0;
}

static int op_append_data(struct drv *dv, const void *data, size_t n)
{
	return imap_write(((struct drv_imap *)dv)->c, data, n);
}

static int op_append_end(struct drv *dv, unsigned op)
{
	struct drv_imap *d = (struct drv_imap *)dv;

	(void)op;
	return imap_write(d->c, "\r\n", 2) < 0 || imap_flush(d->c) < 0 ? -1 : 0;
}

static unsigned simple(struct drv_imap *d, unsigned tag)
{
	return push(d, tag, K_SIMPLE, 0, NULL);
}

static unsigned op_store_flags(struct drv *dv, unsigned long long uid, const char *flags)
{
	struct drv_imap *d = (struct drv_imap *)dv;

	return simple(d, imap_cmd(d->c, "UID STORE %llu FLAGS.SILENT (%s)", uid, flags));
}

static unsigned op_add_flags(struct drv *dv, const char *uidset, const char *flags)
{
	struct drv_imap *d = (struct drv_imap *)dv;

	return simple(d, imap_cmd(d->c, "UID STORE %s +FLAGS.SILENT (%s)", uidset, flags));
}

static unsigned op_expunge(struct drv *dv, const char *uidset)
{
	struct drv_imap *d = (struct drv_imap *)dv;

	return simple(d, imap_cmd(d->c, "UID EXPUNGE %s", uidset));
}

static unsigned op_create(struct drv *dv, const char *folder)
{
	struct drv_imap *d = (struct drv_imap *)dv;

	return simple(d, imap_cmd(d->c, "CREATE %s", imap_q(d->c, folder)));
}

static unsigned op_subscribe(struct drv *dv, const char *folder)
{
	struct drv_imap *d = (struct drv_imap *)dv;

	return simple(d, imap_cmd(d->c, "SUBSCRIBE %s", imap_q(d->c, folder)));
}

static unsigned op_rename(struct drv *dv, const char *from, const char *to)
{
	struct drv_imap *d = (struct drv_imap *)dv;
	const char *f = imap_q(d->c, from); /* imap_q keeps 4 results: both live */

	return simple(d, imap_cmd(d->c, "RENAME %s %s", f, imap_q(d->c, to)));
}

static unsigned op_delete(struct drv *dv, const char *folder)
{
	struct drv_imap *d = (struct drv_imap *)dv;

	return simple(d, imap_cmd(d->c, "DELETE %s", imap_q(d->c, folder)));
}

static unsigned op_unsubscribe(struct drv *dv, const char *folder)
{
	struct drv_imap *d = (struct drv_imap *)dv;

	return simple(d, imap_cmd(d->c, "UNSUBSCRIBE %s", imap_q(d->c, folder)));
}

static unsigned op_move(struct drv *dv, const char *uidset, const char *folder)
{
	struct drv_imap *d = (struct drv_imap *)dv;

	return simple(d, imap_cmd(d->c, "UID MOVE %s %s", uidset, imap_q(d->c, folder)));
}

static unsigned op_copy(struct drv *dv, const char *uidset, const char *folder)
{
	struct drv_imap *d = (struct drv_imap *)dv;

	return simple(d, imap_cmd(d->c, "UID COPY %s %s", uidset, imap_q(d->c, folder)));
}

static unsigned op_check(struct drv *dv)
{
	struct drv_imap *d = (struct drv_imap *)dv;

	return simple(d, imap_cmd(d->c, "NOOP"));
}

/* ------------------------------------------------------------ completion */

static int op_flush(struct drv *dv)
{
	return imap_flush(((struct drv_imap *)dv)->c);
}

static int op_poll(struct drv *dv, int block)
{
	struct drv_imap *d = (struct drv_imap *)dv;

	if (d->err[0])
		return -1;
	imap_set_handler(d->c, &d->h);
	return imap_read(d->c, block) < 0 || d->err[0] ? -1 : 0;
}

static int op_done(const struct drv *dv, unsigned op)
{
	return imap_done(((const struct drv_imap *)dv)->c, op);
}

/* appended: the new UIDs of an APPEND, from its APPENDUID code. */
static void appended(struct drv_imap *d, const struct pend *p, struct drv_result *res)
{
	const struct imap_code *code = imap_result_code(d->c, p->last);

	if (code->type != IMAP_CODE_APPENDUID)
		return;
	d->uids = xrealloc(d->uids, (p->n + 1) * sizeof(*d->uids));
	long long k = imap_uidset_expand(code->set, d->uids, p->n);

	res->uidvalidity = code->num;
	res->uids = d->uids;
	res->nuids = k < 0 ? 0 : (size_t)k < p->n ? (size_t)k : p->n;
}

/* wait_tags: every command FIRST..LAST; the first that is not OK decides. */
static int wait_tags(struct drv_imap *d, unsigned first, unsigned last, struct drv_result *res)
{
	for (unsigned t = first; t <= last; t++) {
		enum imap_status st;
		const char *text;

		if (imap_wait(d->c, t, &st, &text) < 0)
			return -1;
		if (d->err[0])
			return -1;
		if (st != IMAP_OK && res->status == DRV_OK) {
			res->status = st == IMAP_NO ? DRV_NO : DRV_BAD;
			res->text = text;
			res->step = t - first;
		} else if (res->status == DRV_OK) {
			res->text = text;
		}
	}
	return 0;
}

static int op_wait(struct drv *dv, unsigned op, struct drv_result *res)
{
	struct drv_imap *d = (struct drv_imap *)dv;
	struct pend *p = find(d, op);

	memset(res, 0, sizeof(*res));
	if (p == NULL)
		return dfail(d, "wait for an unknown operation");
	imap_set_handler(d->c, &d->h);
	int r = wait_tags(d, p->first, p->last, res);

	p = find(d, op); /* a callback may have started an operation: the queue moved */
	free(d->last.permflags);
	d->last = *p;
	/* Operations are mostly collected in the order they were started:
	 * the oldest goes by moving the head, the others by a move. */
	if (p == &d->q[d->head]) {
		d->head++;
	} else {
		memmove(p, p + 1, (size_t)(d->q + d->nq - (p + 1)) * sizeof(*p));
		d->nq--;
	}
	if (d->head == d->nq)
		d->head = d->nq = 0;
	if (r < 0) {
		res->status = DRV_FAILED;
		return -1;
	}
	d->last.box.permflags = d->last.permflags;
	if (d->last.kind == K_OPEN)
		res->box = &d->last.box;
	res->counted = d->last.counted;
	if (d->last.kind == K_APPEND && res->status == DRV_OK)
		appended(d, &d->last, res);
	return 0;
}

static unsigned op_caps(const struct drv *dv)
{
	const struct drv_imap *d = (const struct drv_imap *)dv;

	unsigned c = imap_caps(d->c);

	return (c & IMAP_CAP_UIDPLUS ? DRV_CAP_APPEND_UIDS : 0) | (c & IMAP_CAP_MOVE ? DRV_CAP_MOVE : 0);
}

static const char *op_error(const struct drv *dv)
{
	const struct drv_imap *d = (const struct drv_imap *)dv;

	return d->err[0] ? d->err : imap_error(d->c);
}

static void op_free(struct drv *dv)
{
	struct drv_imap *d = (struct drv_imap *)dv;

	if (d == NULL)
		return;
	for (size_t i = d->head; i < d->nq; i++)
		free(d->q[i].permflags);
	free(d->last.permflags);
	free(d->q);
	free(d->uids);
	imap_close(&d->c);
	free(d);
}

static const struct drv_ops imap_ops = {
	.name = "imap",
	.list = op_list,
	.open = op_open,
	.fetch = op_fetch,
	.append_start = op_append_start,
	.append_msg = op_append_msg,
	.append_data = op_append_data,
	.append_end = op_append_end,
	.store_flags = op_store_flags,
	.add_flags = op_add_flags,
	.expunge = op_expunge,
	.create = op_create,
	.subscribe = op_subscribe,
	.rename = op_rename,
	.delete = op_delete,
	.unsubscribe = op_unsubscribe,
	.move = op_move,
	.copy = op_copy,
	.check = op_check,
	.flush = op_flush,
	.poll = op_poll,
	.wait = op_wait,
	.done = op_done,
	.caps = op_caps,
	.error = op_error,
	.free = op_free,
};

struct drv *drv_imap_new(struct imap_conn *c)
{
	struct drv_imap *d = xcalloc(1, sizeof(*d));

	d->base.ops = &imap_ops;
	d->c = c;
	d->h = (struct imap_handler){on_event, on_body, on_data, d};
	return &d->base;
}

struct imap_conn *drv_imap_borrow(struct drv *dv)
{
	struct drv_imap *d = (struct drv_imap *)dv;

	if (dv == NULL || dv->ops != &imap_ops || d->err[0] || d->head != d->nq)
		return NULL;
	return d->c;
}
