/*
 * imap_event - one complete IMAP response into a typed event (see
 * imap_parse.h): status replies and their response codes, FETCH, LIST,
 * LSUB, STATUS, the counts, FLAGS, CAPABILITY, and RFC 7162's ENABLED,
 * VANISHED and mod-sequences. Built on the tokenizer
 * of imap_parse.c, so a value is read one way wherever it appears.
 */
#include <stdlib.h>
#include <string.h>

#include "imap_parse.h"
#include "xalloc.h"

int imap_span_eq(struct imap_span s, const char *word)
{
	return imap_atom_eq(s.p, s.len, word);
}

static struct imap_span span(const char *p, const char *end)
{
	return (struct imap_span){p, (size_t)(end - p)};
}

/* ------------------------------------------------------------ small values */

unsigned imap_caps_bits(const char *s, size_t len)
{
	static const struct {
		const char *word;
		unsigned bit;
	} table[] = {
		{"LITERAL+", IMAP_CAP_LITERALPLUS},   {"LITERAL-", IMAP_CAP_LITERALMINUS},
		{"MULTIAPPEND", IMAP_CAP_MULTIAPPEND}, {"UIDPLUS", IMAP_CAP_UIDPLUS},
		{"SPECIAL-USE", IMAP_CAP_SPECIAL_USE}, {"LIST-EXTENDED", IMAP_CAP_LIST_EXTENDED},
		{"STARTTLS", IMAP_CAP_STARTTLS},       {"SASL-IR", IMAP_CAP_SASL_IR},
		{"AUTH=PLAIN", IMAP_CAP_AUTH_PLAIN},   {"LIST-STATUS", IMAP_CAP_LIST_STATUS},
		{"ESEARCH", IMAP_CAP_ESEARCH},         {"STATUS=SIZE", IMAP_CAP_STATUS_SIZE},
		{"CONDSTORE", IMAP_CAP_CONDSTORE},     {"ENABLE", IMAP_CAP_ENABLE},
		/* QRESYNC implies CONDSTORE (RFC 7162 section 3.2.3). */
		{"QRESYNC", IMAP_CAP_QRESYNC | IMAP_CAP_CONDSTORE},
		{"MOVE", IMAP_CAP_MOVE},
	};
	const char *end = s + len, *w;
	size_t wl;
	unsigned bits = 0;

	while (imap_word(&s, end, &w, &wl))
		for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
			if (imap_atom_eq(w, wl, table[i].word))
				bits |= table[i].bit;
	return bits;
}

int imap_tag_number(struct imap_span tag, char prefix, unsigned long long *n_r)
{
	struct imap_tok t;

	imap_tok_init(&t, tag.p, tag.len);
	if (imap_tok_char(&t, prefix) < 0 || imap_tok_number(&t, n_r) < 0 || !imap_tok_eof(&t))
		return -1;
	return 0;
}

long long imap_uidset_expand(struct imap_span set, unsigned long long *out, size_t n)
{
	struct imap_tok t;
	long long count = 0;

	imap_tok_init(&t, set.p, set.len);
	do {
		unsigned long long lo, hi;

		if (imap_tok_number(&t, &lo) < 0)
			return -1;
		hi = lo;
		if (imap_tok_char(&t, ':') == 0 && imap_tok_number(&t, &hi) < 0)
			return -1;
		if (hi < lo) {
			unsigned long long x = lo;

			lo = hi;
			hi = x;
		}
		unsigned long long k = hi - lo + 1;

		/* No server has 2^40 messages: the bound keeps COUNT exact. */
		if (hi - lo >= (1ULL << 40) || count >= (1LL << 50))
			return -1;
		for (unsigned long long i = 0; i < k && (unsigned long long)count + i < n; i++)
			out[count + (long long)i] = lo + i;
		count += (long long)k;
	} while (imap_tok_char(&t, ',') == 0);
	return imap_tok_eof(&t) ? count : -1;
}

static int cmp_range(const void *a, const void *b)
{
	const struct imap_uid_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* uid32: a UID at T: 1 to 2^32-1 (nz-number). */
static int uid32(struct imap_tok *t, uint32_t *r)
{
	unsigned long long n;

	if (imap_tok_number(t, &n) < 0 || n == 0 || n > UINT32_MAX)
		return -1;
	*r = (uint32_t)n;
	return 0;
}

int imap_uidset_ranges(struct imap_span set, struct imap_uid_range **r_r, size_t *n_r)
{
	struct imap_tok t;
	/* Each range takes at least two bytes of text ("5,"): the bound. */
	size_t n = 0, k = 0;
	struct imap_uid_range *r = xmalloc((set.len / 2 + 1) * sizeof(*r));

	*r_r = NULL;
	*n_r = 0;
	imap_tok_init(&t, set.p, set.len);
	do {
		uint32_t lo, hi;

		if (uid32(&t, &lo) < 0)
			goto bad;
		hi = lo;
		if (imap_tok_char(&t, ':') == 0 && uid32(&t, &hi) < 0)
			goto bad;
		r[n++] = lo <= hi ? (struct imap_uid_range){lo, hi} : (struct imap_uid_range){hi, lo};
	} while (imap_tok_char(&t, ',') == 0);
	if (!imap_tok_eof(&t))
		goto bad;
	qsort(r, n, sizeof(*r), cmp_range);
	for (size_t i = 0; i < n; i++) {
		/* Overlapping or adjacent ranges merge (hi + 1 cannot wrap: checked first). */
		if (k > 0 && (r[i].lo <= r[k - 1].hi || r[k - 1].hi + 1 == r[i].lo)) {
			if (r[i].hi > r[k - 1].hi)
				r[k - 1].hi = r[i].hi;
		} else {
			r[k++] = r[i];
		}
	}
	*r_r = r;
	*n_r = k;
	return 0;
bad:
	free(r);
	return -1;
}

int imap_uid_in(const struct imap_uid_range *r, size_t n, uint32_t uid)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (uid < r[mid].lo)
			hi = mid;
		else if (uid > r[mid].hi)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

/* uidset_ok: SET is a well-formed RFC 7162 UID set. */
static int uidset_ok(struct imap_span set)
{
	struct imap_uid_range *r;
	size_t n;

	if (set.len == 0 || imap_uidset_ranges(set, &r, &n) < 0)
		return 0;
	free(r);
	return 1;
}

/* ------------------------------------------------------------ codes */

/* code_args: decode the arguments of a known code; -1 when malformed. */
static int code_args(struct imap_code *c, struct imap_tok *t)
{
	const char *s;

	switch (c->type) {
	case IMAP_CODE_UIDVALIDITY:
	case IMAP_CODE_UIDNEXT:
		return imap_tok_sp(t) < 0 || imap_tok_number(t, &c->num) < 0 ? -1 : 0;
	case IMAP_CODE_HIGHESTMODSEQ:
		/* 0 is no mod-sequence: taken for one, a delta would skip changes. */
		return imap_tok_sp(t) < 0 || imap_tok_number(t, &c->num) < 0 || c->num == 0 ? -1 : 0;
	case IMAP_CODE_MODIFIED:
		if (imap_tok_sp(t) < 0)
			return -1;
		c->set = span(t->p, t->end);
		t->p = t->end;
		return uidset_ok(c->set) ? 0 : -1;
	case IMAP_CODE_APPENDUID:
	case IMAP_CODE_COPYUID:
		if (imap_tok_sp(t) < 0 || imap_tok_number(t, &c->num) < 0 || imap_tok_sp(t) < 0)
			return -1;
		s = t->p;
		while (!imap_tok_eof(t) && strchr("0123456789:,", *t->p) && *t->p)
			t->p++;
		c->set = span(s, t->p);
		if (c->type == IMAP_CODE_COPYUID) {
			c->src_set = c->set;
			if (imap_tok_sp(t) < 0)
				return -1;
			s = t->p;
			while (!imap_tok_eof(t) && strchr("0123456789:,", *t->p) && *t->p)
				t->p++;
			c->set = span(s, t->p);
		}
		return c->set.len && imap_uidset_expand(c->set, NULL, 0) >= 0 &&
				       (c->type != IMAP_CODE_COPYUID ||
					imap_uidset_expand(c->src_set, NULL, 0) >= 0)
			       ? 0
			       : -1;
	case IMAP_CODE_PERMANENTFLAGS:
		if (imap_tok_sp(t) < 0 || imap_tok_peek(t) != '(')
			return -1;
		s = t->p + 1;
		if (imap_tok_skip(t) < 0)
			return -1;
		c->list = span(s, t->p - 1);
		return 0;
	case IMAP_CODE_CAPABILITY:
		if (imap_tok_sp(t) < 0)
			return -1;
		s = t->p;
		while (!imap_tok_eof(t) && *t->p != ']')
			t->p++;
		c->caps.words = span(s, t->p);
		c->caps.bits = imap_caps_bits(s, (size_t)(t->p - s));
		return 0;
	default:
		return 0;
	}
}

/*
 * code_parse: "[NAME args]" at T (which moves past it). A code we know
 * with arguments we cannot read is kept as IMAP_CODE_OTHER: a strange
 * code must not cost the reply it came with.
 */
static int code_parse(struct imap_code *c, struct imap_tok *t)
{
	static const struct {
		const char *name;
		enum imap_code_type type;
	} names[] = {
		{"ALERT", IMAP_CODE_ALERT},	      {"APPENDUID", IMAP_CODE_APPENDUID},
		{"COPYUID", IMAP_CODE_COPYUID},	      {"UIDVALIDITY", IMAP_CODE_UIDVALIDITY},
		{"UIDNEXT", IMAP_CODE_UIDNEXT},	      {"PERMANENTFLAGS", IMAP_CODE_PERMANENTFLAGS},
		{"CAPABILITY", IMAP_CODE_CAPABILITY}, {"HIGHESTMODSEQ", IMAP_CODE_HIGHESTMODSEQ},
		{"NOMODSEQ", IMAP_CODE_NOMODSEQ},     {"MODIFIED", IMAP_CODE_MODIFIED},
		{"CLOSED", IMAP_CODE_CLOSED},
	};
	const char *n = t->p + 1;
	/* No argument of a code we read holds a ']'. */
	const char *close = memchr(n, ']', (size_t)(t->end - n));

	memset(c, 0, sizeof(*c));
	if (close == NULL)
		return -1;
	const char *ne = n;

	while (ne < close && *ne != ' ')
		ne++;
	c->text = span(n, close);
	c->type = IMAP_CODE_OTHER;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (imap_atom_eq(n, (size_t)(ne - n), names[i].name))
			c->type = names[i].type;
	struct imap_tok a;

	imap_tok_init(&a, ne, (size_t)(close - ne));
	if (code_args(c, &a) < 0 || (!imap_tok_eof(&a) && c->type != IMAP_CODE_OTHER &&
				     c->type != IMAP_CODE_ALERT)) {
		memset(c, 0, sizeof(*c));
		c->type = IMAP_CODE_OTHER;
		c->text = span(n, close);
	}
	t->p = close + 1;
	return 0;
}

/* state_parse: "COND [code] text" at T; -1 when COND is not one. */
static int state_parse(struct imap_state *st, struct imap_tok *t)
{
	static const char *const conds[] = {"OK", "NO", "BAD", "BYE", "PREAUTH"};
	const char *a;
	size_t al;
	size_t i;

	memset(st, 0, sizeof(*st));
	if (imap_tok_atom(t, &a, &al) < 0)
		return -1;
	for (i = 0; i < sizeof(conds) / sizeof(conds[0]); i++)
		if (imap_atom_eq(a, al, conds[i]))
			break;
	if (i == sizeof(conds) / sizeof(conds[0]) || (!imap_tok_eof(t) && *t->p != ' '))
		return -1;
	st->cond = (enum imap_cond)i;
	if (!imap_tok_eof(t))
		t->p++;
	st->rest = span(t->p, t->end);
	if (imap_tok_peek(t) == '[' && code_parse(&st->code, t) == 0 && imap_tok_peek(t) == ' ')
		t->p++;
	st->text = span(t->p, t->end);
	t->p = t->end;
	return 0;
}

/* ------------------------------------------------------------ LIST, STATUS */

static unsigned list_attr_bit(const char *a, size_t al)
{
	static const struct {
		const char *name;
		unsigned bit;
	} attrs[] = {
		{"\\Noselect", IMAP_LIST_NOSELECT}, {"\\NonExistent", IMAP_LIST_NONEXISTENT},
		{"\\Sent", IMAP_LIST_SENT},	    {"\\Drafts", IMAP_LIST_DRAFTS},
		{"\\Trash", IMAP_LIST_TRASH},	    {"\\Junk", IMAP_LIST_JUNK},
		{"\\Archive", IMAP_LIST_ARCHIVE},   {"\\All", IMAP_LIST_ALL},
		{"\\Flagged", IMAP_LIST_FLAGGED},
	};

	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
		if (imap_atom_eq(a, al, attrs[i].name))
			return attrs[i].bit;
	return 0;
}

/* mailbox: an astring into ev->buf (no limit but the response's), no NUL. */
static int mailbox(struct imap_event *ev, struct imap_tok *t, const char **name_r, size_t *len_r)
{
	size_t len;
	int nil;

	free(ev->buf);
	ev->buf = xmalloc((size_t)(t->end - t->p) + 1);
	if (imap_tok_string(t, ev->buf, (size_t)(t->end - t->p) + 1, &len, &nil) < 0 || nil ||
	    len != strlen(ev->buf))
		return -1;
	*name_r = ev->buf;
	*len_r = len;
	return 0;
}

/* list_parse: after "LIST " or "LSUB ": (attrs) SP sep SP name [extended data]. */
static int list_parse(struct imap_event *ev, struct imap_tok *t)
{
	struct imap_list *l = &ev->u.list;
	const char *a, *s = t->p + 1;
	size_t al, n;
	char sep[8];
	int nil;

	if (imap_tok_char(t, '(') < 0)
		return -1;
	while (imap_tok_peek(t) != ')') {
		if (imap_tok_atom(t, &a, &al) < 0)
			return -1;
		l->attr_bits |= list_attr_bit(a, al);
		if (imap_tok_peek(t) == ' ')
			imap_tok_sp(t);
	}
	l->attrs = span(s, t->p);
	imap_tok_char(t, ')');
	if (imap_tok_sp(t) < 0 || imap_tok_string(t, sep, sizeof(sep), &n, &nil) < 0 ||
	    imap_tok_sp(t) < 0 || mailbox(ev, t, &l->name, &l->name_len) < 0)
		return -1;
	l->sep = sep[0];
	return 0;
}

static int status_parse(struct imap_event *ev, struct imap_tok *t)
{
	static const char *const items[] = {"MESSAGES", "RECENT", "UIDNEXT",	  "UIDVALIDITY",
					    "UNSEEN",	"SIZE",	  "HIGHESTMODSEQ"};
	struct imap_status_items *st = &ev->u.status;
	unsigned long long *vals[] = {&st->messages, &st->recent, &st->uidnext,
				      &st->uidvalidity, &st->unseen, &st->size,
				      &st->highestmodseq};
	const char *a;
	size_t al, nl;

	if (mailbox(ev, t, &st->mailbox, &nl) < 0 || imap_tok_sp(t) < 0 ||
	    imap_tok_char(t, '(') < 0)
		return -1;
	while (imap_tok_peek(t) != ')') {
		unsigned long long v;
		size_t i;

		if (imap_tok_atom(t, &a, &al) < 0 || imap_tok_sp(t) < 0)
			return -1;
		for (i = 0; i < sizeof(items) / sizeof(items[0]); i++)
			if (imap_atom_eq(a, al, items[i]))
				break;
		if (i == sizeof(items) / sizeof(items[0])) {
			if (imap_tok_skip(t) < 0)
				return -1;
		} else {
			if (imap_tok_number(t, &v) < 0)
				return -1;
			*vals[i] = v;
			st->has |= 1u << i;
		}
		if (imap_tok_peek(t) == ' ')
			imap_tok_sp(t);
	}
	return imap_tok_char(t, ')');
}

/* vanished_parse: after "VANISHED": SP ["(EARLIER)" SP] uid-set (RFC 7162 7.3.1). */
static int vanished_parse(struct imap_vanished *v, struct imap_tok *t)
{
	const char *a;
	size_t al;

	if (imap_tok_sp(t) < 0)
		return -1;
	if (imap_tok_char(t, '(') == 0) {
		if (imap_tok_atom(t, &a, &al) < 0 || !imap_atom_eq(a, al, "EARLIER") ||
		    imap_tok_char(t, ')') < 0 || imap_tok_sp(t) < 0)
			return -1;
		v->earlier = 1;
	}
	v->set = span(t->p, t->end);
	t->p = t->end;
	return uidset_ok(v->set) ? 0 : -1;
}

/* ------------------------------------------------------------ untagged */

/* numbered: "N EXISTS", "N EXPUNGE", "N RECENT", "N FETCH (...)". */
static int numbered(struct imap_event *ev, const char *text, size_t len)
{
	struct imap_tok t;
	const char *a;
	size_t al;
	unsigned long long n;

	imap_tok_init(&t, text, len);
	if (imap_tok_number(&t, &n) < 0 || imap_tok_sp(&t) < 0 || imap_tok_atom(&t, &a, &al) < 0)
		return 0;
	if (imap_atom_eq(a, al, "FETCH")) {
		ev->type = IMAP_EV_FETCH;
		return imap_fetch_parse(text, len, &ev->u.fetch) == 1 ? 0 : -1;
	}
	if (imap_atom_eq(a, al, "EXISTS"))
		ev->type = IMAP_EV_EXISTS;
	else if (imap_atom_eq(a, al, "EXPUNGE"))
		ev->type = IMAP_EV_EXPUNGE;
	else if (imap_atom_eq(a, al, "RECENT"))
		ev->type = IMAP_EV_RECENT;
	else
		return 0;
	ev->u.num = n;
	return imap_tok_eof(&t) ? 0 : -1;
}

static int untagged(struct imap_event *ev, const char *text, size_t len)
{
	struct imap_tok t;
	const char *a;
	size_t al;

	if (len && text[0] >= '0' && text[0] <= '9')
		return numbered(ev, text, len);
	imap_tok_init(&t, text, len);
	if (imap_tok_atom(&t, &a, &al) < 0)
		return 0;
	if (state_parse(&ev->u.state, &(struct imap_tok){text, text + len}) == 0) {
		ev->type = IMAP_EV_STATE;
		return 0;
	}
	if (imap_atom_eq(a, al, "VANISHED")) {
		ev->type = IMAP_EV_VANISHED;
		return vanished_parse(&ev->u.vanished, &t);
	}
	int enabled = imap_atom_eq(a, al, "ENABLED");

	if (enabled || imap_atom_eq(a, al, "CAPABILITY")) {
		ev->type = enabled ? IMAP_EV_ENABLED : IMAP_EV_CAPABILITY;
		if (imap_tok_sp(&t) == 0)
			ev->u.caps.words = span(t.p, t.end);
		ev->u.caps.bits = imap_caps_bits(ev->u.caps.words.p, ev->u.caps.words.len);
		return 0;
	}
	if (imap_atom_eq(a, al, "FLAGS")) {
		ev->type = IMAP_EV_FLAGS;
		if (imap_tok_sp(&t) < 0 || imap_tok_peek(&t) != '(')
			return -1;
		const char *s = t.p + 1;

		if (imap_tok_skip(&t) < 0)
			return -1;
		ev->u.text = span(s, t.p - 1);
		return 0;
	}
	int lsub = imap_atom_eq(a, al, "LSUB");

	if (lsub || imap_atom_eq(a, al, "LIST")) {
		ev->type = IMAP_EV_LIST;
		ev->u.list.lsub = lsub;
		return imap_tok_sp(&t) < 0 ? -1 : list_parse(ev, &t);
	}
	if (imap_atom_eq(a, al, "STATUS")) {
		ev->type = IMAP_EV_STATUS;
		return imap_tok_sp(&t) < 0 ? -1 : status_parse(ev, &t);
	}
	return 0;
}

int imap_event_parse(const char *text, size_t len, struct imap_event *ev)
{
	struct imap_tok t;
	int r;

	memset(ev, 0, sizeof(*ev));
	imap_tok_init(&t, text, len);
	if (len >= 2 && text[0] == '*' && text[1] == ' ') {
		ev->raw = span(text + 2, text + len);
		r = untagged(ev, text + 2, len - 2);
	} else if (len >= 1 && text[0] == '+') {
		ev->type = IMAP_EV_CONTINUE;
		ev->raw = ev->u.text = span(text + (len > 1 && text[1] == ' ' ? 2 : 1), text + len);
		r = 0;
	} else if (imap_tok_atom(&t, &ev->tag.p, &ev->tag.len) == 0 &&
		   imap_tok_char(&t, ' ') == 0 && memchr(ev->tag.p, '[', ev->tag.len) == NULL) {
		ev->tagged = 1;
		ev->type = IMAP_EV_STATE;
		ev->raw = span(t.p, t.end);
		r = state_parse(&ev->u.state, &t);
		if (r == 0 && ev->u.state.cond > IMAP_COND_BAD)
			r = -1; /* BYE and PREAUTH are never tagged */
	} else {
		r = -1;
	}
	if (r < 0)
		ev->bad = 1;
	return r;
}

void imap_event_free(struct imap_event *ev)
{
	free(ev->buf);
	ev->buf = NULL;
}

/* ------------------------------------------------------------ literals */

int imap_body_announce(const char *text, size_t len, unsigned long long *seq_r,
		       unsigned long long *uid_r, int *has_uid_r)
{
	struct imap_tok t;
	const char *a;
	size_t al;

	*has_uid_r = 0;
	imap_tok_init(&t, text, len);
	if (imap_tok_char(&t, '*') < 0 || imap_tok_sp(&t) < 0 || imap_tok_number(&t, seq_r) < 0 ||
	    imap_tok_sp(&t) < 0 || imap_tok_atom(&t, &a, &al) < 0 ||
	    !imap_atom_eq(a, al, "FETCH") || imap_tok_sp(&t) < 0 || imap_tok_char(&t, '(') < 0)
		return 0;
	while (imap_tok_atom(&t, &a, &al) == 0 && imap_tok_sp(&t) == 0) {
		if (imap_atom_eq(a, al, "BODY[]")) {
			unsigned long long n;

			/* The literal's own "{N}" or "{N+}" ends the text. */
			if (imap_tok_char(&t, '{') < 0 || imap_tok_number(&t, &n) < 0)
				return 0;
			imap_tok_char(&t, '+');
			return imap_tok_char(&t, '}') == 0 && imap_tok_eof(&t);
		}
		if (imap_atom_eq(a, al, "UID")) {
			if (imap_tok_number(&t, uid_r) < 0)
				return 0;
			*has_uid_r = 1;
		} else if (imap_tok_skip(&t) < 0) {
			return 0;
		}
		if (imap_tok_peek(&t) == ' ')
			imap_tok_sp(&t);
	}
	return 0;
}
