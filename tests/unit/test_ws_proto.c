/* fedmig-agent, workstation: the /v1/ws/next answer read with hostile
 * input (whole and cut at every byte, NUL, duplicate keys, huge numbers,
 * bad hosts, deep nesting), and the report body made. */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ckmain.h"
#include "ws_proto.h"
#include "xalloc.h"

#define OLD "\"old\":{\"imap_hosts\":[\"mail.old.example\",\"imap.old.example\"]," \
	    "\"smtp_hosts\":[\"smtp.old.example\"],\"user\":\"alice\"}"
#define NEW "\"new\":{\"imap_host\":\"imap.new.example\",\"imap_port\":993,"      \
	    "\"imap_socket\":\"ssl\",\"smtp_host\":\"smtp.new.example\",\"smtp_port\":587," \
	    "\"smtp_socket\":\"starttls\",\"user\":\"alice@example.org\"}"
#define GOOD "{\"request\":7,\"step\":\"switch\",\"state\":\"copied\",\"retry_ms\":5000," \
	     "\"folder_root\":\"Local Folders\"," OLD "," NEW "}"

static int parse(const char *s, struct ws_next *r)
{
	char *err = NULL;
	int rc = ws_parse_next(s, strlen(s), r, &err);

	ck_assert((rc == 0) == (err == NULL));
	free(err);
	return rc;
}

START_TEST(test_good)
{
	struct ws_next r;

	ck_assert_int_eq(parse(GOOD, &r), 0);
	ck_assert_int_eq(r.step, WS_STEP_SWITCH);
	ck_assert_int_eq(r.request, 7);
	ck_assert_uint_eq(r.n_old_imap, 2);
	ck_assert_str_eq(r.old_imap[1], "imap.old.example");
	ck_assert_str_eq(r.old_smtp[0], "smtp.old.example");
	ck_assert_int_eq(r.imap_socket, 3);
	ck_assert_int_eq(r.smtp_socket, 2);
	ck_assert_int_eq(r.smtp_port, 587);
	ck_assert_str_eq(r.new_user, "alice@example.org");
	ck_assert_int_eq(parse("{\"request\":0,\"step\":\"none\",\"retry_ms\":999999}", &r), 0);
	ck_assert_int_eq(r.retry_ms, 60000);
	ck_assert_int_eq(parse("{\"request\":0,\"step\":\"none\",\"retry_ms\":-5}", &r), 0);
	ck_assert_int_eq(r.retry_ms, 1000);
	/* No step due, yet the live request named: what --rollback reports on. */
	ck_assert_int_eq(parse("{\"request\":42,\"step\":\"none\"}", &r), 0);
	ck_assert_int_eq(r.step, WS_STEP_NONE);
	ck_assert_int_eq(r.request, 42);
	ck_assert_int_eq(parse("{\"request\":3,\"step\":\"check\"," OLD ",\"new\":{\"imap_host\":"
			       "\"h\",\"imap_port\":143,\"imap_socket\":\"plain\",\"smtp_host\":\"\","
			       "\"user\":\"a\"}}",
			       &r),
			 0);
	ck_assert_str_eq(r.smtp_host, "");
	ck_assert_int_eq(r.imap_socket, 0);
}
END_TEST

static const char *const hostile[] = {
	"",
	"[]",
	"{\"request\":7,\"step\":\"reboot\"}",
	"{\"request\":0,\"step\":\"check\"," OLD "," NEW "}",
	"{\"request\":7,\"step\":\"switch\"}",
	"{\"request\":1e300,\"step\":\"none\"}",
	"{\"request\":99999999999999999999999,\"step\":\"none\"}",
	"{\"request\":0,\"step\":\"none\",\"step\":\"none\"}",
	"{\"request\":0,\"step\":\"no\\u0000ne\"}",
	"{\"request\":1,\"step\":\"switch\",\"old\":{\"imap_hosts\":[\"a/b\"],\"user\":\"u\"}," NEW "}",
	"{\"request\":1,\"step\":\"switch\",\"old\":{\"imap_hosts\":[\"a b\"],\"user\":\"u\"}," NEW "}",
	"{\"request\":1,\"step\":\"switch\",\"old\":{\"imap_hosts\":[],\"user\":\"u\"}," NEW "}",
	"{\"request\":1,\"step\":\"switch\",\"old\":{\"imap_hosts\":[\"h\"],\"user\":\"u\\n\"}," NEW "}",
	"{\"request\":1,\"step\":\"switch\"," OLD ",\"new\":{\"imap_host\":\"h\",\"imap_port\":0,"
	"\"imap_socket\":\"ssl\",\"smtp_host\":\"\",\"user\":\"u\"}}",
	"{\"request\":1,\"step\":\"switch\"," OLD ",\"new\":{\"imap_host\":\"h\",\"imap_port\":993,"
	"\"imap_socket\":\"tls13\",\"smtp_host\":\"\",\"user\":\"u\"}}",
	"{\"request\":1,\"step\":\"switch\"," OLD ",\"new\":{\"imap_host\":\"h\\\"\",\"imap_port\":993,"
	"\"imap_socket\":\"ssl\",\"smtp_host\":\"\",\"user\":\"u\"}}",
	"{\"request\":1,\"step\":\"switch\"," OLD ",\"new\":{\"imap_host\":\"-h\",\"imap_port\":993,"
	"\"imap_socket\":\"ssl\",\"smtp_host\":\"\",\"user\":\"u\"}}",
	"{\"request\":0,\"step\":\"none\",\"folder_root\":\"a\\tb\"}",
	"{\"request\":0,\"step\":\"none\",\"state\":7}",
	"{\"request\":0,\"step\":\"none\",\"old\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
};

START_TEST(test_hostile)
{
	struct ws_next r;

	ck_assert_msg(parse(hostile[_i], &r) < 0, "accepted: %s", hostile[_i]);
}
END_TEST

/* Every prefix of a good answer is refused, none crashes. */
START_TEST(test_bytewise)
{
	struct ws_next r;
	size_t n = strlen(GOOD), i;
	char *err;

	for (i = 0; i < n; i++) {
		err = NULL;
		ck_assert_int_lt(ws_parse_next(GOOD, i, &r, &err), 0);
		ck_assert_ptr_nonnull(err);
		free(err);
	}
}
END_TEST

START_TEST(test_too_many_hosts)
{
	char buf[4096] = "{\"request\":1,\"step\":\"switch\",\"old\":{\"user\":\"u\",\"imap_hosts\":[";
	struct ws_next r;
	int i;

	for (i = 0; i < WS_OLD_MAX + 1; i++)
		strcat(buf, i ? ",\"h\"" : "\"h\"");
	strcat(buf, "]}," NEW "}");
	ck_assert_int_lt(parse(buf, &r), 0);
}
END_TEST

START_TEST(test_report)
{
	char big[1000];
	struct ws_report rep = {.request = 9, .step = "check", .ok = 0, .detail = big,
				.profile = "abc.default", .local_format = "mbox",
				.local_folders = 3, .local_messages = -1, .local_bytes = 1234,
				.changed = -1};
	json_t *j;
	char *s;

	memset(big, 'x', sizeof(big));
	big[0] = '\n';
	big[398] = '\xc3';
	big[399] = '\xa9';
	big[400] = '\xc3';
	big[401] = '\xa9';
	big[sizeof(big) - 1] = '\0';
	s = ws_report_json(&rep);
	j = json_loads(s, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "request")), 9);
	ck_assert(json_is_false(json_object_get(j, "ok")));
	ck_assert_uint_eq(strlen(json_string_value(json_object_get(j, "detail"))), 400);
	ck_assert_int_eq(json_string_value(json_object_get(j, "detail"))[0], ' ');
	ck_assert_ptr_null(json_object_get(j, "local_messages"));
	ck_assert_int_eq(json_integer_value(json_object_get(j, "local_bytes")), 1234);
	json_decref(j);
	free(s);
	rep.profile = "\xff\xfe";
	s = ws_report_json(&rep);
	ck_assert_ptr_nonnull(strstr(s, "\"profile\":\"\""));
	free(s);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_TEST(test_good),	      CK_LOOP(test_hostile, hostile), CK_TEST(test_bytewise),
		CK_TEST(test_too_many_hosts), CK_TEST(test_report),
	};

	return ck_run(CK_SUITE("ws_proto", "ws_proto", 0, tests));
}
