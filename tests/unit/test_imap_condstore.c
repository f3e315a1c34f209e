/*
 * RFC 7162 (CONDSTORE, QRESYNC) in the response decoder: capabilities,
 * ENABLED, the SELECT codes (HIGHESTMODSEQ, NOMODSEQ, CLOSED), FETCH
 * MODSEQ, VANISHED (EARLIER), STATUS HIGHESTMODSEQ, MODIFIED; hostile
 * numbers and UID sets, each fed whole and one byte at a time.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckmain.h"
#include "imap_parse.h"

/* describe: what the decoder made of one response, as short text. */
static void describe(const char *text, char *out, size_t size)
{
	struct imap_event ev;
	int rc = imap_event_parse(text, strlen(text), &ev);

	if (rc < 0) {
		snprintf(out, size, "BAD %d", (int)ev.type);
	} else if (ev.type == IMAP_EV_STATE) {
		static const char *const names[] = {
			[IMAP_CODE_NONE] = "none",   [IMAP_CODE_HIGHESTMODSEQ] = "HMS",
			[IMAP_CODE_NOMODSEQ] = "NMS", [IMAP_CODE_MODIFIED] = "MOD",
			[IMAP_CODE_CLOSED] = "CLOSED", [IMAP_CODE_OTHER] = "other",
		};
		const struct imap_code *c = &ev.u.state.code;

		snprintf(out, size, "STATE code=%s num=%llu set=%.*s", names[c->type], c->num,
			 (int)c->set.len, c->set.p ? c->set.p : "");
	} else if (ev.type == IMAP_EV_FETCH) {
		const struct imap_fetch *f = &ev.u.fetch;

		snprintf(out, size, "FETCH uid=%llu modseq=%llu/%d%s", f->uid, f->modseq,
			 f->has_modseq, f->modseq_bad ? " bad" : "");
	} else if (ev.type == IMAP_EV_VANISHED) {
		snprintf(out, size, "VANISHED earlier=%d set=%.*s", ev.u.vanished.earlier,
			 (int)ev.u.vanished.set.len, ev.u.vanished.set.p);
	} else if (ev.type == IMAP_EV_STATUS) {
		snprintf(out, size, "STATUS has=%#x hms=%llu", ev.u.status.has,
			 ev.u.status.highestmodseq);
	} else if (ev.type == IMAP_EV_ENABLED || ev.type == IMAP_EV_CAPABILITY) {
		snprintf(out, size, "%s bits=%#x", ev.type == IMAP_EV_ENABLED ? "ENABLED" : "CAPS",
			 ev.u.caps.bits);
	} else {
		snprintf(out, size, "TYPE %d", (int)ev.type);
	}
	imap_event_free(&ev);
}

static const struct {
	const char *in, *want;
} events[] = {
	{"* CAPABILITY IMAP4rev1 CONDSTORE", "CAPS bits=0x1000"},
	{"* CAPABILITY IMAP4rev1 QRESYNC ENABLE", "CAPS bits=0x7000"},
	{"* ENABLED QRESYNC", "ENABLED bits=0x3000"},
	{"* ENABLED", "ENABLED bits=0"},
	{"* OK [HIGHESTMODSEQ 715194045007] Highest", "STATE code=HMS num=715194045007 set="},
	{"* OK [HIGHESTMODSEQ 9223372036854775807] top", "STATE code=HMS num=9223372036854775807 set="},
	/* Out of range, zero or junk: the code is unknown, the reply stands. */
	{"* OK [HIGHESTMODSEQ 9223372036854775808] 2^63", "STATE code=other num=0 set="},
	{"* OK [HIGHESTMODSEQ 99999999999999999999999] huge", "STATE code=other num=0 set="},
	{"* OK [HIGHESTMODSEQ 0] zero", "STATE code=other num=0 set="},
	{"* OK [HIGHESTMODSEQ -1] neg", "STATE code=other num=0 set="},
	{"* OK [HIGHESTMODSEQ] none", "STATE code=other num=0 set="},
	{"* OK [HIGHESTMODSEQ 12 13] two", "STATE code=other num=0 set="},
	{"* OK [NOMODSEQ] Sorry", "STATE code=NMS num=0 set="},
	{"* OK [CLOSED] prev", "STATE code=CLOSED num=0 set="},
	{"A3 OK [MODIFIED 7,9:12] conditional STORE failed", "STATE code=MOD num=0 set=7,9:12"},
	{"A3 OK [MODIFIED 7,] bad", "STATE code=other num=0 set="},
	{"* 1 FETCH (UID 4 MODSEQ (65402) FLAGS (\\Seen))", "FETCH uid=4 modseq=65402/1"},
	{"* 1 FETCH (MODSEQ (9223372036854775807) UID 4)", "FETCH uid=4 modseq=9223372036854775807/1"},
	/* A bad MODSEQ is skipped and marked, as the copy skipped it before. */
	{"* 1 FETCH (UID 4 MODSEQ (9223372036854775808))", "FETCH uid=4 modseq=0/0 bad"},
	{"* 1 FETCH (UID 4 MODSEQ (0))", "FETCH uid=4 modseq=0/0 bad"},
	{"* 1 FETCH (UID 4 MODSEQ 5)", "FETCH uid=4 modseq=0/0 bad"},
	{"* 1 FETCH (UID 4 MODSEQ (5 6))", "FETCH uid=4 modseq=0/0 bad"},
	{"* 1 FETCH (UID 4 MODSEQ ())", "FETCH uid=4 modseq=0/0 bad"},
	{"* 1 FETCH (UID 4 MODSEQ (5)", "BAD 3"},
	{"* 1 FETCH (UID 4 MODSEQ)", "BAD 3"},
	{"* VANISHED (EARLIER) 300:310,405,411", "VANISHED earlier=1 set=300:310,405,411"},
	{"* VANISHED 405", "VANISHED earlier=0 set=405"},
	{"* VANISHED 9:5", "VANISHED earlier=0 set=9:5"},
	{"* VANISHED 4294967295", "VANISHED earlier=0 set=4294967295"},
	{"* VANISHED 4294967296", "BAD 12"},
	{"* VANISHED 0", "BAD 12"},
	{"* VANISHED 1:*", "BAD 12"},
	{"* VANISHED 1,,2", "BAD 12"},
	{"* VANISHED 1:2:3", "BAD 12"},
	{"* VANISHED ", "BAD 12"},
	{"* VANISHED", "BAD 12"},
	{"* VANISHED (LATER) 5", "BAD 12"},
	{"* VANISHED (EARLIER)5", "BAD 12"},
	{"* VANISHED (EARLIER 5", "BAD 12"},
	{"* STATUS blurdybloop (MESSAGES 231 UIDNEXT 7 HIGHESTMODSEQ 7011231777)",
	 "STATUS has=0x45 hms=7011231777"},
	{"* STATUS INBOX (HIGHESTMODSEQ 9223372036854775808)", "BAD 5"},
};

START_TEST(test_events)
{
	char got[256];

	describe(events[_i].in, got, sizeof(got));
	ck_assert_msg(strcmp(got, events[_i].want) == 0, "case %d (%s): got \"%s\" want \"%s\"", _i,
		      events[_i].in, got, events[_i].want);
}
END_TEST

/* The numbers at the 63-bit edge, through the tokenizer itself. */
START_TEST(test_number_edge)
{
	static const struct {
		const char *in;
		int ok;
	} nums[] = {
		{"9223372036854775807", 1}, {"9223372036854775808", 0}, {"9223372036854775806", 1},
		{"9223372036854775810", 0}, {"18446744073709551615", 0}, {"0", 1},
		{"00000000000000000000009", 1},
	};

	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		struct imap_tok t;
		unsigned long long n;

		imap_tok_init(&t, nums[i].in, strlen(nums[i].in));
		ck_assert_msg((imap_tok_number(&t, &n) == 0) == nums[i].ok, "number %zu", i);
	}
}
END_TEST

static const struct {
	const char *set;
	int ok;
	const char *want; /* the merged ranges */
} sets[] = {
	{"5", 1, "5:5"},
	{"9:5", 1, "5:9"},
	{"5,7:8", 1, "5:5,7:8"},
	{"7:8,5,6", 1, "5:8"},
	{"1:10,3:4,10:12,20", 1, "1:12,20:20"},
	{"4294967295:1", 1, "1:4294967295"},
	{"1:4294967295,5", 1, "1:4294967295"},
	{"", 0, ""},
	{",", 0, ""},
	{"5,", 0, ""},
	{"0", 0, ""},
	{"3:0", 0, ""},
	{"*", 0, ""},
	{"5:", 0, ""},
	{"5 6", 0, ""},
	{"4294967296", 0, ""},
	{"99999999999999999999999999", 0, ""},
};

START_TEST(test_uidset_ranges)
{
	struct imap_uid_range *r;
	size_t n;
	char got[256] = "";
	int rc = imap_uidset_ranges((struct imap_span){sets[_i].set, strlen(sets[_i].set)}, &r, &n);

	ck_assert_msg((rc == 0) == sets[_i].ok, "set %d (%s)", _i, sets[_i].set);
	if (rc < 0) {
		ck_assert_ptr_null(r);
		return;
	}
	for (size_t i = 0; i < n; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%u:%u", i ? "," : "",
			 r[i].lo, r[i].hi);
	ck_assert_str_eq(got, sets[_i].want);
	free(r);
}
END_TEST

/*
 * A 1 MB VANISHED: every other UID from 1 (200,000 single UIDs and a few
 * ranges, written backwards), through the reader and the decoder; then
 * the same with one bad byte in the middle.
 */
START_TEST(test_vanished_huge)
{
	size_t cap = 1200 * 1024, len = 0;
	char *in = malloc(cap);
	unsigned u = 400001;

	ck_assert_ptr_nonnull(in);
	len += (size_t)sprintf(in, "* VANISHED (EARLIER) ");
	while (len < 1024 * 1024)
		len += (size_t)sprintf(in + len, "%u,", u += 2);
	len += (size_t)sprintf(in + len, "1:3");
	struct imap_event ev;

	ck_assert_int_eq(imap_event_parse(in, len, &ev), 0);
	ck_assert_int_eq(ev.type, IMAP_EV_VANISHED);
	struct imap_uid_range *r;
	size_t n;

	ck_assert_int_eq(imap_uidset_ranges(ev.u.vanished.set, &r, &n), 0);
	ck_assert(n > 100000);
	ck_assert(imap_uid_in(r, n, 2) && imap_uid_in(r, n, 400003) && !imap_uid_in(r, n, 400004));
	ck_assert(!imap_uid_in(r, n, 4) && imap_uid_in(r, n, u) && !imap_uid_in(r, n, u + 1));
	free(r);
	imap_event_free(&ev);
	in[len / 2] = 'x';
	ck_assert_int_eq(imap_event_parse(in, len, &ev), -1);
	imap_event_free(&ev);
	free(in);
}
END_TEST

/* One byte at a time through the reader: the same events. */
static int on_response(void *ctx, const char *text, size_t len)
{
	char *out = ctx, got[256];

	describe(text, got, sizeof(got));
	strcat(out, got);
	strcat(out, "|");
	return 0;
}

START_TEST(test_bytewise)
{
	static const struct imap_parser_cb cb = {NULL, NULL, on_response};
	static const char in[] = "* OK [CLOSED] x\r\n* OK [HIGHESTMODSEQ 20010715194045319] h\r\n"
				 "* VANISHED (EARLIER) 41,43:116,118,120:211,214:540\r\n"
				 "* 49 FETCH (UID 117 FLAGS (\\Seen \\Answered) MODSEQ (90060115194045001))\r\n"
				 "A02 OK [READ-WRITE] mailbox selected\r\n";
	char whole[1024] = "", bytes[1024] = "";
	struct imap_parser p;

	imap_parser_init(&p, &cb, whole, 0, 0, 0);
	ck_assert_int_eq(imap_parser_feed(&p, in, sizeof(in) - 1), 0);
	imap_parser_free(&p);
	imap_parser_init(&p, &cb, bytes, 0, 0, 0);
	for (size_t i = 0; i < sizeof(in) - 1; i++)
		ck_assert_int_eq(imap_parser_feed(&p, in + i, 1), 0);
	imap_parser_free(&p);
	ck_assert_str_eq(whole, bytes);
	ck_assert_str_eq(whole, "STATE code=CLOSED num=0 set=|STATE code=HMS num=20010715194045319 set=|"
				"VANISHED earlier=1 set=41,43:116,118,120:211,214:540|"
				"FETCH uid=117 modseq=90060115194045001/1|STATE code=other num=0 set=|");
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_LOOP(test_events, events),	   CK_TEST(test_number_edge),
		CK_LOOP(test_uidset_ranges, sets), CK_TEST(test_vanished_huge),
		CK_TEST(test_bytewise),
	};

	return ck_run(CK_SUITE("imap_condstore", "core", 0, tests));
}
