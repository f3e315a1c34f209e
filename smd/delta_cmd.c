/*
 * delta_cmd - RFC 7162 commands and their collector (see delta_cmd.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delta_cmd.h"
#include "xalloc.h"

unsigned delta_cmd_enable(struct imap_conn *c)
{
	return imap_cmd(c, "ENABLE QRESYNC");
}

unsigned delta_cmd_select(struct imap_conn *c, const char *mailbox, int examine, int condstore,
			  const struct delta_qresync *q)
{
	const char *verb = examine ? "EXAMINE" : "SELECT";

	if (q && q->known_uids)
		return imap_cmd(c, "%s %s (QRESYNC (%llu %llu %s))", verb, imap_q(c, mailbox),
				q->uidvalidity, q->modseq, q->known_uids);
	if (q)
		return imap_cmd(c, "%s %s (QRESYNC (%llu %llu))", verb, imap_q(c, mailbox),
				q->uidvalidity, q->modseq);
	if (condstore)
		return imap_cmd(c, "%s %s (CONDSTORE)", verb, imap_q(c, mailbox));
	return imap_cmd(c, "%s %s", verb, imap_q(c, mailbox));
}

unsigned delta_cmd_status(struct imap_conn *c, const char *mailbox)
{
	return imap_cmd(c, "STATUS %s (UIDVALIDITY HIGHESTMODSEQ)", imap_q(c, mailbox));
}

unsigned delta_cmd_fetch(struct imap_conn *c, unsigned long long changedsince, int vanished,
			 int modseq)
{
	const char *items = modseq ? "(FLAGS MODSEQ)" : "(FLAGS)";

	if (changedsince > 0)
		return imap_cmd(c, "UID FETCH 1:* %s (CHANGEDSINCE %llu%s)", items, changedsince,
				vanished ? " VANISHED" : "");
	return imap_cmd(c, "UID FETCH 1:* %s", items);
}

/* ------------------------------------------------------------ collector */

static int seen_fail(struct delta_seen *s, const char *why, const struct imap_event *ev)
{
	if (s->err[0] == '\0')
		snprintf(s->err, sizeof(s->err), "%s: %.80s", why, ev->raw.p ? ev->raw.p : "");
	return -1;
}

/* flags_copy: the flag list P/N without \Recent (the session's, never stored). */
static char *flags_copy(const char *p, size_t n)
{
	char *out = xmalloc(n + 1);
	const char *end = p + n, *w;
	size_t len = 0, wl;

	out[0] = '\0';
	while (imap_word(&p, end, &w, &wl)) {
		if (imap_atom_eq(w, wl, "\\Recent"))
			continue;
		if (len)
			out[len++] = ' ';
		memcpy(out + len, w, wl);
		len += wl;
		out[len] = '\0';
	}
	return out;
}

static int on_fetch(struct delta_seen *s, const struct imap_event *ev)
{
	const struct imap_fetch *f = &ev->u.fetch;

	if (!f->has_uid || f->uid == 0 || f->uid > UINT32_MAX) {
		/* An unsolicited flag change of another session, without
		 * mod-sequences: the listing that follows has it anyway. */
		return s->need_uid ? seen_fail(s, "FETCH without UID", ev) : 0;
	}
	if (f->modseq_bad)
		return seen_fail(s, "malformed MODSEQ", ev);
	if (!f->has_flags && !f->has_modseq)
		return 0;
	if (s->nf == DELTA_SEEN_MAX)
		return seen_fail(s, "too many messages", ev);
	if (s->nf == s->capf) {
		s->capf = s->capf ? 2 * s->capf : 64;
		s->f = xrealloc(s->f, s->capf * sizeof(*s->f));
	}
	s->f[s->nf++] = (struct delta_fetched){(uint32_t)f->uid, f->modseq,
					       flags_copy(f->has_flags ? f->flags : "",
							  f->has_flags ? f->flags_len : 0)};
	return 0;
}

static int on_vanished(struct delta_seen *s, const struct imap_event *ev)
{
	struct imap_uid_range *r;
	size_t n;

	if (imap_uidset_ranges(ev->u.vanished.set, &r, &n) < 0)
		return seen_fail(s, "bad VANISHED", ev);
	if (s->ngone + n > DELTA_SEEN_MAX) {
		free(r);
		return seen_fail(s, "too many VANISHED ranges", ev);
	}
	if (s->ngone + n > s->capgone) {
		s->capgone = s->ngone + n + 64;
		s->gone = xrealloc(s->gone, s->capgone * sizeof(*s->gone));
	}
	memcpy(s->gone + s->ngone, r, n * sizeof(*r));
	s->ngone += n;
	free(r);
	return 0;
}

static void on_code(struct delta_seen *s, const struct imap_code *code)
{
	switch (code->type) {
	case IMAP_CODE_CLOSED:
		/* Whatever came before belongs to the mailbox just closed. */
		delta_seen_reset(s);
		break;
	case IMAP_CODE_UIDVALIDITY:
		s->uidvalidity = code->num;
		break;
	case IMAP_CODE_UIDNEXT:
		s->uidnext = code->num;
		break;
	case IMAP_CODE_HIGHESTMODSEQ:
		s->highestmodseq = code->num;
		break;
	case IMAP_CODE_NOMODSEQ:
		s->nomodseq = 1;
		break;
	default:
		break;
	}
}

int delta_seen_event(void *ctx, const struct imap_event *ev)
{
	struct delta_seen *s = ctx;

	if (ev->bad)
		return ev->type == IMAP_EV_FETCH || ev->type == IMAP_EV_VANISHED
			       ? seen_fail(s, "malformed response", ev)
			       : 0;
	switch (ev->type) {
	case IMAP_EV_FETCH:
		return on_fetch(s, ev);
	case IMAP_EV_VANISHED:
		return on_vanished(s, ev);
	case IMAP_EV_STATE:
		if (ev->u.state.cond == IMAP_COND_OK)
			on_code(s, &ev->u.state.code);
		return 0;
	case IMAP_EV_EXISTS:
		s->exists = ev->u.num;
		return 0;
	case IMAP_EV_ENABLED:
		s->enabled |= ev->u.caps.bits;
		return 0;
	default:
		return 0;
	}
}

void delta_seen_handler(struct delta_seen *s, struct imap_handler *h)
{
	memset(h, 0, sizeof(*h));
	h->event = delta_seen_event;
	h->ctx = s;
}

static int cmp_range(const void *a, const void *b)
{
	const struct imap_uid_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int cmp_fetched(const void *a, const void *b)
{
	const struct delta_fetched *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

void delta_seen_done(struct delta_seen *s)
{
	size_t k = 0;

	if (s->ngone)
		qsort(s->gone, s->ngone, sizeof(*s->gone), cmp_range);
	for (size_t i = 0; i < s->ngone; i++) {
		if (k > 0 && s->gone[i].lo <= (uint64_t)s->gone[k - 1].hi + 1) {
			if (s->gone[i].hi > s->gone[k - 1].hi)
				s->gone[k - 1].hi = s->gone[i].hi;
		} else {
			s->gone[k++] = s->gone[i];
		}
	}
	s->ngone = k;
	if (s->nf)
		qsort(s->f, s->nf, sizeof(*s->f), cmp_fetched);
}

void delta_seen_reset(struct delta_seen *s)
{
	for (size_t i = 0; i < s->nf; i++)
		free(s->f[i].flags);
	s->nf = s->ngone = 0;
	s->uidvalidity = s->uidnext = s->highestmodseq = s->exists = 0;
	s->nomodseq = 0;
}

void delta_seen_free(struct delta_seen *s)
{
	delta_seen_reset(s);
	free(s->f);
	free(s->gone);
	s->f = NULL;
	s->gone = NULL;
	s->capf = s->capgone = 0;
}

char *delta_uidset(const uint32_t *uids, size_t n, size_t max)
{
	size_t len = 0, cap = 64;
	char *out;

	if (n == 0)
		return NULL;
	out = xmalloc(cap);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		char item[32];

		while (j + 1 < n && uids[j + 1] == uids[j] + 1)
			j++;
		int k = j > i ? snprintf(item, sizeof(item), "%s%u:%u", len ? "," : "", uids[i], uids[j])
			      : snprintf(item, sizeof(item), "%s%u", len ? "," : "", uids[i]);

		if (len + (size_t)k > max) {
			free(out);
			return NULL;
		}
		if (len + (size_t)k + 1 > cap) {
			cap = 2 * (len + (size_t)k + 1);
			out = xrealloc(out, cap);
		}
		memcpy(out + len, item, (size_t)k + 1);
		len += (size_t)k;
		i = j + 1;
	}
	return out;
}
