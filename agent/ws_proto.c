/*
 * ws_proto - /v1/ws/next read, /v1/ws/report made (ws_proto.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "proto_json.h"
#include "server.h"
#include "ws_conf.h"
#include "ws_proto.h"
#include "xalloc.h"

static const char *const steps[] = {"none", "check", "upload", "switch", "cleanup"};

const char *ws_step_name(enum ws_step s)
{
	return (size_t)s < sizeof(steps) / sizeof(steps[0]) ? steps[s] : "?";
}

/* socket_of: Thunderbird's socketType of NAME, or -1. */
static int socket_of(const char *name)
{
	return strcmp(name, "ssl") == 0 ? 3 : strcmp(name, "starttls") == 0 ? 2
					   : strcmp(name, "plain") == 0	   ? 0
										   : -1;
}

/* hosts: the array NAME of O into V (at most WS_OLD_MAX host names). */
static int hosts(json_t *o, const char *name, char v[][WS_NEXT_HOST_MAX + 1], size_t *n_r,
		 char **err_r)
{
	json_t *a = json_object_get(o, name), *e;
	size_t i;

	if (a == NULL) {
		*n_r = 0;
		return 0;
	}
	if (!json_is_array(a) || json_array_size(a) > WS_OLD_MAX)
		return ap_bad(name, "not an array of at most 17 host names", err_r);
	json_array_foreach(a, i, e) {
		const char *s = json_string_value(e);

		if (s == NULL || json_string_length(e) > WS_NEXT_HOST_MAX || !net_host_ok(s))
			return ap_bad(name, "an element is not a host name", err_r);
		memcpy(v[i], s, strlen(s) + 1);
	}
	*n_r = i;
	return 0;
}

/* user: the string NAME of O, a login without control bytes. */
static int user(json_t *o, const char *name, char *dst, char **err_r)
{
	if (ap_get_str(o, name, dst, WS_USER_MAX + 1, err_r) < 0)
		return -1;
	return ap_text_ok(dst, WS_USER_MAX) ? 0 : ap_bad(name, "empty or a control byte", err_r);
}

static int old_part(json_t *o, struct ws_next *r, char **err_r)
{
	if (!json_is_object(o))
		return ap_bad("old", "missing or not an object", err_r);
	if (hosts(o, "imap_hosts", r->old_imap, &r->n_old_imap, err_r) < 0 ||
	    hosts(o, "smtp_hosts", r->old_smtp, &r->n_old_smtp, err_r) < 0 ||
	    user(o, "user", r->old_user, err_r) < 0)
		return -1;
	return r->n_old_imap > 0 ? 0 : ap_bad("imap_hosts", "empty", err_r);
}

/* endpoint: PREFIX_host, _port, _socket of O; an empty host only when
 * EMPTY_OK (then port and socket may be missing). */
static int endpoint(json_t *o, const char *prefix, int empty_ok, char *host, int *port,
		    int *sock, char **err_r)
{
	char name[32], sname[16];
	long long p;

	snprintf(name, sizeof(name), "%s_host", prefix);
	if (ap_get_str(o, name, host, WS_NEXT_HOST_MAX + 1, err_r) < 0)
		return -1;
	if (host[0] == '\0' && empty_ok) {
		*port = 0;
		*sock = -1;
		return 0;
	}
	if (!net_host_ok(host))
		return ap_bad(name, "not a host name", err_r);
	snprintf(name, sizeof(name), "%s_port", prefix);
	if (ap_get_int(o, name, 1, 65535, &p, err_r) < 0)
		return -1;
	*port = (int)p;
	snprintf(name, sizeof(name), "%s_socket", prefix);
	if (ap_get_str(o, name, sname, sizeof(sname), err_r) < 0)
		return -1;
	if ((*sock = socket_of(sname)) < 0)
		return ap_bad(name, "not ssl, starttls or plain", err_r);
	return 0;
}

static int new_part(json_t *o, struct ws_next *r, char **err_r)
{
	if (!json_is_object(o))
		return ap_bad("new", "missing or not an object", err_r);
	if (endpoint(o, "imap", 0, r->imap_host, &r->imap_port, &r->imap_socket, err_r) < 0 ||
	    endpoint(o, "smtp", 1, r->smtp_host, &r->smtp_port, &r->smtp_socket, err_r) < 0)
		return -1;
	return user(o, "user", r->new_user, err_r);
}

/* head: step, request, state, retry_ms, folder_root. */
static int head(json_t *j, struct ws_next *r, char **err_r)
{
	char step[16];
	size_t i;

	if (ap_get_str(j, "step", step, sizeof(step), err_r) < 0)
		return -1;
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]) && strcmp(step, steps[i]) != 0; i++)
		;
	if (i == sizeof(steps) / sizeof(steps[0]))
		return ap_bad("step", "not a step this agent knows", err_r);
	r->step = (enum ws_step)i;
	if (ap_get_int(j, "request", r->step == WS_STEP_NONE ? 0 : 1, 1LL << 53, &r->request, err_r) <
	    0)
		return -1;
	if (json_object_get(j, "state") != NULL &&
	    ap_get_str(j, "state", r->state, sizeof(r->state), err_r) < 0)
		return -1;
	for (i = 0; r->state[i] != '\0'; i++)
		if (r->state[i] < ' ' || r->state[i] >= 0x7f)
			r->state[i] = '?';
	r->retry_ms = 10000;
	if (json_is_integer(json_object_get(j, "retry_ms")))
		r->retry_ms = json_integer_value(json_object_get(j, "retry_ms"));
	r->retry_ms = r->retry_ms < 1000 ? 1000 : r->retry_ms > 60000 ? 60000 : r->retry_ms;
	strcpy(r->folder_root, "Local Folders");
	if (json_object_get(j, "folder_root") != NULL &&
	    (ap_get_str(j, "folder_root", r->folder_root, sizeof(r->folder_root), err_r) < 0 ||
	     !ap_text_ok(r->folder_root, sizeof(r->folder_root) - 1)))
		return *err_r ? -1 : ap_bad("folder_root", "empty or a control byte", err_r);
	return 0;
}

int ws_parse_next(const char *buf, size_t len, struct ws_next *r, char **err_r)
{
	json_t *j, *o, *n;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	*err_r = NULL;
	if ((j = ap_json_load(buf, len, err_r)) == NULL)
		return -1;
	if (head(j, r, err_r) < 0)
		goto out;
	o = json_object_get(j, "old");
	n = json_object_get(j, "new");
	r->has_endpoints = o != NULL || n != NULL;
	if (r->step == WS_STEP_SWITCH && !r->has_endpoints)
		rc = ap_bad("old", "missing for this step", err_r);
	else if (r->has_endpoints && (old_part(o, r, err_r) < 0 || new_part(n, r, err_r) < 0))
		rc = -1;
	else
		rc = 0;
out:
	json_decref(j);
	return rc;
}

/* detail: D cut at WS_DETAIL_MAX bytes on a UTF-8 boundary, control bytes as spaces. */
static char *detail(const char *d)
{
	size_t n = strlen(d), i;
	char *s;

	if (n > WS_DETAIL_MAX) {
		n = WS_DETAIL_MAX;
		while (n > 0 && ((unsigned char)d[n] & 0xc0) == 0x80)
			n--;
	}
	s = xstrndup(d, n);
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < ' ' || s[i] == 0x7f)
			s[i] = ' ';
	return s;
}

static void set_num(json_t *j, const char *name, long long v)
{
	if (v >= 0)
		json_object_set_new(j, name, json_integer(v));
}

/* set_str: S as NAME unless NULL; one that is not UTF-8 (jansson refuses
 * it: a file name) is sent as "". */
static void set_str(json_t *j, const char *name, const char *s)
{
	json_t *v;

	if (s == NULL)
		return;
	v = json_string(s);
	json_object_set_new(j, name, v != NULL ? v : json_string(""));
}

char *ws_report_json(const struct ws_report *r)
{
	json_t *j = json_pack("{s:s, s:I, s:s, s:b}", "version", FEDMIG_VERSION, "request",
			      (json_int_t)r->request, "step", r->step, "ok", r->ok);
	char *out, *d;

	if (r->detail != NULL) {
		d = detail(r->detail);
		set_str(j, "detail", d);
		free(d);
	}
	set_str(j, "profile", r->profile);
	set_str(j, "local_format", r->local_format);
	set_num(j, "local_folders", r->local_folders);
	set_num(j, "local_messages", r->local_messages);
	set_num(j, "local_bytes", r->local_bytes);
	set_num(j, "changed", r->changed);
	out = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return out != NULL ? out : xstrdup("{}"); /* out of memory: the server says 400 */
}
