/*
 * imap_io - the connection's bytes: reads fed to the response parser,
 * buffered writes, both plain or through TLS, both bounded by the
 * connection's timeout.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "imap_int.h"
#include "xalloc.h"

int imap_wait_fd(struct imap_conn *c, short events, int timeout_ms)
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

const char *imap_ssl_why(char *buf, size_t size)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		return "TLS error";
	ERR_error_string_n(e, buf, size);
	return buf;
}

/* raw_read: >0 bytes, 0 end of stream, -1 error, -2 nothing now. */
/* plain_io: one write of WBUF, or one read into RBUF, on the socket without
 * TLS: the bytes done, -2 when it would block, -1 on an error (recorded). */
static ssize_t plain_io(struct imap_conn *c, const void *wbuf, void *rbuf, size_t n)
{
	for (;;) {
		ssize_t r = wbuf ? write(c->fd, wbuf, n) : read(c->fd, rbuf, n);

		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return -2;
		imap_fail(c, "%s: %s", wbuf ? "write" : "read", strerror(errno));
		return -1;
	}
}

static ssize_t raw_read(struct imap_conn *c, void *buf, size_t n, short *want_r)
{
	char why[256];

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
			imap_fail(c, "read: %s", imap_ssl_why(why, sizeof(why)));
			return -1;
		}
	}
	return plain_io(c, NULL, buf, n);
}

static ssize_t raw_write(struct imap_conn *c, const void *buf, size_t n, short *want_r)
{
	char why[256];

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
			imap_fail(c, "write: %s", imap_ssl_why(why, sizeof(why)));
			return -1;
		}
	}
	return plain_io(c, buf, NULL, n);
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
				return imap_fail(c, "%s", c->parser.err);
			if (c->tls_switch && !imap_parser_idle(&c->parser))
				return imap_injected(c, "(part of a line)");
			return c->failed ? -1 : 0;
		}
		if (r == 0) {
			c->eof = 1;
			if (!imap_parser_idle(&c->parser))
				return imap_fail(c, "connection closed in the middle of a response");
			return imap_fail(c, c->bye ? "server said BYE" : "connection closed");
		}
		if (r == -1)
			return -1;
		if (!block)
			return 0;
		int w = imap_wait_fd(c, want, c->timeout_ms);

		if (w == 0)
			return imap_fail(c, "timeout after %d ms waiting for the server", c->timeout_ms);
		if (w < 0)
			return imap_fail(c, "poll: %s", strerror(errno));
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
			if (imap_wait_fd(c, want, c->timeout_ms) <= 0)
				return imap_fail(c, "timeout writing to the server");
			continue;
		}
		struct pollfd pfd = {.fd = c->fd, .events = POLLOUT | POLLIN};
		int w = poll(&pfd, 1, c->timeout_ms);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return imap_fail(c, "timeout writing to the server");
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

int imap_vwritef(struct imap_conn *c, const char *fmt, va_list ap)
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
	int r = imap_vwritef(c, fmt, ap);

	va_end(ap);
	return r;
}
