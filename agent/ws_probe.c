/*
 * ws_probe - IMAP and SMTP tried with the new settings (ws_probe.h).
 */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "ws_probe.h"
#include "xalloc.h"

/* What the servers said, kept to find CAPABILITY and AUTH in it. */
struct heard {
	char buf[8192];
	size_t n;
};

static void hear(struct heard *h, const char *d, size_t n)
{
	if (n > sizeof(h->buf) - 1 - h->n)
		n = sizeof(h->buf) - 1 - h->n;
	memcpy(h->buf + h->n, d, n);
	h->n += n;
	h->buf[h->n] = '\0';
}

static int on_debug(CURL *c, curl_infotype t, char *d, size_t n, void *ctx)
{
	if (t == CURLINFO_HEADER_IN)
		hear(ctx, d, n);
	return 0;
}

static size_t on_write(char *d, size_t size, size_t n, void *ctx)
{
	hear(ctx, d, size * n);
	return size * n;
}

/* easy: a handle for SCHEME://HOST:PORT/ with TLS as SOCKET says and
 * the CAs. */
static CURL *easy(const struct ws_probe *p, const char *scheme, const char *host, int port,
		  int socket, struct heard *h, char *errbuf)
{
	CURL *c = curl_easy_init();
	char *url;

	if (c == NULL)
		return NULL;
	url = xasprintf("%s://%s:%d/", scheme, host, port);
	curl_easy_setopt(c, CURLOPT_URL, url);
	free(url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, p->timeout_s > 0 ? p->timeout_s : 20L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USE_SSL, socket == 0 ? (long)CURLUSESSL_NONE : (long)CURLUSESSL_ALL);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (p->ca_file != NULL && p->ca_file[0] != '\0') {
		curl_easy_setopt(c, CURLOPT_CAINFO, p->ca_file);
		curl_easy_setopt(c, CURLOPT_CAPATH, "/etc/ssl/certs");
	}
	curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
	curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, on_debug);
	curl_easy_setopt(c, CURLOPT_DEBUGDATA, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
	return c;
}

/* fail: *why_r from STEP and libcurl's reason; -1. */
static int fail(const char *step, CURLcode rc, const char *errbuf, char **why_r)
{
	*why_r = xasprintf("%s: %s", step, errbuf[0] ? errbuf : curl_easy_strerror(rc));
	return -1;
}

static int imap(const struct ws_probe *p, char **why_r)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct heard h = {.n = 0};
	CURL *c = easy(p, p->imap_socket == 3 ? "imaps" : "imap", p->imap_host, p->imap_port,
		       p->imap_socket, &h, errbuf);
	CURLcode rc;

	if (c == NULL)
		return fail("IMAP", CURLE_OUT_OF_MEMORY, errbuf, why_r);
	if (p->password != NULL) {
		curl_easy_setopt(c, CURLOPT_USERNAME, p->user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, p->password);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "EXAMINE INBOX");
	} else {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "CAPABILITY");
	}
	rc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK)
		return fail(p->password ? "IMAP login and EXAMINE INBOX" : "IMAP CAPABILITY", rc,
			    errbuf, why_r);
	if (p->password == NULL && strstr(h.buf, "CAPABILITY") == NULL) {
		*why_r = xstrdup("IMAP: the server answered no CAPABILITY");
		return -1;
	}
	return 0;
}

static int smtp(const struct ws_probe *p, char **why_r)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct heard h = {.n = 0};
	CURL *c = easy(p, p->smtp_socket == 3 ? "smtps" : "smtp", p->smtp_host, p->smtp_port,
		       p->smtp_socket, &h, errbuf);
	CURLcode rc;

	if (c == NULL)
		return fail("SMTP", CURLE_OUT_OF_MEMORY, errbuf, why_r);
	curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L); /* greeting, EHLO, STARTTLS: no mail */
	rc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK)
		return fail("SMTP EHLO", rc, errbuf, why_r);
	if (strstr(h.buf, "250-AUTH") == NULL && strstr(h.buf, "250 AUTH") == NULL) {
		*why_r = xasprintf("SMTP %s:%d: no AUTH offered after EHLO%s", p->smtp_host,
				   p->smtp_port, p->smtp_socket == 0 ? " (without TLS)" : "");
		return -1;
	}
	return 0;
}

int ws_probe_run(const struct ws_probe *p, char **why_r)
{
	if (imap(p, why_r) < 0)
		return -1;
	if (p->smtp_host != NULL && p->smtp_host[0] != '\0' && smtp(p, why_r) < 0)
		return -1;
	return 0;
}
