/*
 * imap_int - what the pieces of the IMAP client share (imap.h is its
 * public face): the connection, and the helpers one piece offers the
 * others.
 *
 *   imap.c        responses and completions, commands, connecting, closing
 *   imap_io.c     reading and writing, plain or TLS, with timeouts
 *   imap_net.c    the URL, the TCP connection, the TLS handshake
 *   imap_login.c  LOGIN and AUTHENTICATE PLAIN
 *
 * Contract: imap_fail() records the first reason in c->err and marks the
 * connection failed; every later call then fails at once.
 */
#ifndef FEDMIG_SMD_IMAP_INT_H
#define FEDMIG_SMD_IMAP_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "imap.h"

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

int imap_fail(struct imap_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* imap_injected: fail C for data that came between STARTTLS's OK and the handshake. */
int imap_injected(struct imap_conn *c, const char *text);
/* imap_wait_fd: poll C's socket for EVENTS: 1 ready, 0 timeout, -1 error. */
int imap_wait_fd(struct imap_conn *c, short events, int timeout_ms);
/* imap_ssl_why: OpenSSL's last error, in BUF of SIZE bytes. */
const char *imap_ssl_why(char *buf, size_t size);
int imap_vwritef(struct imap_conn *c, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* imap_parse_url: imap://host[:port] or imaps://host[:port]; 0, or -1 if malformed. */
int imap_parse_url(const char *url, int *tls_r, char *host, size_t hsize, char *port,
		   size_t psize);
/* imap_tcp_connect: connect C->fd to HOST:PORT (non-blocking, within the timeout). */
int imap_tcp_connect(struct imap_conn *c, const char *host, const char *port, char **err_r);
/* imap_tls_start: the TLS handshake on C->fd, verified as O asks. */
int imap_tls_start(struct imap_conn *c, const struct imap_opts *o, const char *host,
		   char **err_r);

#endif
