/* Postfix queue IDs: both forms, their limits, and what must never pass. */
#include <check.h>
#include <string.h>

#include "ckmain.h"
#include "qid.h"

static const struct {
	const char *qid;
	int ok;
} cases[] = {
	/* short: 5 hex digits of microseconds, then the inode in hex */
	{"3F1A2B", 1},
	{"4F3A21C0B2", 1},
	{"ABCDEF", 1},
	{"3F1A2", 0},	    /* no inode digit */
	{"3f1a2b", 0},	    /* lower case */
	{"3F1A2G", 0},	    /* G is not hex, and too short for long */
	{"01234567890123456789012345678901", 1}, /* QID_MAX_LEN */
	{"012345678901234567890123456789012", 0},
	/* long: 10+ of time, 'z', the inode without 'z' */
	{"4bQz7R2xYTz1Mk", 1},
	{"4XyZ1k2bcdzQ", 1},
	{"4XyZ1k2bcdzQzX", 1},	/* the last 'z' separates */
	{"4XyZ1k2bczQ", 0},	/* 9 before the 'z' */
	{"4XyZ1k2bcdz", 0},	/* nothing after it */
	{"4XyZ1k2bcdQ", 0},	/* no 'z' at all */
	{"4XyZ1k2acdzQ", 0},	/* a vowel */
	{"4XyZ1k2bcdzE", 0},
	{"4XyZ1k2bcd_zQ", 0},
	/* hostile */
	{"", 0},
	{NULL, 0},
	{"A", 0},
	{"ABC 123", 0},
	{"ABCDEF\n", 0},
	{"ABC;rm -rf", 0},
	{"../x", 0},
	{"-h", 0},
	{"\xc3\xa9\xc3\xa9\xc3\xa9", 0},
	{"4XyZ1k2bcdzQ\xff", 0},
};

START_TEST(test_table)
{
	ck_assert_msg(qid_valid(cases[_i].qid) == cases[_i].ok, "%s: want %d",
		      cases[_i].qid ? cases[_i].qid : "(null)", cases[_i].ok);
}
END_TEST

/* Reads no further than QID_MAX_LEN + 1 bytes: an unterminated buffer. */
START_TEST(test_bounded)
{
	char buf[QID_MAX_LEN + 1];

	memset(buf, 'B', sizeof(buf));
	ck_assert_int_eq(qid_valid(buf), 0);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_LOOP(test_table, cases), CK_TEST(test_bounded),
	};

	return ck_run(CK_SUITE("qid", "qid", 0, tests));
}
