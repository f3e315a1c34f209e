#include <string.h>

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

static int domain_ok(const char *d, size_t n)
{
	if (n >= 2 && d[0] == '[' && d[n - 1] == ']') {
		for (size_t i = 1; i + 1 < n; i++)
			if (!((d[i] >= '0' && d[i] <= '9') || d[i] == '.' || d[i] == ':' ||
			      (d[i] >= 'a' && d[i] <= 'f') || (d[i] >= 'A' && d[i] <= 'F') ||
			      d[i] == 'I' || d[i] == 'P' || d[i] == 'v' || d[i] == 'V'))
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
		/* UTF-8 domains (SMTPUTF8) pass as bytes >= 0x80. */
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c >= 0x80))
			return 0;
		if (label == 0 && c == '-')
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0 && d[n - 1] != '-';
}

int addr_normalize(const char *in, size_t len, int flags, char *out, const char **why_r)
{
	/* Surrounding white space and one pair of angle brackets. */
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
	if (len == 0) {
		*why_r = "empty address";
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		if (in[i] == '\0') {
			*why_r = "NUL byte in address";
			return -1;
		}
		if (in[i] == '\r' || in[i] == '\n') {
			*why_r = "CR or LF in address";
			return -1;
		}
		if (is_ctl((unsigned char)in[i])) {
			*why_r = "control character in address";
			return -1;
		}
	}
	/* The domain starts after the last '@' that is not inside quotes. */
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
	const char *dom = in + at + 1;
	size_t dlen = len - at - 1;

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
		*why_r = "bad domain";
		return -1;
	}

	/* Local part: a quoted string loses its quotes and backslashes. */
	char local[ADDR_LOCAL_MAX + 1];
	size_t ll = 0;
	const char *lp = in;
	size_t lplen = at;

	if (lplen == 0) {
		*why_r = "empty local part";
		return -1;
	}
	if (lp[0] == '"') {
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
	} else {
		for (size_t i = 0; i < lplen; i++) {
			if (lp[i] == '"') {
				*why_r = "bad quoting in local part";
				return -1;
			}
			if (ll == ADDR_LOCAL_MAX) {
				*why_r = "local part longer than 64 bytes";
				return -1;
			}
			local[ll++] = lp[i];
		}
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
