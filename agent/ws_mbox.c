/*
 * ws_mbox - the streaming scanner of an mbox or one message, and the
 * fd readers over it (ws_mbox.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "ws_mbox.h"
#include "xalloc.h"

#define CHUNK (256 * 1024)

struct ws_mbox {
	int one; /* no separators: the input is one message */
	int rd;  /* mboxrd: unquote ">From " lines */
	ws_msg_fn *fn;
	ws_data_fn *data; /* ws_mbox_copy: the bytes given */
	void *ctx;
	unsigned long long pos;      /* the offset of the next byte fed */
	unsigned long long line_off; /* the offset of the line in HEAD */
	char head[WS_HEAD_MAX];
	size_t hlen;
	int in_tail;    /* streaming the rest of a line longer than HEAD */
	int prev_blank; /* the last line was empty, or there was none */
	int in_msg, in_header, stopped;
	size_t pend;    /* a held-back empty line: its length (0: none) */
	struct ws_msg m;
	struct ws_mbox_stats st;
	EVP_MD_CTX *md;
};

struct ws_mbox *ws_mbox_new(enum ws_mbox_kind kind, ws_msg_fn *fn, void *ctx)
{
	struct ws_mbox *b = xcalloc(1, sizeof(*b));

	b->one = kind == WS_ONE;
	b->rd = kind == WS_MBOXRD;
	b->fn = fn;
	b->ctx = ctx;
	b->prev_blank = 1;
	b->md = EVP_MD_CTX_new();
	if (b->md == NULL)
		abort(); /* allocation failure: as xmalloc */
	return b;
}

void ws_mbox_free(struct ws_mbox **b)
{
	if (*b == NULL)
		return;
	EVP_MD_CTX_free((*b)->md);
	free(*b);
	*b = NULL;
}

static void start(struct ws_mbox *b, unsigned long long off, unsigned long long body,
		  time_t date, int dated)
{
	memset(&b->m, 0, sizeof(b->m));
	b->m.off = off;
	b->m.body_off = body;
	b->m.date = date;
	b->m.date_src = dated ? WS_DATE_FROM : WS_DATE_NONE;
	if (EVP_DigestInit_ex(b->md, EVP_sha256(), NULL) != 1)
		abort();
	b->in_msg = 1;
	b->in_header = 1;
	b->pend = 0;
}

/* body: N bytes of the message ending at file offset END. */
static int body(struct ws_mbox *b, const char *d, size_t n, unsigned long long end)
{
	if (n == 0)
		return 0;
	EVP_DigestUpdate(b->md, d, n);
	b->m.size += n;
	b->m.raw_len = end - b->m.body_off;
	if (b->data != NULL && b->data(b->ctx, d, n) < 0) {
		b->stopped = 1;
		return -1;
	}
	return 0;
}

static int end(struct ws_mbox *b)
{
	unsigned int len = 0;

	b->in_msg = 0;
	EVP_DigestFinal_ex(b->md, b->m.sha256, &len);
	b->st.msgs++;
	b->st.bytes += b->m.size;
	if (b->fn != NULL && b->fn(b->ctx, &b->m) < 0) {
		b->stopped = 1;
		return -1;
	}
	return 0;
}

/* quoted: the '>' to drop from a line head of mboxrd (">From " -> "From "). */
static size_t quoted(const struct ws_mbox *b, const char *h, size_t n)
{
	size_t i = 0;

	if (!b->rd)
		return 0;
	while (i < n && h[i] == '>')
		i++;
	return i > 0 && n - i >= 5 && memcmp(h + i, "From ", 5) == 0 ? 1 : 0;
}

/* line: the line head is complete (COMPLETE: it holds the whole line). */
static int line(struct ws_mbox *b, int complete)
{
	const char *h = b->head;
	size_t n = b->hlen, t = n, q;
	int blank;
	time_t date = 0;

	while (complete && t > 0 && (h[t - 1] == '\n' || h[t - 1] == '\r') && n - t < 2)
		t--; /* T: the line without its end */
	blank = complete && t == 0;
	if (!b->one && complete && b->prev_blank && t >= 5 &&
	    memcmp(h, "From ", 5) == 0 && ws_from_line(h, t, &date) == 0) {
		if (b->in_msg && end(b) < 0)
			return -1; /* the held-back empty line was the separator */
		start(b, b->line_off, b->line_off + n, date, 1);
		b->prev_blank = 0;
		return 0;
	}
	b->prev_blank = blank;
	if (!b->in_msg) {
		b->st.skipped += n;
		return 0;
	}
	if (b->pend > 0) {
		const char *e = b->pend == 2 ? "\r\n" : "\n";

		if (body(b, e, b->pend, b->line_off) < 0)
			return -1;
		b->pend = 0;
	}
	if (b->in_header && blank)
		b->in_header = 0;
	else if (b->in_header && complete)
		ws_header(&b->m, h, t);
	if (blank && !b->one) {
		b->pend = n; /* the separator, if a "From " line follows */
		return 0;
	}
	q = quoted(b, h, n);
	return body(b, h + q, n - q, b->line_off + n);
}

int ws_mbox_feed(struct ws_mbox *b, const char *d, size_t n)
{
	const char *nl;
	size_t k;

	if (b->stopped)
		return -1;
	if (b->one && !b->in_msg && b->pos == 0)
		start(b, 0, 0, 0, 0);
	while (n > 0) {
		nl = memchr(d, '\n', n);
		k = nl ? (size_t)(nl - d) + 1 : n;
		if (b->in_tail) {
			if (b->in_msg && body(b, d, k, b->pos + k) < 0)
				return -1;
			if (!b->in_msg)
				b->st.skipped += k;
			b->in_tail = nl == NULL;
		} else {
			if (b->hlen == 0)
				b->line_off = b->pos;
			if (k > WS_HEAD_MAX - b->hlen)
				k = WS_HEAD_MAX - b->hlen;
			memcpy(b->head + b->hlen, d, k);
			b->hlen += k;
			if (b->head[b->hlen - 1] == '\n' || b->hlen == WS_HEAD_MAX) {
				b->in_tail = b->head[b->hlen - 1] != '\n';
				b->pos += k;
				d += k;
				n -= k;
				if (line(b, !b->in_tail) < 0)
					return -1;
				b->hlen = 0;
				continue;
			}
		}
		b->pos += k;
		d += k;
		n -= k;
	}
	return 0;
}

int ws_mbox_finish(struct ws_mbox *b, struct ws_mbox_stats *st)
{
	if (b->stopped)
		return -1;
	if (b->one && !b->in_msg && b->pos == 0)
		start(b, 0, 0, 0, 0);
	/* A last line without '\n': whole, though it has no line end. */
	if (b->hlen > 0 && line(b, 1) < 0)
		return -1;
	b->hlen = 0;
	if (b->in_msg && end(b) < 0)
		return -1;
	if (st != NULL)
		*st = b->st;
	return 0;
}

struct scan_ctx {
	ws_msg_fn *fn;
	void *ctx;
	time_t mtime;
};

static int dated(void *ctx, const struct ws_msg *m)
{
	struct scan_ctx *c = ctx;
	struct ws_msg copy;

	if (m->date_src != WS_DATE_NONE)
		return c->fn(c->ctx, m);
	copy = *m;
	copy.date = c->mtime;
	copy.date_src = WS_DATE_FILE;
	return c->fn(c->ctx, &copy);
}

int ws_mbox_scan(int fd, enum ws_mbox_kind kind, ws_msg_fn *fn, void *ctx,
		 struct ws_mbox_stats *st, char **err_r)
{
	struct scan_ctx c = {fn, ctx, 0};
	struct ws_mbox *b;
	struct stat sb;
	char *buf;
	ssize_t n;
	int r = 0;

	*err_r = NULL;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		*err_r = xasprintf("fstat: not a regular file");
		return -1;
	}
	c.mtime = sb.st_mtime;
	b = ws_mbox_new(kind, dated, &c);
	buf = xmalloc(CHUNK);
	for (;;) {
		n = read(fd, buf, CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*err_r = xasprintf("read: %s", strerror(errno));
			r = -1;
		}
		if (n <= 0 || (r = ws_mbox_feed(b, buf, (size_t)n)) < 0)
			break;
	}
	if (r == 0)
		r = ws_mbox_finish(b, st);
	free(buf);
	ws_mbox_free(&b);
	return r;
}

int ws_mbox_copy(int fd, enum ws_mbox_kind kind, const struct ws_msg *m, ws_data_fn *data,
		 void *ctx, char **err_r)
{
	unsigned long long at = m->body_off, left = m->raw_len;
	struct ws_mbox *b = ws_mbox_new(WS_ONE, NULL, NULL);
	char *buf = xmalloc(CHUNK);
	ssize_t n = 0;
	int r = 0;

	*err_r = NULL;
	b->rd = kind == WS_MBOXRD;
	b->data = data;
	b->ctx = ctx;
	while (left > 0 && r == 0) {
		n = pread(fd, buf, left < CHUNK ? (size_t)left : CHUNK, (off_t)at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		r = ws_mbox_feed(b, buf, (size_t)n);
		at += (unsigned long long)n;
		left -= (unsigned long long)n;
	}
	if (r == 0 && left > 0) {
		*err_r = n < 0 ? xasprintf("pread: %s", strerror(errno))
			       : xasprintf("the file ends inside a message");
		r = n < 0 ? -1 : -2;
	}
	if (r == 0 && (r = ws_mbox_finish(b, NULL)) == 0 &&
	    (b->m.size != m->size || memcmp(b->m.sha256, m->sha256, 32) != 0)) {
		*err_r = xasprintf("the message at offset %llu changed since it was read", m->off);
		r = -2;
	}
	free(buf);
	ws_mbox_free(&b);
	return r;
}
