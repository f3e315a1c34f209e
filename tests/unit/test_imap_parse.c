/*
 * IMAP response reader and tokenizer: a table of server outputs, each fed
 * whole and one byte at a time, with hostile input (over-long lines,
 * lying or absurd literal sizes, NUL, bare CR, truncated literals).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap_parse.h"
#include "ckmain.h"

struct rec {
	char out[4096];
	size_t len;
	int stream; /* stream literals after "BODY[] " */
};

static void add(struct rec *r, const char *s, size_t n)
{
	if (r->len + n < sizeof(r->out)) {
		memcpy(r->out + r->len, s, n);
		r->len += n;
		r->out[r->len] = '\0';
	}
}

static int on_literal(void *ctx, const char *text, size_t len, uint64_t size)
{
	struct rec *r = ctx;
	char buf[64];

	if (r->stream && len >= 7 && strstr(text, "BODY[] {")) {
		snprintf(buf, sizeof(buf), "<S%llu:", (unsigned long long)size);
		add(r, buf, strlen(buf));
		return IMAP_LIT_STREAM;
	}
	return IMAP_LIT_INLINE;
}

static int on_data(void *ctx, const char *d, size_t n, int end)
{
	struct rec *r = ctx;

	add(r, d, n);
	if (end)
		add(r, ">", 1);
	return 0;
}

static int on_response(void *ctx, const char *text, size_t len)
{
	struct rec *r = ctx;

	ck_assert_uint_eq(strlen(text), len); /* no NUL can reach here */
	add(r, "[", 1);
	add(r, text, len);
	add(r, "]", 1);
	return 0;
}

static const struct {
	const char *name;
	const char *in;
	int stream;
	const char *want; /* responses, then "E:reason" on error */
} cases[] = {
	{"greeting", "* OK ready\r\n", 0, "[* OK ready]"},
	{"two responses", "* 1 EXISTS\r\nA1 OK done\r\n", 0, "[* 1 EXISTS][A1 OK done]"},
	{"bare LF", "* OK x\nA1 OK y\n", 0, "[* OK x][A1 OK y]"},
	{"inline literal", "* LIST () \"/\" {3}\r\na b\r\n", 0, "[* LIST () \"/\" {3}\r\na b]"},
	{"literal plus", "* LIST () \"/\" {2+}\r\nab\r\n", 0, "[* LIST () \"/\" {2+}\r\nab]"},
	{"empty literal", "* X {0}\r\n\r\n", 0, "[* X {0}\r\n]"},
	{"streamed body", "* 1 FETCH (UID 5 BODY[] {5}\r\nab\r\nc)\r\n", 1,
	 "<S5:ab\r\nc>[* 1 FETCH (UID 5 BODY[] NIL)]"},
	{"streamed empty body", "* 1 FETCH (BODY[] {0}\r\n)\r\n", 1,
	 "<S0:>[* 1 FETCH (BODY[] NIL)]"},
	{"literal holding CRLF{9}", "* 1 FETCH (BODY[] {6}\r\n{9}\r\n )\r\nA OK\r\n", 1,
	 "<S6:{9}\r\n >[* 1 FETCH (BODY[] NIL)][A OK]"},
	{"two literals", "* X {1}\r\na {1}\r\nb\r\n", 0, "[* X {1}\r\na {1}\r\nb]"},
	{"brace not at end", "* OK {5} later\r\n", 0, "[* OK {5} later]"},
	{"nul", "* OK a\0b\r\n", 0, "E:NUL in response"},
	{"bare CR", "* OK a\rb\r\n", 0, "E:bare CR in response"},
	{"literal too large", "* X {99999999999}\r\n", 0, "E:literal too large"},
	{"literal digits", "* X {1234567890123456}\r\n", 0, "E:literal length too long"},
	{"empty length", "* X {}\r\n", 0, "E:literal without a length"},
	{"inline literal over limit", "* X {70000}\r\n", 0, "E:literal too large to keep"},
	{"line too long", NULL, 0, "E:response too long"},
};

static void run(const char *in, size_t len, size_t chunk, int stream, char *out, size_t size)
{
	static const struct imap_parser_cb cb = {on_literal, on_data, on_response};
	struct imap_parser p;
	struct rec r = {.stream = stream};
	int rc = 0;

	imap_parser_init(&p, &cb, &r, 2048, 65536, 1000000000);
	for (size_t off = 0; off < len && rc == 0; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;

		rc = imap_parser_feed(&p, in + off, n);
	}
	if (rc < 0)
		snprintf(out, size, "%sE:%s", r.out, p.err);
	else
		snprintf(out, size, "%s", r.out);
	imap_parser_free(&p);
}

START_TEST(test_table)
{
	char got[4400], big[4000];
	const char *in = cases[_i].in;
	size_t len;

	if (in == NULL) {
		memset(big, 'x', sizeof(big));
		memcpy(big, "* OK ", 5);
		in = big;
		len = sizeof(big);
	} else {
		len = strlen(in);
		if (strcmp(cases[_i].name, "nul") == 0)
			len = 10;
	}
	/* Whole, then byte by byte: the same result. */
	for (int bytewise = 0; bytewise < 2; bytewise++) {
		run(in, len, bytewise || len == 0 ? 1 : len, cases[_i].stream, got, sizeof(got));
		ck_assert_msg(strcmp(got, cases[_i].want) == 0, "case %d (%s): %s: got '%s'", _i,
			      cases[_i].name, bytewise ? "bytewise" : "whole", got);
	}
}
END_TEST

START_TEST(test_truncated_literal)
{
	static const struct imap_parser_cb cb = {on_literal, on_data, on_response};
	struct imap_parser p;
	struct rec r = {.stream = 1};
	const char *in = "* 1 FETCH (BODY[] {100}\r\nshort";

	imap_parser_init(&p, &cb, &r, 0, 0, 0);
	ck_assert_int_eq(imap_parser_feed(&p, in, strlen(in)), 0);
	/* Still inside the literal: the owner sees the connection end here. */
	ck_assert_int_eq(imap_parser_idle(&p), 0);
	imap_parser_free(&p);
}
END_TEST

START_TEST(test_tokens)
{
	const char *text = "LIST (\\Noselect \\HasChildren) \"/\" {5}\r\na\"b c "
			   "\"q\\\"x\" NIL BODY[HEADER.FIELDS (A B)] [APPENDUID 7 3:5] (1 (2)) 42";
	struct imap_tok t;
	const char *a;
	size_t al, n;
	char buf[64];
	int nil;
	unsigned long long num;

	imap_tok_init(&t, text, strlen(text));
	ck_assert_int_eq(imap_tok_atom(&t, &a, &al), 0);
	ck_assert(imap_atom_eq(a, al, "list"));
	ck_assert_int_eq(imap_tok_sp(&t), 0);
	ck_assert_int_eq(imap_tok_skip(&t), 0); /* the flag list */
	ck_assert_int_eq(imap_tok_sp(&t), 0);
	ck_assert_int_eq(imap_tok_string(&t, buf, sizeof(buf), &n, &nil), 0);
	ck_assert_str_eq(buf, "/");
	ck_assert_int_eq(imap_tok_sp(&t), 0);
	ck_assert_int_eq(imap_tok_string(&t, buf, sizeof(buf), &n, &nil), 0);
	ck_assert_str_eq(buf, "a\"b c");
	ck_assert_int_eq(imap_tok_sp(&t), 0);
	ck_assert_int_eq(imap_tok_string(&t, buf, sizeof(buf), &n, &nil), 0);
	ck_assert_str_eq(buf, "q\"x");
	ck_assert_int_eq(imap_tok_sp(&t), 0);
	ck_assert_int_eq(imap_tok_string(&t, buf, sizeof(buf), &n, &nil), 0);
	ck_assert_int_eq(nil, 1);
	ck_assert_int_eq(imap_tok_sp(&t), 0);
	ck_assert_int_eq(imap_tok_atom(&t, &a, &al), 0);
	ck_assert(imap_atom_eq(a, al, "BODY[HEADER.FIELDS (A B)]"));
	ck_assert_int_eq(imap_tok_sp(&t), 0);
	ck_assert_int_eq(imap_tok_atom(&t, &a, &al), 0);
	ck_assert(imap_atom_eq(a, al, "[APPENDUID"));
	ck_assert_int_eq(imap_tok_sp(&t), 0);
	ck_assert_int_eq(imap_tok_number(&t, &num), 0);
	ck_assert_uint_eq(num, 7);
	t.p = strstr(text, "(1 (2))");
	ck_assert_int_eq(imap_tok_skip(&t), 0);
	ck_assert_int_eq(imap_tok_sp(&t), 0);
	ck_assert_int_eq(imap_tok_number(&t, &num), 0);
	ck_assert_uint_eq(num, 42);
	ck_assert(imap_tok_eof(&t));
}
END_TEST

static const struct {
	const char *in;
	int fn; /* 0 string, 1 skip, 2 number, 3 atom */
} bad_tokens[] = {
	{"\"unterminated", 0}, {"{5}\r\nab", 0}, {"{x}\r\n", 0}, {"\"a\r\"", 0},
	{"(unbalanced", 1},    {")", 1},	 {"\"\\", 1},	   {"99999999999999999999999", 2},
	{"", 2},	       {"", 3},		 {"BODY[unclosed", 3}, {"\"0123456789012345678901234567890123456789\"", 0},
};

START_TEST(test_bad_tokens)
{
	struct imap_tok t;
	const char *a;
	size_t al, n;
	char buf[32];
	int nil, r = 0;
	unsigned long long num;
	const char *in = bad_tokens[_i].in;

	imap_tok_init(&t, in, strlen(in));
	switch (bad_tokens[_i].fn) {
	case 0:
		r = imap_tok_string(&t, buf, sizeof(buf), &n, &nil);
		break;
	case 1:
		r = imap_tok_skip(&t);
		break;
	case 2:
		r = imap_tok_number(&t, &num);
		break;
	case 3:
		r = imap_tok_atom(&t, &a, &al);
		break;
	}
	ck_assert_msg(r == -1, "bad token %d (%s) accepted", _i, in);
	ck_assert_msg(t.p == in, "bad token %d moved the position", _i);
}
END_TEST

/* imap_fetch_parse: {name, input, want (1, 0, -1), uid, flags} */
static const struct {
	const char *name, *in;
	int want;
	unsigned long long uid;
	const char *flags;
} fetches[] = {
	{"full", "12 FETCH (UID 7 FLAGS (\\Seen $Work) INTERNALDATE \"01-Jan-2020 10:00:00 +0100\" "
		 "RFC822.SIZE 5)", 1, 7, "\\Seen $Work"},
	{"empty flags", "1 FETCH (FLAGS () UID 3)", 1, 3, ""},
	{"body streamed", "1 FETCH (UID 9 BODY[] NIL)", 1, 9, NULL},
	{"unknown item", "1 FETCH (MODSEQ (5) UID 2)", 1, 2, NULL},
	{"not a fetch", "3 EXISTS", 0, 0, NULL},
	{"status", "OK [PERMANENTFLAGS (\\*)] ok", 0, 0, NULL},
	{"no list", "1 FETCH UID 3", -1, 0, NULL},
	{"unclosed", "1 FETCH (UID 3", -1, 0, NULL},
	{"flags not a list", "1 FETCH (FLAGS \\Seen)", -1, 0, NULL},
	{"flags unclosed", "1 FETCH (FLAGS (\\Seen UID 3)", -1, 0, NULL},
	{"uid not a number", "1 FETCH (UID x)", -1, 0, NULL},
	{"uid too big", "1 FETCH (UID 99999999999999999999999)", -1, 0, NULL},
	{"date nil", "1 FETCH (INTERNALDATE NIL)", -1, 0, NULL},
	{"date short", "1 FETCH (INTERNALDATE \"1-Jan\")", -1, 0, NULL},
	{"date quote", "1 FETCH (INTERNALDATE {24}\r\n01-Jan-2020 10:00:\"0 +0100)", -1, 0, NULL},
	{"trailing garbage", "1 FETCH (UID 3) x", -1, 0, NULL},
	{"item without value", "1 FETCH (UID)", -1, 0, NULL},
};

START_TEST(test_fetch)
{
	struct imap_fetch f;
	const char *in = fetches[_i].in;
	int r = imap_fetch_parse(in, strlen(in), &f);

	ck_assert_msg(r == fetches[_i].want, "fetch %d (%s): %d, want %d", _i, fetches[_i].name, r,
		      fetches[_i].want);
	if (r == 1 && fetches[_i].uid)
		ck_assert_msg(f.has_uid && f.uid == fetches[_i].uid, "fetch %d (%s): uid", _i,
			      fetches[_i].name);
	if (r == 1 && fetches[_i].flags)
		ck_assert_msg(f.has_flags && f.flags_len == strlen(fetches[_i].flags) &&
				      memcmp(f.flags, fetches[_i].flags, f.flags_len) == 0,
			      "fetch %d (%s): flags %.*s", _i, fetches[_i].name, (int)f.flags_len,
			      f.flags);
}
END_TEST

/* A flag list far over the 4 KB the copy once held: 5,000 keywords. */
START_TEST(test_fetch_many_keywords)
{
	size_t cap = 5000 * 16 + 64, len;
	char *in = malloc(cap), *p = in;
	struct imap_fetch f;

	p += sprintf(p, "1 FETCH (UID 4 FLAGS (\\Seen");
	for (int i = 0; i < 5000; i++)
		p += sprintf(p, " kw%05d", i);
	p += sprintf(p, ") RFC822.SIZE 10)");
	len = (size_t)(p - in);
	ck_assert_int_eq(imap_fetch_parse(in, len, &f), 1);
	ck_assert(f.has_flags && f.has_size && f.size == 10);
	ck_assert_uint_eq(f.flags_len, strlen("\\Seen") + 5000 * 8);
	ck_assert(memcmp(f.flags + f.flags_len - 7, "kw04999", 7) == 0);
	/* Byte by byte shorter: never accepted as complete. */
	for (size_t n = 0; n < len; n += 997)
		ck_assert_int_ne(imap_fetch_parse(in, n, &f), 1);
	free(in);
}
END_TEST

/* imap_flags_diff: {name, want, got, differences, missing, extra} */
static const struct {
	const char *name, *want, *got;
	int n;
	const char *missing, *extra;
} fdiffs[] = {
	{"equal", "\\Seen $Work", "$Work \\Seen", 0, "", ""},
	{"case", "\\SEEN $work", "\\Seen $Work", 0, "", ""},
	{"recent ignored", "\\Seen", "\\Recent \\Seen", 0, "", ""},
	{"repeats", "a a b", "b a", 0, "", ""},
	{"empty", "", "  ", 0, "", ""},
	{"dropped keyword", "\\Seen Work Todo", "\\Seen Todo", 1, "Work", ""},
	{"extra flag", "\\Seen", "\\Seen \\Deleted", 1, "", "\\Deleted"},
	{"both", "a b", "b c", 2, "a", "c"},
	{"all lost", "k1 k2 k3", "", 3, "k1 k2 k3", ""},
};

START_TEST(test_flags_diff)
{
	char missing[64], extra[64];
	int n = imap_flags_diff(fdiffs[_i].want, strlen(fdiffs[_i].want), fdiffs[_i].got,
				strlen(fdiffs[_i].got), missing, extra, sizeof(missing));

	ck_assert_msg(n == fdiffs[_i].n, "flags %d (%s): %d differences", _i, fdiffs[_i].name, n);
	ck_assert_msg(strcmp(missing, fdiffs[_i].missing) == 0, "flags %d (%s): missing '%s'", _i,
		      fdiffs[_i].name, missing);
	ck_assert_msg(strcmp(extra, fdiffs[_i].extra) == 0, "flags %d (%s): extra '%s'", _i,
		      fdiffs[_i].name, extra);
}
END_TEST

/* Thousands of keywords, one lost: found, and the list is cut with "...". */
START_TEST(test_flags_diff_many)
{
	char *want = malloc(3000 * 8 + 1), *p = want, missing[32], extra[32];

	for (int i = 0; i < 3000; i++)
		p += sprintf(p, "%skw%04d", i ? " " : "", i);
	ck_assert_int_eq(imap_flags_diff(want, strlen(want), want, strlen(want), missing, extra,
					 sizeof(missing)),
			 0);
	ck_assert_int_eq(imap_flags_diff(want, strlen(want), want + 7, strlen(want) - 7, missing,
					 extra, sizeof(missing)),
			 1);
	ck_assert_str_eq(missing, "kw0000");
	ck_assert_int_eq(imap_flags_diff(want, strlen(want), "", 0, missing, extra, sizeof(missing)),
			 3000);
	ck_assert(strlen(missing) < sizeof(missing) && strstr(missing, "...") != NULL);
	free(want);
}
END_TEST

/* imap_date_parse: {input, seconds since the epoch or -1 for malformed} */
static const struct {
	const char *in;
	long long want;
} dates[] = {
	{"01-Jan-1970 00:00:00 +0000", 0},
	{"13-Sep-2020 14:26:40 +0200", 1600000000},
	{"13-Sep-2020 12:26:40 +0000", 1600000000},
	{"13-Sep-2020 07:56:40 -0430", 1600000000},
	{" 1-Mar-2000 00:00:00 +0000", 951868800},
	{"29-Feb-2024 23:59:59 +0000", 1709251199},
	{"13-sep-2020 12:26:40 +0000", 1600000000},
	{"", -1},
	{"13-Sept-2020 12:26:40 +0000", -1},
	{"13-Xyz-2020 12:26:40 +0000", -1},
	{"13-Sep-2020 25:26:40 +0000", -1},
	{"13-Sep-2020 12:26:40", -1},
	{"13-Sep-2020 12:26:40 0000", -1},
	{"13-Sep-2020 12:26:40 +0000 x", -1},
	{"32-Sep-2020 12:26:40 +0000", -1},
	{"13-Sep-2020 12:26:40 +0099", -1},
};

START_TEST(test_date)
{
	long long t = -1;
	int r = imap_date_parse(dates[_i].in, &t);

	if (dates[_i].want < 0)
		ck_assert_msg(r == -1, "date %d (%s) accepted", _i, dates[_i].in);
	else
		ck_assert_msg(r == 0 && t == dates[_i].want, "date %d (%s): %d %lld", _i,
			      dates[_i].in, r, t);
}
END_TEST

/* ------------------------------------------------------------ events */

/* describe: an event as one line of text, so that tables can compare it. */
static void describe(const struct imap_event *ev, int rc, char *out, size_t size)
{
	static const char *const types[] = {"OTHER",  "STATE",	 "CONTINUE", "FETCH",
					    "LIST",   "STATUS",	 "EXISTS",   "EXPUNGE",
					    "RECENT", "FLAGS",	 "CAPABILITY", "ENABLED",
					    "VANISHED"};
	static const char *const conds[] = {"OK", "NO", "BAD", "BYE", "PREAUTH"};
	static const char *const codes[] = {"",	       "ALERT",	      "APPENDUID",
					    "COPYUID", "UIDVALIDITY", "UIDNEXT",
					    "PERMANENTFLAGS", "CAPABILITY", "HIGHESTMODSEQ",
					    "NOMODSEQ", "MODIFIED", "CLOSED", "OTHER"};
	const struct imap_code *c = &ev->u.state.code;
	int n = snprintf(out, size, "%s%s%s", rc < 0 ? "BAD " : "", types[ev->type],
			 ev->tagged ? " tagged" : "");

#define ADD(...) n += snprintf(out + n, size - (size_t)n, __VA_ARGS__)
	switch (ev->type) {
	case IMAP_EV_STATE:
		if (rc < 0)
			break;
		ADD(" %s", conds[ev->u.state.cond]);
		if (c->type)
			ADD(" [%s num=%llu set=%.*s src=%.*s list=%.*s caps=%#x text=%.*s]",
			    codes[c->type], c->num, (int)c->set.len, c->set.p, (int)c->src_set.len,
			    c->src_set.p, (int)c->list.len, c->list.p, c->caps.bits,
			    (int)c->text.len, c->text.p);
		ADD(" text=%.*s", (int)ev->u.state.text.len, ev->u.state.text.p);
		break;
	case IMAP_EV_FETCH:
		if (rc == 0)
			ADD(" seq=%llu uid=%llu size=%llu flags=%.*s date=%s body=%d",
			    ev->u.fetch.seq, ev->u.fetch.uid, ev->u.fetch.size,
			    (int)ev->u.fetch.flags_len, ev->u.fetch.flags ? ev->u.fetch.flags : "",
			    ev->u.fetch.date, ev->u.fetch.has_body);
		break;
	case IMAP_EV_LIST:
		if (rc == 0)
			ADD(" lsub=%d bits=%#x attrs=%.*s sep=%c name=%s", ev->u.list.lsub,
			    ev->u.list.attr_bits, (int)ev->u.list.attrs.len, ev->u.list.attrs.p,
			    ev->u.list.sep ? ev->u.list.sep : '0', ev->u.list.name);
		break;
	case IMAP_EV_STATUS:
		if (rc == 0)
			ADD(" %s has=%#x messages=%llu size=%llu uidnext=%llu", ev->u.status.mailbox,
			    ev->u.status.has, ev->u.status.messages, ev->u.status.size,
			    ev->u.status.uidnext);
		break;
	case IMAP_EV_EXISTS:
	case IMAP_EV_EXPUNGE:
	case IMAP_EV_RECENT:
		ADD(" %llu", ev->u.num);
		break;
	case IMAP_EV_FLAGS:
	case IMAP_EV_CONTINUE:
		if (rc == 0)
			ADD(" %.*s", (int)ev->u.text.len, ev->u.text.p);
		break;
	case IMAP_EV_CAPABILITY:
		ADD(" %#x", ev->u.caps.bits);
		break;
	default:
		break;
	}
#undef ADD
}

/* {response, its event described} */
static const struct {
	const char *in, *want;
} events[] = {
	{"* OK ready", "STATE OK text=ready"},
	{"* PREAUTH [CAPABILITY IMAP4rev1 LITERAL+ UIDPLUS] hi",
	 "STATE PREAUTH [CAPABILITY num=0 set= src= list= caps=0x5 text=CAPABILITY IMAP4rev1 "
	 "LITERAL+ UIDPLUS] text=hi"},
	{"* BYE shutting down", "STATE BYE text=shutting down"},
	{"* NO [ALERT] disk full", "STATE NO [ALERT num=0 set= src= list= caps=0 text=ALERT] "
				  "text=disk full"},
	{"* OK [UIDVALIDITY 1234567890] UIDs", "STATE OK [UIDVALIDITY num=1234567890 set= src= "
					      "list= caps=0 text=UIDVALIDITY 1234567890] text=UIDs"},
	{"* OK [UIDNEXT 17]", "STATE OK [UIDNEXT num=17 set= src= list= caps=0 text=UIDNEXT 17] text="},
	{"* OK [PERMANENTFLAGS (\\Seen $Work \\*)] Limited",
	 "STATE OK [PERMANENTFLAGS num=0 set= src= list=\\Seen $Work \\* caps=0 "
	 "text=PERMANENTFLAGS (\\Seen $Work \\*)] text=Limited"},
	{"* OK [HIGHESTMODSEQ 9] x", "STATE OK [HIGHESTMODSEQ num=9 set= src= list= caps=0 "
				    "text=HIGHESTMODSEQ 9] text=x"},
	{"* OK [UIDVALIDITY x] bad code", "STATE OK [OTHER num=0 set= src= list= caps=0 "
					 "text=UIDVALIDITY x] text=bad code"},
	{"* OK [UNCLOSED code", "STATE OK text=[UNCLOSED code"},
	{"A12 OK [APPENDUID 38505 3955:3957] APPEND completed",
	 "STATE tagged OK [APPENDUID num=38505 set=3955:3957 src= list= caps=0 "
	 "text=APPENDUID 38505 3955:3957] text=APPEND completed"},
	{"A3 OK [COPYUID 38505 304,319:320 3956:3958] Done",
	 "STATE tagged OK [COPYUID num=38505 set=3956:3958 src=304,319:320 list= caps=0 "
	 "text=COPYUID 38505 304,319:320 3956:3958] text=Done"},
	{"A4 OK [APPENDUID 1 2 3] x", "STATE tagged OK [OTHER num=0 set= src= list= caps=0 "
				     "text=APPENDUID 1 2 3] text=x"},
	{"A5 NO [TRYCREATE] no such mailbox", "STATE tagged NO [OTHER num=0 set= src= list= "
					     "caps=0 text=TRYCREATE] text=no such mailbox"},
	{"A6 BAD", "STATE tagged BAD text="},
	{"A7 BYE x", "BAD STATE tagged"},
	{"A8 OKAY", "BAD STATE tagged"},
	{"A9", "BAD OTHER"},
	{"+ go ahead", "CONTINUE go ahead"},
	{"+", "CONTINUE "},
	{"* 23 EXISTS", "EXISTS 23"},
	{"* 5 EXPUNGE", "EXPUNGE 5"},
	{"* 0 RECENT", "RECENT 0"},
	{"* 5 EXISTS now", "BAD EXISTS 5"},
	{"* FLAGS (\\Answered \\Seen $Junk)", "FLAGS \\Answered \\Seen $Junk"},
	{"* FLAGS \\Seen", "BAD FLAGS"},
	{"* CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN SASL-IR ESEARCH STATUS=SIZE",
	 "CAPABILITY 0xce0"},
	{"* 1 FETCH (UID 7 FLAGS (\\Seen) INTERNALDATE \"01-Jan-2020 10:00:00 +0100\" "
	 "RFC822.SIZE 5 BODY[] NIL)",
	 "FETCH seq=1 uid=7 size=5 flags=\\Seen date=01-Jan-2020 10:00:00 +0100 body=1"},
	{"* 1 FETCH (UID x)", "BAD FETCH"},
	{"* LIST (\\HasNoChildren \\Sent) \"/\" Sent", "LIST lsub=0 bits=0x10 "
						     "attrs=\\HasNoChildren \\Sent sep=/ name=Sent"},
	{"* LIST (\\Noselect) NIL \"\"", "LIST lsub=0 bits=0x1 attrs=\\Noselect sep=0 name="},
	{"* LIST (\\NonExistent) \".\" \"a \\\"b\\\"\"", "LIST lsub=0 bits=0x2 attrs=\\NonExistent "
							"sep=. name=a \"b\""},
	{"* LIST () \"/\" {3}\r\na b", "LIST lsub=0 bits=0 attrs= sep=/ name=a b"},
	{"* LSUB () \"/\" INBOX", "LIST lsub=1 bits=0 attrs= sep=/ name=INBOX"},
	{"* LIST (\\Trash) \"/\" Trash (\"CHILDINFO\" (\"SUBSCRIBED\"))",
	 "LIST lsub=0 bits=0x40 attrs=\\Trash sep=/ name=Trash"},
	{"* LIST () \"/\" NIL", "BAD LIST"},
	{"* LIST (\\Sent \"/\" x", "BAD LIST"},
	{"* STATUS \"a b\" (MESSAGES 3 SIZE 900 UIDNEXT 4)",
	 "STATUS a b has=0x25 messages=3 size=900 uidnext=4"},
	{"* STATUS x (MESSAGES 3 HIGHESTMODSEQ 7)", "STATUS x has=0x41 messages=3 size=0 uidnext=0"},
	{"* STATUS x (MESSAGES many)", "BAD STATUS"},
	{"* SEARCH 1 2 3", "OTHER"},
	{"*", "BAD OTHER"},
	{"", "BAD OTHER"},
	{"garbage", "BAD OTHER"},
};

START_TEST(test_events)
{
	struct imap_event ev;
	char got[600];
	const char *in = events[_i].in;
	int rc = imap_event_parse(in, strlen(in), &ev);

	describe(&ev, rc, got, sizeof(got));
	imap_event_free(&ev);
	ck_assert_msg(strcmp(got, events[_i].want) == 0, "event %d (%s): got '%s'", _i, in, got);
}
END_TEST

/* A mailbox name with a NUL (from a literal) is refused. */
START_TEST(test_event_nul)
{
	static const char in[] = "* LIST () \"/\" {3}\r\na\0b";
	struct imap_event ev;

	ck_assert_int_eq(imap_event_parse(in, sizeof(in) - 1, &ev), -1);
	ck_assert(ev.bad && ev.type == IMAP_EV_LIST);
	imap_event_free(&ev);
}
END_TEST

/* Flag lists far over 4 KB and 64 KB: no item has a fixed limit. */
START_TEST(test_events_huge_flags)
{
	static const char *const pre[] = {"* FLAGS (", "* OK [PERMANENTFLAGS (",
					  "* 1 FETCH (UID 2 FLAGS ("};
	static const char *const post[] = {")", ")] x", "))"};
	size_t sizes[] = {5000, 70000};

	for (size_t k = 0; k < 2; k++) {
		char *flags = malloc(sizes[k] + 16), *line = malloc(sizes[k] + 64), *p = flags;

		while ((size_t)(p - flags) < sizes[k])
			p += sprintf(p, "%s$kw%05d", p == flags ? "" : " ", (int)(p - flags));
		for (size_t f = 0; f < 3; f++) {
			struct imap_event ev;
			int n = sprintf(line, "%s%s%s", pre[f], flags, post[f]);
			struct imap_span got;

			ck_assert_int_eq(imap_event_parse(line, (size_t)n, &ev), 0);
			if (f == 0)
				got = ev.u.text;
			else if (f == 1)
				got = ev.u.state.code.list;
			else
				got = (struct imap_span){ev.u.fetch.flags, ev.u.fetch.flags_len};
			ck_assert_uint_eq(got.len, strlen(flags));
			ck_assert(memcmp(got.p, flags, got.len) == 0);
			imap_event_free(&ev);
		}
		free(flags);
		free(line);
	}
}
END_TEST

START_TEST(test_uidsets)
{
	unsigned long long u[8];
	struct imap_span s = {"5,9:7,12", 8};

	ck_assert_int_eq(imap_uidset_expand(s, u, 8), 5);
	ck_assert(u[0] == 5 && u[1] == 7 && u[2] == 8 && u[3] == 9 && u[4] == 12);
	ck_assert_int_eq(imap_uidset_expand((struct imap_span){"1:4000000", 9}, u, 2), 4000000);
	ck_assert(u[0] == 1 && u[1] == 2);
	ck_assert_int_eq(imap_uidset_expand((struct imap_span){"1:9999999999999", 15}, u, 2), -1);
	ck_assert_int_eq(imap_uidset_expand((struct imap_span){"1,", 2}, u, 2), -1);
	ck_assert_int_eq(imap_uidset_expand((struct imap_span){"", 0}, u, 2), -1);
	ck_assert_int_eq(imap_uidset_expand((struct imap_span){"3:*", 3}, u, 2), -1);
}
END_TEST

/* imap_body_announce: which literals are a FETCH's body, and whose. */
START_TEST(test_body_announce)
{
	unsigned long long seq = 0, uid = 0;
	int has = 0;
	const char *a = "* 4 FETCH (UID 9 FLAGS (\\Seen) BODY[] {120}";
	const char *b = "* 4 FETCH (BODY[] {0+}";

	ck_assert_int_eq(imap_body_announce(a, strlen(a), &seq, &uid, &has), 1);
	ck_assert(seq == 4 && uid == 9 && has == 1);
	ck_assert_int_eq(imap_body_announce(b, strlen(b), &seq, &uid, &has), 1);
	ck_assert(seq == 4 && has == 0);
	ck_assert_int_eq(imap_body_announce("* LIST () \"/\" {3}", 17, &seq, &uid, &has), 0);
	ck_assert_int_eq(imap_body_announce("* 1 FETCH (BODY[HEADER] {3}", 27, &seq, &uid, &has),
			 0);
	ck_assert_int_eq(imap_body_announce("A1 OK {3}", 9, &seq, &uid, &has), 0);
}
END_TEST

struct evrec {
	char out[8192];
	size_t len;
};

static int ev_literal(void *ctx, const char *text, size_t len, uint64_t size)
{
	unsigned long long seq, uid;
	int has;

	(void)ctx;
	(void)size;
	return imap_body_announce(text, len, &seq, &uid, &has) ? IMAP_LIT_STREAM : IMAP_LIT_INLINE;
}

static int ev_data(void *ctx, const char *d, size_t n, int end)
{
	(void)ctx;
	(void)d;
	(void)n;
	(void)end;
	return 0;
}

static int ev_response(void *ctx, const char *text, size_t len)
{
	struct evrec *r = ctx;
	struct imap_event ev;
	int rc = imap_event_parse(text, len, &ev);

	describe(&ev, rc, r->out + r->len, sizeof(r->out) - r->len);
	r->len += strlen(r->out + r->len);
	if (r->len + 1 < sizeof(r->out))
		r->out[r->len++] = '|';
	r->out[r->len] = '\0';
	imap_event_free(&ev);
	return 0;
}

/* One byte at a time gives the same events as the whole stream at once. */
START_TEST(test_events_bytewise)
{
	static const struct imap_parser_cb cb = {ev_literal, ev_data, ev_response};
	static const char in[] =
		"* OK [CAPABILITY IMAP4rev1 LITERAL+] hi\r\n* 3 EXISTS\r\n"
		"* OK [PERMANENTFLAGS (\\Seen \\*)] p\r\n* LIST (\\Sent) \"/\" {4}\r\nSent\r\n"
		"* 1 FETCH (UID 5 BODY[] {6}\r\nab\r\ncd FLAGS (\\Seen))\r\n"
		"* STATUS INBOX (MESSAGES 2)\r\nA1 OK [APPENDUID 7 1:2] ok\r\n+ more\n"
		"* 1 FETCH (UID x)\r\n";
	struct evrec whole = {0}, bytes = {0};
	struct imap_parser p;

	imap_parser_init(&p, &cb, &whole, 0, 0, 0);
	ck_assert_int_eq(imap_parser_feed(&p, in, sizeof(in) - 1), 0);
	imap_parser_free(&p);
	imap_parser_init(&p, &cb, &bytes, 0, 0, 0);
	for (size_t i = 0; i < sizeof(in) - 1; i++)
		ck_assert_int_eq(imap_parser_feed(&p, in + i, 1), 0);
	imap_parser_free(&p);
	ck_assert_str_eq(whole.out, bytes.out);
	ck_assert_ptr_nonnull(strstr(whole.out, "FETCH seq=1 uid=5 size=0 flags=\\Seen"));
	ck_assert_ptr_nonnull(strstr(whole.out, "name=Sent|"));
	ck_assert_ptr_nonnull(strstr(whole.out, "|BAD FETCH|"));
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_LOOP(test_table, cases), CK_TEST(test_truncated_literal),
		CK_TEST(test_tokens), CK_LOOP(test_bad_tokens, bad_tokens),
		CK_LOOP(test_fetch, fetches), CK_TEST(test_fetch_many_keywords),
		CK_LOOP(test_flags_diff, fdiffs), CK_TEST(test_flags_diff_many),
		CK_LOOP(test_date, dates), CK_LOOP(test_events, events),
		CK_TEST(test_event_nul), CK_TEST(test_events_huge_flags),
		CK_TEST(test_uidsets), CK_TEST(test_body_announce),
		CK_TEST(test_events_bytewise),
	};

	return ck_run(CK_SUITE("imap_parse", "core", 0, tests));
}
