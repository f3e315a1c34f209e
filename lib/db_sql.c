/*
 * db_sql - the text work of the PostgreSQL backend that needs no server:
 * ?N placeholders to $N, and the postgresql:// URL (see db.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "netname.h"
#include "xalloc.h"

/* skip_quoted: P at an opening quote Q; past the closing one (a doubled
 * quote inside is part of the text), or NULL when unterminated. */
static const char *skip_quoted(const char *p, char q)
{
	for (p++; *p != '\0'; p++)
		if (*p == q) {
			if (p[1] != q)
				return p + 1;
			p++;
		}
	return NULL;
}

/* skip_comment: P at "--" or "/ *"; past the comment, or NULL. */
static const char *skip_comment(const char *p)
{
	const char *e;

	if (p[0] == '-') {
		e = strchr(p, '\n');
		return e ? e : p + strlen(p);
	}
	e = strstr(p + 2, "*/");
	return e ? e + 2 : NULL;
}

/* param: P after '?'; N into *N_R and the digits' end, or NULL. */
static const char *param(const char *p, int *n_r, const char **err_r)
{
	int n = 0, digits = 0;

	if (*p < '1' || *p > '9') {
		*err_r = "a bare ? or ?0: write ?1, ?2, ...";
		return NULL;
	}
	for (; *p >= '0' && *p <= '9'; p++, digits++) {
		n = n * 10 + (*p - '0');
		if (digits >= 2 || n > DB_MAX_PARAMS) {
			*err_r = "a placeholder above ?99";
			return NULL;
		}
	}
	*n_r = n;
	return p;
}

/* rewrite_one: the token at *PP into OUT; 0, or -1 with *ERR_R. */
static int rewrite_one(const char **pp, char **out, size_t *len, char used[DB_MAX_PARAMS + 1],
		       int *max, const char **err_r)
{
	const char *p = *pp, *e;
	int n;

	if (*p == '\'' || *p == '"') {
		if ((e = skip_quoted(p, *p)) == NULL) {
			*err_r = "an unterminated quoted string";
			return -1;
		}
	} else if ((p[0] == '-' && p[1] == '-') || (p[0] == '/' && p[1] == '*')) {
		if ((e = skip_comment(p)) == NULL) {
			*err_r = "an unterminated comment";
			return -1;
		}
	} else if (*p == '$' || *p == '\\') {
		/* $1 or $$ would mean something to PostgreSQL only. */
		*err_r = "a $ or \\ outside quotes: write parameters as ?N";
		return -1;
	} else if (*p == '?') {
		char buf[8];

		if ((e = param(p + 1, &n, err_r)) == NULL)
			return -1;
		used[n] = 1;
		if (n > *max)
			*max = n;
		snprintf(buf, sizeof(buf), "$%d", n);
		xappend(out, len, buf, strlen(buf));
		*pp = e;
		return 0;
	} else {
		e = p + 1;
	}
	xappend(out, len, p, (size_t)(e - p));
	*pp = e;
	return 0;
}

static int ident_char(char c)
{
	return c == '_' || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || (c >= '0' && c <= '9');
}

char *db_rewrite_params(const char *sql, int *nparams_r, const char **err_r)
{
	char used[DB_MAX_PARAMS + 1] = {0};
	char *out = NULL;
	size_t len = 0;
	int max = 0;
	const char *p = sql;

	xappend(&out, &len, "", 0);
	while (*p != '\0') {
		/* E'...' takes backslash escapes a plain scanner cannot follow. */
		if ((*p == 'E' || *p == 'e') && p[1] == '\'' && (p == sql || !ident_char(p[-1]))) {
			*err_r = "an E'...' string: write escapes without E''";
			free(out);
			return NULL;
		}
		if (rewrite_one(&p, &out, &len, used, &max, err_r) < 0) {
			free(out);
			return NULL;
		}
	}
	for (int i = 1; i <= max; i++)
		if (!used[i]) {
			/* PostgreSQL cannot type a parameter no statement uses. */
			*err_r = "a placeholder number skipped (?1..?N must all appear)";
			free(out);
			return NULL;
		}
	*nparams_r = max;
	return out;
}

static int word_ok(const char *s, size_t n)
{
	if (n == 0 || n > 63)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return 0;
	return 1;
}

/* ipv6_ok: the inside of [...]: hex digits, ':' and '.' (a mapped IPv4). */
static int ipv6_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && strspn(s, "0123456789abcdefABCDEF:.") == n;
}

/* url_host: HOST[:PORT] of N bytes at S into U. */
static int url_host(const char *s, size_t n, struct db_url *u, char *err, size_t errsize)
{
	const char *h = s, *colon;
	size_t hn;
	int br = n > 0 && s[0] == '[';

	if (br) {
		const char *close = memchr(s, ']', n);

		if (close == NULL)
			return snprintf(err, errsize, "an IPv6 address without its ']'"), -1;
		h = s + 1;
		hn = (size_t)(close - h);
		colon = close + 1 < s + n ? close + 1 : NULL;
		if (colon && *colon != ':')
			return snprintf(err, errsize, "text after the IPv6 address"), -1;
	} else {
		colon = memchr(s, ':', n);
		hn = colon ? (size_t)(colon - s) : n;
	}
	if (hn >= sizeof(u->host))
		return snprintf(err, errsize, "the host name is too long"), -1;
	memcpy(u->host, h, hn);
	u->host[hn] = '\0';
	if (br ? !ipv6_ok(u->host) : !net_host_ok(u->host))
		return snprintf(err, errsize, "the host must be a name, an IPv4 or an [IPv6] address"),
		       -1;
	if (colon) {
		int port = net_port_parse(colon + 1, s + n);

		if (port < 0)
			return snprintf(err, errsize, "the port must be a number from 1 to 65535"), -1;
		snprintf(u->port, sizeof(u->port), "%hu", (unsigned short)port);
	}
	return 0;
}

int db_url_parse(const char *url, struct db_url *u, char *err, size_t errsize)
{
	const char *p, *slash, *at;

	memset(u, 0, sizeof(*u));
	if (strncmp(url, "postgresql://", 13) == 0)
		p = url + 13;
	else if (strncmp(url, "postgres://", 11) == 0)
		p = url + 11;
	else
		return snprintf(err, errsize, "not a postgresql:// URL"), -1;
	if (strpbrk(p, "?#%") != NULL)
		return snprintf(err, errsize, "URL parameters (?), fragments (#) and %%-escapes are "
					      "not accepted: only postgresql://USER@HOST:PORT/DBNAME"),
		       -1;
	if ((slash = strchr(p, '/')) == NULL)
		return snprintf(err, errsize, "no database name: postgresql://USER@HOST:PORT/DBNAME"), -1;
	at = memchr(p, '@', (size_t)(slash - p));
	if (at != NULL) {
		if (memchr(p, ':', (size_t)(at - p)) != NULL)
			return snprintf(err, errsize, "a password in the URL is refused: put it in a "
						      "mode 0600 file"),
			       -1;
		if (!word_ok(p, (size_t)(at - p)))
			return snprintf(err, errsize, "the user name must be 1 to 63 of A-Z a-z 0-9 _ . -"),
			       -1;
		memcpy(u->user, p, (size_t)(at - p));
		p = at + 1;
	}
	if (url_host(p, (size_t)(slash - p), u, err, errsize) < 0)
		return -1;
	if (!word_ok(slash + 1, strlen(slash + 1)))
		return snprintf(err, errsize, "the database name must be 1 to 63 of A-Z a-z 0-9 _ . -"),
		       -1;
	snprintf(u->dbname, sizeof(u->dbname), "%s", slash + 1);
	return 0;
}
