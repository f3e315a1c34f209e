/*
 * The three-way rule (delta_rule.h) as a table: base (journal), source
 * now, target now, before or after the switch -> action and flags; and
 * move detection (Message-ID + size + hash) as a second table.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckmain.h"
#include "delta_rule.h"
#include "imap_parse.h"

#define P(f) {1, (f)}
#define GONE {0, NULL}

static const struct {
	const char *name;
	struct delta_side base, src, dst;
	int switched;
	enum delta_action want;
	const char *flags; /* the merged list, for DELTA_SET_FLAGS */
} rules[] = {
	/* New on the source, and the target's own. */
	{"new on source", GONE, P(""), GONE, 0, DELTA_COPY, NULL},
	{"new on source, after", GONE, P("\\Seen"), GONE, 1, DELTA_COPY, NULL},
	{"target's own", GONE, GONE, P("\\Seen"), 1, DELTA_NONE, NULL},
	/* Nothing changed. */
	{"unchanged", P("\\Seen"), P("\\Seen"), P("\\Seen"), 0, DELTA_NONE, NULL},
	{"unchanged, case and order", P("\\Seen $Work"), P("$work \\SEEN"), P("\\Seen $Work \\Recent"),
	 1, DELTA_NONE, NULL},
	/* Flags and keywords: a source change is applied. */
	{"source set seen", P(""), P("\\Seen"), P(""), 0, DELTA_SET_FLAGS, "\\Seen"},
	{"source set seen, after", P(""), P("\\Seen"), P(""), 1, DELTA_SET_FLAGS, "\\Seen"},
	{"source cleared flag", P("\\Flagged \\Seen"), P("\\Seen"), P("\\Flagged \\Seen"), 1,
	 DELTA_SET_FLAGS, "\\Seen"},
	{"source keyword", P("\\Seen"), P("\\Seen $Label1"), P("\\Seen"), 1, DELTA_SET_FLAGS,
	 "\\Seen $Label1"},
	/* A target change stays after the switch, is undone before it. */
	{"target set flag, after", P(""), P(""), P("\\Flagged"), 1, DELTA_KEEP_TARGET, NULL},
	{"target set flag, before", P(""), P(""), P("\\Flagged"), 0, DELTA_SET_FLAGS, ""},
	/* Both changed, different flags: both edits stay (per flag). */
	{"both, different flags", P(""), P("\\Seen"), P("\\Flagged"), 1, DELTA_SET_FLAGS,
	 "\\Seen \\Flagged"},
	{"both, keyword and clear", P("\\Seen $Todo"), P("\\Seen"), P("\\Seen $Todo \\Answered"), 1,
	 DELTA_SET_FLAGS, "\\Seen \\Answered"},
	{"both, same change", P(""), P("\\Seen"), P("\\Seen"), 1, DELTA_NONE, NULL},
	{"both, before: source", P(""), P("\\Seen"), P("\\Flagged"), 0, DELTA_SET_FLAGS, "\\Seen"},
	/* Expunges. */
	{"source expunged", P("\\Seen"), GONE, P("\\Seen"), 0, DELTA_EXPUNGE_TARGET, NULL},
	{"source expunged, after", P("\\Seen"), GONE, P("\\Seen"), 1, DELTA_EXPUNGE_TARGET, NULL},
	{"source expunged, target changed", P(""), GONE, P("\\Flagged"), 1, DELTA_KEEP_TARGET, NULL},
	{"source expunged, target changed, before", P(""), GONE, P("\\Flagged"), 0,
	 DELTA_EXPUNGE_TARGET, NULL},
	{"both expunged", P(""), GONE, GONE, 1, DELTA_FORGET, NULL},
	{"both expunged, before", P(""), GONE, GONE, 0, DELTA_FORGET, NULL},
	{"target expunged, after", P(""), P(""), GONE, 1, DELTA_FORGET, NULL},
	{"target expunged, source changed, after", P(""), P("\\Seen"), GONE, 1, DELTA_FORGET, NULL},
	{"target lost, before", P(""), P(""), GONE, 0, DELTA_RECOPY, NULL},
	/* The journal lacks flags today (NULL base): the empty list. */
	{"no base flags, source has seen", P(NULL), P("\\Seen"), P(""), 1, DELTA_SET_FLAGS,
	 "\\Seen"},
};

START_TEST(test_rules)
{
	struct delta_decision d;

	delta_decide(&rules[_i].base, &rules[_i].src, &rules[_i].dst, rules[_i].switched, &d);
	ck_assert_msg(d.action == rules[_i].want, "rule %d (%s): action %d, want %d", _i,
		      rules[_i].name, (int)d.action, (int)rules[_i].want);
	if (rules[_i].flags) {
		char m[128], e[128];

		ck_assert_ptr_nonnull(d.flags);
		ck_assert_msg(imap_flags_diff(rules[_i].flags, strlen(rules[_i].flags), d.flags,
					      strlen(d.flags), m, e, sizeof(m)) == 0,
			      "rule %d (%s): flags \"%s\", want \"%s\"", _i, rules[_i].name, d.flags,
			      rules[_i].flags);
	} else {
		ck_assert_msg(d.flags == NULL, "rule %d (%s): flags set", _i, rules[_i].name);
	}
	free(d.flags);
}
END_TEST

#define H(c) {c, c, c, c, c, c, c, c, c, c, c, c, c, c, c, c, c, c, c, c, c, c, c, c, c, c, c, c, c, c, c, c}

static const struct delta_ident gone[] = {
	{10, "INBOX", "<a@x>", 100, H(1), 1},
	{11, "INBOX", "<b@x>", 200, H(2), 1},
	{12, "INBOX", "<c@x>", 300, H(3), 1},
	{13, "INBOX", "<list@x>", 50, H(4), 1},
	{14, "INBOX", "", 60, H(5), 1},
	{15, "INBOX", "<e@x>", 70, H(6), 0},
};

static const struct {
	const char *name;
	struct delta_ident arrived;
	long want; /* index into gone[], -1: no move */
} moves[] = {
	{"moved", {1, "Archive", "<a@x>", 100, H(1), 1}, 0},
	{"moved, second", {2, "Work", "<b@x>", 200, H(2), 1}, 1},
	{"same id, other bytes", {3, "Archive", "<c@x>", 300, H(9), 1}, -1},
	{"same id, other size", {4, "Archive", "<c@x>", 301, H(3), 1}, -1},
	{"same folder again", {5, "INBOX", "<a@x>", 100, H(1), 1}, -1},
	{"no message-id", {6, "Archive", "", 60, H(5), 1}, -1},
	{"no hash", {7, "Archive", "<e@x>", 70, H(6), 0}, -1},
	{"other id", {8, "Archive", "<z@x>", 50, H(4), 1}, -1},
};

START_TEST(test_moves)
{
	struct delta_move out[4];
	size_t n = delta_moves(gone, sizeof(gone) / sizeof(gone[0]), &moves[_i].arrived, 1, out, 4);

	if (moves[_i].want < 0) {
		ck_assert_msg(n == 0, "move %d (%s): paired", _i, moves[_i].name);
		return;
	}
	ck_assert_msg(n == 1 && out[0].gone == (size_t)moves[_i].want && out[0].arrived == 0,
		      "move %d (%s): n=%zu", _i, moves[_i].name, n);
}
END_TEST

/* Two copies of one message arrive, one left: one move, one copy. */
START_TEST(test_moves_once)
{
	struct delta_ident a[2] = {{1, "Archive", "<a@x>", 100, H(1), 1},
				   {2, "Work", "<a@x>", 100, H(1), 1}};
	struct delta_move out[4];

	ck_assert_uint_eq(delta_moves(gone, 1, a, 2, out, 4), 1);
	ck_assert_uint_eq(out[0].arrived, 0);
	ck_assert_uint_eq(delta_moves(gone, 2, a, 2, out, 0), 0);
	ck_assert_uint_eq(delta_moves(NULL, 0, NULL, 0, out, 4), 0);
}
END_TEST

START_TEST(test_merge)
{
	char *m = delta_flags_merge("\\Seen $a", "\\Seen $a $b \\Recent", "$a $c $C", 0);

	/* Source added $b; target cleared \Seen, added $c (once). */
	ck_assert_str_eq(m, "$a $b $c");
	free(m);
	m = delta_flags_merge(NULL, NULL, NULL, 0);
	ck_assert_str_eq(m, "");
	free(m);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_LOOP(test_rules, rules), CK_LOOP(test_moves, moves), CK_TEST(test_moves_once),
		CK_TEST(test_merge),
	};

	return ck_run(CK_SUITE("delta_rule", "core", 0, tests));
}
