/*
 * vcard_conv - a vCard as a whole: parse (one card, its VERSION), write, and
 * convert between 2.1, 3.0 and 4.0. See vcard.h.
 */
#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vcard.h"
#include "xalloc.h"

void vc_fix(struct vc_buf *fixes, const char *what)
{
	if (fixes->n)
		vc_buf_adds(fixes, "; ");
	vc_buf_adds(fixes, what);
}

struct vc_prop *vcard_find(const struct vcard *c, const char *name)
{
	for (size_t i = 0; i < c->l.n; i++)
		if (strcmp(c->l.a[i].name, name) == 0)
			return &c->l.a[i];
	return NULL;
}

/* prop_utf8: P's value and parameters are UTF-8. */
static int prop_utf8(const struct vc_prop *p)
{
	if (!vc_utf8_ok(p->value, p->vlen))
		return 0;
	for (size_t i = 0; i < p->np; i++)
		for (size_t j = 0; j < p->p[i].nv; j++)
			if (!vc_utf8_ok(p->p[i].v[j], strlen(p->p[i].v[j])))
				return 0;
	return 1;
}

/* check_card: L is BEGIN:VCARD ... END:VCARD with nothing nested or after;
 * its VERSION into *VERSION_R. NULL, or the reason. */
static const char *check_card(const struct vc_lines *l, int *version_r, unsigned *line_r)
{
	*version_r = 30;
	*line_r = l->n ? l->a[0].line : 1;
	if (l->n == 0 || strcmp(l->a[0].name, "BEGIN") != 0 || strcasecmp(l->a[0].value, "VCARD") != 0)
		return "the first line is not BEGIN:VCARD";
	for (size_t i = 1; i < l->n; i++) {
		const struct vc_prop *p = &l->a[i];

		*line_r = p->line;
		if (strcmp(p->name, "BEGIN") == 0)
			return "a nested BEGIN (a vCard inside a vCard is not supported)";
		if (strcmp(p->name, "END") == 0) {
			if (strcasecmp(p->value, "VCARD") != 0)
				return "END of something else than VCARD";
			return i + 1 == l->n ? NULL : "text after END:VCARD (one vCard per item)";
		}
		if (strcmp(p->name, "VERSION") == 0) {
			if (strcmp(p->value, "2.1") == 0)
				*version_r = 21;
			else if (strcmp(p->value, "3.0") == 0)
				*version_r = 30;
			else if (strcmp(p->value, "4.0") == 0)
				*version_r = 40;
			else
				return "VERSION is not 2.1, 3.0 or 4.0";
		}
	}
	return "no END:VCARD";
}

int vcard_parse(const char *text, size_t len, struct vcard *c, char **err_r)
{
	const char *why;
	unsigned line;
	char *perr = NULL;

	memset(c, 0, sizeof(*c));
	if (vc_parse(text, len, &c->l, &perr) < 0) {
		*err_r = xasprintf("not a vCard: %s", perr);
		free(perr);
		return -1;
	}
	why = check_card(&c->l, &c->version, &line);
	for (size_t i = 0; !why && c->version != 21 && i < c->l.n; i++)
		if (!prop_utf8(&c->l.a[i]))
			why = "not UTF-8", line = c->l.a[i].line;
	if (why) {
		*err_r = xasprintf("not a vCard: line %u: %s", line, why);
		vcard_free(c);
		return -1;
	}
	/* Keep only the properties: BEGIN and END are written by vcard_write. */
	vc_prop_free(&c->l.a[0]);
	vc_prop_free(&c->l.a[c->l.n - 1]);
	memmove(c->l.a, c->l.a + 1, (c->l.n - 2) * sizeof(*c->l.a));
	c->l.n -= 2;
	return 0;
}

void vcard_free(struct vcard *c)
{
	vc_lines_free(&c->l);
}

char *vcard_write(const struct vcard *c, size_t *len_r)
{
	struct vc_buf b = {0};

	vc_buf_adds(&b, "BEGIN:VCARD\r\n");
	vc_buf_adds(&b, c->version == 40 ? "VERSION:4.0\r\n" : c->version == 21 ? "VERSION:2.1\r\n"
									     : "VERSION:3.0\r\n");
	for (size_t i = 0; i < c->l.n; i++)
		if (strcmp(c->l.a[i].name, "VERSION") != 0)
			vc_write_prop(&b, &c->l.a[i]);
	vc_buf_adds(&b, "END:VCARD\r\n");
	*len_r = b.n;
	return b.p;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* qp_decode: quoted-printable V (soft breaks already joined) into B; a '='
 * not followed by two hex digits is kept as it is. */
static void qp_decode(struct vc_buf *b, const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int h, l;

		if (v[i] == '=' && i + 2 < n && (h = hexval(v[i + 1])) >= 0 &&
		    (l = hexval(v[i + 2])) >= 0) {
			vc_buf_addc(b, (char)(h * 16 + l));
			i += 2;
		} else {
			vc_buf_addc(b, v[i]);
		}
	}
}

/* to_utf8: S (N bytes) in CHARSET (NULL: UTF-8 when valid, else ISO-8859-1,
 * the usual charset of old exports) as UTF-8 into OUT. 0, or -1 when the
 * charset is unknown or S is not in it. */
static int to_utf8(const char *charset, const char *s, size_t n, struct vc_buf *out)
{
	iconv_t cd;
	char buf[4096], *in = (char *)s;
	size_t left = n;

	if ((!charset && vc_utf8_ok(s, n)) || (charset && strcasecmp(charset, "UTF-8") == 0)) {
		vc_buf_add(out, s, n);
		return vc_utf8_ok(s, n) ? 0 : -1;
	}
	cd = iconv_open("UTF-8", charset ? charset : "ISO-8859-1");
	if (cd == (iconv_t)-1)
		return -1;
	while (left > 0) {
		char *o = buf;
		size_t room = sizeof(buf);

		if (iconv(cd, &in, &left, &o, &room) == (size_t)-1 && errno != E2BIG) {
			iconv_close(cd);
			return -1;
		}
		vc_buf_add(out, buf, (size_t)(o - buf));
	}
	iconv_close(cd);
	return 0;
}

/* literal_commas: properties whose 2.1 commas are text, escaped in 3.0. */
static int literal_commas(const char *name)
{
	static const char *const names[] = {"FN", "N", "ADR", "ORG", "NOTE", "TITLE", "ROLE", "LABEL",
					    NULL};

	for (int i = 0; names[i]; i++)
		if (strcmp(name, names[i]) == 0)
			return 1;
	return 0;
}

/* from21_value: a 2.1 text value decoded (quoted-printable, charset) and
 * escaped the 3.0 way. 0, or -1 with *ERR_R. */
static int from21_value(struct vc_prop *p, int qp, char **err_r)
{
	struct vc_buf raw = {0}, u = {0}, out = {0};
	struct vc_param *cs = vc_param_get(p, "CHARSET");
	int commas = literal_commas(p->name), rc = 0;

	if (qp)
		qp_decode(&raw, p->value, p->vlen);
	else
		vc_buf_add(&raw, p->value, p->vlen);
	if (to_utf8(cs && cs->nv ? cs->v[0] : NULL, raw.p, raw.n, &u) < 0) {
		*err_r = xasprintf("not a vCard: line %u: a value not in its charset %s", p->line,
				   cs && cs->nv ? cs->v[0] : "UTF-8 or ISO-8859-1");
		rc = -1;
	}
	vc_buf_add(&out, "", 0);
	for (size_t i = 0; rc == 0 && i < u.n; i++) {
		if (u.p[i] == '\r')
			continue;
		if (u.p[i] == '\n')
			vc_buf_adds(&out, "\\n");
		else if (u.p[i] == ',' && commas)
			vc_buf_adds(&out, "\\,");
		else
			vc_buf_addc(&out, u.p[i]);
	}
	if (rc == 0)
		vc_set_value(p, out.p, out.n);
	vc_buf_free(&raw);
	vc_buf_free(&u);
	vc_buf_free(&out);
	return rc;
}

/* strip_space: base64 text without the white space folding left in it. */
static void strip_space(struct vc_prop *p)
{
	size_t k = 0;

	for (size_t i = 0; i < p->vlen; i++)
		if (p->value[i] != ' ' && p->value[i] != '\t')
			p->value[k++] = p->value[i];
	p->value[k] = '\0';
	p->vlen = k;
}

static int from21(struct vcard *c, struct vc_buf *fixes, char **err_r)
{
	for (size_t i = 0; i < c->l.n; i++) {
		struct vc_prop *p = &c->l.a[i];
		int qp = vc_param_has(p, "ENCODING", "QUOTED-PRINTABLE");
		int b64 = vc_param_has(p, "ENCODING", "BASE64") || vc_param_has(p, "ENCODING", "B");

		if (b64) {
			strip_space(p);
		} else if (from21_value(p, qp, err_r) < 0) {
			return -1;
		}
		vc_param_del(p, "ENCODING");
		vc_param_del(p, "CHARSET");
		if (b64)
			vc_param_add(p, "ENCODING", "b");
	}
	c->version = 30;
	vc_fix(fixes, "vCard 2.1 made 3.0");
	return 0;
}

/* binary_prop: P carries inline binary data the 3.0 way. */
static int binary_prop(const struct vc_prop *p)
{
	return vc_param_has(p, "ENCODING", "b") || vc_param_has(p, "ENCODING", "BASE64");
}

/* media_type: the MIME type of a 3.0 binary property (its TYPE, or sniffed
 * from the base64 of the usual image formats). */
static char *media_type(const struct vc_prop *p)
{
	struct vc_param *t = vc_param_get(p, "TYPE");
	const char *top = strcmp(p->name, "SOUND") == 0 ? "audio"
			  : strcmp(p->name, "KEY") == 0	 ? "application"
							 : "image";

	if (t && t->nv && strchr(t->v[0], '/'))
		return xstrdup(t->v[0]);
	if (t && t->nv && t->v[0][0]) {
		char *r = xasprintf("%s/%s", top, t->v[0]);

		for (char *q = r; *q; q++)
			*q = (char)(*q >= 'A' && *q <= 'Z' ? *q + 32 : *q);
		return r;
	}
	if (strncmp(p->value, "/9j/", 4) == 0)
		return xstrdup("image/jpeg");
	if (strncmp(p->value, "iVBOR", 5) == 0)
		return xstrdup("image/png");
	if (strncmp(p->value, "R0lGOD", 6) == 0)
		return xstrdup("image/gif");
	return xstrdup("application/octet-stream");
}

/* types40: TYPE values 4.0 dropped (pref became PREF=1). */
static void types40(struct vc_prop *p)
{
	static const char *const gone[] = {"internet", "x400", "dom", "intl", "postal", "parcel", NULL};
	struct vc_param *t = vc_param_get(p, "TYPE");
	size_t k = 0;
	int pref = 0;

	if (!t)
		return;
	for (size_t j = 0; j < t->nv; j++) {
		int drop = strcasecmp(t->v[j], "pref") == 0;

		pref |= drop;
		for (int g = 0; gone[g]; g++)
			drop |= strcasecmp(t->v[j], gone[g]) == 0;
		if (drop)
			free(t->v[j]);
		else
			t->v[k++] = t->v[j];
	}
	t->nv = k;
	if (k == 0)
		vc_param_del(p, "TYPE");
	if (pref && !vc_param_get(p, "PREF"))
		vc_param_add(p, "PREF", "1");
}

static void to40(struct vcard *c, struct vc_buf *fixes)
{
	for (size_t i = 0; i < c->l.n; i++) {
		struct vc_prop *p = &c->l.a[i];

		if (binary_prop(p)) {
			char *mt = media_type(p), *v;

			strip_space(p);
			v = xasprintf("data:%s;base64,%s", mt, p->value);
			vc_set_value(p, v, strlen(v));
			free(v);
			free(mt);
			vc_param_del(p, "ENCODING");
			vc_param_del(p, "TYPE");
			vc_param_del(p, "VALUE");
		} else {
			types40(p);
		}
	}
	c->version = 40;
	vc_fix(fixes, "vCard 3.0 made 4.0");
}

/* from_data_uri: a 4.0 "data:image/jpeg;base64,..." value made 3.0's
 * ENCODING=b;TYPE=JPEG. */
static void from_data_uri(struct vc_prop *p)
{
	const char *v = p->value, *semi, *comma;
	char *type, *data;

	if (strncasecmp(v, "data:", 5) != 0 || !(comma = strchr(v, ',')))
		return;
	semi = memchr(v, ';', (size_t)(comma - v));
	if (!semi || strncasecmp(semi, ";base64,", 8) != 0)
		return;
	type = xstrndup(v + 5, (size_t)(semi - v - 5));
	if (strchr(type, '/')) {
		char *sub = xstrdup(strchr(type, '/') + 1);

		free(type);
		type = sub;
	}
	for (char *q = type; *q; q++)
		*q = (char)(*q >= 'a' && *q <= 'z' ? *q - 32 : *q);
	data = xstrdup(comma + 1);
	vc_set_value(p, data, strlen(data));
	free(data);
	vc_param_del(p, "VALUE");
	vc_param_del(p, "MEDIATYPE");
	vc_param_add(p, "ENCODING", "b");
	if (*type)
		vc_param_add(p, "TYPE", type);
	free(type);
}

static void to30(struct vcard *c, struct vc_buf *fixes)
{
	for (size_t i = 0; i < c->l.n; i++) {
		struct vc_prop *p = &c->l.a[i];

		from_data_uri(p);
		if (vc_param_get(p, "PREF")) {
			vc_param_del(p, "PREF");
			vc_param_add(p, "TYPE", "pref");
		}
	}
	c->version = 30;
	vc_fix(fixes, "vCard 4.0 made 3.0");
}

/* name_from_n: N's fields (family;given;additional;prefix;suffix) in
 * reading order, lists and fields joined with spaces, escapes kept. */
static void name_from_n(struct vc_buf *b, const char *v)
{
	static const int order[] = {3, 1, 2, 0, 4};
	const char *f[5] = {0};
	size_t len[5] = {0};
	int k = 0;

	for (const char *p = v; k < 5; p++) {
		if (!f[k])
			f[k] = p;
		if (*p == '\\' && p[1]) {
			p++;
			continue;
		}
		if (*p == ';' || *p == '\0') {
			len[k] = (size_t)(p - f[k]);
			k++;
			if (*p == '\0')
				break;
		}
	}
	for (int i = 0; i < 5; i++) {
		if (!f[order[i]] || len[order[i]] == 0)
			continue;
		if (b->n)
			vc_buf_addc(b, ' ');
		for (size_t j = 0; j < len[order[i]]; j++)
			vc_buf_addc(b, f[order[i]][j] == ',' && (j == 0 || f[order[i]][j - 1] != '\\')
					       ? ' '
					       : f[order[i]][j]);
	}
}

/* add_fn: 3.0 and 4.0 require FN (Radicale refuses a card without): made
 * from N, else ORG, EMAIL or TEL. */
static void add_fn(struct vcard *c, struct vc_buf *fixes)
{
	static const char *const from[] = {"N", "ORG", "EMAIL", "TEL", NULL};
	struct vc_buf v = {0};
	struct vc_prop *fn;
	int i;

	if (vcard_find(c, "FN"))
		return;
	vc_buf_add(&v, "", 0);
	for (i = 0; from[i] && v.n == 0; i++) {
		struct vc_prop *p = vcard_find(c, from[i]);

		if (p && i == 0)
			name_from_n(&v, p->value);
		else if (p)
			vc_buf_add(&v, p->value, strcspn(p->value, ";"));
	}
	if (c->l.n == c->l.cap) {
		c->l.cap = c->l.cap ? c->l.cap * 2 : 8;
		c->l.a = xrealloc(c->l.a, c->l.cap * sizeof(*c->l.a));
	}
	fn = &c->l.a[c->l.n++];
	memset(fn, 0, sizeof(*fn));
	fn->name = xstrdup("FN");
	vc_set_value(fn, v.p, v.n);
	vc_fix(fixes, v.n ? (i == 1 ? "FN added from N" : "FN added from ORG, EMAIL or TEL")
			  : "FN added, empty");
	vc_buf_free(&v);
}

int vcard_convert(struct vcard *c, int to, struct vc_buf *fixes, char **err_r)
{
	if (c->version == 21 && from21(c, fixes, err_r) < 0)
		return -1;
	if (to == 40 && c->version == 30)
		to40(c, fixes);
	else if (to == 30 && c->version == 40)
		to30(c, fixes);
	add_fn(c, fixes);
	return 0;
}
