/*
 * src_local - Thunderbird's Local Folders read for the upload
 * (src_local.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "maildir.h"
#include "src_local.h"
#include "ws_folders.h"
#include "ws_home.h"
#include "ws_mbox.h"
#include "ws_profile.h"
#include "xalloc.h"

/* The bytes a maildir file name may have to be a key (ws_msg_key). */
#define ID_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._,:=+-"

struct lc_src {
	struct source base;
	int lf_fd, profile_fd;
};

/* One items() call: the batch's bounds and progress. */
struct lc_batch {
	const char *folder, *cursor;
	const struct src_emit *emit;
	long long max_items, max_bytes, items;
	long long bytes; /* given so far, bare LF as CRLF: what the server counts */
	unsigned long long skipped;
	char *next;   /* the cursor after the last message passed */
	int more;     /* a message is left after the batch */
	int found, rc; /* the folder was found; its scan's result */
	int fd;       /* the open mbox (maildir: the message) */
	enum ws_mbox_kind kind;
	char *buf;    /* CRLF output */
	size_t cap;
	int cr;
	char **err_r;
};

static int lc_test(struct source *s, int *permanent_r, char **err_r)
{
	struct lc_src *l = (struct lc_src *)s;
	pid_t pid = 0;
	int r;

	*permanent_r = 0;
	if (l->profile_fd < 0)
		return 0;
	if ((r = ws_profile_running(l->profile_fd, &pid, err_r)) < 0)
		return -1;
	if (r > 0) {
		*err_r = xasprintf("Thunderbird is running (pid %ld): the Local Folders are read "
				   "once it is closed",
				   (long)pid);
		return -1;
	}
	return 0;
}

/* mutf7: the UTF-8 name S (checked by ws_folders) in IMAP's modified
 * UTF-7 (RFC 3501 5.1.3), as IMAP names folders on the wire (caller frees). */
static char *mutf7(const char *s)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
	const unsigned char *p = (const unsigned char *)s;
	char *out = xmalloc(strlen(s) * 4 + 4), *o = out;
	unsigned long bits = 0;
	int nbits = 0, in_b64 = 0;

	while (*p || in_b64) {
		if (*p == 0 || (*p >= 0x20 && *p < 0x7f)) {
			if (in_b64) {
				if (nbits > 0)
					*o++ = b64[(bits << (6 - nbits)) & 0x3f];
				*o++ = '-';
				in_b64 = 0;
				nbits = 0;
				continue;
			}
			*o++ = (char)*p;
			if (*p++ == '&')
				*o++ = '-';
			continue;
		}
		unsigned cp = *p < 0xe0 ? *p & 0x1f : *p < 0xf0 ? *p & 0x0f : *p & 0x07;
		int n = *p < 0xe0 ? 1 : *p < 0xf0 ? 2 : 3, i;
		unsigned units[2];
		int nu = 1;

		for (i = 1; i <= n && p[i]; i++)
			cp = cp << 6 | (p[i] & 0x3f);
		p += i;
		units[0] = cp;
		if (cp >= 0x10000) {
			units[0] = 0xd800 + ((cp - 0x10000) >> 10);
			units[1] = 0xdc00 + ((cp - 0x10000) & 0x3ff);
			nu = 2;
		}
		if (!in_b64)
			*o++ = '&';
		in_b64 = 1;
		for (i = 0; i < nu; i++) {
			bits = bits << 16 | units[i];
			nbits += 16;
			while (nbits >= 6) {
				nbits -= 6;
				*o++ = b64[(bits >> nbits) & 0x3f];
			}
		}
	}
	*o = '\0';
	return out;
}

/* imap_name: folder NAME as IMAP names it: modified UTF-7, and a first
 * level "Inbox" (Thunderbird's) as INBOX, which IMAP compares without
 * regard to case (the copy engine takes it so). Caller frees. */
static char *imap_name(const char *name)
{
	char *n = mutf7(name);

	if (strncasecmp(n, "INBOX", 5) == 0 && (n[5] == '\0' || n[5] == '/'))
		memcpy(n, "INBOX", 5);
	return n;
}

struct lc_list {
	int (*folder)(void *ctx, const struct drv_folder *f);
	void *ctx;
};

static int list_one(void *ctx, const struct ws_folder *f)
{
	struct lc_list *c = ctx;
	unsigned attrs = f->kind == WS_FOLDER_PARENT ? DRV_F_NOSELECT : 0;

	char *name = imap_name(f->name);
	/* A parent only is no folder to subscribe to (the target may refuse
	 * a subscription to a name that does not exist). */
	int rc = c->folder(c->ctx, &(struct drv_folder){.name = name, .sep = '/', .attrs = attrs,
							.subscribed = !attrs});

	free(name);
	return rc;
}

static int lc_list(struct source *s, int (*folder)(void *ctx, const struct drv_folder *f),
		   void *ctx, char **err_r)
{
	struct lc_src *l = (struct lc_src *)s;
	struct lc_list c = {folder, ctx};
	unsigned skipped = 0;
	int rc;

	*err_r = NULL;
	if (l->lf_fd < 0)
		return 0;
	rc = ws_folders(l->lf_fd, list_one, &c, &skipped, err_r);
	if (skipped > 0)
		log_warn("Local Folders: %u names not uploaded (a link, not UTF-8, a control "
			    "byte, too deep)",
			    skipped);
	return rc;
}

/* crlf_data: a chunk of the message, bare LF as CRLF, to the emitter. */
static int crlf_data(void *ctx, const char *d, size_t n)
{
	struct lc_batch *b = ctx;

	if (b->cap < 2 * n) {
		b->cap = 2 * n;
		b->buf = xrealloc(b->buf, b->cap);
	}
	size_t k = md_crlf(d, n, b->buf, &b->cr);

	b->bytes += (long long)k;
	return b->emit->data(b->emit->ctx, b->buf, k);
}

/* emit_msg: M (read from B->fd) as one item keyed by ID (NULL: offset). */
static int emit_msg(struct lc_batch *b, const struct ws_msg *m, const char *id)
{
	char key[WS_KEY_MAX], flags[1024], date[64];
	int rc;

	if (ws_msg_key(b->folder, id, m, key, sizeof(key)) < 0) {
		b->skipped++;
		return 0;
	}
	ws_msg_flags(m, flags, sizeof(flags));
	md_date(m->date, date, sizeof(date));
	b->cr = 0;
	if (b->emit->begin(b->emit->ctx, key, flags, date) < 0)
		return -1;
	rc = ws_mbox_copy(b->fd, b->kind, m, crlf_data, b, b->err_r);
	if (rc < 0)
		return -1;
	return b->emit->end(b->emit->ctx);
}

/* take: M whose cursor is CUR: skipped (deleted), given, or the batch is
 * full (B->more, -1 with *err_r NULL). M is given with bare LF as CRLF,
 * so it may weigh up to twice its size: the bound kept under the
 * server's max_bytes, which counts the CRLF bytes (M->size alone let a
 * batch of long messages through that the server refused, for ever). */
static int take(struct lc_batch *b, const struct ws_msg *m, const char *cur, const char *id)
{
	if (b->items > 0 && (b->items >= b->max_items ||
			     b->bytes + 2 * (long long)m->size > b->max_bytes)) {
		b->more = 1;
		return -1;
	}
	if (m->flags & WS_F_DELETED) {
		b->skipped++;
	} else {
		if (emit_msg(b, m, id) < 0)
			return -1;
		b->items++;
	}
	free(b->next);
	b->next = xstrdup(cur);
	return 0;
}

/* cursor_after: CUR comes after the batch's cursor ("" before all). The
 * mbox cursor compares by offset, the maildir one by its bytes. */
static int cursor_after(const struct lc_batch *b, const char *cur)
{
	if (b->cursor[0] == 'o' && cur[0] == 'o')
		return strtoull(cur + 1, NULL, 10) > strtoull(b->cursor + 1, NULL, 10);
	return strcmp(cur, b->cursor) > 0;
}

static int mbox_msg(void *ctx, const struct ws_msg *m)
{
	struct lc_batch *b = ctx;
	char cur[32];

	snprintf(cur, sizeof(cur), "o%llu", m->off);
	return cursor_after(b, cur) ? take(b, m, cur, NULL) : 0;
}

/* One maildir message file: scanned whole (WS_ONE), then given. */
struct lc_file {
	struct lc_batch *b;
	const char *id;
	char cur[80];
};

static int file_msg(void *ctx, const struct ws_msg *m)
{
	struct lc_file *f = ctx;

	return take(f->b, m, f->cur, f->id);
}

static int maildir_file(void *ctx, int dirfd, const char *sub, const char *name)
{
	struct lc_batch *b = ctx;
	struct lc_file f = {.b = b, .id = name};
	int fd, rc;

	size_t n = strlen(name);

	if (n > 64 || strspn(name, ID_CHARS) != n) {
		b->skipped++; /* neither a key nor a cursor can hold it */
		return 0;
	}
	snprintf(f.cur, sizeof(f.cur), "%c%s", strcmp(sub, "cur") == 0 ? 'c' : 'n', name);
	if (!cursor_after(b, f.cur))
		return 0;
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0; /* gone since the listing */
		*b->err_r = xasprintf("%s/%s/%s: %s", b->folder, sub, name, strerror(errno));
		return -1;
	}
	b->fd = fd;
	rc = ws_mbox_scan(fd, WS_ONE, file_msg, &f, NULL, b->err_r);
	close(fd);
	b->fd = -1;
	return rc;
}

/* in_folder: the batch from folder F, once the walk found it. */
static int in_folder(void *ctx, const struct ws_folder *f)
{
	struct lc_batch *b = ctx;
	int rc = 0;

	char *name = imap_name(f->name);
	int other = strcmp(name, b->folder);

	free(name);
	if (other != 0)
		return 0;
	if (f->kind == WS_FOLDER_MBOX) {
		b->fd = f->fd;
		b->kind = WS_MBOXO;
		rc = ws_mbox_scan(f->fd, WS_MBOXO, mbox_msg, b, NULL, b->err_r);
		b->fd = -1;
	} else if (f->kind == WS_FOLDER_MAILDIR) {
		b->kind = WS_ONE;
		rc = ws_maildir_each(f->fd, maildir_file, b, b->err_r);
	}
	if (rc < 0 && b->more && *b->err_r == NULL)
		rc = 0; /* the batch is full: not an error */
	b->found = 1;
	b->rc = rc;
	return -1; /* found: stop the walk */
}

static int lc_items(struct source *s, const char *folder, const char *cursor,
		    long long max_items, long long max_bytes, const struct src_emit *emit,
		    char **cursor_r, int *more_r, char **err_r)
{
	struct lc_src *l = (struct lc_src *)s;
	struct lc_batch b = {.folder = folder, .cursor = cursor, .emit = emit,
			     .max_items = max_items, .max_bytes = max_bytes, .fd = -1,
			     .err_r = err_r};
	unsigned skipped = 0;
	int rc = 0;

	*err_r = NULL;
	b.next = xstrdup(cursor);
	if (l->lf_fd >= 0)
		rc = ws_folders(l->lf_fd, in_folder, &b, &skipped, err_r);
	if (b.found)
		rc = b.rc;
	else if (rc == 0)
		*err_r = xasprintf("Local Folders: no folder %s", folder);
	if (b.skipped > 0)
		log_info("Local Folders %s: %llu messages not uploaded (deleted in Thunderbird, "
			 "or a file name that is not a key)",
			 folder, b.skipped);
	free(b.buf);
	*more_r = b.more;
	*cursor_r = b.next;
	return rc < 0 || *err_r != NULL ? -1 : 0;
}

static void lc_free(struct source *s)
{
	struct lc_src *l = (struct lc_src *)s;

	if (l->lf_fd >= 0)
		close(l->lf_fd);
	if (l->profile_fd >= 0)
		close(l->profile_fd);
	free(l);
}

static const struct source_ops lc_ops = {
	.test = lc_test, .list = lc_list, .items = lc_items, .free = lc_free};

struct source *src_local_new(int lf_fd, int profile_fd)
{
	struct lc_src *l = xcalloc(1, sizeof(*l));

	l->base.ops = &lc_ops;
	l->lf_fd = lf_fd >= 0 ? fcntl(lf_fd, F_DUPFD_CLOEXEC, 0) : -1;
	l->profile_fd = profile_fd >= 0 ? fcntl(profile_fd, F_DUPFD_CLOEXEC, 0) : -1;
	return &l->base;
}

struct source *src_local_open(const char *tb_dir, char **err_r)
{
	struct ws_home h;
	struct source *s = NULL;
	int pfd, lf = -1, maildir = 0;

	if (tb_dir == NULL) {
		*err_r = xstrdup("a task of the workstation's Local Folders (@local) given to a "
				 "server agent: refused");
		return NULL;
	}
	if (ws_home_open(tb_dir, &h, err_r) < 0)
		return NULL;
	if ((pfd = ws_home_profile(&h, err_r)) >= 0 &&
	    ((lf = ws_home_local(pfd, &maildir, err_r)) >= 0 || lf == -2))
		s = src_local_new(lf, pfd);
	if (lf >= 0)
		close(lf);
	if (pfd >= 0)
		close(pfd);
	ws_home_close(&h);
	return s;
}
