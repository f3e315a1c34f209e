/*
 * fedmig-apid's workstation endpoints (brief WS): POST /v1/ws/next tells
 * a workstation agent which step of its user's request is due, with the
 * mail client settings of both systems; POST /v1/ws/report stores what
 * it did (ws_reports and the request's history; a check also as the
 * check the pilot waits for). Only a workstation agent may call them,
 * and only for its own address's request. The decision reads the store
 * and the config under the lock; apid_ws_decide is pure.
 */
#include <stdio.h>
#include <string.h>

#include "apid.h"
#include "apid_json.h"
#include "apid_ws.h"
#include "apid_ws_json.h"
#include "log.h"
#include "state.h"
#include "store_req.h"
#include "store_smd.h"
#include "timeutil.h"
#include "ws_conf.h"

/* facts: what the decision needs about the live request of ADDRESS. */
static int facts(struct store *s, const char *address, struct ws_facts *f)
{
	struct agent_task t;
	struct smd_status st;
	long long at;
	int rc, ok;

	memset(f, 0, sizeof(*f));
	f->task_phase = f->job_state = -1;
	rc = store_req_find(s, address, &f->r);
	if (rc != STORE_OK)
		return rc == STORE_NOTFOUND ? STORE_OK : rc;
	f->found = 1;
	if ((rc = store_agent_task(s, f->r.id, &t)) == STORE_ERR)
		return rc;
	if (rc == STORE_OK && strcmp(t.system, WS_LOCAL_SYSTEM) == 0)
		f->task_phase = t.phase;
	if ((rc = store_smd_status(s, smd_key(f->r.id, SMD_LOCAL), &st)) == STORE_ERR)
		return rc;
	if (rc == STORE_OK)
		f->job_state = (int)st.state, f->job_finished = st.finished;
	if ((rc = store_ws_last(s, f->r.id, "test", f->job_finished, &at, &ok)) == STORE_ERR)
		return rc;
	f->test_ok = rc == STORE_OK && ok;
	if (rc == STORE_OK && !ok)
		f->fail_at = at;
	if ((rc = store_ws_last(s, f->r.id, "switch", f->job_finished, &at, &ok)) == STORE_ERR)
		return rc;
	if (rc == STORE_OK && !ok && at > f->fail_at)
		f->fail_at = at;
	if ((rc = store_ws_last(s, f->r.id, "cleanup", 0, &at, &ok)) == STORE_ERR)
		return rc;
	f->cleaned = rc == STORE_OK && ok;
	return STORE_OK;
}

/* old_json: the old system's hosts and login, as the agent matches
 * accounts by them; NULL with *WHY_R when the config's are not valid. */
static json_t *old_json(const struct config *cfg, const struct req *r, const char **why_r)
{
	char hosts[WS_HOSTS_MAX][WS_HOST_MAX], user[ADDR_MAX];
	struct ws_endpoint imap, smtp;
	json_t *ih, *sh;
	int n;

	if (ws_client_imap(cfg, r->source_system, &imap, why_r) < 0 ||
	    ws_client_smtp(cfg, r->source_system, &smtp, why_r) < 0 ||
	    (n = ws_client_hosts(cfg, r->source_system, hosts, WS_HOSTS_MAX, why_r)) < 0)
		return NULL;
	ih = json_pack("[s]", imap.host);
	sh = *smtp.host ? json_pack("[s]", smtp.host) : json_array();
	for (int i = 0; i < n; i++) {
		json_array_append_new(ih, json_string(hosts[i]));
		json_array_append_new(sh, json_string(hosts[i]));
	}
	ws_client_user(cfg, r->source_system, *r->source_physical ? r->source_physical : r->access,
		       user, sizeof(user));
	return json_pack("{s:o, s:o, s:s}", "imap_hosts", ih, "smtp_hosts", sh, "user", user);
}

/* new_json: the settings the profile is switched to. */
static json_t *new_json(const struct config *cfg, const struct req *r, const char **why_r)
{
	struct ws_endpoint imap, smtp;
	char user[ADDR_MAX];

	if (ws_client_imap(cfg, r->target_system, &imap, why_r) < 0 ||
	    ws_client_smtp(cfg, r->target_system, &smtp, why_r) < 0)
		return NULL;
	ws_client_user(cfg, r->target_system, *r->target_physical ? r->target_physical : r->access,
		       user, sizeof(user));
	return json_pack("{s:s, s:i, s:s, s:s, s:i, s:s, s:s}", "imap_host", imap.host,
			 "imap_port", imap.port, "imap_socket", imap.socket, "smtp_host",
			 smtp.host, "smtp_port", smtp.port, "smtp_socket", smtp.socket, "user",
			 user);
}

/* next_answer: the body of a ws/next answer for F; NULL with *WHY_R. */
static json_t *next_answer(const struct config *cfg, const struct ws_facts *f, long long now,
			   const char **why_r)
{
	long long retry_ms;
	const char *step = apid_ws_decide(cfg, f, now, &retry_ms);
	const char *root = config_sys_str(cfg, f->r.scenario, "local_folder_root");
	json_t *o, *old, *nw;

	/* The live request's id even when no step is due: the user's
	 * --rollback reports against it at any time. */
	o = json_pack("{s:I, s:s, s:s, s:I}", "request", (json_int_t)(f->found ? f->r.id : 0),
		      "step", step, "state",
		      f->found ? state_name(f->r.state) : "none", "retry_ms", (json_int_t)retry_ms);
	/* Before E2 (registered) the request names no source yet. */
	if (!f->found || !*f->r.source_system || !*f->r.target_system)
		return o;
	json_object_set_new(o, "folder_root", json_string(root ? root : "Local Folders"));
	if ((old = old_json(cfg, &f->r, why_r)) == NULL ||
	    (nw = new_json(cfg, &f->r, why_r)) == NULL) {
		json_decref(old);
		json_decref(o);
		return NULL;
	}
	json_object_set_new(o, "old", old);
	json_object_set_new(o, "new", nw);
	return o;
}

/* ws_only: a server agent has no business here. */
static int ws_only(struct apid_req *r, struct apid_answer *ans)
{
	if (r->workstation)
		return 0;
	*ans = apid_fail(r, 403, "forbidden",
			 "this agent was not enrolled for a workstation (fedmigctl agent add"
			 " NAME --workstation ADDRESS)");
	return -1;
}

struct apid_answer apid_ws_next(struct apid_req *r, json_t *body)
{
	struct apid_answer ans;
	struct ws_facts f;
	char version[16];
	const char *why = NULL;
	json_t *o = NULL;
	int rc;

	if (ws_only(r, &ans) < 0)
		return ans;
	if (apid_ws_parse_next(body, version, &why) < 0)
		return apid_fail(r, 400, "bad-request", why);
	pthread_mutex_lock(&r->a->lock);
	rc = facts(r->a->s, r->address, &f);
	if (rc == STORE_OK)
		o = next_answer(r->a->cfg, &f, time_now_us(), &why);
	pthread_mutex_unlock(&r->a->lock);
	if (rc != STORE_OK)
		return apid_busy(r);
	if (o == NULL) {
		log_error("request=%lld: the mail client settings of %s or %s in fedmig.conf are"
			  " not valid: %s",
			  f.r.id, f.r.source_system, f.r.target_system, why);
		return apid_fail(r, 503, "unavailable", "the server's client settings are not valid");
	}
	return apid_ok(o);
}

/* history: the step and detail a report adds to its request's history. */
static void history(const struct ws_report_in *in, int state, char *step, size_t ssize,
		    char *detail, size_t dsize)
{
	const char *s;

	if (strcmp(in->step, "check") == 0)
		s = state == ST_TARGET_CREATED ? "E20 workstation check" : "E22 workstation re-check";
	else if (strcmp(in->step, "switch") == 0)
		s = in->ok ? "E30 profile switched" : "E32 profile switch failed";
	else if (strcmp(in->step, "test") == 0)
		s = in->ok ? "E31 test ok" : "E31 test failed";
	else if (strcmp(in->step, "repair") == 0)
		s = "E32 repair";
	else if (strcmp(in->step, "cleanup") == 0)
		s = in->ok ? "E33 cleanup" : "E33 cleanup failed";
	else
		s = "rollback by the user";
	snprintf(step, ssize, "%s", s);
	if (strcmp(in->step, "switch") == 0 && in->changed >= 0)
		snprintf(detail, dsize, "%s%lld values%s%s", in->ok ? "" : "failed, ", in->changed,
			 *in->detail ? "; " : "", in->detail);
	else if (strcmp(in->step, "check") == 0)
		snprintf(detail, dsize, "%s%s%s%s format %s, %lld folders, %lld messages, %lld bytes",
			 in->ok ? "ok" : "failed: ", in->ok ? "" : in->detail, *in->profile ? "; profile " : "",
			 in->profile, *in->local_format ? in->local_format : "unknown",
			 in->folders < 0 ? 0 : in->folders, in->messages < 0 ? 0 : in->messages,
			 in->bytes < 0 ? 0 : in->bytes);
	else
		snprintf(detail, dsize, "%s", in->detail);
}

/* report_store: IN of request REQ stored; STORE_NOTFOUND when REQ is not
 * the request of ADDRESS. */
static int report_store(struct store *s, const char *address, const struct ws_report_in *in)
{
	struct ws_report w = {.request_id = in->request, .ok = in->ok};
	char step[64], detail[1024];
	struct req req;
	int rc = store_req_get(s, in->request, &req);

	if (rc != STORE_OK)
		return rc;
	if (strcmp(req.access, address) != 0)
		return STORE_NOTFOUND;
	w.at = time_now_us();
	snprintf(w.step, sizeof(w.step), "%s", in->step);
	snprintf(w.detail, sizeof(w.detail), "%s", in->detail);
	apid_ws_data(in, w.data);
	history(in, req.state, step, sizeof(step), detail, sizeof(detail));
	rc = store_ws_report_add(s, &w, req.state, step, detail);
	/* The pilot looks at a waiting request only now and then: news for it
	 * makes it due at once. */
	if (rc == STORE_OK && !state_is_final(req.state) && !state_is_offline(req.state) &&
	    store_req_wait(s, req.id, req.state, w.at, NULL) == STORE_ERR)
		rc = STORE_ERR;
	return rc;
}

struct apid_answer apid_ws_report(struct apid_req *r, json_t *body)
{
	struct apid_answer ans;
	struct ws_report_in in;
	const char *why = NULL;
	int rc;

	if (ws_only(r, &ans) < 0)
		return ans;
	if (apid_ws_parse_report(body, &in, &why) < 0)
		return apid_fail(r, 400, "bad-request", why);
	pthread_mutex_lock(&r->a->lock);
	rc = report_store(r->a->s, r->address, &in);
	pthread_mutex_unlock(&r->a->lock);
	if (rc == STORE_ERR)
		return apid_busy(r);
	if (rc == STORE_NOTFOUND)
		return apid_fail(r, 404, "not-found", "no such request for this workstation's address");
	log_info("workstation report agent=%s request=%lld step=%s ok=%d", r->agent, in.request,
		 in.step, in.ok);
	return apid_ok(json_object());
}
