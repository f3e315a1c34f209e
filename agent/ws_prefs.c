/*
 * ws_prefs - the prefs.js line parser and the JS string codec
 * (ws_prefs.h). The accounts and the rewrite are in ws_prefs_acct.c.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ws_prefs.h"
#include "xalloc.h"

/* A cursor over one line. */
struct lx {
	const char *p, *end;
};

static void skip_ws(struct lx *x)
{
	while (x->p < x->end && (*x->p == ' ' || *x->p == '\t' || *x->p == '\r'))
		x->p++;
}

static int eat(struct lx *x, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(x->end - x->p) < n || memcmp(x->p, word, n) != 0)
		return 0;
	x->p += n;
	return 1;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int hexn(struct lx *x, int n, unsigned *v)
{
	int i, h;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (x->p >= x->end || (h = hexval((unsigned char)*x->p)) < 0)
			return -1;
		*v = *v * 16 + (unsigned)h;
		x->p++;
	}
	return 0;
}

static size_t utf8_put(unsigned cp, char *o)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* \uD83D\uDE00: a surrogate pair is one code point; a lone surrogate is
 * not text, so the string is refused. */
static int esc_u(struct lx *x, unsigned *cp)
{
	unsigned lo;

	if (hexn(x, 4, cp) < 0 || (*cp >= 0xdc00 && *cp < 0xe000))
		return -1;
	if (*cp < 0xd800 || *cp >= 0xdc00)
		return 0;
	if (!eat(x, "\\u") || hexn(x, 4, &lo) < 0 || lo < 0xdc00 || lo >= 0xe000)
		return -1;
	*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
	return 0;
}

static int escape(struct lx *x, char *o, size_t *n)
{
	static const char from[] = "nrtbfv0", to[] = "\n\r\t\b\f\v";
	const char *s;
	unsigned cp;
	int c;

	if (x->p >= x->end)
		return -1;
	c = (unsigned char)*x->p++;
	if (c == '\0')
		return -1; /* a NUL would cut the value short */
	if (c == 'x' || c == 'u') {
		if ((c == 'x' ? hexn(x, 2, &cp) : esc_u(x, &cp)) < 0 || cp == 0)
			return -1;
		*n += utf8_put(cp, o + *n);
		return 0;
	}
	if ((s = strchr(from, c)) != NULL) {
		if (c == '0')
			return -1; /* a NUL would cut the value short */
		o[(*n)++] = to[s - from];
		return 0;
	}
	o[(*n)++] = (char)c; /* \" \' \\ and JS's identity escapes */
	return 0;
}

/* str: a JS string literal at X into *OUT (caller frees), or -1. */
static int str(struct lx *x, char **out)
{
	char q, *o;
	size_t n = 0;

	if (x->p >= x->end || (*x->p != '"' && *x->p != '\''))
		return -1;
	q = *x->p++;
	/* Never longer decoded than written: \xHH gives at most 2 bytes,
	 * \uXXXX 3, a surrogate pair (12 bytes) 4. */
	o = xmalloc((size_t)(x->end - x->p) + 1);
	while (x->p < x->end && *x->p != q && *x->p != '\n' && *x->p != '\0') {
		if (*x->p != '\\') {
			o[n++] = *x->p++;
			continue;
		}
		x->p++;
		if (escape(x, o, &n) < 0) {
			x->p = x->end; /* refused: the test below fails */
			break;
		}
	}
	if (x->p >= x->end || *x->p != q) {
		free(o);
		return -1;
	}
	x->p++;
	o[n] = '\0';
	*out = o;
	return 0;
}

static int value(struct lx *x, struct wsp_line *l)
{
	const char *s = x->p;
	long long v = 0;
	int neg = 0;

	if (x->p < x->end && (*x->p == '"' || *x->p == '\'')) {
		if (str(x, &l->str) < 0)
			return -1;
		l->type = WSP_STR;
	} else if (eat(x, "true") || eat(x, "false")) {
		l->type = WSP_BOOL;
		l->num = *s == 't';
	} else {
		if (x->p < x->end && (*x->p == '-' || *x->p == '+'))
			neg = *x->p++ == '-';
		if (x->p >= x->end || *x->p < '0' || *x->p > '9')
			return -1;
		while (x->p < x->end && *x->p >= '0' && *x->p <= '9') {
			v = v * 10 + (*x->p++ - '0');
			if (v > (long long)INT_MAX + 1)
				return -1;
		}
		if (neg)
			v = -v;
		if (v > INT_MAX)
			return -1;
		l->type = WSP_INT;
		l->num = v;
	}
	l->vlen = (size_t)(x->p - s);
	return 0;
}

/* pref_line: the line [X) as a preference into L, or -1 (L untouched
 * but for memory freed). */
static int pref_line(struct lx *x, const char *text, struct wsp_line *l)
{
	char *key = NULL;

	skip_ws(x);
	if (!eat(x, "user_pref") && !eat(x, "pref") && !eat(x, "sticky_pref"))
		return -1;
	skip_ws(x);
	if (!eat(x, "(") || (skip_ws(x), str(x, &key)) < 0)
		return -1;
	skip_ws(x);
	if (!eat(x, ","))
		goto bad;
	skip_ws(x);
	if (value(x, l) < 0)
		goto bad;
	l->voff = (size_t)(x->p - text) - l->vlen;
	skip_ws(x);
	if (!eat(x, ")") || (skip_ws(x), !eat(x, ";")))
		goto bad;
	skip_ws(x);
	if (x->p < x->end && !eat(x, "//"))
		goto bad;
	l->key = key;
	return 0;
bad:
	free(key);
	free(l->str);
	l->str = NULL;
	l->type = WSP_OTHER;
	return -1;
}

/* in_comment: whether a block comment is open after the line [S, E),
 * given OPEN before it. Strings are not tracked: a line that is not a
 * preference is kept verbatim whatever it holds, and a preference line
 * cannot open a comment (pref_line takes only a trailing "//"). */
static int in_comment(const char *s, const char *e, int open)
{
	const char *p;

	for (p = s; p + 1 < e; p++) {
		if (!open && p[0] == '/' && p[1] == '/')
			return 0;
		if (!open && p[0] == '/' && p[1] == '*') {
			open = 1;
			p++;
		} else if (open && p[0] == '*' && p[1] == '/') {
			open = 0;
			p++;
		}
	}
	return open;
}

static struct wsp_line *push(struct ws_prefs *p)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 64;
		p->v = xrealloc(p->v, p->cap * sizeof(*p->v));
	}
	memset(&p->v[p->n], 0, sizeof(p->v[p->n]));
	return &p->v[p->n++];
}

void ws_prefs_parse(const char *text, size_t len, struct ws_prefs *p)
{
	size_t off = 0, n;
	const char *nl;
	int open = 0;
	struct wsp_line *l;
	struct lx x;

	memset(p, 0, sizeof(*p));
	p->text = xmalloc(len + 1);
	memcpy(p->text, text, len);
	p->text[len] = '\0';
	p->len = len;
	while (off < len) {
		nl = memchr(p->text + off, '\n', len - off);
		n = nl ? (size_t)(nl - p->text) + 1 - off : len - off;
		l = push(p);
		l->off = off;
		l->len = n;
		x.p = p->text + off;
		x.end = p->text + off + n - (nl != NULL);
		if (open || pref_line(&x, p->text, l) < 0)
			open = in_comment(p->text + off, x.end, open);
		off += n;
	}
}

void ws_prefs_free(struct ws_prefs *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		free(p->v[i].key);
		free(p->v[i].str);
	}
	free(p->v);
	free(p->text);
	memset(p, 0, sizeof(*p));
}

const struct wsp_line *ws_prefs_find(const struct ws_prefs *p, const char *key)
{
	size_t i;

	for (i = p->n; i-- > 0;)
		if (p->v[i].type != WSP_OTHER && strcmp(p->v[i].key, key) == 0)
			return &p->v[i];
	return NULL;
}

char *ws_js_string(const char *s)
{
	char *o = xmalloc(2 * strlen(s) + 3), *q = o;

	*q++ = '"';
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			*q++ = '\\';
		if (*s == '\n' || *s == '\r') {
			*q++ = '\\';
			*q++ = *s == '\n' ? 'n' : 'r';
			continue;
		}
		*q++ = *s;
	}
	*q++ = '"';
	*q = '\0';
	return o;
}
