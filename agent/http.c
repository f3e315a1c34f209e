/*
 * http - the agent API client (http.h) over libcurl.
 */
#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "http.h"
#include "log.h"
#include "server.h"
#include "timeutil.h"
#include "xalloc.h"

struct ah {
	CURL *c;
	char *base;
	char *ca_file;
	char *auth; /* "Authorization: Bearer TOKEN", wiped at free */
	char *body;
	size_t len;
	int overflow;
	int fd; /* upload */
	int abort_fd, progress_fd;
	curl_off_t moved;   /* bytes up and down at the last progress byte */
	long long moved_at; /* and when (monotonic us) */
	off_t left;
	unsigned seed;
	char curl_err[CURL_ERROR_SIZE];
};

struct ah *ah_new(const char *base, const char *ca_file, const char *token, char **err_r)
{
	struct ah *h;

	if (strncmp(base, "https://", 8) != 0) {
		*err_r = xasprintf("agent_server_url %s: must start with https://", base);
		return NULL;
	}
	h = xcalloc(1, sizeof(*h));
	if ((h->c = curl_easy_init()) == NULL) {
		free(h);
		*err_r = xstrdup("curl_easy_init failed");
		return NULL;
	}
	h->base = xstrdup(base);
	h->base[strcspn(h->base + 8, "/") + 8] = '\0';
	h->ca_file = *ca_file ? xstrdup(ca_file) : NULL;
	h->auth = token ? xasprintf("Authorization: Bearer %s", token) : NULL;
	h->seed = (unsigned)getpid() ^ (unsigned)time(NULL);
	h->fd = -1;
	h->abort_fd = -1;
	h->progress_fd = -1;
	return h;
}

void ah_progress_fd(struct ah *h, int fd)
{
	h->progress_fd = fd;
}

void ah_abort_fd(struct ah *h, int fd)
{
	h->abort_fd = fd;
}

static int on_progress(void *ctx, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct ah *h = ctx;
	struct pollfd p = {.fd = h->abort_fd, .events = POLLIN};
	long long now = time_mono_us();

	if (h->progress_fd >= 0 && dn + un != h->moved && now - h->moved_at >= 1000000) {
		h->moved = dn + un;
		h->moved_at = now;
		if (write(h->progress_fd, "u", 1) < 0 && errno != EAGAIN)
			log_debug("progress pipe: %s", strerror(errno));
	}
	return h->abort_fd >= 0 && poll(&p, 1, 0) > 0;
}

void ah_free(struct ah **hp)
{
	struct ah *h = *hp;

	if (h == NULL)
		return;
	curl_easy_cleanup(h->c);
	if (h->auth) {
		explicit_bzero(h->auth, strlen(h->auth));
		free(h->auth);
	}
	free(h->base);
	free(h->ca_file);
	free(h->body);
	free(h);
	*hp = NULL;
}

long long ah_jitter_us(long long delay_us, unsigned *seed)
{
	if (delay_us <= 1)
		return delay_us;
	return delay_us / 2 + (long long)(rand_r(seed) % (unsigned)(delay_us / 2 + 1));
}

static size_t on_write(char *d, size_t size, size_t n, void *ctx)
{
	struct ah *h = ctx;

	n *= size;
	if (h->len + n > AH_MAX_REPLY) {
		h->overflow = 1;
		return 0;
	}
	xappend(&h->body, &h->len, d, n);
	return n;
}

static size_t on_read(char *d, size_t size, size_t n, void *ctx)
{
	struct ah *h = ctx;
	size_t want = size * n;
	ssize_t got;

	if ((off_t)want > h->left)
		want = (size_t)h->left;
	if (want == 0)
		return 0;
	do
		got = read(h->fd, d, want);
	while (got < 0 && errno == EINTR);
	if (got <= 0)
		return CURL_READFUNC_ABORT;
	h->left -= got;
	return (size_t)got;
}

/* setup: the options of one call. */
static struct curl_slist *setup(struct ah *h, const char *path, const char *json, long timeout_s)
{
	struct curl_slist *hd = NULL;
	char *url = xasprintf("%s%s", h->base, path);

	curl_easy_reset(h->c);
	curl_easy_setopt(h->c, CURLOPT_URL, url);
	free(url);
	curl_easy_setopt(h->c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(h->c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h->c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (h->ca_file)
		curl_easy_setopt(h->c, CURLOPT_CAINFO, h->ca_file);
	curl_easy_setopt(h->c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h->c, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(h->c, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(h->c, CURLOPT_ERRORBUFFER, h->curl_err);
	curl_easy_setopt(h->c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(h->c, CURLOPT_WRITEDATA, h);
	if (h->abort_fd >= 0 || h->progress_fd >= 0) {
		curl_easy_setopt(h->c, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(h->c, CURLOPT_XFERINFODATA, h);
		curl_easy_setopt(h->c, CURLOPT_NOPROGRESS, 0L);
	}
	hd = curl_slist_append(hd, "Fedmig-Agent-Version: " FEDMIG_VERSION);
	hd = curl_slist_append(hd, "Expect:");
	if (h->auth)
		hd = curl_slist_append(hd, h->auth);
	if (json) {
		hd = curl_slist_append(hd, "Content-Type: application/json");
		curl_easy_setopt(h->c, CURLOPT_POSTFIELDS, json);
	} else {
		hd = curl_slist_append(hd, "Content-Type: application/octet-stream");
		curl_easy_setopt(h->c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h->c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h->c, CURLOPT_READDATA, h);
		curl_easy_setopt(h->c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)h->left);
	}
	curl_easy_setopt(h->c, CURLOPT_HTTPHEADER, hd);
	return hd;
}

/* once: one try; 1 when it is worth another (network error, 5xx). */
static int once(struct ah *h, const char *path, const char *json, long timeout_s, off_t size,
		struct ah_reply *r, int *rc_r)
{
	struct curl_slist *hd;
	CURLcode cc;

	h->len = 0;
	h->overflow = 0;
	h->curl_err[0] = '\0';
	if (h->fd >= 0 && lseek(h->fd, 0, SEEK_SET) < 0) {
		log_error("%s: rewind the batch: %s", path, strerror(errno));
		*rc_r = AH_ERROR;
		return 0;
	}
	h->left = size;
	hd = setup(h, path, json, timeout_s);
	cc = curl_easy_perform(h->c);
	curl_slist_free_all(hd);
	r->status = 0;
	r->body = h->body ? h->body : "";
	r->len = h->len;
	if (cc == CURLE_ABORTED_BY_CALLBACK) {
		*rc_r = AH_ERROR;
		return 0;
	}
	if (cc != CURLE_OK) {
		log_warn("%s%s: %s", h->base, path, h->curl_err[0] ? h->curl_err : curl_easy_strerror(cc));
		*rc_r = AH_ERROR;
		return !h->overflow;
	}
	curl_easy_getinfo(h->c, CURLINFO_RESPONSE_CODE, &r->status);
	*rc_r = AH_OK;
	if (r->status >= 200 && r->status < 300)
		return 0;
	ap_parse_error(r->body, r->len, &r->error);
	log_warn("%s: HTTP %ld: %s", path, r->status, r->error.message);
	*rc_r = r->error.code == AP_ERR_VERSION || r->error.code == AP_ERR_UNAUTHORIZED ? AH_FATAL
		: r->status == 409						      ? AH_LEASE
											      : AH_ERROR;
	return r->status >= 500;
}

static int call(struct ah *h, const char *path, const char *json, long timeout_s, int tries,
		off_t size, struct ah_reply *r)
{
	int rc, attempt;

	memset(r, 0, sizeof(*r));
	for (attempt = 1;; attempt++) {
		if (!once(h, path, json, timeout_s, size, r, &rc) || attempt >= tries)
			break;
		long long us = backoff_delay_us(1000000, attempt, 60000000);

		us = ah_jitter_us(us, &h->seed);
		log_info("%s: try %d again in %lld ms", path, attempt + 1, us / 1000);
		time_sleep_us(us);
	}
	if (rc == AH_FATAL)
		log_error("the agent API refused this agent: %s", r->error.message);
	return rc;
}

int ah_post(struct ah *h, const char *path, const char *json, long timeout_s, int tries,
	    struct ah_reply *r)
{
	h->fd = -1;
	return call(h, path, json, timeout_s, tries, 0, r);
}

int ah_put(struct ah *h, const char *path, int fd, off_t size, long timeout_s, int tries,
	   struct ah_reply *r)
{
	int rc;

	h->fd = fd;
	rc = call(h, path, NULL, timeout_s, tries, size, r);
	h->fd = -1;
	return rc;
}
