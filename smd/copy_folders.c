#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "copy_folders.h"
#include "log.h"
#include "xalloc.h"

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
 * status_counts: add MESSAGES and SIZE of a STATUS response to LC. A
 * malformed one is ignored (the total is only for the progress report).
 */
static void status_counts(struct list_ctx *lc, const struct imap_status_items *st)
{
	const unsigned long long most = 1ULL << 50; /* a sum of them cannot overflow */

	if ((st->has & IMAP_STATUS_MESSAGES) && lc->messages >= 0)
		lc->messages += (long long)(st->messages < most ? st->messages : most);
	if ((st->has & IMAP_STATUS_SIZE) && lc->bytes >= 0)
		lc->bytes += (long long)(st->size < most ? st->size : most);
}

/* attrs_of: our folder attributes from LIST's (NonExistent implies Noselect). */
static unsigned attrs_of(unsigned bits)
{
	static const struct {
		unsigned list, ours;
	} map[] = {
		{IMAP_LIST_NOSELECT, F_NOSELECT}, {IMAP_LIST_NONEXISTENT, F_NOSELECT | F_NONEXISTENT},
		{IMAP_LIST_SENT, F_SENT},	  {IMAP_LIST_DRAFTS, F_DRAFTS},
		{IMAP_LIST_TRASH, F_TRASH},	  {IMAP_LIST_JUNK, F_JUNK},
		{IMAP_LIST_ARCHIVE, F_ARCHIVE},
	};
	unsigned attrs = 0;

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (bits & map[i].list)
			attrs |= map[i].ours;
	return attrs;
}

static int list_event(void *ctx, const struct imap_event *ev)
{
	struct list_ctx *lc = ctx;
	const struct imap_list *l = &ev->u.list;

	if (ev->type == IMAP_EV_STATUS && !ev->bad)
		status_counts(lc, &ev->u.status);
	if (ev->type != IMAP_EV_LIST)
		return 0;
	if (ev->bad)
		return cperr(lc->cp, "malformed LIST response: %.100s", ev->raw.p);
	if (l->sep && lc->sep)
		*lc->sep = l->sep;
	if (l->name_len == 0)
		return 0; /* LIST "" "": the separator only */
	if (l->lsub) {
		*lc->subs = xrealloc(*lc->subs, (*lc->nsubs + 1) * sizeof(char *));
		(*lc->subs)[(*lc->nsubs)++] = xstrdup(l->name);
		return 0;
	}
	*lc->f = xrealloc(*lc->f, (*lc->n + 1) * sizeof(**lc->f));
	struct folder *f = &(*lc->f)[(*lc->n)++];

	memset(f, 0, sizeof(*f));
	f->name = xstrdup(strcasecmp(l->name, "INBOX") == 0 ? "INBOX" : l->name);
	f->attrs = attrs_of(l->attr_bits);
	return 0;
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
	memset(h, 0, sizeof(*h));
	h->event = list_event;
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
int list_both(struct cp *cp, char ***src_subs, size_t *nsrc_subs, long long *messages_r,
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

int map_folders(struct cp *cp)
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

int cmp_folder(const void *a, const void *b)
{
	const struct folder *x = a, *y = b;

	/* INBOX first; then by name, so parents come before children. */
	if (strcmp(x->name, "INBOX") == 0)
		return -1;
	if (strcmp(y->name, "INBOX") == 0)
		return 1;
	return strcmp(x->name, y->name);
}

/* sub_dst: the target name of the source subscription NAME (caller frees). */
static int sub_dst(struct cp *cp, const char *name, char **d_r)
{
	const struct folder *f = NULL;

	for (size_t k = 0; k < cp->nfolders; k++)
		if (strcmp(cp->folders[k].name, name) == 0 ||
		    (strcasecmp(name, "INBOX") == 0 && strcmp(cp->folders[k].name, "INBOX") == 0))
			f = &cp->folders[k];
	if (f) {
		*d_r = xstrdup(f->dst);
		return 0;
	}
	return translate(cp, name, d_r);
}

/*
 * setup_target: CREATE the missing selectable folders (parents first: the
 * list is sorted) and SUBSCRIBE what the source subscribes, all sent at
 * once and then collected: one round trip instead of one per folder.
 */
int setup_target(struct cp *cp, char **subs, size_t nsubs)
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

		if (sub_dst(cp, subs[i], &d) < 0)
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

int verify_folders(struct cp *cp, char **subs, size_t nsubs)
{
	struct folder *df = NULL;
	size_t ndf = 0, nds = 0;
	char **ds = NULL, sep = 0;
	struct list_ctx lc = {.cp = cp, .f = &df, .n = &ndf, .sep = &sep, .subs = &ds, .nsubs = &nds};
	struct imap_handler h;
	unsigned tags[3];
	int diffs = 0, r = -1;

	list_start(cp->dst, &lc, &h, tags, 0);
	if (imap_flush(cp->dst) < 0) {
		conn_fail(cp, cp->dst);
		goto out;
	}
	if (list_finish(cp, cp->dst, tags) < 0)
		goto out;
	for (size_t i = 0; i < cp->nfolders; i++) {
		const struct folder *f = &cp->folders[i];
		int have = 0;

		if (f->attrs & F_NOSELECT)
			continue;
		for (size_t k = 0; k < ndf && !have; k++)
			have = strcmp(df[k].name, f->dst) == 0 && !(df[k].attrs & F_NOSELECT);
		if (!have) {
			cp_diff(cp, "folder=%s target=%s missing on the target", f->name, f->dst);
			diffs++;
		}
	}
	for (size_t i = 0; i < nsubs; i++) {
		char *d = NULL;
		int have = 0;

		if (sub_dst(cp, subs[i], &d) < 0)
			goto out;
		for (size_t k = 0; k < nds && !have; k++)
			have = strcmp(ds[k], d) == 0 ||
			       (strcasecmp(d, "INBOX") == 0 && strcasecmp(ds[k], "INBOX") == 0);
		if (!have) {
			cp_diff(cp, "subscription=%s target=%s not subscribed on the target", subs[i],
				    d);
			diffs++;
		}
		free(d);
	}
	r = diffs ? 1 : 0;
out:
	free_folders(df, ndf);
	for (size_t i = 0; i < nds; i++)
		free(ds[i]);
	free(ds);
	return r;
}
