#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap_parse.h"
#include "xalloc.h"

#define DEF_MAX_RESPONSE (1024 * 1024)
#define DEF_MAX_INLINE (64 * 1024)
#define DEF_MAX_LITERAL (4ULL * 1024 * 1024 * 1024)

enum { ST_LINE, ST_INLINE, ST_STREAM, ST_ERR = -1 };

void imap_parser_init(struct imap_parser *p, const struct imap_parser_cb *cb, void *ctx,
		      size_t max_response, size_t max_inline, uint64_t max_literal)
{
	memset(p, 0, sizeof(*p));
	p->cb = *cb;
	p->ctx = ctx;
	p->max_response = max_response ? max_response : DEF_MAX_RESPONSE;
	p->max_inline = max_inline ? max_inline : DEF_MAX_INLINE;
	p->max_literal = max_literal ? max_literal : DEF_MAX_LITERAL;
	p->cap = 256;
	p->buf = xmalloc(p->cap);
}

void imap_parser_free(struct imap_parser *p)
{
	free(p->buf);
	p->buf = NULL;
	p->len = p->cap = 0;
}

int imap_parser_idle(const struct imap_parser *p)
{
	return p->state == ST_LINE && p->len == 0;
}

static int fail(struct imap_parser *p, const char *why)
{
	if (p->state != ST_ERR)
		snprintf(p->err, sizeof(p->err), "%s", why);
	p->state = ST_ERR;
	return -1;
}

/* append: N bytes to the response text, within max_response (+1 NUL). */
static int append(struct imap_parser *p, const char *d, size_t n)
{
	if (p->len + n > p->max_response)
		return fail(p, "response too long");
	if (p->len + n + 1 > p->cap) {
		size_t cap = p->cap;

		while (cap < p->len + n + 1)
			cap *= 2;
		if (cap > p->max_response + 1)
			cap = p->max_response + 1;
		p->buf = xrealloc(p->buf, cap);
		p->cap = cap;
	}
	memcpy(p->buf + p->len, d, n);
	p->len += n;
	return 0;
}

/*
 * literal_size: does the line [line_start, len) end with {N} or {N+}?
 * 1 with *n_r, 0 if not, -1 on a malformed or over-long length.
 */
static int literal_size(struct imap_parser *p, uint64_t *n_r)
{
	size_t i = p->len;
	const char *b = p->buf;

	if (i == p->line_start || b[i - 1] != '}')
		return 0;
	i--;
	if (i > p->line_start && b[i - 1] == '+')
		i--;
	size_t digits_end = i;

	while (i > p->line_start && b[i - 1] >= '0' && b[i - 1] <= '9')
		i--;
	if (i == p->line_start || b[i - 1] != '{')
		return 0;
	if (i == digits_end)
		return fail(p, "literal without a length");
	if (digits_end - i > 15)
		return fail(p, "literal length too long");
	uint64_t n = 0;

	for (size_t k = i; k < digits_end; k++)
		n = n * 10 + (uint64_t)(b[k] - '0');
	if (n > p->max_literal)
		return fail(p, "literal too large");
	*n_r = n;
	return 1;
}

static int end_of_line(struct imap_parser *p)
{
	uint64_t n;
	int r = literal_size(p, &n);

	if (r < 0)
		return -1;
	if (r == 0) {
		int rc = 0;

		p->buf[p->len] = '\0';
		if (p->cb.on_response)
			rc = p->cb.on_response(p->ctx, p->buf, p->len);
		if (p->state == ST_ERR)
			return -1;
		p->len = p->line_start = 0;
		if (rc < 0)
			return fail(p, "response rejected");
		return 0;
	}
	int how = IMAP_LIT_INLINE;

	p->buf[p->len] = '\0';
	if (p->cb.on_literal)
		how = p->cb.on_literal(p->ctx, p->buf, p->len, n);
	if (how < 0)
		return fail(p, "literal rejected");
	p->lit_left = n;
	if (how == IMAP_LIT_STREAM) {
		/* Drop "{N}" (and a '+'): the text gets NIL in its place. */
		while (p->len > 0 && p->buf[p->len - 1] != '{')
			p->len--;
		p->len--;
		if (append(p, "NIL", 3) < 0)
			return -1;
		p->state = ST_STREAM;
		if (n == 0) {
			p->state = ST_LINE;
			if (p->cb.on_data && p->cb.on_data(p->ctx, "", 0, 1) < 0)
				return fail(p, "literal data rejected");
		}
	} else {
		if (n > p->max_inline)
			return fail(p, "literal too large to keep");
		if (append(p, "\r\n", 2) < 0)
			return -1;
		p->state = n ? ST_INLINE : ST_LINE;
	}
	p->line_start = p->len;
	return 0;
}

int imap_parser_feed(struct imap_parser *p, const char *data, size_t n)
{
	size_t i = 0;

	while (i < n) {
		switch (p->state) {
		case ST_ERR:
			return -1;
		case ST_STREAM: {
			size_t k = n - i < p->lit_left ? n - i : (size_t)p->lit_left;

			p->lit_left -= k;
			if (p->cb.on_data && p->cb.on_data(p->ctx, data + i, k, p->lit_left == 0) < 0)
				return fail(p, "literal data rejected");
			if (p->state == ST_ERR)
				return -1;
			i += k;
			if (p->lit_left == 0)
				p->state = ST_LINE;
			break;
		}
		case ST_INLINE: {
			size_t k = n - i < p->lit_left ? n - i : (size_t)p->lit_left;

			if (append(p, data + i, k) < 0)
				return -1;
			p->lit_left -= k;
			i += k;
			if (p->lit_left == 0) {
				p->state = ST_LINE;
				p->line_start = p->len;
			}
			break;
		}
		case ST_LINE: {
			/* Copy up to the next LF in one go. */
			const char *lf = memchr(data + i, '\n', n - i);
			size_t stop = lf ? (size_t)(lf - data) : n;

			for (size_t k = i; k < stop; k++) {
				if (data[k] == '\0')
					return fail(p, "NUL in response");
				if (p->cr)
					return fail(p, "bare CR in response");
				if (data[k] == '\r')
					p->cr = 1;
				else if (append(p, data + k, 1) < 0)
					return -1;
			}
			i = stop;
			if (lf) {
				i++;
				p->cr = 0;
				if (end_of_line(p) < 0)
					return -1;
			}
			break;
		}
		}
	}
	return p->state == ST_ERR ? -1 : 0;
}

/* ------------------------------------------------------------ tokens */

void imap_tok_init(struct imap_tok *t, const char *text, size_t len)
{
	t->p = text;
	t->end = text + len;
}

int imap_tok_eof(const struct imap_tok *t)
{
	return t->p >= t->end;
}

int imap_tok_peek(const struct imap_tok *t)
{
	return t->p < t->end ? (unsigned char)*t->p : -1;
}

int imap_tok_char(struct imap_tok *t, char c)
{
	if (t->p >= t->end || *t->p != c)
		return -1;
	t->p++;
	return 0;
}

int imap_tok_sp(struct imap_tok *t)
{
	if (t->p >= t->end || *t->p != ' ')
		return -1;
	while (t->p < t->end && *t->p == ' ')
		t->p++;
	return 0;
}

static int atom_char(unsigned char c)
{
	return c > ' ' && c != 0x7f && c != '(' && c != ')' && c != '{' && c != '"' &&
	       c != ']';
}

int imap_atom_eq(const char *p, size_t len, const char *word)
{
	return strlen(word) == len && strncasecmp(p, word, len) == 0;
}

int imap_tok_atom(struct imap_tok *t, const char **p_r, size_t *len_r)
{
	const char *s = t->p;
	int depth = 0;

	/* A leading '[' opens a response code: "[UIDVALIDITY". */
	if (t->p < t->end && *t->p == '[')
		t->p++;
	while (t->p < t->end) {
		unsigned char c = (unsigned char)*t->p;

		if (c == '[') {
			depth++;
		} else if (c == ']') {
			/* "BODY[]", "BODY[HEADER.FIELDS (X)]": part of the atom. */
			if (depth == 0)
				break;
			depth--;
		} else if (depth > 0) {
			if (c < ' ' || c == 0x7f)
				break;
		} else if (!atom_char(c)) {
			break;
		}
		t->p++;
	}
	if (depth != 0 || t->p == s) {
		t->p = s;
		return -1;
	}
	*p_r = s;
	*len_r = (size_t)(t->p - s);
	return 0;
}

int imap_tok_number(struct imap_tok *t, unsigned long long *n_r)
{
	const char *s = t->p;
	unsigned long long n = 0;

	while (t->p < t->end && *t->p >= '0' && *t->p <= '9') {
		unsigned d = (unsigned)(*t->p - '0');

		/* Exact: 2^63-1 (a mod-sequence's top) passes, 2^63 does not. */
		if (n > (UINT64_C(0x7fffffffffffffff) - d) / 10) {
			t->p = s;
			return -1;
		}
		n = n * 10 + d;
		t->p++;
	}
	if (t->p == s)
		return -1;
	*n_r = n;
	return 0;
}

/* literal: "{N}\r\n" + N bytes (as kept inline by the reader). */
static int literal(struct imap_tok *t, const char **p_r, size_t *len_r)
{
	const char *s = t->p;
	unsigned long long n;

	if (imap_tok_char(t, '{') < 0 || imap_tok_number(t, &n) < 0)
		goto bad;
	if (t->p < t->end && *t->p == '+')
		t->p++;
	if (imap_tok_char(t, '}') < 0 || imap_tok_char(t, '\r') < 0 || imap_tok_char(t, '\n') < 0)
		goto bad;
	if (n > (unsigned long long)(t->end - t->p))
		goto bad;
	*p_r = t->p;
	*len_r = (size_t)n;
	t->p += n;
	return 0;
bad:
	t->p = s;
	return -1;
}

int imap_tok_string(struct imap_tok *t, char *out, size_t size, size_t *len_r, int *nil_r)
{
	const char *s = t->p, *p;
	size_t n = 0, len;

	*nil_r = 0;
	if (size == 0)
		return -1;
	if (t->p < t->end && *t->p == '"') {
		t->p++;
		while (t->p < t->end && *t->p != '"') {
			char c = *t->p++;

			if (c == '\\') {
				if (t->p == t->end)
					goto bad;
				c = *t->p++;
			}
			if (c == '\r' || c == '\n' || n + 1 >= size)
				goto bad;
			out[n++] = c;
		}
		if (imap_tok_char(t, '"') < 0)
			goto bad;
	} else if (t->p < t->end && *t->p == '{') {
		if (literal(t, &p, &len) < 0 || len + 1 > size)
			goto bad;
		memcpy(out, p, len);
		n = len;
	} else {
		if (imap_tok_atom(t, &p, &len) < 0 || len + 1 > size)
			goto bad;
		if (imap_atom_eq(p, len, "NIL"))
			*nil_r = 1;
		else {
			memcpy(out, p, len);
			n = len;
		}
	}
	out[n] = '\0';
	*len_r = n;
	return 0;
bad:
	t->p = s;
	return -1;
}

int imap_tok_skip(struct imap_tok *t)
{
	const char *s = t->p, *p;
	size_t len;
	int depth = 0;

	do {
		if (t->p >= t->end)
			goto bad;
		switch (*t->p) {
		case '(':
			depth++;
			t->p++;
			break;
		case ')':
			if (depth == 0)
				goto bad;
			depth--;
			t->p++;
			break;
		case ' ':
			if (depth == 0)
				goto bad;
			t->p++;
			break;
		case '"':
			t->p++;
			while (t->p < t->end && *t->p != '"') {
				if (*t->p == '\\' && t->p + 1 < t->end)
					t->p++;
				t->p++;
			}
			if (t->p >= t->end)
				goto bad;
			t->p++;
			break;
		case '{':
			if (literal(t, &p, &len) < 0)
				goto bad;
			break;
		default:
			if (imap_tok_atom(t, &p, &len) < 0)
				goto bad;
			break;
		}
	} while (depth > 0);
	return 0;
bad:
	t->p = s;
	return -1;
}

/* ------------------------------------------------------------ FETCH */

int imap_fetch_parse(const char *text, size_t len, struct imap_fetch *fi)
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
			/* No limit but the response's: a user may have thousands of keywords. */
			fi->flags = s + 1;
			fi->flags_len = (size_t)(t.p - s) - 2;
			/* Flags are atoms: a literal or a quoted string here (CR LF
			 * inside) would reach the target's APPEND or STORE line. */
			for (size_t i = 0; i < fi->flags_len; i++)
				if ((unsigned char)fi->flags[i] < 0x20 || fi->flags[i] == 0x7f ||
				    strchr("\"{(", fi->flags[i]))
					return -1;
			fi->has_flags = 1;
		} else if (imap_atom_eq(a, al, "INTERNALDATE")) {
			size_t n;
			int nil;

			if (imap_tok_string(&t, fi->date, sizeof(fi->date), &n, &nil) < 0 || nil ||
			    n < 20 || strpbrk(fi->date, "\"\\\r\n") != NULL)
				return -1;
			fi->has_date = 1;
		} else if (imap_atom_eq(a, al, "MODSEQ")) {
			/* "MODSEQ (n)": one positive 63-bit number (RFC 7162). Any
			 * other value is skipped as before and only marked: the copy
			 * never asks for it and must not fail on it. */
			struct imap_tok v = t;
			unsigned long long n;

			if (imap_tok_char(&v, '(') == 0 && imap_tok_number(&v, &n) == 0 &&
			    imap_tok_char(&v, ')') == 0 && n > 0) {
				fi->modseq = n;
				fi->has_modseq = 1;
				t = v;
			} else {
				fi->modseq_bad = 1;
				if (imap_tok_skip(&t) < 0)
					return -1;
			}
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

/* ------------------------------------------------------------ flags, dates */

struct word {
	const char *p;
	size_t n;
};

static int cmp_word(const void *a, const void *b)
{
	const struct word *x = a, *y = b;
	size_t n = x->n < y->n ? x->n : y->n;
	int c = strncasecmp(x->p, y->p, n);

	return c ? c : x->n < y->n ? -1 : x->n > y->n;
}

int imap_word(const char **p, const char *end, const char **w_r, size_t *wl_r)
{
	const char *s = *p;

	while (s < end && *s == ' ')
		s++;
	*w_r = s;
	while (s < end && *s != ' ')
		s++;
	*wl_r = (size_t)(s - *w_r);
	*p = s;
	return *wl_r > 0;
}

/* words: the flags of S/LEN but \Recent, sorted, duplicates dropped. */
static struct word *words(const char *s, size_t len, size_t *n_r)
{
	struct word *w = xmalloc((len / 2 + 1) * sizeof(*w));
	const char *end = s + len, *a;
	size_t n = 0, k = 0, al;

	while (imap_word(&s, end, &a, &al))
		if (!imap_atom_eq(a, al, "\\Recent"))
			w[n++] = (struct word){a, al};
	if (n)
		qsort(w, n, sizeof(*w), cmp_word);
	for (size_t i = 0; i < n; i++)
		if (k == 0 || cmp_word(&w[k - 1], &w[i]) != 0)
			w[k++] = w[i];
	*n_r = k;
	return w;
}

/* list_add: append P/N to OUT (SIZE), "..." once it is full. */
static void list_add(char *out, size_t size, const char *p, size_t n)
{
	size_t len = strlen(out);

	if (len + n + 5 < size)
		snprintf(out + len, size - len, "%s%.*s", len ? " " : "", (int)n, p);
	else if (len + 4 < size && (len < 3 || strcmp(out + len - 3, "...") != 0))
		snprintf(out + len, size - len, " ...");
}

int imap_flags_diff(const char *want, size_t want_len, const char *got, size_t got_len,
		    char *missing, char *extra, size_t size)
{
	size_t nw, ng, i = 0, k = 0;
	struct word *w = words(want, want_len, &nw), *g = words(got, got_len, &ng);
	int diffs = 0;

	missing[0] = extra[0] = '\0';
	while (i < nw || k < ng) {
		int c = i == nw ? 1 : k == ng ? -1 : cmp_word(&w[i], &g[k]);

		if (c == 0) {
			i++;
			k++;
			continue;
		}
		diffs++;
		if (c < 0) {
			list_add(missing, size, w[i].p, w[i].n);
			i++;
		} else {
			list_add(extra, size, g[k].p, g[k].n);
			k++;
		}
	}
	free(w);
	free(g);
	return diffs;
}

int imap_flag_in(const char *list, size_t len, const char *flag, size_t flen)
{
	const char *end = list + len, *w;
	size_t wl;

	while (imap_word(&list, end, &w, &wl))
		if (wl == flen && strncasecmp(w, flag, flen) == 0)
			return 1;
	return 0;
}

int imap_date_parse(const char *s, long long *t_r)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	int d, y, hh, mm, ss, z, n = 0;
	char mon[4], sign;

	if (s[0] == ' ')
		s++; /* " 1-Jan-2020": date-day-fixed */
	if (sscanf(s, "%2d-%3[A-Za-z]-%4d %2d:%2d:%2d %c%4d%n", &d, mon, &y, &hh, &mm, &ss, &sign,
		   &z, &n) != 8 ||
	    s[n] != '\0' || (sign != '+' && sign != '-'))
		return -1;
	const char *m = strcasestr(months, mon);

	if (m == NULL || (m - months) % 3 || strlen(mon) != 3 || d < 1 || d > 31 || y < 1900 ||
	    hh > 23 || mm > 59 || ss > 60 || hh < 0 || mm < 0 || ss < 0 || z < 0 || z % 100 > 59 ||
	    z > 2400)
		return -1;
	int mo = (int)(m - months) / 3 + 1;
	/* Days from 1970-01-01 to Y-MO-D (civil calendar, no time zone library). */
	long long yy = y - (mo <= 2), era = yy / 400;
	long long yoe = yy - era * 400, doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long long days = era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
	long long off = (z / 100 * 60 + z % 100) * 60;

	*t_r = days * 86400 + hh * 3600 + mm * 60 + ss - (sign == '+' ? off : -off);
	return 0;
}
