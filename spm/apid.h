/*
 * apid - fedmig-apid's modules share this: the daemon's context and one
 * request's. agent_spec.md is the protocol; fedmig-apid(8) the admin's
 * view.
 *
 * Threads. libmicrohttpd serves from its own small pool of threads
 * (APID_THREADS); the libev loop of the main thread only handles signals
 * and the tick that wakes long polls. Everything the threads share (the
 * store handle, which is not thread-safe, the settings a reload changes,
 * the list of suspended polls) is behind apid.lock, held only around
 * store work and list changes: never while a body is read or a file
 * written or synced.
 *
 * Failure policy: a store error is answered 503 unavailable (the agent
 * retries with back-off); nothing is ever guessed from a failed read.
 * Every refusal is logged once with the peer and the agent's name, never
 * a token or a code.
 */
#ifndef FEDMIG_APID_H
#define FEDMIG_APID_H

#include <pthread.h>

#include <ev.h>
#include <jansson.h>
#include <microhttpd.h>

#include "config.h"
#include "store.h"
#include "store_agent.h"

#define APID_THREADS 4
#define APID_TEST_RETRY_MS 30000
#define APID_WAIT_MS 5000
/* How often the buffers of requests that ended without them are removed. */
#define APID_ABANDON_MS 60000
/* The heartbeat apid asks for: a third of apid_lease, so that two lost
 * heartbeats in a row still leave the lease alive; bounded to 1-10 s. */
#define APID_HEARTBEAT_MAX_MS 10000
#define APID_HEARTBEAT_MIN_MS 1000

/* The settings a reload may change, copied from the config. */
struct apid_conf {
	int min_ver[2], max_ver[2];
	char accepted[48]; /* Fedmig-Accepted: MIN-MAX */
	long long poll_ms, lease_ms, cancel_ms, enrol_s;
	long long buffer_high, batch_items, batch_bytes, max_message;
};

struct apid_req;

struct apid {
	struct server *srv;
	struct ev_loop *loop;
	pthread_mutex_t lock;
	struct store *s;
	struct apid_conf conf;
	struct config *cfg; /* our reference, replaced at a reload (the workstation steps) */
	char *spool;
	struct MHD_Daemon *mhd;
	struct apid_req *polls; /* suspended long polls */
	int stopping;
	long long next_abandon_ms; /* the next apid_abandon() pass */
	ev_timer tick, quit;
};

enum apid_route {
	R_NONE, R_ENROL, R_POLL, R_HEARTBEAT, R_NEXT, R_BATCH, R_WS_NEXT, R_WS_REPORT,
	/* apid_status.c: a viewer's, never an agent's (R_STATUS_PAGE and up) */
	R_STATUS_PAGE, R_STATUS_CSS, R_STATUS_JS, R_STATUS_JSON, R_METRICS
};

struct apid_upload;

/* One request: MHD's per-request pointer. */
struct apid_req {
	struct apid *a;
	struct MHD_Connection *conn;
	enum apid_route route;
	long long task, seq; /* from the path */
	char agent[AGENT_NAME_MAX];
	int workstation;	/* a workstation agent, for ADDRESS */
	char address[ADDR_MAX];
	char version[16];
	char peer[64];
	char *body;
	size_t len, cap;
	int too_large;
	struct apid_upload *up;
	/* long poll */
	int slots, suspended, woken;
	long long deadline_ms;
	struct apid_req *pprev, *pnext;
};

/* An answer: STATUS with BODY (a JSON object, reference taken). */
struct apid_answer {
	unsigned status;
	json_t *body;
};

/* apid_conf_load: CFG's settings into C; -1 with *WHY_R when the version
 * range does not parse. */
int apid_conf_load(const struct config *cfg, struct apid_conf *c, const char **why_r);
/* apid_version_parse: "MAJOR.MINOR" into V; -1 when not. */
int apid_version_parse(const char *s, int v[2]);

/* apid_http.c: MHD_start_daemon on the listening FD with CERT/KEY (PEM). */
struct MHD_Daemon *apid_http_start(struct apid *a, int fd, const char *cert, const char *key);
/* apid_http_tick: once a second from the loop: wake the polls due. */
void apid_http_tick(struct apid *a);
/* apid_http_wake_all: resume every suspended poll (stop). */
void apid_http_wake_all(struct apid *a);

/* apid_fail: the error answer CODE (agent_spec.md) with MESSAGE, logged
 * once with R's peer and agent. */
struct apid_answer apid_fail(struct apid_req *r, unsigned status, const char *code,
			     const char *message);
/* apid_ok: 200 with BODY. */
struct apid_answer apid_ok(json_t *body);
/* apid_busy: 503 unavailable after a store error (logged with it). */
struct apid_answer apid_busy(struct apid_req *r);
long long apid_now_ms(void);

/* apid_api.c: the JSON endpoints, BODY parsed; called without the lock. */
struct apid_answer apid_enrol(struct apid_req *r, json_t *body);
/* apid_poll: *SUSPEND_R 1 when the caller must suspend the connection. */
struct apid_answer apid_poll(struct apid_req *r, json_t *body, int *suspend_r);
struct apid_answer apid_heartbeat(struct apid_req *r, json_t *body);
struct apid_answer apid_next(struct apid_req *r, json_t *body);

/* apid_task.c: the next action of task T (a locked store, inside a
 * transaction). See agent_spec.md "Actions". */
struct apid_answer apid_task_next(struct apid_req *r, struct agent_task *t, long long seq,
				  json_t *result);
/* apid_task_cancel: T's request is final or offline: phase cancelled,
 * cancel_at set once; the milliseconds the agent has left. */
long long apid_task_cancel(struct apid *a, struct agent_task *t, long long now_ms);
/* apid_task_gone: 1 when T's request is final or offline. */
int apid_task_gone(const struct agent_task *t);

/* apid_status.c: GET /status, /status.css, /status.js, /status.json and
 * /metrics (R_NONE for anything else); _serve answers one, the viewer's
 * credential checked first. */
enum apid_route apid_status_route(const char *method, const char *url);
enum MHD_Result apid_status_serve(struct apid_req *r);

/* apid_upload.c: the PUT of a batch. _begin on the first call (NULL
 * answer: go on reading), _data for each chunk, _end at the end;
 * _abort from the completion callback (removes a temp file). */
int apid_upload_begin(struct apid_req *r, struct apid_answer *ans);
void apid_upload_data(struct apid_req *r, const char *data, size_t len);
struct apid_answer apid_upload_end(struct apid_req *r);
void apid_upload_abort(struct apid_req *r);
/* apid_spool_sweep: remove temp files and batch files no live row holds. */
int apid_spool_sweep(struct apid *a);

#endif
