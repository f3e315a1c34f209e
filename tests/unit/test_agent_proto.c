/* fedmig-agent: the parsers of the agent API's answers, hostile input. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "ckmain.h"
#include "proto.h"

/* S: a string literal and its length, as the parsers take them. */
#define S(x) (x), strlen(x)

/* A body and whether ap_parse_next takes it ("" or the error's start). */
struct next_case {
	const char *in, *want;
};

static const struct next_case next_cases[] = {
	{"{\"seq\":3,\"action\":\"test\"}", ""},
	{"{\"seq\":4,\"action\":\"list\"}", ""},
	{"{\"seq\":5,\"action\":\"get-items\",\"folder\":\"INBOX\",\"cursor\":\"1.7\","
	 "\"max_items\":1000,\"max_bytes\":33554432}", ""},
	{"{\"seq\":5,\"action\":\"get-items\",\"folder\":\"INBOX\",\"max_items\":1,"
	 "\"max_bytes\":1}", ""},
	{"{\"seq\":6,\"action\":\"wait\",\"ms\":5000}", ""},
	{"{\"seq\":7,\"action\":\"done\"}", ""},
	{"{\"seq\":8,\"action\":\"cancel\",\"deadline_ms\":60000}", ""},
	{"", "not JSON"},
	{"[]", "not a JSON object"},
	{"{\"seq\":0,\"action\":\"test\"}", "\"seq\""},
	{"{\"seq\":-1,\"action\":\"test\"}", "\"seq\""},
	{"{\"seq\":1.5,\"action\":\"test\"}", "\"seq\""},
	{"{\"seq\":\"1\",\"action\":\"test\"}", "\"seq\""},
	{"{\"seq\":1,\"seq\":2,\"action\":\"test\"}", "not JSON"},
	{"{\"seq\":1,\"action\":\"rm -rf\"}", "\"action\": unknown"},
	{"{\"seq\":1,\"action\":\"test-and-a-very-long-name\"}", "\"action\""},
	{"{\"seq\":1,\"action\":\"get-items\",\"folder\":\"a\\nb\",\"max_items\":1,"
	 "\"max_bytes\":1}", "\"folder\""},
	{"{\"seq\":1,\"action\":\"get-items\",\"folder\":\"a\\u0000b\",\"max_items\":1,"
	 "\"max_bytes\":1}", "not JSON"},
	{"{\"seq\":1,\"action\":\"get-items\",\"folder\":\"\",\"max_items\":1,"
	 "\"max_bytes\":1}", "\"folder\""},
	{"{\"seq\":1,\"action\":\"get-items\",\"folder\":\"INBOX\",\"cursor\":\"a b\","
	 "\"max_items\":1,\"max_bytes\":1}", "\"cursor\""},
	{"{\"seq\":1,\"action\":\"get-items\",\"folder\":\"INBOX\",\"max_items\":0,"
	 "\"max_bytes\":1}", "\"max_items\""},
	{"{\"seq\":1,\"action\":\"get-items\",\"folder\":\"INBOX\",\"max_items\":1}",
	 "\"max_bytes\""},
	{"{\"seq\":1,\"action\":\"wait\",\"ms\":-5}", "\"ms\""},
	{"{\"seq\":1,\"action\":\"wait\"}", "\"ms\""},
	{"{\"seq\":1,\"action\":\"cancel\",\"deadline_ms\":\"soon\"}", "\"deadline_ms\""},
};

START_TEST(next_table)
{
	const struct next_case *c = &next_cases[_i];
	struct ap_next a;
	char *err = NULL;
	int rc = ap_parse_next(c->in, strlen(c->in), &a, &err);

	if (*c->want == '\0') {
		ck_assert_msg(rc == 0, "%s: %s", c->in, err ? err : "");
	} else {
		ck_assert_msg(rc < 0, "%s: accepted", c->in);
		ck_assert_msg(strstr(err, c->want) != NULL, "%s: %s", c->in, err);
	}
	free(err);
}
END_TEST

START_TEST(next_values)
{
	const char *in = "{\"seq\":5,\"action\":\"get-items\",\"folder\":\"Sent.2020\","
			 "\"cursor\":\"17.42\",\"max_items\":10,\"max_bytes\":999}";
	struct ap_next a;
	char *err = NULL;

	ck_assert_int_eq(ap_parse_next(in, strlen(in), &a, &err), 0);
	ck_assert_int_eq(a.seq, 5);
	ck_assert_int_eq(a.action, AP_GET_ITEMS);
	ck_assert_str_eq(a.folder, "Sent.2020");
	ck_assert_str_eq(a.cursor, "17.42");
	ck_assert_int_eq(a.max_items, 10);
	ck_assert_int_eq(a.max_bytes, 999);
}
END_TEST

START_TEST(poll_ok_and_hostile)
{
	struct ap_task t[2];
	size_t n;
	char *err = NULL;
	const char *ok = "{\"tasks\":[{\"task\":7,\"system\":\"s1\",\"mailbox\":"
			 "\"alice@s1.example.org\",\"lease_ms\":60000}]}";

	ck_assert_int_eq(ap_parse_poll(ok, strlen(ok), t, 2, &n, &err), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(t[0].id, 7);
	ck_assert_str_eq(t[0].mailbox, "alice@s1.example.org");
	ck_assert_int_eq(ap_parse_poll(S("{\"tasks\":[]}"), t, 2, &n, &err), 0);
	ck_assert_int_eq(n, 0);
	static const char *const bad[] = {
		"{\"tasks\":[1,2,3]}",
		"{\"tasks\":{}}",
		"{\"tasks\":[{\"task\":7,\"system\":\"../s1\",\"mailbox\":\"a\",\"lease_ms\":1}]}",
		"{\"tasks\":[{\"task\":7,\"system\":\"s1\",\"mailbox\":\"../../etc\",\"lease_ms\":1}]}",
		"{\"tasks\":[{\"task\":7,\"system\":\"s1\",\"mailbox\":\"a\\u0001\",\"lease_ms\":1}]}",
		"{\"tasks\":[{\"task\":0,\"system\":\"s1\",\"mailbox\":\"a\",\"lease_ms\":1}]}",
		"{\"tasks\":[{\"task\":1,\"system\":\"s1\",\"mailbox\":\"a\",\"lease_ms\":1},"
		"{\"task\":2,\"system\":\"s1\",\"mailbox\":\"a\",\"lease_ms\":1},"
		"{\"task\":3,\"system\":\"s1\",\"mailbox\":\"a\",\"lease_ms\":1}]}",
		"null",
		"{\"tasks\":[{\"task\":7,\"system\":\"s1\",\"mailbox\":\"a\"}]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		ck_assert_msg(ap_parse_poll(bad[i], strlen(bad[i]), t, 2, &n, &err) < 0, "%s",
			      bad[i]);
		ck_assert_ptr_nonnull(err);
		free(err);
	}
}
END_TEST

START_TEST(heartbeat_enrol_put)
{
	struct ap_heartbeat hb;
	struct ap_enrol e;
	struct ap_put p;
	char *err = NULL;
	const char *h = "{\"heartbeat_ms\":10000,\"tasks\":[{\"task\":3,\"lease\":\"ok\"},"
			"{\"task\":4,\"lease\":\"cancel\",\"deadline_ms\":60000},"
			"{\"task\":5,\"lease\":\"lost\"}]}";
	const char *en = "{\"agent\":\"paris-1\",\"token\":"
			 "\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}";

	ck_assert_int_eq(ap_parse_heartbeat(h, strlen(h), &hb, &err), 0);
	ck_assert_int_eq(hb.ntasks, 3);
	ck_assert_int_eq(hb.tasks[1].lease, AP_LEASE_CANCEL);
	ck_assert_int_eq(hb.tasks[1].deadline_ms, 60000);
	ck_assert_int_eq(hb.tasks[2].lease, AP_LEASE_LOST);
	ck_assert_int_lt(ap_parse_heartbeat(S("{\"heartbeat_ms\":10000,\"tasks\":[{\"task\":3,"
					    "\"lease\":\"maybe\"}]}"), &hb, &err), 0);
	free(err);
	ck_assert_int_eq(ap_parse_enrol(en, strlen(en), &e, &err), 0);
	ck_assert_str_eq(e.agent, "paris-1");
	ck_assert_int_lt(ap_parse_enrol(S("{\"agent\":\"a/b\",\"token\":\"00\"}"), &e, &err), 0);
	free(err);
	ck_assert_int_lt(ap_parse_enrol(S("{\"agent\":\"a\",\"token\":\"XYZ\"}"), &e, &err), 0);
	free(err);
	ck_assert_int_eq(ap_parse_put(S("{\"items\":2,\"duplicates\":1,\"bytes\":9}"), &p, &err), 0);
	ck_assert_int_eq(p.duplicates, 1);
	ck_assert_int_lt(ap_parse_put(S("{\"items\":-2,\"duplicates\":1,\"bytes\":9}"), &p, &err), 0);
	free(err);
}
END_TEST

START_TEST(error_never_fails)
{
	struct ap_error e;
	const char *v = "{\"error\":\"version\",\"message\":\"upgrade to 0.2\\n\\u001b[31m\"}";

	ap_parse_error(v, strlen(v), &e);
	ck_assert_int_eq(e.code, AP_ERR_VERSION);
	ck_assert_str_eq(e.message, "upgrade to 0.2??[31m");
	ap_parse_error(S("<html>502</html>"), &e);
	ck_assert_int_eq(e.code, AP_ERR_OTHER);
	ap_parse_error(S("{\"error\":\"lease\"}"), &e);
	ck_assert_int_eq(e.code, AP_ERR_LEASE);
	ck_assert_str_eq(e.message, "(no message)");
	ap_parse_error("", 0, &e);
	ck_assert_int_eq(e.code, AP_ERR_OTHER);
}
END_TEST

START_TEST(header_line)
{
	char *l = batch_header("1.7", "\\Seen $label1", "01-Jan-2020 10:00:00 +0000", 12,
			       "abc");
	char big[20000];

	ck_assert_str_eq(l, "{\"src\":\"1.7\",\"flags\":\"\\\\Seen $label1\",\"date\":"
			    "\"01-Jan-2020 10:00:00 +0000\",\"size\":12,\"sha256\":\"abc\"}\n");
	free(l);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_ptr_null(batch_header("k", big, "d", 1, "x"));
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_LOOP(next_table, next_cases), CK_TEST(next_values),
		CK_TEST(poll_ok_and_hostile),	 CK_TEST(heartbeat_enrol_put),
		CK_TEST(error_never_fails),	 CK_TEST(header_line),
	};

	return ck_run(CK_SUITE("agent_proto", "core", 0, tests));
}
