/*
 * The migrator's actions (agent_spec.md "Actions"): the seq rules, the
 * result of the action in force applied once, the next one chosen from
 * the task's phase and folders. Called with the lock held, inside the
 * caller's transaction: a refusal rolls the whole step back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apid.h"
#include "apid_json.h"
#include "log.h"
#include "state.h"

int apid_task_gone(const struct agent_task *t)
{
	return t->phase == PHASE_CANCELLED ||
	       (t->req_state >= 0 && (state_is_final(t->req_state) || state_is_offline(t->req_state)));
}

long long apid_task_cancel(struct apid *a, struct agent_task *t, long long now_ms)
{
	if (t->phase < PHASE_DONE)
		t->phase = PHASE_CANCELLED;
	if (t->cancel_at == 0)
		t->cancel_at = now_ms + a->conf.cancel_ms;
	return t->cancel_at > now_ms ? t->cancel_at - now_ms : 0;
}

/* stored_kind: the "action" of the action in force, "" when none. */
static void stored_kind(const struct agent_task *t, char *kind, size_t size, char *folder)
{
	json_t *o = json_loads(t->action, 0, NULL);
	const char *k = NULL, *f = NULL;

	kind[0] = folder[0] = '\0';
	if (o && json_unpack(o, "{s:s, s?s}", "action", &k, "folder", &f) == 0) {
		snprintf(kind, size, "%s", k);
		if (f)
			snprintf(folder, AGENT_FOLDER_MAX, "%s", f);
	}
	json_decref(o);
}

/* apply_test: the test's result; *WAIT_R when the next action is a wait. */
static int apply_test(struct agent_task *t, json_t *res, int *wait_r, const char **why_r)
{
	int ok, permanent;

	if (apid_result_test(res, &ok, &permanent, t->reason, why_r) < 0)
		return -1;
	if (ok) {
		t->phase = PHASE_LISTING;
		t->reason[0] = '\0';
	} else if (permanent) {
		t->phase = PHASE_FAILED;
		log_warn("task=%lld agent=%s mailbox=%s: failed for good: %s", t->request_id,
			 t->agent, t->mailbox, t->reason);
	} else {
		*wait_r = APID_TEST_RETRY_MS;
	}
	return 0;
}

static int apply_list(struct apid *a, struct agent_task *t, json_t *res, const char **why_r)
{
	struct agent_folder *f;
	size_t n;
	int rc = STORE_OK;

	if (apid_result_list(res, &f, &n, why_r) < 0)
		return -1;
	for (size_t i = 0; rc == STORE_OK && i < n; i++)
		rc = store_agent_folder_put(a->s, t->request_id, &f[i]);
	free(f);
	if (rc != STORE_OK)
		return -2;
	t->phase = PHASE_ITEMS;
	return 0;
}

/* apply_items: a get-items result; -1 bad (400), -2 store, -3 no batch (409). */
static int apply_items(struct apid *a, struct agent_task *t, const char *folder, json_t *res,
		       const char **why_r)
{
	char cursor[AGENT_CURSOR_MAX];
	struct agent_batch_result b;
	long long count;
	int more, rc;

	if (apid_result_items(res, &count, cursor, &more, why_r) < 0)
		return -1;
	if (count > 0) {
		rc = store_agent_batch_get(a->s, t->request_id, t->seq, &b);
		if (rc == STORE_ERR)
			return -2;
		if (rc == STORE_NOTFOUND)
			return -3;
		if (count != b.items + b.duplicates) {
			*why_r = "result.count: not the number of items in the stored batch";
			return -1;
		}
	}
	return store_agent_folder_cursor(a->s, t->request_id, folder, cursor, !more) == STORE_ERR
		       ? -2
		       : 0;
}

/* apply: the result RES of the action in force; codes as apply_items. */
static int apply(struct apid *a, struct agent_task *t, json_t *res, int *wait_r, const char **why_r)
{
	char kind[16], folder[AGENT_FOLDER_MAX];

	stored_kind(t, kind, sizeof(kind), folder);
	if (strcmp(kind, "test") != 0 && strcmp(kind, "list") != 0 && strcmp(kind, "get-items") != 0)
		return 0; /* wait, done, cancel, a fresh lease: nothing to apply */
	if (res == NULL) {
		*why_r = "result: missing";
		return -1;
	}
	if (strcmp(kind, "test") == 0)
		return apply_test(t, res, wait_r, why_r);
	if (strcmp(kind, "list") == 0)
		return apply_list(a, t, res, why_r);
	return apply_items(a, t, folder, res, why_r);
}

/* choose: the action for T's phase into *ACT_R; -2 on a store error. */
static int choose(struct apid *a, struct agent_task *t, json_t **act_r)
{
	struct agent_folder f;
	long long buffered;
	int rc;

	if (t->phase == PHASE_NEW)
		*act_r = json_pack("{s:s}", "action", "test");
	else if (t->phase == PHASE_LISTING)
		*act_r = json_pack("{s:s}", "action", "list");
	if (t->phase != PHASE_ITEMS) {
		if (t->phase >= PHASE_DONE)
			*act_r = json_pack("{s:s}", "action", "done");
		return 0;
	}
	if (store_agent_buffered(a->s, t->request_id, &buffered) < 0)
		return -2;
	if (buffered > a->conf.buffer_high) {
		*act_r = json_pack("{s:s, s:I}", "action", "wait", "ms", (json_int_t)APID_WAIT_MS);
		return 0;
	}
	if ((rc = store_agent_folder_next(a->s, t->request_id, AGENT_F_NOSELECT, &f)) == STORE_ERR)
		return -2;
	if (rc == STORE_NOTFOUND) {
		t->phase = PHASE_DONE;
		log_info("task=%lld agent=%s: every folder uploaded", t->request_id, t->agent);
		*act_r = json_pack("{s:s}", "action", "done");
		return 0;
	}
	*act_r = json_pack("{s:s, s:s, s:s, s:I, s:I}", "action", "get-items", "folder", f.name,
			   "cursor", f.cursor, "max_items", (json_int_t)a->conf.batch_items,
			   "max_bytes", (json_int_t)a->conf.batch_bytes);
	return 0;
}

/* reply: ACT (reference taken) stored as the action of the new seq. */
static struct apid_answer reply(struct apid_req *r, struct agent_task *t, json_t *act,
				long long now)
{
	char *text = json_dumps(act, JSON_COMPACT);

	if (text == NULL || strlen(text) >= sizeof(t->action)) {
		free(text);
		json_decref(act);
		return apid_fail(r, 400, "bad-request", "the folder name is too long");
	}
	snprintf(t->action, sizeof(t->action), "%s", text);
	free(text);
	t->seq++;
	t->lease_until = now + r->a->conf.lease_ms;
	if (store_agent_task_save(r->a->s, t, now / 1000) < 0) {
		json_decref(act);
		return apid_busy(r);
	}
	json_object_set_new(act, "seq", json_integer(t->seq));
	return apid_ok(act);
}

/* again: the action in force, unchanged, for a retry after a lost reply. */
static struct apid_answer again(struct apid_req *r, const struct agent_task *t)
{
	json_t *act = json_loads(t->action, 0, NULL);

	if (act == NULL)
		return apid_fail(r, 409, "lease", "no action to repeat; start again with seq 0");
	json_object_set_new(act, "seq", json_integer(t->seq));
	return apid_ok(act);
}

struct apid_answer apid_task_next(struct apid_req *r, struct agent_task *t, long long seq,
				  json_t *result)
{
	long long now = apid_now_ms();
	const char *why = "result: bad";
	int wait = 0, rc = 0;
	json_t *act = NULL;

	if (apid_task_gone(t)) {
		long long left = apid_task_cancel(r->a, t, now);

		return reply(r, t, json_pack("{s:s, s:I}", "action", "cancel", "deadline_ms",
					     (json_int_t)left), now);
	}
	if (seq != 0 && seq == t->seq - 1 && t->action[0])
		return again(r, t);
	if (seq != 0 && seq != t->seq)
		return apid_fail(r, 409, "lease", "stale seq: this action is not the one in force");
	if (seq != 0)
		rc = apply(r->a, t, result, &wait, &why);
	if (rc == -1)
		return apid_fail(r, 400, "bad-request", why);
	if (rc == -3)
		return apid_fail(r, 409, "lease", "count > 0 but no batch was stored under this seq");
	if (rc == 0 && wait)
		act = json_pack("{s:s, s:I}", "action", "wait", "ms", (json_int_t)wait);
	else if (rc == 0)
		rc = choose(r->a, t, &act);
	if (rc < 0 || act == NULL) {
		json_decref(act);
		return apid_busy(r);
	}
	return reply(r, t, act, now);
}
