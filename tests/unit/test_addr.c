/* Table-driven tests of addr_normalize, including hostile input. */
#include <check.h>
#include <string.h>

#include "addr.h"
#include "ckmain.h"

static const struct {
	const char *name;
	const char *in;
	size_t len; /* 0: strlen(in) */
	int flags;
	const char *want; /* NULL: must fail */
} cases[] = {
	{"plain", "alice@example.org", 0, 0, "alice@example.org"},
	{"brackets", "<alice@example.org>", 0, 0, "alice@example.org"},
	{"domain case", "Alice@Example.ORG", 0, 0, "Alice@example.org"},
	{"fold local", "Alice@Example.ORG", 0, ADDR_FOLD_LOCAL, "alice@example.org"},
	{"trailing dot", "a@example.org.", 0, 0, "a@example.org"},
	{"spaces", "  <a@example.org>  ", 0, 0, "a@example.org"},
	{"quoted simple", "\"john\"@example.org", 0, 0, "john@example.org"},
	{"quoted space", "\"john doe\"@example.org", 0, 0, "john doe@example.org"},
	{"quoted at", "\"a@b\"@example.org", 0, 0, "a@b@example.org"},
	{"quoted escape", "\"a\\\"b\"@example.org", 0, 0, "a\"b@example.org"},
	{"utf8 local", "j\xc3\xa9r\xc3\xb4me@example.org", 0, ADDR_FOLD_LOCAL,
	 "j\xc3\xa9r\xc3\xb4me@example.org"},
	{"ip literal", "a@[192.0.2.1]", 0, 0, "a@[192.0.2.1]"},
	{"plus", "a+tag@example.org", 0, 0, "a+tag@example.org"},
	{"empty", "", 0, 0, NULL},
	{"empty brackets", "<>", 0, 0, NULL},
	{"no at", "alice", 0, 0, NULL},
	{"no local", "@example.org", 0, 0, NULL},
	{"no domain", "alice@", 0, 0, NULL},
	{"cr", "ali\rce@example.org", 0, 0, NULL},
	{"lf", "alice@exa\nmple.org", 0, 0, NULL},
	{"nul", "ali\0ce@example.org", 18, 0, NULL},
	{"ctl", "ali\001ce@example.org", 0, 0, NULL},
	{"del", "ali\x7f@example.org", 0, 0, NULL},
	{"bad domain char", "a@exa mple.org", 0, 0, NULL},
	{"double dot", "a@example..org", 0, 0, NULL},
	{"leading hyphen", "a@-example.org", 0, 0, NULL},
	{"unbalanced quote", "\"alice@example.org", 0, 0, NULL},
	{"quote in middle", "al\"ice@example.org", 0, 0, NULL},
	{"empty quoted", "\"\"@example.org", 0, 0, NULL},
	{"local 64", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@x.org", 0, 0,
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@x.org"},
	{"local 65", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@x.org", 0, 0,
	 NULL},
};

START_TEST(test_table)
{
	char out[ADDR_MAX];
	const char *why = NULL;
	size_t len = cases[_i].len ? cases[_i].len : strlen(cases[_i].in);
	int rc = addr_normalize(cases[_i].in, len, cases[_i].flags, out, &why);

	if (cases[_i].want) {
		ck_assert_msg(rc == 0, "case %d (%s): failed: %s", _i, cases[_i].name, why);
		ck_assert_msg(strcmp(out, cases[_i].want) == 0, "case %d (%s): got \"%s\"", _i,
			      cases[_i].name, out);
	} else {
		ck_assert_msg(rc == -1, "case %d (%s): accepted as \"%s\"", _i, cases[_i].name,
			      out);
		ck_assert_msg(why && *why, "case %d (%s): no reason", _i, cases[_i].name);
	}
}
END_TEST

START_TEST(test_long_domain)
{
	char in[1000], out[ADDR_MAX];
	const char *why;

	strcpy(in, "a@");
	for (int i = 0; i < 60; i++)
		strcat(in, "abcd.");
	strcat(in, "org");
	ck_assert_int_eq(addr_normalize(in, strlen(in), 0, out, &why), -1);
	ck_assert_str_eq(addr_domain("a@b.org"), "b.org");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("addr");
	TCase *tc = tcase_create("normalize");

	tcase_add_loop_test(tc, test_table, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, test_long_domain);
	suite_add_tcase(s, tc);
	return ck_run(s);
}
