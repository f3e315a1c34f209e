/*
 * dirdrv_ldap_map - an LDAP entry's values into a dir_account, and the
 * escaping of values for DNs and filters (dirdrv_ldap.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dirdrv_ldap.h"
#include "xalloc.h"

static int clean(const struct dirldap_val *v)
{
	return memchr(v->p, '\0', v->len) == NULL;
}

/* first: the first value of VS as a string ("" when none). */
static char *first(const struct dirldap_vals *vs)
{
	return vs->n ? xstrndup(vs->v[0].p, vs->v[0].len) : xstrdup("");
}

/* join: the values of A from index FROM, then all of B, space-separated;
 * NULL when one holds a space (it would split into two). */
static char *join(const struct dirldap_vals *a, size_t from, const struct dirldap_vals *b)
{
	size_t len = 0, cap = 1;
	char *out;

	for (int k = 0; k < 2; k++)
		for (size_t i = k ? 0 : from; i < (k ? b->n : a->n); i++)
			cap += (k ? b : a)->v[i].len + 1;
	out = xmalloc(cap);
	out[0] = '\0';
	for (int k = 0; k < 2; k++)
		for (size_t i = k ? 0 : from; i < (k ? b->n : a->n); i++) {
			const struct dirldap_val *v = &(k ? b : a)->v[i];

			if (memchr(v->p, ' ', v->len) != NULL) {
				free(out);
				return NULL;
			}
			if (len)
				out[len++] = ' ';
			memcpy(out + len, v->p, v->len);
			out[len += v->len] = '\0';
		}
	return out;
}

static int vals_clean(const struct dirldap_vals *vs)
{
	for (size_t i = 0; i < vs->n; i++)
		if (!clean(&vs->v[i]))
			return 0;
	return 1;
}

int dirldap_map(const struct dirldap_entry *e, struct dir_account *out, const char **why_r)
{
	const struct dirldap_vals *all[] = {&e->mail, &e->alias, &e->mailbox, &e->name, &e->cn};

	memset(out, 0, sizeof(*out));
	if (e->uuid.len == 0) {
		*why_r = "no entryUUID";
		return -1;
	}
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (!vals_clean(all[i])) {
			*why_r = "an attribute value holding a NUL byte";
			return -1;
		}
	if (!clean(&e->uuid) || !clean(&e->dn)) {
		*why_r = "a DN or entryUUID holding a NUL byte";
		return -1;
	}
	if ((e->mail.n && memchr(e->mail.v[0].p, ' ', e->mail.v[0].len)) ||
	    (out->aliases = join(&e->mail, 1, &e->alias)) == NULL) {
		*why_r = "an address holding a space";
		return -1;
	}
	out->key = xstrndup(e->uuid.p, e->uuid.len);
	out->access = first(&e->mail);
	out->physical = first(&e->mailbox);
	out->name = e->name.n ? first(&e->name) : first(&e->cn);
	out->group = dirldap_parent(e->dn.p, e->dn.len);
	return 0;
}

/* rdn_end: the index of the first unescaped ',' of DN (LEN bytes), or LEN. */
static size_t rdn_end(const char *dn, size_t len)
{
	size_t i = 0;

	for (; i < len && dn[i] != ','; i++)
		if (dn[i] == '\\' && i + 1 < len)
			i++;
	return i;
}

char *dirldap_parent(const char *dn, size_t len)
{
	size_t i = rdn_end(dn, len);

	if (i >= len)
		return xstrdup("");
	for (i++; i < len && dn[i] == ' ';)
		i++;
	return xstrndup(dn + i, len - i);
}

/* rdn_eq: the RDNs at A and B (lengths) equal, ASCII case folded. */
static int rdn_eq(const char *a, size_t al, const char *b, size_t bl)
{
	while (al && *a == ' ')
		a++, al--;
	while (bl && *b == ' ')
		b++, bl--;
	if (al != bl)
		return 0;
	for (size_t i = 0; i < al; i++) {
		char x = a[i], y = b[i];

		if (x >= 'A' && x <= 'Z')
			x = (char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (char)(y - 'A' + 'a');
		if (x != y)
			return 0;
	}
	return 1;
}

int dirldap_under(const char *dn, const char *base)
{
	size_t dl = strlen(dn), bl = strlen(base), n = 0;

	if (bl == 0)
		return 1;
	/* Skip RDNs of DN until as many remain as BASE has. */
	for (size_t i = 0; i <= bl; i = i + rdn_end(base + i, bl - i) + 1)
		n++;
	size_t m = 0;

	for (size_t i = 0; i <= dl; i = i + rdn_end(dn + i, dl - i) + 1)
		m++;
	if (m < n)
		return 0;
	const char *p = dn;

	for (size_t k = 0; k < m - n; k++) {
		size_t e = rdn_end(p, dl - (size_t)(p - dn));

		p += e + 1;
	}
	for (const char *q = base; q <= base + bl && p <= dn + dl;) {
		size_t pe = rdn_end(p, dl - (size_t)(p - dn)), qe = rdn_end(q, bl - (size_t)(q - base));

		if (!rdn_eq(p, pe, q, qe))
			return 0;
		p += pe + 1;
		q += qe + 1;
	}
	return 1;
}

/* escape: V with each byte in SPECIAL (and NUL) as \XX (hex) or \c. */
static char *escape(const char *v, size_t len, const char *special, int hex, int dn)
{
	char *out = xmalloc(len * 3 + 1);
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];
		int esc = c == '\0' || strchr(special, c) != NULL;

		if (dn && ((i == 0 && (c == ' ' || c == '#')) || (i == len - 1 && c == ' ')))
			esc = 1;
		if (esc && (hex || c == '\0'))
			o += (size_t)sprintf(out + o, "\\%02x", c);
		else if (esc)
			o += (size_t)sprintf(out + o, "\\%c", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
	return out;
}

char *dirldap_dn_escape(const char *v, size_t len)
{
	return escape(v, len, ",+\"\\<>;=", 0, 1);
}

char *dirldap_filter_escape(const char *v, size_t len)
{
	return escape(v, len, "*()\\", 1, 0);
}

void dirldap_uuid_text(const unsigned char *raw, char out[37])
{
	size_t o = 0;

	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		o += (size_t)sprintf(out + o, "%02x", raw[i]);
	}
	out[o] = '\0';
}
