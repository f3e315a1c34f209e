/*
 * fedmig-apid's JSON endpoints: enrol, poll, heartbeat, next. Each takes
 * the lock around its store work only, and does a change of several
 * rows in one transaction.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>
#include <openssl/sha.h>

#include "apid.h"
#include "apid_json.h"
#include "log.h"
#include "state.h"
#include "timeutil.h"
#include "xalloc.h"

/* The code as fedmigctl printed it: base32 is case-blind. */
static void code_hash(const char *code, unsigned char out[SHA256_DIGEST_LENGTH])
{
	char up[APID_CODE_MAX];
	size_t i;

	for (i = 0; code[i] && i < sizeof(up) - 1; i++)
		up[i] = (char)toupper((unsigned char)code[i]);
	up[i] = '\0';
	SHA256((const unsigned char *)up, i, out);
}

struct apid_answer apid_enrol(struct apid_req *r, json_t *body)
{
	unsigned char chash[SHA256_DIGEST_LENGTH], raw[32], thash[SHA256_DIGEST_LENGTH];
	char code[APID_CODE_MAX], token[65], name[AGENT_NAME_MAX];
	const char *why;
	int rc;

	if (apid_parse_enrol(body, code, &why) < 0)
		return apid_fail(r, 400, "bad-request", why);
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return apid_fail(r, 503, "unavailable", "no random bytes for a token; retry later");
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(token + 2 * i, 3, "%02x", raw[i]);
	code_hash(code, chash);
	SHA256((const unsigned char *)token, 64, thash);
	pthread_mutex_lock(&r->a->lock);
	rc = store_agent_enrol(r->a->s, chash, thash, time_now_us() / 1000000, name);
	pthread_mutex_unlock(&r->a->lock);
	if (rc == STORE_ERR)
		return apid_busy(r);
	if (rc == STORE_NOTFOUND)
		return apid_fail(r, 403, "enrol", "this code is unknown, used or expired;"
						  " ask for a new one (fedmigctl agent add)");
	snprintf(r->agent, sizeof(r->agent), "%s", name);
	log_info("enrolled agent=%s peer=%s version=%s", name, r->peer, r->version);
	return apid_ok(json_pack("{s:s, s:s}", "agent", name, "token", token));
}

static json_t *task_json(const struct agent_task *t, long long lease_ms)
{
	return json_pack("{s:I, s:s, s:s, s:I}", "task", (json_int_t)t->request_id, "system",
			 t->system, "mailbox", t->mailbox, "lease_ms", (json_int_t)lease_ms);
}

/*
 * A poll is answered at once with the tasks it can have, or held (the
 * caller suspends it) until one appears, its own wait, apid_poll_timeout
 * or a stop, whichever comes first.
 */
struct apid_answer apid_poll(struct apid_req *r, json_t *body, int *suspend_r)
{
	struct agent_task *t;
	long long wait_s, now = apid_now_ms(), lease_ms;
	const char *why;
	size_t n = 0;
	int rc, slots;
	json_t *arr;

	*suspend_r = 0;
	if (apid_parse_poll(body, &slots, &wait_s, &why) < 0)
		return apid_fail(r, 400, "bad-request", why);
	/* Up to 256 tasks of a few kB each: not on an MHD thread's stack. */
	t = xcalloc((size_t)slots + 1, sizeof(*t));
	pthread_mutex_lock(&r->a->lock);
	lease_ms = r->a->conf.lease_ms;
	if (r->deadline_ms == 0)
		r->deadline_ms =
			now + (wait_s * 1000 < r->a->conf.poll_ms ? wait_s * 1000 : r->a->conf.poll_ms);
	rc = store_agent_grant(r->a->s, r->agent, (size_t)slots, now, lease_ms, t, &n);
	if (rc == STORE_OK && n == 0 && now < r->deadline_ms && !r->a->stopping)
		*suspend_r = 1;
	pthread_mutex_unlock(&r->a->lock);
	if (rc != STORE_OK || *suspend_r) {
		free(t);
		return rc != STORE_OK ? apid_busy(r) : (struct apid_answer){0, NULL};
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(arr, task_json(&t[i], lease_ms));
		log_info("lease task=%lld agent=%s mailbox=%s seq=%lld", t[i].request_id, r->agent,
			 t[i].mailbox, t[i].seq);
	}
	free(t);
	return apid_ok(json_pack("{s:o}", "tasks", arr));
}

/* hb_task: one task of a heartbeat: its lease renewed, lost or cancelled. */
static int hb_task(struct apid_req *r, long long req, long long now, json_t *arr)
{
	struct apid *a = r->a;
	struct agent_task t;
	long long deadline = 0;
	const char *lease = "ok";
	int rc = store_agent_task(a->s, req, &t);

	if (rc == STORE_ERR)
		return -1;
	if (rc == STORE_NOTFOUND || strcmp(t.agent, r->agent) != 0 || t.phase == PHASE_DONE ||
	    t.phase == PHASE_FAILED) {
		lease = "lost";
	} else if (apid_task_gone(&t)) {
		lease = "cancel";
		deadline = apid_task_cancel(a, &t, now);
	} else {
		t.lease_until = now + a->conf.lease_ms;
		deadline = a->conf.lease_ms;
	}
	if (strcmp(lease, "lost") != 0 && store_agent_task_save(a->s, &t, now / 1000) < 0)
		return -1;
	json_array_append_new(arr, json_pack("{s:I, s:s, s:I}", "task", (json_int_t)req, "lease",
					     lease, "deadline_ms", (json_int_t)deadline));
	return 0;
}

struct apid_answer apid_heartbeat(struct apid_req *r, json_t *body)
{
	struct apid_heartbeat hb;
	long long now = apid_now_ms(), hb_ms;
	const char *why;
	char health[sizeof(hb.health) + sizeof(hb.detail) + 2];
	json_t *arr;
	int rc;

	if (apid_parse_heartbeat(body, &hb, &why) < 0)
		return apid_fail(r, 400, "bad-request", why);
	snprintf(health, sizeof(health), "%s%s%s", hb.health, *hb.detail ? " " : "", hb.detail);
	arr = json_array();
	pthread_mutex_lock(&r->a->lock);
	hb_ms = r->a->conf.lease_ms / 3;
	rc = store_begin(r->a->s);
	for (size_t i = 0; rc == STORE_OK && i < hb.ntasks; i++)
		rc = hb_task(r, hb.tasks[i], now, arr) < 0 ? STORE_ERR : STORE_OK;
	if (rc == STORE_OK)
		rc = store_agent_seen(r->a->s, r->agent, r->version, hb.slots, health, now / 1000);
	rc = rc == STORE_OK ? store_commit(r->a->s) : (store_rollback(r->a->s), STORE_ERR);
	pthread_mutex_unlock(&r->a->lock);
	if (rc != STORE_OK) {
		json_decref(arr);
		return apid_busy(r);
	}
	hb_ms = hb_ms > APID_HEARTBEAT_MAX_MS ? APID_HEARTBEAT_MAX_MS
		: hb_ms < APID_HEARTBEAT_MIN_MS ? APID_HEARTBEAT_MIN_MS : hb_ms;
	return apid_ok(json_pack("{s:I, s:o}", "heartbeat_ms", (json_int_t)hb_ms, "tasks", arr));
}

struct apid_answer apid_next(struct apid_req *r, json_t *body)
{
	struct agent_task t;
	struct apid_answer ans;
	long long seq;
	json_t *result;
	const char *why;
	int rc;

	if (apid_parse_next(body, &seq, &result, &why) < 0)
		return apid_fail(r, 400, "bad-request", why);
	pthread_mutex_lock(&r->a->lock);
	if (store_begin(r->a->s) < 0) {
		ans = apid_busy(r);
		goto out;
	}
	rc = store_agent_task(r->a->s, r->task, &t);
	if (rc == STORE_ERR)
		ans = apid_busy(r);
	else if (rc == STORE_NOTFOUND || strcmp(t.agent, r->agent) != 0)
		ans = apid_fail(r, 409, "lease", "this task is not leased to this agent");
	else
		ans = apid_task_next(r, &t, seq, result);
	if (ans.status == 200 && store_commit(r->a->s) < 0) {
		json_decref(ans.body);
		ans = apid_busy(r);
	} else if (ans.status != 200) {
		store_rollback(r->a->s);
	}
out:
	pthread_mutex_unlock(&r->a->lock);
	return ans;
}
