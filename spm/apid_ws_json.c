#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apid_json.h"
#include "apid_ws_json.h"

static const char *const ws_steps[] = {"check",	  "switch",   "test",
				       "repair", "cleanup", "rollback", NULL};

static int one_of(const char *s, const char *const *set)
{
	for (; *set; set++)
		if (strcmp(s, *set) == 0)
			return 1;
	return 0;
}

int apid_ws_parse_next(json_t *o, char version[16], const char **why_r)
{
	if (apid_json_str(o, "version", 1, version, 16) < 0 || version[0] == '\0') {
		*why_r = "version: a string such as \"0.1\"";
		return -1;
	}
	return 0;
}

/* counts: the optional numbers of a report, -1 when absent. */
static int counts(json_t *o, struct ws_report_in *r, const char **why_r)
{
	static const char *const names[] = {"local_folders", "local_messages", "local_bytes",
					    "changed"};
	long long *v[] = {&r->folders, &r->messages, &r->bytes, &r->changed};

	for (size_t i = 0; i < 4; i++)
		if (apid_json_int(o, names[i], 0, WS_COUNT_MAX, 0, -1, v[i]) < 0) {
			*why_r = "local_folders, local_messages, local_bytes, changed:"
				 " integers 0-10^15";
			return -1;
		}
	return 0;
}

int apid_ws_parse_report(json_t *o, struct ws_report_in *r, const char **why_r)
{
	static const char *const formats[] = {"mbox", "maildir", "none", NULL};

	memset(r, 0, sizeof(*r));
	if (apid_json_int(o, "request", 1, 9223372036854775807LL, 1, 0, &r->request) < 0) {
		*why_r = "request: a positive integer";
		return -1;
	}
	if (apid_json_str(o, "step", 1, r->step, sizeof(r->step)) < 0 ||
	    !one_of(r->step, ws_steps)) {
		*why_r = "step: check, switch, test, repair, cleanup or rollback";
		return -1;
	}
	if (apid_json_bool(o, "ok", 1, &r->ok) < 0) {
		*why_r = "ok: true or false";
		return -1;
	}
	if (apid_json_str(o, "detail", 0, r->detail, sizeof(r->detail)) < 0) {
		*why_r = "detail: one printable line of at most 400 bytes";
		return -1;
	}
	if (apid_json_str(o, "profile", 0, r->profile, sizeof(r->profile)) < 0) {
		*why_r = "profile: a printable name of at most 255 bytes";
		return -1;
	}
	if (apid_json_str(o, "local_format", 0, r->local_format, sizeof(r->local_format)) < 0 ||
	    (*r->local_format && !one_of(r->local_format, formats))) {
		*why_r = "local_format: mbox, maildir or none";
		return -1;
	}
	return counts(o, r, why_r);
}

void apid_ws_data(const struct ws_report_in *r, char buf[WS_DATA_MAX])
{
	json_t *o = json_object();
	char *text;

	if (*r->profile)
		json_object_set_new(o, "profile", json_string(r->profile));
	if (*r->local_format)
		json_object_set_new(o, "local_format", json_string(r->local_format));
	if (r->folders >= 0)
		json_object_set_new(o, "local_folders", json_integer(r->folders));
	if (r->messages >= 0)
		json_object_set_new(o, "local_messages", json_integer(r->messages));
	if (r->bytes >= 0)
		json_object_set_new(o, "local_bytes", json_integer(r->bytes));
	if (r->changed >= 0)
		json_object_set_new(o, "changed", json_integer(r->changed));
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	/* 255 + 7 + 4 numbers of 16 digits and the names: far under the size. */
	snprintf(buf, WS_DATA_MAX, "%s", text ? text : "{}");
	free(text);
	json_decref(o);
}
