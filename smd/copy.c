#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "copy.h"
#include "log.h"
#include "timeutil.h"
#include "xalloc.h"

#define NAME_MAX_LEN 1024
#define FLAGS_MAX 4096
#define UIDSET_MAX 4000 /* characters of a UID set in one command */

/* Special-use attributes (RFC 6154) we map; \All and \Flagged are virtual. */
#define F_NOSELECT 0x01
#define F_NONEXISTENT 0x02
#define F_SENT 0x10
#define F_DRAFTS 0x20
#define F_TRASH 0x40
#define F_JUNK 0x80
#define F_ARCHIVE 0x100
#define F_SPECIAL (F_SENT | F_DRAFTS | F_TRASH | F_JUNK | F_ARCHIVE)

struct folder {
	char *name;
	char *dst;
	unsigned attrs;
	int subscribed;
};

struct msg {
	unsigned long long uid, dst_uid;
	unsigned seq;
	unsigned long long size;
	char *flags;
	char date[40];
	unsigned char sha[32];
	int state; /* 0 to copy, 1 journalled, 2 copied now, 3 found on the target */
	int got;   /* its body arrived in this FETCH round */
};

/* What a SELECT or EXAMINE tells: counted and coded untagged responses. */
struct sel_ctx {
	unsigned long long exists;
	char *permflags;
	int expunge;
};

struct uv_ctx {
	struct sel_ctx sel;
	unsigned long long uidvalidity;
};

/*
 * A source folder opened ahead: EXAMINE and the metadata listing are
 * sent while the target still works on the previous folder, so the
 * source's round trips leave the critical path.
 */
struct src_open {
	const struct folder *f;
	unsigned exam_tag, fetch_tag;
	struct uv_ctx uv;
	struct msg *msgs;
	size_t n, cap;
	int active;
	struct cp *cp;
	struct imap_handler h;
};

/* A target folder being selected (sent behind the previous folder's read-back). */
struct dst_open {
	const struct folder *f;
	unsigned tag;
	struct uv_ctx uv;
	char permflags[FLAGS_MAX];
	int active;
};

/* One message read back from the target. */
struct rb {
	unsigned long long uid, size;
	unsigned char sha[32];
};

struct scan_ctx;

/*
 * What the lanes of one mailbox share (in MAP_SHARED memory when there
 * are two processes): the next selectable folder to claim, and the
 * progress counters, both changed with atomic operations.
 */
struct lane_shared {
	size_t next;
	long long folders_done, folders_total, msgs_done, bytes_done;
	long long msgs_total, bytes_total; /* 0: unknown (no LIST-STATUS) */
	long long appended, started; /* for the test hooks: per mailbox, not per lane */
};

struct batch {
	unsigned tag;
	size_t n;
	long long bytes;
	size_t *idx; /* msgs[] indexes in append order */
	struct batch *next;
};

struct cp {
	const struct copy_opts *o;
	struct copy_result *r;
	struct imap_conn *src, *dst;
	char src_sep, dst_sep;
	struct folder *folders;
	size_t nfolders;
	char **dst_subs;
	size_t ndst_subs;
	struct folder *dst_folders;
	size_t ndst_folders;
	/* the current folder */
	const struct folder *f;
	struct msg *msgs;
	size_t nmsgs;
	unsigned long long src_uidvalidity, dst_uidvalidity;
	unsigned long long src_exists;
	char permflags[FLAGS_MAX];
	int any_keyword;
	/* streaming */
	struct msg *cur;	/* message whose literal is streaming */
	unsigned long long cur_left;
	EVP_MD_CTX *md;
	struct batch *open;	/* APPEND command being written */
	struct batch *inflight, **inflight_tail;
	long long inflight_bytes;
	long long appended; /* acknowledged appends, this process */
	long long started_msgs;
	int stopping;
	char err[1024];
	/* hash_fetch */
	int (*hash_fn)(struct cp *, unsigned long long uid, const unsigned char *sha,
		       unsigned long long size);
	int hash_streamed;
	unsigned long long hash_size;
	struct lane_shared *sh;
	size_t *sel; /* indexes of the selectable folders, in copy order */
	size_t nsel;
	/* pipelining (see copy_folder) */
	struct src_open so;
	struct dst_open dso;
	struct imap_handler dst_h;
	EVP_MD_CTX *vmd;	/* read-back hashing, apart from the streaming one */
	int rb_streaming;
	unsigned long long rb_size;
	struct rb *rb;
	size_t nrb, rb_cap;
	unsigned *rb_tags;
	size_t nrb_tags;
	struct scan_ctx *scan_into; /* a pipelined target listing, or NULL */
};

static int cperr(struct cp *cp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int cperr(struct cp *cp, const char *fmt, ...)
{
	va_list ap;

	if (cp->err[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(cp->err, sizeof(cp->err), fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* ------------------------------------------------------------ parsing */

struct fetch_info {
	unsigned long long seq, uid, size;
	int has_uid, has_flags, has_date, has_size, has_body;
	char flags[FLAGS_MAX];
	char date[40];
};

/* parse_fetch: "N FETCH (items)"; 1 if it is one, 0 if not, -1 if malformed. */
static int parse_fetch(const char *text, size_t len, struct fetch_info *fi)
{
	struct imap_tok t;
	const char *a;
	size_t al;

	memset(fi, 0, sizeof(*fi));
	imap_tok_init(&t, text, len);
	if (imap_tok_number(&t, &fi->seq) < 0 || imap_tok_sp(&t) < 0 ||
	    imap_tok_atom(&t, &a, &al) < 0)
		return 0;
	if (!imap_atom_eq(a, al, "FETCH"))
		return 0;
	if (imap_tok_sp(&t) < 0 || imap_tok_char(&t, '(') < 0)
		return -1;
	while (imap_tok_peek(&t) != ')') {
		if (imap_tok_atom(&t, &a, &al) < 0 || imap_tok_sp(&t) < 0)
			return -1;
		if (imap_atom_eq(a, al, "UID")) {
			if (imap_tok_number(&t, &fi->uid) < 0)
				return -1;
			fi->has_uid = 1;
		} else if (imap_atom_eq(a, al, "RFC822.SIZE")) {
			if (imap_tok_number(&t, &fi->size) < 0)
				return -1;
			fi->has_size = 1;
		} else if (imap_atom_eq(a, al, "FLAGS")) {
			const char *s = t.p;

			if (imap_tok_skip(&t) < 0 || *s != '(')
				return -1;
			size_t n = (size_t)(t.p - s) - 2;

			if (n >= sizeof(fi->flags))
				return -1;
			/* Flags are atoms: a literal or a quoted string here (CR LF
			 * inside) would reach the target's APPEND line as it is. */
			for (size_t i = 1; i <= n; i++)
				if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || strchr("\"{(", s[i]))
					return -1;
			memcpy(fi->flags, s + 1, n);
			fi->flags[n] = '\0';
			fi->has_flags = 1;
		} else if (imap_atom_eq(a, al, "INTERNALDATE")) {
			size_t n;
			int nil;

			if (imap_tok_string(&t, fi->date, sizeof(fi->date), &n, &nil) < 0 || nil ||
			    n < 20 || strpbrk(fi->date, "\"\\\r\n") != NULL)
				return -1;
			fi->has_date = 1;
		} else if (imap_atom_eq(a, al, "BODY[]")) {
			if (imap_tok_skip(&t) < 0)
				return -1;
			fi->has_body = 1;
		} else if (imap_tok_skip(&t) < 0) {
			return -1;
		}
		if (imap_tok_peek(&t) == ' ')
			imap_tok_sp(&t);
	}
	imap_tok_char(&t, ')');
	return imap_tok_eof(&t) ? 1 : -1;
}

/* code_number: "[WORD n]" anywhere in TEXT. */
static int code_number(const char *text, const char *word, unsigned long long *n_r)
{
	char pat[40];
	const char *p;

	snprintf(pat, sizeof(pat), "[%s ", word);
	p = strcasestr(text, pat);
	if (p == NULL)
		return -1;
	p += strlen(pat);
	char *e;

	errno = 0;
	*n_r = strtoull(p, &e, 10);
	return e == p || errno ? -1 : 0;
}

/* ------------------------------------------------------------ helpers */

static void free_folders(struct folder *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(f[i].name);
		free(f[i].dst);
	}
	free(f);
}

static void free_msgs(struct cp *cp)
{
	for (size_t i = 0; i < cp->nmsgs; i++)
		free(cp->msgs[i].flags);
	free(cp->msgs);
	cp->msgs = NULL;
	cp->nmsgs = 0;
}

static int cmp_ull(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;

	return x < y ? -1 : x > y;
}

/*
 * uidsets: split sorted UIDS into "a:b,c" sets of at most UIDSET_MAX
 * characters; returns how many, *sets_r to free with free_sets.
 */
static size_t uidsets(unsigned long long *uids, size_t n, char ***sets_r)
{
	char **sets = NULL;
	size_t nsets = 0, i = 0;

	qsort(uids, n, sizeof(*uids), cmp_ull);
	while (i < n) {
		char *buf = xmalloc(UIDSET_MAX + 64);
		size_t len = 0;

		while (i < n && len < UIDSET_MAX) {
			size_t j = i;

			while (j + 1 < n && (uids[j + 1] == uids[j] + 1 || uids[j + 1] == uids[j]))
				j++;
			if (j == i)
				len += (size_t)sprintf(buf + len, "%s%llu", len ? "," : "", uids[i]);
			else
				len += (size_t)sprintf(buf + len, "%s%llu:%llu", len ? "," : "", uids[i],
						       uids[j]);
			i = j + 1;
		}
		sets = xrealloc(sets, (nsets + 1) * sizeof(*sets));
		sets[nsets++] = buf;
	}
	*sets_r = sets;
	return nsets;
}

static void free_sets(char **sets, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(sets[i]);
	free(sets);
}

static int conn_fail(struct cp *cp, struct imap_conn *c)
{
	return cperr(cp, "%s", imap_error(c));
}

static void hex(const unsigned char *sha, char out[65])
{
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", sha[i]);
}

/* ------------------------------------------------------------ LIST */

struct list_ctx {
	struct cp *cp;
	struct folder **f;
	size_t *n;
	char *sep;
	char ***subs;
	size_t *nsubs;
	long long messages; /* LIST-STATUS: messages in all folders, or -1 */
	long long bytes;    /* with STATUS=SIZE: their bytes, or -1 */
};

/*
 * status_counts: add MESSAGES and SIZE of a STATUS response to LC. The
 * attribute list is the last parenthesis of the line: the mailbox name
 * comes before it. A count that is not a number is ignored (the total
 * is only for the progress report).
 */
static void status_counts(struct list_ctx *lc, const char *text, size_t len)
{
	const char *p = memrchr(text, '(', len), *end = text + len;

	while (p && p < end && *p != ')') {
		const char *a = ++p;

		while (p < end && *p != ' ' && *p != ')')
			p++;
		size_t al = (size_t)(p - a);

		if (p >= end || *p != ' ')
			break;
		const char *d = ++p;
		long long v = 0;

		while (p < end && *p >= '0' && *p <= '9' && v < (1LL << 50))
			v = v * 10 + (*p++ - '0');
		if (p == d)
			break;
		if (imap_atom_eq(a, al, "MESSAGES") && lc->messages >= 0)
			lc->messages += v;
		else if (imap_atom_eq(a, al, "SIZE") && lc->bytes >= 0)
			lc->bytes += v;
	}
}

static int list_untagged(void *ctx, const char *text, size_t len)
{
	struct list_ctx *lc = ctx;
	struct imap_tok t;
	const char *a;
	size_t al, nl;
	char sepbuf[8], name[NAME_MAX_LEN];
	int nil;
	unsigned attrs = 0;
	int lsub;

	imap_tok_init(&t, text, len);
	if (imap_tok_atom(&t, &a, &al) < 0)
		return 0;
	if (imap_atom_eq(a, al, "STATUS")) {
		status_counts(lc, text, len);
		return 0;
	}
	lsub = imap_atom_eq(a, al, "LSUB");
	if (!lsub && !imap_atom_eq(a, al, "LIST"))
		return 0;
	if (imap_tok_sp(&t) < 0 || imap_tok_char(&t, '(') < 0)
		goto bad;
	while (imap_tok_peek(&t) != ')') {
		if (imap_tok_atom(&t, &a, &al) < 0)
			goto bad;
		if (imap_atom_eq(a, al, "\\Noselect"))
			attrs |= F_NOSELECT;
		else if (imap_atom_eq(a, al, "\\NonExistent"))
			attrs |= F_NOSELECT | F_NONEXISTENT;
		else if (imap_atom_eq(a, al, "\\Sent"))
			attrs |= F_SENT;
		else if (imap_atom_eq(a, al, "\\Drafts"))
			attrs |= F_DRAFTS;
		else if (imap_atom_eq(a, al, "\\Trash"))
			attrs |= F_TRASH;
		else if (imap_atom_eq(a, al, "\\Junk"))
			attrs |= F_JUNK;
		else if (imap_atom_eq(a, al, "\\Archive"))
			attrs |= F_ARCHIVE;
		if (imap_tok_peek(&t) == ' ')
			imap_tok_sp(&t);
	}
	imap_tok_char(&t, ')');
	if (imap_tok_sp(&t) < 0 || imap_tok_string(&t, sepbuf, sizeof(sepbuf), &nl, &nil) < 0 ||
	    imap_tok_sp(&t) < 0 || imap_tok_string(&t, name, sizeof(name), &nl, &nil) < 0 ||
	    nil || nl != strlen(name))
		goto bad;
	if (!nil && sepbuf[0] && lc->sep)
		*lc->sep = sepbuf[0];
	if (name[0] == '\0')
		return 0; /* LIST "" "": the separator only */
	if (lsub) {
		*lc->subs = xrealloc(*lc->subs, (*lc->nsubs + 1) * sizeof(char *));
		(*lc->subs)[(*lc->nsubs)++] = xstrdup(name);
		return 0;
	}
	if (strcasecmp(name, "INBOX") == 0)
		strcpy(name, "INBOX");
	*lc->f = xrealloc(*lc->f, (*lc->n + 1) * sizeof(**lc->f));
	struct folder *f = &(*lc->f)[(*lc->n)++];

	memset(f, 0, sizeof(*f));
	f->name = xstrdup(name);
	f->attrs = attrs;
	return 0;
bad:
	return cperr(lc->cp, "malformed LIST response: %.100s", text);
}

/*
 * wait_all: wait for TAGS[0..N) in order; the first that is not OK fails
 * with WHAT and its text. Commands sent together so that one round trip
 * serves them all.
 */
static int wait_all(struct cp *cp, struct imap_conn *c, const unsigned *tags, size_t n,
		    char *const *what)
{
	for (size_t i = 0; i < n; i++) {
		enum imap_status st;
		const char *text;

		if (imap_wait(c, tags[i], &st, &text) < 0)
			return conn_fail(cp, c);
		if (st != IMAP_OK)
			return cperr(cp, "%s: %s", what[i], text);
	}
	return 0;
}

/* list_start: LIST "" "" (the separator), LIST "" "*" and LSUB, pipelined. */
static void list_start(struct imap_conn *c, struct list_ctx *lc, struct imap_handler *h,
		       unsigned tags[3], int want_status)
{
	h->untagged = list_untagged;
	h->ctx = lc;
	imap_set_handler(c, h);
	unsigned caps = imap_caps(c);
	int ext = (caps & IMAP_CAP_LIST_EXTENDED) != 0;
	const char *su = ext && (caps & IMAP_CAP_SPECIAL_USE) ? "SPECIAL-USE" : "";
	/* The size of the mailbox, to decide how many lanes it is worth. */
	const char *status = !want_status || !ext || !(caps & IMAP_CAP_LIST_STATUS) ? ""
			     : caps & IMAP_CAP_STATUS_SIZE ? "STATUS (MESSAGES SIZE)"
							    : "STATUS (MESSAGES)";

	lc->messages = *status ? 0 : -1;
	lc->bytes = caps & IMAP_CAP_STATUS_SIZE && *status ? 0 : -1;
	tags[0] = imap_cmd(c, "LIST \"\" \"\"");
	if (*su || *status)
		tags[1] = imap_cmd(c, "LIST \"\" \"*\" RETURN (%s%s%s)", su, *su && *status ? " " : "",
				   status);
	else
		tags[1] = imap_cmd(c, "LIST \"\" \"*\"");
	tags[2] = imap_cmd(c, "LSUB \"\" \"*\"");
}

static int list_finish(struct cp *cp, struct imap_conn *c, const unsigned tags[3])
{
	static char *const what[] = {"LIST", "LIST", "LSUB"};
	int r = wait_all(cp, c, tags, 3, what);

	imap_set_handler(c, NULL);
	return r < 0 || cp->err[0] ? -1 : 0;
}

/*
 * list_both: the folders and subscriptions of both sides, in one round
 * trip; *messages_r and *bytes_r: the source's message count and size
 * (LIST-STATUS, STATUS=SIZE), or -1.
 */
static int list_both(struct cp *cp, char ***src_subs, size_t *nsrc_subs, long long *messages_r,
		     long long *bytes_r)
{
	struct list_ctx ls = {.cp = cp, .f = &cp->folders, .n = &cp->nfolders, .sep = &cp->src_sep,
			      .subs = src_subs, .nsubs = nsrc_subs};
	struct list_ctx ld = {.cp = cp, .f = &cp->dst_folders, .n = &cp->ndst_folders,
			      .sep = &cp->dst_sep, .subs = &cp->dst_subs, .nsubs = &cp->ndst_subs};
	struct imap_handler hs, hd;
	unsigned ts[3], td[3];

	list_start(cp->src, &ls, &hs, ts, 1);
	list_start(cp->dst, &ld, &hd, td, 0);
	if (imap_flush(cp->src) < 0)
		return conn_fail(cp, cp->src);
	if (imap_flush(cp->dst) < 0)
		return conn_fail(cp, cp->dst);
	int r = list_finish(cp, cp->src, ts);

	if (list_finish(cp, cp->dst, td) < 0)
		r = -1;
	*messages_r = ls.messages;
	*bytes_r = ls.bytes;
	return r;
}

/* ------------------------------------------------------------ folders */

static int translate(struct cp *cp, const char *name, char **out_r)
{
	char *d = xstrdup(name);

	if (cp->src_sep != cp->dst_sep) {
		for (char *p = d; *p; p++) {
			if (*p == cp->src_sep)
				*p = cp->dst_sep;
			else if (*p == cp->dst_sep) {
				free(d);
				return cperr(cp, "folder %s: its name contains the target's hierarchy "
						 "separator '%c'",
					     name, cp->dst_sep);
			}
		}
	}
	*out_r = d;
	return 0;
}

static int map_folders(struct cp *cp)
{
	for (size_t i = 0; i < cp->nfolders; i++) {
		struct folder *f = &cp->folders[i];
		unsigned su = f->attrs & F_SPECIAL;

		if (strcmp(f->name, "INBOX") == 0) {
			f->dst = xstrdup("INBOX");
			continue;
		}
		if (su) {
			for (size_t k = 0; k < cp->ndst_folders; k++)
				if (cp->dst_folders[k].attrs & su) {
					f->dst = xstrdup(cp->dst_folders[k].name);
					break;
				}
			if (f->dst)
				continue;
		}
		if (translate(cp, f->name, &f->dst) < 0)
			return -1;
	}
	for (size_t i = 0; i < cp->nfolders; i++)
		for (size_t k = i + 1; k < cp->nfolders; k++)
			if (cp->folders[i].dst && cp->folders[k].dst &&
			    !(cp->folders[i].attrs & F_NOSELECT) && !(cp->folders[k].attrs & F_NOSELECT) &&
			    strcmp(cp->folders[i].dst, cp->folders[k].dst) == 0)
				return cperr(cp, "folders %s and %s both map to %s on the target",
					     cp->folders[i].name, cp->folders[k].name,
					     cp->folders[i].dst);
	return 0;
}

static int dst_has(struct cp *cp, const char *name)
{
	for (size_t k = 0; k < cp->ndst_folders; k++)
		if (strcmp(cp->dst_folders[k].name, name) == 0 &&
		    !(cp->dst_folders[k].attrs & F_NOSELECT))
			return 1;
	return 0;
}

static int cmp_folder(const void *a, const void *b)
{
	const struct folder *x = a, *y = b;

	/* INBOX first; then by name, so parents come before children. */
	if (strcmp(x->name, "INBOX") == 0)
		return -1;
	if (strcmp(y->name, "INBOX") == 0)
		return 1;
	return strcmp(x->name, y->name);
}

/*
 * setup_target: CREATE the missing selectable folders (parents first: the
 * list is sorted) and SUBSCRIBE what the source subscribes, all sent at
 * once and then collected: one round trip instead of one per folder.
 */
static int setup_target(struct cp *cp, char **subs, size_t nsubs)
{
	size_t cap = cp->nfolders + nsubs + 1, n = 0;
	unsigned *tags = xmalloc(cap * sizeof(*tags));
	char **what = xcalloc(cap, sizeof(*what));
	int r = -1;

	for (size_t i = 0; i < cp->nfolders; i++) {
		struct folder *f = &cp->folders[i];

		if ((f->attrs & F_NOSELECT) || strcmp(f->dst, "INBOX") == 0 || dst_has(cp, f->dst))
			continue;
		tags[n] = imap_cmd(cp->dst, "CREATE %s", imap_q(cp->dst, f->dst));
		what[n++] = xasprintf("CREATE %s", f->dst);
	}
	for (size_t i = 0; i < nsubs; i++) {
		char *d = NULL;
		const struct folder *f = NULL;

		for (size_t k = 0; k < cp->nfolders; k++)
			if (strcmp(cp->folders[k].name, subs[i]) == 0 ||
			    (strcasecmp(subs[i], "INBOX") == 0 && strcmp(cp->folders[k].name, "INBOX") == 0))
				f = &cp->folders[k];
		if (f)
			d = xstrdup(f->dst);
		else if (translate(cp, subs[i], &d) < 0)
			goto out;
		int have = 0;

		for (size_t k = 0; k < cp->ndst_subs; k++)
			if (strcmp(cp->dst_subs[k], d) == 0)
				have = 1;
		if (!have) {
			tags[n] = imap_cmd(cp->dst, "SUBSCRIBE %s", imap_q(cp->dst, d));
			what[n++] = xasprintf("SUBSCRIBE %s", d);
		}
		free(d);
	}
	r = wait_all(cp, cp->dst, tags, n, what);
	for (size_t i = 0; r == 0 && i < n; i++)
		if (strncmp(what[i], "CREATE ", 7) == 0)
			log_info("%s: created folder=%s", cp->o->mailbox_key, what[i] + 7);
out:
	for (size_t i = 0; i < n; i++)
		free(what[i]);
	free(what);
	free(tags);
	return r;
}

/* ------------------------------------------------------------ SELECT */


static int sel_untagged(void *ctx, const char *text, size_t len)
{
	struct sel_ctx *s = ctx;
	unsigned long long n;
	char *e;

	errno = 0;
	n = strtoull(text, &e, 10);
	if (e != text && strncasecmp(e, " EXISTS", 7) == 0)
		s->exists = n;
	else if (e != text && strncasecmp(e, " EXPUNGE", 8) == 0)
		s->expunge = 1;
	const char *p = strcasestr(text, "[PERMANENTFLAGS (");

	if (p && s->permflags) {
		p += 17;
		const char *q = strchr(p, ')');

		if (q && (size_t)(q - p) < FLAGS_MAX) {
			memcpy(s->permflags, p, (size_t)(q - p));
			s->permflags[q - p] = '\0';
		}
	}
	(void)len;
	return 0;
}


static int uv_untagged(void *ctx, const char *text, size_t len)
{
	struct uv_ctx *u = ctx;
	unsigned long long n;

	if (code_number(text, "UIDVALIDITY", &n) == 0)
		u->uidvalidity = n;
	return sel_untagged(&u->sel, text, len);
}

/* ------------------------------------------------------------ metadata */

/* src_meta: one "* N FETCH (UID FLAGS INTERNALDATE RFC822.SIZE)". */
static int src_meta(struct src_open *so, const struct fetch_info *fi, const char *text)
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
	m->flags = xstrdup(fi->flags);
	snprintf(m->date, sizeof(m->date), "%s", fi->date);
	return 0;
}

static int src_open_untagged(void *ctx, const char *text, size_t len)
{
	struct src_open *so = ctx;
	struct fetch_info fi;
	int r = parse_fetch(text, len, &fi);

	if (r < 0)
		return cperr(so->cp, "malformed FETCH response: %.100s", text);
	if (r > 0)
		return src_meta(so, &fi, text);
	return uv_untagged(&so->uv, text, len);
}

static void src_open_free(struct src_open *so)
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
static int src_open_start(struct cp *cp, const struct folder *f)
{
	struct src_open *so = &cp->so;

	src_open_free(so);
	memset(&so->uv, 0, sizeof(so->uv));
	so->f = f;
	so->cp = cp;
	so->h = (struct imap_handler){.untagged = src_open_untagged, .ctx = so};
	imap_set_handler(cp->src, &so->h);
	so->exam_tag = imap_cmd(cp->src, "EXAMINE %s", imap_q(cp->src, f->name));
	so->fetch_tag = imap_cmd(cp->src, "UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE)");
	so->active = 1;
	if (imap_flush(cp->src) < 0)
		return conn_fail(cp, cp->src);
	return 0;
}

/* src_open_finish: collect F's EXAMINE and listing into cp->msgs. */
static int src_open_finish(struct cp *cp, const struct folder *f)
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
static void dst_open_start(struct cp *cp, const struct folder *f)
{
	struct dst_open *d = &cp->dso;

	memset(d, 0, sizeof(*d));
	d->f = f;
	d->uv.sel.permflags = d->permflags;
	imap_set_handler(cp->dst, &cp->dst_h);
	d->tag = imap_cmd(cp->dst, "SELECT %s", imap_q(cp->dst, f->dst));
	d->active = 1;
}

static int dst_open_finish(struct cp *cp, const struct folder *f, unsigned long long *exists_r)
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
	memcpy(cp->permflags, d->permflags, sizeof(cp->permflags));
	return 0;
}

/* ------------------------------------------------------------ hashing */

static int hash_literal(void *ctx, const char *text, size_t len, uint64_t size)
{
	struct cp *cp = ctx;

	(void)len;
	if (strcasestr(text, "BODY[] {") == NULL)
		return IMAP_LIT_INLINE;
	EVP_DigestInit_ex(cp->md, EVP_sha256(), NULL);
	cp->hash_streamed = 1;
	cp->hash_size = size;
	return IMAP_LIT_STREAM;
}

static int hash_data(void *ctx, const char *d, size_t n, int end)
{
	struct cp *cp = ctx;

	EVP_DigestUpdate(cp->md, d, n);
	(void)end;
	return 0;
}

static int hash_untagged(void *ctx, const char *text, size_t len)
{
	struct cp *cp = ctx;
	struct fetch_info fi;
	int r = parse_fetch(text, len, &fi);

	if (r < 0)
		return cperr(cp, "malformed FETCH response: %.100s", text);
	if (r == 0 || !fi.has_body)
		return 0;
	if (!cp->hash_streamed || !fi.has_uid)
		return cperr(cp, "FETCH response without UID or body: %.100s", text);
	unsigned char sha[32];
	unsigned int sl;

	EVP_DigestFinal_ex(cp->md, sha, &sl);
	cp->hash_streamed = 0;
	return cp->hash_fn(cp, fi.uid, sha, cp->hash_size);
}

/* hash_fetch: SHA-256 of the bodies of UIDS on C, through cp->hash_fn. */
static int hash_fetch(struct cp *cp, struct imap_conn *c, unsigned long long *uids, size_t n,
		      int (*fn)(struct cp *, unsigned long long, const unsigned char *,
				unsigned long long))
{
	struct imap_handler h = {hash_untagged, hash_literal, hash_data, cp};
	char **sets;
	size_t nsets = uidsets(uids, n, &sets);
	int r = 0;

	cp->hash_fn = fn;
	cp->hash_streamed = 0;
	imap_set_handler(c, &h);
	for (size_t i = 0; i < nsets && r == 0; i++)
		r = imap_simple(c, "UID FETCH %s (UID BODY.PEEK[])", sets[i]);
	imap_set_handler(c, NULL);
	free_sets(sets, nsets);
	if (r < 0)
		return cp->err[0] ? -1 : conn_fail(cp, c);
	return cp->err[0] ? -1 : 0;
}

/* ------------------------------------------------------------ journal */

struct load_ctx {
	struct cp *cp;
	size_t i;
};

static int load_row(void *ctx, const struct smd_map_row *row)
{
	struct load_ctx *l = ctx;
	struct cp *cp = l->cp;

	/* Both ordered by UID: a merge. */
	while (l->i < cp->nmsgs && cp->msgs[l->i].uid < row->src_uid)
		l->i++;
	if (l->i < cp->nmsgs && cp->msgs[l->i].uid == row->src_uid) {
		struct msg *m = &cp->msgs[l->i];

		m->state = 1;
		m->dst_uid = row->dst_uid;
		memcpy(m->sha, row->sha256, 32);
	}
	return 0;
}

/* Rows kept for a UIDVALIDITY change: matched by hash to new UIDs. */
struct oldrow {
	struct smd_map_row row;
	int used;
};

struct remap_ctx {
	struct oldrow *rows;
	size_t n;
};

static int collect_row(void *ctx, const struct smd_map_row *row)
{
	struct remap_ctx *rc = ctx;

	rc->rows = xrealloc(rc->rows, (rc->n + 1) * sizeof(*rc->rows));
	rc->rows[rc->n].row = *row;
	rc->rows[rc->n].used = 0;
	rc->n++;
	return 0;
}

static struct remap_ctx *g_remap; /* for remap_hash (hash_fn has no spare context) */

static struct msg *find_uid(struct cp *cp, unsigned long long uid)
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

static int remap_hash(struct cp *cp, unsigned long long uid, const unsigned char *sha,
		      unsigned long long size)
{
	struct msg *m = find_uid(cp, uid);

	if (m == NULL)
		return 0;
	for (size_t i = 0; i < g_remap->n; i++)
		if (!g_remap->rows[i].used && memcmp(g_remap->rows[i].row.sha256, sha, 32) == 0) {
			g_remap->rows[i].used = 1;
			m->state = 1;
			m->dst_uid = g_remap->rows[i].row.dst_uid;
			memcpy(m->sha, sha, 32);
			(void)size;
			return 0;
		}
	return 0;
}

/*
 * The source folder's UIDVALIDITY changed: its UIDs mean nothing now.
 * Hash every source message and pair it with a journalled one of the
 * same hash (each used once), so nothing is copied twice.
 */
static int remap_uidvalidity(struct cp *cp, const char *key)
{
	struct remap_ctx rc = {0};
	int r;

	if (store_smd_map_each(cp->o->store, key, cp->f->name, collect_row, &rc) < 0)
		return cperr(cp, "journal: %s", store_errmsg(cp->o->store));
	log_warn("%s: folder=%s source UIDVALIDITY changed, matching %zu journalled messages "
		 "by hash",
		 key, cp->f->name, rc.n);
	unsigned long long *uids = xmalloc((cp->nmsgs + 1) * sizeof(*uids));

	for (size_t i = 0; i < cp->nmsgs; i++)
		uids[i] = cp->msgs[i].uid;
	g_remap = &rc;
	r = cp->nmsgs ? hash_fetch(cp, cp->src, uids, cp->nmsgs, remap_hash) : 0;
	g_remap = NULL;
	free(uids);
	free(rc.rows);
	if (r < 0)
		return -1;
	struct store *s = cp->o->store;

	if (store_begin(s) < 0 || store_smd_map_clear(s, key, cp->f->name) < 0)
		goto dberr;
	for (size_t i = 0; i < cp->nmsgs; i++)
		if (cp->msgs[i].state == 1) {
			struct smd_map_row row = {.src_uid = cp->msgs[i].uid,
						  .dst_uid = cp->msgs[i].dst_uid,
						  .size = (long long)cp->msgs[i].size};

			memcpy(row.sha256, cp->msgs[i].sha, 32);
			if (store_smd_map_add(s, key, cp->f->name, &row) < 0)
				goto dberr;
		}
	if (store_commit(s) < 0)
		goto dberr;
	return 0;
dberr:
	cperr(cp, "journal: %s", store_errmsg(s));
	store_rollback(s);
	return -1;
}

/* ------------------------------------------------------------ target scan */

struct dst_msg {
	unsigned long long uid, size;
	int known; /* in the journal */
	int matched;
	unsigned char sha[32];
	int hashed;
};

struct scan_ctx {
	struct cp *cp;
	struct dst_msg *m;
	size_t n;
};

static struct scan_ctx *g_scan;
static int cmp_dst(const void *a, const void *b);

static int scan_untagged(void *ctx, const char *text, size_t len)
{
	struct scan_ctx *s = ctx;
	struct fetch_info fi;
	int r = parse_fetch(text, len, &fi);

	if (r < 0)
		return cperr(s->cp, "malformed FETCH response: %.100s", text);
	if (r == 0)
		return 0;
	if (!fi.has_uid || !fi.has_size)
		return 0; /* an unsolicited FLAGS update */
	s->m = xrealloc(s->m, (s->n + 1) * sizeof(*s->m));
	memset(&s->m[s->n], 0, sizeof(s->m[0]));
	s->m[s->n].uid = fi.uid;
	s->m[s->n].size = fi.size;
	s->n++;
	return 0;
}

static int scan_target(struct cp *cp, struct scan_ctx *s, unsigned long long exists)
{
	struct imap_handler h = {.untagged = scan_untagged, .ctx = s};

	s->cp = cp;
	if (exists == 0)
		return 0;
	imap_set_handler(cp->dst, &h);
	int r = imap_simple(cp->dst, "UID FETCH 1:* (UID RFC822.SIZE)");

	imap_set_handler(cp->dst, NULL);
	if (r < 0)
		return cp->err[0] ? -1 : conn_fail(cp, cp->dst);
	if (s->n)
		qsort(s->m, s->n, sizeof(*s->m), cmp_dst);
	return cp->err[0] ? -1 : 0;
}

static int cmp_dst(const void *a, const void *b)
{
	const struct dst_msg *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* scan_find: scan_target sorts the listing by UID. */
static struct dst_msg *scan_find(struct scan_ctx *s, unsigned long long uid)
{
	struct dst_msg key = {.uid = uid};

	return s->n ? bsearch(&key, s->m, s->n, sizeof(*s->m), cmp_dst) : NULL;
}

static int dst_hash(struct cp *cp, unsigned long long uid, const unsigned char *sha,
		    unsigned long long size)
{
	struct dst_msg *d = scan_find(g_scan, uid);

	if (d) {
		memcpy(d->sha, sha, 32);
		d->hashed = 1;
	}
	(void)cp;
	(void)size;
	return 0;
}

static int src_match(struct cp *cp, unsigned long long uid, const unsigned char *sha,
		     unsigned long long size)
{
	struct msg *m = find_uid(cp, uid);

	if (m == NULL || m->state != 0)
		return 0;
	memcpy(m->sha, sha, 32);
	for (size_t i = 0; i < g_scan->n; i++) {
		struct dst_msg *d = &g_scan->m[i];

		if (!d->known && !d->matched && d->hashed && memcmp(d->sha, sha, 32) == 0) {
			d->matched = 1;
			m->state = 3;
			m->dst_uid = d->uid;
			break;
		}
	}
	(void)size;
	return 0;
}

/*
 * find_orphans: messages on the target that the journal does not know
 * (appended by a run that died before its commit, or new mail in INBOX)
 * are paired with source messages still to copy: first by size, then by
 * SHA-256 of both. Paired ones are journalled as copied.
 */
static int find_orphans(struct cp *cp, struct scan_ctx *s, const char *key)
{
	size_t nd = 0, ns = 0;
	unsigned long long *duids = xmalloc((s->n + 1) * sizeof(*duids));
	unsigned long long *suids = xmalloc((cp->nmsgs + 1) * sizeof(*suids));

	for (size_t i = 0; i < s->n; i++) {
		if (s->m[i].known)
			continue;
		for (size_t k = 0; k < cp->nmsgs; k++)
			if (cp->msgs[k].state == 0 && cp->msgs[k].size == s->m[i].size) {
				duids[nd++] = s->m[i].uid;
				break;
			}
	}
	if (nd == 0)
		goto out;
	for (size_t k = 0; k < cp->nmsgs; k++) {
		if (cp->msgs[k].state != 0)
			continue;
		for (size_t i = 0; i < s->n; i++)
			if (!s->m[i].known && s->m[i].size == cp->msgs[k].size) {
				suids[ns++] = cp->msgs[k].uid;
				break;
			}
	}
	g_scan = s;
	if (hash_fetch(cp, cp->dst, duids, nd, dst_hash) < 0 ||
	    hash_fetch(cp, cp->src, suids, ns, src_match) < 0) {
		g_scan = NULL;
		free(duids);
		free(suids);
		return -1;
	}
	g_scan = NULL;
	size_t found = 0;
	struct store *st = cp->o->store;

	if (store_begin(st) < 0)
		goto dberr;
	for (size_t k = 0; k < cp->nmsgs; k++) {
		struct msg *m = &cp->msgs[k];

		if (m->state != 3)
			continue;
		struct smd_map_row row = {.src_uid = m->uid, .dst_uid = m->dst_uid,
					  .size = (long long)m->size};

		memcpy(row.sha256, m->sha, 32);
		if (store_smd_map_add(st, key, cp->f->name, &row) < 0)
			goto dberr;
		found++;
	}
	if (store_commit(st) < 0)
		goto dberr;
	if (found)
		log_warn("%s: folder=%s found %zu messages on the target appended by an "
			 "interrupted run; not copied again",
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

/* ------------------------------------------------------------ streaming */

/* Keep only the flags the target can store; count refused keywords. */
static void target_flags(struct cp *cp, const char *flags, char *out, size_t size)
{
	const char *p = flags;
	size_t len = 0;

	out[0] = '\0';
	while (*p) {
		while (*p == ' ')
			p++;
		const char *w = p;

		while (*p && *p != ' ')
			p++;
		size_t wl = (size_t)(p - w);

		if (wl == 0)
			break;
		if (imap_atom_eq(w, wl, "\\Recent"))
			continue; /* the server's to set, never ours */
		if (w[0] != '\\' && !cp->any_keyword) {
			int ok = 0;
			const char *q = cp->permflags;

			while (*q) {
				while (*q == ' ')
					q++;
				const char *v = q;

				while (*q && *q != ' ')
					q++;
				if ((size_t)(q - v) == wl && strncasecmp(v, w, wl) == 0)
					ok = 1;
			}
			if (!ok) {
				cp->r->refused_keywords++;
				log_warn("%s: folder=%s keyword=%.*s refused by the target "
					 "(PERMANENTFLAGS)",
					 cp->o->mailbox_key, cp->f->name, (int)wl, w);
				continue;
			}
		}
		if (len + wl + 2 >= size)
			break;
		len += (size_t)sprintf(out + len, "%s%.*s", len ? " " : "", (int)wl, w);
	}
}

static struct msg *msg_of_prefix(struct cp *cp, const char *text, size_t len)
{
	unsigned long long seq;
	struct imap_tok t;
	struct msg *m = NULL;

	imap_tok_init(&t, text, len);
	if (imap_tok_number(&t, &seq) < 0)
		return NULL;
	const char *u = strcasestr(text, "(UID ");

	if (u == NULL)
		u = strcasestr(text, " UID ");
	if (u) {
		unsigned long long uid = strtoull(u + 5, NULL, 10);

		m = find_uid(cp, uid);
	} else if (seq >= 1 && seq <= cp->nmsgs) {
		m = &cp->msgs[seq - 1];
	}
	return m;
}

static int close_batch(struct cp *cp)
{
	struct batch *b = cp->open;

	if (b == NULL)
		return 0;
	cp->open = NULL;
	if (imap_write(cp->dst, "\r\n", 2) < 0 || imap_flush(cp->dst) < 0) {
		free(b->idx);
		free(b);
		return conn_fail(cp, cp->dst);
	}
	*cp->inflight_tail = b;
	cp->inflight_tail = &b->next;
	cp->inflight_bytes += b->bytes;
	return 0;
}

static int copy_literal(void *ctx, const char *text, size_t len, uint64_t size)
{
	struct cp *cp = ctx;

	if (strcasestr(text, "BODY[] {") == NULL)
		return IMAP_LIT_INLINE;
	struct msg *m = msg_of_prefix(cp, text, len);

	if (m == NULL || m->state != 0 || m->got)
		return cperr(cp, "unexpected message body from the source: %.80s", text);
	m->got = 1;
	m->size = size;
	cp->cur = m;
	cp->cur_left = size;
	cp->started_msgs = __atomic_add_fetch(&cp->sh->started, 1, __ATOMIC_SEQ_CST);
	EVP_DigestInit_ex(cp->md, EVP_sha256(), NULL);
	char flags[FLAGS_MAX];

	target_flags(cp, m->flags, flags, sizeof(flags));
	int lp = (imap_caps(cp->dst) & IMAP_CAP_LITERALPLUS) != 0;
	int r;

	if (cp->open == NULL) {
		struct batch *b = xcalloc(1, sizeof(*b));

		b->idx = xmalloc((size_t)cp->o->batch * sizeof(*b->idx));
		b->tag = imap_take_tag(cp->dst);
		cp->open = b;
		r = imap_writef(cp->dst, "A%u APPEND %s (%s) \"%s\" {%llu%s}\r\n", b->tag,
				imap_q(cp->dst, cp->f->dst), flags, m->date,
				(unsigned long long)size, lp ? "+" : "");
	} else {
		r = imap_writef(cp->dst, " (%s) \"%s\" {%llu%s}\r\n", flags, m->date,
				(unsigned long long)size, lp ? "+" : "");
	}
	if (r < 0)
		return conn_fail(cp, cp->dst);
	if (!lp) {
		int w = imap_wait_continuation(cp->dst, cp->open->tag);

		if (w != 0)
			return w < 0 ? conn_fail(cp, cp->dst)
				     : cperr(cp, "APPEND to %s refused", cp->f->dst);
	}
	cp->open->idx[cp->open->n++] = (size_t)(m - cp->msgs);
	cp->open->bytes += (long long)size;
	if (size == 0)
		EVP_DigestFinal_ex(cp->md, m->sha, NULL);
	return IMAP_LIT_STREAM;
}

static int copy_data(void *ctx, const char *d, size_t n, int end)
{
	struct cp *cp = ctx;
	struct msg *m = cp->cur;

	if (m == NULL)
		return cperr(cp, "literal data without a message");
	if (cp->o->crash_mid > 0 && cp->started_msgs >= cp->o->crash_mid && n > 1 &&
	    cp->cur_left == m->size) {
		/* Test hook: die with half a literal sent to the target. */
		imap_write(cp->dst, d, n / 2);
		imap_flush(cp->dst);
		_exit(98);
	}
	EVP_DigestUpdate(cp->md, d, n);
	cp->cur_left -= n;
	if (imap_write(cp->dst, d, n) < 0)
		return conn_fail(cp, cp->dst);
	if (end) {
		EVP_DigestFinal_ex(cp->md, m->sha, NULL);
		cp->cur = NULL;
	}
	return 0;
}

static int copy_untagged(void *ctx, const char *text, size_t len)
{
	struct cp *cp = ctx;
	struct fetch_info fi;
	int r = parse_fetch(text, len, &fi);

	if (r < 0)
		return cperr(cp, "malformed FETCH response from the source: %.100s", text);
	if (r == 0) {
		char *e;

		strtoull(text, &e, 10);
		if (e != text && strncasecmp(e, " EXPUNGE", 8) == 0)
			return cperr(cp, "folder %s: a message was expunged during the copy",
				     cp->f->name);
		return 0;
	}
	if (!fi.has_body)
		return 0; /* a flag change: after the switch, not ours to follow */
	if (cp->cur != NULL || cp->open == NULL)
		return cperr(cp, "FETCH response ended inside a message: %.100s", text);
	/* The response is complete and well formed: the message may now be
	 * committed with the batch. Before this point a lying literal length
	 * or garbage after it fails the batch instead. */
	if (cp->open->n >= (size_t)cp->o->batch || cp->open->bytes >= (long long)cp->o->window / 4 ||
	    (cp->o->stop && *cp->o->stop)) {
		if (cp->o->stop && *cp->o->stop)
			cp->stopping = 1;
		return close_batch(cp);
	}
	return 0;
}

/* write_progress: the shared counters into the job's row (with a request). */
static int write_progress(struct cp *cp, struct store *s)
{
	struct smd_status st;

	if (cp->o->request_id == 0) /* direct mode; < 0 is a rollback copy */
		return 0;
	memset(&st, 0, sizeof(st));
	st.folders_done = __atomic_load_n(&cp->sh->folders_done, __ATOMIC_RELAXED);
	st.folders_total = cp->sh->folders_total;
	st.msgs_total = cp->sh->msgs_total;
	st.bytes_total = cp->sh->bytes_total;
	st.msgs_done = __atomic_load_n(&cp->sh->msgs_done, __ATOMIC_RELAXED);
	st.bytes_done = __atomic_load_n(&cp->sh->bytes_done, __ATOMIC_RELAXED);
	return store_smd_progress(s, cp->o->request_id, &st);
}

/* batch_done: journal an acknowledged APPEND (its APPENDUID set). */
static int batch_done(struct cp *cp, struct batch *b, const char *key)
{
	enum imap_status st;
	const char *text;
	unsigned long long uv;

	if (imap_wait(cp->dst, b->tag, &st, &text) < 0)
		return conn_fail(cp, cp->dst);
	if (st != IMAP_OK)
		return cperr(cp, "APPEND to %s: %s %s", cp->f->dst, st == IMAP_NO ? "NO" : "BAD",
			     text);
	const char *a = strcasestr(text, "[APPENDUID ");

	if (a == NULL)
		return cperr(cp, "APPEND to %s: no APPENDUID (the target needs UIDPLUS)",
			     cp->f->dst);
	char *e;

	uv = strtoull(a + 11, &e, 10);
	if (*e != ' ' || uv != cp->dst_uidvalidity)
		return cperr(cp, "APPEND to %s: UIDVALIDITY changed on the target", cp->f->dst);
	/* The set lists the new UIDs in append order: "5" "5:9" "5,7:8". */
	const char *p = e + 1;
	size_t k = 0;

	while (k < b->n) {
		unsigned long long lo = strtoull(p, &e, 10), hi = lo;

		if (e == p)
			break;
		p = e;
		if (*p == ':') {
			hi = strtoull(p + 1, &e, 10);
			p = e;
		}
		if (hi < lo) {
			unsigned long long t = lo;

			lo = hi;
			hi = t;
		}
		for (unsigned long long u = lo; u <= hi && k < b->n; u++)
			cp->msgs[b->idx[k++]].dst_uid = u;
		if (*p == ',')
			p++;
		else
			break;
	}
	if (k != b->n)
		return cperr(cp, "APPEND to %s: APPENDUID names %zu of %zu messages", cp->f->dst, k,
			     b->n);
	cp->appended += (long long)b->n;
	if (cp->o->crash_after > 0 &&
	    __atomic_add_fetch(&cp->sh->appended, (long long)b->n, __ATOMIC_SEQ_CST) >=
		    cp->o->crash_after)
		_exit(99); /* test hook: appended, not journalled */
	struct store *s = cp->o->store;

	if (store_begin(s) < 0)
		goto dberr;
	for (size_t i = 0; i < b->n; i++) {
		struct msg *m = &cp->msgs[b->idx[i]];
		struct smd_map_row row = {.src_uid = m->uid, .dst_uid = m->dst_uid,
					  .size = (long long)m->size};

		memcpy(row.sha256, m->sha, 32);
		if (store_smd_map_add(s, key, cp->f->name, &row) < 0)
			goto dberr;
		m->state = 2;
		cp->r->copied++;
		__atomic_add_fetch(&cp->sh->msgs_done, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&cp->sh->bytes_done, (long long)m->size, __ATOMIC_RELAXED);
	}
	if (write_progress(cp, s) < 0)
		goto dberr;
	if (store_commit(s) < 0)
		goto dberr;
	return 0;
dberr:
	cperr(cp, "journal: %s", store_errmsg(s));
	store_rollback(s);
	return -1;
}

/* reap: journal acknowledged batches; with ALL, wait for every one. */
static int reap(struct cp *cp, const char *key, int all)
{
	while (cp->inflight) {
		struct batch *b = cp->inflight;

		if (!all && !imap_done(cp->dst, b->tag) &&
		    cp->inflight_bytes <= (long long)cp->o->window)
			break;
		cp->inflight = b->next;
		if (cp->inflight == NULL)
			cp->inflight_tail = &cp->inflight;
		cp->inflight_bytes -= b->bytes;
		int r = batch_done(cp, b, key);

		free(b->idx);
		free(b);
		if (r < 0)
			return -1;
	}
	return 0;
}

static void drop_batches(struct cp *cp)
{
	struct batch *b, *next;

	for (b = cp->inflight; b; b = next) {
		next = b->next;
		free(b->idx);
		free(b);
	}
	cp->inflight = NULL;
	cp->inflight_tail = &cp->inflight;
	if (cp->open) {
		free(cp->open->idx);
		free(cp->open);
		cp->open = NULL;
	}
}

#define MAX_FETCH 4

static int stream_copy(struct cp *cp, const char *key)
{
	size_t ntodo = 0, next = 0;
	unsigned fetch_tags[MAX_FETCH];
	int nfetch = 0;
	struct imap_handler h = {copy_untagged, copy_literal, copy_data, cp};
	unsigned long long *uids = xmalloc((cp->nmsgs + 1) * sizeof(*uids));

	for (size_t i = 0; i < cp->nmsgs; i++)
		if (cp->msgs[i].state == 0)
			ntodo++;
	if (ntodo == 0) {
		free(uids);
		return 0;
	}
	imap_set_handler(cp->src, &h);
	imap_set_handler(cp->dst, &cp->dst_h);
	while (!cp->stopping) {
		/* Two FETCHes in flight: the source never waits for us. */
		while (nfetch < 2 && next < cp->nmsgs && !(cp->o->stop && *cp->o->stop)) {
			size_t n = 0;
			unsigned long long bytes = 0;

			while (next < cp->nmsgs && n < (size_t)cp->o->batch &&
			       bytes < cp->o->window / 2) {
				if (cp->msgs[next].state == 0) {
					uids[n++] = cp->msgs[next].uid;
					bytes += cp->msgs[next].size;
				}
				next++;
			}
			if (n == 0)
				continue;
			char **sets;
			size_t ns = uidsets(uids, n, &sets);

			/* smd_batch is bounded so that one set fits one command. */
			for (size_t i = 0; i < ns && nfetch < MAX_FETCH; i++)
				fetch_tags[nfetch++] =
					imap_cmd(cp->src, "UID FETCH %s (BODY.PEEK[])", sets[i]);
			free_sets(sets, ns);
			if (imap_flush(cp->src) < 0)
				goto src_fail;
		}
		if (nfetch == 0)
			break;
		unsigned oldest = fetch_tags[0];

		while (!imap_done(cp->src, oldest) && !cp->err[0])
			if (imap_read(cp->src, 1) < 0)
				break;
		if (cp->err[0] || !imap_done(cp->src, oldest))
			goto src_fail;
		enum imap_status st;
		const char *text;

		imap_wait(cp->src, oldest, &st, &text);
		if (st != IMAP_OK) {
			cperr(cp, "UID FETCH in %s: %s", cp->f->name, text);
			goto src_fail;
		}
		memmove(fetch_tags, fetch_tags + 1, (size_t)(nfetch - 1) * sizeof(*fetch_tags));
		nfetch--;
		if (imap_read(cp->dst, 0) < 0) {
			conn_fail(cp, cp->dst);
			goto src_fail;
		}
		if (reap(cp, key, 0) < 0)
			goto src_fail;
	}
	free(uids);
	imap_set_handler(cp->src, NULL);
	/* Stopped between FETCHes rather than after a message: the same
	 * graceful stop, with the rest of the folder left for the rerun. */
	for (size_t i = 0; i < cp->nmsgs && !cp->stopping && cp->o->stop && *cp->o->stop; i++)
		if (cp->msgs[i].state == 0 && !cp->msgs[i].got)
			cp->stopping = 1;
	if (cp->stopping && nfetch > 0) {
		/* Stop after the current message: the rest of the FETCH is
		 * dropped with the source connection. */
		imap_close(&cp->src);
	}
	/* The batches still in flight are reaped by the caller, after it
	 * has queued the read-back behind them. */
	return close_batch(cp);
src_fail:
	free(uids);
	imap_set_handler(cp->src, NULL);
	return cp->err[0] ? -1 : conn_fail(cp, cp->src);
}

/* ------------------------------------------------------------ read-back */

/*
 * The target connection's handler, from the first SELECT on: it hashes
 * read-back bodies into cp->rb, feeds a pipelined listing into
 * cp->scan_into and the untagged responses of a pending SELECT into
 * cp->dso. Commands are answered in order, so a response of the SELECT
 * sent behind a read-back always comes last and wins.
 */
static int dst_literal(void *ctx, const char *text, size_t len, uint64_t size)
{
	struct cp *cp = ctx;

	(void)len;
	if (strcasestr(text, "BODY[] {") == NULL)
		return IMAP_LIT_INLINE;
	EVP_DigestInit_ex(cp->vmd, EVP_sha256(), NULL);
	cp->rb_streaming = 1;
	cp->rb_size = size;
	return IMAP_LIT_STREAM;
}

static int dst_data(void *ctx, const char *d, size_t n, int end)
{
	struct cp *cp = ctx;

	(void)end;
	EVP_DigestUpdate(cp->vmd, d, n);
	return 0;
}

static void scan_add(struct scan_ctx *s, unsigned long long uid, unsigned long long size)
{
	s->m = xrealloc(s->m, (s->n + 1) * sizeof(*s->m));
	memset(&s->m[s->n], 0, sizeof(s->m[0]));
	s->m[s->n].uid = uid;
	s->m[s->n].size = size;
	s->n++;
}

static int dst_untagged(void *ctx, const char *text, size_t len)
{
	struct cp *cp = ctx;
	struct fetch_info fi;
	int r = parse_fetch(text, len, &fi);

	if (r < 0)
		return cperr(cp, "malformed FETCH response from the target: %.100s", text);
	if (r == 0)
		return cp->dso.active ? uv_untagged(&cp->dso.uv, text, len) : 0;
	if (fi.has_body) {
		if (!cp->rb_streaming || !fi.has_uid)
			return cperr(cp, "FETCH response without UID or body from the target: %.100s",
				     text);
		cp->rb_streaming = 0;
		if (cp->nrb == cp->rb_cap) {
			cp->rb_cap = cp->rb_cap ? 2 * cp->rb_cap : 64;
			cp->rb = xrealloc(cp->rb, cp->rb_cap * sizeof(*cp->rb));
		}
		struct rb *b = &cp->rb[cp->nrb++];

		b->uid = fi.uid;
		b->size = cp->rb_size;
		EVP_DigestFinal_ex(cp->vmd, b->sha, NULL);
		return 0;
	}
	if (cp->scan_into && fi.has_uid && fi.has_size)
		scan_add(cp->scan_into, fi.uid, fi.size);
	return 0; /* a flag update */
}

static void rb_cmd(struct cp *cp, const char *set)
{
	cp->rb_tags = xrealloc(cp->rb_tags, (cp->nrb_tags + 1) * sizeof(*cp->rb_tags));
	cp->rb_tags[cp->nrb_tags++] = imap_cmd(cp->dst, "UID FETCH %s (UID BODY.PEEK[])", set);
}

/*
 * readback_start: queue the read-back of what this run put in the
 * folder, by the UIDs the target gave (APPENDUID, or found by hash).
 * It is sent once every APPEND is acknowledged, not straight behind the
 * last one: Dovecot delays the sync of a pipelined command's view, and a
 * FETCH queued behind an APPEND may not see the appended messages yet.
 */
static void readback_start(struct cp *cp)
{
	unsigned long long *uids = xmalloc((cp->nmsgs + 1) * sizeof(*uids));
	size_t n = 0;
	char **sets;

	for (size_t i = 0; i < cp->nmsgs; i++)
		if (cp->msgs[i].state == 2 || cp->msgs[i].state == 3)
			uids[n++] = cp->msgs[i].dst_uid;
	size_t ns = n ? uidsets(uids, n, &sets) : 0;

	for (size_t i = 0; i < ns; i++)
		rb_cmd(cp, sets[i]);
	if (ns)
		free_sets(sets, ns);
	free(uids);
}

static int readback_finish(struct cp *cp)
{
	int r = 0;

	for (size_t i = 0; i < cp->nrb_tags && r == 0; i++) {
		enum imap_status st;
		const char *text;

		if (imap_wait(cp->dst, cp->rb_tags[i], &st, &text) < 0)
			r = cp->err[0] ? -1 : conn_fail(cp, cp->dst);
		else if (st != IMAP_OK)
			r = cperr(cp, "UID FETCH in %s (read-back): %s", cp->f->dst, text);
	}
	cp->nrb_tags = 0;
	return r < 0 || cp->err[0] ? -1 : 0;
}

/* ------------------------------------------------------------ verify */

static struct {
	size_t diffs;
} g_verify;

static void add_diff(struct cp *cp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add_diff(struct cp *cp, const char *fmt, ...)
{
	char line[300];
	va_list ap;
	size_t len = strlen(cp->r->reason);

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_error("%s: verify %s", cp->o->mailbox_key, line);
	if (len + strlen(line) + 2 < sizeof(cp->r->reason))
		snprintf(cp->r->reason + len, sizeof(cp->r->reason) - len, "%s%s", len ? "\n" : "",
			 line);
	g_verify.diffs++;
}

static int cmp_rb(const void *a, const void *b)
{
	const struct rb *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static struct rb *rb_find(struct cp *cp, unsigned long long uid)
{
	struct rb key = {.uid = uid};

	return cp->nrb ? bsearch(&key, cp->rb, cp->nrb, sizeof(*cp->rb), cmp_rb) : NULL;
}

/*
 * verify: every source message is journalled and present on the target;
 * the ones copied in this run were read back from the target and their
 * SHA-256 and size must equal those computed while streaming them from
 * the source.
 */
static int verify(struct cp *cp, struct scan_ctx *after)
{
	size_t ndiff0 = g_verify.diffs;

	if (cp->nrb)
		qsort(cp->rb, cp->nrb, sizeof(*cp->rb), cmp_rb);
	for (size_t i = 0; i < cp->nmsgs; i++) {
		struct msg *m = &cp->msgs[i];

		if (m->state == 0) {
			add_diff(cp, "folder=%s uid=%llu not copied", cp->f->name, m->uid);
			continue;
		}
		if (m->state == 2 || m->state == 3) {
			struct rb *b = rb_find(cp, m->dst_uid);

			if (b == NULL) {
				add_diff(cp, "folder=%s uid=%llu target_uid=%llu not read back",
					 cp->f->name, m->uid, m->dst_uid);
				continue;
			}
			m->state = 4; /* verified */
			if (memcmp(m->sha, b->sha, 32) != 0 || m->size != b->size) {
				char x[65], y[65];

				hex(m->sha, x);
				hex(b->sha, y);
				add_diff(cp, "folder=%s uid=%llu target_uid=%llu sha256 %s != %s",
					 cp->f->name, m->uid, m->dst_uid, x, y);
			}
			continue;
		}
		struct dst_msg *d = scan_find(after, m->dst_uid);

		if (d == NULL) {
			add_diff(cp, "folder=%s uid=%llu target_uid=%llu missing on the target",
				 cp->f->name, m->uid, m->dst_uid);
			continue;
		}
		if (d->size != m->size)
			add_diff(cp, "folder=%s uid=%llu target_uid=%llu size %llu != %llu",
				 cp->f->name, m->uid, m->dst_uid, m->size, d->size);
	}
	return g_verify.diffs == ndiff0 ? 0 : 1;
}

/* ------------------------------------------------------------ one folder */

/*
 * copy_folder: copy F, with NEXT (or NULL) the folder after it. The
 * target is the bottleneck, so its connection is kept busy: F's SELECT
 * goes out before the source's answers are awaited, the read-back of F
 * is sent the moment its last APPEND is acknowledged, NEXT's SELECT right
 * behind it, and NEXT is opened on the source as soon as the source has
 * sent F's last message.
 */
static int copy_folder(struct cp *cp, const struct folder *f, const struct folder *next)
{
	const char *key = cp->o->mailbox_key;
	struct smd_folder jf;
	unsigned long long dst_exists = 0;
	struct scan_ctx before = {0}, after = {0};
	int rc = -1, jr;
	long long t0 = time_mono_us();

	cp->f = f;
	cp->nrb = 0;
	cp->nrb_tags = 0;
	if (!cp->dso.active || cp->dso.f != f) {
		dst_open_start(cp, f);
		if (imap_flush(cp->dst) < 0) {
			conn_fail(cp, cp->dst);
			goto out;
		}
	}
	if (src_open_finish(cp, f) < 0 || dst_open_finish(cp, f, &dst_exists) < 0)
		goto out;
	cp->any_keyword = strstr(cp->permflags, "\\*") != NULL;
	jr = store_smd_folder_get(cp->o->store, key, f->name, &jf);
	if (jr < 0) {
		cperr(cp, "journal: %s", store_errmsg(cp->o->store));
		goto out;
	}
	/* Started and never verified: a run died in this folder. */
	int interrupted = jr == STORE_OK && !jf.verified;

	if (jr == STORE_OK && (jf.dst_uidvalidity != cp->dst_uidvalidity || strcmp(jf.dst_name, f->dst))) {
		/* The target folder was recreated: its UIDs are new. What is
		 * there is found again by hash below. */
		log_warn("%s: folder=%s target UIDVALIDITY changed, journal reset", key, f->name);
		if (store_smd_map_clear(cp->o->store, key, f->name) < 0) {
			cperr(cp, "journal: %s", store_errmsg(cp->o->store));
			goto out;
		}
	} else if (jr == STORE_OK && jf.uidvalidity != cp->src_uidvalidity) {
		if (remap_uidvalidity(cp, key) < 0)
			goto out;
	} else if (jr == STORE_OK) {
		struct load_ctx l = {cp, 0};

		if (store_smd_map_each(cp->o->store, key, f->name, load_row, &l) < 0) {
			cperr(cp, "journal: %s", store_errmsg(cp->o->store));
			goto out;
		}
	}
	memset(&jf, 0, sizeof(jf));
	snprintf(jf.dst_name, sizeof(jf.dst_name), "%s", f->dst);
	jf.uidvalidity = cp->src_uidvalidity;
	jf.dst_uidvalidity = cp->dst_uidvalidity;
	if (store_smd_folder_put(cp->o->store, key, f->name, &jf) < 0) {
		cperr(cp, "journal: %s", store_errmsg(cp->o->store));
		goto out;
	}
	size_t todo = 0, journalled = 0;

	for (size_t i = 0; i < cp->nmsgs; i++)
		if (cp->msgs[i].state == 0)
			todo++;
	journalled = cp->nmsgs - todo;
	if (interrupted && todo && cp->o->settle_ms > 0) {
		/*
		 * The server may still be committing the dead run's last
		 * MULTIAPPEND (its connection was cut after the literal): a
		 * message that lands after the scan below would be copied
		 * again. NOOP then brings its EXISTS to this session.
		 */
		log_info("%s: folder=%s was interrupted; %d ms for the target to settle", key,
			 f->name, cp->o->settle_ms);
		time_sleep_us(cp->o->settle_ms * 1000LL);
		if (imap_simple(cp->dst, "NOOP") < 0) {
			conn_fail(cp, cp->dst);
			goto out;
		}
		dst_exists = 1; /* UID FETCH 1:* is valid on an empty folder too */
	}
	if (scan_target(cp, &before, dst_exists) < 0)
		goto out;
	for (size_t k = 0; k < cp->nmsgs; k++) {
		struct dst_msg *d;

		if (cp->msgs[k].state == 1 && (d = scan_find(&before, cp->msgs[k].dst_uid)) != NULL)
			d->known = 1;
	}
	if (todo && before.n > journalled && find_orphans(cp, &before, key) < 0)
		goto out;
	if (stream_copy(cp, key) < 0)
		goto out;
	if (cp->stopping) {
		if (reap(cp, key, 1) < 0)
			goto out;
		rc = 0;
		goto out;
	}
	if (next && !(cp->o->stop && *cp->o->stop) && src_open_start(cp, next) < 0)
		goto out;
	unsigned after_tag = 0;

	if (reap(cp, key, 1) < 0)
		goto out;
	for (size_t i = 0; i < cp->nmsgs; i++)
		if (cp->msgs[i].state == 0) {
			cperr(cp, "folder %s: message UID %llu was not returned by the source",
			      f->name, cp->msgs[i].uid);
			goto out;
		}
	imap_set_handler(cp->dst, &cp->dst_h);
	readback_start(cp);
	if (journalled) {
		/* Messages journalled by an earlier run must still be there.
		 * The folder is selected: the listing sees what was just
		 * appended. */
		after.cp = cp;
		cp->scan_into = &after;
		after_tag = imap_cmd(cp->dst, "UID FETCH 1:* (UID RFC822.SIZE)");
	}
	if (next)
		dst_open_start(cp, next);
	if (imap_flush(cp->dst) < 0) {
		conn_fail(cp, cp->dst);
		goto out;
	}
	if (after_tag) {
		enum imap_status st;
		const char *text;

		if (imap_wait(cp->dst, after_tag, &st, &text) < 0) {
			conn_fail(cp, cp->dst);
			goto out;
		}
		if (st != IMAP_OK) {
			cperr(cp, "UID FETCH in %s: %s", f->dst, text);
			goto out;
		}
		if (after.n)
			qsort(after.m, after.n, sizeof(*after.m), cmp_dst);
	}
	if (readback_finish(cp) < 0)
		goto out;
	int v = verify(cp, &after);

	if (v < 0)
		goto out;
	long long bytes = 0, skipped = 0, skipped_bytes = 0;

	for (size_t i = 0; i < cp->nmsgs; i++) {
		bytes += (long long)cp->msgs[i].size;
		if (cp->msgs[i].state == 1) {
			skipped++;
			skipped_bytes += (long long)cp->msgs[i].size;
		}
	}
	/* Copied by an earlier run: done too, so a resumed copy reaches its total. */
	__atomic_add_fetch(&cp->sh->msgs_done, skipped, __ATOMIC_RELAXED);
	__atomic_add_fetch(&cp->sh->bytes_done, skipped_bytes, __ATOMIC_RELAXED);
	jf.messages = (long long)cp->nmsgs;
	jf.bytes = bytes;
	jf.verified = v == 0;
	if (store_smd_folder_put(cp->o->store, key, f->name, &jf) < 0) {
		cperr(cp, "journal: %s", store_errmsg(cp->o->store));
		goto out;
	}
	cp->r->messages += (long long)cp->nmsgs;
	cp->r->bytes += bytes;
	cp->r->skipped += skipped;
	if (v == 0)
		cp->r->verified++;
	log_info("%s: folder=%s target=%s messages=%zu bytes=%lld copied=%lld skipped=%lld "
		 "verified=%s ms=%lld",
		 key, f->name, f->dst, cp->nmsgs, bytes, (long long)(cp->nmsgs - (size_t)skipped),
		 skipped, v == 0 ? "yes" : "no", (time_mono_us() - t0) / 1000);
	if (cp->o->summary)
		fprintf(cp->o->summary,
			"folder=%s target=%s messages=%zu bytes=%lld copied=%lld skipped=%lld "
			"verified=%s\n",
			f->name, f->dst, cp->nmsgs, bytes, (long long)(cp->nmsgs - (size_t)skipped),
			skipped, v == 0 ? "yes" : "no");
	rc = v == 0 ? 0 : 1;
out:
	cp->scan_into = NULL;
	drop_batches(cp);
	free(before.m);
	free(after.m);
	free_msgs(cp);
	/* Leave the folders so the next SELECT does not race an EXPUNGE. */
	return rc;
}

/* ------------------------------------------------------------ mailbox */

static struct imap_conn *connect_side(struct cp *cp, const struct copy_side *s, const char *what)
{
	char *err = NULL;
	struct imap_conn *c = imap_connect(&s->imap, &err);

	if (c == NULL) {
		cperr(cp, "%s: %s", what, err);
		free(err);
	}
	return c;
}

/*
 * open_sides: connect to both servers and log in to both at once (the
 * two authentications overlap).
 */
static int open_sides(struct cp *cp)
{
	const struct copy_side *s = &cp->o->src, *d = &cp->o->dst;
	unsigned ts, td;

	if ((cp->src = connect_side(cp, s, "source")) == NULL ||
	    (cp->dst = connect_side(cp, d, "target")) == NULL)
		return -1;
	if (imap_login_start(cp->src, s->user, s->master, s->master_sep, s->password, &ts) < 0)
		return cperr(cp, "source: %s", imap_error(cp->src));
	if (imap_login_start(cp->dst, d->user, d->master, d->master_sep, d->password, &td) < 0)
		return cperr(cp, "target: %s", imap_error(cp->dst));
	if (imap_login_finish(cp->src, ts, s->user, s->master) < 0)
		return cperr(cp, "source: %s", imap_error(cp->src));
	if (imap_login_finish(cp->dst, td, d->user, d->master) < 0)
		return cperr(cp, "target: %s", imap_error(cp->dst));
	return 0;
}

#define MAX_LANES 4

/* claim: the next folder no lane has taken, or NULL. */
static const struct folder *claim(struct cp *cp)
{
	size_t k = __atomic_fetch_add(&cp->sh->next, 1, __ATOMIC_SEQ_CST);

	return k < cp->nsel ? &cp->folders[cp->sel[k]] : NULL;
}

/*
 * run_lane: copy claimed folders until none is left. Each lane claims one
 * folder ahead, so that it can open it on the source early. Returns -1
 * when the mailbox must fail at once (a connection or journal error).
 */
static int run_lane(struct cp *cp, int *failed_folders)
{
	const struct folder *f = claim(cp);

	while (f != NULL) {
		if (cp->o->stop && *cp->o->stop) {
			cp->stopping = 1;
			break;
		}
		const struct folder *next = claim(cp);
		int fr = copy_folder(cp, f, next);

		if (fr < 0)
			return -1;
		if (fr > 0)
			(*failed_folders)++;
		cp->r->folders++;
		__atomic_add_fetch(&cp->sh->folders_done, 1, __ATOMIC_RELAXED);
		write_progress(cp, cp->o->store);
		if (cp->stopping)
			break;
		f = next;
	}
	return 0;
}

static void cp_init(struct cp *cp, const struct copy_opts *o, struct copy_result *r)
{
	memset(cp, 0, sizeof(*cp));
	memset(r, 0, sizeof(*r));
	cp->o = o;
	cp->r = r;
	cp->md = EVP_MD_CTX_new();
	cp->vmd = EVP_MD_CTX_new();
	cp->dst_h = (struct imap_handler){dst_untagged, dst_literal, dst_data, cp};
	cp->inflight_tail = &cp->inflight;
	g_verify.diffs = 0;
}

/* cp_done: the lane's connections and buffers (not the folder list). */
static void cp_done(struct cp *cp)
{
	drop_batches(cp);
	imap_close(&cp->src);
	imap_close(&cp->dst);
	free_msgs(cp);
	src_open_free(&cp->so);
	free(cp->rb);
	free(cp->rb_tags);
	EVP_MD_CTX_free(cp->md);
	EVP_MD_CTX_free(cp->vmd);
}

static void add_reason(struct copy_result *r, const char *why)
{
	size_t len = strlen(r->reason);

	if (why[0])
		snprintf(r->reason + len, sizeof(r->reason) - len, "%s%s", len ? "\n" : "", why);
}

/*
 * lane_main: a further lane, in a child process of its own: its own
 * connections (its own Dovecot processes on both servers, so the two
 * lanes use two CPUs and overlap each other's waits) and its own store
 * handle (an SQLite handle must not cross fork()). It never touches the
 * parent's connections or store it inherited. Returns the copy_rc.
 */
static int lane_main(const struct cp *parent, struct copy_result *r)
{
	struct copy_opts lo = *parent->o;
	struct cp cp;
	char *err = NULL;
	int failed = 0, rc = COPY_FAILED;

	cp_init(&cp, &lo, r);
	lo.store = store_open(lo.store_path, STORE_RDWR, lo.store_busy_ms, &err);
	if (lo.store == NULL) {
		add_reason(r, err);
		free(err);
		cp_done(&cp);
		return COPY_FAILED;
	}
	store_smd_relax(lo.store);
	cp.folders = parent->folders;
	cp.nfolders = parent->nfolders;
	cp.src_sep = parent->src_sep;
	cp.dst_sep = parent->dst_sep;
	cp.sh = parent->sh;
	cp.sel = parent->sel;
	cp.nsel = parent->nsel;
	if (open_sides(&cp) == 0 && run_lane(&cp, &failed) == 0)
		rc = cp.stopping ? COPY_STOPPED : failed ? COPY_FAILED : COPY_OK;
	if (rc == COPY_FAILED)
		add_reason(r, cp.err);
	cp_done(&cp);
	store_close(&lo.store);
	return rc;
}

/* lane_start: fork a further lane; its result comes back through a pipe. */
static pid_t lane_start(struct cp *cp, int *fd_r)
{
	int fds[2];
	pid_t parent = getpid();

	if (pipe(fds) < 0)
		return -1;
	/* Nothing buffered may be written twice. */
	fflush(stdout);
	fflush(stderr);
	if (cp->o->summary)
		fflush(cp->o->summary);
	pid_t pid = fork();

	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		struct copy_result lr;

		/* A lane must not outlive its mailbox's child (smd_child_timeout
		 * kills that child with SIGKILL). */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(COPY_FAILED);
		close(fds[0]);
		int rc = lane_main(cp, &lr);

		if (cp->o->summary)
			fflush(cp->o->summary);
		const char *p = (const char *)&lr;
		size_t left = sizeof(lr);

		while (left > 0) {
			ssize_t n = write(fds[1], p, left);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			p += n;
			left -= (size_t)n;
		}
		_exit(rc);
	}
	close(fds[1]);
	*fd_r = fds[0];
	return pid;
}

/*
 * lane_wait: wait for a further lane (passing a stop on to it, or
 * killing it with KILL when this lane failed), merge its result into R.
 * Returns its copy_rc.
 */
static int lane_wait(struct cp *cp, pid_t pid, int fd, int kill_it, struct copy_result *r)
{
	struct copy_result lr;
	int st = 0, passed = 0;

	if (kill_it)
		kill(pid, SIGKILL);
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid || (w < 0 && errno != EINTR))
			break;
		if (!passed && cp->o->stop && *cp->o->stop) {
			kill(pid, SIGTERM);
			passed = 1;
		}
		struct timespec ts = {0, 20 * 1000 * 1000};

		nanosleep(&ts, NULL);
	}
	size_t got = 0;

	while (got < sizeof(lr)) {
		ssize_t n = read(fd, (char *)&lr + got, sizeof(lr) - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;

	/* Test hooks (crash_after, crash_mid): a lane's crash is the child's. */
	if (code == 98 || code == 99)
		_exit(code);
	if (got == sizeof(lr)) {
		lr.reason[sizeof(lr.reason) - 1] = '\0';
		r->folders += lr.folders;
		r->messages += lr.messages;
		r->bytes += lr.bytes;
		r->copied += lr.copied;
		r->skipped += lr.skipped;
		r->refused_keywords += lr.refused_keywords;
		r->verified += lr.verified;
	}
	if (kill_it)
		return COPY_FAILED;
	if (code == COPY_OK || code == COPY_STOPPED)
		return code;
	if (got == sizeof(lr) && lr.reason[0])
		add_reason(r, lr.reason);
	else {
		char why[80];

		if (WIFSIGNALED(st))
			snprintf(why, sizeof(why), "lane pid=%d killed by signal %d", (int)pid,
				 WTERMSIG(st));
		else
			snprintf(why, sizeof(why), "lane pid=%d exited with status %d", (int)pid, code);
		add_reason(r, why);
	}
	return COPY_FAILED;
}

int copy_mailbox(const struct copy_opts *o, struct copy_result *r)
{
	struct cp cp;
	struct lane_shared local;
	char **src_subs = NULL;
	size_t nsrc_subs = 0;
	int rc = COPY_FAILED, failed_folders = 0, lane_fd[MAX_LANES];
	pid_t lane[MAX_LANES];
	int nlanes = 0;

	cp_init(&cp, o, r);
	memset(&local, 0, sizeof(local));
	cp.sh = &local;
	if (open_sides(&cp) < 0)
		goto out;
	if (!(imap_caps(cp.dst) & IMAP_CAP_UIDPLUS)) {
		cperr(&cp, "target: the server lacks UIDPLUS (RFC 4315), needed for the journal");
		goto out;
	}
	long long messages = -1, bytes = -1;

	if (list_both(&cp, &src_subs, &nsrc_subs, &messages, &bytes) < 0)
		goto out;
	if (cp.src_sep == 0)
		cp.src_sep = '/';
	if (cp.dst_sep == 0)
		cp.dst_sep = cp.src_sep;
	qsort(cp.folders, cp.nfolders, sizeof(*cp.folders), cmp_folder);
	if (map_folders(&cp) < 0 || setup_target(&cp, src_subs, nsrc_subs) < 0)
		goto out;
	cp.sel = xmalloc((cp.nfolders + 1) * sizeof(*cp.sel));
	for (size_t i = 0; i < cp.nfolders; i++)
		if (!(cp.folders[i].attrs & F_NOSELECT))
			cp.sel[cp.nsel++] = i;
	/* A lane costs a login and a process on both servers, about what
	 * copying some dozens of messages costs them: small mailboxes get
	 * fewer lanes (one more per lane_messages). */
	int lanes = o->lanes;
	long long per = o->lane_messages > 0 ? o->lane_messages : 200;

	if (messages >= 0 && messages / per + 1 < lanes)
		lanes = (int)(messages / per) + 1;
	if (lanes > 1 && cp.nsel > 1 && o->store_path && !(o->stop && *o->stop)) {
		void *m = mmap(NULL, sizeof(struct lane_shared), PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

		if (m != MAP_FAILED) {
			cp.sh = m;
			memset(cp.sh, 0, sizeof(*cp.sh));
		}
	}
	cp.sh->folders_total = (long long)cp.nsel;
	cp.sh->msgs_total = messages > 0 ? messages : 0;
	cp.sh->bytes_total = bytes > 0 ? bytes : 0;
	write_progress(&cp, o->store);
	for (int i = 1; cp.sh != &local && i < lanes && i < MAX_LANES && (size_t)i < cp.nsel;
	     i++) {
		lane[nlanes] = lane_start(&cp, &lane_fd[nlanes]);
		if (lane[nlanes] < 0) {
			log_warn("%s: fork: %s; fewer lanes", o->mailbox_key, strerror(errno));
			break;
		}
		nlanes++;
	}
	int lr = run_lane(&cp, &failed_folders);

	for (int i = 0; i < nlanes; i++) {
		int wr = lane_wait(&cp, lane[i], lane_fd[i], lr < 0, r);

		if (wr == COPY_FAILED)
			failed_folders++;
		else if (wr == COPY_STOPPED)
			cp.stopping = 1;
	}
	if (nlanes)
		write_progress(&cp, o->store);
	if (lr < 0)
		goto out;
	if (cp.stopping)
		rc = COPY_STOPPED;
	else if (failed_folders)
		rc = COPY_FAILED;
	else
		rc = COPY_OK;
out:
	if (rc == COPY_FAILED && cp.err[0])
		add_reason(r, cp.err);
	if (cp.sh != &local)
		munmap(cp.sh, sizeof(*cp.sh));
	free(cp.sel);
	cp_done(&cp);
	free_folders(cp.folders, cp.nfolders);
	free_folders(cp.dst_folders, cp.ndst_folders);
	for (size_t i = 0; i < nsrc_subs; i++)
		free(src_subs[i]);
	free(src_subs);
	for (size_t i = 0; i < cp.ndst_subs; i++)
		free(cp.dst_subs[i]);
	free(cp.dst_subs);
	return rc;
}
