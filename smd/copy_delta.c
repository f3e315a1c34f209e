/*
 * copy_delta - the delta pass of a rerun (see copy_delta.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "copy_delta.h"
#include "copy_journal.h"
#include "copy_stream.h"
#include "delta_rule.h"
#include "imap_parse.h"
#include "log.h"
#include "xalloc.h"

/* What the journal is to record of one message once the target is changed. */
enum row_op { ROW_KEEP, ROW_BASE, ROW_GONE, ROW_DROP };

struct plan {
	enum row_op *ops;      /* per cp->msgs */
	enum row_op *vops;     /* per cp->vanished */
	unsigned *tags;	       /* flag stores and expunges sent */
	size_t ntags;
	unsigned long long *xuids; /* target UIDs to expunge */
	size_t nx;
};

/* target_side: the target's copy of DST_UID in BEFORE (flags "" when it sent none). */
static struct delta_side target_side(struct scan_ctx *before, unsigned long long dst_uid)
{
	struct dst_msg *t = dst_uid ? scan_find(before, dst_uid) : NULL;
	struct delta_side d = {t != NULL, t && t->flags ? t->flags : ""};

	return d;
}

/*
 * base_side: the journal's base; a row from before schema 10 has no
 * flags: the target's are taken for it (as if the target had not changed
 * since the copy), so the source's changes come over as they always did.
 */
static struct delta_side base_side(const char *base, const struct delta_side *dst)
{
	struct delta_side b = {1, base ? base : dst->flags};

	return b;
}

static void set_flags(char **slot, const char *flags)
{
	char *n = xstrdup(flags ? flags : "");

	free(*slot);
	*slot = n;
}

/* store_one: send M's merged FLAGS to the target. */
static int store_one(struct cp *cp, struct plan *pl, const struct msg *m, const char *flags)
{
	char *tf = target_flags(cp, flags);
	unsigned tag = cp->ddrv->ops->store_flags(cp->ddrv, m->dst_uid, tf);

	free(tf);
	if (tag == 0)
		return drv_fail(cp, cp->ddrv);
	pl->tags[pl->ntags++] = tag;
	cp->dc.flags++;
	return 0;
}

/* plan_msg: the action for journalled message I (present on the source). */
static int plan_msg(struct cp *cp, struct scan_ctx *before, struct plan *pl, size_t i)
{
	struct msg *m = &cp->msgs[i];
	struct delta_side dst = target_side(before, m->dst_uid);
	struct delta_side src = {1, m->flags}, base = base_side(m->base, &dst);
	struct delta_decision d;
	int r = 0;

	if (m->gone) {
		m->state = MSG_GONE; /* the user deleted it on the target earlier */
		return 0;
	}
	delta_decide(&base, &src, &dst, cp->o->switched, &d);
	/* The journal's base becomes the source's flags as seen now. */
	pl->ops[i] = m->base == NULL || strcmp(m->base, m->flags) ? ROW_BASE : ROW_KEEP;
	switch (d.action) {
	case DELTA_RECOPY:
		/* The row goes before the append: a crash after it finds the
		 * new copy by hash instead of copying it a third time. */
		pl->ops[i] = ROW_DROP;
		m->state = MSG_TO_COPY;
		break;
	case DELTA_FORGET:
		pl->ops[i] = ROW_GONE;
		m->state = MSG_GONE;
		cp->dc.gone++;
		break;
	case DELTA_SET_FLAGS:
		r = store_one(cp, pl, m, d.flags);
		set_flags(&m->flags, d.flags);
		break;
	case DELTA_KEEP_TARGET:
		cp->dc.kept++;
		set_flags(&m->flags, dst.flags);
		break;
	default:
		if (dst.present)
			set_flags(&m->flags, dst.flags);
		break;
	}
	free(d.flags);
	return r;
}

/* plan_vanished: the action for journal row I, expunged on the source. */
static void plan_vanished(struct cp *cp, struct scan_ctx *before, struct plan *pl, size_t i)
{
	const struct vrow *v = &cp->vanished[i];
	struct delta_side dst = target_side(before, v->gone ? 0 : v->dst_uid);
	struct delta_side src = {0, NULL}, base = base_side(v->base, &dst);
	struct delta_decision d;

	delta_decide(&base, &src, &dst, cp->o->switched, &d);
	free(d.flags);
	/* \Deleted on the target: our own expunge was interrupted (or the
	 * user meant it gone too): finish it. */
	if (dst.present && imap_flag_in(dst.flags, strlen(dst.flags), "\\Deleted", 8))
		d.action = DELTA_EXPUNGE_TARGET;
	pl->vops[i] = ROW_DROP;
	if (d.action == DELTA_EXPUNGE_TARGET &&
	    !(cp->ddrv->ops->caps(cp->ddrv) & DRV_CAP_APPEND_UIDS)) {
		log_warn("%s: folder=%s uid=%llu expunged on the source, kept on the target: "
			 "the target lacks UIDPLUS (UID EXPUNGE)",
			 cp->o->mailbox_key, cp->f->name, v->src_uid);
		cp->dc.skipped++;
		pl->vops[i] = ROW_KEEP;
	} else if (d.action == DELTA_EXPUNGE_TARGET) {
		pl->xuids[pl->nx++] = v->dst_uid;
		cp->dc.expunged++;
	} else if (d.action == DELTA_KEEP_TARGET) {
		/* Changed by the user on the target: it is theirs now. */
		cp->dc.kept++;
	} else {
		cp->dc.forgotten++;
	}
}

/* wait_tags: every operation sent, acknowledged. */
static int wait_tags(struct cp *cp, struct plan *pl)
{
	struct drv *d = cp->ddrv;

	if (pl->ntags && d->ops->flush(d) < 0)
		return drv_fail(cp, d);
	for (size_t i = 0; i < pl->ntags; i++) {
		struct drv_result res;

		if (d->ops->wait(d, pl->tags[i], &res) < 0)
			return drv_fail(cp, d);
		if (res.status != DRV_OK)
			return cperr(cp, "UID STORE/EXPUNGE in %s: %s", cp->f->dst, res.text);
	}
	pl->ntags = 0;
	return 0;
}

/*
 * expunge_all: the planned expunges, in UID sets of bounded length: the
 * \Deleted marks first, acknowledged, then UID EXPUNGE (driver.h).
 */
static int expunge_all(struct cp *cp, struct plan *pl)
{
	char **sets = NULL;
	size_t nsets = pl->nx ? uidsets(pl->xuids, pl->nx, &sets) : 0;
	int r = 0;
	struct drv *d = cp->ddrv;

	pl->tags = xrealloc(pl->tags, (pl->ntags + nsets + 1) * sizeof(*pl->tags));
	for (int step = 0; step < 2 && r == 0; step++) {
		for (size_t i = 0; i < nsets && r == 0; i++) {
			unsigned tag = step ? d->ops->expunge(d, sets[i])
					    : d->ops->add_flags(d, sets[i], "\\Deleted");

			if (tag == 0)
				r = drv_fail(cp, d);
			else
				pl->tags[pl->ntags++] = tag;
		}
		if (r == 0)
			r = wait_tags(cp, pl);
	}
	free_sets(sets, nsets);
	return r;
}

/* row_put: OP for the row of source UID (BASE: the flags to record). */
static int row_put(struct cp *cp, enum row_op op, unsigned long long uid, const char *base)
{
	struct store *s = cp->o->store;
	const char *key = cp->o->mailbox_key;

	switch (op) {
	case ROW_BASE:
		return store_smd_map_set(s, key, cp->f->name, uid, base, 0);
	case ROW_GONE:
		return store_smd_map_set(s, key, cp->f->name, uid, base, 1);
	case ROW_DROP:
		return store_smd_map_del(s, key, cp->f->name, uid);
	default:
		return 0;
	}
}

/* journal: what the target now is, in one transaction. */
static int journal(struct cp *cp, struct plan *pl, char **src_flags)
{
	struct store *s = cp->o->store;

	if (store_begin(s) < 0)
		goto dberr;
	for (size_t i = 0; i < cp->nmsgs; i++)
		if (pl->ops[i] != ROW_KEEP &&
		    row_put(cp, pl->ops[i], cp->msgs[i].uid, src_flags[i]) < 0)
			goto dberr;
	for (size_t i = 0; i < cp->nvanished; i++)
		if (pl->vops[i] != ROW_KEEP && row_put(cp, ROW_DROP, cp->vanished[i].src_uid, NULL) < 0)
			goto dberr;
	return journal_commit(cp, 1);
dberr:
	return journal_commit(cp, 0);
}

int delta_apply(struct cp *cp, struct scan_ctx *before)
{
	struct plan pl = {0};
	char **src_flags = xcalloc(cp->nmsgs + 1, sizeof(*src_flags));
	int r = 0;

	pl.ops = xcalloc(cp->nmsgs + 1, sizeof(*pl.ops));
	pl.vops = xcalloc(cp->nvanished + 1, sizeof(*pl.vops));
	pl.tags = xmalloc((cp->nmsgs + 1) * sizeof(*pl.tags));
	pl.xuids = xmalloc((cp->nvanished + 1) * sizeof(*pl.xuids));
	for (size_t i = 0; i < cp->nmsgs && r == 0; i++) {
		if (cp->msgs[i].state != MSG_JOURNALLED)
			continue;
		src_flags[i] = xstrdup(cp->msgs[i].flags);
		r = plan_msg(cp, before, &pl, i);
	}
	for (size_t i = 0; i < cp->nvanished && r == 0; i++)
		plan_vanished(cp, before, &pl, i);
	long done = (long)pl.ntags + (long)pl.nx;

	if (r == 0)
		r = wait_tags(cp, &pl); /* the flag stores */
	if (r == 0)
		r = expunge_all(cp, &pl);
	if (r == 0 && cp->o->crash_delta > 0 && done >= cp->o->crash_delta)
		_exit(COPY_EXIT_CRASH_AFTER); /* test hook: applied, not journalled */
	if (r == 0)
		r = journal(cp, &pl, src_flags);
	for (size_t i = 0; i < cp->nmsgs; i++)
		free(src_flags[i]);
	free(src_flags);
	free(pl.ops);
	free(pl.vops);
	free(pl.tags);
	free(pl.xuids);
	return r;
}

void delta_log(struct cp *cp)
{
	const struct delta_counts *c = &cp->dc;

	cp->r->d_flags += c->flags;
	cp->r->d_expunged += c->expunged;
	cp->r->d_kept += c->kept;
	cp->r->d_gone += c->gone;
	cp->r->d_forgotten += c->forgotten;
	cp->r->d_skipped += c->skipped;
	if (!(c->flags || c->expunged || c->kept || c->gone || c->forgotten || c->skipped))
		return;
	log_info("%s: folder=%s delta rule=%s flags=%lld expunged=%lld kept_target=%lld "
		 "deleted_on_target=%lld forgotten=%lld expunge_skipped=%lld",
		 cp->o->mailbox_key, cp->f->name, cp->o->switched ? "three-way" : "source-wins",
		 c->flags, c->expunged, c->kept, c->gone, c->forgotten, c->skipped);
	if (cp->o->summary)
		fprintf(cp->o->summary,
			"delta folder=%s rule=%s flags=%lld expunged=%lld kept_target=%lld "
			"deleted_on_target=%lld forgotten=%lld expunge_skipped=%lld\n",
			cp->f->name, cp->o->switched ? "three-way" : "source-wins", c->flags,
			c->expunged, c->kept, c->gone, c->forgotten, c->skipped);
}
