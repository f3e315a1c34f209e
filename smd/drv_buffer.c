/*
 * drv_buffer - the agent data buffer as a source driver (drv_buffer.h).
 * Synchronous underneath: an operation is queued at its start and runs,
 * callbacks and all, when poll() or wait() reaches it, so the engine sees
 * the same order of events as from an IMAP server.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "drv_buffer.h"
#include "imap_parse.h"
#include "store_buffer.h"
#include "xalloc.h"

#define CHUNK 65536

enum kind { K_SIMPLE, K_LIST, K_OPEN, K_FETCH };

struct op {
	unsigned id;
	enum kind kind;
	unsigned how;
	struct drv_cb cb;
	char *arg; /* open: the folder; fetch: the UID set */
	int done;
	enum drv_status status;
	char text[300];
	struct drv_box box;
	unsigned counted;
	unsigned long long seq; /* open: messages listed */
};

struct drv_buffer {
	struct drv base;
	struct store *s;
	long long req;
	int spool_fd, req_fd; /* the spool directory, this request's (or -1) */
	struct op *q;	      /* started, not yet waited for, in start order */
	size_t n, cap;
	unsigned next_id;
	char *folder; /* the current folder (its open ran), or NULL */
	struct op last;
	long long fd_batch; /* the batch whose file is open in fd */
	int fd;
	EVP_MD_CTX *md;
	char buf[CHUNK];
	char err[400];
};

/* dfail: the driver fails; its first reason is kept (driver.h drv_err). */
#define dfail(d, ...) drv_err((d)->err, sizeof((d)->err), __VA_ARGS__)

int drv_buffer_path_ok(const char *path, long long request_id)
{
	char want[32];
	int n = snprintf(want, sizeof(want), "%lld/", request_id);

	/* The prefix first: a shorter PATH must not be read past its end. */
	if (request_id <= 0 || strncmp(path, want, (size_t)n) != 0)
		return 0;
	const char *p = path + n;
	size_t digits = strspn(p, "0123456789");

	return digits > 0 && digits <= 19 && strcmp(p + digits, ".batch") == 0;
}

/* ------------------------------------------------------------ queue */

static unsigned push(struct drv_buffer *d, enum kind k, unsigned how, const char *arg,
		     const struct drv_cb *cb)
{
	if (d->err[0])
		return 0;
	if (d->n == d->cap) {
		d->cap = d->cap ? 2 * d->cap : 16;
		d->q = xrealloc(d->q, d->cap * sizeof(*d->q));
	}
	struct op *o = &d->q[d->n++];

	memset(o, 0, sizeof(*o));
	o->id = ++d->next_id ? d->next_id : ++d->next_id;
	o->kind = k;
	o->how = how;
	o->arg = arg ? xstrdup(arg) : NULL;
	if (cb)
		o->cb = *cb;
	return o->id;
}

static struct op *find(struct drv_buffer *d, unsigned id)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->q[i].id == id)
			return &d->q[i];
	return NULL;
}

static int store_err(struct drv_buffer *d)
{
	return dfail(d, "data buffer: %s", store_errmsg(d->s));
}

/* ------------------------------------------------------------ list */

struct item_ctx {
	struct drv_buffer *d;
	struct op *o;
};

static int list_row(void *ctx, const struct buffer_folder *bf)
{
	struct op *o = ((struct item_ctx *)ctx)->o;
	struct drv_folder f = {.name = bf->name, .sep = bf->sep, .attrs = bf->attrs};

	/* As an IMAP server lists them: LIST (the folders that exist), then
	 * LSUB (every subscription); the counts as LIST-STATUS gives them. */
	if (!(bf->attrs & DRV_F_NONEXISTENT) && o->cb.folder && o->cb.folder(o->cb.ctx, &f) < 0)
		return -1;
	if ((o->how & DRV_LIST_COUNTS) && !(bf->attrs & DRV_F_NOSELECT) && o->cb.count &&
	    o->cb.count(o->cb.ctx, (unsigned long long)bf->items, (unsigned long long)bf->bytes) <
		    0)
		return -1;
	f.subscribed = 1;
	if (bf->subscribed && (o->how & DRV_LIST_SUBS) && o->cb.folder &&
	    o->cb.folder(o->cb.ctx, &f) < 0)
		return -1;
	return 0;
}

static int run_list(struct drv_buffer *d, struct op *o)
{
	struct item_ctx ic = {d, o};
	int r = store_buffer_folders_each(d->s, d->req, list_row, &ic);

	if (r == STORE_ERR)
		return store_err(d);
	if (r != 0)
		return dfail(d, "list: a callback failed");
	o->counted = (o->how & DRV_LIST_COUNTS) ? DRV_COUNT_MESSAGES | DRV_COUNT_BYTES : 0;
	return 0;
}

/* ------------------------------------------------------------ open */

/* flag_ok: W/N is an IMAP flag: "\\" atom, or atom (RFC 3501 ATOM-CHAR). */
static int flag_ok(const char *w, size_t n)
{
	size_t i = w[0] == '\\' ? 1 : 0;

	if (i == n || n > 256)
		return 0;
	for (; i < n; i++) {
		unsigned char c = (unsigned char)w[i];

		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c))
			return 0;
	}
	return 1;
}

/*
 * meta_ok: IT's flags and date can go into an APPEND as they are: the
 * agent's words reach the target's protocol, so they are checked here as
 * well as where fedmig-apid took them in.
 */
static int meta_ok(struct drv_buffer *d, const char *folder, const struct buffer_item *it)
{
	const char *p = it->flags, *end = p + strlen(p), *w;
	size_t wl;
	long long t;

	while (imap_word(&p, end, &w, &wl))
		if (!flag_ok(w, wl))
			return dfail(d, "folder %s uid %llu: a bad flag in the data buffer: %.*s",
				     folder, it->uid, (int)(wl < 60 ? wl : 60), w);
	if (strlen(it->date) >= 40 || imap_date_parse(it->date, &t) < 0)
		return dfail(d, "folder %s uid %llu: a bad date in the data buffer: %.40s", folder,
			     it->uid, it->date);
	return 0;
}

static int open_row(void *ctx, const struct buffer_item *it)
{
	struct item_ctx *ic = ctx;
	struct op *o = ic->o;
	struct drv_meta m = {.seq = ++o->seq, .uid = it->uid, .size = it->size,
			     .flags = it->flags, .flags_len = strlen(it->flags), .date = it->date};

	if (meta_ok(ic->d, o->arg, it) < 0)
		return -1;
	return o->cb.meta ? (o->cb.meta(o->cb.ctx, &m) < 0 ? -1 : 0) : 0;
}

static int run_open(struct drv_buffer *d, struct op *o)
{
	struct buffer_folder bf;
	int r = store_buffer_folder_find(d->s, d->req, o->arg, &bf);

	if (r == STORE_ERR)
		return store_err(d);
	free(d->folder);
	d->folder = NULL;
	if (r == STORE_NOTFOUND || (bf.attrs & DRV_F_NOSELECT)) {
		o->status = DRV_NO;
		snprintf(o->text, sizeof(o->text), "%s: no such folder in the data buffer", o->arg);
		return 0;
	}
	d->folder = xstrdup(o->arg);
	o->box.uidvalidity = 1;
	if (o->how & DRV_OPEN_META) {
		struct item_ctx ic = {d, o};

		r = store_buffer_items_each(d->s, d->req, o->arg, 1, ~0ULL, open_row, &ic);
		if (r == STORE_ERR)
			return store_err(d);
		if (r != 0)
			return -1;
	}
	o->box.exists = o->seq;
	return 0;
}

/* ------------------------------------------------------------ fetch */

/* batch_open: IT's batch file in d->fd (kept open for the next item). */
static int batch_open(struct drv_buffer *d, const struct buffer_item *it)
{
	if (d->fd >= 0 && d->fd_batch == it->batch)
		return 0;
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	if (!drv_buffer_path_ok(it->path, d->req))
		return dfail(d, "folder %s uid %llu: batch %lld has a bad path <%.80s>", d->folder,
			     it->uid, it->batch, it->path);
	if (d->req_fd < 0) {
		char name[32];

		snprintf(name, sizeof(name), "%lld", d->req);
		d->req_fd = openat(d->spool_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (d->req_fd < 0)
			return dfail(d, "spool directory %s: %s", name, strerror(errno));
	}
	d->fd = openat(d->req_fd, strchr(it->path, '/') + 1, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (d->fd < 0)
		return dfail(d, "folder %s uid %llu: batch file %s: %s", d->folder, it->uid,
			     it->path, strerror(errno));
	d->fd_batch = it->batch;
	return 0;
}

/* stream_body: IT's bytes to the callbacks, checked against its SHA-256 before the last chunk. */
static int stream_body(struct drv_buffer *d, struct op *o, const struct buffer_item *it)
{
	unsigned long long left = it->size, off = it->offset;
	unsigned char sha[32];

	EVP_DigestInit_ex(d->md, EVP_sha256(), NULL);
	do {
		size_t want = left < CHUNK ? (size_t)left : CHUNK;
		ssize_t n = want ? pread(d->fd, d->buf, want, (off_t)off) : 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return dfail(d, "batch file %s: %s", it->path, strerror(errno));
		if (n == 0 && want)
			return dfail(d, "folder %s uid %llu: batch file %s ends inside the message",
				     d->folder, it->uid, it->path);
		EVP_DigestUpdate(d->md, d->buf, (size_t)n);
		left -= (unsigned long long)n;
		off += (unsigned long long)n;
		if (left == 0) {
			EVP_DigestFinal_ex(d->md, sha, NULL);
			if (memcmp(sha, it->sha256, 32) != 0)
				return dfail(d, "folder %s uid %llu: the bytes in batch file %s do not "
						"match their SHA-256",
					     d->folder, it->uid, it->path);
		}
		if (o->cb.data && o->cb.data(o->cb.ctx, d->buf, (size_t)n, left == 0) < 0)
			return -1;
	} while (left > 0);
	return 0;
}

static int fetch_row(void *ctx, const struct buffer_item *it)
{
	struct item_ctx *ic = ctx;
	struct drv_buffer *d = ic->d;
	struct op *o = ic->o;
	int body = (o->how & DRV_FETCH_BODY) != 0;

	if (body) {
		struct drv_body b = {.uid = it->uid, .has_uid = 1, .size = it->size};

		if (it->freed || it->path[0] == '\0')
			return dfail(d, "folder %s uid %llu: freed from the data buffer (its bytes "
					"are gone)",
				     d->folder, it->uid);
		if (batch_open(d, it) < 0)
			return -1;
		if (o->cb.body && o->cb.body(o->cb.ctx, &b) < 0)
			return -1;
		if (stream_body(d, o, it) < 0)
			return -1;
	}
	struct drv_meta m = {.uid = it->uid, .size = it->size};

	if (meta_ok(d, d->folder, it) < 0)
		return -1;
	if (body || (o->how & DRV_FETCH_FLAGS)) {
		m.flags = it->flags;
		m.flags_len = strlen(it->flags);
	}
	if (body || (o->how & DRV_FETCH_DATE))
		m.date = it->date;
	return o->cb.meta && o->cb.meta(o->cb.ctx, &m) < 0 ? -1 : 0;
}

/* next_range: the next "a", "a:b" or "a:*" of *SET; 0 at its end, -1 if malformed. */
static int next_range(const char **set, unsigned long long *a, unsigned long long *b)
{
	char *end;

	if (**set == '\0')
		return 0;
	*a = strtoull(*set, &end, 10);
	if (end == *set || *a == 0)
		return -1;
	*b = *a;
	if (*end == ':') {
		const char *p = end + 1;

		if (*p == '*') {
			*b = ~0ULL;
			end = (char *)p + 1;
		} else if ((*b = strtoull(p, &end, 10)) == 0 || end == p) {
			return -1;
		}
	}
	if (*a > *b) {
		unsigned long long t = *a;

		*a = *b;
		*b = t;
	}
	if (*end != ',' && *end != '\0')
		return -1;
	*set = *end ? end + 1 : end;
	return 1;
}

static int run_fetch(struct drv_buffer *d, struct op *o)
{
	struct item_ctx ic = {d, o};
	const char *set = o->arg;
	unsigned long long a, b;
	int r;

	if (d->folder == NULL)
		return dfail(d, "fetch with no folder open");
	while ((r = next_range(&set, &a, &b)) > 0) {
		int er = store_buffer_items_each(d->s, d->req, d->folder, a, b, fetch_row, &ic);

		if (er == STORE_ERR)
			return store_err(d);
		if (er != 0)
			return -1;
	}
	return r < 0 ? dfail(d, "bad UID set: %.80s", o->arg) : 0;
}

/* ------------------------------------------------------------ completion */

/* run_next: run the oldest operation not yet run; 0 when there is none. */
static int run_next(struct drv_buffer *d)
{
	struct op *o = NULL;
	int r = 0;

	for (size_t i = 0; i < d->n && o == NULL; i++)
		if (!d->q[i].done)
			o = &d->q[i];
	if (o == NULL || d->err[0])
		return d->err[0] ? -1 : 0;
	/* It runs on a copy: a callback may start an operation, which moves
	 * the queue. */
	struct op cur = *o;

	switch (cur.kind) {
	case K_LIST:
		r = run_list(d, &cur);
		break;
	case K_OPEN:
		r = run_open(d, &cur);
		break;
	case K_FETCH:
		r = run_fetch(d, &cur);
		break;
	case K_SIMPLE:
		break;
	}
	if (r < 0)
		return dfail(d, "a callback failed");
	o = find(d, cur.id);
	*o = cur;
	o->done = 1;
	return 1;
}

static int op_poll(struct drv *dv, int block)
{
	struct drv_buffer *d = (struct drv_buffer *)dv;

	(void)block; /* nothing ever arrives: the next operation runs now */
	return run_next(d) < 0 ? -1 : 0;
}

static int op_done(const struct drv *dv, unsigned id)
{
	const struct drv_buffer *d = (const struct drv_buffer *)dv;

	for (size_t i = 0; i < d->n; i++)
		if (d->q[i].id == id)
			return d->q[i].done;
	return 1; /* waited for already */
}

static int op_wait(struct drv *dv, unsigned id, struct drv_result *res)
{
	struct drv_buffer *d = (struct drv_buffer *)dv;
	struct op *o;

	memset(res, 0, sizeof(*res));
	res->status = DRV_FAILED;
	if (find(d, id) == NULL)
		return dfail(d, "wait for an unknown operation");
	while ((o = find(d, id)) != NULL && !o->done)
		if (run_next(d) < 0)
			return -1;
	free(d->last.arg);
	d->last = *o;
	memmove(o, o + 1, (size_t)(d->q + d->n - (o + 1)) * sizeof(*o));
	d->n--;
	res->status = d->last.status;
	res->text = d->last.text[0] ? d->last.text : "done";
	if (d->last.kind == K_OPEN)
		res->box = &d->last.box;
	res->counted = d->last.counted;
	return 0;
}

/* ------------------------------------------------------------ operations */

static unsigned op_list(struct drv *dv, unsigned how, const struct drv_cb *cb)
{
	return push((struct drv_buffer *)dv, K_LIST, how, NULL, cb);
}

static unsigned op_open(struct drv *dv, const char *folder, unsigned how, const struct drv_cb *cb)
{
	struct drv_buffer *d = (struct drv_buffer *)dv;

	if (how & DRV_OPEN_WRITE)
		return dfail(d, "the data buffer is read-only"), 0;
	return push(d, K_OPEN, how, folder, cb);
}

static unsigned op_fetch(struct drv *dv, const char *uidset, unsigned what, const struct drv_cb *cb)
{
	return push((struct drv_buffer *)dv, K_FETCH, what, uidset, cb);
}

static unsigned read_only(struct drv_buffer *d)
{
	dfail(d, "the data buffer is read-only");
	return 0;
}

static unsigned op_append_start(struct drv *dv, const char *folder)
{
	(void)folder;
	return read_only((struct drv_buffer *)dv);
}

static int op_append_msg(struct drv *dv, unsigned op, const char *flags, const char *date,
			 uint64_t size)
{
	(void)op, (void)flags, (void)date, (void)size;
	return read_only((struct drv_buffer *)dv), -1;
}

static int op_append_data(struct drv *dv, const void *data, size_t n)
{
	(void)data, (void)n;
	return read_only((struct drv_buffer *)dv), -1;
}

static int op_append_end(struct drv *dv, unsigned op)
{
	(void)op;
	return read_only((struct drv_buffer *)dv), -1;
}

static unsigned op_store_flags(struct drv *dv, unsigned long long uid, const char *flags)
{
	(void)uid, (void)flags;
	return read_only((struct drv_buffer *)dv);
}

static unsigned op_add_flags(struct drv *dv, const char *uidset, const char *flags)
{
	(void)uidset, (void)flags;
	return read_only((struct drv_buffer *)dv);
}

static unsigned op_expunge(struct drv *dv, const char *uidset)
{
	(void)uidset;
	return read_only((struct drv_buffer *)dv);
}

static unsigned op_folder_write(struct drv *dv, const char *folder)
{
	(void)folder;
	return read_only((struct drv_buffer *)dv);
}

static unsigned op_check(struct drv *dv)
{
	return push((struct drv_buffer *)dv, K_SIMPLE, 0, NULL, NULL);
}

static int op_flush(struct drv *dv)
{
	return ((struct drv_buffer *)dv)->err[0] ? -1 : 0;
}

static unsigned op_caps(const struct drv *dv)
{
	(void)dv;
	return 0;
}

static const char *op_error(const struct drv *dv)
{
	const struct drv_buffer *d = (const struct drv_buffer *)dv;

	return d->err[0] ? d->err : "data buffer: no error";
}

static void op_free(struct drv *dv)
{
	struct drv_buffer *d = (struct drv_buffer *)dv;

	if (d == NULL)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(d->q[i].arg);
	free(d->q);
	free(d->last.arg);
	free(d->folder);
	if (d->fd >= 0)
		close(d->fd);
	if (d->req_fd >= 0)
		close(d->req_fd);
	if (d->spool_fd >= 0)
		close(d->spool_fd);
	EVP_MD_CTX_free(d->md);
	free(d);
}

static const struct drv_ops buffer_ops = {
	.name = "buffer",
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
	.create = op_folder_write,
	.subscribe = op_folder_write,
	.check = op_check,
	.flush = op_flush,
	.poll = op_poll,
	.wait = op_wait,
	.done = op_done,
	.caps = op_caps,
	.error = op_error,
	.free = op_free,
};

struct drv *drv_buffer_new(struct store *s, long long request_id, const char *spool_dir,
			   char **err_r)
{
	int fd = open(spool_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		*err_r = xasprintf("spool directory %s: %s", spool_dir, strerror(errno));
		return NULL;
	}
	struct drv_buffer *d = xcalloc(1, sizeof(*d));

	d->base.ops = &buffer_ops;
	d->s = s;
	d->req = request_id;
	d->spool_fd = fd;
	d->req_fd = d->fd = -1;
	d->md = EVP_MD_CTX_new();
	if (d->md == NULL) {
		op_free(&d->base);
		*err_r = xstrdup("out of memory");
		return NULL;
	}
	return &d->base;
}
