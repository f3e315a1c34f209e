/* The ldap directory driver without a server: an entry's values into a
 * dir_account, and DN and filter escaping of hostile values. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ckmain.h"
#include "dirdrv_ldap.h"
#include "dirrec.h"

#define V(s) {(s), sizeof(s) - 1}

START_TEST(test_map)
{
	const struct dirldap_val mail[] = {V("ann@example.org"), V("ann2@example.org")};
	const struct dirldap_val alias[] = {V("a@example.org")}, cn[] = {V("Ann C")};
	struct dirldap_entry e = {.dn = V("uid=ann,ou=Sales\\, EU,dc=s1"), .uuid = V("u-1"),
				  .mail = {mail, 2}, .alias = {alias, 1}, .cn = {cn, 1}};
	struct dir_account a;
	const char *why;

	ck_assert_int_eq(dirldap_map(&e, &a, &why), 0);
	ck_assert_str_eq(a.key, "u-1");
	ck_assert_str_eq(a.access, "ann@example.org");
	ck_assert_str_eq(a.aliases, "ann2@example.org a@example.org");
	ck_assert_str_eq(a.physical, "");
	ck_assert_str_eq(a.name, "Ann C"); /* no displayName: cn */
	ck_assert_str_eq(a.group, "ou=Sales\\, EU,dc=s1");
	dir_account_clear(&a);
}
END_TEST

START_TEST(test_map_hostile)
{
	const struct dirldap_val nul[] = {{"a\0b@example.org", 15}}, sp[] = {V("a b@example.org")};
	struct dirldap_entry e = {.dn = V("cn=x,dc=s1"), .uuid = V("u")};
	struct dir_account a;
	const char *why;

	e.mail = (struct dirldap_vals){nul, 1};
	ck_assert_int_eq(dirldap_map(&e, &a, &why), -1);
	e.mail = (struct dirldap_vals){sp, 1};
	ck_assert_int_eq(dirldap_map(&e, &a, &why), -1);
	e.mail = (struct dirldap_vals){NULL, 0};
	e.alias = (struct dirldap_vals){sp, 1};
	ck_assert_int_eq(dirldap_map(&e, &a, &why), -1);
	e.alias = (struct dirldap_vals){NULL, 0};
	e.uuid = (struct dirldap_val){"", 0};
	ck_assert_int_eq(dirldap_map(&e, &a, &why), -1);
	e.uuid = (struct dirldap_val)V("u");
	ck_assert_int_eq(dirldap_map(&e, &a, &why), 0); /* no mail: an account without access */
	ck_assert_str_eq(a.access, "");
	ck_assert_str_eq(a.name, "");
	dir_account_clear(&a);
}
END_TEST

static const struct {
	const char *in;
	size_t len;
	const char *dn, *filter;
} esc[] = {
	{"a*b@x", 5, "a*b@x", "a\\2ab@x"},
	{"(a)", 3, "(a)", "\\28a\\29"},
	{"a\\b", 3, "a\\\\b", "a\\5cb"},
	{"a\0b", 3, "a\\00b", "a\\00b"},
	{"a,b+c", 5, "a\\,b\\+c", "a,b+c"},
	{"#a", 2, "\\#a", "#a"},
	{" a ", 3, "\\ a\\ ", " a "},
	{"a=b;c<d>\"", 9, "a\\=b\\;c\\<d\\>\\\"", "a=b;c<d>\""},
};

START_TEST(test_escape)
{
	char *d = dirldap_dn_escape(esc[_i].in, esc[_i].len);
	char *f = dirldap_filter_escape(esc[_i].in, esc[_i].len);

	ck_assert_str_eq(d, esc[_i].dn);
	ck_assert_str_eq(f, esc[_i].filter);
	free(d);
	free(f);
}
END_TEST

START_TEST(test_under)
{
	ck_assert(dirldap_under("mail=a@x,ou=fedmig,dc=s1", "ou=FedMig, dc=s1"));
	ck_assert(dirldap_under("ou=fedmig,dc=s1", "ou=fedmig,dc=s1"));
	ck_assert(!dirldap_under("uid=a,ou=people,dc=s1", "ou=fedmig,dc=s1"));
	ck_assert(!dirldap_under("dc=s1", "ou=fedmig,dc=s1"));
	ck_assert(!dirldap_under("cn=a\\,ou=fedmig,dc=s1", "ou=fedmig,dc=s1"));
	char *p = dirldap_parent("cn=a\\,b,ou=x", 12);

	ck_assert_str_eq(p, "ou=x");
	free(p);
}
END_TEST

START_TEST(test_uuid)
{
	const unsigned char raw[16] = {0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0xff};
	char t[37];

	dirldap_uuid_text(raw, t);
	ck_assert_str_eq(t, "deadbeef-0001-0203-0405-060708090aff");
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_TEST(test_map), CK_TEST(test_map_hostile), CK_LOOP(test_escape, esc),
		CK_TEST(test_under), CK_TEST(test_uuid),
	};
	Suite *s = suite_create("dirdrv_ldap");

	CK_TCASE(s, "ldap", 30, tests);
	return ck_run(s);
}
