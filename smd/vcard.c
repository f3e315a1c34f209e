/*
 * vcard - content lines: reading (unfolding, groups, parameters, RFC 6868)
 * and writing (folding). See vcard.h.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vcard.h"
#include "xalloc.h"

/* More parameters on one line than any real card has: refused, so a hostile
 * line of ";a;a;a..." cannot cost an allocation per byte. */
#define VC_MAX_PARAMS 256

void vc_buf_add(struct vc_buf *b, const void *d, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < b->n + n + 1)
			cap *= 2;
		b->p = xrealloc(b->p, cap);
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->n, d, n);
	b->n += n;
	b->p[b->n] = '\0';
}

void vc_buf_adds(struct vc_buf *b, const char *s)
{
	vc_buf_add(b, s, strlen(s));
}

void vc_buf_addc(struct vc_buf *b, char c)
{
	vc_buf_add(b, &c, 1);
}

void vc_buf_free(struct vc_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->n = b->cap = 0;
}

int vc_utf8_ok(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + n;

	while (p < e) {
		unsigned c = *p++, need, min, cp;

		if (c < 0x80)
			continue;
		if (c >= 0xc2 && c <= 0xdf)
			need = 1, min = 0x80, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2, min = 0x800, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3, min = 0x10000, cp = c & 0x07;
		else
			return 0;
		if ((size_t)(e - p) < need)
			return 0;
		for (; need > 0; need--, p++) {
			if ((*p & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (*p & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
	}
	return 1;
}

static void set_err(char **err_r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(char **err_r, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = xstrdup("out of memory");
	va_end(ap);
	free(*err_r);
	*err_r = s;
}

/* next_line: the logical line starting at *POS unfolded into B (CRLF, LF or
 * CR followed by a space or tab continues it); *POS moved past it, *PHYS
 * counts physical lines. 0 at the end of TEXT. */
static int next_line(const char *t, size_t len, size_t *pos, struct vc_buf *b, unsigned *phys)
{
	size_t i = *pos;

	b->n = 0;
	if (i >= len)
		return 0;
	for (;;) {
		size_t s = i;

		while (i < len && t[i] != '\r' && t[i] != '\n')
			i++;
		vc_buf_add(b, t + s, i - s);
		(*phys)++;
		if (i < len && t[i] == '\r')
			i++;
		if (i < len && t[i] == '\n')
			i++;
		if (i >= len || (t[i] != ' ' && t[i] != '\t'))
			break;
		i++; /* a fold: the line goes on after one space */
	}
	*pos = i;
	return 1;
}

/* is_qp_soft: LINE (a 2.1 quoted-printable property) ends with a soft break. */
static int is_qp_soft(const struct vc_buf *l)
{
	const char *colon;
	size_t hn;

	if (l->n == 0 || l->p[l->n - 1] != '=')
		return 0;
	colon = memchr(l->p, ':', l->n);
	if (!colon)
		return 0;
	hn = (size_t)(colon - l->p);
	for (size_t i = 0; i + 16 <= hn; i++)
		if (strncasecmp(l->p + i, "QUOTED-PRINTABLE", 16) == 0)
			return 1;
	return 0;
}

static int name_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_';
}

static char *upper_dup(const char *s, size_t n)
{
	char *r = xstrndup(s, n);

	for (char *p = r; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	return r;
}

/* decode6868: a parameter value (N bytes) with ^n ^^ ^' decoded; any other
 * ^ kept as it is, as RFC 6868 says. */
static char *decode6868(const char *s, size_t n)
{
	struct vc_buf b = {0};

	vc_buf_add(&b, "", 0);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '^' && i + 1 < n && (s[i + 1] == 'n' || s[i + 1] == 'N')) {
			vc_buf_addc(&b, '\n');
			i++;
		} else if (s[i] == '^' && i + 1 < n && s[i + 1] == '^') {
			vc_buf_addc(&b, '^');
			i++;
		} else if (s[i] == '^' && i + 1 < n && s[i + 1] == '\'') {
			vc_buf_addc(&b, '"');
			i++;
		} else {
			vc_buf_addc(&b, s[i]);
		}
	}
	return b.p;
}

static struct vc_param *param_new(struct vc_prop *p, const char *name, size_t n)
{
	struct vc_param *r;

	p->p = xrealloc(p->p, (p->np + 1) * sizeof(*p->p));
	r = &p->p[p->np++];
	r->name = upper_dup(name, n);
	r->v = NULL;
	r->nv = 0;
	return r;
}

static void value_add(struct vc_param *pa, char *v)
{
	pa->v = xrealloc(pa->v, (pa->nv + 1) * sizeof(*pa->v));
	pa->v[pa->nv++] = v;
}

static const char *const encoding_words[] = {"QUOTED-PRINTABLE", "BASE64", "8BIT", "7BIT", NULL};

/* bare_param: a 2.1 word without '=' (TEL;HOME;VOICE) as TYPE or ENCODING. */
static void bare_param(struct vc_prop *p, const char *w, size_t n)
{
	const char *name = "TYPE";

	for (int i = 0; encoding_words[i]; i++)
		if (strlen(encoding_words[i]) == n && strncasecmp(w, encoding_words[i], n) == 0)
			name = "ENCODING";
	struct vc_param *pa = vc_param_get(p, name);

	value_add(pa ? pa : param_new(p, name, strlen(name)), xstrndup(w, n));
}

/* param_values: the values of one parameter from L[*I] (after '='), up to
 * the ';' or ':' that ends them. 0, or -1 with *ERR_R. */
static int param_values(const char *l, size_t n, size_t *i, struct vc_param *pa, char **err_r)
{
	for (;;) {
		size_t s;

		if (*i < n && l[*i] == '"') {
			s = ++*i;
			while (*i < n && l[*i] != '"')
				(*i)++;
			if (*i >= n) {
				set_err(err_r, "unterminated quoted parameter value");
				return -1;
			}
			value_add(pa, decode6868(l + s, *i - s));
			(*i)++;
		} else {
			s = *i;
			while (*i < n && l[*i] != ';' && l[*i] != ':' && l[*i] != ',')
				(*i)++;
			value_add(pa, decode6868(l + s, *i - s));
		}
		if (*i >= n || l[*i] != ',')
			return 0;
		(*i)++;
	}
}

/* parse_params: the ";name=value" list of L from *I to the ':'. */
static int parse_params(const char *l, size_t n, size_t *i, struct vc_prop *p, char **err_r)
{
	while (*i < n && l[*i] == ';') {
		size_t s = ++*i;

		while (*i < n && name_char(l[*i]))
			(*i)++;
		if (*i == s) {
			set_err(err_r, "a parameter without a name");
			return -1;
		}
		if (p->np >= VC_MAX_PARAMS) {
			set_err(err_r, "more than %d parameters", VC_MAX_PARAMS);
			return -1;
		}
		if (*i < n && l[*i] == '=') {
			struct vc_param *pa = param_new(p, l + s, *i - s);

			(*i)++;
			if (param_values(l, n, i, pa, err_r) < 0)
				return -1;
		} else {
			bare_param(p, l + s, *i - s);
		}
	}
	return 0;
}

/* parse_line: one logical line L (N bytes) into P. 0, or -1 with *ERR_R. */
static int parse_line(const char *l, size_t n, struct vc_prop *p, char **err_r)
{
	size_t i = 0, s;

	while (i < n && name_char(l[i]))
		i++;
	if (i < n && l[i] == '.' && i > 0) {
		p->group = xstrndup(l, i);
		s = ++i;
		while (i < n && name_char(l[i]))
			i++;
	} else {
		s = 0;
	}
	if (i == s) {
		set_err(err_r, "no property name");
		return -1;
	}
	p->name = upper_dup(l + s, i - s);
	if (parse_params(l, n, &i, p, err_r) < 0)
		return -1;
	if (i >= n || l[i] != ':') {
		set_err(err_r, "no ':' after the property name and parameters");
		return -1;
	}
	i++;
	p->value = xstrndup(l + i, n - i);
	p->vlen = n - i;
	return 0;
}

static struct vc_prop *lines_push(struct vc_lines *out)
{
	if (out->n == out->cap) {
		out->cap = out->cap ? out->cap * 2 : 32;
		out->a = xrealloc(out->a, out->cap * sizeof(*out->a));
	}
	memset(&out->a[out->n], 0, sizeof(out->a[0]));
	return &out->a[out->n++];
}

/* join_qp: a 2.1 quoted-printable value ending with '=' goes on with the
 * next logical line (the soft break); the '=' goes. */
static void join_qp(const char *text, size_t len, size_t *pos, struct vc_buf *l, unsigned *phys)
{
	struct vc_buf next = {0};

	while (is_qp_soft(l)) {
		l->n--;
		if (!next_line(text, len, pos, &next, phys))
			break;
		vc_buf_add(l, next.p, next.n);
	}
	if (l->p)
		l->p[l->n] = '\0';
	vc_buf_free(&next);
}

int vc_parse(const char *text, size_t len, struct vc_lines *out, char **err_r)
{
	struct vc_buf l = {0};
	size_t pos = 0;
	unsigned phys = 0;
	char *why = NULL;

	if (memchr(text, '\0', len)) {
		size_t at = (size_t)((const char *)memchr(text, '\0', len) - text);

		set_err(err_r, "a NUL byte at offset %zu", at);
		return -1;
	}
	while (next_line(text, len, &pos, &l, &phys)) {
		unsigned first = phys;
		struct vc_prop *p;

		join_qp(text, len, &pos, &l, &phys);
		if (l.n == 0 || strspn(l.p, " \t") == l.n)
			continue;
		p = lines_push(out);
		p->line = first;
		if (parse_line(l.p, l.n, p, &why) < 0) {
			set_err(err_r, "line %u: %s", first, why);
			free(why);
			vc_buf_free(&l);
			vc_lines_free(out);
			return -1;
		}
	}
	vc_buf_free(&l);
	return 0;
}

void vc_prop_free(struct vc_prop *p)
{
	for (size_t i = 0; i < p->np; i++) {
		for (size_t j = 0; j < p->p[i].nv; j++)
			free(p->p[i].v[j]);
		free(p->p[i].v);
		free(p->p[i].name);
	}
	free(p->p);
	free(p->group);
	free(p->name);
	free(p->value);
	memset(p, 0, sizeof(*p));
}

void vc_lines_free(struct vc_lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		vc_prop_free(&l->a[i]);
	free(l->a);
	memset(l, 0, sizeof(*l));
}

struct vc_param *vc_param_get(const struct vc_prop *p, const char *name)
{
	for (size_t i = 0; i < p->np; i++)
		if (strcmp(p->p[i].name, name) == 0)
			return &p->p[i];
	return NULL;
}

int vc_param_has(const struct vc_prop *p, const char *name, const char *value)
{
	for (size_t i = 0; i < p->np; i++) {
		if (strcmp(p->p[i].name, name) != 0)
			continue;
		for (size_t j = 0; j < p->p[i].nv; j++)
			if (strcasecmp(p->p[i].v[j], value) == 0)
				return 1;
	}
	return 0;
}

void vc_param_del(struct vc_prop *p, const char *name)
{
	size_t k = 0;

	for (size_t i = 0; i < p->np; i++) {
		if (strcmp(p->p[i].name, name) == 0) {
			for (size_t j = 0; j < p->p[i].nv; j++)
				free(p->p[i].v[j]);
			free(p->p[i].v);
			free(p->p[i].name);
		} else {
			p->p[k++] = p->p[i];
		}
	}
	p->np = k;
}

void vc_param_add(struct vc_prop *p, const char *name, const char *value)
{
	struct vc_param *pa = vc_param_get(p, name);

	if (!pa)
		pa = param_new(p, name, strlen(name));
	value_add(pa, xstrdup(value));
}

void vc_set_value(struct vc_prop *p, const char *v, size_t n)
{
	char *nv = xmalloc(n + 1);

	memcpy(nv, v, n);
	nv[n] = '\0';
	free(p->value);
	p->value = nv;
	p->vlen = n;
}

char *vc_unescape(const char *v, size_t n, size_t *len_r)
{
	struct vc_buf b = {0};

	vc_buf_add(&b, "", 0);
	for (size_t i = 0; i < n; i++) {
		if (v[i] == '\\' && i + 1 < n) {
			i++;
			vc_buf_addc(&b, v[i] == 'n' || v[i] == 'N' ? '\n' : v[i]);
		} else {
			vc_buf_addc(&b, v[i]);
		}
	}
	*len_r = b.n;
	return b.p;
}

/* write_pvalue: one parameter value, RFC 6868-encoded, quoted when it holds
 * a character that would end it. */
static void write_pvalue(struct vc_buf *b, const char *v)
{
	int quote = strpbrk(v, ";:,") != NULL;

	if (quote)
		vc_buf_addc(b, '"');
	for (; *v; v++) {
		if (*v == '^')
			vc_buf_adds(b, "^^");
		else if (*v == '\n')
			vc_buf_adds(b, "^n");
		else if (*v == '"')
			vc_buf_adds(b, "^'");
		else if (*v != '\r')
			vc_buf_addc(b, *v);
	}
	if (quote)
		vc_buf_addc(b, '"');
}

void vc_fold(struct vc_buf *b, const char *l, size_t n)
{
	size_t i = 0, room = 75;

	while (n - i > room) {
		size_t cut = i + room;

		while (cut > i + 1 && ((unsigned char)l[cut] & 0xc0) == 0x80)
			cut--; /* never inside a UTF-8 sequence */
		vc_buf_add(b, l + i, cut - i);
		vc_buf_add(b, "\r\n ", 3);
		i = cut;
		room = 74;
	}
	vc_buf_add(b, l + i, n - i);
	vc_buf_add(b, "\r\n", 2);
}

void vc_write_prop(struct vc_buf *b, const struct vc_prop *p)
{
	struct vc_buf l = {0};

	if (p->group) {
		vc_buf_adds(&l, p->group);
		vc_buf_addc(&l, '.');
	}
	vc_buf_adds(&l, p->name);
	for (size_t i = 0; i < p->np; i++) {
		vc_buf_addc(&l, ';');
		vc_buf_adds(&l, p->p[i].name);
		vc_buf_addc(&l, '=');
		for (size_t j = 0; j < p->p[i].nv; j++) {
			if (j)
				vc_buf_addc(&l, ',');
			write_pvalue(&l, p->p[i].v[j]);
		}
	}
	vc_buf_addc(&l, ':');
	vc_buf_add(&l, p->value, p->vlen);
	vc_fold(b, l.p, l.n);
	vc_buf_free(&l);
}

char *vc_refold(const char *text, size_t len, size_t *len_r)
{
	struct vc_buf out = {0}, l = {0};
	size_t pos = 0;
	unsigned phys = 0;

	vc_buf_add(&out, "", 0);
	while (next_line(text, len, &pos, &l, &phys))
		if (l.n)
			vc_fold(&out, l.p, l.n);
	vc_buf_free(&l);
	*len_r = out.n;
	return out.p;
}
