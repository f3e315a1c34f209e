/*
 * imap_net - reaching the server: the URL, the TCP connection (every
 * address in turn, within the timeout) and the TLS handshake with the
 * certificate checked against the host name or address.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
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

#include "imap_int.h"
#include "xalloc.h"

int imap_parse_url(const char *url, int *tls_r, char *host, size_t hsize, char *port, size_t psize)
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

int imap_tcp_connect(struct imap_conn *c, const char *host, const char *port, char **err_r)
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

int imap_tls_start(struct imap_conn *c, const struct imap_opts *o, const char *host,
		   char **err_r)
{
	char why[256];

	c->ctx = SSL_CTX_new(TLS_client_method());
	if (c->ctx == NULL)
		goto ssl_err;
	SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(c->ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
	if (o->tls_verify) {
		if (o->ca_file && *o->ca_file) {
			if (SSL_CTX_load_verify_locations(c->ctx, o->ca_file, NULL) != 1) {
				*err_r = xasprintf("%s: CA file %s: %s", c->peer, o->ca_file, imap_ssl_why(why, sizeof(why)));
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
				*err_r = xasprintf("%s: TLS handshake: %s", c->peer, imap_ssl_why(why, sizeof(why)));
			return -1;
		}
		if (imap_wait_fd(c, ev, c->timeout_ms) <= 0) {
			*err_r = xasprintf("%s: TLS handshake timed out", c->peer);
			return -1;
		}
	}
	return 0;
ssl_err:
	*err_r = xasprintf("%s: TLS: %s", c->peer, imap_ssl_why(why, sizeof(why)));
	return -1;
}
