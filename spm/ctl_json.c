/*
 * ctl_json - fedmigctl's --json output through jansson: values are built
 * as json_t and dumped compact, members in the order they were set.
 * Arrays with one element per request are streamed (a batch may hold a
 * million requests): each element is dumped as it comes, only the
 * brackets between them are written here.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"
#include "xalloc.h"

/* Reals are shown to a tenth (what "%.1f" printed); 15 significant
 * digits show such a tenth exactly, 17 would show 12.3 as 12.300000000000001. */
#define DUMP_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))

/* utf8_len: the length of the valid UTF-8 character at P (RFC 3629: no
 * overlong form, no surrogate, nothing beyond U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *p)
{
	size_t n = *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : 2;
	unsigned char lo = 0x80, hi = 0xbf;

	if (*p < 0xc2 || *p > 0xf4)
		return 0;
	if (*p == 0xe0)
		lo = 0xa0;
	else if (*p == 0xed)
		hi = 0x9f;
	else if (*p == 0xf0)
		lo = 0x90;
	else if (*p == 0xf4)
		hi = 0x8f;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

json_t *ctl_json_ok(json_t *v)
{
	if (v == NULL) {
		fputs("fedmigctl: out of memory building JSON\n", stderr);
		exit(1);
	}
	return v;
}

json_t *ctl_json_string(const char *s)
{
	size_t len = strlen(s), o = 0;
	/* Each bad byte becomes U+FFFD (3 bytes). */
	char *out = xmalloc(3 * len + 1);

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		size_t n = *p < 0x80 ? 1 : utf8_len(p);

		if (n == 0) {
			/* A server's text may be anything; the output stays JSON. */
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			continue;
		}
		memcpy(out + o, p, n);
		o += n;
		p += n - 1;
	}
	json_t *v = json_stringn(out, o);

	free(out);
	return ctl_json_ok(v);
}

double ctl_json_tenths(double x)
{
	return round(x * 10) / 10;
}

void ctl_json_put(FILE *fp, json_t *v)
{
	if (json_dumpf(ctl_json_ok(v), fp, DUMP_FLAGS | JSON_ENCODE_ANY) < 0) {
		fputs("fedmigctl: cannot write JSON\n", stderr);
		exit(1);
	}
	json_decref(v);
}

void ctl_json_put_open(FILE *fp, json_t *obj)
{
	char *text = json_dumps(ctl_json_ok(obj), DUMP_FLAGS);
	size_t n = text ? strlen(text) : 0;

	if (n < 2 || text[n - 1] != '}') {
		fputs("fedmigctl: cannot write JSON\n", stderr);
		exit(1);
	}
	fwrite(text, 1, n - 1, fp);
	free(text);
	json_decref(obj);
}
