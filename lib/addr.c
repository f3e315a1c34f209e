#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "addr.h"

const char *addr_domain(const char *canon)
{
	const char *at = strrchr(canon, '@');

	return at ? at + 1 : canon + strlen(canon);
}

static int is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/*
 * utf8_char: the length of the well-formed UTF-8 sequence (RFC 3629) of
 * one non-ASCII character at S (N bytes left), or 0. Overlong forms,
 * surrogates and code points beyond U+10FFFF are not well-formed.
 */
static size_t utf8_char(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/* is_c1: U+0080..U+009F, controls as much as their ASCII cousins. */
static int is_c1(const unsigned char *s)
{
	return s[0] == 0xc2 && s[1] < 0xa0;
}

static int is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL) || c >= 0x80;
}

/* dot_atom: 1 if S (N bytes, already known to be valid UTF-8) is atoms of
 * atext joined by single dots. */
static int dot_atom(const char *s, size_t n)
{
	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.' ? s[i - 1] == '.' : !is_atext((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

int addr_local_is_atom(const char *canon)
{
	const char *at = strrchr(canon, '@');

	return dot_atom(canon, at ? (size_t)(at - canon) : strlen(canon));
}

const char *addr_show(const char *in, size_t len, char *buf, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < len;) {
		const unsigned char *s = (const unsigned char *)in + i;
		size_t step = 1, n = 1;
		char tmp[8];

		if (*s >= 0x80 && (step = utf8_char(s, len - i)) > 0 && !is_c1(s)) {
			memcpy(tmp, s, step);
			n = step;
		} else if (*s == '\\') {
			memcpy(tmp, "\\\\", 2);
			n = 2;
			step = 1;
		} else if (*s < 0x80 && !is_ctl(*s)) {
			tmp[0] = (char)*s;
			step = 1;
		} else {
			/* One byte at a time: a bad lead byte must not hide the
			 * next one, which may be printable. */
			snprintf(tmp, sizeof(tmp), "\\x%02x", *s);
			n = 4;
			step = 1;
		}
		if (o + n + 4 > size) {
			memcpy(buf + o, "...", 4);
			return buf;
		}
		memcpy(buf + o, tmp, n);
		o += n;
		i += step;
	}
	buf[o] = '\0';
	return buf;
}

int addr_text_ok(const char *in, size_t len)
{
	for (size_t i = 0; i < len;) {
		const unsigned char *s = (const unsigned char *)in + i;
		size_t step = 1;

		if (*s >= 0x80 ? (step = utf8_char(s, len - i)) == 0 || is_c1(s) : is_ctl(*s))
			return 0;
		i += step;
	}
	return 1;
}

static int domain_ok(const char *d, size_t n)
{
	if (n >= 2 && d[0] == '[' && d[n - 1] == ']') {
		/* [192.0.2.1] or [IPv6:2001:db8::1], the tag in any case: the
		 * canonical form folds the domain, and must read back. */
		size_t i = 1;
		int v6 = n > 7 && strncasecmp(d + 1, "IPv6:", 5) == 0;

		if (v6)
			i += 5;
		if (i + 1 >= n)
			return 0;
		for (; i + 1 < n; i++)
			if (!((d[i] >= '0' && d[i] <= '9') || d[i] == '.' ||
			      (v6 && (d[i] == ':' || (d[i] >= 'a' && d[i] <= 'f') ||
				      (d[i] >= 'A' && d[i] <= 'F')))))
				return 0;
		return 1;
	}
	size_t label = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d[i];

		if (c == '.') {
			if (label == 0 || d[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		/* A hostname (RFC 1123): no '_', whatever DNS would store. UTF-8
		 * labels (SMTPUTF8) pass as bytes >= 0x80, already checked to be
		 * well-formed. */
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c >= 0x80))
			return 0;
		if (label == 0 && c == '-')
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0 && d[n - 1] != '-';
}

/* trim_address: surrounding white space and one pair of angle brackets. */
static void trim_address(const char **in_r, size_t *len_r)
{
	const char *in = *in_r;
	size_t len = *len_r;

	while (len > 0 && (*in == ' ' || *in == '\t')) {
		in++;
		len--;
	}
	while (len > 0 && (in[len - 1] == ' ' || in[len - 1] == '\t'))
		len--;
	if (len >= 2 && in[0] == '<' && in[len - 1] == '>') {
		in++;
		len -= 2;
	}
	*in_r = in;
	*len_r = len;
}

/* check_bytes: no NUL, CR, LF or control character, and well-formed UTF-8,
 * before any byte is given a meaning. */
static int check_bytes(const char *in, size_t len, const char **why_r)
{
	for (size_t i = 0; i < len; i++) {
		const unsigned char *s = (const unsigned char *)in + i;
		size_t n;

		if (in[i] == '\0') {
			*why_r = "NUL byte in address";
			return -1;
		}
		if (in[i] == '\r' || in[i] == '\n') {
			*why_r = "CR or LF in address";
			return -1;
		}
		if (is_ctl(*s)) {
			*why_r = "control character in address";
			return -1;
		}
		if (*s < 0x80)
			continue;
		if ((n = utf8_char(s, len - i)) == 0) {
			*why_r = "invalid UTF-8 in address";
			return -1;
		}
		if (is_c1(s)) {
			*why_r = "control character in address";
			return -1;
		}
		i += n - 1;
	}
	return 0;
}

/* find_at: the domain starts after the last '@' that is not inside quotes. */
static int find_at(const char *in, size_t len, size_t *at_r, const char **why_r)
{
	size_t at = len;
	int inq = 0;

	for (size_t i = 0; i < len; i++) {
		if (inq && in[i] == '\\' && i + 1 < len) {
			i++;
			continue;
		}
		if (in[i] == '"')
			inq = !inq;
		else if (!inq && in[i] == '@')
			at = i;
	}
	if (inq) {
		*why_r = "unbalanced quotes in address";
		return -1;
	}
	if (at == len) {
		*why_r = "no @domain in address";
		return -1;
	}
	*at_r = at;
	return 0;
}

/* check_domain: DOM without its trailing dot (*DLEN_R shortened). */
static int check_domain(const char *dom, size_t *dlen_r, const char **why_r)
{
	size_t dlen = *dlen_r;

	if (dlen > 0 && dom[dlen - 1] == '.')
		dlen--;
	if (dlen == 0) {
		*why_r = "empty domain";
		return -1;
	}
	if (dlen > ADDR_DOMAIN_MAX) {
		*why_r = "domain longer than 255 bytes";
		return -1;
	}
	if (!domain_ok(dom, dlen)) {
		*why_r = "bad domain (not a hostname or an address literal)";
		return -1;
	}
	*dlen_r = dlen;
	return 0;
}

/* unquote_local: a quoted local part loses its quotes and backslashes;
 * LOCAL has room for ADDR_LOCAL_MAX bytes. */
static int unquote_local(const char *lp, size_t lplen, char *local, size_t *ll_r,
			 const char **why_r)
{
	size_t ll = 0;

	if (lplen < 2 || lp[lplen - 1] != '"') {
		*why_r = "bad quoting in local part";
		return -1;
	}
	for (size_t i = 1; i + 1 < lplen; i++) {
		char c = lp[i];

		if (c == '\\') {
			if (i + 2 >= lplen) {
				*why_r = "bad quoting in local part";
				return -1;
			}
			c = lp[++i];
		} else if (c == '"') {
			*why_r = "bad quoting in local part";
			return -1;
		}
		/* Canonical form keeps no quoting: a quote or a backslash in
		 * it would make "\"a\""@x and a@x one address. */
		if (c == '"' || c == '\\') {
			*why_r = "quote or backslash inside a quoted local part";
			return -1;
		}
		if (ll == ADDR_LOCAL_MAX) {
			*why_r = "local part longer than 64 bytes";
			return -1;
		}
		local[ll++] = c;
	}
	if (ll == 0) {
		*why_r = "empty local part";
		return -1;
	}
	*ll_r = ll;
	return 0;
}

/* copy_local: an unquoted local part (LPLEN > 0), as it is. */
static int copy_local(const char *lp, size_t lplen, int flags, char *local, size_t *ll_r,
		      const char **why_r)
{
	size_t ll = 0;

	for (size_t i = 0; i < lplen; i++) {
		if (lp[i] == '"' || lp[i] == '\\') {
			*why_r = "bad quoting in local part";
			return -1;
		}
		if (ll == ADDR_LOCAL_MAX) {
			*why_r = "local part longer than 64 bytes";
			return -1;
		}
		local[ll++] = lp[i];
	}
	if (!(flags & ADDR_INTERNAL) && !dot_atom(local, ll)) {
		*why_r = "unquoted local part is not an RFC 5321 dot-atom (a space, "
			 "':', ',', ';', '@', a bracket or a stray dot: quote it)";
		return -1;
	}
	*ll_r = ll;
	return 0;
}

int addr_normalize(const char *in, size_t len, int flags, char *out, const char **why_r)
{
	size_t at;

	trim_address(&in, &len);
	if (len == 0) {
		*why_r = "empty address";
		return -1;
	}
	if (check_bytes(in, len, why_r) < 0 || find_at(in, len, &at, why_r) < 0)
		return -1;
	const char *dom = in + at + 1;
	size_t dlen = len - at - 1;

	if (check_domain(dom, &dlen, why_r) < 0)
		return -1;

	char local[ADDR_LOCAL_MAX + 1];
	size_t ll = 0;

	if (at == 0) {
		*why_r = "empty local part";
		return -1;
	}
	if (in[0] == '"' ? unquote_local(in, at, local, &ll, why_r) < 0
			 : copy_local(in, at, flags, local, &ll, why_r) < 0)
		return -1;
	/* In the canonical form a leading space would be trimmed away as the
	 * address's own white space: two spellings of one address. */
	if (local[0] == ' ' || local[ll - 1] == ' ') {
		*why_r = "white space at the start or end of the local part";
		return -1;
	}
	for (size_t i = 0; i < ll; i++)
		if ((flags & ADDR_FOLD_LOCAL) && local[i] >= 'A' && local[i] <= 'Z')
			local[i] = (char)(local[i] - 'A' + 'a');
	memcpy(out, local, ll);
	out[ll] = '@';
	for (size_t i = 0; i < dlen; i++) {
		char c = dom[i];

		out[ll + 1 + i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	out[ll + 1 + dlen] = '\0';
	return 0;
}
