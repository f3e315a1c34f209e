/* The status views' builders over a store the test fills (requests,
 * history, copy jobs, held messages written as the pilot, fedmig-smd and
 * the milter would): /status.json's numbers, the paging and search,
 * /metrics in the text format, the viewers' table; the query parser with
 * hostile input. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "apid_status.h"
#include "ckmain.h"
#include "store_viewer.h"
#include "testutil.h"

static char dir[] = "/tmp/test_status_XXXXXX";

#define S 1000000LL /* a second in µs */
#define T0 1700000000000000LL

/* fill: batch 1 with alice (complete, hold 207 ms, 12 of 20 messages
 * copied and done), bob (failed: a reason), carol (registered); batch 2
 * with dave (copying, hold 2.5 s); a held message pending, one gone. */
static struct store *fill(void)
{
	struct store *s = tu_store_fresh(dir);
	char q[2048];

	tu_store_sql(dir, "INSERT INTO batches VALUES(1, 'a.csv', 1), (2, 'b.csv', 2)");
	snprintf(q, sizeof(q),
		 "INSERT INTO requests(id, access, target_system, scenario, planned_at, batch_id,"
		 " state, next_at, reason, hold_at, switch_at, release_at, created, updated)"
		 " VALUES(1, 'alice@example.org', 'new', 'd', 0, 1, 10, 0, '', %lld, %lld, %lld, %lld, %lld),"
		 " (2, 'bob@example.org', 'new', 'd', 0, 1, 22, 0, 'target refused: \"quota\"', 0, 0, 0, %lld, %lld),"
		 " (3, 'carol@example.org', 'new', 'd', 0, 1, 0, 0, '', 0, 0, 0, %lld, %lld),"
		 " (4, 'dave@example.org', 'new', 'd', 0, 2, 7, 0, '', %lld, %lld, %lld, %lld, %lld)",
		 T0 + 9 * S, T0 + 9 * S + 100000, T0 + 9 * S + 207000, T0, T0 + 20 * S, T0, T0 + S,
		 T0, T0, T0 + 30 * S, T0 + 31 * S, T0 + 32 * S + 500000, T0, T0 + 40 * S);
	tu_store_sql(dir, q);
	snprintf(q, sizeof(q),
		 "INSERT INTO history(request_id, at, from_state, to_state, step, detail) VALUES"
		 " (1, %lld, NULL, 0, 'E1 register', 'from a.csv'), (1, %lld, 8, 10, 'E40 complete', '')",
		 T0, T0 + 20 * S);
	tu_store_sql(dir, q);
	snprintf(q, sizeof(q),
		 "INSERT INTO smd_jobs(request_id, access, src_system, src_physical, dst_system,"
		 " dst_physical, state, next_at, msgs_done, msgs_total, bytes_done, bytes_total,"
		 " finished, created, updated) VALUES"
		 " (1, 'alice@example.org', 'old', 'a@s1', 'new', 'a@s2', 2, 0, 12, 20, 1200, 2000, %lld, 0, 0),"
		 " (4, 'dave@example.org', 'old', 'd@s1', 'new', 'd@s2', 1, 0, 5, 50, 500, 5000, 0, 0, 0)",
		 T0 + 19 * S);
	tu_store_sql(dir, q);
	tu_store_sql(dir, "INSERT INTO held_messages(queue_id, request_id, held_at, recipients, gone)"
			  " VALUES('4Xa1', 4, 1, 'dave@example.org', 0), ('4Xa2', 4, 1, 'dave@example.org', 1)");
	return s;
}

static json_t *get(struct store *s, const char *query)
{
	struct status_query q;
	const char *why = NULL;
	json_t *o;

	status_query_init(&q);
	ck_assert_msg(status_query_parse(&q, query, strlen(query), &why) == 0, "%s: %s", query, why);
	o = status_json(s, &q, T0 + 60 * S);
	ck_assert_ptr_nonnull(o);
	return o;
}

static long long num(json_t *o, const char *path)
{
	char buf[128], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save))
		o = json_is_array(o) ? json_array_get(o, (size_t)atoi(k)) : json_object_get(o, k);
	ck_assert_msg(json_is_number(o), "%s is no number", path);
	return json_is_integer(o) ? json_integer_value(o) : (long long)(json_real_value(o) * 10);
}

START_TEST(test_json_summary)
{
	struct store *s = fill();
	json_t *o = get(s, "");

	ck_assert_int_eq(num(o, "requests"), 4);
	ck_assert_int_eq(num(o, "states.complete"), 1);
	ck_assert_int_eq(num(o, "states.failed"), 1);
	ck_assert_int_eq(num(o, "states.copying"), 1);
	ck_assert_ptr_null(json_object_get(json_object_get(o, "states"), "copied"));
	ck_assert_int_eq(num(o, "hold_windows.count"), 2);
	ck_assert_int_eq(num(o, "hold_windows.p50_ms"), 2070);
	ck_assert_int_eq(num(o, "hold_windows.max_ms"), 25000);
	/* Cumulative: <= 250 ms holds one, <= 2500 ms both. */
	ck_assert_int_eq(num(o, "hold_windows.buckets.0.count"), 0);
	ck_assert_int_eq(num(o, "hold_windows.buckets.1.count"), 1);
	ck_assert_int_eq(num(o, "hold_windows.buckets.4.count"), 2);
	ck_assert_int_eq(num(o, "hold_windows.buckets.10.count"), 2);
	ck_assert_int_eq(num(o, "copy.messages_done"), 17);
	ck_assert_int_eq(num(o, "copy.messages_total"), 70);
	ck_assert_int_eq(num(o, "copy.bytes_done"), 1700);
	ck_assert_int_eq(num(o, "copy.jobs.done"), 1);
	ck_assert_int_eq(num(o, "copy.jobs.running"), 1);
	ck_assert_int_eq(num(o, "held_messages"), 1);
	ck_assert_int_eq(num(o, "attention"), 1);
	ck_assert_int_eq(num(o, "batches.0.requests"), 3);
	ck_assert_int_eq(num(o, "batches.0.settled"), 1);
	ck_assert_int_eq(num(o, "batches.0.offline"), 1);
	ck_assert_int_eq(num(o, "batches.1.switched"), 1);
	ck_assert_int_eq(num(o, "last_change_us"), T0 + 40 * S);
	ck_assert_int_eq(json_array_size(json_object_get(json_object_get(o, "switches"), "counts")),
			 STATUS_BINS);
	ck_assert_str_eq(json_string_value(json_object_get(
				 json_array_get(json_object_get(o, "failures"), 0), "reason")),
			 "target refused: \"quota\"");
	json_decref(o);
	store_close(&s);
}
END_TEST

START_TEST(test_json_rows)
{
	struct store *s = fill();
	json_t *o = get(s, "per_page=2&page=1"), *rows;

	ck_assert_int_eq(num(o, "addresses.matching"), 4);
	rows = json_object_get(json_object_get(o, "addresses"), "rows");
	ck_assert_int_eq(json_array_size(rows), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(rows, 0), "address")),
			 "carol@example.org");
	json_decref(o);
	o = get(s, "search=ALICE&batch=1");
	ck_assert_int_eq(num(o, "addresses.matching"), 1);
	ck_assert_int_eq(num(o, "requests"), 3);
	ck_assert_int_eq(num(o, "addresses.rows.0.hold_ms"), 2070);
	ck_assert_int_eq(num(o, "addresses.rows.0.copied"), 12);
	ck_assert(json_is_true(json_object_get(
		json_array_get(json_object_get(json_object_get(o, "addresses"), "rows"), 0),
		"verified")));
	json_decref(o);
	/* A search that is not UTF-8 finds nothing, and says so. */
	o = get(s, "search=%ff%fe");
	ck_assert_int_eq(num(o, "addresses.matching"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(o, "addresses"), "search")),
			 "??");
	json_decref(o);
	/* Nothing changed after since, but dave's copy runs: a full answer. */
	o = get(s, "since=1700000040000000");
	ck_assert_ptr_null(json_object_get(o, "unchanged"));
	json_decref(o);
	tu_store_sql(dir, "UPDATE smd_jobs SET state = 2");
	o = get(s, "since=1700000040000000");
	ck_assert_ptr_null(json_object_get(o, "unchanged")); /* a message still held */
	json_decref(o);
	tu_store_sql(dir, "UPDATE held_messages SET gone = 1");
	o = get(s, "since=1700000040000000");
	ck_assert(json_is_true(json_object_get(o, "unchanged")));
	json_decref(o);
	o = get(s, "request=1");
	ck_assert_int_eq(json_array_size(json_object_get(json_object_get(o, "detail"), "history")), 2);
	json_decref(o);
	o = get(s, "request=99");
	ck_assert(json_is_null(json_object_get(o, "detail")));
	json_decref(o);
	store_close(&s);
}
END_TEST

START_TEST(test_metrics)
{
	struct store *s = fill();
	struct status_sum sum;
	char *text;

	ck_assert_int_eq(status_sum_load(s, 0, &sum), STORE_OK);
	text = status_metrics(&sum, NULL);
	status_sum_free(&sum);
	status_sum_free(&sum); /* twice is harmless */
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(strstr(text, "# TYPE fedmig_requests gauge\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nfedmig_requests{state=\"complete\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nfedmig_requests{state=\"registered\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nfedmig_requests{state=\"copied\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nfedmig_hold_window_seconds_bucket{le=\"0.25\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nfedmig_hold_window_seconds_bucket{le=\"+Inf\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nfedmig_hold_window_seconds_sum 2.707000\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nfedmig_held_messages 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nfedmig_copy_messages_done 17\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nfedmig_requests_attention 1\n"));
	/* Every sample's family was declared before it. */
	char types[2048] = " ", *save = NULL;

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[128] = "", key[136];
		size_t n;

		if (strncmp(line, "# TYPE ", 7) == 0) {
			sscanf(line + 7, "%127[a-z_]", name);
			strcat(strcat(types, name), " ");
			continue;
		}
		if (*line == '#')
			continue;
		sscanf(line, "%127[a-z_]", name);
		n = strlen(name);
		snprintf(key, sizeof(key), " %s ", name);
		if (strstr(types, key) == NULL) {
			for (const char *suf = "_bucket\0_count\0_sum\0"; *suf; suf += strlen(suf) + 1)
				if (n > strlen(suf) && strcmp(name + n - strlen(suf), suf) == 0)
					name[n - strlen(suf)] = '\0';
			snprintf(key, sizeof(key), " %s ", name);
		}
		ck_assert_msg(strstr(types, key) != NULL, "no TYPE before %s", line);
	}
	free(text);
	store_close(&s);
}
END_TEST

START_TEST(test_viewers)
{
	struct store *s = tu_store_fresh(dir);
	unsigned char h[VIEWER_HASH_LEN], wrong[VIEWER_HASH_LEN];
	long long seen = -1;

	memset(h, 7, sizeof(h));
	memset(wrong, 8, sizeof(wrong));
	ck_assert(viewer_name_ok("ops-1.x_y"));
	ck_assert(!viewer_name_ok(""));
	ck_assert(!viewer_name_ok("a:b"));
	ck_assert(!viewer_name_ok("a b"));
	ck_assert_int_eq(store_viewer_add(s, "ops", h, 1), STORE_OK);
	ck_assert_int_eq(store_viewer_add(s, "ops", wrong, 1), STORE_VIEWER_EXISTS);
	ck_assert_int_eq(store_viewer_auth(s, "ops", h, &seen), STORE_OK);
	ck_assert_int_eq(seen, 0);
	ck_assert_int_eq(store_viewer_seen(s, "ops", 5), STORE_OK);
	ck_assert_int_eq(store_viewer_auth(s, "ops", h, &seen), STORE_OK);
	ck_assert_int_eq(seen, 5);
	ck_assert_int_eq(store_viewer_auth(s, "ops", wrong, &seen), STORE_NOTFOUND);
	ck_assert_int_eq(store_viewer_auth(s, "nobody", h, &seen), STORE_NOTFOUND);
	ck_assert_int_eq(store_viewer_remove(s, "ops"), STORE_OK);
	ck_assert_int_eq(store_viewer_auth(s, "ops", h, &seen), STORE_NOTFOUND);
	ck_assert_int_eq(store_viewer_remove(s, "ops"), STORE_NOTFOUND);
	store_close(&s);
}
END_TEST

/* Queries refused, each with a reason. */
static const char *const bad_queries[] = {
	"page=-1", "page=1&page=2", "per_page=0", "per_page=501", "page=100001",
	"batch=1x", "batch=", "batch", "since=9999999999999999999", "request=0",
	"nosuch=1", "search=%00", "search=%0a", "search=%zz", "search=%4", "search=a%",
	"a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9", "search=\x7f", "%62atch=1&batch=2",
	"pageeeeeeeeeeeeeeeeeeeeeeeeeeeee=1",
};

START_TEST(test_query_hostile)
{
	struct status_query q;
	const char *why = NULL, *in = bad_queries[_i];
	char big[STATUS_QUERY_MAX + 2];

	status_query_init(&q);
	ck_assert_msg(status_query_parse(&q, in, strlen(in), &why) < 0, "accepted %s", in);
	ck_assert_ptr_nonnull(why);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "search=", 7);
	status_query_init(&q);
	ck_assert_int_lt(status_query_parse(&q, big, strlen(big), &why), 0);
	/* 256 bytes of search: one too many. */
	memset(big + 7, 'b', 256);
	big[7 + 256] = '\0';
	status_query_init(&q);
	ck_assert_int_lt(status_query_parse(&q, big, strlen(big), &why), 0);
}
END_TEST

START_TEST(test_query_good)
{
	struct status_query q;
	const char *why = NULL, *in = "batch=2&page=3&per_page=500&search=a%40B+c&since=17&&";

	status_query_init(&q);
	ck_assert_msg(status_query_parse(&q, in, strlen(in), &why) == 0, "%s", why);
	ck_assert_int_eq(q.batch, 2);
	ck_assert_int_eq(q.page, 3);
	ck_assert_int_eq(q.per_page, 500);
	ck_assert_int_eq(q.since, 17);
	ck_assert_str_eq(q.search, "a@B c");
	status_query_init(&q);
	ck_assert_int_eq(status_query_parse(&q, "", 0, &why), 0);
	ck_assert_int_eq(q.per_page, STATUS_PER_PAGE);
	ck_assert_int_eq(status_query_set(&q, "search", NULL, &why), -1);
}
END_TEST

/* Authorization headers refused. */
static const char *const bad_basic[] = {
	"", "Basic", "Basic ", "Bearer abc", "Basic !!!!", "Basic YQ==", /* "a": no colon */
	"Basic Og==",							     /* ":" */
	"Basic YTpi",							     /* "a:b" */
	"Basic YWJjOjAwMDA=",	 /* "abc:0000" */
	"Basic YQBiOmM=",	 /* "a\0b:c" */
	"Basic YTpiOmM==",	 /* bad padding */
	"Basic =YTpi",		 /* padding first */
	"Basic YTp", "Basic " /* a name with a space */ "YSBiOjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAw",
};

START_TEST(test_basic_hostile)
{
	char name[VIEWER_NAME_MAX], secret[STATUS_SECRET_LEN + 1];

	ck_assert_msg(status_basic_parse(bad_basic[_i], name, secret) < 0, "accepted %s",
		      bad_basic[_i]);
}
END_TEST

START_TEST(test_basic_good)
{
	char name[VIEWER_NAME_MAX], secret[STATUS_SECRET_LEN + 1], hdr[256];
	const char *cred = "ops.1:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	unsigned char b64[200];

	EVP_EncodeBlock(b64, (const unsigned char *)cred, (int)strlen(cred));
	snprintf(hdr, sizeof(hdr), "basic %s", b64);
	ck_assert_int_eq(status_basic_parse(hdr, name, secret), 0);
	ck_assert_str_eq(name, "ops.1");
	ck_assert_str_eq(secret, cred + 6);
	/* Upper-case hex is not what fedmigctl prints. */
	cred = "ops:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef";
	EVP_EncodeBlock(b64, (const unsigned char *)cred, (int)strlen(cred));
	snprintf(hdr, sizeof(hdr), "Basic %s", b64);
	ck_assert_int_lt(status_basic_parse(hdr, name, secret), 0);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_TEST(test_json_summary), CK_TEST(test_json_rows),
		CK_TEST(test_metrics),	    CK_TEST(test_viewers),
		CK_LOOP(test_query_hostile, bad_queries), CK_TEST(test_query_good),
		CK_LOOP(test_basic_hostile, bad_basic), CK_TEST(test_basic_good),
	};

	return tu_run_in_tmpdir(CK_SUITE("status", "status", 30, tests), dir);
}
