#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "dav.h"
#include "secrets.h"
#include "xalloc.h"

struct slot {
	CURL *h;
	struct curl_slist *hdrs;
	struct dav_req *req;
	int xml_failed;
};

struct dav {
	CURLM *multi;
	char *origin, *base, *user, *password, *ca_file;
	int verify, timeout_ms, inflight;
	struct slot *slots;
	long long requests, writes;
};

int dav_url_check(const char *url)
{
	size_t n = strncmp(url, "http://", 7) == 0 ? 7 : strncmp(url, "https://", 8) == 0 ? 8 : 0;

	if (n == 0 || url[n] == '\0' || url[n] == '/')
		return -1;
	for (const char *s = url; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return -1;
	return 0;
}

/* split: URL's origin (scheme://authority) and its decoded path ending in '/'. */
static int split(const char *url, char **origin_r, char **base_r)
{
	const char *auth = strstr(url, "://") + 3;
	size_t alen = strcspn(auth, "/");
	char *path = dav_path_decode(auth[alen] ? auth + alen : "/");

	if (path == NULL)
		return -1;
	*origin_r = xstrndup(url, (size_t)(auth - url) + alen);
	if (path[strlen(path) - 1] != '/') {
		*base_r = xasprintf("%s/", path);
		free(path);
	} else {
		*base_r = path;
	}
	return 0;
}

struct dav *dav_new(const struct dav_conf *c, char **err_r)
{
	struct dav *d;

	if (c->url == NULL || dav_url_check(c->url) < 0) {
		*err_r = xasprintf("DAV URL \"%s\" is not an http:// or https:// URL",
				   c->url ? c->url : "");
		return NULL;
	}
	d = xcalloc(1, sizeof(*d));
	if (split(c->url, &d->origin, &d->base) < 0) {
		*err_r = xasprintf("DAV URL \"%s\": bad path", c->url);
		free(d);
		return NULL;
	}
	d->user = xstrdup(c->user ? c->user : "");
	d->password = xstrdup(c->password ? c->password : "");
	d->ca_file = c->ca_file && *c->ca_file ? xstrdup(c->ca_file) : NULL;
	d->verify = c->verify;
	d->timeout_ms = c->timeout_ms > 0 ? c->timeout_ms : 120000;
	d->inflight = c->inflight > 0 ? c->inflight : 1;
	d->slots = xcalloc((size_t)d->inflight, sizeof(*d->slots));
	d->multi = curl_multi_init();
	curl_multi_setopt(d->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)d->inflight);
	for (int i = 0; i < d->inflight; i++)
		d->slots[i].h = curl_easy_init();
	return d;
}

void dav_free(struct dav **dp)
{
	struct dav *d = *dp;

	if (d == NULL)
		return;
	for (int i = 0; i < d->inflight; i++) {
		curl_easy_cleanup(d->slots[i].h);
		curl_slist_free_all(d->slots[i].hdrs);
	}
	curl_multi_cleanup(d->multi);
	free(d->slots);
	free(d->origin);
	free(d->base);
	free(d->user);
	secrets_wipe(&d->password);
	free(d->ca_file);
	free(d);
	*dp = NULL;
}

const char *dav_base_path(const struct dav *d)
{
	return d->base;
}

void dav_counts(const struct dav *d, long long *all_r, long long *writes_r)
{
	*all_r = d->requests;
	*writes_r = d->writes;
}

void dav_req_free(struct dav_req *r)
{
	free(r->path);
	free(r->body);
	free(r->etag);
	free(r->resp);
	memset(r, 0, sizeof(*r));
}

char *dav_reason(const struct dav_req *r)
{
	if (r->status == 0)
		return xstrdup(r->err[0] ? r->err : "no answer");
	size_t n = 0;

	while (r->resp && n < r->resp_len && n < 200 && r->resp[n] != '\n' && r->resp[n] != '\r' &&
	       r->resp[n] != '\0')
		n++;
	char *line = xstrndup(r->resp ? r->resp : "", n);

	for (char *s = line; *s; s++)
		if ((unsigned char)*s < ' ')
			*s = ' ';
	char *out = n ? xasprintf("HTTP %d: %s", r->status, line) : xasprintf("HTTP %d", r->status);

	free(line);
	return out;
}

static size_t on_body(char *p, size_t sz, size_t nm, void *ctx)
{
	struct slot *s = ctx;
	struct dav_req *r = s->req;
	size_t n = sz * nm;
	long code = 0;

	curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &code);
	if (code == 207 && r->xml != NULL) {
		if (dav_xml_feed(r->xml, p, n) < 0)
			s->xml_failed = 1; /* dav_xml_end says why; the rest is drained */
		return n;
	}
	if (r->resp_len + n > DAV_MAX_BODY) {
		snprintf(r->err, sizeof(r->err), "the server's answer is larger than %u bytes",
			 DAV_MAX_BODY);
		return 0;
	}
	xappend(&r->resp, &r->resp_len, p, n);
	return n;
}

static size_t on_header(char *p, size_t sz, size_t nm, void *ctx)
{
	struct dav_req *r = ((struct slot *)ctx)->req;
	size_t n = sz * nm;

	if (n > 5 && strncasecmp(p, "ETag:", 5) == 0) {
		const char *v = p + 5;
		size_t l = n - 5;

		while (l > 0 && isspace((unsigned char)*v))
			v++, l--;
		while (l > 0 && isspace((unsigned char)v[l - 1]))
			l--;
		free(r->etag);
		r->etag = xstrndup(v, l);
	}
	return n;
}

static struct curl_slist *headers(const struct dav_req *r)
{
	struct curl_slist *h = curl_slist_append(NULL, "Expect:");
	char buf[512];

	if (r->depth) {
		snprintf(buf, sizeof(buf), "Depth: %s", r->depth);
		h = curl_slist_append(h, buf);
	}
	if (r->if_match && strlen(r->if_match) < 400) {
		snprintf(buf, sizeof(buf), "If-Match: %s", r->if_match);
		h = curl_slist_append(h, buf);
	}
	if (r->if_none_match)
		h = curl_slist_append(h, "If-None-Match: *");
	if (r->ctype) {
		snprintf(buf, sizeof(buf), "Content-Type: %s", r->ctype);
		h = curl_slist_append(h, buf);
	}
	return h;
}

static void setup(struct dav *d, struct slot *s, struct dav_req *r)
{
	CURL *h = s->h;
	char *path = dav_path_encode(r->path);
	char *url = xasprintf("%s%s", d->origin, path);

	curl_easy_reset(h);
	s->req = r;
	s->xml_failed = 0;
	curl_slist_free_all(s->hdrs);
	s->hdrs = headers(r);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, s->hdrs);
	curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	curl_easy_setopt(h, CURLOPT_USERNAME, d->user);
	curl_easy_setopt(h, CURLOPT_PASSWORD, d->password);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, (long)d->verify);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, d->verify ? 2L : 0L);
	if (d->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, d->ca_file);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)d->timeout_ms);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)(d->timeout_ms + 999) / 1000);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, s);
	if (r->body != NULL) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
	}
	curl_easy_setopt(h, CURLOPT_PRIVATE, s);
	d->requests++;
	if (strcmp(r->method, "PUT") == 0 || strcmp(r->method, "DELETE") == 0)
		d->writes++;
	free(path);
	free(url);
}

static void finish(struct slot *s, CURLcode cc)
{
	struct dav_req *r = s->req;
	long code = 0;

	curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &code);
	if (cc != CURLE_OK) {
		if (r->err[0] == '\0')
			snprintf(r->err, sizeof(r->err), "%s", curl_easy_strerror(cc));
		r->status = 0;
	} else {
		r->status = (int)code;
	}
	s->req = NULL;
}

void dav_run(struct dav *d, struct dav_req **reqs, size_t n)
{
	size_t next = 0, done = 0;
	int running = 0;

	while (done < n) {
		for (int i = 0; i < d->inflight && next < n; i++)
			if (d->slots[i].req == NULL) {
				setup(d, &d->slots[i], reqs[next++]);
				if (curl_multi_add_handle(d->multi, d->slots[i].h) != CURLM_OK) {
					finish(&d->slots[i], CURLE_OUT_OF_MEMORY);
					done++;
				}
			}
		curl_multi_perform(d->multi, &running);
		CURLMsg *m;
		int left;

		while ((m = curl_multi_info_read(d->multi, &left)) != NULL) {
			struct slot *s = NULL;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&s);
			CURLcode cc = m->data.result;

			curl_multi_remove_handle(d->multi, m->easy_handle);
			finish(s, cc);
			done++;
		}
		if (done < n && running > 0)
			curl_multi_poll(d->multi, NULL, 0, 1000, NULL);
	}
}
