/* The milter's status line: what the milter writes, what fedmig-spm takes
 * (moved from test_spm_pq with the parser), and hostile lines. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "ckmain.h"
#include "mstatus.h"

static const struct {
	const char *in;
	int ok;
	long long oldest, open;
} status[] = {
	{"oldest=0 open=0\n", 1, 0, 0},
	{"oldest=1700000000123456 open=3\n", 1, 1700000000123456LL, 3},
	{"oldest=5 open=1\r\n", 1, 5, 1},
	{"open=1 oldest=5", 1, 5, 1},
	{"oldest=5 open=1 extra=x\n", 1, 5, 1},
	{"oldest=999999999999999999 open=999999999999999999\n", 1, MSTATUS_VALUE_MAX,
	 MSTATUS_VALUE_MAX},
	{"oldest=5 open=1 x=\n", 1, 5, 1},
	{"oldest=5\n", 0, 0, 0},
	{"oldest=-1 open=0\n", 0, 0, 0},
	{"oldest= open=0\n", 0, 0, 0},
	{"oldest=5  open=1\n", 0, 0, 0},
	{"oldest=5 open=1 oldest=6\n", 0, 0, 0},
	{"oldest=5 open=1 open=1\n", 0, 0, 0},
	{"oldest=99999999999999999999 open=0\n", 0, 0, 0},
	{"oldest=1000000000000000000 open=0\n", 0, 0, 0},
	{"=5 open=1\n", 0, 0, 0},
	{"oldest=5 open=1\x01\n", 0, 0, 0},
	{"", 0, 0, 0},
	{"\n", 0, 0, 0},
	{" oldest=5 open=1\n", 0, 0, 0},
	{"oldest=5 open=1 junk\n", 0, 0, 0},
	{"oldest=+5 open=1\n", 0, 0, 0},
	{"oldest=0x5 open=1\n", 0, 0, 0},
	{"oldest=5\topen=1\n", 0, 0, 0},
	{"oldest=5 open=1\n\n", 0, 0, 0},
	{"oldest=5 open=1\r\r\n", 0, 0, 0},
	{"oldest=5 open=1 \xc3\xa9=1\n", 0, 0, 0},
	{"OLDEST=5 open=1\n", 0, 0, 0},
	{"oldest=5=6 open=1\n", 0, 0, 0},
};

START_TEST(test_decode_table)
{
	long long oldest = -7, open = -7;
	int rc = mstatus_decode(status[_i].in, strlen(status[_i].in), &oldest, &open);

	ck_assert_msg((rc == 0) == status[_i].ok, "case %d: rc %d", _i, rc);
	if (status[_i].ok) {
		ck_assert_int_eq(oldest, status[_i].oldest);
		ck_assert_int_eq(open, status[_i].open);
	} else {
		ck_assert(oldest == -7 && open == -7);
	}
}
END_TEST

/* A prefix of a good status line is never taken for a whole one. */
START_TEST(test_decode_prefixes)
{
	const char *line = "oldest=1700000000123456 open=3\n";
	long long o, n;

	for (size_t len = 0; len < strlen(line) - 1; len++)
		ck_assert_msg(mstatus_decode(line, len, &o, &n) < 0 || len >= strlen(line) - 2,
			      "prefix %zu parsed", len);
}
END_TEST

/* Not NUL-terminated, and NUL inside: LEN counts, a NUL is a control byte. */
START_TEST(test_decode_len)
{
	char buf[1100];
	long long o, n;

	memcpy(buf, "oldest=5 open=1\nXXXX", 20);
	ck_assert_int_eq(mstatus_decode(buf, 16, &o, &n), 0);
	ck_assert_int_eq(mstatus_decode("oldest=5\0 open=1\n", 17, &o, &n), -1);
	/* Over 1024 bytes: refused even when well formed. */
	memset(buf, 0, sizeof(buf));
	snprintf(buf, sizeof(buf), "oldest=5 open=1 x=%01010d\n", 0);
	ck_assert_int_eq(mstatus_decode(buf, strlen(buf), &o, &n), -1);
	buf[1000] = '\n';
	ck_assert_int_eq(mstatus_decode(buf, 1001, &o, &n), 0);
}
END_TEST

static const struct {
	long long oldest, open;
	const char *want;
} enc[] = {
	{0, 0, "oldest=0 open=0\n"},
	{1700000000123456LL, 3, "oldest=1700000000123456 open=3\n"},
	{MSTATUS_VALUE_MAX, MSTATUS_VALUE_MAX, "oldest=999999999999999999 open=999999999999999999\n"},
	{-1, 0, ""},
	{0, -1, ""},
	{MSTATUS_VALUE_MAX + 1, 0, ""},
	{0, MSTATUS_VALUE_MAX + 1, ""},
};

/* What the milter writes, fedmig-spm reads back unchanged. */
START_TEST(test_encode_roundtrip)
{
	char buf[MSTATUS_MAX];
	size_t len = mstatus_encode(buf, sizeof(buf), enc[_i].oldest, enc[_i].open);
	long long o, n;

	ck_assert_str_eq(buf, enc[_i].want);
	ck_assert_uint_eq(len, strlen(enc[_i].want));
	if (len > 0) {
		ck_assert_int_eq(mstatus_decode(buf, len, &o, &n), 0);
		ck_assert(o == enc[_i].oldest && n == enc[_i].open);
	}
}
END_TEST

/* A short buffer cuts the line, never overflows, and the cut line has no LF. */
START_TEST(test_encode_short)
{
	char buf[MSTATUS_MAX];

	memset(buf, 'X', sizeof(buf));
	ck_assert_uint_eq(mstatus_encode(buf, 8, 123456789, 1), 7);
	ck_assert_str_eq(buf, "oldest=");
	ck_assert_int_eq(buf[8], 'X');
	ck_assert_uint_eq(mstatus_encode(buf, 0, 1, 1), 0);
	ck_assert_int_eq(buf[0], 'o');
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_LOOP(test_decode_table, status), CK_TEST(test_decode_prefixes),
		CK_TEST(test_decode_len), CK_LOOP(test_encode_roundtrip, enc),
		CK_TEST(test_encode_short),
	};

	return ck_run(CK_SUITE("mstatus", "mstatus", 0, tests));
}
