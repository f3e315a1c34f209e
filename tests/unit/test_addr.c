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
	{"quoted escape", "\"a\\.b\"@example.org", 0, 0, "a.b@example.org"},
	{"quoted escaped quote", "\"a\\\"b\"@example.org", 0, 0, NULL},
	{"quoted backslash", "\"a\\\\b\"@example.org", 0, 0, NULL},
	{"quoted colon", "\"a:b\"@example.org", 0, 0, "a:b@example.org"},
	{"quoted dots", "\"a..b\"@example.org", 0, 0, "a..b@example.org"},
	{"quoted leading space", "\" a\"@example.org", 0, 0, NULL},
	{"quoted trailing space", "\"a \"@example.org", 0, 0, NULL},
	{"internal leading space", "< a@example.org>", 0, ADDR_INTERNAL, NULL},
	{"quoted tab", "\"a\tb\"@example.org", 0, 0, NULL},
	{"quoted utf8", "\"j\xc3\xa9 r\"@example.org", 0, 0, "j\xc3\xa9 r@example.org"},
	{"atext specials", "!#$%&'*+-/=?^_`{|}~@example.org", 0, 0,
	 "!#$%&'*+-/=?^_`{|}~@example.org"},
	/* The passwd-file attack: unquoted, none of it is a dot-atom. */
	{"attack", "victim@s2.example.org:{plain}x::::::j@s2.example.org", 0, 0, NULL},
	{"attack quoted", "\"victim@s2.example.org:{plain}x::::::j\"@s2.example.org", 0, 0,
	 "victim@s2.example.org:{plain}x::::::j@s2.example.org"},
	{"attack internal", "victim@s2.example.org:{plain}x::::::j@s2.example.org", 0,
	 ADDR_INTERNAL, "victim@s2.example.org:{plain}x::::::j@s2.example.org"},
	{"space", "john doe@example.org", 0, 0, NULL},
	{"space internal", "john doe@example.org", 0, ADDR_INTERNAL, "john doe@example.org"},
	{"colon", "a:b@example.org", 0, 0, NULL},
	{"comma", "a,b@example.org", 0, 0, NULL},
	{"semicolon", "a;b@example.org", 0, 0, NULL},
	{"at in local", "a@b@example.org", 0, 0, NULL},
	{"angle in local", "a<b@example.org", 0, 0, NULL},
	{"leading dot", ".a@example.org", 0, 0, NULL},
	{"trailing dot local", "a.@example.org", 0, 0, NULL},
	{"double dot local", "a..b@example.org", 0, 0, NULL},
	{"backslash internal", "a\\b@example.org", 0, ADDR_INTERNAL, NULL},
	{"quote internal", "a\"b@example.org", 0, ADDR_INTERNAL, NULL},
	{"internal quoted", "\"john doe\"@example.org", 0, ADDR_INTERNAL, "john doe@example.org"},
	{"utf8 bad byte", "\xff@example.org", 0, 0, NULL},
	{"utf8 cut", "a\xc3@example.org", 0, 0, NULL},
	{"utf8 cut at end", "a@example.org\xc3", 0, 0, NULL},
	{"utf8 overlong", "\xc0\xafx@example.org", 0, 0, NULL},
	{"utf8 overlong 3", "\xe0\x80\xafx@example.org", 0, 0, NULL},
	{"utf8 surrogate", "\xed\xa0\x80@example.org", 0, 0, NULL},
	{"utf8 too big", "\xf4\x90\x80\x80@example.org", 0, 0, NULL},
	{"utf8 stray continuation", "a\x80" "b@example.org", 0, ADDR_INTERNAL, NULL},
	{"c1 control", "a\xc2\x85" "b@example.org", 0, ADDR_INTERNAL, NULL},
	{"utf8 4 bytes", "\xf0\x9f\x93\xa7@example.org", 0, 0, "\xf0\x9f\x93\xa7@example.org"},
	{"utf8 domain", "a@\xc3\xa9" "cole.example", 0, 0, "a@\xc3\xa9" "cole.example"},
	{"utf8 bad domain", "a@\xc3x.example", 0, 0, NULL},
	{"underscore domain", "a@ex_ample.org", 0, 0, NULL},
	{"colon domain", "a@example.org:x", 0, 0, NULL},
	{"utf8 local", "j\xc3\xa9r\xc3\xb4me@example.org", 0, ADDR_FOLD_LOCAL,
	 "j\xc3\xa9r\xc3\xb4me@example.org"},
	{"ip literal", "a@[192.0.2.1]", 0, 0, "a@[192.0.2.1]"},
	{"ipv6 literal", "a@[IPv6:2001:DB8::1]", 0, ADDR_FOLD_LOCAL, "a@[ipv6:2001:db8::1]"},
	{"ipv6 literal folded", "a@[ipv6:::1]", 0, 0, "a@[ipv6:::1]"},
	{"literal without tag", "a@[2001:db8::1]", 0, 0, NULL},
	{"empty literal", "a@[]", 0, 0, NULL},
	{"general literal", "a@[x-tag:foo]", 0, 0, NULL},
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

/* Every canonical form reads back as itself (ADDR_INTERNAL), and the
 * dot-atom test agrees with what a strict parse accepts unquoted. */
START_TEST(test_canonical_stable)
{
	char out[ADDR_MAX], again[ADDR_MAX];
	const char *why = NULL;
	size_t len = cases[_i].len ? cases[_i].len : strlen(cases[_i].in);

	if (addr_normalize(cases[_i].in, len, cases[_i].flags, out, &why) < 0)
		return;
	ck_assert_msg(addr_normalize(out, strlen(out), cases[_i].flags | ADDR_INTERNAL, again,
				     &why) == 0,
		      "case %d (%s): canonical \"%s\" refused: %s", _i, cases[_i].name, out, why);
	ck_assert_msg(strcmp(out, again) == 0, "case %d (%s): \"%s\" became \"%s\"", _i,
		      cases[_i].name, out, again);
	ck_assert_msg(addr_local_is_atom(out) ==
			      (addr_normalize(out, strlen(out), cases[_i].flags & ~ADDR_INTERNAL, again,
					      &why) == 0),
		      "case %d (%s): addr_local_is_atom(\"%s\") disagrees", _i, cases[_i].name, out);
}
END_TEST

static const struct {
	const char *name;
	const char *in;
	size_t len;
	size_t size;
	const char *want;
} shows[] = {
	{"plain", "alice@example.org", 0, 64, "alice@example.org"},
	{"newline", "a\nb", 0, 64, "a\\x0ab"},
	{"cr nul", "a\r\0b", 4, 64, "a\\x0d\\x00b"},
	{"escape", "\x1b[31m", 0, 64, "\\x1b[31m"},
	{"backslash", "a\\x0a", 0, 64, "a\\\\x0a"},
	{"utf8", "j\xc3\xa9r", 0, 64, "j\xc3\xa9r"},
	{"bad utf8", "\xc3(\xff", 0, 64, "\\xc3(\\xff"},
	{"c1", "\xc2\x85", 0, 64, "\\xc2\\x85"},
	{"cut", "abcdefghijklmnop", 0, 10, "abcdef..."},
	{"cut escape", "abcd\n", 0, 10, "abcd..."},
};

START_TEST(test_show)
{
	char buf[64];
	size_t len = shows[_i].len ? shows[_i].len : strlen(shows[_i].in);

	addr_show(shows[_i].in, len, buf, shows[_i].size);
	ck_assert_msg(strcmp(buf, shows[_i].want) == 0, "case %d (%s): got \"%s\"", _i,
		      shows[_i].name, buf);
	ck_assert_msg(strlen(buf) < shows[_i].size, "case %d (%s): overflows", _i, shows[_i].name);
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
	const struct ck_test tests[] = {
		CK_LOOP(test_table, cases), CK_LOOP(test_canonical_stable, cases),
		CK_LOOP(test_show, shows), CK_TEST(test_long_domain),
	};

	return ck_run(CK_SUITE("addr", "normalize", 0, tests));
}
