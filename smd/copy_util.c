#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "copy_int.h"
#include "xalloc.h"

int cperr(struct cp *cp, const char *fmt, ...)
{
	va_list ap;

	if (cp->err[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(cp->err, sizeof(cp->err), fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* ------------------------------------------------------------ parsing */

/* parse_fetch: "N FETCH (items)"; 1 if it is one, 0 if not, -1 if malformed. */
int parse_fetch(const char *text, size_t len, struct fetch_info *fi)
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
			size_t n = (size_t)(t.p - s) - 2;

			if (n >= sizeof(fi->flags))
				return -1;
			memcpy(fi->flags, s + 1, n);
			fi->flags[n] = '\0';
			fi->has_flags = 1;
		} else if (imap_atom_eq(a, al, "INTERNALDATE")) {
			size_t n;
			int nil;

			if (imap_tok_string(&t, fi->date, sizeof(fi->date), &n, &nil) < 0 || nil ||
			    n < 20 || strpbrk(fi->date, "\"\\") != NULL)
				return -1;
			fi->has_date = 1;
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

/* code_number: "[WORD n]" anywhere in TEXT. */
int code_number(const char *text, const char *word, unsigned long long *n_r)
{
	char pat[40];
	const char *p;

	snprintf(pat, sizeof(pat), "[%s ", word);
	p = strcasestr(text, pat);
	if (p == NULL)
		return -1;
	p += strlen(pat);
	char *e;

	errno = 0;
	*n_r = strtoull(p, &e, 10);
	return e == p || errno ? -1 : 0;
}

/* ------------------------------------------------------------ helpers */

void free_folders(struct folder *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(f[i].name);
		free(f[i].dst);
	}
	free(f);
}

void free_msgs(struct cp *cp)
{
	for (size_t i = 0; i < cp->nmsgs; i++)
		free(cp->msgs[i].flags);
	free(cp->msgs);
	cp->msgs = NULL;
	cp->nmsgs = 0;
}

int cmp_ull(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;

	return x < y ? -1 : x > y;
}

/*
 * uidsets: split sorted UIDS into "a:b,c" sets of at most UIDSET_MAX
 * characters; returns how many, *sets_r to free with free_sets.
 */
size_t uidsets(unsigned long long *uids, size_t n, char ***sets_r)
{
	char **sets = NULL;
	size_t nsets = 0, i = 0;

	qsort(uids, n, sizeof(*uids), cmp_ull);
	while (i < n) {
		char *buf = xmalloc(UIDSET_MAX + 64);
		size_t len = 0;

		while (i < n && len < UIDSET_MAX) {
			size_t j = i;

			while (j + 1 < n && (uids[j + 1] == uids[j] + 1 || uids[j + 1] == uids[j]))
				j++;
			if (j == i)
				len += (size_t)sprintf(buf + len, "%s%llu", len ? "," : "", uids[i]);
			else
				len += (size_t)sprintf(buf + len, "%s%llu:%llu", len ? "," : "", uids[i],
						       uids[j]);
			i = j + 1;
		}
		sets = xrealloc(sets, (nsets + 1) * sizeof(*sets));
		sets[nsets++] = buf;
	}
	*sets_r = sets;
	return nsets;
}

void free_sets(char **sets, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(sets[i]);
	free(sets);
}

int conn_fail(struct cp *cp, struct imap_conn *c)
{
	return cperr(cp, "%s", imap_error(c));
}

void hex(const unsigned char *sha, char out[65])
{
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", sha[i]);
}
