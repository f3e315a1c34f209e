/*
 * fake_imap_cs - the fake server's CONDSTORE and QRESYNC (RFC 7162): a
 * mod-sequence per message moved by every change, HIGHESTMODSEQ per
 * folder, a log of expunged UIDs for VANISHED. Enough of the RFC for the
 * delta pass's tests, answered as Dovecot does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fake_imap_int.h"

const char *cs_caps(const struct fake_model *m)
{
	static const char *const w[] = {"", " CONDSTORE", " CONDSTORE QRESYNC ENABLE", "",
					" MOVE", " CONDSTORE MOVE", " CONDSTORE QRESYNC ENABLE MOVE", ""};

	return w[(m->qresync ? 2 : m->condstore ? 1 : 0) + (m->move ? 4 : 0)];
}

void cs_enable(struct conn *c, const char *tag)
{
	if (c->s->m->qresync) {
		c->qresync = 1;
		say(c, "* ENABLED QRESYNC\r\n");
	} else {
		say(c, "* ENABLED\r\n");
	}
	say(c, "%s OK enabled\r\n", tag);
}

void cs_touch(struct fake_folder *f, struct fake_msg *m)
{
	m->modseq = ++f->modseq;
}

static struct fake_msg *find(struct fake_folder *f, unsigned uid)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->m[i].uid == uid)
			return &f->m[i];
	return NULL;
}

void fake_msg_flags(struct fake_folder *f, unsigned uid, const char *flags)
{
	struct fake_msg *m = find(f, uid);

	if (m == NULL)
		abort();
	free(m->flags);
	m->flags = strdup(flags);
	if (m->flags == NULL)
		abort();
	cs_touch(f, m);
}

void fake_msg_expunge(struct fake_folder *f, unsigned uid)
{
	struct fake_msg *m = find(f, uid);
	struct fake_gone *g = realloc(f->gone, (f->ngone + 1) * sizeof(*f->gone));

	if (m == NULL || g == NULL)
		abort();
	f->gone = g;
	f->gone[f->ngone++] = (struct fake_gone){uid, ++f->modseq};
	free(m->body);
	free(m->flags);
	memmove(m, m + 1, (size_t)(f->m + f->n - m - 1) * sizeof(*m));
	f->n--;
}

void fake_msg_flags_add(struct fake_folder *f, struct fake_msg *m, const char *add)
{
	size_t n = strlen(m->flags) + strlen(add) + 2;
	char *nf = malloc(n);

	if (nf == NULL)
		abort();
	snprintf(nf, n, "%s%s%s", m->flags, m->flags[0] ? " " : "", add);
	free(m->flags);
	m->flags = nf;
	cs_touch(f, m);
}

void fake_uid_expunge(struct fake_folder *f, const char *set)
{
	unsigned max = f->n ? f->m[f->n - 1].uid : 0;

	for (size_t i = f->n; i-- > 0;) {
		const struct fake_msg *m = &f->m[i];

		if (in_set(set, m->uid, max) && strstr(m->flags, "\\Deleted"))
			fake_msg_expunge(f, m->uid);
	}
}

/* vanished: "* VANISHED (EARLIER) ..." for F's UIDs expunged after SINCE in SET (NULL: all). */
static void vanished(struct conn *c, const struct fake_folder *f, unsigned long long since,
		     const char *set)
{
	size_t cap = 64 + f->ngone * 12, len = 0;
	char *out = malloc(cap);

	if (out == NULL)
		abort();
	len = (size_t)snprintf(out, cap, "* VANISHED (EARLIER) ");
	size_t head = len;

	for (size_t i = 0; i < f->ngone; i++)
		if (f->gone[i].modseq > since && (set == NULL || in_set(set, f->gone[i].uid, ~0u)))
			len += (size_t)snprintf(out + len, cap - len, "%s%u", len > head ? "," : "",
						f->gone[i].uid);
	if (len > head) {
		memcpy(out + len, "\r\n", 2);
		say_raw(c, out, len + 2);
	}
	free(out);
}

/* qresync: "(QRESYNC (uv modseq [known]))" at P, answered for F. */
static int qresync(struct conn *c, struct fake_folder *f, const char *p)
{
	unsigned long uv;
	unsigned long long ms;
	char known[4096] = "";
	int n = 0;

	if (!c->qresync ||
	    sscanf(p, "(QRESYNC (%lu %llu%n", &uv, &ms, &n) != 2 || n == 0 || ms == 0)
		return -1;
	p += n;
	if (*p == ' ' && sscanf(p + 1, "%4095[0-9:,]", known) != 1)
		return -1;
	if (uv != f->uidvalidity)
		return 0; /* the parameters are ignored: the client starts afresh */
	vanished(c, f, ms, known[0] ? known : NULL);
	/* With known-UIDs, changes of those only (RFC 7162 3.2.5, as Dovecot):
	 * a message added since is not reported. */
	for (size_t i = 0; i < f->n; i++)
		if (f->m[i].modseq > ms && (!known[0] || in_set(known, f->m[i].uid, ~0u)))
			say(c, "* %zu FETCH (UID %u FLAGS (%s) MODSEQ (%llu))\r\n", i + 1,
			    f->m[i].uid, f->m[i].flags, f->m[i].modseq);
	return 0;
}

int cs_select(struct conn *c, struct fake_folder *f, const char *args)
{
	const struct fake_model *m = c->s->m;

	while (*args == ' ')
		args++;
	int cs = strcasecmp(args, "(CONDSTORE)") == 0, qr = strncasecmp(args, "(QRESYNC ", 9) == 0;

	if (*args && !cs && !qr)
		return -1;
	if ((cs || qr) && !m->condstore && !m->qresync)
		return -1;
	if (!cs && !qr && !c->qresync)
		return 0;
	if (f->nomodseq)
		say(c, "* OK [NOMODSEQ] no mod-sequences here\r\n");
	else
		say(c, "* OK [HIGHESTMODSEQ %llu] highest\r\n", f->modseq);
	return qr && !f->nomodseq ? qresync(c, f, args) : qr && !c->qresync ? -1 : 0;
}

int cs_fetch_mods(struct conn *c, const char *set, const char *items, unsigned long long *since_r)
{
	const char *p = strcasestr(items, "(CHANGEDSINCE ");
	char *end;

	*since_r = 0;
	if (p == NULL)
		return 0;
	if (!c->s->m->condstore && !c->s->m->qresync)
		return -1;
	*since_r = strtoull(p + 14, &end, 10);
	if (end == p + 14)
		return -1;
	if (strncasecmp(end, " VANISHED)", 10) == 0) {
		if (!c->qresync)
			return -1;
		vanished(c, c->sel, *since_r, set);
	} else if (*end != ')') {
		return -1;
	}
	return 0;
}
