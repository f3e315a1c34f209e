/*
 * copy_tree - renames, deletes and subscriptions of a pass (see copy_tree.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "copy_folders.h"
#include "copy_tree.h"
#include "delta.h"
#include "drv_imap.h"
#include "log.h"
#include "xalloc.h"

/* A journalled folder. */
struct jfolder {
	char *name;
	struct smd_folder f;
	struct folder *src;	  /* the source folder of that name, or NULL: gone */
	const struct folder *to;  /* renamed to this source folder, or NULL */
};

struct tree {
	struct cp *cp;
	struct jfolder *j;
	size_t nj;
	long long renamed, deleted, kept, unsubscribed, left;
	long long followed, left_folders; /* the user's renames and deletes on the target */
};

static struct folder *src_find(const struct cp *cp, const char *name)
{
	for (size_t i = 0; i < cp->nfolders; i++)
		if (strcmp(cp->folders[i].name, name) == 0)
			return &cp->folders[i];
	return NULL;
}

static int collect(void *ctx, const char *folder, const struct smd_folder *f)
{
	struct tree *t = ctx;
	struct jfolder *j;

	t->j = xrealloc(t->j, (t->nj + 1) * sizeof(*t->j));
	j = &t->j[t->nj++];
	memset(j, 0, sizeof(*j));
	j->name = xstrdup(folder);
	j->f = *f;
	j->src = src_find(t->cp, folder);
	return 0;
}

static int journalled(const struct tree *t, const char *name)
{
	for (size_t i = 0; i < t->nj; i++)
		if (strcmp(t->j[i].name, name) == 0)
			return 1;
	return 0;
}

static const struct folder *dst_folder(const struct cp *cp, const char *name)
{
	for (size_t k = 0; k < cp->ndst_folders; k++)
		if (strcmp(cp->dst_folders[k].name, name) == 0)
			return &cp->dst_folders[k];
	return NULL;
}

/* under: NAME is PARENT or below it (SEP the separator). */
static int under(const char *name, const char *parent, char sep)
{
	size_t n = strlen(parent);

	return strncmp(name, parent, n) == 0 && (name[n] == '\0' || (sep && name[n] == sep));
}

/* renamed_on_target: the target's listing as a RENAME FROM TO left it (children too). */
static void renamed_on_target(struct cp *cp, const char *from, const char *to)
{
	size_t fl = strlen(from);

	for (size_t k = 0; k < cp->ndst_folders; k++) {
		char *n = cp->dst_folders[k].name;

		if (under(n, from, cp->dst_sep)) {
			cp->dst_folders[k].name = xasprintf("%s%s", to, n + fl);
			free(n);
		}
	}
}

/* unique_uv: no other of the N marks has UV (a pair must be beyond doubt). */
static int unique_uv(const struct delta_mark *m, size_t n, unsigned long long uv)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += m[i].now_uidvalidity == uv;
	return c == 1;
}

/*
 * pair: the gone journalled folders with the new source folders of the
 * same UIDVALIDITY (STATUS, one round trip). Only when the target shows
 * the old name and not the new one, or (a rerun) the reverse.
 */
static int pair(struct tree *t)
{
	struct cp *cp = t->cp;
	struct imap_conn *c = drv_imap_borrow(cp->sdrv);
	struct delta_mark *m = xcalloc(cp->nfolders + 1, sizeof(*m));
	const struct folder **nf = xcalloc(cp->nfolders + 1, sizeof(*nf));
	size_t n = 0;
	unsigned rt = 0;
	char *err = NULL;
	int r = 0;

	for (size_t i = 0; i < cp->nfolders; i++)
		if (!(cp->folders[i].attrs & F_NOSELECT) && !journalled(t, cp->folders[i].name)) {
			nf[n] = &cp->folders[i];
			m[n++].folder = cp->folders[i].name;
		}
	if (c != NULL && n > 0 && delta_moved(c, m, n, &rt, &err) < 0)
		r = cperr(cp, "source: %s", err);
	for (size_t i = 0; r == 0 && c != NULL && i < t->nj; i++) {
		struct jfolder *j = &t->j[i];
		size_t hit = n;

		if (j->src != NULL || j->f.uidvalidity == 0)
			continue;
		for (size_t k = 0; k < n; k++)
			if (m[k].now_uidvalidity == j->f.uidvalidity && unique_uv(m, n, j->f.uidvalidity))
				hit = k;
		if (hit == n)
			continue;
		int old = dst_has(cp, j->f.dst_name), new = dst_has(cp, nf[hit]->dst);

		if (old != new)
			j->to = nf[hit];
	}
	free(err);
	free(m);
	free(nf);
	return r;
}

/* wait_one: OP of the target; 1 done, 0 refused (TEXT set), -1 failed. */
static int wait_one(struct cp *cp, unsigned op, char *text, size_t size)
{
	struct drv_result res;

	if (op == 0 || cp->ddrv->ops->flush(cp->ddrv) < 0 || cp->ddrv->ops->wait(cp->ddrv, op, &res) < 0)
		return drv_fail(cp, cp->ddrv);
	snprintf(text, size, "%s", res.status == DRV_OK ? "" : res.text);
	return res.status == DRV_OK;
}

/* rename_one: J's folder became J->to on the source: the target, then the journal. */
static int rename_one(struct tree *t, struct jfolder *j)
{
	struct cp *cp = t->cp;
	const char *from = j->f.dst_name, *to = j->to->dst;
	char text[200];

	if (dst_has(cp, from) && !dst_has(cp, to)) {
		int w = wait_one(cp, cp->ddrv->ops->rename(cp->ddrv, from, to), text, sizeof(text));

		if (w < 0)
			return -1;
		if (w == 0)
			return cperr(cp, "RENAME %s %s: %s", from, to, text);
		renamed_on_target(cp, from, to);
		if (cp->o->crash_delta > 0 && t->renamed + 1 >= cp->o->crash_delta)
			_exit(COPY_EXIT_CRASH_AFTER); /* test hook: renamed, not journalled */
	}
	if (store_smd_folder_rename(cp->o->store, cp->o->mailbox_key, j->name, j->to->name, to) < 0)
		return cperr(cp, "journal: %s", store_errmsg(cp->o->store));
	log_info("%s: folder=%s renamed to=%s target=%s -> %s", cp->o->mailbox_key, j->name,
		 j->to->name, from, to);
	/* A child renamed along with its parent is part of one rename. */
	for (size_t i = 0; i < t->nj; i++)
		if (&t->j[i] != j && t->j[i].to && under(j->name, t->j[i].name, cp->src_sep))
			return 0;
	t->renamed++;
	return 0;
}

struct uids {
	unsigned long long *u;
	size_t n;
};

static void uids_add(struct uids *u, unsigned long long uid)
{
	u->u = xrealloc(u->u, (u->n + 1) * sizeof(*u->u));
	u->u[u->n++] = uid;
}

static int on_meta(void *ctx, const struct drv_meta *m)
{
	uids_add(ctx, m->uid);
	return 0;
}

static int on_row(void *ctx, const struct smd_map_row *row)
{
	if (!row->gone)
		uids_add(ctx, row->dst_uid);
	return 0;
}

/*
 * ours_only: the target folder NAME holds exactly the journal's messages
 * of FOLDER. 1 yes, 0 no, -1 error.
 */
static int ours_only(struct cp *cp, const char *folder, const char *name)
{
	struct uids have = {0}, want = {0};
	struct drv_cb cb = {.ctx = &have, .meta = on_meta};
	char text[200];
	int w = wait_one(cp, cp->ddrv->ops->open(cp->ddrv, name, DRV_OPEN_META, &cb), text,
			 sizeof(text));

	if (w > 0 &&
	    store_smd_map_each(cp->o->store, cp->o->mailbox_key, folder, on_row, &want) < 0)
		w = cperr(cp, "journal: %s", store_errmsg(cp->o->store));
	if (w == 0)
		log_warn("%s: folder=%s target=%s cannot be read (%s): kept", cp->o->mailbox_key,
			 folder, name, text);
	if (w > 0) {
		if (have.n)
			qsort(have.u, have.n, sizeof(*have.u), cmp_ull);
		if (want.n)
			qsort(want.u, want.n, sizeof(*want.u), cmp_ull);
		w = have.n == want.n && (have.n == 0 || memcmp(have.u, want.u, have.n * sizeof(*have.u)) == 0);
	}
	free(have.u);
	free(want.u);
	return w;
}

/* why_keep: the reason the target folder of gone folder J must stay, or NULL. */
static const char *why_keep(const struct cp *cp, const struct jfolder *j)
{
	const char *d = j->f.dst_name;
	const struct folder *df = dst_folder(cp, d);

	if (strcasecmp(j->name, "INBOX") == 0 || strcasecmp(d, "INBOX") == 0)
		return "INBOX is never deleted";
	if (df && (df->attrs & F_SPECIAL))
		return "a special-use folder of the target";
	for (size_t i = 0; i < cp->nfolders; i++)
		if (cp->folders[i].dst && strcmp(cp->folders[i].dst, d) == 0)
			return "another source folder is copied there";
	for (size_t k = 0; k < cp->ndst_folders; k++)
		if (strcmp(cp->dst_folders[k].name, d) != 0 && under(cp->dst_folders[k].name, d, cp->dst_sep))
			return "it has subfolders on the target";
	return NULL;
}

/* drop_dst: the target's listing without NAME. */
static void drop_dst(struct cp *cp, const char *name)
{
	for (size_t k = 0; k < cp->ndst_folders; k++)
		if (strcmp(cp->dst_folders[k].name, name) == 0) {
			free(cp->dst_folders[k].name);
			free(cp->dst_folders[k].dst);
			cp->dst_folders[k] = cp->dst_folders[--cp->ndst_folders];
			return;
		}
}

/* delete_one: J is gone from the source, not renamed. */
static int delete_one(struct tree *t, const struct jfolder *j)
{
	struct cp *cp = t->cp;
	const char *key = cp->o->mailbox_key, *d = j->f.dst_name, *why = why_keep(cp, j);
	char text[200];
	int w = 1;

	if (dst_folder(cp, d) != NULL && why == NULL) {
		w = ours_only(cp, j->name, d);
		why = w == 0 ? "it holds messages fedmig did not copy there" : NULL;
	}
	/* Leave it first: Dovecot ends a session whose selected folder is deleted. */
	if (w > 0 && dst_folder(cp, d) != NULL && why == NULL &&
	    (w = wait_one(cp, cp->ddrv->ops->open(cp->ddrv, "INBOX", 0, NULL), text,
			  sizeof(text))) == 0)
		why = text;
	if (w > 0 && dst_folder(cp, d) != NULL && why == NULL) {
		w = wait_one(cp, cp->ddrv->ops->delete(cp->ddrv, d), text, sizeof(text));
		why = w == 0 ? text : NULL;
		if (w > 0) {
			drop_dst(cp, d);
			log_info("%s: folder=%s gone from the source: deleted target=%s", key, j->name, d);
			t->deleted++;
		}
	}
	if (w < 0)
		return -1;
	if (why) {
		log_warn("%s: folder=%s gone from the source: target=%s kept: %s", key, j->name, d, why);
		t->kept++;
	}
	if (store_smd_folder_forget(cp->o->store, key, j->name) < 0)
		return cperr(cp, "journal: %s", store_errmsg(cp->o->store));
	return 0;
}

/* taken: NAME is some source folder's target or some journalled folder's. */
static int taken(const struct tree *t, const char *name)
{
	for (size_t i = 0; i < t->cp->nfolders; i++)
		if (t->cp->folders[i].dst && strcmp(t->cp->folders[i].dst, name) == 0)
			return 1;
	for (size_t i = 0; i < t->nj; i++)
		if (strcmp(t->j[i].f.dst_name, name) == 0)
			return 1;
	return 0;
}

/*
 * keep_followed: a folder whose target folder the user renamed once
 * (follow) keeps going there while the target has it and no other
 * source folder maps to that name.
 */
static void keep_followed(struct tree *t)
{
	struct cp *cp = t->cp;

	for (size_t i = 0; i < t->nj; i++) {
		struct jfolder *j = &t->j[i];
		int other = 0;

		if (!j->src || !j->src->dst || strcmp(j->src->dst, j->f.dst_name) == 0 ||
		    !dst_has(cp, j->f.dst_name))
			continue;
		for (size_t k = 0; k < cp->nfolders; k++)
			other |= cp->folders[k].dst && strcmp(cp->folders[k].dst, j->f.dst_name) == 0;
		if (other)
			continue;
		free(j->src->dst);
		j->src->dst = xstrdup(j->f.dst_name);
	}
}

/* missing_on_target: J's source folder is there, its target folder is not. */
static int missing_on_target(const struct cp *cp, const struct jfolder *j)
{
	return j->src && !(j->src->attrs & F_NOSELECT) && strcasecmp(j->f.dst_name, "INBOX") != 0 &&
	       j->src->dst && strcmp(j->src->dst, j->f.dst_name) == 0 && !dst_has(cp, j->f.dst_name);
}

/*
 * follow: after the switch the user renamed J's target folder to TO
 * (same UIDVALIDITY): the source's changes go there from now on.
 */
static int follow(struct tree *t, struct jfolder *j, const char *to)
{
	struct cp *cp = t->cp;
	struct smd_folder jf;

	log_info("%s: folder=%s target=%s renamed to %s on the target by the user: followed",
		 cp->o->mailbox_key, j->name, j->f.dst_name, to);
	free(j->src->dst);
	j->src->dst = xstrdup(to);
	snprintf(j->f.dst_name, sizeof(j->f.dst_name), "%s", to);
	if (store_smd_folder_get(cp->o->store, cp->o->mailbox_key, j->name, &jf) != STORE_OK)
		return cperr(cp, "journal: %s", store_errmsg(cp->o->store));
	snprintf(jf.dst_name, sizeof(jf.dst_name), "%s", to);
	if (store_smd_folder_put(cp->o->store, cp->o->mailbox_key, j->name, &jf) < 0)
		return cperr(cp, "journal: %s", store_errmsg(cp->o->store));
	t->followed++;
	return 0;
}

/*
 * target_side: after the switch, journalled folders whose target folder
 * the user renamed (followed: found by its UIDVALIDITY among the target
 * folders nobody else maps to, one STATUS round trip on the target) or
 * deleted (left out of the pass: not recreated, its source changes no
 * longer copied; made \Noselect in this run's list).
 */
static int target_side(struct tree *t)
{
	struct cp *cp = t->cp;
	struct imap_conn *c = drv_imap_borrow(cp->ddrv);
	struct delta_mark *m = xcalloc(cp->ndst_folders + 1, sizeof(*m));
	size_t n = 0, missing = 0;
	unsigned rt = 0;
	char *err = NULL;
	int r = 0;

	for (size_t i = 0; i < t->nj; i++)
		missing += missing_on_target(cp, &t->j[i]);
	for (size_t k = 0; missing && k < cp->ndst_folders; k++)
		if (!(cp->dst_folders[k].attrs & F_NOSELECT) && !taken(t, cp->dst_folders[k].name))
			m[n++].folder = cp->dst_folders[k].name;
	if (c != NULL && n > 0 && delta_moved(c, m, n, &rt, &err) < 0)
		r = cperr(cp, "target: %s", err);
	for (size_t i = 0; r == 0 && missing && i < t->nj; i++) {
		struct jfolder *j = &t->j[i];
		size_t hit = n;

		if (!missing_on_target(cp, j))
			continue;
		for (size_t k = 0; k < n; k++)
			if (m[k].now_uidvalidity == j->f.dst_uidvalidity &&
			    unique_uv(m, n, j->f.dst_uidvalidity))
				hit = k;
		if (hit < n) {
			r = follow(t, j, m[hit].folder);
			continue;
		}
		log_info("%s: folder=%s target=%s deleted on the target by the user: not recreated",
			 cp->o->mailbox_key, j->name, j->f.dst_name);
		j->src->attrs |= F_NOSELECT;
		t->left_folders++;
	}
	free(err);
	free(m);
	return r;
}

/* folders: renames (parents first), then deletes (children first). */
static int folders(struct tree *t)
{
	struct cp *cp = t->cp;
	int gone = 0;

	if (store_smd_folders_each(cp->o->store, cp->o->mailbox_key, collect, t) < 0)
		return cperr(cp, "journal: %s", store_errmsg(cp->o->store));
	keep_followed(t);
	if (cp->o->switched && target_side(t) < 0)
		return -1;
	for (size_t i = 0; i < t->nj; i++)
		gone |= t->j[i].src == NULL;
	if (!gone)
		return 0; /* the usual pass: no round trip */
	if (pair(t) < 0)
		return -1;
	for (size_t i = 0; i < t->nj; i++) /* by name: parents first */
		if (t->j[i].to && rename_one(t, &t->j[i]) < 0)
			return -1;
	for (size_t i = t->nj; i-- > 0;)
		if (t->j[i].src == NULL && t->j[i].to == NULL && delete_one(t, &t->j[i]) < 0)
			return -1;
	return 0;
}

/* ------------------------------------------------------------ subscriptions */

struct names {
	char **v;
	size_t n;
};

static int name_add(void *ctx, const char *name)
{
	struct names *s = ctx;

	s->v = xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
	s->v[s->n++] = xstrdup(name);
	return 0;
}

static void names_free(struct names *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static int in(char *const *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], name) == 0 ||
		    (strcasecmp(name, "INBOX") == 0 && strcasecmp(v[i], "INBOX") == 0))
			return 1;
	return 0;
}

/* drop_dst_sub: NAME is no longer subscribed on the target. */
static void drop_dst_sub(struct cp *cp, const char *name)
{
	for (size_t k = 0; k < cp->ndst_subs; k++)
		if (strcmp(cp->dst_subs[k], name) == 0) {
			free(cp->dst_subs[k]);
			cp->dst_subs[k] = cp->dst_subs[--cp->ndst_subs];
			return;
		}
}

/* unsubscribe: base names the source dropped and the target still has. */
static int unsubscribe(struct tree *t, const struct names *base, const struct names *want)
{
	struct cp *cp = t->cp;

	for (size_t i = 0; i < base->n; i++) {
		const char *b = base->v[i];
		char text[200];

		if (in(want->v, want->n, b) || !in(cp->dst_subs, cp->ndst_subs, b))
			continue;
		int w = wait_one(cp, cp->ddrv->ops->unsubscribe(cp->ddrv, b), text, sizeof(text));

		if (w < 0)
			return -1;
		/* Refused: most likely no longer subscribed (a RENAME took the
		 * subscription along): the verification tells if it matters. */
		if (w == 0)
			log_warn("%s: UNSUBSCRIBE %s: %s", cp->o->mailbox_key, b, text);
		else
			t->unsubscribed++;
		drop_dst_sub(cp, b);
	}
	return 0;
}

/*
 * subs_rule: the unsubscriptions, and after the switch SUBS without the
 * names the user unsubscribed on the target. cp->sub_base gets the new
 * base (the source's set now, in target names).
 */
static int subs_rule(struct tree *t, char ***subs, size_t *nsubs)
{
	struct cp *cp = t->cp;
	struct names base = {0}, want = {0};
	size_t kept = 0;
	int r = -1;

	if (store_smd_subs_each(cp->o->store, cp->o->mailbox_key, name_add, &base) < 0) {
		cperr(cp, "journal: %s", store_errmsg(cp->o->store));
		goto out;
	}
	want.v = xcalloc(*nsubs + 1, sizeof(*want.v));
	for (; want.n < *nsubs; want.n++)
		if (sub_dst(cp, (*subs)[want.n], &want.v[want.n]) < 0)
			goto out;
	if (unsubscribe(t, &base, &want) < 0)
		goto out;
	for (size_t i = 0; i < *nsubs; i++) {
		if (cp->o->switched && in(base.v, base.n, want.v[i]) &&
		    !in(cp->dst_subs, cp->ndst_subs, want.v[i])) {
			log_info("%s: subscription=%s unsubscribed on the target by the user: kept so",
				 cp->o->mailbox_key, (*subs)[i]);
			t->left++;
			free((*subs)[i]);
			continue;
		}
		(*subs)[kept++] = (*subs)[i];
	}
	*nsubs = kept;
	cp->sub_base = want.v;
	cp->nsub_base = want.n;
	want.v = NULL;
	want.n = 0;
	r = 0;
out:
	names_free(&base);
	names_free(&want);
	return r;
}

static void tree_log(const struct tree *t)
{
	const struct cp *cp = t->cp;
	const char *rule = cp->o->switched ? "three-way" : "source-wins";

	char line[400];

	if (!(t->renamed || t->deleted || t->kept || t->unsubscribed || t->left || t->followed ||
	      t->left_folders))
		return;
	snprintf(line, sizeof(line),
		 "tree rule=%s renamed=%lld deleted=%lld kept_target=%lld unsubscribed=%lld "
		 "renamed_on_target=%lld deleted_on_target=%lld unsubscribed_on_target=%lld",
		 rule, t->renamed, t->deleted, t->kept, t->unsubscribed, t->followed,
		 t->left_folders, t->left);
	log_info("%s: %s", cp->o->mailbox_key, line);
	if (cp->o->summary)
		fprintf(cp->o->summary, "%s\n", line);
}

int tree_before(struct cp *cp, char ***subs, size_t *nsubs)
{
	struct tree t = {.cp = cp};
	int r = 0;

	tree_free(cp);
	if (cp->o->src_driver || cp->o->dst_root || !cp->ddrv->ops->rename)
		return 0;
	r = folders(&t);
	if (r == 0)
		r = subs_rule(&t, subs, nsubs);
	if (r == 0)
		tree_log(&t);
	for (size_t i = 0; i < t.nj; i++)
		free(t.j[i].name);
	free(t.j);
	return r;
}

int tree_after(struct cp *cp)
{
	int r = 0;

	if (cp->sub_base &&
	    store_smd_subs_set(cp->o->store, cp->o->mailbox_key, cp->sub_base, cp->nsub_base) < 0)
		r = cperr(cp, "journal: %s", store_errmsg(cp->o->store));
	tree_free(cp);
	return r;
}

void tree_free(struct cp *cp)
{
	struct names n = {cp->sub_base, cp->nsub_base};

	names_free(&n);
	cp->sub_base = NULL;
	cp->nsub_base = 0;
}
