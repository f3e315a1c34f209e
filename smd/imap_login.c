/*
 * imap_login - logging in: LOGIN, or SASL PLAIN with an authorization
 * identity for a master user. The secret is wiped from every buffer of
 * the connection once it is sent.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap_int.h"
#include "xalloc.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *base64(const unsigned char *s, size_t n)
{
	char *out = xmalloc(4 * ((n + 2) / 3) + 1), *o = out;

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) |
			     (i + 2 < n ? s[i + 2] : 0);

		*o++ = b64[v >> 18 & 63];
		*o++ = b64[v >> 12 & 63];
		*o++ = i + 1 < n ? b64[v >> 6 & 63] : '=';
		*o++ = i + 2 < n ? b64[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

int imap_login_start(struct imap_conn *c, const char *user, const char *master,
		     const char *master_sep, const char *password, unsigned *tag_r)
{
	unsigned tag;

	if (master && master_sep == NULL) {
		/* SASL PLAIN: authzid \0 authcid \0 password (RFC 4616). */
		size_t ul = strlen(user), ml = strlen(master), pl = strlen(password);
		unsigned char *raw = xmalloc(ul + ml + pl + 2);

		memcpy(raw, user, ul);
		raw[ul] = 0;
		memcpy(raw + ul + 1, master, ml);
		raw[ul + 1 + ml] = 0;
		memcpy(raw + ul + ml + 2, password, pl);
		char *enc = base64(raw, ul + ml + pl + 2);

		explicit_bzero(raw, ul + ml + pl + 2);
		free(raw);
		if (c->caps & IMAP_CAP_SASL_IR) {
			tag = imap_cmd(c, "AUTHENTICATE PLAIN %s", enc);
		} else {
			tag = imap_cmd(c, "AUTHENTICATE PLAIN");
			int w = imap_wait_continuation(c, tag);

			if (w == 0)
				imap_writef(c, "%s\r\n", enc);
			else if (w < 0) {
				explicit_bzero(enc, strlen(enc));
				free(enc);
				return -1;
			}
		}
		explicit_bzero(enc, strlen(enc));
		free(enc);
	} else {
		char *login = master ? xasprintf("%s%s%s", user, master_sep, master) : xstrdup(user);

		tag = imap_cmd(c, "LOGIN %s %s", imap_q(c, login), imap_q(c, password));
		free(login);
	}
	int r = imap_flush(c);

	/* The command buffer held the secret: wipe it. */
	explicit_bzero(c->wbuf, c->wcap);
	for (int i = 0; i < QBUFS; i++)
		if (c->q[i])
			explicit_bzero(c->q[i], strlen(c->q[i]));
	*tag_r = tag;
	return r;
}

int imap_login_finish(struct imap_conn *c, unsigned tag, const char *user, const char *master)
{
	enum imap_status st;
	const char *text;

	if (imap_wait(c, tag, &st, &text) < 0)
		return -1;
	if (st != IMAP_OK)
		return imap_fail(c, "login as %s%s%s failed: %.200s", user, master ? " via " : "",
			     master ? master : "", text);
	if (imap_simple(c, "CAPABILITY") < 0)
		return -1;
	return 0;
}

int imap_login(struct imap_conn *c, const char *user, const char *master, const char *master_sep,
	       const char *password)
{
	unsigned tag;

	if (imap_login_start(c, user, master, master_sep, password, &tag) < 0)
		return -1;
	return imap_login_finish(c, tag, user, master);
}
