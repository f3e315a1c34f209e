/*
 * delta_rule - the three-way rule (see delta_rule.h).
 */
#include <stdlib.h>
#include <string.h>

#include "delta_rule.h"
#include "imap_parse.h"
#include "xalloc.h"

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

static int has(const char *list, const char *w, size_t wl)
{
	return imap_flag_in(list, strlen(list), w, wl);
}

/* same_flags: two lists name the same set. */
static int same_flags(const char *a, const char *b)
{
	char m[8], e[8];

	return imap_flags_diff(a, strlen(a), b, strlen(b), m, e, sizeof(m)) == 0;
}

/* add_flag: W/WL to OUT (of LEN bytes so far) unless it is there or \Recent. */
static void add_flag(char *out, size_t *len, const char *w, size_t wl)
{
	if (imap_atom_eq(w, wl, "\\Recent") || imap_flag_in(out, *len, w, wl))
		return;
	if (*len)
		out[(*len)++] = ' ';
	memcpy(out + *len, w, wl);
	*len += wl;
	out[*len] = '\0';
}

char *delta_flags_merge(const char *base, const char *src, const char *dst, int src_wins)
{
	const char *lists[2] = {or_empty(src), or_empty(dst)};
	char *out = xmalloc(strlen(lists[0]) + strlen(lists[1]) + 2);
	size_t len = 0;

	base = or_empty(base);
	out[0] = '\0';
	/* Every flag either side has now is a candidate; a flag neither has
	 * is absent from the result whatever the base said (both cleared it,
	 * or one cleared it and the other did not touch it). */
	for (int i = 0; i < 2; i++) {
		const char *p = lists[i], *end = p + strlen(p), *w;
		size_t wl;

		while (imap_word(&p, end, &w, &wl)) {
			int b = has(base, w, wl), s = has(lists[0], w, wl), d = has(lists[1], w, wl);
			/* One side moved away from the base: it decides; neither: the base. */
			int keep = src_wins ? s : s != b ? s : d;

			if (keep)
				add_flag(out, &len, w, wl);
		}
	}
	return out;
}

/* decide_switched: after the switch; BASE, SRC and DST all known to be journalled. */
static void decide_switched(const struct delta_side *base, const struct delta_side *src,
			    const struct delta_side *dst, struct delta_decision *d)
{
	const char *bf = or_empty(base->flags), *sf = or_empty(src->flags);
	const char *df = or_empty(dst->flags);
	int src_changed = !src->present || !same_flags(bf, sf);
	int dst_changed = !dst->present || !same_flags(bf, df);

	if (!src->present && !dst->present) {
		d->action = DELTA_FORGET;
	} else if (!src->present) {
		/* Expunged on the source: the target follows unless the user
		 * changed the message there since (the target wins). */
		d->action = dst_changed ? DELTA_KEEP_TARGET : DELTA_EXPUNGE_TARGET;
	} else if (!dst->present) {
		/* Deleted on the target by the user: it stays deleted, even when
		 * the source changed it (both changed: the target wins). */
		d->action = DELTA_FORGET;
	} else if (!src_changed) {
		d->action = dst_changed ? DELTA_KEEP_TARGET : DELTA_NONE;
	} else {
		d->flags = delta_flags_merge(bf, sf, df, 0);
		if (same_flags(d->flags, df)) {
			free(d->flags);
			d->flags = NULL;
			d->action = DELTA_NONE;
		} else {
			d->action = DELTA_SET_FLAGS;
		}
	}
}

void delta_decide(const struct delta_side *base, const struct delta_side *src,
		  const struct delta_side *dst, int switched, struct delta_decision *d)
{
	d->action = DELTA_NONE;
	d->flags = NULL;
	if (!base->present) {
		/* Not journalled: new on the source, or the target's own. */
		d->action = src->present ? DELTA_COPY : DELTA_NONE;
		return;
	}
	if (switched) {
		decide_switched(base, src, dst, d);
		return;
	}
	/* Before the switch the target mirrors the source. */
	if (!src->present) {
		d->action = dst->present ? DELTA_EXPUNGE_TARGET : DELTA_FORGET;
	} else if (!dst->present) {
		d->action = DELTA_RECOPY;
	} else if (!same_flags(or_empty(src->flags), or_empty(dst->flags))) {
		d->action = DELTA_SET_FLAGS;
		d->flags = delta_flags_merge(base->flags, src->flags, dst->flags, 1);
	}
}

static int same_ident(const struct delta_ident *a, const struct delta_ident *b)
{
	return a->message_id && b->message_id && a->message_id[0] &&
	       strcmp(a->message_id, b->message_id) == 0 && a->size == b->size && a->has_hash &&
	       b->has_hash && memcmp(a->sha256, b->sha256, sizeof(a->sha256)) == 0 &&
	       strcmp(or_empty(a->folder), or_empty(b->folder)) != 0;
}

size_t delta_moves(const struct delta_ident *gone, size_t ngone, const struct delta_ident *arrived,
		   size_t narrived, struct delta_move *out, size_t max)
{
	size_t n = 0;
	/* Which arrivals are taken; quadratic, but a pass's vanished and new
	 * messages are few (a whole folder moved is the case to improve:
	 * XXX sort both by hash when it shows in a profile). */
	unsigned char *taken = xcalloc(narrived ? narrived : 1, 1);

	for (size_t g = 0; g < ngone && n < max; g++)
		for (size_t a = 0; a < narrived; a++)
			if (!taken[a] && same_ident(&gone[g], &arrived[a])) {
				taken[a] = 1;
				out[n++] = (struct delta_move){g, a};
				break;
			}
	free(taken);
	return n;
}
