/*
 * src_imap - the local IMAP server as a source (source.h), through
 * fedmig-smd's client and driver (smd/imap.h, smd/drv_imap.h), logged in
 * as fedmig-smd would with NAME_credentials. Read only: folders are
 * opened with EXAMINE and bodies fetched with BODY.PEEK[].
 * The cursor is "UIDVALIDITY.LASTUID", a message's key "UIDVALIDITY.UID".
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copy.h"
#include "drv_imap.h"
#include "imap.h"
#include "log.h"
#include "smd.h"
#include "source.h"
#include "xalloc.h"

struct imap_src {
	struct source base;
	const struct config *cfg;
	char *system, *mailbox;
	struct drv *d;
};

struct im_msg {
	unsigned long long uid, size;
	char *flags, *date;
};

struct im_list {
	struct im_msg *v;
	size_t n, cap;
	unsigned long long after;
};

/* connect_login: the driver, logged in; *permanent_r when the login was refused. */
static int connect_login(struct imap_src *s, int *permanent_r, char **err_r)
{
	struct copy_side side;
	struct imap_conn *c;

	*permanent_r = 0;
	if (s->d != NULL)
		return 0;
	if (smd_side_init(s->cfg, s->system, s->mailbox, &side, err_r) < 0) {
		*permanent_r = 1;
		return -1;
	}
	if ((c = imap_connect(&side.imap, err_r)) == NULL) {
		smd_side_free(&side);
		return -1;
	}
	if (imap_login(c, side.user, side.master, side.master_sep, side.password) < 0) {
		*err_r = xasprintf("login: %s", imap_error(c));
		*permanent_r = strstr(*err_r, "AUTH") != NULL;
		imap_close(&c);
		smd_side_free(&side);
		return -1;
	}
	smd_side_free(&side);
	s->d = drv_imap_new(c);
	return 0;
}

/* finish: wait for OP; 0 when it went well. */
static int finish(struct imap_src *s, unsigned op, const char *what, char **err_r)
{
	struct drv_result r;

	if (op == 0 || s->d->ops->wait(s->d, op, &r) < 0) {
		*err_r = xasprintf("%s: %s", what, s->d->ops->error(s->d));
		s->d->ops->free(s->d);
		s->d = NULL;
		return -1;
	}
	if (r.status != DRV_OK) {
		*err_r = xasprintf("%s: %s", what, r.text ? r.text : "refused");
		return -1;
	}
	return 0;
}

static int im_test(struct source *src, int *permanent_r, char **err_r)
{
	return connect_login((struct imap_src *)src, permanent_r, err_r);
}

static int im_list(struct source *src, int (*folder)(void *ctx, const struct drv_folder *f),
		   void *ctx, char **err_r)
{
	struct imap_src *s = (struct imap_src *)src;
	struct drv_cb cb = {.ctx = ctx, .folder = folder};
	int permanent;

	if (connect_login(s, &permanent, err_r) < 0)
		return -1;
	return finish(s, s->d->ops->list(s->d, DRV_LIST_SUBS, &cb), "LIST", err_r);
}

static int on_meta(void *ctx, const struct drv_meta *m)
{
	struct im_list *l = ctx;
	char *f, *p;

	if (m->uid <= l->after || m->flags == NULL || m->date == NULL)
		return 0;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	/* \Recent is the session's, never a message's to copy. */
	f = xstrndup(m->flags, m->flags_len);
	while ((p = strstr(f, "\\Recent")) != NULL)
		memmove(p, p + 7, strlen(p + 7) + 1);
	l->v[l->n++] = (struct im_msg){.uid = m->uid, .size = m->size, .flags = f,
				       .date = xstrdup(m->date)};
	return 0;
}

static void im_list_free(struct im_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].flags);
		free(l->v[i].date);
	}
	free(l->v);
}

struct im_body {
	const struct src_emit *emit;
	const struct im_msg *msg;
	unsigned long long uidvalidity;
};

static int on_body(void *ctx, const struct drv_body *b)
{
	struct im_body *ib = ctx;
	char key[64], *flags = xstrdup(ib->msg->flags), *p;
	int rc;

	snprintf(key, sizeof(key), "%llu.%llu", ib->uidvalidity, ib->msg->uid);
	/* The flags as a space-separated list, without blanks at the ends. */
	for (p = flags; *p == ' '; p++)
		;
	memmove(flags, p, strlen(p) + 1);
	for (p = flags + strlen(flags); p > flags && p[-1] == ' '; p--)
		p[-1] = '\0';
	while ((p = strstr(flags, "  ")) != NULL)
		memmove(p, p + 1, strlen(p));
	rc = ib->emit->begin(ib->emit->ctx, key, flags, ib->msg->date);
	free(flags);
	return rc;
}

static int on_data(void *ctx, const char *d, size_t n, int end)
{
	struct im_body *ib = ctx;

	return n ? ib->emit->data(ib->emit->ctx, d, n) : 0;
}

/* emit_one: fetch message M's body into EMIT. */
static int emit_one(struct imap_src *s, const struct im_msg *m, unsigned long long uidvalidity,
		    const struct src_emit *emit, char **err_r)
{
	struct im_body ib = {.emit = emit, .msg = m, .uidvalidity = uidvalidity};
	struct drv_cb cb = {.ctx = &ib, .body = on_body, .data = on_data};
	char uid[32];

	snprintf(uid, sizeof(uid), "%llu", m->uid);
	if (finish(s, s->d->ops->fetch(s->d, uid, DRV_FETCH_BODY, &cb), "FETCH", err_r) < 0)
		return -1;
	return emit->end(emit->ctx);
}

/* open_list: FOLDER examined, its messages after the cursor's UID in *L. */
static int open_list(struct imap_src *s, const char *folder, const char *cursor,
		     struct im_list *l, unsigned long long *uidvalidity_r, char **err_r)
{
	struct drv_result r = {0};
	unsigned long long cv = 0, cu = 0;
	struct drv_cb cb = {.ctx = l, .meta = on_meta};
	char set[48];
	unsigned op = s->d->ops->open(s->d, folder, 0, &cb);

	if (op == 0 || s->d->ops->wait(s->d, op, &r) < 0 || r.status != DRV_OK) {
		*err_r = xasprintf("EXAMINE %s: %s", folder,
				   op && r.status != DRV_OK ? "refused" : s->d->ops->error(s->d));
		return -1;
	}
	*uidvalidity_r = r.box ? r.box->uidvalidity : 0;
	if (*cursor && (sscanf(cursor, "%llu.%llu", &cv, &cu) != 2 || cv != *uidvalidity_r)) {
		log_warn("folder %s: UIDVALIDITY changed since cursor %s: read again", folder,
			 cursor);
		cu = 0;
	}
	l->after = cu;
	snprintf(set, sizeof(set), "%llu:*", cu + 1);
	return finish(s, s->d->ops->fetch(s->d, set, DRV_FETCH_FLAGS | DRV_FETCH_DATE | DRV_FETCH_SIZE, &cb),
		      "UID FETCH", err_r);
}

static int im_items(struct source *src, const char *folder, const char *cursor,
		    long long max_items, long long max_bytes, const struct src_emit *emit,
		    char **cursor_r, int *more_r, char **err_r)
{
	struct imap_src *s = (struct imap_src *)src;
	struct im_list l = {0};
	unsigned long long uv = 0;
	long long bytes = 0;
	size_t i;
	int permanent, rc = 0;

	*err_r = NULL;
	*cursor_r = xstrdup(cursor);
	if (connect_login(s, &permanent, err_r) < 0 || open_list(s, folder, cursor, &l, &uv, err_r) < 0) {
		im_list_free(&l);
		return -1;
	}
	for (i = 0; rc == 0 && i < l.n && i < (size_t)max_items; i++) {
		if (i > 0 && bytes + (long long)l.v[i].size > max_bytes)
			break;
		bytes += (long long)l.v[i].size;
		if ((rc = emit_one(s, &l.v[i], uv, emit, err_r)) == 0) {
			free(*cursor_r);
			*cursor_r = xasprintf("%llu.%llu", uv, l.v[i].uid);
		}
	}
	*more_r = i < l.n;
	im_list_free(&l);
	return rc;
}

static void im_free(struct source *src)
{
	struct imap_src *s = (struct imap_src *)src;

	if (s->d)
		s->d->ops->free(s->d);
	free(s->system);
	free(s->mailbox);
	free(s);
}

static const struct source_ops im_ops = {
	.test = im_test, .list = im_list, .items = im_items, .free = im_free};

struct source *src_imap_new(const struct config *cfg, const char *system, const char *mailbox,
			    char **err_r)
{
	struct imap_src *s = xcalloc(1, sizeof(*s));

	s->base.ops = &im_ops;
	s->cfg = cfg;
	s->system = xstrdup(system);
	s->mailbox = xstrdup(mailbox);
	return &s->base;
}
