/*
 * test_policy - the policy protocol parser (policyd/policy_proto) and the
 * policy decisions (policyd/decide) with a fake directory.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../policyd/decide.h"
#include "../../policyd/policy_proto.h"
#include "xalloc.h"
#include "ckmain.h"
#include "testutil.h"

#define MAX_LINE 256
#define MAX_ATTRS 20

static const struct {
	const char *name;
	const char *input;
	size_t len; /* 0: strlen */
	enum policy_status want;
	size_t nattrs;        /* for POLICY_REQUEST */
	const char *last;     /* "name=value" of the last attribute, or NULL */
	const char *error;    /* for POLICY_ERROR */
} parse_cases[] = {
	{"empty request", "\n", 0, POLICY_REQUEST, 0, NULL, NULL},
	{"one attribute", "a=b\n\n", 0, POLICY_REQUEST, 1, "a=b", NULL},
	{"empty value", "recipient=\n\n", 0, POLICY_REQUEST, 1, "recipient=", NULL},
	{"value with '='", "x=a=b\n\n", 0, POLICY_REQUEST, 1, "x=a=b", NULL},
	{"CR is data", "x=y\r\n\n", 0, POLICY_REQUEST, 1, "x=y\r", NULL},
	{"typical", "request=smtpd_access_policy\nprotocol_state=RCPT\n"
		    "recipient=alice@example.org\nunknown_thing=1\n\n",
	 0, POLICY_REQUEST, 4, "unknown_thing=1", NULL},
	{"incomplete", "a=b\n", 0, POLICY_MORE, 0, NULL, NULL},
	{"incomplete line", "a=b", 0, POLICY_MORE, 0, NULL, NULL},
	{"nothing", "", 0, POLICY_MORE, 0, NULL, NULL},
	{"no '='", "hello\n\n", 0, POLICY_ERROR, 0, NULL, "without '='"},
	{"empty name", "=x\n\n", 0, POLICY_ERROR, 0, NULL, "without a name"},
	{"NUL in value", "a=b\0c\n\n", 7, POLICY_ERROR, 0, NULL, "NUL"},
	{"NUL alone", "\0", 1, POLICY_ERROR, 0, NULL, "NUL"},
	{"line at the limit", NULL, 0, POLICY_REQUEST, 1, NULL, NULL},
	{"line over the limit", NULL, 0, POLICY_ERROR, 0, NULL, "too long"},
	{"too many attributes", NULL, 0, POLICY_ERROR, 0, NULL, "too many"},
	{"as many as allowed", NULL, 0, POLICY_REQUEST, MAX_ATTRS, NULL, NULL},
};

/* make_input: the generated inputs of the table (NULL input). */
static char *make_input(int i, size_t *len_r)
{
	const char *name = parse_cases[i].name;
	char *s = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&s, &len);

	if (strcmp(name, "line at the limit") == 0)
		fprintf(fp, "a=%0*d\n\n", MAX_LINE - 2, 0);
	else if (strcmp(name, "line over the limit") == 0)
		fprintf(fp, "a=%0*d\n\n", MAX_LINE - 1, 0);
	else if (strcmp(name, "too many attributes") == 0)
		for (int k = 0; k < 10000; k++)
			fprintf(fp, "n%d=v\n", k);
	else if (strcmp(name, "as many as allowed") == 0) {
		for (int k = 0; k < MAX_ATTRS; k++)
			fprintf(fp, "n%d=v\n", k);
		fputc('\n', fp);
	}
	fclose(fp);
	*len_r = len;
	return s;
}

static void check_result(int i, struct policy_parser *p, enum policy_status st)
{
	ck_assert_msg(st == parse_cases[i].want, "case %d (%s): status %d, want %d", i,
		      parse_cases[i].name, st, parse_cases[i].want);
	if (st == POLICY_REQUEST) {
		size_t n;
		const struct policy_attr *a = policy_request_attrs(p, &n);

		ck_assert_msg(n == parse_cases[i].nattrs, "case %d (%s): %zu attributes, want %zu", i,
			      parse_cases[i].name, n, parse_cases[i].nattrs);
		if (parse_cases[i].last) {
			char got[512];

			snprintf(got, sizeof(got), "%s=%s", a[n - 1].name, a[n - 1].value);
			ck_assert_msg(strcmp(got, parse_cases[i].last) == 0,
				      "case %d (%s): last attribute %s", i, parse_cases[i].name, got);
		}
	}
	if (st == POLICY_ERROR)
		ck_assert_msg(strstr(policy_parser_error(p), parse_cases[i].error) != NULL,
			      "case %d (%s): error %s", i, parse_cases[i].name,
			      policy_parser_error(p));
}

START_TEST(test_parse_whole)
{
	size_t len, used;
	char *gen = NULL;
	const char *in = parse_cases[_i].input;
	struct policy_parser *p = policy_parser_new(MAX_LINE, MAX_ATTRS);

	if (in == NULL)
		in = gen = make_input(_i, &len);
	else
		len = parse_cases[_i].len ? parse_cases[_i].len : strlen(in);
	check_result(_i, p, policy_parser_feed(p, in, len, &used));
	ck_assert_msg(used <= len, "case %d: used %zu of %zu", _i, used, len);
	/* After an error the parser stays failed. */
	if (parse_cases[_i].want == POLICY_ERROR)
		ck_assert(policy_parser_feed(p, "a=b\n\n", 5, &used) == POLICY_ERROR);
	policy_parser_free(&p);
	ck_assert(p == NULL);
	free(gen);
}
END_TEST

/* Fed one byte at a time: "need more" until the byte that decides. */
static int parser_feed(void *p, const char *chunk, size_t len, size_t *used_r)
{
	return policy_parser_feed(p, chunk, len, used_r);
}

START_TEST(test_parse_bytewise)
{
	size_t len;
	char *gen = NULL;
	const char *in = parse_cases[_i].input;
	struct policy_parser *p = policy_parser_new(MAX_LINE, MAX_ATTRS);
	enum policy_status st;

	if (in == NULL)
		in = gen = make_input(_i, &len);
	else
		len = parse_cases[_i].len ? parse_cases[_i].len : strlen(in);
	st = tu_feed_bytewise(parser_feed, p, in, len, POLICY_MORE,
			      parse_cases[_i].want == POLICY_REQUEST, _i, parse_cases[_i].name);
	check_result(_i, p, st);
	policy_parser_free(&p);
	free(gen);
}
END_TEST

START_TEST(test_parse_pipelined)
{
	const char in[] = "protocol_state=RCPT\nrecipient=a@x\n\nprotocol_state=DATA\n\nx=";
	struct policy_parser *p = policy_parser_new(MAX_LINE, MAX_ATTRS);
	size_t used, off = 0, len = sizeof(in) - 1;

	ck_assert(policy_parser_feed(p, in, len, &used) == POLICY_REQUEST);
	ck_assert_str_eq(policy_request_get(p, "recipient"), "a@x");
	off += used;
	ck_assert(policy_parser_feed(p, in + off, len - off, &used) == POLICY_REQUEST);
	ck_assert_str_eq(policy_request_get(p, "protocol_state"), "DATA");
	ck_assert(policy_request_get(p, "recipient") == NULL);
	off += used;
	ck_assert(policy_parser_feed(p, in + off, len - off, &used) == POLICY_MORE);
	ck_assert_uint_eq(off + used, len);
	ck_assert(policy_parser_feed(p, "1\n", 2, &used) == POLICY_MORE);
	/* Large requests, each at both limits, after one another. */
	for (int r = 0; r < 3; r++) {
		char line[MAX_LINE + 1];

		memset(line, 'v', sizeof(line));
		memcpy(line, "k=", 2);
		line[MAX_LINE] = '\n';
		for (int k = 0; k < MAX_ATTRS - (r ? 0 : 1); k++)
			ck_assert(policy_parser_feed(p, line, MAX_LINE + 1, &used) == POLICY_MORE);
		ck_assert(policy_parser_feed(p, "\n", 1, &used) == POLICY_REQUEST);
		ck_assert_str_eq(policy_request_attrs(p, &used)[MAX_ATTRS - 1].name, "k");
		ck_assert_uint_eq(used, MAX_ATTRS);
	}
	policy_parser_free(&p);
}
END_TEST

/* --- decisions --- */

struct fake {
	int rc; /* what the lookup returns */
	struct dir_entry e;
	int calls;
	char asked[ADDR_MAX];
};

static int fake_lookup(void *ctx, const char *addr, struct dir_entry *r)
{
	struct fake *f = ctx;

	f->calls++;
	snprintf(f->asked, sizeof(f->asked), "%s", addr);
	if (f->rc == STORE_OK)
		*r = f->e;
	return f->rc;
}

enum { QUAR = 0, DEFER = 1 };

static const struct {
	const char *name;
	const char *state, *rcpt;
	int hold_defer, unknown_pass;
	int rc, held;
	enum dir_match match;
	enum decide_kind want;
	const char *action; /* prefix */
	const char *asked;  /* NULL: the store must not be asked */
} decide_cases[] = {
	{"known", "RCPT", "alice@example.org", QUAR, 0, STORE_OK, 0, DIR_ACCESS, DECIDE_DUNNO,
	 "DUNNO", "alice@example.org"},
	{"unknown", "RCPT", "nobody@example.org", QUAR, 0, STORE_NOTFOUND, 0, 0, DECIDE_REJECT,
	 "550 5.1.1 User unknown",
	 "nobody@example.org"},
	{"unknown, as written", "RCPT", "Nobody@Example.ORG.", QUAR, 0, STORE_NOTFOUND, 0, 0,
	 DECIDE_REJECT, "550 5.1.1 User unknown", "nobody@example.org"},
	{"unknown, pass", "RCPT", "nobody@example.org", QUAR, 1, STORE_NOTFOUND, 0, 0,
	 DECIDE_DUNNO, "DUNNO", "nobody@example.org"},
	{"held, quarantine", "RCPT", "alice@example.org", QUAR, 0, STORE_OK, 1, DIR_ACCESS,
	 DECIDE_DUNNO, "DUNNO", "alice@example.org"},
	{"held, defer", "RCPT", "alice@example.org", DEFER, 0, STORE_OK, 1, DIR_ACCESS,
	 DECIDE_DEFER,
	 "450 4.2.0 Migration in progress, try again in a few seconds",
	 "alice@example.org"},
	{"held alias, defer", "RCPT", "al@example.org", DEFER, 0, STORE_OK, 1, DIR_ALIAS,
	 DECIDE_DEFER, "450 4.2.0 Migration", "al@example.org"},
	{"store error", "RCPT", "alice@example.org", QUAR, 0, STORE_ERR, 0, 0, DECIDE_TEMPFAIL,
	 "defer_if_permit Service temporarily unavailable (directory unreadable)",
	 "alice@example.org"},
	{"store error, pass", "RCPT", "alice@example.org", QUAR, 1, STORE_ERR, 0, 0,
	 DECIDE_TEMPFAIL, "defer_if_permit", "alice@example.org"},
	{"other domain, quarantine", "RCPT", "x@gmail.com", QUAR, 0, STORE_ERR, 0, 0,
	 DECIDE_DUNNO, "DUNNO", NULL},
	{"other domain, defer, unknown", "RCPT", "x@gmail.com", DEFER, 0, STORE_NOTFOUND, 0, 0,
	 DECIDE_DUNNO, "DUNNO", "x@gmail.com"},
	{"other domain, defer, store error", "RCPT", "x@gmail.com", DEFER, 0, STORE_ERR, 0, 0,
	 DECIDE_TEMPFAIL, "defer_if_permit", "x@gmail.com"},
	{"held physical, defer", "RCPT", "alice@s1.test", DEFER, 0, STORE_OK, 1, DIR_PHYSICAL,
	 DECIDE_DEFER, "450 4.2.0 Migration", "alice@s1.test"},
	{"held former physical, defer", "RCPT", "alice@s0.test", DEFER, 0, STORE_OK, 1,
	 DIR_FORMER, DECIDE_DEFER, "450 4.2.0", "alice@s0.test"},
	{"held physical, quarantine", "RCPT", "alice@s1.test", QUAR, 0, STORE_OK, 1,
	 DIR_PHYSICAL, DECIDE_DUNNO, "DUNNO", NULL},
	{"physical not held", "RCPT", "alice@s1.test", DEFER, 0, STORE_OK, 0, DIR_PHYSICAL,
	 DECIDE_DUNNO, "DUNNO", "alice@s1.test"},
	{"DATA state", "DATA", "nobody@example.org", QUAR, 0, STORE_NOTFOUND, 0, 0,
	 DECIDE_DUNNO, "DUNNO", NULL},
	{"no state", NULL, "nobody@example.org", QUAR, 0, STORE_NOTFOUND, 0, 0, DECIDE_DUNNO,
	 "DUNNO", NULL},
	{"no recipient", "RCPT", NULL, QUAR, 0, STORE_NOTFOUND, 0, 0, DECIDE_DUNNO, "DUNNO",
	 NULL},
	{"empty recipient", "RCPT", "", QUAR, 0, STORE_NOTFOUND, 0, 0, DECIDE_DUNNO, "DUNNO",
	 NULL},
	{"bad address", "RCPT", "no-at-sign", QUAR, 0, STORE_NOTFOUND, 0, 0, DECIDE_DUNNO,
	 "DUNNO", NULL},
	{"bad address, control", "RCPT", "a\tb@example.org", QUAR, 0, STORE_NOTFOUND, 0, 0,
	 DECIDE_DUNNO, "DUNNO", NULL},
	{"quoted local part", "RCPT", "\"john doe\"@example.org", QUAR, 0, STORE_NOTFOUND, 0, 0,
	 DECIDE_REJECT, "550 5.1.1 User unknown", "john doe@example.org"},	/* recipient= is Postfix's internal form: unquoted, and still the
	 * same directory key as the quoted form. */
	{"internal form", "RCPT", "John Doe@example.org", QUAR, 0, STORE_NOTFOUND, 0, 0,
	 DECIDE_REJECT, "550 5.1.1 User unknown", "john doe@example.org"},
	{"internal form, passwd-file line", "RCPT", "v@s2.example.org:{plain}x::::::j@example.org",
	 QUAR, 0, STORE_NOTFOUND, 0, 0, DECIDE_REJECT, "550 5.1.1",
	 "v@s2.example.org:{plain}x::::::j@example.org"},
	{"bad address, invalid UTF-8", "RCPT", "a\xff@example.org", QUAR, 0, STORE_NOTFOUND, 0, 0,
	 DECIDE_DUNNO, "DUNNO", NULL},
	{"bad address, C1 control", "RCPT", "a\xc2\x85@example.org", QUAR, 0, STORE_NOTFOUND, 0,
	 0, DECIDE_DUNNO, "DUNNO", NULL},
	{"bad address, escape", "RCPT", "a\x1b[2J@example.org", QUAR, 0, STORE_NOTFOUND, 0, 0,
	 DECIDE_DUNNO, "DUNNO", NULL},
};

/*
 * The whole-request cap (policy_max_request_size), whole and byte by
 * byte: a request of exactly MAX bytes passes, one byte more is refused
 * at that byte, so the buffer never grows past the cap.
 */
START_TEST(test_parse_max_request)
{
	/* Counted as on the wire without the final empty line: 12 and 13. */
	const char *ok = "a=1\nb=2\nc=3\n\n", *big = "a=1\nb=2\nc=34\n\n";

	for (int bytewise = 0; bytewise < 2; bytewise++) {
		struct policy_parser *p = policy_parser_new(MAX_LINE, MAX_ATTRS);
		enum policy_status st = POLICY_MORE;
		size_t used, off = 0;

		policy_parser_set_max_request(p, 12);
		while (off < strlen(ok) && st == POLICY_MORE) {
			size_t n = bytewise ? 1 : strlen(ok) - off;

			st = policy_parser_feed(p, ok + off, n, &used);
			off += used;
		}
		ck_assert_msg(st == POLICY_REQUEST, "bytewise=%d: a request at the cap", bytewise);
		st = POLICY_MORE;
		off = 0;
		while (off < strlen(big) && st == POLICY_MORE) {
			size_t n = bytewise ? 1 : strlen(big) - off;

			st = policy_parser_feed(p, big + off, n, &used);
			off += used;
		}
		ck_assert_msg(st == POLICY_ERROR, "bytewise=%d: one byte over the cap", bytewise);
		ck_assert_str_eq(policy_parser_error(p), "request too large");
		ck_assert_msg(off == 13, "bytewise=%d: refused at byte %zu, want 13", bytewise, off);
		policy_parser_free(&p);
	}
}
END_TEST

START_TEST(test_decide)
{
	static const char *const domains[] = {"example.org", "example.net"};
	struct decide_conf c = {domains, 2, ADDR_FOLD_LOCAL, decide_cases[_i].unknown_pass,
				decide_cases[_i].hold_defer, "virtual", NULL};
	struct policy_attr attrs[4];
	size_t n = 0;
	struct fake f;
	struct decision d;

	memset(&f, 0, sizeof(f));
	f.rc = decide_cases[_i].rc;
	f.e.held = decide_cases[_i].held;
	f.e.match = decide_cases[_i].match;
	f.e.request_id = 42;
	attrs[n++] = (struct policy_attr){"request", "smtpd_access_policy"};
	if (decide_cases[_i].state)
		attrs[n++] = (struct policy_attr){"protocol_state", decide_cases[_i].state};
	if (decide_cases[_i].rcpt)
		attrs[n++] = (struct policy_attr){"recipient", decide_cases[_i].rcpt};
	decide_policy(&c, attrs, n, fake_lookup, &f, &d);
	ck_assert_msg(d.kind == decide_cases[_i].want, "case %d (%s): kind %d, want %d", _i,
		      decide_cases[_i].name, d.kind, decide_cases[_i].want);
	ck_assert_msg(strncmp(d.action, decide_cases[_i].action,
			      strlen(decide_cases[_i].action)) == 0,
		      "case %d (%s): action \"%s\"", _i, decide_cases[_i].name, d.action);
	ck_assert_msg(strchr(d.action, '\n') == NULL, "case %d: newline in action", _i);
	if (decide_cases[_i].asked) {
		ck_assert_msg(f.calls == 1, "case %d (%s): %d lookups", _i, decide_cases[_i].name,
			      f.calls);
		ck_assert_msg(strcmp(f.asked, decide_cases[_i].asked) == 0,
			      "case %d (%s): looked up %s", _i, decide_cases[_i].name, f.asked);
	} else {
		ck_assert_msg(f.calls == 0, "case %d (%s): the store was asked", _i,
			      decide_cases[_i].name);
	}
	if (d.kind == DECIDE_DEFER)
		ck_assert_int_eq(d.request_id, 42);
}
END_TEST

/* --- address extensions (recipient_delimiter) --- */

static const struct {
	const char *key;
	int rc, held;
	enum dir_match match;
} ext_dir[] = {
	{"alice@example.org", STORE_OK, 1, DIR_ACCESS},
	{"alice@s1.test", STORE_OK, 1, DIR_PHYSICAL},
	{"bob@example.org", STORE_OK, 0, DIR_ACCESS},
	/* A mailbox whose own name carries the delimiter, not held. */
	{"alice+sales@example.org", STORE_OK, 0, DIR_ACCESS},
	{"err@example.org", STORE_ERR, 0, 0},
};

static int ext_lookup(void *ctx, const char *addr, struct dir_entry *r)
{
	struct fake *f = ctx;

	f->calls++;
	snprintf(f->asked, sizeof(f->asked), "%s", addr);
	for (size_t i = 0; i < sizeof(ext_dir) / sizeof(ext_dir[0]); i++) {
		if (strcmp(ext_dir[i].key, addr) != 0)
			continue;
		memset(r, 0, sizeof(*r));
		r->held = ext_dir[i].held;
		r->match = ext_dir[i].match;
		r->request_id = 42;
		return ext_dir[i].rc;
	}
	return STORE_NOTFOUND;
}

static const struct {
	const char *name;
	const char *delims, *rcpt;
	int hold_defer;
	enum decide_kind want;
	const char *asked; /* the last key looked up */
	int calls;
} ext_cases[] = {
	{"held with tag", "+", "alice+tag@example.org", DEFER, DECIDE_DEFER, "alice@example.org",
	 2},
	{"held with tag, quarantine", "+", "alice+tag@example.org", QUAR, DECIDE_DUNNO,
	 "alice@example.org", 2},
	{"empty extension", "+", "alice+@example.org", DEFER, DECIDE_DEFER, "alice@example.org",
	 2},
	{"known with tag", "+", "bob+x@example.org", DEFER, DECIDE_DUNNO, "bob@example.org", 2},
	{"unknown base", "+", "nobody+x@example.org", QUAR, DECIDE_REJECT, "nobody@example.org",
	 2},
	{"delimiter at start", "+", "+alice@example.org", QUAR, DECIDE_REJECT,
	 "+alice@example.org", 1},
	{"off: unknown", "", "bob+x@example.org", QUAR, DECIDE_REJECT, "bob+x@example.org", 1},
	{"exact match first", "+", "alice+sales@example.org", DEFER, DECIDE_DUNNO,
	 "alice+sales@example.org", 1},
	{"several delimiters", "-+", "alice-x+y@example.org", DEFER, DECIDE_DEFER,
	 "alice@example.org", 2},
	{"held physical with tag", "+", "alice+tag@s1.test", DEFER, DECIDE_DEFER, "alice@s1.test",
	 2},
	{"store error on base", "+", "err+x@example.org", QUAR, DECIDE_TEMPFAIL,
	 "err@example.org", 2},
};

START_TEST(test_decide_ext)
{
	static const char *const domains[] = {"example.org"};
	struct decide_conf c = {domains, 1, ADDR_FOLD_LOCAL, 0, ext_cases[_i].hold_defer,
				"virtual", ext_cases[_i].delims};
	struct policy_attr attrs[] = {
		{"request", "smtpd_access_policy"},
		{"protocol_state", "RCPT"},
		{"recipient", ext_cases[_i].rcpt},
	};
	struct fake f;
	struct decision d;

	memset(&f, 0, sizeof(f));
	decide_policy(&c, attrs, 3, ext_lookup, &f, &d);
	ck_assert_msg(d.kind == ext_cases[_i].want, "case %d (%s): kind %d (%s), want %d", _i,
		      ext_cases[_i].name, d.kind, d.action, ext_cases[_i].want);
	ck_assert_msg(f.calls == ext_cases[_i].calls && strcmp(f.asked, ext_cases[_i].asked) == 0,
		      "case %d (%s): %d lookups, last %s", _i, ext_cases[_i].name, f.calls,
		      f.asked);
	/* The log names the recipient as written, extension and all. */
	ck_assert_msg(strcmp(d.rcpt, ext_cases[_i].rcpt) == 0, "case %d (%s): rcpt %s", _i,
		      ext_cases[_i].name, d.rcpt);
	if (d.kind == DECIDE_DEFER)
		ck_assert_int_eq(d.request_id, 42);
}
END_TEST

int main(void)
{
	const struct ck_test parse_tests[] = {
		CK_LOOP(test_parse_whole, parse_cases),
		CK_LOOP(test_parse_bytewise, parse_cases), CK_TEST(test_parse_pipelined),
		CK_TEST(test_parse_max_request),
	};
	const struct ck_test decide_tests[] = {
		CK_LOOP(test_decide, decide_cases), CK_LOOP(test_decide_ext, ext_cases),
	};
	Suite *s = suite_create("policy");

	CK_TCASE(s, "parse", 0, parse_tests);
	CK_TCASE(s, "decide", 0, decide_tests);
	return ck_run(s);
}
