/*
 * test_socketmap - the netstring codec (policyd/netstring) and the
 * socketmap answers (policyd/decide) with a fake directory.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../policyd/decide.h"
#include "../../policyd/netstring.h"
#include "ckmain.h"
#include "testutil.h"

#define MAX 64

static const struct {
	const char *name;
	const char *input;
	enum ns_status want;
	const char *data; /* NS_DONE: the payload */
	size_t data_len;
	const char *error; /* NS_ERROR: part of the reason */
} ns_cases[] = {
	{"empty", "0:,", NS_DONE, "", 0, NULL},
	{"hello", "5:hello,", NS_DONE, "hello", 5, NULL},
	{"socketmap request", "25:virtual alice@example.org,", NS_DONE,
	 "virtual alice@example.org", 25, NULL},
	{"NUL in data", "3:a\0b,", NS_DONE, "a\0b", 3, NULL},
	{"at the limit", "64:0123456789012345678901234567890123456789012345678901234567890123,",
	 NS_DONE, "0123456789012345678901234567890123456789012345678901234567890123", 64, NULL},
	{"over the limit", "65:", NS_ERROR, NULL, 0, "too long"},
	{"huge length", "99999999999999999999999999999:", NS_ERROR, NULL, 0, "too long"},
	{"length shorter than data", "3:abcd,", NS_ERROR, NULL, 0, "','"},
	{"length longer than data", "10:abc,", NS_MORE, NULL, 0, NULL},
	{"missing comma", "5:hello;", NS_ERROR, NULL, 0, "','"},
	{"no length", ":abc,", NS_ERROR, NULL, 0, "without a length"},
	{"negative", "-1:a,", NS_ERROR, NULL, 0, "not a number"},
	{"leading zero", "05:hello,", NS_ERROR, NULL, 0, "leading zero"},
	{"two zeros", "00:,", NS_ERROR, NULL, 0, "leading zero"},
	{"space in length", " 5:hello,", NS_ERROR, NULL, 0, "not a number"},
	{"hex length", "0x5:hello,", NS_ERROR, NULL, 0, "not a number"},
	{"letters", "GET / HTTP/1.0\r\n", NS_ERROR, NULL, 0, "not a number"},
	{"incomplete length", "12", NS_MORE, NULL, 0, NULL},
	{"nothing", "", NS_MORE, NULL, 0, NULL},
};

static size_t input_len(int i)
{
	/* "NUL in data" holds a NUL: count from the length prefix. */
	if (strcmp(ns_cases[i].name, "NUL in data") == 0)
		return 6;
	return strlen(ns_cases[i].input);
}

static void check_ns(int i, struct netstring_dec *d, enum ns_status st)
{
	ck_assert_msg(st == ns_cases[i].want, "case %d (%s): status %d, want %d", i,
		      ns_cases[i].name, st, ns_cases[i].want);
	if (st == NS_DONE) {
		size_t n;
		const char *data = netstring_dec_data(d, &n);

		ck_assert_msg(n == ns_cases[i].data_len && memcmp(data, ns_cases[i].data, n) == 0,
			      "case %d (%s): data \"%.*s\"", i, ns_cases[i].name, (int)n, data);
		ck_assert_msg(data[n] == '\0', "case %d: not NUL-terminated", i);
	}
	if (st == NS_ERROR)
		ck_assert_msg(strstr(netstring_dec_error(d), ns_cases[i].error) != NULL,
			      "case %d (%s): error %s", i, ns_cases[i].name, netstring_dec_error(d));
}

START_TEST(test_ns_whole)
{
	struct netstring_dec *d = netstring_dec_new(MAX);
	size_t len = input_len(_i), used;

	check_ns(_i, d, netstring_dec_feed(d, ns_cases[_i].input, len, &used));
	ck_assert_msg(used <= len, "case %d: used %zu of %zu", _i, used, len);
	if (ns_cases[_i].want == NS_DONE) {
		ck_assert_uint_eq(used, len);
		/* The decoder goes on with the next netstring on the connection. */
		ck_assert(netstring_dec_feed(d, "1:x,", 4, &used) == NS_DONE);
	}
	if (ns_cases[_i].want == NS_ERROR)
		ck_assert(netstring_dec_feed(d, "1:x,", 4, &used) == NS_ERROR);
	netstring_dec_free(&d);
	ck_assert(d == NULL);
}
END_TEST

/* One byte at a time: "need more" until the byte that decides. */
static int dec_feed(void *d, const char *chunk, size_t len, size_t *used_r)
{
	return netstring_dec_feed(d, chunk, len, used_r);
}

START_TEST(test_ns_bytewise)
{
	struct netstring_dec *d = netstring_dec_new(MAX);
	enum ns_status st = tu_feed_bytewise(dec_feed, d, ns_cases[_i].input, input_len(_i), NS_MORE,
					     ns_cases[_i].want == NS_DONE, _i, ns_cases[_i].name);

	check_ns(_i, d, st);
	netstring_dec_free(&d);
}
END_TEST

START_TEST(test_ns_pipelined)
{
	const char in[] = "5:hello,0:,3:abc,2:x";
	struct netstring_dec *d = netstring_dec_new(MAX);
	size_t used, off = 0, n, len = sizeof(in) - 1;
	const char *want[] = {"hello", "", "abc"};

	for (int k = 0; k < 3; k++) {
		ck_assert(netstring_dec_feed(d, in + off, len - off, &used) == NS_DONE);
		ck_assert_str_eq(netstring_dec_data(d, &n), want[k]);
		off += used;
	}
	ck_assert(netstring_dec_feed(d, in + off, len - off, &used) == NS_MORE);
	ck_assert_uint_eq(off + used, len);
	netstring_dec_free(&d);
}
END_TEST

START_TEST(test_ns_encode)
{
	char out[32];

	ck_assert_uint_eq(netstring_encode(out, sizeof(out), "OK a@b", 6), 9);
	ck_assert_str_eq(out, "6:OK a@b,");
	ck_assert_uint_eq(netstring_encode(out, sizeof(out), "NOTFOUND ", 9), 12);
	ck_assert_str_eq(out, "9:NOTFOUND ,");
	ck_assert_uint_eq(netstring_encode(out, sizeof(out), "", 0), 3);
	ck_assert_str_eq(out, "0:,");
	/* Too small: the size needed, and OUT left alone. */
	strcpy(out, "x");
	ck_assert_uint_eq(netstring_encode(out, 5, "hello", 5), 8);
	ck_assert_str_eq(out, "x");
}
END_TEST

/* --- socketmap answers --- */

struct fake {
	int rc;
	const char *physical;
	int calls;
	char asked[ADDR_MAX];
};

static int fake_rewrite(void *ctx, const char *addr, char out[ADDR_MAX])
{
	struct fake *f = ctx;

	f->calls++;
	snprintf(f->asked, sizeof(f->asked), "%s", addr);
	if (f->rc == STORE_OK)
		snprintf(out, ADDR_MAX, "%s", f->physical);
	return f->rc;
}

static const struct {
	const char *name;
	const char *req;
	int rc;
	const char *physical;
	enum sockmap_kind want;
	const char *reply;
	const char *asked; /* NULL: the store must not be asked */
} sm_cases[] = {
	{"found", "virtual alice@example.org", STORE_OK, "alice@s1.test", SOCKMAP_OK,
	 "OK alice@s1.test", "alice@example.org"},
	{"folded", "virtual Alice@EXAMPLE.org", STORE_OK, "alice@s1.test", SOCKMAP_OK,
	 "OK alice@s1.test", "alice@example.org"},
	{"not found", "virtual nobody@example.org", STORE_NOTFOUND, NULL, SOCKMAP_NOTFOUND,
	 "NOTFOUND ", "nobody@example.org"},
	{"store error", "virtual alice@example.org", STORE_ERR, NULL, SOCKMAP_TEMP,
	 "TEMP directory unreadable", "alice@example.org"},
	{"bare domain", "virtual example.org", STORE_ERR, NULL, SOCKMAP_NOTFOUND, "NOTFOUND ",
	 NULL},
	{"@domain", "virtual @example.org", STORE_ERR, NULL, SOCKMAP_NOTFOUND, "NOTFOUND ", NULL},
	{"local part only", "virtual alice", STORE_ERR, NULL, SOCKMAP_NOTFOUND, "NOTFOUND ",
	 NULL},
	{"trailing @", "virtual alice@", STORE_ERR, NULL, SOCKMAP_NOTFOUND, "NOTFOUND ", NULL},
	{"empty key", "virtual ", STORE_ERR, NULL, SOCKMAP_NOTFOUND, "NOTFOUND ", NULL},
	{"control in key", "virtual a\x01@example.org", STORE_ERR, NULL, SOCKMAP_NOTFOUND,
	 "NOTFOUND ", NULL},
	{"unknown map", "aliases alice@example.org", STORE_OK, "x@y", SOCKMAP_PERM,
	 "PERM unknown map", NULL},
	{"map name prefix", "virtualx alice@example.org", STORE_OK, "x@y", SOCKMAP_PERM,
	 "PERM unknown map", NULL},
	{"no space", "virtual", STORE_OK, "x@y", SOCKMAP_PERM, "PERM", NULL},
	{"empty request", "", STORE_OK, "x@y", SOCKMAP_PERM, "PERM", NULL},
	{"quoted physical", "virtual jd@example.org", STORE_OK, "john doe@s1.test", SOCKMAP_OK,
	 "OK \"john doe\"@s1.test", "jd@example.org"},
	{"physical with quote", "virtual q@example.org", STORE_OK, "a\"b@s1.test", SOCKMAP_OK,
	 "OK \"a\\\"b\"@s1.test", "q@example.org"},
	{"physical with dots", "virtual d@example.org", STORE_OK, "a.b.c@s1.test", SOCKMAP_OK,
	 "OK a.b.c@s1.test", "d@example.org"},
	{"physical with double dot", "virtual d@example.org", STORE_OK, "a..b@s1.test",
	 SOCKMAP_OK, "OK \"a..b\"@s1.test", "d@example.org"},	/* Keys come in Postfix's internal form (unquoted) or quoted: one entry. */
	{"internal key", "virtual John Doe@example.org", STORE_OK, "jd@s1.test", SOCKMAP_OK,
	 "OK jd@s1.test", "john doe@example.org"},
	{"quoted key", "virtual \"John Doe\"@example.org", STORE_OK, "jd@s1.test", SOCKMAP_OK,
	 "OK jd@s1.test", "john doe@example.org"},
	{"invalid UTF-8 key", "virtual a\xff@example.org", STORE_ERR, NULL, SOCKMAP_NOTFOUND,
	 "NOTFOUND ", NULL},
	{"overlong UTF-8 key", "virtual a\xc0\xae@example.org", STORE_ERR, NULL,
	 SOCKMAP_NOTFOUND, "NOTFOUND ", NULL},
	{"C1 control key", "virtual a\xc2\x9b" "2J@example.org", STORE_ERR, NULL,
	 SOCKMAP_NOTFOUND, "NOTFOUND ", NULL},
};

START_TEST(test_socketmap)
{
	static const char *const domains[] = {"example.org"};
	struct decide_conf c = {domains, 1, ADDR_FOLD_LOCAL, 0, 0, "virtual", NULL};
	struct fake f = {sm_cases[_i].rc, sm_cases[_i].physical, 0, ""};
	char out[DECIDE_ACTION_MAX];
	enum sockmap_kind k = decide_socketmap(&c, sm_cases[_i].req, strlen(sm_cases[_i].req),
					       fake_rewrite, &f, out, sizeof(out));

	ck_assert_msg(k == sm_cases[_i].want, "case %d (%s): kind %d, want %d", _i,
		      sm_cases[_i].name, k, sm_cases[_i].want);
	ck_assert_msg(strncmp(out, sm_cases[_i].reply, strlen(sm_cases[_i].reply)) == 0,
		      "case %d (%s): reply \"%s\"", _i, sm_cases[_i].name, out);
	if (sm_cases[_i].asked)
		ck_assert_msg(f.calls == 1 && strcmp(f.asked, sm_cases[_i].asked) == 0,
			      "case %d (%s): asked %d times, last %s", _i, sm_cases[_i].name,
			      f.calls, f.asked);
	else
		ck_assert_msg(f.calls == 0, "case %d (%s): the store was asked", _i,
			      sm_cases[_i].name);
}
END_TEST

/* --- address extensions (recipient_delimiter) --- */

/* A small directory: what store_dir_rewrite() answers for each key. */
static const struct {
	const char *key;
	int rc;
	const char *physical;
} ext_dir[] = {
	{"alice@example.org", STORE_OK, "alice@s1.test"},
	{"a.smith@example.org", STORE_OK, "alice@s1.test"}, /* alias */
	/* A mailbox whose own name carries the delimiter. */
	{"alice+sales@example.org", STORE_OK, "sales@s1.test"},
	{"alice@s0.test", STORE_OK, "alice@s1.test"}, /* former physical */
	{"err@example.org", STORE_ERR, NULL},
};

struct ext_fake {
	int calls;
	char asked[4][ADDR_MAX];
};

static int ext_rewrite(void *ctx, const char *addr, char out[ADDR_MAX])
{
	struct ext_fake *f = ctx;

	if (f->calls < 4)
		snprintf(f->asked[f->calls], ADDR_MAX, "%s", addr);
	f->calls++;
	for (size_t i = 0; i < sizeof(ext_dir) / sizeof(ext_dir[0]); i++) {
		if (strcmp(ext_dir[i].key, addr) != 0)
			continue;
		if (ext_dir[i].rc == STORE_OK)
			snprintf(out, ADDR_MAX, "%s", ext_dir[i].physical);
		return ext_dir[i].rc;
	}
	return STORE_NOTFOUND;
}

static const struct {
	const char *name;
	const char *delims, *req;
	enum sockmap_kind want;
	const char *reply;
	int calls; /* lookups: 1 whole, 2 whole then base */
} ext_cases[] = {
	{"tag kept", "+", "virtual alice+tag@example.org", SOCKMAP_OK, "OK alice+tag@s1.test", 2},
	{"no extension", "+", "virtual alice@example.org", SOCKMAP_OK, "OK alice@s1.test", 1},
	{"empty extension", "+", "virtual alice+@example.org", SOCKMAP_OK, "OK alice+@s1.test",
	 2},
	{"delimiter at start", "+", "virtual +alice@example.org", SOCKMAP_NOTFOUND, "NOTFOUND ",
	 1},
	{"exact match first", "+", "virtual alice+sales@example.org", SOCKMAP_OK,
	 "OK sales@s1.test", 1},
	{"unknown base", "+", "virtual nobody+tag@example.org", SOCKMAP_NOTFOUND, "NOTFOUND ", 2},
	{"off", "", "virtual alice+tag@example.org", SOCKMAP_NOTFOUND, "NOTFOUND ", 1},
	{"off (NULL)", NULL, "virtual alice+tag@example.org", SOCKMAP_NOTFOUND, "NOTFOUND ", 1},
	{"other delimiter", "-", "virtual alice+tag@example.org", SOCKMAP_NOTFOUND, "NOTFOUND ",
	 1},
	{"several: -", "+-", "virtual alice-tag@example.org", SOCKMAP_OK, "OK alice-tag@s1.test",
	 2},
	{"several: first wins", "-+", "virtual alice+a-b@example.org", SOCKMAP_OK,
	 "OK alice+a-b@s1.test", 2},
	{"alias", "+", "virtual a.smith+x@example.org", SOCKMAP_OK, "OK alice+x@s1.test", 2},
	{"former physical", "+", "virtual alice+tag@s0.test", SOCKMAP_OK, "OK alice+tag@s1.test",
	 2},
	{"folded", "+", "virtual Alice+Tag@EXAMPLE.org", SOCKMAP_OK, "OK alice+tag@s1.test", 2},
	{"quoted extension", "+", "virtual \"alice+a b\"@example.org", SOCKMAP_OK,
	 "OK \"alice+a b\"@s1.test", 2},
	{"store error on base", "+", "virtual err+x@example.org", SOCKMAP_TEMP, "TEMP", 2},
	{"postmaster not split", "-", "virtual mailer-daemon@example.org", SOCKMAP_NOTFOUND,
	 "NOTFOUND ", 1},
};

START_TEST(test_socketmap_ext)
{
	static const char *const domains[] = {"example.org"};
	struct decide_conf c = {domains, 1, ADDR_FOLD_LOCAL, 0, 0, "virtual", ext_cases[_i].delims};
	struct ext_fake f = {0, {""}};
	char out[DECIDE_ACTION_MAX];
	enum sockmap_kind k = decide_socketmap(&c, ext_cases[_i].req, strlen(ext_cases[_i].req),
					       ext_rewrite, &f, out, sizeof(out));

	ck_assert_msg(k == ext_cases[_i].want, "case %d (%s): kind %d, want %d (%s)", _i,
		      ext_cases[_i].name, k, ext_cases[_i].want, out);
	ck_assert_msg(strcmp(out, ext_cases[_i].reply) == 0 ||
			      (k == SOCKMAP_TEMP && strncmp(out, "TEMP ", 5) == 0),
		      "case %d (%s): reply \"%s\"", _i, ext_cases[_i].name, out);
	ck_assert_msg(f.calls == ext_cases[_i].calls, "case %d (%s): %d lookups, first %s", _i,
		      ext_cases[_i].name, f.calls, f.asked[0]);
}
END_TEST

int main(void)
{
	const struct ck_test netstring_tests[] = {
		CK_LOOP(test_ns_whole, ns_cases), CK_LOOP(test_ns_bytewise, ns_cases),
		CK_TEST(test_ns_pipelined), CK_TEST(test_ns_encode),
	};
	const struct ck_test answers_tests[] = {
		CK_LOOP(test_socketmap, sm_cases), CK_LOOP(test_socketmap_ext, ext_cases),
	};
	Suite *s = suite_create("socketmap");

	CK_TCASE(s, "netstring", 0, netstring_tests);
	CK_TCASE(s, "answers", 0, answers_tests);
	return ck_run(s);
}
