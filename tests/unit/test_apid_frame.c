/* fedmig-apid's parsers of outside input: the upload framing (whole and
 * byte by byte, hostile bodies: truncated, oversize, NUL, bad hex, size
 * lies, 10k items, deep JSON) and the JSON request bodies. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apid_frame.h"
#include "apid_json.h"
#include "ckmain.h"

/* sha256("hello") */
#define H "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
#define D "01-Jan-2020 10:00:00 +0000"
#define ITEM(src, flags) \
	"{\"src\":\"" src "\",\"flags\":\"" flags "\",\"date\":\"" D "\",\"size\":5,\"sha256\":\"" H "\"}\nhello"

static const struct {
	const char *name;
	const char *in;
	int status; /* 0: accepted */
	long long items;
} cases[] = {
	{"one", ITEM("1.1", "\\\\Seen $label1"), 0, 1},
	{"two", ITEM("1.1", "") ITEM("1.2", "\\\\Flagged"), 0, 2},
	{"empty body", "", 0, 0},
	{"maildir key", ITEM("1577872800.M1P2.host", "\\\\Draft"), 0, 1},
	{"truncated body", "{\"src\":\"1\",\"flags\":\"\",\"date\":\"" D "\",\"size\":5,\"sha256\":\"" H
			   "\"}\nhel", 400, 1},
	{"truncated header", "{\"src\":\"1\",\"flags\":\"\"", 400, 0},
	{"body too long", ITEM("1", "") "x", 400, 1},
	{"size lies", "{\"src\":\"1\",\"flags\":\"\",\"date\":\"" D "\",\"size\":4,\"sha256\":\"" H
		      "\"}\nhello", 400, 1},
	{"upper hex", "{\"src\":\"1\",\"flags\":\"\",\"date\":\"" D
		      "\",\"size\":5,\"sha256\":\"2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824\"}\nhello",
	 400, 0},
	{"short hex", "{\"src\":\"1\",\"flags\":\"\",\"date\":\"" D "\",\"size\":5,\"sha256\":\"2cf2\"}\nhello",
	 400, 0},
	{"bad hex", "{\"src\":\"1\",\"flags\":\"\",\"date\":\"" D
		    "\",\"size\":5,\"sha256\":\"zcf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\"}\nhello",
	 400, 0},
	{"size zero", "{\"src\":\"1\",\"flags\":\"\",\"date\":\"" D "\",\"size\":0,\"sha256\":\"" H "\"}\n", 400, 0},
	{"size negative", "{\"src\":\"1\",\"flags\":\"\",\"date\":\"" D "\",\"size\":-5,\"sha256\":\"" H "\"}\n", 400, 0},
	{"size string", "{\"src\":\"1\",\"flags\":\"\",\"date\":\"" D "\",\"size\":\"5\",\"sha256\":\"" H "\"}\n", 400, 0},
	{"size huge", "{\"src\":\"1\",\"flags\":\"\",\"date\":\"" D "\",\"size\":99999999999999999999,\"sha256\":\"" H "\"}\n", 400, 0},
	{"extra key", "{\"src\":\"1\",\"x\":1,\"flags\":\"\",\"date\":\"" D "\",\"size\":5,\"sha256\":\"" H "\"}\nhello", 400, 0},
	{"missing key", "{\"src\":\"1\",\"date\":\"" D "\",\"size\":5,\"sha256\":\"" H "\"}\nhello", 400, 0},
	{"duplicate key", "{\"src\":\"1\",\"src\":\"2\",\"flags\":\"\",\"date\":\"" D "\",\"size\":5,\"sha256\":\"" H "\"}\nhello", 400, 0},
	{"src space", ITEM("1 2", ""), 400, 0},
	{"src empty", ITEM("", ""), 400, 0},
	{"src control", ITEM("1\\u0001", ""), 400, 0},
	{"src NUL escape", ITEM("1\\u0000", ""), 400, 0},
	{"src utf8", ITEM("\xc3\xa9", ""), 400, 0},
	{"flag recent", ITEM("1", "\\\\Recent"), 400, 0},
	{"flag double space", ITEM("1", "a  b"), 400, 0},
	{"flag paren", ITEM("1", "(a"), 400, 0},
	{"flag lone backslash", ITEM("1", "\\\\"), 400, 0},
	{"flag trailing space", ITEM("1", "a "), 400, 0},
	{"bad date", "{\"src\":\"1\",\"flags\":\"\",\"date\":\"yesterday\",\"size\":5,\"sha256\":\"" H "\"}\nhello", 400, 0},
	{"raw NUL", "{\"src\":\"1\0\",\"flags\":\"\",\"date\":\"" D "\",\"size\":5,\"sha256\":\"" H "\"}\nhello", 400, 0},
	{"not an object", "[1,2]\nhello", 400, 0},
	{"not JSON", "src=1\nhello", 400, 0},
	{"deep", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n", 400, 0},
	{"blank line", "\n", 400, 0},
	{"second bad", ITEM("1", "") "{}\n", 400, 1},
};

/* run: IN (LEN) through a parser under LIM in chunks of CHUNK bytes;
 * the status (0 accepted), the items read, the body bytes handed out. */
static int run(const char *in, size_t len, size_t chunk, const struct apid_frame_limits *lim,
	       long long *items_r, long long *bytes_r)
{
	struct apid_frame *f = apid_frame_new(lim);
	enum apid_frame_rc rc = FRAME_MORE;
	int status = 0;

	*bytes_r = 0;
	for (size_t off = 0; off < len && rc != FRAME_BAD;) {
		size_t n = len - off < chunk ? len - off : chunk, used;
		const char *d;
		size_t dl;

		do {
			rc = apid_frame_feed(f, in + off, n, &used, &d, &dl);
			ck_assert_uint_le(used, n);
			off += used;
			n -= used;
			if (rc == FRAME_DATA)
				*bytes_r += (long long)dl;
		} while (rc != FRAME_MORE && rc != FRAME_BAD);
	}
	if (rc != FRAME_BAD)
		rc = apid_frame_finish(f);
	if (rc == FRAME_BAD) {
		status = apid_frame_status(f);
		ck_assert_msg(strncmp(apid_frame_error(f), "item ", 5) == 0, "%s", apid_frame_error(f));
	}
	*items_r = apid_frame_items(f);
	apid_frame_free(&f);
	return status;
}

static const struct apid_frame_limits lim = {1000, 1000, 1 << 20};

START_TEST(test_frame_cases)
{
	size_t len = strlen(cases[_i].in);
	long long items, bytes;

	if (strcmp(cases[_i].name, "raw NUL") == 0)
		len = strlen(cases[_i].in) + 1 + strlen(cases[_i].in + strlen(cases[_i].in) + 1);
	for (size_t chunk = 1; chunk <= 65536; chunk *= 4096) {
		int st = run(cases[_i].in, len, chunk, &lim, &items, &bytes);

		ck_assert_msg(st == cases[_i].status, "%d %s (chunk %zu): status %d, want %d", _i,
			      cases[_i].name, chunk, st, cases[_i].status);
		ck_assert_msg(items == cases[_i].items, "%d %s (chunk %zu): items %lld, want %lld",
			      _i, cases[_i].name, chunk, items, cases[_i].items);
		if (st == 0)
			ck_assert_int_eq(bytes, 5 * items);
	}
}
END_TEST

/* many: N items of "hello" in one body (caller frees). */
static char *many(int n, size_t *len_r)
{
	const char *one = ITEM("1.1", "");
	size_t l1 = strlen(one);
	char *buf = malloc(l1 * (size_t)n + 1), *p = buf;

	for (int i = 0; i < n; i++) {
		/* each its own src: 1.1 -> 1.N is not needed, duplicates are the store's */
		memcpy(p, one, l1);
		p += l1;
	}
	*p = '\0';
	*len_r = (size_t)(p - buf);
	return buf;
}

START_TEST(test_frame_limits)
{
	struct apid_frame_limits l = {1000, 10000, 1 << 30};
	long long items, bytes;
	size_t len;
	char *body = many(10000, &len);

	ck_assert_int_eq(run(body, len, 65536, &l, &items, &bytes), 0);
	ck_assert_int_eq(items, 10000);
	ck_assert_int_eq(bytes, 50000);
	l.max_items = 1000;
	ck_assert_int_eq(run(body, len, 65536, &l, &items, &bytes), 413);
	ck_assert_int_eq(items, 1000);
	/* Bytes: two items over max_bytes; one alone may be larger. */
	l.max_items = 10;
	l.max_bytes = 7;
	ck_assert_int_eq(run(body, strlen(ITEM("1.1", "")), 7, &l, &items, &bytes), 0);
	ck_assert_int_eq(run(body, 2 * strlen(ITEM("1.1", "")), 7, &l, &items, &bytes), 413);
	l.max_message = 4;
	ck_assert_int_eq(run(body, strlen(ITEM("1.1", "")), 7, &l, &items, &bytes), 413);
	free(body);
}
END_TEST

START_TEST(test_frame_long_line)
{
	size_t n = APID_FRAME_LINE_MAX + 10;
	char *body = malloc(n);
	long long items, bytes;

	memset(body, ' ', n);
	body[0] = '{';
	ck_assert_int_eq(run(body, n, 1000, &lim, &items, &bytes), 400);
	free(body);
}
END_TEST

static json_t *load(const char *s)
{
	const char *why = NULL;
	json_t *o = apid_json_load(s, strlen(s), &why);

	ck_assert_msg(o != NULL, "%s: %s", s, why);
	return o;
}

/* Request bodies by kind: accepted or refused with a reason naming the field. */
static const struct {
	const char *kind, *in;
	int ok;
} bodies[] = {
	{"enrol", "{\"code\":\"ABC\"}", 1},
	{"enrol", "{\"code\":\"\"}", 0},
	{"enrol", "{\"code\":5}", 0},
	{"enrol", "{\"code\":\"a b\"}", 0},
	{"enrol", "{\"code\":\"a\\nb\"}", 0},
	{"poll", "{\"slots\":2,\"wait\":50}", 1},
	{"poll", "{\"slots\":0}", 1},
	{"poll", "{\"slots\":257}", 0},
	{"poll", "{\"slots\":-1}", 0},
	{"poll", "{\"slots\":1.5}", 0},
	{"poll", "{\"wait\":5}", 0},
	{"poll", "{\"slots\":1,\"wait\":-1}", 0},
	{"heartbeat", "{\"health\":\"ok\",\"slots\":3,\"tasks\":[1,2]}", 1},
	{"heartbeat", "{\"health\":\"down\",\"detail\":\"imap refused\"}", 1},
	{"heartbeat", "{\"health\":\"fine\"}", 0},
	{"heartbeat", "{\"health\":\"ok\",\"tasks\":[0]}", 0},
	{"heartbeat", "{\"health\":\"ok\",\"tasks\":\"1\"}", 0},
	{"heartbeat", "{\"health\":\"ok\",\"detail\":\"a\\u0007\"}", 0},
	{"next", "{\"seq\":0}", 1},
	{"next", "{\"seq\":3,\"result\":{\"ok\":true}}", 1},
	{"next", "{\"seq\":-1}", 0},
	{"next", "{\"seq\":1,\"result\":[1]}", 0},
	{"test", "{\"ok\":false,\"permanent\":true,\"reason\":\"login refused\"}", 1},
	{"test", "{\"ok\":\"yes\"}", 0},
	{"test", "{\"ok\":false,\"reason\":7}", 0},
	{"list", "{\"folders\":[{\"name\":\"INBOX\",\"sep\":\"/\",\"attrs\":0,\"subscribed\":true}]}", 1},
	{"list", "{\"folders\":[{\"name\":\"Gone\",\"attrs\":3,\"subscribed\":true}]}", 1},
	{"list", "{\"folders\":[{\"name\":\"a\\nb\"}]}", 0},
	{"list", "{\"folders\":[{\"name\":\"\"}]}", 0},
	{"list", "{\"folders\":[{\"name\":\"a\",\"sep\":\"ab\"}]}", 0},
	{"list", "{\"folders\":[{\"name\":\"a\",\"attrs\":-1}]}", 0},
	{"list", "{\"folders\":{}}", 0},
	{"items", "{\"count\":3,\"cursor\":\"c\",\"more\":true}", 1},
	{"items", "{\"count\":-3,\"more\":true}", 0},
	{"items", "{\"count\":3}", 0},
	{"items", "{\"count\":3,\"cursor\":\"a\\u0001b\",\"more\":true}", 0},
};

static int parse(const char *kind, json_t *o, const char **why)
{
	char code[APID_CODE_MAX], reason[AGENT_REASON_MAX], cursor[AGENT_CURSOR_MAX];
	struct apid_heartbeat hb;
	struct agent_folder *f = NULL;
	long long n;
	int a, b, rc;
	size_t nf;
	json_t *res;

	if (strcmp(kind, "enrol") == 0)
		return apid_parse_enrol(o, code, why);
	if (strcmp(kind, "poll") == 0)
		return apid_parse_poll(o, &a, &n, why);
	if (strcmp(kind, "heartbeat") == 0)
		return apid_parse_heartbeat(o, &hb, why);
	if (strcmp(kind, "next") == 0)
		return apid_parse_next(o, &n, &res, why);
	if (strcmp(kind, "test") == 0)
		return apid_result_test(o, &a, &b, reason, why);
	if (strcmp(kind, "items") == 0)
		return apid_result_items(o, &n, cursor, &a, why);
	rc = apid_result_list(o, &f, &nf, why);
	free(f);
	return rc;
}

START_TEST(test_bodies)
{
	json_t *o = load(bodies[_i].in);
	const char *why = NULL;
	int rc = parse(bodies[_i].kind, o, &why);

	ck_assert_msg((rc == 0) == bodies[_i].ok, "%d %s %s: %d", _i, bodies[_i].kind, bodies[_i].in,
		      rc);
	if (rc < 0)
		ck_assert_msg(why && strchr(why, ':'), "%d: why %s", _i, why ? why : "(null)");
	json_decref(o);
}
END_TEST

START_TEST(test_load_hostile)
{
	const char *why;
	char deep[5000];

	ck_assert_ptr_null(apid_json_load("[1]", 3, &why));
	ck_assert_ptr_null(apid_json_load("{\"a\":1", 6, &why));
	ck_assert_ptr_null(apid_json_load("{\"a\":1,\"a\":2}", 13, &why));
	ck_assert_ptr_null(apid_json_load("{\"a\":\"\xff\"}", 9, &why));
	memset(deep, '[', sizeof(deep));
	ck_assert_ptr_null(apid_json_load(deep, sizeof(deep), &why));
	ck_assert_ptr_null(apid_json_load("", 0, &why));
	ck_assert_ptr_null(apid_json_load("{\"a\":\"x\\u0000\"}", 14, &why));
	ck_assert_ptr_null(apid_json_load("{\"a\":\"x\0\"}", 10, &why));
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_LOOP(test_frame_cases, cases), CK_TEST(test_frame_limits),
		CK_TEST(test_frame_long_line),	 CK_LOOP(test_bodies, bodies),
		CK_TEST(test_load_hostile),
	};

	return ck_run(CK_SUITE("apid_frame", "apid", 60, tests));
}
