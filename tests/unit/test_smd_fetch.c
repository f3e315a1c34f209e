/*
 * imap_fetch_parse against a hostile source: what it accepts as FLAGS and
 * INTERNALDATE goes into the target's APPEND (or STORE) line as it is, so
 * no CR, LF, literal or quote may pass.
 */
#include <check.h>
#include <string.h>

#include "ckmain.h"
#include "imap_parse.h"

static const struct {
	const char *name, *text;
	int want; /* imap_fetch_parse's result */
} cases[] = {
	{"plain", "1 FETCH (UID 7 FLAGS (\\Seen $Label1) INTERNALDATE \"01-Jan-2020 10:00:00 +0000\" "
		  "RFC822.SIZE 10)", 1},
	{"literal in FLAGS", "1 FETCH (UID 7 FLAGS (\\Seen {18}\r\nx)\r\nA9 DELETE INBOX) "
			     "RFC822.SIZE 10)", -1},
	{"quoted in FLAGS", "1 FETCH (UID 7 FLAGS (\"a b\") RFC822.SIZE 10)", -1},
	{"nested list in FLAGS", "1 FETCH (UID 7 FLAGS ((x)) RFC822.SIZE 10)", -1},
	{"control in FLAGS", "1 FETCH (UID 7 FLAGS (a\tb) RFC822.SIZE 10)", -1},
	{"literal date with CR LF", "1 FETCH (UID 7 INTERNALDATE {34}\r\n01-Jan-2020\r\nA9 DELETE INBOX "
				    "RFC822.SIZE 10)", -1},
	{"quoted date", "1 FETCH (UID 7 INTERNALDATE \"01-Jan-2020 10:00:00 +0000\")", 1},
};

START_TEST(test_table)
{
	struct imap_fetch fi;
	int r = imap_fetch_parse(cases[_i].text, strlen(cases[_i].text), &fi);

	ck_assert_msg(r == cases[_i].want, "case %d (%s): got %d, want %d", _i, cases[_i].name, r,
		      cases[_i].want);
	for (size_t i = 0; r == 1 && fi.has_flags && i < fi.flags_len; i++)
		ck_assert_msg(!strchr("\r\n\"{", fi.flags[i]), "case %d (%s)", _i, cases[_i].name);
	if (r == 1)
		ck_assert_msg(strpbrk(fi.date, "\r\n\"") == NULL, "case %d (%s)", _i, cases[_i].name);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_LOOP(test_table, cases),
	};

	return ck_run(CK_SUITE("smd_fetch", "core", 0, tests));
}
