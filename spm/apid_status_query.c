/*
 * The query of GET /status.json (apid_status.h). Hostile input: every
 * value is checked for its range before it reaches SQL or a comparison;
 * the search string may be anything printable, it is only ever compared.
 * The viewer's HTTP Basic credential is parsed here too: no HTTP needed.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "apid_status.h"

enum { Q_BATCH, Q_SINCE, Q_REQUEST, Q_PAGE, Q_PER_PAGE, Q_SEARCH, Q_KEYS };
static const char *const q_keys[Q_KEYS] = {"batch", "since", "request", "page", "per_page",
					   "search"};

void status_query_init(struct status_query *q)
{
	memset(q, 0, sizeof(*q));
	q->per_page = STATUS_PER_PAGE;
}

/* number: V as 1-18 decimal digits in [MIN, MAX], else -1. */
static long long number(const char *v, long long min, long long max)
{
	long long n = 0;
	size_t len = strlen(v);

	if (len == 0 || len > 18 || strspn(v, "0123456789") != len)
		return -1;
	for (size_t i = 0; i < len; i++)
		n = n * 10 + (v[i] - '0');
	return n < min || n > max ? -1 : n;
}

static int search_ok(const char *v)
{
	size_t len = strlen(v);

	if (len > STATUS_SEARCH_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return 0;
	return 1;
}

static int set_number(struct status_query *q, int k, const char *v)
{
	static const long long lim[Q_KEYS][2] = {
		{0, 999999999999LL}, {0, 999999999999999999LL}, {1, 999999999999LL},
		{0, STATUS_PAGE_MAX}, {1, STATUS_PER_PAGE_MAX}, {0, 0}};
	long long n = number(v, lim[k][0], lim[k][1]);

	if (n < 0)
		return -1;
	if (k == Q_BATCH)
		q->batch = n;
	else if (k == Q_SINCE)
		q->since = n;
	else if (k == Q_REQUEST)
		q->request = n;
	else if (k == Q_PAGE)
		q->page = (int)n;
	else
		q->per_page = (int)n;
	return 0;
}

int status_query_set(struct status_query *q, const char *key, const char *value,
		     const char **why_r)
{
	int k;

	for (k = 0; k < Q_KEYS && strcmp(key, q_keys[k]) != 0; k++)
		;
	if (k == Q_KEYS) {
		*why_r = "unknown parameter (batch, since, request, page, per_page, search)";
		return -1;
	}
	if (q->seen & (1u << k)) {
		*why_r = "a parameter given twice";
		return -1;
	}
	q->seen |= 1u << k;
	if (value == NULL) {
		*why_r = "a parameter without a value";
		return -1;
	}
	if (k == Q_SEARCH) {
		if (!search_ok(value)) {
			*why_r = "search: at most 255 bytes, no control characters";
			return -1;
		}
		strcpy(q->search, value);
		return 0;
	}
	if (set_number(q, k, value) < 0) {
		*why_r = "a number out of its range";
		return -1;
	}
	return 0;
}

static int hexval(int c)
{
	return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

/* decode: IN (LEN bytes) %XX and '+' decoded into OUT (SIZE bytes); -1
 * for a bad escape, a NUL or too long. */
static int decode(const char *in, size_t len, char *out, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)in[i];

		if (c == '%') {
			if (i + 2 >= len)
				return -1;
			int hi = hexval((unsigned char)in[i + 1]), lo = hexval((unsigned char)in[i + 2]);

			if (hi < 0 || lo < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (c == 0 || o + 1 >= size)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

static int one_pair(struct status_query *q, const char *p, size_t len, const char **why_r)
{
	const char *eq = memchr(p, '=', len);
	size_t klen = eq ? (size_t)(eq - p) : len;
	char key[16], value[STATUS_SEARCH_MAX + 2];

	if (decode(p, klen, key, sizeof(key)) < 0 ||
	    (eq && decode(eq + 1, len - klen - 1, value, sizeof(value)) < 0)) {
		*why_r = "a parameter badly escaped or too long";
		return -1;
	}
	return status_query_set(q, key, eq ? value : NULL, why_r);
}

int status_query_parse(struct status_query *q, const char *raw, size_t len, const char **why_r)
{
	size_t start = 0;
	int pairs = 0;

	if (len > STATUS_QUERY_MAX) {
		*why_r = "the query is longer than 2048 bytes";
		return -1;
	}
	while (start < len) {
		const char *amp = memchr(raw + start, '&', len - start);
		size_t end = amp ? (size_t)(amp - raw) : len;

		if (++pairs > STATUS_QUERY_PAIRS) {
			*why_r = "too many parameters";
			return -1;
		}
		if (end > start && one_pair(q, raw + start, end - start, why_r) < 0)
			return -1;
		start = end + 1;
	}
	return 0;
}

/* The longest "Basic " value taken: a 64-byte name, ':', 64 digits. */
#define BASIC_B64_MAX 176

int status_basic_parse(const char *h, char name[VIEWER_NAME_MAX],
		       char secret[STATUS_SECRET_LEN + 1])
{
	unsigned char out[BASIC_B64_MAX / 4 * 3 + 1];
	size_t len;
	char *colon;
	int n;

	if (strncasecmp(h, "Basic ", 6) != 0)
		return -1;
	h += 6;
	len = strlen(h);
	if (len == 0 || len % 4 != 0 || len > BASIC_B64_MAX ||
	    strspn(h, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != len)
		return -1;
	n = EVP_DecodeBlock(out, (const unsigned char *)h, (int)len);
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	for (size_t i = len; n >= 0 && i-- > 0 && h[i] == '=';)
		n--;
	if (n <= 0)
		return -1;
	out[n] = '\0';
	if (strlen((char *)out) != (size_t)n || (colon = strchr((char *)out, ':')) == NULL)
		return -1;
	*colon = '\0';
	if (!viewer_name_ok((char *)out) || strlen(colon + 1) != STATUS_SECRET_LEN ||
	    strspn(colon + 1, "0123456789abcdef") != STATUS_SECRET_LEN)
		return -1;
	strcpy(name, (char *)out);
	strcpy(secret, colon + 1);
	return 0;
}
