/*
 * proto - the agent API's answers (proto.h). Everything the server says
 * is checked here once, so the rest of the agent handles plain C values.
 */
#include <jansson.h>
#include <string.h>

#include "proto.h"
#include "proto_json.h"
#include "xalloc.h"

int ap_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > AP_NAME_MAX)
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

int ap_cursor_ok(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if (s[n] <= ' ' || s[n] >= 0x7f)
			return 0;
	return n <= AP_CURSOR_MAX;
}

int ap_text_ok(const char *s, size_t max)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if ((unsigned char)s[n] < ' ' || s[n] == 0x7f)
			return 0;
	return n > 0 && n <= max;
}

void ap_parse_error(const char *buf, size_t len, struct ap_error *e)
{
	static const struct {
		const char *name;
		enum ap_err code;
	} codes[] = {
		{"version", AP_ERR_VERSION},	 {"unauthorized", AP_ERR_UNAUTHORIZED},
		{"enrol", AP_ERR_ENROL},	 {"lease", AP_ERR_LEASE},
		{"bad-request", AP_ERR_BAD_REQUEST}, {"too-large", AP_ERR_TOO_LARGE},
		{"unavailable", AP_ERR_UNAVAILABLE},
	};
	json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	const char *code = json_string_value(json_object_get(j, "error"));
	const char *msg = json_string_value(json_object_get(j, "message"));
	size_t i;

	e->code = AP_ERR_OTHER;
	for (i = 0; code != NULL && i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strcmp(code, codes[i].name) == 0)
			e->code = codes[i].code;
	if (msg == NULL)
		msg = "(no message)";
	for (i = 0; msg[i] != '\0' && i < sizeof(e->message) - 1; i++)
		e->message[i] = msg[i] >= ' ' && msg[i] < 0x7f ? msg[i] : '?';
	e->message[i] = '\0';
	json_decref(j);
}

json_t *ap_json_load(const char *buf, size_t len, char **err_r)
{
	json_error_t je;
	json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);

	if (j == NULL) {
		*err_r = xasprintf("not JSON: %s", je.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		*err_r = xstrdup("not a JSON object");
		json_decref(j);
		return NULL;
	}
	return j;
}

int ap_get_str(json_t *o, const char *name, char *dst, size_t size, char **err_r)
{
	json_t *v = json_object_get(o, name);
	size_t n;

	if (!json_is_string(v)) {
		*err_r = xasprintf("\"%s\": missing or not a string", name);
		return -1;
	}
	n = json_string_length(v);
	if (n >= size || memchr(json_string_value(v), '\0', n) != NULL) {
		*err_r = xasprintf("\"%s\": too long or holds a NUL", name);
		return -1;
	}
	memcpy(dst, json_string_value(v), n + 1);
	return 0;
}

int ap_get_int(json_t *o, const char *name, long long min, long long max, long long *v_r,
		   char **err_r)
{
	json_t *v = json_object_get(o, name);

	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		*err_r = xasprintf("\"%s\": missing or not an integer in %lld..%lld", name, min,
				   max);
		return -1;
	}
	*v_r = json_integer_value(v);
	return 0;
}

int ap_bad(const char *name, const char *why, char **err_r)
{
	*err_r = xasprintf("\"%s\": %s", name, why);
	return -1;
}

int ap_parse_enrol(const char *buf, size_t len, struct ap_enrol *r, char **err_r)
{
	json_t *j = ap_json_load(buf, len, err_r);
	int rc = -1;

	if (j == NULL)
		return -1;
	if (ap_get_str(j, "agent", r->agent, sizeof(r->agent), err_r) < 0 ||
	    ap_get_str(j, "token", r->token, sizeof(r->token), err_r) < 0)
		goto out;
	if (!ap_name_ok(r->agent))
		rc = ap_bad("agent", "not a name", err_r);
	else if (strlen(r->token) != AP_TOKEN_LEN ||
		 strspn(r->token, "0123456789abcdef") != AP_TOKEN_LEN)
		rc = ap_bad("token", "not 64 lowercase hex digits", err_r);
	else
		rc = 0;
out:
	json_decref(j);
	return rc;
}

/* poll_task: one member of "tasks". */
static int poll_task(json_t *t, struct ap_task *r, char **err_r)
{
	if (!json_is_object(t))
		return ap_bad("tasks", "an element is not an object", err_r);
	if (ap_get_int(t, "task", 1, 1LL << 53, &r->id, err_r) < 0 ||
	    ap_get_str(t, "system", r->system, sizeof(r->system), err_r) < 0 ||
	    ap_get_str(t, "mailbox", r->mailbox, sizeof(r->mailbox), err_r) < 0 ||
	    ap_get_int(t, "lease_ms", 1, 86400000LL, &r->lease_ms, err_r) < 0)
		return -1;
	if (!ap_name_ok(r->system) && strcmp(r->system, "@local") != 0)
		return ap_bad("system", "not a system name", err_r);
	if (!ap_text_ok(r->mailbox, AP_MAILBOX_MAX) || strchr(r->mailbox, '/') != NULL ||
	    strchr(r->mailbox, ' ') != NULL)
		return ap_bad("mailbox", "empty, or holds a control byte, a space or a slash", err_r);
	return 0;
}

int ap_parse_poll(const char *buf, size_t len, struct ap_task *tasks, size_t max, size_t *n_r,
		  char **err_r)
{
	json_t *j = ap_json_load(buf, len, err_r), *a;
	size_t i;
	int rc = -1;

	*n_r = 0;
	if (j == NULL)
		return -1;
	a = json_object_get(j, "tasks");
	if (!json_is_array(a))
		rc = ap_bad("tasks", "missing or not an array", err_r);
	else if (json_array_size(a) > max)
		rc = ap_bad("tasks", "more tasks than free slots", err_r);
	else
		rc = 0;
	for (i = 0; rc == 0 && i < json_array_size(a); i++)
		if ((rc = poll_task(json_array_get(a, i), &tasks[i], err_r)) == 0)
			*n_r = i + 1;
	json_decref(j);
	return rc;
}

/* hb_task: one member of the heartbeat's "tasks". */
static int hb_task(json_t *t, struct ap_hb_task *r, char **err_r)
{
	char lease[16];

	if (!json_is_object(t))
		return ap_bad("tasks", "an element is not an object", err_r);
	if (ap_get_int(t, "task", 1, 1LL << 53, &r->id, err_r) < 0 ||
	    ap_get_str(t, "lease", lease, sizeof(lease), err_r) < 0)
		return -1;
	r->deadline_ms = 0;
	if (json_object_get(t, "deadline_ms") != NULL &&
	    ap_get_int(t, "deadline_ms", 0, 86400000LL, &r->deadline_ms, err_r) < 0)
		return -1;
	if (strcmp(lease, "ok") == 0)
		r->lease = AP_LEASE_OK;
	else if (strcmp(lease, "lost") == 0)
		r->lease = AP_LEASE_LOST;
	else if (strcmp(lease, "cancel") == 0)
		r->lease = AP_LEASE_CANCEL;
	else
		return ap_bad("lease", "not ok, lost or cancel", err_r);
	return 0;
}

int ap_parse_heartbeat(const char *buf, size_t len, struct ap_heartbeat *r, char **err_r)
{
	json_t *j = ap_json_load(buf, len, err_r), *a;
	size_t i;
	int rc;

	r->ntasks = 0;
	if (j == NULL)
		return -1;
	rc = ap_get_int(j, "heartbeat_ms", 100, 86400000LL, &r->heartbeat_ms, err_r);
	a = json_object_get(j, "tasks");
	if (rc == 0 && !json_is_array(a))
		rc = ap_bad("tasks", "missing or not an array", err_r);
	else if (rc == 0 && json_array_size(a) > AP_MAX_TASKS)
		rc = ap_bad("tasks", "too many", err_r);
	for (i = 0; rc == 0 && i < json_array_size(a); i++)
		if ((rc = hb_task(json_array_get(a, i), &r->tasks[i], err_r)) == 0)
			r->ntasks = i + 1;
	json_decref(j);
	return rc;
}

/* next_items: the members of a get-items action. */
static int next_items(json_t *j, struct ap_next *r, char **err_r)
{
	if (ap_get_str(j, "folder", r->folder, sizeof(r->folder), err_r) < 0 ||
	    ap_get_int(j, "max_items", 1, 1000000, &r->max_items, err_r) < 0 ||
	    ap_get_int(j, "max_bytes", 1, 1LL << 40, &r->max_bytes, err_r) < 0)
		return -1;
	if (!ap_text_ok(r->folder, AP_FOLDER_MAX))
		return ap_bad("folder", "empty, or holds a control byte", err_r);
	r->cursor[0] = '\0';
	if (json_is_null(json_object_get(j, "cursor")) || json_object_get(j, "cursor") == NULL)
		return 0;
	if (ap_get_str(j, "cursor", r->cursor, sizeof(r->cursor), err_r) < 0)
		return -1;
	if (!ap_cursor_ok(r->cursor))
		return ap_bad("cursor", "not printable ASCII without space", err_r);
	return 0;
}

/* next_action: the action's own members. */
static int next_action(json_t *j, const char *a, struct ap_next *r, char **err_r)
{
	if (strcmp(a, "test") == 0)
		r->action = AP_TEST;
	else if (strcmp(a, "list") == 0)
		r->action = AP_LIST;
	else if (strcmp(a, "done") == 0)
		r->action = AP_DONE;
	else if (strcmp(a, "get-items") == 0) {
		r->action = AP_GET_ITEMS;
		return next_items(j, r, err_r);
	} else if (strcmp(a, "wait") == 0) {
		r->action = AP_WAIT;
		return ap_get_int(j, "ms", 0, 3600000, &r->ms, err_r);
	} else if (strcmp(a, "cancel") == 0) {
		r->action = AP_CANCEL;
		r->deadline_ms = 0;
		if (json_object_get(j, "deadline_ms") == NULL)
			return 0;
		return ap_get_int(j, "deadline_ms", 0, 86400000LL, &r->deadline_ms, err_r);
	} else {
		return ap_bad("action", "unknown", err_r);
	}
	return 0;
}

int ap_parse_next(const char *buf, size_t len, struct ap_next *r, char **err_r)
{
	json_t *j = ap_json_load(buf, len, err_r);
	char action[16];
	int rc = -1;

	if (j == NULL)
		return -1;
	memset(r, 0, sizeof(*r));
	if (ap_get_int(j, "seq", 1, 1LL << 53, &r->seq, err_r) == 0 &&
	    ap_get_str(j, "action", action, sizeof(action), err_r) == 0)
		rc = next_action(j, action, r, err_r);
	json_decref(j);
	return rc;
}

int ap_parse_put(const char *buf, size_t len, struct ap_put *r, char **err_r)
{
	json_t *j = ap_json_load(buf, len, err_r);
	int rc = -1;

	if (j == NULL)
		return -1;
	if (ap_get_int(j, "items", 0, 1LL << 40, &r->items, err_r) == 0 &&
	    ap_get_int(j, "duplicates", 0, 1LL << 40, &r->duplicates, err_r) == 0 &&
	    ap_get_int(j, "bytes", 0, 1LL << 50, &r->bytes, err_r) == 0)
		rc = 0;
	json_decref(j);
	return rc;
}
