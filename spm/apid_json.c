#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apid_json.h"
#include "xalloc.h"

/* Folders in one list result: far more than any mailbox has. */
#define LIST_MAX 100000

json_t *apid_json_load(const char *body, size_t len, const char **why_r)
{
	json_error_t jerr;
	json_t *o;

	if (len > APID_JSON_MAX) {
		*why_r = "body too large";
		return NULL;
	}
	o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL) {
		*why_r = "body: not JSON";
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		*why_r = "body: not a JSON object";
		return NULL;
	}
	return o;
}

/* printable: S has no control characters (bytes >= 0x80 allowed: jansson
 * has checked the UTF-8). */
static int printable(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < ' ' || *p == 0x7f)
			return 0;
	return 1;
}

/* apid_json_int: member NAME of O, an integer in MIN..MAX; absent is DEF (or
 * an error when REQUIRED). */
int apid_json_int(json_t *o, const char *name, long long min, long long max, int required,
		   long long def, long long *v_r)
{
	json_t *v = json_object_get(o, name);

	if (v == NULL || json_is_null(v)) {
		*v_r = def;
		return required ? -1 : 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return -1;
	*v_r = json_integer_value(v);
	return 0;
}

/* apid_json_str: member NAME of O, a printable string shorter than SIZE. */
int apid_json_str(json_t *o, const char *name, int required, char *buf, size_t size)
{
	json_t *v = json_object_get(o, name);

	buf[0] = '\0';
	if (v == NULL || json_is_null(v))
		return required ? -1 : 0;
	if (!json_is_string(v) || json_string_length(v) >= size ||
	    strlen(json_string_value(v)) != json_string_length(v) || !printable(json_string_value(v)))
		return -1;
	memcpy(buf, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

int apid_json_bool(json_t *o, const char *name, int required, int *b_r)
{
	json_t *v = json_object_get(o, name);

	*b_r = 0;
	if (v == NULL || json_is_null(v))
		return required ? -1 : 0;
	if (!json_is_boolean(v))
		return -1;
	*b_r = json_is_true(v);
	return 0;
}

int apid_parse_enrol(json_t *o, char code[APID_CODE_MAX], const char **why_r)
{
	if (apid_json_str(o, "code", 1, code, APID_CODE_MAX) < 0 || code[0] == '\0' ||
	    strchr(code, ' ')) {
		*why_r = "code: a string of 1-63 characters";
		return -1;
	}
	return 0;
}

int apid_parse_poll(json_t *o, int *slots_r, long long *wait_s_r, const char **why_r)
{
	long long slots;

	if (apid_json_int(o, "slots", 0, APID_SLOTS_MAX, 1, 0, &slots) < 0) {
		*why_r = "slots: an integer 0-256";
		return -1;
	}
	if (apid_json_int(o, "wait", 0, 3600, 0, 0, wait_s_r) < 0) {
		*why_r = "wait: an integer 0-3600 (seconds)";
		return -1;
	}
	*slots_r = (int)slots;
	return 0;
}

/* task_list: the array member "tasks" of O (absent: empty) into HB. */
static int task_list(json_t *o, struct apid_heartbeat *hb)
{
	json_t *a = json_object_get(o, "tasks"), *v;
	size_t i;

	hb->ntasks = 0;
	if (a == NULL || json_is_null(a))
		return 0;
	if (!json_is_array(a) || json_array_size(a) > APID_SLOTS_MAX)
		return -1;
	json_array_foreach(a, i, v)
	{
		if (!json_is_integer(v) || json_integer_value(v) <= 0)
			return -1;
		hb->tasks[hb->ntasks++] = json_integer_value(v);
	}
	return 0;
}

int apid_parse_heartbeat(json_t *o, struct apid_heartbeat *hb, const char **why_r)
{
	long long slots;

	memset(hb, 0, sizeof(*hb));
	if (apid_json_str(o, "health", 1, hb->health, sizeof(hb->health)) < 0 ||
	    (strcmp(hb->health, "ok") != 0 && strcmp(hb->health, "down") != 0)) {
		*why_r = "health: \"ok\" or \"down\"";
		return -1;
	}
	if (apid_json_str(o, "detail", 0, hb->detail, sizeof(hb->detail)) < 0) {
		*why_r = "detail: a printable string of at most 255 bytes";
		return -1;
	}
	if (apid_json_int(o, "slots", 0, APID_SLOTS_MAX, 0, 0, &slots) < 0) {
		*why_r = "slots: an integer 0-256";
		return -1;
	}
	hb->slots = (int)slots;
	if (task_list(o, hb) < 0) {
		*why_r = "tasks: an array of at most 256 task numbers";
		return -1;
	}
	return 0;
}

int apid_parse_next(json_t *o, long long *seq_r, json_t **result_r, const char **why_r)
{
	json_t *r = json_object_get(o, "result");

	if (apid_json_int(o, "seq", 0, (1LL << 53), 1, 0, seq_r) < 0) {
		*why_r = "seq: a non-negative integer";
		return -1;
	}
	if (r != NULL && !json_is_null(r) && !json_is_object(r)) {
		*why_r = "result: an object";
		return -1;
	}
	*result_r = (r == NULL || json_is_null(r)) ? NULL : r;
	return 0;
}

int apid_result_test(json_t *r, int *ok_r, int *permanent_r, char reason[AGENT_REASON_MAX],
		     const char **why_r)
{
	json_t *v = json_object_get(r, "reason");

	if (apid_json_bool(r, "ok", 1, ok_r) < 0 || apid_json_bool(r, "permanent", 0, permanent_r) < 0) {
		*why_r = "result: ok and permanent are booleans";
		return -1;
	}
	reason[0] = '\0';
	if (v && !json_is_null(v)) {
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
			*why_r = "result.reason: a string";
			return -1;
		}
		snprintf(reason, AGENT_REASON_MAX, "%s", json_string_value(v));
		for (char *p = reason; *p; p++)
			if ((unsigned char)*p < ' ' || *p == 0x7f)
				*p = ' ';
	}
	return 0;
}

int apid_folder_ok(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n <= 1000 && printable(name);
}

/* one_folder: V, one element of a list result, into F. */
static int one_folder(json_t *v, struct agent_folder *f)
{
	long long attrs;

	memset(f, 0, sizeof(*f));
	if (!json_is_object(v) || apid_json_str(v, "name", 1, f->name, sizeof(f->name)) < 0 ||
	    !apid_folder_ok(f->name) || apid_json_str(v, "sep", 0, f->sep, sizeof(f->sep)) < 0 ||
	    apid_json_int(v, "attrs", 0, 0xffffffffLL, 0, 0, &attrs) < 0 ||
	    apid_json_bool(v, "subscribed", 0, &f->subscribed) < 0)
		return -1;
	f->attrs = (unsigned)attrs;
	return 0;
}

int apid_result_list(json_t *r, struct agent_folder **f_r, size_t *n_r, const char **why_r)
{
	json_t *a = json_object_get(r, "folders"), *v;
	struct agent_folder *f;
	size_t i;

	*f_r = NULL;
	*n_r = 0;
	if (!json_is_array(a) || json_array_size(a) > LIST_MAX) {
		*why_r = "result.folders: an array of at most 100000 folders";
		return -1;
	}
	f = xcalloc(json_array_size(a) + 1, sizeof(*f));
	json_array_foreach(a, i, v)
	{
		if (one_folder(v, &f[i]) < 0) {
			free(f);
			*why_r = "result.folders: a folder needs a name (1-1000 printable bytes),"
				 " sep (one character or \"\"), attrs (integer), subscribed (boolean)";
			return -1;
		}
	}
	*f_r = f;
	*n_r = json_array_size(a);
	return 0;
}

int apid_result_items(json_t *r, long long *count_r, char cursor[AGENT_CURSOR_MAX], int *more_r,
		      const char **why_r)
{
	if (apid_json_int(r, "count", 0, 1000000, 1, 0, count_r) < 0) {
		*why_r = "result.count: an integer 0-1000000";
		return -1;
	}
	if (apid_json_str(r, "cursor", 0, cursor, AGENT_CURSOR_MAX) < 0) {
		*why_r = "result.cursor: a printable string under 1024 bytes";
		return -1;
	}
	if (apid_json_bool(r, "more", 1, more_r) < 0) {
		*why_r = "result.more: a boolean";
		return -1;
	}
	return 0;
}
