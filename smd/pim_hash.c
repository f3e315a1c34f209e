/*
 * pim_hash - the hash of an item's meaning and its UID, over content lines
 * (vcard.h: vCard and iCalendar share the line syntax). See pim_item.h.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "pim_item.h"
#include "vcard.h"
#include "xalloc.h"

/* Deeper than any real item (VCALENDAR > VEVENT > VALARM): refused. */
#define HASH_MAX_DEPTH 16
/* A hash of the target's read-back may see a little more than the source
 * limit (a server's folding and escapes). */
#define HASH_MAX_LEN (2 * PIM_ITEM_MAX)

struct strv {
	char **s;
	size_t n, cap;
};

struct frame {
	char *name;
	struct strv lines, blocks;
};

static void strv_push(struct strv *v, char *s)
{
	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 16;
		v->s = xrealloc(v->s, v->cap * sizeof(*v->s));
	}
	v->s[v->n++] = s;
}

static void strv_free(struct strv *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->s[i]);
	free(v->s);
	memset(v, 0, sizeof(*v));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* sort_strv: V's strings in byte order (qsort must not see a NULL array). */
static void sort_strv(struct strv *v)
{
	if (v->n > 1)
		qsort(v->s, v->n, sizeof(*v->s), cmp_str);
}

static int ignored(const char *name)
{
	return strcmp(name, "PRODID") == 0 || strcmp(name, "DTSTAMP") == 0 ||
	       strcmp(name, "REV") == 0 || strcmp(name, "LAST-MODIFIED") == 0 ||
	       strncmp(name, "X-RADICALE-", 11) == 0;
}

/* structured: properties whose unescaped ';' and ',' separate fields. */
static int structured(const char *name)
{
	static const char *const names[] = {"N", "ADR", "ORG", "GENDER", "CATEGORIES", "NICKNAME",
					    "GEO", "CLIENTPIDMAP", "REQUEST-STATUS", "RRULE",
					    "EXRULE", "EXDATE", "RDATE", "RESOURCES", NULL};

	for (int i = 0; names[i]; i++)
		if (strcmp(name, names[i]) == 0)
			return 1;
	return 0;
}

/* sorted_join: the N pieces of S split at SEP, sorted, joined with SEP
 * into B; each piece through FN when not NULL. */
static void sorted_join(struct vc_buf *b, const char *s, size_t n, char sep,
			void (*fn)(struct vc_buf *, const char *, size_t))
{
	struct strv parts = {0};
	size_t st = 0;

	for (size_t i = 0; i <= n; i++) {
		struct vc_buf one = {0};

		if (i < n && s[i] != sep)
			continue;
		vc_buf_add(&one, "", 0);
		if (fn)
			fn(&one, s + st, i - st);
		else
			vc_buf_add(&one, s + st, i - st);
		strv_push(&parts, one.p);
		st = i + 1;
	}
	sort_strv(&parts);
	for (size_t i = 0; i < parts.n; i++) {
		if (i)
			vc_buf_addc(b, sep);
		vc_buf_adds(b, parts.s[i]);
	}
	strv_free(&parts);
}

/* rule_part: one NAME=V1,V2 part of a recurrence rule, upper-cased, its
 * values sorted (BYDAY=FR,MO is BYDAY=MO,FR). */
static void rule_part(struct vc_buf *b, const char *s, size_t n)
{
	const char *eq = memchr(s, '=', n);
	struct vc_buf up = {0};

	vc_buf_add(&up, "", 0);
	for (size_t i = 0; i < n; i++)
		vc_buf_addc(&up, s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i]);
	if (!eq) {
		vc_buf_add(b, up.p, up.n);
	} else {
		size_t k = (size_t)(eq - s) + 1;

		vc_buf_add(b, up.p, k);
		sorted_join(b, up.p + k, n - k, ',', NULL);
	}
	vc_buf_free(&up);
}

/* canon_value: P's value in one spelling of each escape. */
static void canon_value(struct vc_buf *b, const struct vc_prop *p)
{
	int sep = structured(p->name);
	size_t start = b->n;

	if (strcmp(p->name, "RRULE") == 0 || strcmp(p->name, "EXRULE") == 0) {
		sorted_join(b, p->value, p->vlen, ';', rule_part);
		return;
	}
	if (vc_param_has(p, "ENCODING", "b") || vc_param_has(p, "ENCODING", "BASE64")) {
		for (size_t i = 0; i < p->vlen; i++)
			if (p->value[i] != ' ' && p->value[i] != '\t')
				vc_buf_addc(b, p->value[i]);
		return;
	}
	for (size_t i = 0; i < p->vlen; i++) {
		char c = p->value[i];
		int esc = c == '\\' && i + 1 < p->vlen;

		if (esc)
			c = p->value[++i];
		if (esc && (c == 'n' || c == 'N'))
			vc_buf_adds(b, "\\n");
		else if (c == '\\' || ((c == ',' || c == ';') && (esc || !sep)))
			vc_buf_addc(b, '\\'), vc_buf_addc(b, c);
		else
			vc_buf_addc(b, c);
	}
	if (strcmp(p->name, "N") == 0 || strcmp(p->name, "ADR") == 0 || strcmp(p->name, "ORG") == 0)
		while (b->n > start && b->p[b->n - 1] == ';' && (b->n < 2 || b->p[b->n - 2] != '\\'))
			b->p[--b->n] = '\0'; /* N:a;b is N:a;b;;; (vobject pads it) */
}

/* folded_case: parameters whose values are case-insensitive tokens. */
static int folded_case(const char *name)
{
	return strcmp(name, "TYPE") == 0 || strcmp(name, "ENCODING") == 0 ||
	       strcmp(name, "VALUE") == 0 || strcmp(name, "CHARSET") == 0;
}

/* canon_params: P's parameters sorted by name, same names merged, values
 * sorted, each quoted with \ before " \ and newline. */
static void canon_params(struct vc_buf *b, const struct vc_prop *p)
{
	struct strv items = {0};

	for (size_t i = 0; i < p->np; i++) {
		for (size_t j = 0; j < p->p[i].nv; j++) {
			struct vc_buf it = {0};
			const char *v = p->p[i].v[j];

			if (strcmp(p->p[i].name, "VALUE") == 0 &&
			    (strcasecmp(v, "DATE-TIME") == 0 || strcasecmp(v, "TEXT") == 0))
				continue; /* the default: libical leaves it out */

			vc_buf_adds(&it, p->p[i].name);
			vc_buf_adds(&it, "=\"");
			if (strcmp(p->p[i].name, "ENCODING") == 0 && strcasecmp(v, "BASE64") == 0)
				v = "b";
			for (; *v; v++) {
				char c = folded_case(p->p[i].name) && *v >= 'A' && *v <= 'Z' ? *v + 32
											   : *v;

				if (c == '"' || c == '\\' || c == '\n')
					vc_buf_addc(&it, '\\');
				vc_buf_addc(&it, c);
			}
			vc_buf_addc(&it, '"');
			strv_push(&items, it.p);
		}
	}
	sort_strv(&items);
	for (size_t i = 0; i < items.n; i++) {
		if (i && strcmp(items.s[i], items.s[i - 1]) == 0)
			continue; /* TYPE=home,home */
		vc_buf_addc(b, ';');
		vc_buf_adds(b, items.s[i]);
	}
	strv_free(&items);
}

/* list_prop: properties a writer may give as one line "a,b" or as one line
 * per value (libical splits CATEGORIES and EXDATE). */
static int list_prop(const char *name)
{
	return strcmp(name, "CATEGORIES") == 0 || strcmp(name, "EXDATE") == 0 ||
	       strcmp(name, "RDATE") == 0 || strcmp(name, "RESOURCES") == 0;
}

/* canon_lines: P as canonical lines (one per value of a list property)
 * pushed on V. */
static void canon_lines(const struct vc_prop *p, struct strv *v)
{
	struct vc_buf head = {0}, val = {0};
	size_t s = 0;

	if (p->group) {
		for (const char *g = p->group; *g; g++)
			vc_buf_addc(&head, *g >= 'a' && *g <= 'z' ? *g - 32 : *g);
		vc_buf_addc(&head, '.');
	}
	vc_buf_adds(&head, p->name);
	canon_params(&head, p);
	vc_buf_addc(&head, ':');
	vc_buf_add(&val, "", 0);
	canon_value(&val, p);
	for (size_t i = 0; i <= val.n; i++) {
		struct vc_buf l = {0};

		if (val.p[i] == '\\' && i + 1 < val.n) {
			i++;
			continue;
		}
		if (i < val.n && (val.p[i] != ',' || !list_prop(p->name)))
			continue;
		vc_buf_add(&l, head.p, head.n);
		vc_buf_add(&l, val.p + s, i - s);
		vc_buf_addc(&l, '\n');
		strv_push(v, l.p);
		s = i + 1;
	}
	vc_buf_free(&head);
	vc_buf_free(&val);
}

/* close_frame: F as one block (its lines, then its blocks, each sorted). */
static char *close_frame(struct frame *f)
{
	struct vc_buf b = {0};

	sort_strv(&f->lines);
	sort_strv(&f->blocks);
	vc_buf_adds(&b, "BEGIN:");
	vc_buf_adds(&b, f->name);
	vc_buf_addc(&b, '\n');
	for (size_t i = 0; i < f->lines.n; i++)
		vc_buf_adds(&b, f->lines.s[i]);
	for (size_t i = 0; i < f->blocks.n; i++)
		vc_buf_adds(&b, f->blocks.s[i]);
	vc_buf_adds(&b, "END:");
	vc_buf_adds(&b, f->name);
	vc_buf_addc(&b, '\n');
	return b.p;
}

static void frame_free(struct frame *f)
{
	free(f->name);
	strv_free(&f->lines);
	strv_free(&f->blocks);
}

static char *upper(const char *s)
{
	char *r = xstrdup(s);

	for (char *q = r; *q; q++)
		*q = (char)(*q >= 'a' && *q <= 'z' ? *q - 32 : *q);
	return r;
}

/* canon_tree: the components of L as sorted blocks into ROOT. 0, or -1 when
 * they do not nest (END without BEGIN, BEGIN without END, too deep, a line
 * outside every component). */
static int canon_tree(const struct vc_lines *l, struct frame *root)
{
	struct frame st[HASH_MAX_DEPTH];
	int d = 0, rc = 0;

	for (size_t i = 0; rc == 0 && i < l->n; i++) {
		const struct vc_prop *p = &l->a[i];

		if (strcmp(p->name, "BEGIN") == 0) {
			if (d == HASH_MAX_DEPTH) {
				rc = -1;
				break;
			}
			memset(&st[d], 0, sizeof(st[d]));
			st[d++].name = upper(p->value);
		} else if (strcmp(p->name, "END") == 0) {
			char *n = upper(p->value), *blk;

			if (d == 0 || strcmp(n, st[d - 1].name) != 0) {
				free(n);
				rc = -1;
				break;
			}
			free(n);
			d--;
			blk = strcmp(st[d].name, "VTIMEZONE") == 0 ? NULL : close_frame(&st[d]);
			frame_free(&st[d]);
			if (blk)
				strv_push(d ? &st[d - 1].blocks : &root->blocks, blk);
		} else if (d == 0) {
			rc = -1;
		} else if (!ignored(p->name)) {
			canon_lines(p, &st[d - 1].lines);
		}
	}
	if (d != 0)
		rc = -1;
	while (d > 0)
		frame_free(&st[--d]);
	return rc == 0 && root->blocks.n > 0 ? 0 : -1;
}

int pim_hash(enum pim_kind kind, const char *text, size_t len, unsigned char out[32])
{
	struct vc_lines l = {0};
	struct frame root = {0};
	char *err = NULL, *all = NULL;
	unsigned int mdlen = 32;
	int rc;

	if (len > HASH_MAX_LEN || vc_parse(text, len, &l, &err) < 0) {
		free(err);
		return -1;
	}
	rc = canon_tree(&l, &root);
	if (rc == 0) {
		root.name = xstrdup(kind == PIM_CARD ? "card" : "cal");
		all = close_frame(&root);
		if (EVP_Digest(all, strlen(all), out, &mdlen, EVP_sha256(), NULL) != 1)
			rc = -1;
	}
	free(all);
	frame_free(&root);
	vc_lines_free(&l);
	return rc;
}

/* flat_lines: every property of TEXT that counts, as sorted canonical lines. */
static int flat_lines(const char *text, size_t len, struct strv *v)
{
	struct vc_lines l = {0};
	char *err = NULL;

	if (len > HASH_MAX_LEN || vc_parse(text, len, &l, &err) < 0) {
		free(err);
		return -1;
	}
	for (size_t i = 0; i < l.n; i++) {
		const struct vc_prop *p = &l.a[i];

		if (strcmp(p->name, "BEGIN") != 0 && strcmp(p->name, "END") != 0 &&
		    !ignored(p->name))
			canon_lines(p, v);
	}
	vc_lines_free(&l);
	sort_strv(v);
	return 0;
}

/* prop_name: the property name of canonical line S (its group left out). */
static char *prop_name(const char *s)
{
	size_t n = strcspn(s, ";:\n");
	const char *dot = memchr(s, '.', n);

	if (dot) {
		n -= (size_t)(dot + 1 - s);
		s = dot + 1;
	}
	return xstrndup(s, n);
}

char *pim_diff_props(const char *a, size_t alen, const char *b, size_t blen)
{
	struct strv x = {0}, y = {0}, names = {0};
	struct vc_buf out = {0};
	size_t i = 0, j = 0;
	int ok = flat_lines(a, alen, &x) == 0 && flat_lines(b, blen, &y) == 0;

	while (ok && (i < x.n || j < y.n)) {
		int c = i == x.n ? 1 : j == y.n ? -1 : strcmp(x.s[i], y.s[j]);

		if (c == 0)
			i++, j++;
		else
			strv_push(&names, prop_name(c < 0 ? x.s[i++] : y.s[j++]));
	}
	sort_strv(&names);
	vc_buf_add(&out, "", 0);
	for (size_t k = 0; k < names.n; k++) {
		if (k > 0 && strcmp(names.s[k], names.s[k - 1]) == 0)
			continue;
		if (out.n)
			vc_buf_adds(&out, ", ");
		vc_buf_adds(&out, names.s[k]);
	}
	strv_free(&x);
	strv_free(&y);
	strv_free(&names);
	if (!ok) {
		vc_buf_free(&out);
		return NULL;
	}
	return out.p;
}

/* main_component: NAME holds the UID of an item of KIND. */
static int main_component(enum pim_kind kind, const char *name)
{
	if (kind == PIM_CARD)
		return strcasecmp(name, "VCARD") == 0;
	return strcasecmp(name, "VEVENT") == 0 || strcasecmp(name, "VTODO") == 0 ||
	       strcasecmp(name, "VJOURNAL") == 0;
}

char *pim_uid(enum pim_kind kind, const char *text, size_t len)
{
	struct vc_lines l = {0};
	char *err = NULL, *uid = NULL;
	const char *open[HASH_MAX_DEPTH];
	int d = 0;

	if (len > HASH_MAX_LEN || vc_parse(text, len, &l, &err) < 0) {
		free(err);
		return NULL;
	}
	for (size_t i = 0; !uid && i < l.n; i++) {
		const struct vc_prop *p = &l.a[i];
		size_t n;

		if (strcmp(p->name, "BEGIN") == 0) {
			if (d == HASH_MAX_DEPTH)
				break;
			open[d++] = p->value;
		} else if (strcmp(p->name, "END") == 0) {
			d -= d > 0;
		} else if (strcmp(p->name, "UID") == 0 && d > 0 && main_component(kind, open[d - 1])) {
			uid = vc_unescape(p->value, p->vlen, &n);
		}
	}
	vc_lines_free(&l);
	return uid;
}
