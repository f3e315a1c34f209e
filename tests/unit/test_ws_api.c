/* fedmig-apid's workstation endpoints' pure parts: the /v1/ws/next and
 * /v1/ws/report bodies with hostile input (every prefix of a good body,
 * deep nesting, NUL, duplicate keys, huge numbers, an overlong detail,
 * wrong types), the data kept of a report, and apid_ws_decide's step for
 * each state of a request. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apid_json.h"
#include "apid_ws.h"
#include "apid_ws_json.h"
#include "ckmain.h"
#include "state.h"
#include "store_agent.h"
#include "store_smd.h"
#include "testutil.h"

#define GOOD                                                                                 \
	"{\"version\":\"0.1\",\"request\":7,\"step\":\"check\",\"ok\":true,\"detail\":\"fine\"," \
	"\"profile\":\"default\",\"local_format\":\"mbox\",\"local_folders\":2,"               \
	"\"local_messages\":30,\"local_bytes\":4000,\"changed\":0}"

#define TEST_NOK "{\"request\":1,\"step\":\"test\",\"ok\":false}"

static int report(const char *body, size_t len, struct ws_report_in *r)
{
	const char *why = NULL;
	json_t *o = apid_json_load(body, len, &why);
	int rc;

	if (o == NULL) {
		ck_assert_ptr_nonnull(why);
		return -2;
	}
	rc = apid_ws_parse_report(o, r, &why);
	if (rc < 0)
		ck_assert_ptr_nonnull(why);
	json_decref(o);
	return rc;
}

START_TEST(test_report_good)
{
	struct ws_report_in r;
	char data[WS_DATA_MAX];

	ck_assert_int_eq(report(GOOD, strlen(GOOD), &r), 0);
	ck_assert_int_eq(r.request, 7);
	ck_assert_str_eq(r.step, "check");
	ck_assert_int_eq(r.ok, 1);
	ck_assert_int_eq(r.messages, 30);
	ck_assert_int_eq(r.changed, 0);
	apid_ws_data(&r, data);
	ck_assert_str_eq(data, "{\"changed\":0,\"local_bytes\":4000,\"local_folders\":2,"
			       "\"local_format\":\"mbox\",\"local_messages\":30,\"profile\":\"default\"}");
	ck_assert_int_eq(report(TEST_NOK, strlen(TEST_NOK), &r), 0);
	ck_assert_int_eq(r.folders, -1);
	apid_ws_data(&r, data);
	ck_assert_str_eq(data, "{}");
}
END_TEST

/* Every prefix of a good body is refused, none crashes. */
START_TEST(test_report_prefixes)
{
	struct ws_report_in r;

	for (size_t n = 0; n < strlen(GOOD); n++)
		ck_assert_int_lt(report(GOOD, n, &r), 0);
}
END_TEST

static const char *const hostile[] = {
	"{\"request\":0,\"step\":\"check\",\"ok\":true}",
	"{\"request\":-1,\"step\":\"check\",\"ok\":true}",
	"{\"request\":99999999999999999999999,\"step\":\"check\",\"ok\":true}",
	"{\"request\":1.5,\"step\":\"check\",\"ok\":true}",
	"{\"request\":\"1\",\"step\":\"check\",\"ok\":true}",
	"{\"request\":1,\"step\":\"upload\",\"ok\":true}",
	"{\"request\":1,\"step\":\"CHECK\",\"ok\":true}",
	"{\"request\":1,\"step\":\"check\",\"ok\":1}",
	"{\"request\":1,\"step\":\"check\"}",
	"{\"request\":1,\"ok\":true}",
	"{\"request\":1,\"step\":\"check\",\"ok\":true,\"detail\":\"a\\nb\"}",
	"{\"request\":1,\"step\":\"check\",\"ok\":true,\"detail\":\"a\\u0000b\"}",
	"{\"request\":1,\"step\":\"check\",\"ok\":true,\"detail\":7}",
	"{\"request\":1,\"step\":\"check\",\"ok\":true,\"local_format\":\"pst\"}",
	"{\"request\":1,\"step\":\"check\",\"ok\":true,\"local_bytes\":-5}",
	"{\"request\":1,\"step\":\"check\",\"ok\":true,\"local_bytes\":1e30}",
	"{\"request\":1,\"step\":\"check\",\"ok\":true,\"changed\":10000000000000000}",
	"{\"request\":1,\"step\":\"check\",\"ok\":true,\"profile\":\"\\u001b[2J\"}",
	"{\"request\":1,\"request\":2,\"step\":\"check\",\"ok\":true}",
	"[{\"request\":1,\"step\":\"check\",\"ok\":true}]",
	"\"check\"",
	"{\"request\":1,\"step\":\"check\",\"ok\":true}\0garbage",
};

START_TEST(test_report_hostile)
{
	struct ws_report_in r;
	size_t len = _i == 21 ? 47 : strlen(hostile[_i]);

	ck_assert_msg(report(hostile[_i], len, &r) < 0, "accepted: %s", hostile[_i]);
}
END_TEST

START_TEST(test_report_big)
{
	struct ws_report_in r;
	size_t depth = 100000, n = 0;
	char *b = malloc(2 * depth + 600);

	/* 401 bytes of detail: one too many. */
	n = (size_t)sprintf(b, "{\"request\":1,\"step\":\"check\",\"ok\":true,\"detail\":\"");
	memset(b + n, 'x', 401);
	n += 401;
	n += (size_t)sprintf(b + n, "\"}");
	ck_assert_int_lt(report(b, n, &r), 0);
	/* 400 pass, multibyte included. */
	n -= 3;
	memcpy(b + n - 2, "\xc3\xa9", 2);
	n += (size_t)sprintf(b + n, "\"}");
	ck_assert_int_eq(report(b, n, &r), 0);
	/* Deep nesting is refused by the loader, not the stack. */
	for (n = 0; n < depth; n++)
		b[n] = '[';
	for (; n < 2 * depth; n++)
		b[n] = ']';
	ck_assert_int_lt(report(b, n, &r), 0);
	free(b);
}
END_TEST

START_TEST(test_next_body)
{
	char v[16];
	const char *why;
	json_t *o = json_pack("{s:s}", "version", "0.1");

	ck_assert_int_eq(apid_ws_parse_next(o, v, &why), 0);
	ck_assert_str_eq(v, "0.1");
	json_decref(o);
	o = json_pack("{s:s}", "version", "0123456789abcdef");
	ck_assert_int_lt(apid_ws_parse_next(o, v, &why), 0);
	json_decref(o);
	o = json_pack("{s:i}", "version", 1);
	ck_assert_int_lt(apid_ws_parse_next(o, v, &why), 0);
	json_decref(o);
	o = json_object();
	ck_assert_int_lt(apid_ws_parse_next(o, v, &why), 0);
	json_decref(o);
}
END_TEST

static struct config *scn(const char *extra)
{
	return tu_config("scenarios = s\ndefault_scenario = s\ns_workstation_checks = yes\ns_local_data = yes\n"
			 "s_recheck_delay = 10s\ns_workstation_retry = 20s\n%s",
			 extra);
}

static struct ws_facts facts(int state)
{
	struct ws_facts f;

	memset(&f, 0, sizeof(f));
	f.found = 1;
	f.r.state = state;
	f.r.id = 5;
	snprintf(f.r.scenario, sizeof(f.r.scenario), "s");
	f.task_phase = f.job_state = -1;
	return f;
}

START_TEST(test_decide)
{
	struct config *c = scn("");
	struct ws_facts f = facts(ST_TARGET_CREATED);
	long long ms, s = 1000000;

	ck_assert_str_eq(apid_ws_decide(c, &f, 0, &ms), "check");
	f = facts(ST_CHECKED);
	f.r.updated = 100 * s;
	ck_assert_str_eq(apid_ws_decide(c, &f, 104 * s, &ms), "none");
	ck_assert_int_eq(ms, 6000);
	ck_assert_str_eq(apid_ws_decide(c, &f, 110 * s, &ms), "check");
	f = facts(ST_SWITCHED);
	ck_assert_str_eq(apid_ws_decide(c, &f, 0, &ms), "none"); /* no task yet */
	f.task_phase = PHASE_ITEMS;
	ck_assert_str_eq(apid_ws_decide(c, &f, 0, &ms), "upload");
	f.r.state = ST_COPIED;
	f.task_phase = PHASE_DONE;
	f.job_state = SMD_RUNNING;
	ck_assert_str_eq(apid_ws_decide(c, &f, 0, &ms), "none");
	f.job_state = SMD_DONE;
	ck_assert_str_eq(apid_ws_decide(c, &f, 0, &ms), "switch");
	f.fail_at = 50 * s;
	ck_assert_str_eq(apid_ws_decide(c, &f, 60 * s, &ms), "none");
	ck_assert_int_eq(ms, 10000);
	ck_assert_str_eq(apid_ws_decide(c, &f, 70 * s, &ms), "switch");
	f.test_ok = 1;
	ck_assert_str_eq(apid_ws_decide(c, &f, 70 * s, &ms), "none");
	f = facts(ST_COMPLETE);
	ck_assert_str_eq(apid_ws_decide(c, &f, 0, &ms), "cleanup");
	f.cleaned = 1;
	ck_assert_str_eq(apid_ws_decide(c, &f, 0, &ms), "none");
	f = facts(ST_CHECK_FAILED);
	ck_assert_str_eq(apid_ws_decide(c, &f, 0, &ms), "none");
	ck_assert(ms >= 1000 && ms <= 60000);
	f.found = 0;
	ck_assert_str_eq(apid_ws_decide(c, &f, 0, &ms), "none");
	config_unref(&c);
	/* Without the switch: the upload only. */
	c = scn("s_workstation_switch = no\n");
	f = facts(ST_COPIED);
	f.task_phase = PHASE_DONE;
	f.job_state = SMD_DONE;
	ck_assert_str_eq(apid_ws_decide(c, &f, 0, &ms), "none");
	config_unref(&c);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_TEST(test_report_good),	CK_TEST(test_report_prefixes),
		CK_LOOP(test_report_hostile, hostile), CK_TEST(test_report_big),
		CK_TEST(test_next_body),	CK_TEST(test_decide),
	};

	return ck_run(CK_SUITE("ws_api", "ws_api", 30, tests));
}
