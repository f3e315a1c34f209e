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

/* list_count: a folder's counts (the total is only for the progress report). */
static int list_count(void *ctx, unsigned long long msgs, unsigned long long bytes)
{
	struct list_ctx *lc = ctx;
	const unsigned long long most = 1ULL << 50; /* a sum of them cannot overflow */

	lc->messages += (long long)(msgs < most ? msgs : most);
	lc->bytes += (long long)(bytes < most ? bytes : most);
	return 0;
}

static int list_folder(void *ctx, const struct drv_folder *df)
{
	struct list_ctx *lc = ctx;

	if (df->sep && lc->sep)
		*lc->sep = df->sep;
	if (df->name[0] == '\0')
		return 0; /* LIST "" "": the separator only */
	if (df->subscribed) {
		*lc->subs = xrealloc(*lc->subs, (*lc->nsubs + 1) * sizeof(char *));
		(*lc->subs)[(*lc->nsubs)++] = xstrdup(df->name);
		return 0;
	}
	*lc->f = xrealloc(*lc->f, (*lc->n + 1) * sizeof(**lc->f));
	struct folder *f = &(*lc->f)[(*lc->n)++];

	memset(f, 0, sizeof(*f));
	/* A workstation's local folders (dst_root) are plain names: their
	 * "Inbox" is not IMAP's INBOX, and the buffer knows it as sent. */
	int plain = lc->cp->o->dst_root && lc->f == &lc->cp->folders;

	f->name = xstrdup(!plain && strcasecmp(df->name, "INBOX") == 0 ? "INBOX" : df->name);
	f->attrs = df->attrs;
	return 0;
}

/*
 * wait_all: wait for OPS[0..N) of D in order; the first that is not OK
 * fails with WHAT and its text. Sent together so that one round trip
 * serves them all.
 */
static int wait_all(struct cp *cp, struct drv *d, const unsigned *ops, size_t n,
		    char *const *what)
{
	for (size_t i = 0; i < n; i++) {
		struct drv_result res;

		if (ops[i] == 0 || d->ops->wait(d, ops[i], &res) < 0)
			return cp->err[0] ? -1 : drv_fail(cp, d);
		if (res.status != DRV_OK)
			return cperr(cp, "%s: %s", what[i], res.text);
	}
	return 0;
}

/* list_start: the folders and subscriptions of D (with their counts: WANT_STATUS). */
static unsigned list_start(struct drv *d, struct list_ctx *lc, int want_status)
{
	struct drv_cb cb = {.ctx = lc, .folder = list_folder, .count = list_count};

	lc->messages = lc->bytes = 0;
	return d->ops->list(d, DRV_LIST_SUBS | (want_status ? DRV_LIST_COUNTS : 0), &cb);
}

static int list_finish(struct cp *cp, struct drv *d, unsigned op, struct list_ctx *lc)
{
	struct drv_result res;

	if (op == 0 || d->ops->wait(d, op, &res) < 0)
		return cp->err[0] ? -1 : drv_fail(cp, d);
	if (res.status != DRV_OK)
		return cperr(cp, "%s: %s", res.step == 2 ? "LSUB" : "LIST", res.text);
	if (!(res.counted & DRV_COUNT_MESSAGES))
		lc->messages = -1;
	if (!(res.counted & DRV_COUNT_BYTES))
		lc->bytes = -1;
	return cp->err[0] ? -1 : 0;
}

/*
 * list_both: the folders and subscriptions of both sides, in one round
 * trip; *messages_r and *bytes_r: the source's message count and size
 * (when its store can tell them cheaply), or -1.
 */
int list_both(struct cp *cp, char ***src_subs, size_t *nsrc_subs, long long *messages_r,
		     long long *bytes_r)
{
	struct list_ctx ls = {.cp = cp, .f = &cp->folders, .n = &cp->nfolders, .sep = &cp->src_sep,
			      .subs = src_subs, .nsubs = nsrc_subs};
	struct list_ctx ld = {.cp = cp, .f = &cp->dst_folders, .n = &cp->ndst_folders,
			      .sep = &cp->dst_sep, .subs = &cp->dst_subs, .nsubs = &cp->ndst_subs};
	unsigned os = list_start(cp->sdrv, &ls, 1), od = list_start(cp->ddrv, &ld, 0);

	if (cp->sdrv->ops->flush(cp->sdrv) < 0)
		return drv_fail(cp, cp->sdrv);
	if (cp->ddrv->ops->flush(cp->ddrv) < 0)
		return drv_fail(cp, cp->ddrv);
	int r = list_finish(cp, cp->sdrv, os, &ls);

	if (list_finish(cp, cp->ddrv, od, &ld) < 0)
		r = -1;
	*messages_r = ls.messages;
	*bytes_r = ls.bytes;
	return r;
}

/* ------------------------------------------------------------ folders */

/*
 * under_root: D (NAME translated, taken) below o->dst_root, whose '/' are
 * the target's separator: a workstation's local folders go into one
 * folder of their own, INBOX and special-use names included.
 */
static int under_root(struct cp *cp, const char *name, char *d, char **out_r)
{
	char *root = xstrdup(cp->o->dst_root);
	int bad = cp->dst_sep == 0;

	for (char *p = root; *p; p++) {
		if (*p == '/')
			*p = cp->dst_sep;
		else if (*p == cp->dst_sep)
			bad = 1; /* a level the root did not mean */
	}
	if (bad) {
		free(root);
		free(d);
		return cperr(cp, "folder %s: the target has no hierarchy separator usable under %s",
			     name, cp->o->dst_root);
	}
	*out_r = xasprintf("%s%c%s", root, cp->dst_sep, d);
	free(root);
	free(d);
	return 0;
}

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
	if (cp->o->dst_root)
		return under_root(cp, name, d, out_r);
	*out_r = d;
	return 0;
}

int map_folders(struct cp *cp)
{
	for (size_t i = 0; i < cp->nfolders; i++) {
		struct folder *f = &cp->folders[i];
		unsigned su = cp->o->dst_root ? 0 : f->attrs & F_SPECIAL;

		if (strcmp(f->name, "INBOX") == 0 && !cp->o->dst_root) {
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

int dst_has(const struct cp *cp, const char *name)
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

int sub_dst(struct cp *cp, const char *name, char **d_r)
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
		tags[n] = cp->ddrv->ops->create(cp->ddrv, f->dst);
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
			tags[n] = cp->ddrv->ops->subscribe(cp->ddrv, d);
			what[n++] = xasprintf("SUBSCRIBE %s", d);
		}
		free(d);
	}
	r = wait_all(cp, cp->ddrv, tags, n, what);
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
	int diffs = 0, r = -1;
	unsigned op = list_start(cp->ddrv, &lc, 0);

	if (list_finish(cp, cp->ddrv, op, &lc) < 0)
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
