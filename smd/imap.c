#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "imap.h"
#include "xalloc.h"

#define RBUF 65536
#define WBUF_FLUSH 65536
#define NDONE 1024
#define QBUFS 4

struct done {
	unsigned tag;
	enum imap_status status;
	char *text;	      /* after the status word */
	struct imap_code code; /* its spans point into text */
};

struct imap_conn {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	char peer[256];
	int timeout_ms;
	unsigned caps;
	struct imap_parser parser;
	struct imap_handler h;
	char rbuf[RBUF];
	char *wbuf;
	size_t wlen, wcap;
	unsigned next_tag;
	struct done done[NDONE];
	int continuation; /* a "+" arrived */
	unsigned tls_tag;  /* the STARTTLS command's tag while it is pending, else 0 */
	int tls_switch;	   /* its OK arrived: nothing more may come before the handshake */
	int bye, eof, failed;
	char *q[QBUFS];
	int qi;
	char err[512];
};

static int cfail(struct imap_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int cfail(struct imap_conn *c, const char *fmt, ...)
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
static int injected(struct imap_conn *c, const char *text)
{
	return cfail(c, "STARTTLS: the server sent data after its OK, before the TLS handshake "
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
		return cfail(c, "response with an unknown tag: %.60s", text);
	if (ev->bad)
		return cfail(c, "bad tagged response: %.60s", text);
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
		return injected(c, text);
	imap_event_parse(text, len, &ev);
	if (ev.tagged)
		r = on_tagged(c, &ev, text);
	else if (ev.type == IMAP_EV_CONTINUE) {
		c->continuation = 1;
		r = 0;
	} else if (len >= 2 && text[0] == '*' && text[1] == ' ')
		r = on_untagged(c, &ev);
	else
		r = cfail(c, "unexpected response: %.60s", text);
	imap_event_free(&ev);
	return r;
}

static int on_literal(void *ctx, const char *text, size_t len, uint64_t size)
{
	struct imap_conn *c = ctx;
	struct imap_body b = {.size = size};

	if (c->tls_switch)
		return injected(c, text);
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

/* ------------------------------------------------------------ I/O */

static int wait_fd(struct imap_conn *c, short events, int timeout_ms)
{
	struct pollfd pfd = {.fd = c->fd, .events = events};

	for (;;) {
		int r = poll(&pfd, 1, timeout_ms);

		if (r > 0)
			return 1;
		if (r == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

static const char *ssl_why(void)
{
	static char buf[256];
	unsigned long e = ERR_get_error();

	if (e == 0)
		return "TLS error";
	ERR_error_string_n(e, buf, sizeof(buf));
	return buf;
}

/* raw_read: >0 bytes, 0 end of stream, -1 error, -2 nothing now. */
static ssize_t raw_read(struct imap_conn *c, void *buf, size_t n, short *want_r)
{
	*want_r = POLLIN;
	if (c->ssl) {
		ERR_clear_error();
		int r = SSL_read(c->ssl, buf, (int)(n > 1 << 30 ? 1 << 30 : n));

		if (r > 0)
			return r;
		switch (SSL_get_error(c->ssl, r)) {
		case SSL_ERROR_WANT_READ:
			return -2;
		case SSL_ERROR_WANT_WRITE:
			*want_r = POLLOUT;
			return -2;
		case SSL_ERROR_ZERO_RETURN:
			return 0;
		case SSL_ERROR_SYSCALL:
			if (ERR_peek_error() == 0)
				return 0; /* closed without close_notify */
			/* fall through */
		default:
			cfail(c, "read: %s", ssl_why());
			return -1;
		}
	}
	for (;;) {
		ssize_t r = read(c->fd, buf, n);

		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return -2;
		cfail(c, "read: %s", strerror(errno));
		return -1;
	}
}

static ssize_t raw_write(struct imap_conn *c, const void *buf, size_t n, short *want_r)
{
	*want_r = POLLOUT;
	if (c->ssl) {
		ERR_clear_error();
		int r = SSL_write(c->ssl, buf, (int)(n > 1 << 30 ? 1 << 30 : n));

		if (r > 0)
			return r;
		switch (SSL_get_error(c->ssl, r)) {
		case SSL_ERROR_WANT_WRITE:
			return -2;
		case SSL_ERROR_WANT_READ:
			*want_r = POLLIN;
			return -2;
		default:
			cfail(c, "write: %s", ssl_why());
			return -1;
		}
	}
	for (;;) {
		ssize_t r = write(c->fd, buf, n);

		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return -2;
		cfail(c, "write: %s", strerror(errno));
		return -1;
	}
}

int imap_read(struct imap_conn *c, int block)
{
	short want;

	if (c->failed)
		return -1;
	for (;;) {
		ssize_t r = raw_read(c, c->rbuf, sizeof(c->rbuf), &want);

		if (r > 0) {
			if (imap_parser_feed(&c->parser, c->rbuf, (size_t)r) < 0)
				return cfail(c, "%s", c->parser.err);
			if (c->tls_switch && !imap_parser_idle(&c->parser))
				return injected(c, "(part of a line)");
			return c->failed ? -1 : 0;
		}
		if (r == 0) {
			c->eof = 1;
			if (!imap_parser_idle(&c->parser))
				return cfail(c, "connection closed in the middle of a response");
			return cfail(c, c->bye ? "server said BYE" : "connection closed");
		}
		if (r == -1)
			return -1;
		if (!block)
			return 0;
		int w = wait_fd(c, want, c->timeout_ms);

		if (w == 0)
			return cfail(c, "timeout after %d ms waiting for the server", c->timeout_ms);
		if (w < 0)
			return cfail(c, "poll: %s", strerror(errno));
	}
}

/*
 * write_all: write N bytes. While the server does not take our bytes,
 * read what it sends: a server that blocks writing its responses may
 * stop reading, and both would wait for ever.
 */
static int write_all(struct imap_conn *c, const char *p, size_t n)
{
	size_t off = 0;
	short want;

	while (off < n) {
		ssize_t r = raw_write(c, p + off, n - off, &want);

		if (r > 0) {
			off += (size_t)r;
			continue;
		}
		if (r == -1)
			return -1;
		if (c->ssl) {
			/* Interleaving SSL_read with a pending SSL_write retry
			 * is legal but not worth the risk: just wait. */
			if (wait_fd(c, want, c->timeout_ms) <= 0)
				return cfail(c, "timeout writing to the server");
			continue;
		}
		struct pollfd pfd = {.fd = c->fd, .events = POLLOUT | POLLIN};
		int w = poll(&pfd, 1, c->timeout_ms);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return cfail(c, "timeout writing to the server");
		if ((pfd.revents & (POLLIN | POLLHUP)) && !(pfd.revents & POLLOUT) &&
		    imap_read(c, 0) < 0)
			return -1;
	}
	return 0;
}

int imap_flush(struct imap_conn *c)
{
	if (c->failed)
		return -1;
	if (write_all(c, c->wbuf, c->wlen) < 0)
		return -1;
	c->wlen = 0;
	return 0;
}

size_t imap_pending_output(const struct imap_conn *c)
{
	return c->wlen;
}

int imap_write(struct imap_conn *c, const void *d, size_t n)
{
	if (c->failed)
		return -1;
	if (c->wlen + n > c->wcap && c->wlen > 0 && imap_flush(c) < 0)
		return -1;
	if (n >= WBUF_FLUSH)
		return write_all(c, d, n); /* large pieces go straight out */
	memcpy(c->wbuf + c->wlen, d, n);
	c->wlen += n;
	return 0;
}

static int vwritef(struct imap_conn *c, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static int vwritef(struct imap_conn *c, const char *fmt, va_list ap)
{
	char *s;
	int n = vasprintf(&s, fmt, ap);

	if (n < 0)
		abort();
	int r = imap_write(c, s, (size_t)n);

	free(s);
	return r;
}

int imap_writef(struct imap_conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int r = vwritef(c, fmt, ap);

	va_end(ap);
	return r;
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
	vwritef(c, fmt, ap);
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
	vwritef(c, fmt, ap);
	imap_write(c, "\r\n", 2);
	if (imap_wait(c, tag, &st, &text) < 0)
		return -1;
	if (st != IMAP_OK) {
		char cmd[80];

		snprintf(cmd, sizeof(cmd), "%s", fmt);
		cmd[strcspn(cmd, " ")] = '\0';
		return cfail(c, "%s: %s %.200s", cmd, st == IMAP_NO ? "NO" : "BAD", text);
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
		cfail(c, "cannot send a string with CR or LF without LITERAL+");
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

/* ------------------------------------------------------------ connecting */

static int parse_url(const char *url, int *tls_r, char *host, size_t hsize, char *port, size_t psize)
{
	const char *p;

	if (strncasecmp(url, "imaps://", 8) == 0) {
		*tls_r = 1;
		p = url + 8;
	} else if (strncasecmp(url, "imap://", 7) == 0) {
		*tls_r = 0;
		p = url + 7;
	} else {
		return -1;
	}
	const char *hs = p, *he;

	if (*p == '[') {
		hs = ++p;
		he = strchr(p, ']');
		if (he == NULL)
			return -1;
		p = he + 1;
	} else {
		he = p + strcspn(p, ":/");
		p = he;
	}
	if (he == hs || (size_t)(he - hs) >= hsize)
		return -1;
	memcpy(host, hs, (size_t)(he - hs));
	host[he - hs] = '\0';
	if (*p == ':') {
		p++;
		size_t n = strspn(p, "0123456789");

		if (n == 0 || n >= psize || (p[n] != '\0' && p[n] != '/'))
			return -1;
		memcpy(port, p, n);
		port[n] = '\0';
	} else if (*p == '\0' || *p == '/') {
		snprintf(port, psize, "%s", *tls_r ? "993" : "143");
	} else {
		return -1;
	}
	return 0;
}

static int tcp_connect(struct imap_conn *c, const char *host, const char *port, char **err_r)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
	int rc = getaddrinfo(host, port, &hints, &res);

	if (rc != 0) {
		*err_r = xasprintf("%s: %s", c->peer, gai_strerror(rc));
		return -1;
	}
	int last = 0;

	for (ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
				ai->ai_protocol);

		if (fd < 0) {
			last = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
			last = errno;
			close(fd);
			continue;
		}
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		if (poll(&pfd, 1, c->timeout_ms) <= 0) {
			last = ETIMEDOUT;
			close(fd);
			continue;
		}
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
		if (soerr) {
			last = soerr;
			close(fd);
			continue;
		}
		int one = 1;

		/* Pipelined commands are small writes: no Nagle stalls. */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->fd = fd;
		freeaddrinfo(res);
		return 0;
	}
	freeaddrinfo(res);
	*err_r = xasprintf("%s: connect: %s", c->peer, strerror(last));
	return -1;
}

static int tls_start(struct imap_conn *c, const struct imap_opts *o, const char *host, char **err_r)
{
	c->ctx = SSL_CTX_new(TLS_client_method());
	if (c->ctx == NULL)
		goto ssl_err;
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(c->ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
	if (o->tls_verify) {
		if (o->ca_file && *o->ca_file) {
			if (SSL_CTX_load_verify_locations(c->ctx, o->ca_file, NULL) != 1) {
				*err_r = xasprintf("%s: CA file %s: %s", c->peer, o->ca_file, ssl_why());
				return -1;
			}
		} else if (SSL_CTX_set_default_verify_paths(c->ctx) != 1) {
			goto ssl_err;
		}
		SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	}
	c->ssl = SSL_new(c->ctx);
	if (c->ssl == NULL)
		goto ssl_err;
	SSL_set_fd(c->ssl, c->fd);
	struct in6_addr a6;
	struct in_addr a4;
	int is_ip = inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1;

	if (!is_ip)
		SSL_set_tlsext_host_name(c->ssl, host);
	if (o->tls_verify) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);

		if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, host) != 1
			  : X509_VERIFY_PARAM_set1_host(vp, host, 0) != 1)
			goto ssl_err;
	}
	for (;;) {
		ERR_clear_error();
		int r = SSL_connect(c->ssl);

		if (r == 1)
			break;
		int e = SSL_get_error(c->ssl, r);
		short ev = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;

		if (ev == 0) {
			long vr = SSL_get_verify_result(c->ssl);

			if (vr != X509_V_OK)
				*err_r = xasprintf("%s: TLS: certificate verification failed: %s",
						   c->peer, X509_verify_cert_error_string(vr));
			else
				*err_r = xasprintf("%s: TLS handshake: %s", c->peer, ssl_why());
			return -1;
		}
		if (wait_fd(c, ev, c->timeout_ms) <= 0) {
			*err_r = xasprintf("%s: TLS handshake timed out", c->peer);
			return -1;
		}
	}
	return 0;
ssl_err:
	*err_r = xasprintf("%s: TLS: %s", c->peer, ssl_why());
	return -1;
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
 * its OK in the same read fails the connection (see injected()); the
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
	return tls_start(c, o, host, err_r);
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
	if (o->url == NULL || parse_url(o->url, &tls, host, sizeof(host), port, sizeof(port)) < 0) {
		*err_r = xasprintf("%s: bad IMAP URL (imap://host:port or imaps://host:port)", c->peer);
		goto fail;
	}
	if (tcp_connect(c, host, port, err_r) < 0)
		goto fail;
	if (tls && tls_start(c, o, host, err_r) < 0)
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
		return cfail(c, "login as %s%s%s failed: %.200s", user, master ? " via " : "",
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
