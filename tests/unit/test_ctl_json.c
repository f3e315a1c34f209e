/* fedmigctl --json: whatever a reason quotes (an IMAP server's reply, a
 * script's error), the output stays valid JSON, one line, and says the
 * same text with each invalid UTF-8 byte as U+FFFD. ctl_json.c is
 * included: fedmigctl's modules are in no library. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckmain.h"
#include "ctl_json.c"

#define FFFD "\xef\xbf\xbd"

static const struct {
	const char *in, *want; /* WANT: the string the JSON text decodes to */
} cases[] = {
	{"plain", "plain"},
	{"q\"b\\", "q\"b\\"},
	{"a\r\n\x1b[2J\x7f", "a\r\n\x1b[2J\x7f"},
	{"j\xc3\xa9r\xc3\xb4me \xe2\x82\xac \xf0\x9f\x93\xa7", "j\xc3\xa9r\xc3\xb4me \xe2\x82\xac \xf0\x9f\x93\xa7"},
	/* Invalid UTF-8: a lone continuation, a cut sequence, overlong,
	 * a surrogate, beyond U+10FFFF. */
	{"a\x80z", "a" FFFD "z"},
	{"a\xc3", "a" FFFD},
	{"a\xe2\x82z", "a" FFFD FFFD "z"},
	{"\xc0\xaf", FFFD FFFD},
	{"\xed\xa0\x80", FFFD FFFD FFFD},
	{"\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD},
};

START_TEST(test_json_str)
{
	char *out = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&out, &len);
	json_t *back;

	ctl_json_put(fp, ctl_json_string(cases[_i].in));
	fclose(fp);
	/* One line, no raw control byte: a terminal shows it as it is. */
	for (size_t i = 0; i < len; i++)
		ck_assert_msg((unsigned char)out[i] >= 0x20, "case %d: raw byte %#x", _i, out[i]);
	back = json_loads(out, JSON_DECODE_ANY, NULL);
	ck_assert_msg(json_is_string(back), "case %d: not a JSON string: %s", _i, out);
	ck_assert_msg(strcmp(json_string_value(back), cases[_i].want) == 0, "case %d: got %s", _i,
		      out);
	json_decref(back);
	free(out);
}
END_TEST

/* Compact, in insertion order, tenths as "%.1f" showed them: scripts grep
 * for "state":N. The open form leaves the object for streamed members. */
START_TEST(test_json_form)
{
	char *out = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&out, &len);

	ctl_json_put(fp, json_pack("{s:i,s:f,s:f,s:n,s:b}", "state", 5, "after_s",
				   ctl_json_tenths(12.34), "ms", ctl_json_tenths(2.0), "x", "y", 1));
	ctl_json_put_open(fp, json_pack("{s:I}", "batch", (json_int_t)7));
	fclose(fp);
	ck_assert_str_eq(out, "{\"state\":5,\"after_s\":12.3,\"ms\":2.0,\"x\":null,\"y\":true}"
			      "{\"batch\":7");
	free(out);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_LOOP(test_json_str, cases), CK_TEST(test_json_form),
	};

	return ck_run(CK_SUITE("ctl_json", "core", 0, tests));
}
