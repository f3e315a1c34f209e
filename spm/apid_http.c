/*
 * fedmig-apid's HTTP side: libmicrohttpd with TLS, the routes, the checks
 * every call gets (version, then the token), the JSON bodies, the long
 * polls' suspension.
 *
 * Why a pool of internal threads: libmicrohttpd then does TLS, timeouts
 * and suspension itself; thread-per-connection would cost a thread per
 * waiting long poll and cannot suspend. A few threads keep one slow
 * fsync or a busy store from stalling every other agent.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/sha.h>

#include "apid.h"
#include "apid_ws.h"
#include "apid_json.h"
#include "log.h"
#include "timeutil.h"
#include "xalloc.h"

/* An idle connection (no byte either way) is closed after this. */
#define CONN_TIMEOUT_S 120
#define CONN_LIMIT 1024

long long apid_now_ms(void)
{
	return time_now_us() / 1000;
}

struct apid_answer apid_ok(json_t *body)
{
	return (struct apid_answer){200, body};
}

struct apid_answer apid_fail(struct apid_req *r, unsigned status, const char *code,
			     const char *message)
{
	log_warn("refused peer=%s agent=%s status=%u error=%s: %s", r->peer,
		 *r->agent ? r->agent : "-", status, code, message);
	return (struct apid_answer){status, json_pack("{s:s, s:s}", "error", code, "message",
						      message)};
}

struct apid_answer apid_busy(struct apid_req *r)
{
	log_error("store: %s", store_errmsg(r->a->s));
	return apid_fail(r, 503, "unavailable", "the server's store is busy or failing; retry later");
}

/* digits: the decimal number at *P (1-18 digits, > 0), *P moved past it. */
static long long digits(const char **p)
{
	long long v = 0;
	int n = 0;

	while (isdigit((unsigned char)**p) && n < 18) {
		v = v * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	return n == 0 || isdigit((unsigned char)**p) ? -1 : v;
}

/* route: METHOD URL as one of ours, the numbers into R. */
static enum apid_route route(struct apid_req *r, const char *method, const char *url)
{
	const char *p;

	if (strcmp(method, "POST") == 0) {
		if (strcmp(url, "/v1/enrol") == 0)
			return R_ENROL;
		if (strcmp(url, "/v1/poll") == 0)
			return R_POLL;
		if (strcmp(url, "/v1/heartbeat") == 0)
			return R_HEARTBEAT;
		if (strcmp(url, "/v1/ws/next") == 0)
			return R_WS_NEXT;
		if (strcmp(url, "/v1/ws/report") == 0)
			return R_WS_REPORT;
	}
	if (strncmp(url, "/v1/tasks/", 10) != 0)
		return R_NONE;
	p = url + 10;
	if ((r->task = digits(&p)) <= 0)
		return R_NONE;
	if (strcmp(method, "POST") == 0 && strcmp(p, "/next") == 0)
		return R_NEXT;
	if (strcmp(method, "PUT") != 0 || strncmp(p, "/batches/", 9) != 0)
		return R_NONE;
	p += 9;
	r->seq = digits(&p);
	return r->seq > 0 && *p == '\0' ? R_BATCH : R_NONE;
}

int apid_version_parse(const char *s, int v[2])
{
	char *end;
	long a, b;

	if (!isdigit((unsigned char)*s))
		return -1;
	a = strtol(s, &end, 10);
	if (*end != '.' || !isdigit((unsigned char)end[1]))
		return -1;
	b = strtol(end + 1, &end, 10);
	if (*end != '\0' || a > 9999 || b > 9999)
		return -1;
	v[0] = (int)a;
	v[1] = (int)b;
	return 0;
}

static int version_cmp(const int a[2], const int b[2])
{
	return a[0] != b[0] ? (a[0] < b[0] ? -1 : 1) : (a[1] < b[1] ? -1 : a[1] > b[1]);
}

/* check_version: the Fedmig-Agent-Version header in the accepted range. */
static int check_version(struct apid_req *r, struct apid_answer *ans)
{
	const char *v = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
						    "Fedmig-Agent-Version");
	int ver[2], ok;

	if (v == NULL || strlen(v) >= sizeof(r->version) || apid_version_parse(v, ver) < 0) {
		*ans = apid_fail(r, 403, "version",
				 "Fedmig-Agent-Version missing or not MAJOR.MINOR");
		return -1;
	}
	snprintf(r->version, sizeof(r->version), "%s", v);
	pthread_mutex_lock(&r->a->lock);
	ok = version_cmp(ver, r->a->conf.min_ver) >= 0 && version_cmp(ver, r->a->conf.max_ver) <= 0;
	pthread_mutex_unlock(&r->a->lock);
	if (!ok)
		*ans = apid_fail(r, 403, "version",
				 "this agent's version is outside the range the server accepts"
				 " (Fedmig-Accepted); upgrade the agent");
	return ok ? 0 : -1;
}

/* check_token: the Bearer token of an enrolled agent, its name into R. */
static int check_token(struct apid_req *r, struct apid_answer *ans)
{
	const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
	unsigned char hash[SHA256_DIGEST_LENGTH];
	struct agent_row row;
	int rc;

	if (h == NULL || strncmp(h, "Bearer ", 7) != 0 || strlen(h + 7) != 64 ||
	    strspn(h + 7, "0123456789abcdef") != 64) {
		*ans = apid_fail(r, 401, "unauthorized", "no valid Bearer token");
		return -1;
	}
	SHA256((const unsigned char *)h + 7, 64, hash);
	pthread_mutex_lock(&r->a->lock);
	rc = store_agent_auth(r->a->s, hash, &row);
	if (rc == STORE_ERR)
		*ans = apid_busy(r);
	pthread_mutex_unlock(&r->a->lock);
	if (rc == STORE_NOTFOUND)
		*ans = apid_fail(r, 401, "unauthorized", "unknown or revoked token; enrol again");
	if (rc != STORE_OK)
		return -1;
	snprintf(r->agent, sizeof(r->agent), "%s", row.name);
	r->workstation = row.workstation;
	snprintf(r->address, sizeof(r->address), "%s", row.address);
	return 0;
}

static enum MHD_Result send_answer(struct apid_req *r, struct apid_answer ans)
{
	char *text = ans.body ? json_dumps(ans.body, JSON_COMPACT) : NULL;
	char accepted[sizeof(r->a->conf.accepted)];
	struct MHD_Response *resp;
	enum MHD_Result ret;

	json_decref(ans.body);
	if (text == NULL)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(text);
		return MHD_NO;
	}
	pthread_mutex_lock(&r->a->lock);
	memcpy(accepted, r->a->conf.accepted, sizeof(accepted));
	pthread_mutex_unlock(&r->a->lock);
	MHD_add_response_header(resp, "Content-Type", "application/json");
	MHD_add_response_header(resp, "Fedmig-Accepted", accepted);
	ret = MHD_queue_response(r->conn, ans.status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void peer_name(struct apid_req *r)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	char host[INET6_ADDRSTRLEN] = "?";

	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, host, sizeof(host));
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, host,
			  sizeof(host));
	snprintf(r->peer, sizeof(r->peer), "%s", host);
}

/* first_call: the headers are in: route and check. 0 go on, -1 answer ANS. */
static int first_call(struct apid_req *r, const char *method, const char *url,
		      struct apid_answer *ans)
{
	peer_name(r);
	r->route = route(r, method, url);
	if (r->route == R_NONE)
		r->route = apid_status_route(method, url);
	if (r->route >= R_STATUS_PAGE)
		return 0; /* a viewer's: apid_status_serve() checks it */
	if (r->route == R_NONE) {
		*ans = apid_fail(r, 404, "bad-request", "no such endpoint");
		return -1;
	}
	if (check_version(r, ans) < 0)
		return -1;
	if (r->route != R_ENROL && check_token(r, ans) < 0)
		return -1;
	if (r->route == R_BATCH)
		return apid_upload_begin(r, ans);
	return 0;
}

static void body_append(struct apid_req *r, const char *data, size_t len)
{
	if (r->too_large || r->len + len > APID_JSON_MAX) {
		r->too_large = 1;
		return;
	}
	if (r->len + len > r->cap) {
		r->cap = (r->len + len) * 2;
		r->body = xrealloc(r->body, r->cap);
	}
	memcpy(r->body + r->len, data, len);
	r->len += len;
}

/* suspend: park the poll R until the tick wakes it (lock held by no one). */
static void suspend(struct apid_req *r)
{
	struct apid *a = r->a;

	pthread_mutex_lock(&a->lock);
	r->pprev = NULL;
	r->pnext = a->polls;
	if (a->polls)
		a->polls->pprev = r;
	a->polls = r;
	r->suspended = 1;
	/* Under the lock, so that the tick cannot resume it first. */
	MHD_suspend_connection(r->conn);
	pthread_mutex_unlock(&a->lock);
}

/* dispatch: the whole request is in: answer it (or park a poll). */
static enum MHD_Result dispatch(struct apid_req *r)
{
	struct apid_answer ans;
	const char *why = NULL;
	json_t *body;
	int park = 0;

	if (r->route == R_BATCH)
		return send_answer(r, apid_upload_end(r));
	if (r->too_large)
		return send_answer(r, apid_fail(r, 413, "too-large", "the body is larger than 4 MiB"));
	if ((body = apid_json_load(r->body ? r->body : "", r->len, &why)) == NULL)
		return send_answer(r, apid_fail(r, 400, "bad-request", why));
	switch (r->route) {
	case R_ENROL:
		ans = apid_enrol(r, body);
		break;
	case R_POLL:
		ans = apid_poll(r, body, &park);
		break;
	case R_HEARTBEAT:
		ans = apid_heartbeat(r, body);
		break;
	case R_WS_NEXT:
		ans = apid_ws_next(r, body);
		break;
	case R_WS_REPORT:
		ans = apid_ws_report(r, body);
		break;
	default:
		ans = apid_next(r, body);
		break;
	}
	json_decref(body);
	if (park) {
		suspend(r);
		return MHD_YES;
	}
	return send_answer(r, ans);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
			       const char *method, const char *version, const char *data,
			       size_t *size, void **ctx)
{
	struct apid_req *r = *ctx;
	struct apid_answer ans;

	if (r == NULL) {
		r = xcalloc(1, sizeof(*r));
		r->a = cls;
		r->conn = conn;
		*ctx = r;
		if (first_call(r, method, url, &ans) < 0)
			return send_answer(r, ans);
		return MHD_YES;
	}
	if (*size > 0) {
		if (r->route == R_BATCH)
			apid_upload_data(r, data, *size);
		else
			body_append(r, data, *size);
		*size = 0;
		return MHD_YES;
	}
	return r->route >= R_STATUS_PAGE ? apid_status_serve(r) : dispatch(r);
}

static void completed(void *cls, struct MHD_Connection *conn, void **ctx,
		      enum MHD_RequestTerminationCode toe)
{
	struct apid_req *r = *ctx;
	struct apid *a = cls;

	if (r == NULL)
		return;
	pthread_mutex_lock(&a->lock);
	if (r->suspended) {
		if (r->pprev)
			r->pprev->pnext = r->pnext;
		else
			a->polls = r->pnext;
		if (r->pnext)
			r->pnext->pprev = r->pprev;
	}
	pthread_mutex_unlock(&a->lock);
	apid_upload_abort(r);
	free(r->body);
	free(r);
	*ctx = NULL;
}

void apid_http_wake_all(struct apid *a)
{
	pthread_mutex_lock(&a->lock);
	while (a->polls) {
		struct apid_req *r = a->polls;

		a->polls = r->pnext;
		r->pprev = r->pnext = NULL;
		r->suspended = 0;
		r->woken = 1;
		MHD_resume_connection(r->conn);
	}
	pthread_mutex_unlock(&a->lock);
}

/* Each woken poll looks at the store again, at most once a second each:
 * the few agents a federation has make that cheaper than a second
 * query deciding whom to wake. */
void apid_http_tick(struct apid *a)
{
	apid_http_wake_all(a);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	log_warn("libmicrohttpd: %s", buf);
}

struct MHD_Daemon *apid_http_start(struct apid *a, int fd, const char *cert, const char *key)
{
	return MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS | MHD_ALLOW_SUSPEND_RESUME |
			MHD_USE_ERROR_LOG,
		0, NULL, NULL, handler, a, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, a,
		MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_HTTPS_MEM_CERT,
		cert, MHD_OPTION_HTTPS_MEM_KEY, key, MHD_OPTION_THREAD_POOL_SIZE,
		(unsigned)APID_THREADS, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT_S,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONN_LIMIT, MHD_OPTION_NOTIFY_COMPLETED,
		completed, a, MHD_OPTION_END);
}
