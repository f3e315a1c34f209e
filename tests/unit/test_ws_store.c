/* lib/store_ws and lib/ws_conf: workstation agents (kind, address, the
 * grants that keep them apart from server agents), reports with their
 * history and check rows, the latest report per step; the client
 * settings from the config and their validation. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckmain.h"
#include "config.h"
#include "state.h"
#include "store_agent.h"
#include "store_buffer.h"
#include "store_req.h"
#include "store_ws.h"
#include "testutil.h"
#include "ws_conf.h"

static char dir[] = "/tmp/test_ws_store_XXXXXX";

static void sql(const char *q)
{
	tu_store_sql(dir, q);
}

static void request(long long req, const char *access, int state)
{
	char q[512];

	snprintf(q, sizeof(q),
		 "INSERT INTO requests(id, access, target_system, scenario, planned_at, state,"
		 " next_at, created, updated) VALUES(%lld, '%s', 's2', 'default', 0, %d, 0, 0, 0)",
		 req, access, state);
	sql(q);
}

static int count_hist(void *ctx, const struct req_hist *h)
{
	int *n = ctx;

	if (h->from == h->to && strncmp(h->step, "E31", 3) == 0)
		(*n)++;
	return 0;
}

START_TEST(test_agents_and_grants)
{
	struct store *s = tu_store_fresh(dir);
	unsigned char c1[32], c2[32];
	struct agent_task t[4];
	struct agent_row r;
	size_t n;

	memset(c1, 1, sizeof(c1));
	memset(c2, 2, sizeof(c2));
	ck_assert_int_eq(store_ws_agent_add(s, "ws1", c1, 100, 1, "w1@example.org"), STORE_OK);
	ck_assert_int_eq(store_ws_agent_add(s, "ws1", c2, 100, 1, "w2@example.org"),
			 STORE_AGENT_EXISTS);
	ck_assert_int_eq(store_agent_add(s, "srv", c2, 100, 1, ""), STORE_OK);
	ck_assert_int_eq(store_agent_get(s, "ws1", 0, &r), STORE_OK);
	ck_assert_int_eq(r.workstation, 1);
	ck_assert_str_eq(r.address, "w1@example.org");
	ck_assert_int_eq(store_agent_get(s, "srv", 0, &r), STORE_OK);
	ck_assert_int_eq(r.workstation, 0);
	request(1, "w1@example.org", ST_SWITCHED);
	request(2, "w2@example.org", ST_SWITCHED);
	request(3, "x@example.org", ST_SWITCHED);
	ck_assert_int_eq(store_buffer_task_add(s, 1, WS_LOCAL_SYSTEM, "w1@example.org", 1), STORE_OK);
	ck_assert_int_eq(store_buffer_task_add(s, 2, WS_LOCAL_SYSTEM, "w2@example.org", 1), STORE_OK);
	ck_assert_int_eq(store_buffer_task_add(s, 3, "s1", "x@s1.example.org", 1), STORE_OK);
	/* The server agent never gets an upload; the workstation its own only. */
	ck_assert_int_eq(store_agent_grant(s, "srv", 4, 10, 1000, t, &n), STORE_OK);
	ck_assert_int_eq((int)n, 1);
	ck_assert_int_eq(t[0].request_id, 3);
	ck_assert_int_eq(store_agent_grant(s, "ws1", 4, 10, 1000, t, &n), STORE_OK);
	ck_assert_int_eq((int)n, 1);
	ck_assert_int_eq(t[0].request_id, 1);
	ck_assert_str_eq(t[0].system, WS_LOCAL_SYSTEM);
	ck_assert_int_eq(store_agent_grant(s, "ws1", 4, 20, 1000, t, &n), STORE_OK);
	ck_assert_int_eq((int)n, 0);
	store_close(&s);
}
END_TEST

START_TEST(test_reports)
{
	struct store *s = tu_store_fresh(dir);
	struct ws_report w = {.request_id = 1, .at = 1000, .ok = 1};
	char detail[REQ_REASON_MAX];
	long long at;
	int ok, n = 0;

	request(1, "w1@example.org", ST_TARGET_CREATED);
	ck_assert_int_eq(store_ws_last(s, 1, "check", 0, &at, &ok), STORE_NOTFOUND);
	snprintf(w.step, sizeof(w.step), "check");
	snprintf(w.detail, sizeof(w.detail), "profile found");
	snprintf(w.data, sizeof(w.data), "{}");
	ck_assert_int_eq(store_ws_report_add(s, &w, ST_TARGET_CREATED, "E20 check", "ok"), STORE_OK);
	/* A check is also the pilot's. */
	ck_assert_int_eq(store_check_last(s, 1, 0, &at, &ok, detail), STORE_OK);
	ck_assert_int_eq(at, 1000);
	ck_assert_int_eq(ok, 1);
	ck_assert_str_eq(detail, "profile found");
	snprintf(w.step, sizeof(w.step), "test");
	w.ok = 0;
	w.at = 2000;
	ck_assert_int_eq(store_ws_report_add(s, &w, ST_COPIED, "E31 test failed", ""), STORE_OK);
	w.ok = 1;
	w.at = 3000;
	ck_assert_int_eq(store_ws_report_add(s, &w, ST_COPIED, "E31 test ok", ""), STORE_OK);
	ck_assert_int_eq(store_ws_last(s, 1, "test", 0, &at, &ok), STORE_OK);
	ck_assert_int_eq(at, 3000);
	ck_assert_int_eq(ok, 1);
	ck_assert_int_eq(store_ws_last(s, 1, "test", 3001, &at, &ok), STORE_NOTFOUND);
	/* A test is no check. */
	ck_assert_int_eq(store_check_last(s, 1, 1001, &at, &ok, detail), STORE_NOTFOUND);
	ck_assert_int_eq(store_req_history(s, 1, count_hist, &n), STORE_OK);
	ck_assert_int_eq(n, 2);
	store_close(&s);
}
END_TEST

static struct config *conf(const char *extra)
{
	return tu_config("systems = s1 s2\ns1_domain = s1.example.org\ns2_domain = s2.example.org\n"
			 "s1_imap = imaps://mail.s1.example.org:1993\ns2_imap = imap://10.0.0.2\n"
			 "%s",
			 extra);
}

START_TEST(test_client_settings)
{
	struct config *c = conf("s2_client_imap = imap.s2.example.org:143/starttls\n"
				"s2_client_smtp = smtp.s2.example.org\n"
				"s1_client_hosts = old1.example.org, old2.example.org\n"
				"s2_client_user = localpart\n");
	char hosts[WS_HOSTS_MAX][WS_HOST_MAX], user[64], *err = NULL;
	struct ws_endpoint e;
	const char *why;

	ck_assert_int_eq(ws_client_imap(c, "s1", &e, &why), 0);
	ck_assert_str_eq(e.host, "mail.s1.example.org");
	ck_assert_int_eq(e.port, 993);
	ck_assert_str_eq(e.socket, "ssl");
	ck_assert_int_eq(ws_client_imap(c, "s2", &e, &why), 0);
	ck_assert_str_eq(e.host, "imap.s2.example.org");
	ck_assert_int_eq(e.port, 143);
	ck_assert_str_eq(e.socket, "starttls");
	ck_assert_int_eq(ws_client_smtp(c, "s2", &e, &why), 0);
	ck_assert_int_eq(e.port, 587);
	ck_assert_str_eq(e.socket, "starttls");
	ck_assert_int_eq(ws_client_smtp(c, "s1", &e, &why), 0);
	ck_assert_str_eq(e.host, "");
	ck_assert_int_eq(ws_client_hosts(c, "s1", hosts, WS_HOSTS_MAX, &why), 2);
	ck_assert_str_eq(hosts[1], "old2.example.org");
	ws_client_user(c, "s2", "w1@s2.example.org", user, sizeof(user));
	ck_assert_str_eq(user, "w1");
	ws_client_user(c, "s1", "w1@s1.example.org", user, sizeof(user));
	ck_assert_str_eq(user, "w1@s1.example.org");
	ck_assert_int_eq(ws_conf_check(c, &err), 0);
	ck_assert_ptr_null(err);
	config_unref(&c);
}
END_TEST

START_TEST(test_client_hostile)
{
	static const char *const bad[] = {
		"host;rm -rf /", "h:0", "h:65536", "h:99999999999", "h:", "h/tls", "h:993/ssl/x",
		"", ":993", "-h", "h\"x", "h\\x", "user@h", "h:12a",
	};
	struct ws_endpoint e;
	const char *why;
	char big[400];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		ck_assert_msg(ws_endpoint_parse(bad[i], 1, "ssl", &e, &why) < 0, "%s", bad[i]);
		ck_assert_ptr_nonnull(why);
	}
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_lt(ws_endpoint_parse(big, 1, "ssl", &e, &why), 0);
	ck_assert_int_eq(ws_endpoint_parse("h.example:465/ssl", 0, "starttls", &e, &why), 0);
	ck_assert_int_eq(e.port, 465);
	ck_assert(ws_root_ok("Local Folders"));
	ck_assert(ws_root_ok("Archives/Local \xc3\xa9t\xc3\xa9"));
	ck_assert(!ws_root_ok(""));
	ck_assert(!ws_root_ok("/Local"));
	ck_assert(!ws_root_ok("Local/"));
	ck_assert(!ws_root_ok("a//b"));
	ck_assert(!ws_root_ok("a\tb"));
	ck_assert(!ws_root_ok("a\x7f"));
}
END_TEST

START_TEST(test_conf_check)
{
	struct config *c = conf("s1_client_smtp = smtp.s1.example.org:0\n"
				"s2_client_hosts = good.example.org bad_host\n"
				"default_local_folder_root = /x\n");
	char *err = NULL;

	ck_assert_int_lt(ws_conf_check(c, &err), 0);
	ck_assert_ptr_nonnull(strstr(err, "s1_client_smtp"));
	ck_assert_ptr_nonnull(strstr(err, "s2_client_hosts"));
	ck_assert_ptr_nonnull(strstr(err, "default_local_folder_root"));
	ck_assert_ptr_null(strstr(err, "default_local_data"));
	free(err);
	config_unref(&c);
	/* Local data beside a source read by a server agent: the request is
	 * refused at E2 (pilot.c), not the configuration. */
	c = conf("s1_access = agent\ndefault_local_data = yes\n");
	err = NULL;
	ck_assert_int_eq(ws_conf_check(c, &err), 0);
	free(err);
	config_unref(&c);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_TEST(test_agents_and_grants), CK_TEST(test_reports), CK_TEST(test_client_settings),
		CK_TEST(test_client_hostile),	 CK_TEST(test_conf_check),
	};

	return tu_run_in_tmpdir(CK_SUITE("ws_store", "ws_store", 30, tests), dir);
}
