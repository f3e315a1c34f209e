/*
 * dav - fedmig-smd's HTTP/WebDAV client for one DAV server: a libcurl
 * multi handle whose connections are kept alive across requests, at most
 * INFLIGHT requests at once, HTTP Basic authentication, TLS verified as
 * IMAP is (tls_ca_file, tls_verify). Only http:// and https:// URLs; no
 * redirect is followed.
 *
 * dav_run() performs a batch of requests and returns once each has an
 * outcome: req->status is the HTTP status, or 0 with req->err set when
 * the transport failed (connection, TLS, timeout). A 207 body is fed to
 * req->xml as it arrives when the caller set one; any other body is kept
 * (at most DAV_MAX_BODY bytes, then the request fails) in req->body.
 * Paths are decoded (dav_xml.h); dav_run encodes them.
 */
#ifndef FEDMIG_DAV_H
#define FEDMIG_DAV_H

#include <stddef.h>

#include "dav_xml.h"

#define DAV_MAX_BODY (6u << 20)

struct dav_conf {
	const char *url; /* the server's URL: scheme://host[:port][/path/] */
	const char *user, *password;
	const char *ca_file; /* "" or NULL: the system's */
	int verify;
	int timeout_ms; /* a server silent this long fails the request */
	int inflight;
};

struct dav_req {
	/* in */
	const char *method;
	char *path; /* decoded; owned by the request (dav_req_free) */
	const char *depth;	  /* Depth header, or NULL */
	const char *if_match;	  /* If-Match, or NULL */
	int if_none_match;	  /* If-None-Match: * */
	const char *ctype;	  /* Content-Type of the body */
	char *body;		  /* owned */
	size_t body_len;
	struct dav_xml *xml; /* where a 207 goes, or NULL */
	void *user;
	/* out */
	int status;
	char *etag;	/* the response's ETag header */
	char *resp;	/* a non-207 body */
	size_t resp_len;
	char err[256];
};

struct dav;

/* dav_new: a client for C (copied), or NULL with *ERR_R (caller frees). */
struct dav *dav_new(const struct dav_conf *c, char **err_r);
void dav_free(struct dav **d);
/* dav_base_path: the decoded path of the server URL ("/" at least). */
const char *dav_base_path(const struct dav *d);
/* dav_run: perform REQS[0..N-1] (see above). */
void dav_run(struct dav *d, struct dav_req **reqs, size_t n);
/* dav_requests: the requests made so far (PUT and DELETE counted apart). */
void dav_counts(const struct dav *d, long long *all_r, long long *writes_r);
void dav_req_free(struct dav_req *r);
/* dav_reason: "HTTP 413: first line of the body" or the transport error
 * (caller frees). */
char *dav_reason(const struct dav_req *r);
/* dav_url_check: 0 when URL is an http:// or https:// URL dav_new takes. */
int dav_url_check(const char *url);

#endif
