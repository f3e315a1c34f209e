/* delim: splitting address extensions like Postfix's recipient_delimiter,
 * putting them back on a rewritten address, and the directory lookup that
 * tries the whole address first. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckmain.h"
#include "testutil.h"
#include "delim.h"

static const struct {
	const char *name;
	const char *delims;
	const char *addr;
	const char *want; /* the base address; NULL: not split */
	size_t ext;       /* offset of the delimiter when split */
} cases[] = {
	{"off (empty)", "", "alice+tag@example.org", NULL, 0},
	{"off (NULL)", NULL, "alice+tag@example.org", NULL, 0},
	{"plus", "+", "alice+tag@example.org", "alice@example.org", 5},
	{"no extension", "+", "alice@example.org", NULL, 0},
	{"empty extension", "+", "alice+@example.org", "alice@example.org", 5},
	{"delimiter at start", "+", "+x@example.org", NULL, 0},
	{"only a delimiter", "+", "+@example.org", NULL, 0},
	{"first occurrence", "+", "alice+a+b@example.org", "alice@example.org", 5},
	{"several: first of any", "+-", "alice-a+b@example.org", "alice@example.org", 5},
	{"several: the other", "-+", "alice+a-b@example.org", "alice@example.org", 5},
	{"not a delimiter", "+", "alice-tag@example.org", NULL, 0},
	{"dot delimiter", ".", "a.smith@example.org", "a@example.org", 1},
	{"delimiter in domain only", "-", "alice@my-example.org", NULL, 0},
	{"quoted at in local part", "+", "a@b+c@example.org", "a@b@example.org", 3},
	{"postmaster kept", "+", "postmaster@example.org", NULL, 0},
	{"mailer-daemon kept", "-", "MAILER-DAEMON@example.org", NULL, 0},
	{"double-bounce kept", "-", "double-bounce@example.org", NULL, 0},
	{"owner- kept with -", "-", "owner-list@example.org", NULL, 0},
	{"-request kept with -", "-", "list-request@example.org", NULL, 0},
	{"owner- split with +", "+", "owner-list+x@example.org", "owner-list@example.org", 10},
	{"-request split by other", "+-", "list+x-request@example.org", NULL, 0},
	{"physical with extension", "+", "alice+tag@s1.example.org", "alice@s1.example.org", 5},
	{"utf8 local", "+", "j\xc3\xa9r\xc3\xb4me+x@example.org", "j\xc3\xa9r\xc3\xb4me@example.org",
	 8},
};

START_TEST(test_split)
{
	char base[ADDR_MAX] = "untouched";
	size_t ext = 999;
	int rc = delim_split(cases[_i].addr, cases[_i].delims, base, &ext);

	if (cases[_i].want == NULL) {
		ck_assert_msg(rc == 0, "case %d (%s): split into %s", _i, cases[_i].name, base);
		ck_assert_msg(strcmp(base, "untouched") == 0, "case %d (%s): base written", _i,
			      cases[_i].name);
		return;
	}
	ck_assert_msg(rc == 1, "case %d (%s): not split", _i, cases[_i].name);
	ck_assert_msg(strcmp(base, cases[_i].want) == 0, "case %d (%s): got %s", _i, cases[_i].name,
		      base);
	ck_assert_msg(ext == cases[_i].ext, "case %d (%s): ext at %zu", _i, cases[_i].name, ext);
}
END_TEST

static const struct {
	const char *name;
	const char *target, *addr;
	size_t ext;
	const char *want;
} extends[] = {
	{"tag", "alice@s1.example.org", "alice+tag@example.org", 5, "alice+tag@s1.example.org"},
	{"empty extension", "alice@s1.example.org", "alice+@example.org", 5,
	 "alice+@s1.example.org"},
	{"delimiter kept", "alice@s1.example.org", "alice-a+b@example.org", 5,
	 "alice-a+b@s1.example.org"},
	{"other local part", "a.smith@s2.example.org", "smith+x@example.org", 5,
	 "a.smith+x@s2.example.org"},
};

START_TEST(test_extend)
{
	char out[DELIM_EXTENDED_MAX];

	ck_assert_msg(delim_extend(extends[_i].target, extends[_i].addr, extends[_i].ext, out,
				   sizeof(out)) == 0,
		      "case %d (%s): failed", _i, extends[_i].name);
	ck_assert_msg(strcmp(out, extends[_i].want) == 0, "case %d (%s): got %s", _i,
		      extends[_i].name, out);
}
END_TEST

START_TEST(test_extend_limits)
{
	char out[DELIM_EXTENDED_MAX], small[24];
	char local[ADDR_LOCAL_MAX + 1], target[ADDR_MAX], addr[ADDR_MAX];
	char dom[64];

	memset(local, 'a', ADDR_LOCAL_MAX);
	local[ADDR_LOCAL_MAX] = '\0';
	memset(dom, 'd', 63);
	dom[63] = '\0';
	/* The longest local part on both sides still fits DELIM_EXTENDED_MAX. */
	snprintf(target, sizeof(target), "%.64s@%.63s.%.63s.%.63s.%.61s", local, dom, dom, dom,
		 dom);
	snprintf(addr, sizeof(addr), "a%.63s@example.org", local);
	addr[1] = '+';
	ck_assert_int_eq(delim_extend(target, addr, 1, out, sizeof(out)), 0);
	ck_assert_uint_eq(strlen(out), strlen(target) + 63);
	ck_assert_int_eq(delim_extend("alice@s1.example.org", "alice+tag@example.org", 5, small,
				      sizeof(small)),
			 -1);
	ck_assert_int_eq(delim_extend("no-at", "alice+tag@example.org", 5, out, sizeof(out)), -1);
}
END_TEST

START_TEST(test_is)
{
	static const struct {
		const char *addr, *mailbox, *delims;
		int want;
	} t[] = {
		{"alice@s1.example.org", "alice@s1.example.org", NULL, 1},
		{"alice+tag@s1.example.org", "alice@s1.example.org", "+", 1},
		{"alice+@s1.example.org", "alice@s1.example.org", "+", 1},
		{"alice+tag@s1.example.org", "alice@s1.example.org", "", 0},
		{"alice+tag@s1.example.org", "alice@s2.example.org", "+", 0},
		{"alicex@s1.example.org", "alice@s1.example.org", "+", 0},
		{"bob+alice@s1.example.org", "alice@s1.example.org", "+", 0},
		{"+alice@s1.example.org", "alice@s1.example.org", "+", 0},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ck_assert_msg(delim_is(t[i].addr, t[i].mailbox, t[i].delims) == t[i].want,
			      "case %zu: %s is %s with \"%s\"", i, t[i].addr, t[i].mailbox,
			      t[i].delims ? t[i].delims : "(null)");
}
END_TEST

/* --- the lookup, against a real store --- */

static char dir[64], path[128];

static void setup(void)
{
	tu_tmpdir(dir, sizeof(dir), "fedmig-delim", path, sizeof(path));
}

static void teardown(void)
{
	tu_rm_db(path);
	rmdir(dir);
}

static void on_err(void *ctx, int line, const char *why)
{
	(void)ctx;
	ck_abort_msg("import line %d: %s", line, why);
}

START_TEST(test_lookup)
{
	static const char *const aliases[] = {"a.smith@example.org"};
	static const struct dir_row rows[] = {
		{"alice@example.org", "s1", "alice@s1.example.org", aliases, 1, 2},
		/* A mailbox whose own name carries the delimiter: exact wins. */
		{"alice+sales@example.org", "s1", "sales@s1.example.org", NULL, 0, 3},
	};
	static const struct {
		const char *delims, *addr;
		int rc;
		const char *access;
		enum dir_match match;
	} want[] = {
		{"+", "alice+tag@example.org", STORE_OK, "alice@example.org", DIR_ACCESS},
		{"+", "alice+@example.org", STORE_OK, "alice@example.org", DIR_ACCESS},
		{"+", "a.smith+x@example.org", STORE_OK, "alice@example.org", DIR_ALIAS},
		{"+", "alice+tag@s1.example.org", STORE_OK, "alice@example.org", DIR_PHYSICAL},
		{"+", "alice+sales@example.org", STORE_OK, "alice+sales@example.org", DIR_ACCESS},
		{"+", "+alice@example.org", STORE_NOTFOUND, NULL, 0},
		{"+", "nobody+tag@example.org", STORE_NOTFOUND, NULL, 0},
		{"", "alice+tag@example.org", STORE_NOTFOUND, NULL, 0},
		{"-", "alice+tag@example.org", STORE_NOTFOUND, NULL, 0},
	};
	char *err = NULL;
	struct store *s = tu_store_open(path, STORE_RDWR, 1000, &err);
	struct dir_import_result r;
	struct dir_entry e;

	ck_assert_msg(s != NULL, "%s", err);
	ck_assert_int_eq(store_dir_import(s, rows, 2, 0, &r, on_err, NULL), STORE_OK);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		int rc = delim_dir_lookup(s, want[i].delims, want[i].addr, &e);

		ck_assert_msg(rc == want[i].rc, "lookup %zu (%s with \"%s\"): rc %d", i, want[i].addr,
			      want[i].delims, rc);
		if (rc != STORE_OK)
			continue;
		ck_assert_msg(strcmp(e.access, want[i].access) == 0, "lookup %zu (%s): access %s", i,
			      want[i].addr, e.access);
		ck_assert_msg(e.match == want[i].match, "lookup %zu (%s): match %d", i, want[i].addr,
			      (int)e.match);
	}
	/* The physical address with an extension is held with its mailbox. */
	ck_assert_int_eq(store_dir_hold(s, "alice@example.org", 7, 1000), STORE_OK);
	ck_assert_int_eq(delim_dir_lookup(s, "+", "alice+tag@s1.example.org", &e), STORE_OK);
	ck_assert_int_eq(e.held, 1);
	ck_assert_int_eq(e.request_id, 7);
	store_close(&s);
}
END_TEST

int main(void)
{
	const struct ck_test split_tests[] = {
		CK_LOOP(test_split, cases), CK_LOOP(test_extend, extends),
		CK_TEST(test_extend_limits), CK_TEST(test_is),
	};
	const struct ck_test lookup_tests[] = {
		CK_TEST(test_lookup),
	};
	Suite *s = suite_create("delim");

	CK_TCASE(s, "split", 0, split_tests);
	tcase_add_checked_fixture(CK_TCASE(s, "lookup", 0, lookup_tests), setup, teardown);
	return ck_run(s);
}
