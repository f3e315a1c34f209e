#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "imap_int.h"
#include "xalloc.h"

int imap_fail(struct imap_conn *c, const char *fmt, ...)
{
	char why[200];
	va_list ap;

	if (c->failed)
		return -1;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(c->err, sizeof(c->err), "%s: %s", c->peer, why);
	c->failed = 1;
	return -1;
}

const char *imap_error(const struct imap_conn *c)
{
	return c->err;
}

unsigned imap_caps(const struct imap_conn *c)
{
	return c->caps;
}

int imap_tls_active(const struct imap_conn *c)
{
	return c->ssl != NULL;
}

unsigned imap_next_tag(const struct imap_conn *c)
{
	return c->next_tag;
}

void imap_set_handler(struct imap_conn *c, const struct imap_handler *h)
{
	if (h)
		c->h = *h;
	else
		memset(&c->h, 0, sizeof(c->h));
}

/* ------------------------------------------------------------ responses */

static struct done *done_slot(struct imap_conn *c, unsigned tag)
{
	return &c->done[tag % NDONE];
}

/*
 * injected: a response after STARTTLS's OK and before the handshake. A
 * man in the middle can put it in the same packet as the OK; read as if
 * it came over TLS it would be trusted (CVE-2011-0411 and its IMAP kin),
 * so the connection fails instead.
 */
int imap_injected(struct imap_conn *c, const char *text)
{
	return imap_fail(c, "STARTTLS: the server sent data after its OK, before the TLS handshake "
			"(response injection?): %.60s",
		     text);
}

/* rebase: S pointed into FROM; the same bytes are at TO now. */
static void rebase(struct imap_span *s, const char *from, const char *to)
{
	if (s->p)
		s->p = to + (s->p - from);
}

/* keep_code: the code of a completion, its spans moved into D->text. */
static void keep_code(struct done *d, const struct imap_state *st)
{
	d->code = st->code;
	rebase(&d->code.set, st->rest.p, d->text);
	rebase(&d->code.src_set, st->rest.p, d->text);
	rebase(&d->code.list, st->rest.p, d->text);
	rebase(&d->code.text, st->rest.p, d->text);
	rebase(&d->code.caps.words, st->rest.p, d->text);
}

static int on_tagged(struct imap_conn *c, const struct imap_event *ev, const char *text)
{
	static const enum imap_status status[] = {IMAP_OK, IMAP_NO, IMAP_BAD};
	unsigned long long tag;

	if (imap_tag_number(ev->tag, 'A', &tag) < 0 || tag >= c->next_tag)
		return imap_fail(c, "response with an unknown tag: %.60s", text);
	if (ev->bad)
		return imap_fail(c, "bad tagged response: %.60s", text);
	const struct imap_state *st = &ev->u.state;
	struct done *d = done_slot(c, (unsigned)tag);

	if (st->cond == IMAP_COND_OK && st->code.type == IMAP_CODE_CAPABILITY)
		c->caps = st->code.caps.bits;
	free(d->text);
	d->tag = (unsigned)tag;
	d->status = status[st->cond];
	d->text = xstrndup(st->rest.p, st->rest.len);
	keep_code(d, st);
	if (c->tls_tag && tag == c->tls_tag && st->cond == IMAP_COND_OK)
		c->tls_switch = 1;
	return 0;
}

static int on_untagged(struct imap_conn *c, const struct imap_event *ev)
{
	if (ev->type == IMAP_EV_CAPABILITY) {
		c->caps = ev->u.caps.bits;
	} else if (ev->type == IMAP_EV_STATE) {
		const struct imap_state *st = &ev->u.state;

		if (st->cond == IMAP_COND_OK && st->code.type == IMAP_CODE_CAPABILITY)
			c->caps = st->code.caps.bits;
		else if (st->cond == IMAP_COND_BYE)
			c->bye = 1;
	}
	if (c->h.event)
		return c->h.event(c->h.ctx, ev);
	return 0;
}

static int on_response(void *ctx, const char *text, size_t len)
{
	struct imap_conn *c = ctx;
	struct imap_event ev;
	int r;

	if (c->tls_switch)
		return imap_injected(c, text);
	imap_event_parse(text, len, &ev);
	if (ev.tagged)
		r = on_tagged(c, &ev, text);
	else if (ev.type == IMAP_EV_CONTINUE) {
		c->continuation = 1;
		r = 0;
	} else if (len >= 2 && text[0] == '*' && text[1] == ' ')
		r = on_untagged(c, &ev);
	else
		r = imap_fail(c, "unexpected response: %.60s", text);
	imap_event_free(&ev);
	return r;
}

static int on_literal(void *ctx, const char *text, size_t len, uint64_t size)
{
	struct imap_conn *c = ctx;
	struct imap_body b = {.size = size};

	if (c->tls_switch)
		return imap_injected(c, text);
	if (c->h.body == NULL || !imap_body_announce(text, len, &b.seq, &b.uid, &b.has_uid))
		return IMAP_LIT_INLINE;
	return c->h.body(c->h.ctx, &b);
}

static int on_data(void *ctx, const char *d, size_t n, int end)
{
	struct imap_conn *c = ctx;

	if (c->h.data)
		return c->h.data(c->h.ctx, d, n, end);
	return 0;
}

unsigned imap_take_tag(struct imap_conn *c)
{
	unsigned tag = c->next_tag++;
	struct done *d = done_slot(c, tag);

	d->tag = tag;
	d->status = IMAP_PENDING;
	free(d->text);
	d->text = NULL;
	memset(&d->code, 0, sizeof(d->code));
	return tag;
}

unsigned imap_cmd(struct imap_conn *c, const char *fmt, ...)
{
	unsigned tag = imap_take_tag(c);
	va_list ap;

	imap_writef(c, "A%u ", tag);
	va_start(ap, fmt);
	imap_vwritef(c, fmt, ap);
	va_end(ap);
	imap_write(c, "\r\n", 2);
	return tag;
}

int imap_done(const struct imap_conn *c, unsigned tag)
{
	const struct done *d = &c->done[tag % NDONE];

	return d->tag == tag && d->status != IMAP_PENDING;
}

const struct imap_code *imap_result_code(const struct imap_conn *c, unsigned tag)
{
	static const struct imap_code none = {.type = IMAP_CODE_NONE};
	const struct done *d = &c->done[tag % NDONE];

	return imap_done(c, tag) ? &d->code : &none;
}

int imap_wait(struct imap_conn *c, unsigned tag, enum imap_status *status_r, const char **text_r)
{
	if (c->wlen && imap_flush(c) < 0)
		return -1;
	while (!imap_done(c, tag))
		if (imap_read(c, 1) < 0)
			return -1;
	struct done *d = done_slot(c, tag);

	*status_r = d->status;
	if (text_r)
		*text_r = d->text ? d->text : "";
	return 0;
}

int imap_wait_continuation(struct imap_conn *c, unsigned tag)
{
	if (c->wlen && imap_flush(c) < 0)
		return -1;
	c->continuation = 0;
	while (!c->continuation) {
		if (imap_done(c, tag))
			return 1;
		if (imap_read(c, 1) < 0)
			return -1;
	}
	c->continuation = 0;
	return 0;
}

static int vsimple(struct imap_conn *c, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static int vsimple(struct imap_conn *c, const char *fmt, va_list ap)
{
	unsigned tag = imap_take_tag(c);
	enum imap_status st;
	const char *text;

	imap_writef(c, "A%u ", tag);
	imap_vwritef(c, fmt, ap);
	imap_write(c, "\r\n", 2);
	if (imap_wait(c, tag, &st, &text) < 0)
		return -1;
	if (st != IMAP_OK) {
		char cmd[80];

		snprintf(cmd, sizeof(cmd), "%s", fmt);
		cmd[strcspn(cmd, " ")] = '\0';
		return imap_fail(c, "%s: %s %.200s", cmd, st == IMAP_NO ? "NO" : "BAD", text);
	}
	return 0;
}

int imap_simple(struct imap_conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int r = vsimple(c, fmt, ap);

	va_end(ap);
	return r;
}

const char *imap_q(struct imap_conn *c, const char *s)
{
	size_t n = strlen(s);
	int eight = 0, crlf = 0;
	char *out, *o;

	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p >= 0x80 || *p == '\r' || *p == '\n')
			eight = 1;
		if (*p == '\r' || *p == '\n')
			crlf = 1;
	}
	c->qi = (c->qi + 1) % QBUFS;
	free(c->q[c->qi]);
	if (crlf && !(c->caps & IMAP_CAP_LITERALPLUS)) {
		/* A quoted string cannot hold CR or LF: the server would read
		 * the rest (a folder name from the source) as a command of its
		 * own. Fail the connection, so that nothing more is sent. */
		imap_fail(c, "cannot send a string with CR or LF without LITERAL+");
		out = xstrdup("\"\"");
	} else if (eight && (c->caps & IMAP_CAP_LITERALPLUS)) {
		out = xasprintf("{%zu+}\r\n%s", n, s);
	} else {
		o = out = xmalloc(2 * n + 3);
		*o++ = '"';
		for (const char *p = s; *p; p++) {
			if (*p == '"' || *p == '\\')
				*o++ = '\\';
			*o++ = *p;
		}
		*o++ = '"';
		*o = '\0';
	}
	c->q[c->qi] = out;
	return out;
}

/* greeting: wait for the first response; "* OK" or "* PREAUTH" is good. */
static int greeting_event(void *ctx, const struct imap_event *ev)
{
	int *got = ctx;

	if (*got == 0)
		*got = ev->type == IMAP_EV_STATE && (ev->u.state.cond == IMAP_COND_OK ||
						     ev->u.state.cond == IMAP_COND_PREAUTH)
			       ? 1
			       : -1;
	return 0;
}

static const struct imap_parser_cb pcb = {on_literal, on_data, on_response};

/*
 * starttls: STARTTLS and the handshake. Whatever the server sent after
 * its OK in the same read fails the connection (see imap_injected()); the
 * parser then starts afresh, so nothing read in clear survives into the
 * encrypted session.
 */
static int starttls(struct imap_conn *c, const struct imap_opts *o, const char *host, char **err_r)
{
	enum imap_status st;
	const char *text;
	unsigned tag = imap_cmd(c, "STARTTLS");

	c->tls_tag = tag;
	if (imap_flush(c) < 0 || imap_wait(c, tag, &st, &text) < 0) {
		*err_r = xstrdup(c->err);
		return -1;
	}
	if (st != IMAP_OK) {
		*err_r = xasprintf("%s: STARTTLS: %s", c->peer, text);
		return -1;
	}
	if (!c->tls_switch || !imap_parser_idle(&c->parser)) {
		*err_r = xasprintf("%s: STARTTLS: data buffered at the TLS switch", c->peer);
		return -1;
	}
	imap_parser_free(&c->parser);
	imap_parser_init(&c->parser, &pcb, c, 0, 0, 0);
	c->tls_tag = 0;
	c->tls_switch = 0;
	return imap_tls_start(c, o, host, err_r);
}

struct imap_conn *imap_connect(const struct imap_opts *o, char **err_r)
{
	struct imap_conn *c = xcalloc(1, sizeof(*c));
	char host[256], port[16];
	int tls;

	c->fd = -1;
	c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 60000;
	c->next_tag = 1;
	c->wcap = WBUF_FLUSH;
	c->wbuf = xmalloc(c->wcap);
	imap_parser_init(&c->parser, &pcb, c, 0, 0, 0);
	snprintf(c->peer, sizeof(c->peer), "%s", o->url ? o->url : "(no URL)");
	if (o->url == NULL || imap_parse_url(o->url, &tls, host, sizeof(host), port, sizeof(port)) < 0) {
		*err_r = xasprintf("%s: bad IMAP URL (imap://host:port or imaps://host:port)", c->peer);
		goto fail;
	}
	if (imap_tcp_connect(c, host, port, err_r) < 0)
		goto fail;
	if (tls && imap_tls_start(c, o, host, err_r) < 0)
		goto fail;
	int got = 0;
	struct imap_handler gh = {.event = greeting_event, .ctx = &got};

	imap_set_handler(c, &gh);
	while (got == 0)
		if (imap_read(c, 1) < 0)
			goto conn_err;
	imap_set_handler(c, NULL);
	if (got < 0) {
		*err_r = xasprintf("%s: server refused the connection", c->peer);
		goto fail;
	}
	if (c->caps == 0 && imap_simple(c, "CAPABILITY") < 0)
		goto conn_err;
	if (!tls && o->starttls != IMAP_TLS_NONE) {
		if (c->caps & IMAP_CAP_STARTTLS) {
			if (starttls(c, o, host, err_r) < 0)
				goto fail;
			/* Capabilities from before TLS are not to be trusted. */
			c->caps = 0;
			if (imap_simple(c, "CAPABILITY") < 0)
				goto conn_err;
		} else if (o->starttls == IMAP_STARTTLS_YES) {
			*err_r = xasprintf("%s: STARTTLS required but not offered", c->peer);
			goto fail;
		}
	}
	return c;
conn_err:
	*err_r = xstrdup(c->err);
fail:
	imap_close(&c);
	return NULL;
}

void imap_close(struct imap_conn **cp)
{
	struct imap_conn *c = *cp;

	if (c == NULL)
		return;
	if (c->ssl) {
		SSL_free(c->ssl);
	}
	if (c->ctx)
		SSL_CTX_free(c->ctx);
	if (c->fd >= 0)
		close(c->fd);
	imap_parser_free(&c->parser);
	for (int i = 0; i < NDONE; i++)
		free(c->done[i].text);
	for (int i = 0; i < QBUFS; i++)
		free(c->q[i]);
	free(c->wbuf);
	free(c);
	*cp = NULL;
}
