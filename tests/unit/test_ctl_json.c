/* fedmigctl --json: whatever a reason quotes (an IMAP server's reply, a
 * script's error), the output stays valid JSON. ctl_report.c is included:
 * fedmigctl's modules are in no library. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckmain.h"
#include "ctl_report.c"

static const struct {
	const char *in, *want;
} cases[] = {
	{"plain", "\"plain\""},
	{"q\"b\\", "\"q\\\"b\\\\\""},
	{"a\r\n\x1b[2J\x7f", "\"a\\u000d\\u000a\\u001b[2J\\u007f\""},
	{"j\xc3\xa9r\xc3\xb4me \xe2\x82\xac \xf0\x9f\x93\xa7", "\"j\xc3\xa9r\xc3\xb4me \xe2\x82\xac \xf0\x9f\x93\xa7\""},
	/* Invalid UTF-8: a lone continuation, a cut sequence, overlong,
	 * a surrogate, beyond U+10FFFF. */
	{"a\x80z", "\"a\\ufffdz\""},
	{"a\xc3", "\"a\\ufffd\""},
	{"a\xe2\x82z", "\"a\\ufffd\\ufffdz\""},
	{"\xc0\xaf", "\"\\ufffd\\ufffd\""},
	{"\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""},
	{"\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""},
};

START_TEST(test_json_str)
{
	char *out = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&out, &len);

	ctl_json_str(fp, cases[_i].in);
	fclose(fp);
	ck_assert_msg(strcmp(out, cases[_i].want) == 0, "case %d: got %s, want %s", _i, out,
		      cases[_i].want);
	free(out);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_LOOP(test_json_str, cases),
	};

	return ck_run(CK_SUITE("ctl_json", "core", 0, tests));
}
