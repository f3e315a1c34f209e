/*
 * delta - one delta pass over one source folder (see delta.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delta.h"
#include "imap_parse.h"
#include "xalloc.h"

static int pass_fail(struct delta_pass *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int pass_fail(struct delta_pass *r, const char *fmt, ...)
{
	va_list ap;

	if (r->err[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(r->err, sizeof(r->err), fmt, ap);
		va_end(ap);
	}
	return -1;
}

int delta_enable(struct imap_conn *c)
{
	struct delta_seen s = {0};
	struct imap_handler h;
	enum imap_status st;

	if (!(imap_caps(c) & IMAP_CAP_QRESYNC))
		return 0;
	delta_seen_handler(&s, &h);
	imap_set_handler(c, &h);
	unsigned tag = delta_cmd_enable(c);
	int r = imap_wait(c, tag, &st, NULL);

	imap_set_handler(c, NULL);
	delta_seen_free(&s);
	if (r < 0)
		return -1;
	return st == IMAP_OK && (s.enabled & IMAP_CAP_QRESYNC) ? 1 : 0;
}

/* journal_index: where UID is in the ascending BASE UIDs, or -1. */
static long journal_index(const struct delta_base *b, uint32_t uid)
{
	size_t lo = 0, hi = b->nuids;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (uid < b->uids[mid])
			hi = mid;
		else if (uid > b->uids[mid])
			lo = mid + 1;
		else
			return (long)mid;
	}
	return -1;
}

/* flags_changed: F's flags differ from the journal's at index J (1 when unknown). */
static int flags_changed(const struct delta_base *b, long j, const char *flags)
{
	char m[8], e[8];
	const char *was;

	if (b->flags == NULL)
		return 1;
	was = b->flags[j] ? b->flags[j] : "";
	return imap_flags_diff(was, strlen(was), flags, strlen(flags), m, e, sizeof(m)) != 0;
}

static void push(struct delta_change **a, size_t *n, struct delta_fetched *f)
{
	/* At most one per message listed: the arrays are sized by the caller. */
	(*a)[(*n)++] = (struct delta_change){f->uid, f->modseq, f->flags};
	f->flags = NULL;
}

/*
 * classify: the answers in S (sorted) against BASE into R. LISTED: S
 * holds every message of the folder (a UID FETCH 1:*), so a journalled
 * UID not in it was expunged; else the expunged are what VANISHED named.
 */
static void classify(struct delta_seen *s, const struct delta_base *b, int listed,
		     struct delta_pass *r)
{
	size_t k = 0;

	r->added = xcalloc(s->nf + 1, sizeof(*r->added));
	r->changed = xcalloc(s->nf + 1, sizeof(*r->changed));
	r->vanished = xcalloc(b->nuids + 1, sizeof(*r->vanished));
	for (size_t i = 0; i < s->nf; i++) {
		struct delta_fetched *f = &s->f[i];
		long j = journal_index(b, f->uid);

		if (i > 0 && f->uid == s->f[i - 1].uid)
			continue; /* an unsolicited repeat: the first stands */
		if (j < 0)
			push(&r->added, &r->nadded, f);
		else if (r->mode == DELTA_MODE_CONDSTORE && f->modseq <= b->highestmodseq)
			continue;
		else if (flags_changed(b, j, f->flags))
			push(&r->changed, &r->nchanged, f);
	}
	for (size_t i = 0; i < b->nuids; i++) {
		uint32_t u = b->uids[i];
		int gone;

		if (listed) {
			while (k < s->nf && s->f[k].uid < u)
				k++;
			gone = k == s->nf || s->f[k].uid != u;
		} else {
			gone = imap_uid_in(s->gone, s->ngone, u);
		}
		if (gone)
			r->vanished[r->nvanished++] = u;
	}
	r->flags_unknown = r->mode == DELTA_MODE_FULL && b->flags == NULL;
}

/* roundtrip: flush, wait for TAG; -1 on a connection error, NO or BAD, or a collector error. */
static int roundtrip(struct imap_conn *c, unsigned tag, struct delta_seen *s, struct delta_pass *r,
		     const char *what)
{
	enum imap_status st;
	const char *text;

	r->round_trips++;
	if (imap_wait(c, tag, &st, &text) < 0)
		return pass_fail(r, "%s: %s", what, s->err[0] ? s->err : imap_error(c));
	if (s->err[0])
		return pass_fail(r, "%s: %s", what, s->err);
	if (st != IMAP_OK)
		return pass_fail(r, "%s: %s %.120s", what, st == IMAP_NO ? "NO" : "BAD", text);
	return 0;
}

static enum delta_mode pick_mode(struct imap_conn *c, const struct delta_base *b, int qresync)
{
	if (b->uidvalidity == 0 || b->highestmodseq == 0)
		return DELTA_MODE_FULL;
	if (qresync)
		return DELTA_MODE_QRESYNC;
	return imap_caps(c) & IMAP_CAP_CONDSTORE ? DELTA_MODE_CONDSTORE : DELTA_MODE_FULL;
}

/* examine: the first round trip; 1 when the pass is over (unchanged, recreated). */
static int examine(struct imap_conn *c, const char *folder, const struct delta_base *b,
		   struct delta_seen *s, struct delta_pass *r)
{
	/* No known-UIDs: with them the server reports changes of those UIDs
	 * only (RFC 7162 3.2.5; Dovecot does so), and new messages would
	 * need a second command. Without them it reports every message
	 * changed or added since the mod-sequence; the VANISHED it then sends
	 * may name UIDs we never had, which classify() drops. */
	struct delta_qresync q = {b->uidvalidity, b->highestmodseq, NULL};
	int condstore = (imap_caps(c) & IMAP_CAP_CONDSTORE) != 0;
	unsigned tag = delta_cmd_select(c, folder, 1, condstore,
					r->mode == DELTA_MODE_QRESYNC ? &q : NULL);

	if (roundtrip(c, tag, s, r, "EXAMINE") < 0)
		return -1;
	if (s->uidvalidity == 0)
		return pass_fail(r, "EXAMINE: no UIDVALIDITY");
	r->uidvalidity = s->uidvalidity;
	r->highestmodseq = s->nomodseq ? 0 : s->highestmodseq;
	if (b->uidvalidity && s->uidvalidity != b->uidvalidity) {
		r->uidvalidity_changed = 1;
		return 1;
	}
	/* No mod-sequences after all, or fewer than recorded (a restored
	 * server): only a full listing can be trusted. */
	if (r->mode != DELTA_MODE_FULL && (r->highestmodseq == 0 || r->highestmodseq < b->highestmodseq))
		r->mode = DELTA_MODE_FULL;
	if (r->mode != DELTA_MODE_FULL && r->highestmodseq == b->highestmodseq && s->nf == 0 &&
	    s->ngone == 0) {
		r->unchanged = 1;
		return 1;
	}
	return 0;
}

int delta_run(struct imap_conn *c, const char *folder, const struct delta_base *base, int qresync,
	      struct delta_pass *r)
{
	struct delta_seen s = {0};
	struct imap_handler h;
	int rc, listed = 1;

	memset(r, 0, sizeof(*r));
	r->mode = pick_mode(c, base, qresync);
	/* Only QRESYNC puts UID in every FETCH (RFC 7162 3.2.4); there the
	 * answers are the result, so one without UID is an error. Elsewhere
	 * an unsolicited one is dropped: the listing that follows has it. */
	s.need_uid = r->mode == DELTA_MODE_QRESYNC;
	delta_seen_handler(&s, &h);
	imap_set_handler(c, &h);
	rc = examine(c, folder, base, &s, r);
	if (rc == 0 && r->mode == DELTA_MODE_QRESYNC) {
		listed = 0; /* the answers came with the EXAMINE */
	} else if (rc == 0) {
		/* Drop what came unasked with the EXAMINE: the listing has it all. */
		delta_seen_reset(&s);
		s.uidvalidity = r->uidvalidity;
		unsigned tag = delta_cmd_fetch(c, 0, 0, r->mode == DELTA_MODE_CONDSTORE);

		rc = roundtrip(c, tag, &s, r, "UID FETCH");
	}
	if (rc == 0) {
		delta_seen_done(&s);
		classify(&s, base, listed, r);
	}
	imap_set_handler(c, NULL);
	delta_seen_free(&s);
	return rc < 0 ? -1 : 0;
}

#define DELTA_STATUS_BATCH 256

struct marks {
	struct delta_mark *f;
	size_t n;
};

static int on_status(void *ctx, const struct imap_event *ev)
{
	struct marks *m = ctx;
	const struct imap_status_items *st = &ev->u.status;
	const unsigned need = IMAP_STATUS_UIDVALIDITY | IMAP_STATUS_HIGHESTMODSEQ;

	if (ev->bad || ev->type != IMAP_EV_STATUS || (st->has & need) != need)
		return 0;
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->f[i].folder, st->mailbox) == 0) {
			m->f[i].now_uidvalidity = st->uidvalidity;
			m->f[i].now_highestmodseq = st->highestmodseq;
			m->f[i].moved = m->f[i].uidvalidity == 0 || m->f[i].highestmodseq == 0 ||
					st->uidvalidity != m->f[i].uidvalidity ||
					st->highestmodseq != m->f[i].highestmodseq;
		}
	return 0;
}

int delta_moved(struct imap_conn *c, struct delta_mark *f, size_t n, unsigned *round_trips_r,
		char **err_r)
{
	struct marks m = {f, n};
	struct imap_handler h = {.event = on_status, .ctx = &m};
	enum imap_status st;
	int r = 0;

	*round_trips_r = 0;
	for (size_t i = 0; i < n; i++) {
		f[i].moved = 1; /* until an answer says otherwise */
		f[i].now_uidvalidity = f[i].now_highestmodseq = 0;
	}
	if (n == 0 || !(imap_caps(c) & IMAP_CAP_CONDSTORE))
		return 0;
	imap_set_handler(c, &h);
	/* In batches: the connection keeps the completions of its last 1024
	 * tags (imap_int.h), and a batch is one round trip. */
	for (size_t i = 0; i < n && r == 0; i += DELTA_STATUS_BATCH) {
		size_t k = n - i < DELTA_STATUS_BATCH ? n - i : DELTA_STATUS_BATCH;
		unsigned first = imap_next_tag(c);

		for (size_t j = 0; j < k; j++)
			delta_cmd_status(c, f[i + j].folder);
		(*round_trips_r)++;
		for (size_t j = 0; j < k && r == 0; j++)
			r = imap_wait(c, first + (unsigned)j, &st, NULL);
	}
	imap_set_handler(c, NULL);
	if (r < 0) {
		*err_r = xasprintf("STATUS: %s", imap_error(c));
		return -1;
	}
	return 0;
}

static void free_changes(struct delta_change *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(a[i].flags);
	free(a);
}

void delta_pass_free(struct delta_pass *r)
{
	free_changes(r->added, r->nadded);
	free_changes(r->changed, r->nchanged);
	free(r->vanished);
	r->added = r->changed = NULL;
	r->vanished = NULL;
	r->nadded = r->nchanged = r->nvanished = 0;
}
