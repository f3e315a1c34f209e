/*
 * pim_item_stub - a stand-in for P1's smd/pim_item.c, smd/vcard.c and
 * smd/ical_norm.c until they land (the integrator drops this file): no
 * normalisation, the UID by a line scan, a hash of the unfolded lines with
 * the names upper-cased, the volatile properties left out, sorted.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "pim_item.h"
#include "xalloc.h"

#define PIM_MAX_ITEM (4u << 20)

/* unfold: TEXT's content lines, CRLF and LF alike, continuations joined. */
static char **unfold(const char *text, size_t len, size_t *n_r)
{
	char **v = NULL;
	size_t n = 0, cap = 0, i = 0;

	while (i < len) {
		size_t j = i;
		char *line = NULL;
		size_t ll = 0;

		for (;;) {
			size_t e = j;

			while (e < len && text[e] != '\n')
				e++;
			size_t seg = e - j - (e > j && text[e - 1] == '\r');

			line = xrealloc(line, ll + seg + 1);
			memcpy(line + ll, text + j, seg);
			ll += seg;
			j = e < len ? e + 1 : e;
			if (j >= len || (text[j] != ' ' && text[j] != '\t'))
				break;
			j++;
		}
		line[ll] = '\0';
		if (n == cap)
			v = xrealloc(v, (cap = cap ? 2 * cap : 64) * sizeof(*v));
		v[n++] = line;
		i = j;
	}
	*n_r = n;
	return v;
}

static size_t name_len(const char *l)
{
	return strcspn(l, ";:");
}

static int ignored(const char *l)
{
	static const char *const names[] = {"PRODID", "DTSTAMP", "REV", "LAST-MODIFIED", NULL};
	size_t n = name_len(l);

	if (n >= 11 && strncasecmp(l, "X-RADICALE-", 11) == 0)
		return 1;
	for (int i = 0; names[i]; i++)
		if (n == strlen(names[i]) && strncasecmp(l, names[i], n) == 0)
			return 1;
	return l[0] == '\0';
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int pim_hash(enum pim_kind kind, const char *text, size_t len, unsigned char out[32])
{
	size_t n, k = 0;
	char **v = unfold(text, len, &n);
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	for (size_t i = 0; i < n; i++) {
		if (ignored(v[i])) {
			free(v[i]);
			continue;
		}
		for (size_t c = 0; c < name_len(v[i]); c++)
			v[i][c] = (char)toupper((unsigned char)v[i][c]);
		v[k++] = v[i];
	}
	if (k > 1)
		qsort(v, k, sizeof(*v), cmp_str);
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	for (size_t i = 0; i < k; i++) {
		EVP_DigestUpdate(md, v[i], strlen(v[i]) + 1);
		free(v[i]);
	}
	EVP_DigestFinal_ex(md, out, NULL);
	EVP_MD_CTX_free(md);
	free(v);
	return 0;
}

char *pim_uid(enum pim_kind kind, const char *text, size_t len)
{
	size_t n;
	char **v = unfold(text, len, &n);
	char *uid = NULL;

	for (size_t i = 0; i < n; i++) {
		if (uid == NULL && name_len(v[i]) == 3 && strncasecmp(v[i], "UID", 3) == 0 &&
		    v[i][3] != '\0')
			uid = xstrdup(strchr(v[i], ':') ? strchr(v[i], ':') + 1 : "");
		free(v[i]);
	}
	free(v);
	return uid;
}

int pim_item_make(enum pim_kind kind, const char *item, size_t len, const struct pim_target *t,
		  struct pim_item *out, char **err_r)
{
	memset(out, 0, sizeof(*out));
	if (len > PIM_MAX_ITEM) {
		*err_r = xstrdup("more than 4 MB");
		return -1;
	}
	if (memchr(item, '\0', len) != NULL) {
		*err_r = xstrdup("a NUL byte in the item");
		return -1;
	}
	out->uid = pim_uid(kind, item, len);
	if (out->uid == NULL || *out->uid == '\0') {
		free(out->uid);
		out->uid = NULL;
		*err_r = xstrdup("no UID");
		return -1;
	}
	out->text = xstrndup(item, len);
	out->len = len;
	out->fixes = xstrdup("");
	pim_hash(kind, item, len, out->hash);
	return 0;
}

void pim_item_free(struct pim_item *it)
{
	free(it->text);
	free(it->uid);
	free(it->fixes);
	memset(it, 0, sizeof(*it));
}
