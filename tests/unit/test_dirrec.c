/* dirrec: the exec record format with hostile program output, and the
 * checks every directory driver's entries pass. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckmain.h"
#include "dirdrv.h"
#include "dirrec.h"
#include "testutil.h"

static struct config *cfg(void)
{
	return tu_config("systems = s1\ns1_domain = s1.example.org\ns1_driver = none\n"
			 "federated_domains = example.org\n");
}

/* list: parse IN (LEN bytes, 0: strlen); the code, *N accounts. */
static int list(const char *in, size_t len, struct dir_listing *l)
{
	struct config *c = cfg();
	char why[DRV_WHY] = "";
	int rc = dirrec_parse_list(c, "s1", in, len ? len : strlen(in), l, why);

	config_free(&c);
	return rc;
}

#define GOOD "k1\tann@example.org\tann@s1.example.org\tA@Example.org  b@example.org\tAnn\tou=x\n"

/* 99 good lines and BAD bad lines, then ".". */
static char *many(int bad)
{
	size_t cap = 200 * 120, len = 0;
	char *s = malloc(cap);

	for (int i = 0; i < 99; i++)
		len += (size_t)sprintf(s + len, "k%d\tu%d@example.org\t\t\tU %d\n", i, i, i);
	for (int i = 0; i < bad; i++)
		len += (size_t)sprintf(s + len, "bad%d\tnot an address\t\t\tX\n", i);
	sprintf(s + len, ".\n");
	return s;
}

START_TEST(test_good)
{
	struct dir_listing l;

	ck_assert_int_eq(list(GOOD ".\n", 0, &l), DRV_OK);
	ck_assert_uint_eq(l.nacc, 1);
	ck_assert_str_eq(l.acc[0].access, "ann@example.org");
	ck_assert_str_eq(l.acc[0].physical, "ann@s1.example.org");
	ck_assert_str_eq(l.acc[0].aliases, "a@example.org b@example.org");
	ck_assert_str_eq(l.acc[0].group, "ou=x");
	dir_listing_free(&l);
	/* CR LF and no final newline after ".". */
	ck_assert_int_eq(list("k\tx@example.org\t\t\tX\r\n.", 0, &l), DRV_OK);
	ck_assert_uint_eq(l.nacc, 1);
	ck_assert_str_eq(l.acc[0].name, "X");
	dir_listing_free(&l);
}
END_TEST

static const struct {
	const char *name, *in;
	size_t len;
	int rc;
} hostile[] = {
	{"no final dot", GOOD, 0, DRV_TEMP},
	{"empty", "", 0, DRV_TEMP},
	{"after dot", GOOD ".\nk2\tx@example.org\t\t\tX\n", 0, DRV_FAIL},
	{"nul in name", "k\tx@example.org\t\t\tA\0B\n.\n", 24, DRV_FAIL},
	{"cr in name", "k\tx@example.org\t\t\tA\rB\n.\n", 0, DRV_FAIL},
	{"bad utf8", "k\tx@example.org\t\t\t\xc3\x28\n.\n", 0, DRV_FAIL},
	{"overlong utf8", "k\tx@example.org\t\t\t\xc0\xaf\n.\n", 0, DRV_FAIL},
	{"control in name", "k\tx@example.org\t\t\ta\x1b[2Jb\n.\n", 0, DRV_FAIL},
	{"c1 in name", "k\tx@example.org\t\t\ta\xc2\x9b" "b\n.\n", 0, DRV_FAIL},
	{"not canonical kept", "k\tX@EXAMPLE.ORG.\t\t\tX\n.\n", 0, DRV_OK},
	{"not federated", "k\tx@other.net\t\t\tX\n.\n", 0, DRV_FAIL},
	{"physical elsewhere", "k\tx@example.org\tx@other.net\t\tX\n.\n", 0, DRV_FAIL},
	{"leading dash", "k\t-x@example.org\t\t\tX\n.\n", 0, DRV_FAIL},
	{"leading hash", "k\t#x@example.org\t\t\tX\n.\n", 0, DRV_FAIL},
	{"too few fields", "k\tx@example.org\n.\n", 0, DRV_FAIL},
	{"too many fields", "k\tx@example.org\t\t\tX\tg\th\n.\n", 0, DRV_FAIL},
	{"empty key", "\tx@example.org\t\t\tX\n.\n", 0, DRV_FAIL},
	{"duplicate key", "k\tx@example.org\t\t\tX\nk\ty@example.org\t\t\tY\n.\n", 0, DRV_FAIL},
	{"quoted space", "k\t\"a b\"@example.org\t\t\tX\n.\n", 0, DRV_FAIL},
};

START_TEST(test_hostile)
{
	struct dir_listing l;
	int rc = list(hostile[_i].in, hostile[_i].len, &l);

	ck_assert_msg(rc == hostile[_i].rc, "%s: got %d", hostile[_i].name, rc);
	if (rc == DRV_OK) {
		ck_assert_uint_eq(l.nacc, 1);
		ck_assert_str_eq(l.acc[0].access, "x@example.org");
		dir_listing_free(&l);
	} else {
		ck_assert_uint_eq(l.nacc, 0);
	}
}
END_TEST

/* One bad line in 100 is skipped; two fail the listing. */
START_TEST(test_one_percent)
{
	struct dir_listing l;
	char *s = many(1);

	ck_assert_int_eq(list(s, 0, &l), DRV_OK);
	ck_assert_uint_eq(l.nacc, 99);
	dir_listing_free(&l);
	free(s);
	s = many(2);
	ck_assert_int_eq(list(s, 0, &l), DRV_FAIL);
	free(s);
}
END_TEST

/* A 1 MB line is one bad line, not a crash or a giant name. */
START_TEST(test_huge_line)
{
	size_t n = 1 << 20;
	char *s = malloc(n + 20000 * 2 + 200), *p = s;
	struct dir_listing l;

	p += sprintf(p, "k\tx@example.org\t\t\t");
	memset(p, 'a', n);
	p += n;
	*p++ = '\n';
	for (int i = 0; i < 200; i++)
		p += sprintf(p, "k%d\tu%d@example.org\t\t\tU\n", i, i);
	strcpy(p, ".\n");
	ck_assert_int_eq(list(s, 0, &l), DRV_OK);
	ck_assert_uint_eq(l.nacc, 200);
	dir_listing_free(&l);
	free(s);
}
END_TEST

START_TEST(test_contacts)
{
	struct config *c = cfg();
	struct dir_contact *ct;
	size_t n;
	char why[DRV_WHY];
	const char *in = "dn1\tBob@Example.org\tBob\n.\n";

	ck_assert_int_eq(dirrec_parse_contacts(c, "s1", in, strlen(in), &ct, &n, why), DRV_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(ct[0].address, "bob@example.org");
	dir_contacts_free(ct, n);
	in = "dn1\tbob@example.org\n.\n";
	ck_assert_int_eq(dirrec_parse_contacts(c, "s1", in, strlen(in), &ct, &n, why), DRV_FAIL);
	ck_assert_uint_eq(n, 0);
	in = "dn1\tbob@example.org\tBob\n";
	ck_assert_int_eq(dirrec_parse_contacts(c, "s1", in, strlen(in), &ct, &n, why), DRV_TEMP);
	config_free(&c);
}
END_TEST

/* Aliases outside federated_domains go, the entry stays. */
START_TEST(test_alias_dropped)
{
	struct config *c = cfg();
	char buf[DRV_WHY];
	struct dir_account a = {strdup("k"), strdup("x@example.org"), strdup(""),
				strdup("y@legacy.net x@example.org z@example.org z@example.org"),
				strdup("X"), strdup("")};

	ck_assert_ptr_null(dirrec_account_fix(c, "s1", &a, buf));
	ck_assert_str_eq(a.aliases, "z@example.org");
	dir_account_clear(&a);
	config_free(&c);
}
END_TEST

static char dir[] = "/tmp/test_dirrec-XXXXXX";

static void put_file(const char *name, const char *text, int mode)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	fclose(fp);
	chmod(path, (mode_t)mode);
}

/* The passwd-file driver over the dovecot driver's files. */
START_TEST(test_passwd_file)
{
	struct config *c;
	struct dir_listing l;
	struct dir_contact *ct, carol = {"carol@example.org", "Carol", ""};
	struct dir_contact ann = {"ann.lee@example.org", "X", ""};
	char why[DRV_WHY], path[256];
	size_t n;

	put_file("passwd", "ann@s1.example.org:{PLAIN}x::::::name=Ann Lee quota=1\n"
			   "# a comment\nbob@s1.example.org:{PLAIN}x::::::\n", 0600);
	put_file("passwd.addresses", "ann@example.org ann@s1.example.org\n"
				     "bob@example.org bob@s1.example.org\n"
				     "ann.lee@example.org ann@s1.example.org\n", 0600);
	c = tu_config("systems = s1\ns1_domain = s1.example.org\ns1_driver = none\n"
		      "federated_domains = example.org\ns1_directory = passwd-file\n"
		      "s1_passwd_file = %s/passwd\n", dir);
	ck_assert_int_eq(dirdrv_list(c, "s1", NULL, &l, why), DRV_OK);
	ck_assert_uint_eq(l.nacc, 2);
	ck_assert_str_eq(l.acc[0].key, "ann@s1.example.org");
	ck_assert_str_eq(l.acc[0].access, "ann@example.org");
	ck_assert_str_eq(l.acc[0].aliases, "ann.lee@example.org");
	ck_assert_str_eq(l.acc[0].name, "Ann Lee");
	ck_assert_str_eq(l.acc[1].access, "bob@example.org");
	ck_assert_str_eq(l.acc[1].name, "");
	dir_listing_free(&l);
	ck_assert(dirdrv_has_contacts(c, "s1"));
	ck_assert_int_eq(dirdrv_contact_put(c, "s1", &carol, why), DRV_OK);
	ck_assert_int_eq(dirdrv_contact_put(c, "s1", &carol, why), DRV_OK);
	ck_assert_int_eq(dirdrv_contact_put(c, "s1", &ann, why), DIR_EXISTS);
	ck_assert_int_eq(dirdrv_contacts(c, "s1", &ct, &n, why), DRV_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(ct[0].name, "Carol");
	dir_contacts_free(ct, n);
	ck_assert_int_eq(dirdrv_contact_del(c, "s1", "carol@example.org", why), DRV_OK);
	ck_assert_int_eq(dirdrv_contacts(c, "s1", &ct, &n, why), DRV_OK);
	ck_assert_uint_eq(n, 0);
	dir_contacts_free(ct, n);
	/* No link followed. */
	snprintf(path, sizeof(path), "%s/passwd.contacts", dir);
	unlink(path);
	ck_assert_int_eq(symlink("/etc/passwd", path), 0);
	ck_assert_int_eq(dirdrv_contacts(c, "s1", &ct, &n, why), DRV_TEMP);
	unlink(path);
	config_free(&c);
}
END_TEST

/* The exec driver: argv, exit codes, the record format. */
START_TEST(test_exec)
{
	struct config *c;
	struct dir_listing l;
	struct dir_contact *ct, x = {"x@example.org", "-X", ""}, y = {"y@example.org", "Y", ""};
	char why[DRV_WHY];
	size_t n;

	put_file("dir.sh", "#!/bin/sh\ncase \"$1\" in\n"
			   "list) printf 'k1\\ta@example.org\\t\\t\\tA\\n.\\n';;\n"
			   "contacts) printf 'c1\\tb@example.org\\tB\\n.\\n';;\n"
			   "contact-put) [ \"$2 $3\" = 'x@example.org -X' ] && exit 0; exit 75;;\n"
			   "contact-del) echo nope >&2; exit 3;;\nesac\n", 0700);
	put_file("cut.sh", "#!/bin/sh\nprintf 'k1\\ta@example.org\\t\\t\\tA\\n'\n", 0700);
	c = tu_config("systems = s1 s2\ns1_domain = s1.example.org\ns1_driver = none\n"
		      "s2_domain = s2.example.org\ns2_driver = none\n"
		      "federated_domains = example.org\ns1_directory = exec\n"
		      "s1_directory_command = %s/dir.sh\ns2_directory = exec\n"
		      "s2_directory_command = %s/cut.sh\n", dir, dir);
	ck_assert_int_eq(dirdrv_list(c, "s1", NULL, &l, why), DRV_OK);
	ck_assert_uint_eq(l.nacc, 1);
	dir_listing_free(&l);
	ck_assert_int_eq(dirdrv_contacts(c, "s1", &ct, &n, why), DRV_OK);
	ck_assert_uint_eq(n, 1);
	dir_contacts_free(ct, n);
	ck_assert_int_eq(dirdrv_contact_put(c, "s1", &x, why), DRV_OK);
	ck_assert_int_eq(dirdrv_contact_put(c, "s1", &y, why), DRV_TEMP);
	ck_assert_int_eq(dirdrv_contact_del(c, "s1", "x@example.org", why), DRV_FAIL);
	ck_assert_ptr_nonnull(strstr(why, "nope"));
	ck_assert_int_eq(dirdrv_contact_del(c, "s1", "-x@example.org", why), DRV_FAIL);
	ck_assert_int_eq(dirdrv_list(c, "s2", NULL, &l, why), DRV_TEMP);
	ck_assert_uint_eq(l.nacc, 0);
	config_free(&c);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_TEST(test_good),	   CK_LOOP(test_hostile, hostile), CK_TEST(test_one_percent),
		CK_TEST(test_huge_line), CK_TEST(test_contacts),	   CK_TEST(test_alias_dropped),
		CK_TEST(test_passwd_file), CK_TEST(test_exec),
	};
	Suite *s = suite_create("dirrec");

	CK_TCASE(s, "dirrec", 30, tests);
	return tu_run_in_tmpdir(s, dir);
}
