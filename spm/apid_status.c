/*
 * fedmig-apid's status pages over HTTP (apid_status.h): the routes, the
 * viewer's credential, the answers.
 *
 * Why HTTP Basic over apid's TLS and not a login form: a browser asks
 * for it and keeps it for the tab without any page of ours, scripts and
 * Prometheus send it as they are, and apid keeps no sessions, so nothing
 * can be stolen but the secret itself. The secret is 256 random bits
 * (fedmigctl viewer add), stored as its SHA-256: a guess costs a request.
 *
 * Refusals: no credential or a wrong one 401 with WWW-Authenticate (the
 * browser asks); an agent's Bearer token 403 (it may never read these);
 * a store failure 503. Logged once with the peer, never the secret.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/sha.h>

#include "apid.h"
#include "apid_status.h"
#include "log.h"
#include "status_assets.h"
#include "store_viewer.h"
#include "timeutil.h"
#include "xalloc.h"

#define SEEN_EVERY_US (60 * 1000000LL)

enum apid_route apid_status_route(const char *method, const char *url)
{
	if (strcmp(method, "GET") != 0)
		return R_NONE;
	if (strcmp(url, "/status") == 0 || strcmp(url, "/status/") == 0)
		return R_STATUS_PAGE;
	if (strcmp(url, "/status.css") == 0)
		return R_STATUS_CSS;
	if (strcmp(url, "/status.js") == 0)
		return R_STATUS_JS;
	if (strcmp(url, "/status.json") == 0)
		return R_STATUS_JSON;
	if (strcmp(url, "/metrics") == 0)
		return R_METRICS;
	return R_NONE;
}

static enum MHD_Result send_body(struct apid_req *r, unsigned status, const char *type,
				 char *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ret;

	if (resp == NULL) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", type);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Content-Security-Policy",
				"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
	if (status == 401)
		MHD_add_response_header(resp, "WWW-Authenticate",
					"Basic realm=\"fedmig status\", charset=\"UTF-8\"");
	ret = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* refuse: apid_fail's answer (logged), with WWW-Authenticate on a 401. */
static enum MHD_Result refuse(struct apid_req *r, unsigned status, const char *code,
			      const char *message)
{
	struct apid_answer ans = apid_fail(r, status, code, message);
	char *text = ans.body ? json_dumps(ans.body, JSON_COMPACT) : NULL;

	json_decref(ans.body);
	if (text == NULL)
		return MHD_NO;
	return send_body(r, ans.status, "application/json", text, strlen(text),
			 MHD_RESPMEM_MUST_FREE);
}

/* viewer: R's Authorization names a viewer: 0, else refused (sent). */
static int viewer(struct apid_req *r, enum MHD_Result *ret)
{
	const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
	unsigned char hash[SHA256_DIGEST_LENGTH];
	char cred[VIEWER_NAME_MAX], secret[STATUS_SECRET_LEN + 1];
	long long seen = 0, now = time_now_us();
	int rc;

	if (h && strncasecmp(h, "Bearer ", 7) == 0) {
		*ret = refuse(r, 403, "forbidden",
			      "an agent's token cannot read the status pages; use a viewer's"
			      " credential (fedmigctl viewer add)");
		return -1;
	}
	if (h == NULL || status_basic_parse(h, cred, secret) < 0) {
		*ret = refuse(r, 401, "unauthorized", "a viewer's name and secret are needed");
		return -1;
	}
	SHA256((const unsigned char *)secret, 64, hash);
	pthread_mutex_lock(&r->a->lock);
	rc = store_viewer_auth(r->a->s, cred, hash, &seen);
	if (rc == STORE_ERR)
		log_error("store: %s", store_errmsg(r->a->s));
	/* "fedmigctl viewer list" shows it to the minute: no write per poll,
	 * and a busy store costs the viewer nothing but this note. */
	if (rc == STORE_OK && now - seen > SEEN_EVERY_US &&
	    store_viewer_seen(r->a->s, cred, now) < 0)
		log_warn("viewer %s: last seen not recorded: %s", cred, store_errmsg(r->a->s));
	pthread_mutex_unlock(&r->a->lock);
	/* For the log lines: "viewer:NAME", a long name cut. */
	snprintf(r->agent, sizeof(r->agent), "viewer:%.*s", (int)sizeof(r->agent) - 8, cred);
	if (rc == STORE_OK)
		return 0;
	*ret = rc == STORE_NOTFOUND
		       ? refuse(r, 401, "unauthorized", "unknown viewer or wrong secret")
		       : refuse(r, 503, "unavailable",
				"the server's store is busy or failing; retry later");
	return -1;
}

struct args {
	struct status_query *q;
	const char *why;
	int n, bad;
};

static enum MHD_Result one_arg(void *cls, enum MHD_ValueKind kind, const char *key,
			       const char *value)
{
	struct args *a = cls;

	(void)kind;
	if (++a->n > STATUS_QUERY_PAIRS) {
		a->why = "too many parameters";
		a->bad = 1;
	} else if (status_query_set(a->q, key, value, &a->why) < 0) {
		a->bad = 1;
	}
	return a->bad ? MHD_NO : MHD_YES;
}

static enum MHD_Result serve_json(struct apid_req *r)
{
	struct status_query q;
	struct args a = {&q, NULL, 0, 0};
	json_t *body;
	char *text;

	status_query_init(&q);
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, one_arg, &a);
	if (a.bad)
		return refuse(r, 400, "bad-request", a.why);
	pthread_mutex_lock(&r->a->lock);
	body = status_json(r->a->s, &q, time_now_us());
	if (body == NULL)
		log_error("status: %s", store_errmsg(r->a->s));
	pthread_mutex_unlock(&r->a->lock);
	if (body == NULL)
		return refuse(r, 503, "unavailable", "the server's store is busy or failing");
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (text == NULL)
		return MHD_NO;
	return send_body(r, 200, "application/json", text, strlen(text), MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result serve_metrics(struct apid_req *r)
{
	struct status_sum sum;
	char *text = NULL, *run_dir;
	int rc;

	pthread_mutex_lock(&r->a->lock);
	rc = status_sum_load(r->a->s, 0, &sum);
	if (rc < 0)
		log_error("metrics: %s", store_errmsg(r->a->s));
	run_dir = xstrdup(config_str(r->a->cfg, "run_directory"));
	pthread_mutex_unlock(&r->a->lock);
	if (rc < 0) {
		free(run_dir);
		return refuse(r, 503, "unavailable", "the server's store is busy or failing");
	}
	text = status_metrics(&sum, run_dir);
	free(run_dir);
	status_sum_free(&sum);
	if (text == NULL)
		return MHD_NO;
	return send_body(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, strlen(text),
			 MHD_RESPMEM_MUST_FREE);
}

enum MHD_Result apid_status_serve(struct apid_req *r)
{
	enum MHD_Result ret;

	if (viewer(r, &ret) < 0)
		return ret;
	switch (r->route) {
	case R_STATUS_PAGE:
		return send_body(r, 200, "text/html; charset=utf-8", (char *)status_html,
				 sizeof(status_html) - 1, MHD_RESPMEM_PERSISTENT);
	case R_STATUS_CSS:
		return send_body(r, 200, "text/css; charset=utf-8", (char *)status_css,
				 sizeof(status_css) - 1, MHD_RESPMEM_PERSISTENT);
	case R_STATUS_JS:
		return send_body(r, 200, "text/javascript; charset=utf-8", (char *)status_js,
				 sizeof(status_js) - 1, MHD_RESPMEM_PERSISTENT);
	case R_STATUS_JSON:
		return serve_json(r);
	default:
		return serve_metrics(r);
	}
}
