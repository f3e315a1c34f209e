/*
 * The folder tree and moves in a delta pass (smd/copy_tree.h,
 * smd/copy_move.h) against two fake IMAP servers (copy_env.h): renames
 * with children, deletes (only of what fedmig copied), subscriptions
 * under both rules, moves with and without MOVE, the user's renames and
 * deletes on the target after the switch, and a crash between each
 * change of the target and its journal, then the rerun.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckmain.h"
#include "copy_env.h"
#include "store_smd.h"

static char dir[] = "/tmp/fedmig-test-copy-tree.XXXXXX";

/* tree_env: SRC copied once to an empty target; the source offers CONDSTORE. */
static void tree_env(struct env *e, const char *src)
{
	struct copy_result r;
	long long n = 0;

	memset(e, 0, sizeof(*e));
	e->timeout_ms = 5000;
	snprintf(e->db, sizeof(e->db), "%s/tree.db", dir);
	unlink(e->db);
	model_parse(&e->src, src);
	model_parse(&e->dst, "INBOX=");
	e->src.condstore = 1;
	for (size_t i = 0; i < e->src.nf; i++)
		n += (long long)e->src.f[i].n;
	delta_pass(e, 0, &r);
	ck_assert_int_eq(r.copied, n);
}

/* journal_has: FOLDER has a journal. */
static int journal_has(struct env *e, const char *folder)
{
	struct store *st = store_at(e->db);
	struct smd_folder jf;
	int r = store_smd_folder_get(st, "k", folder, &jf);

	store_close(&st);
	ck_assert_int_ge(r, 0);
	return r == STORE_OK;
}

static int subscribed(struct fake_model *m, const char *folder)
{
	struct fake_folder *f = fake_folder_find(m, folder);

	return f && f->subscribed;
}

static void add_msg(struct fake_folder *f, char letter)
{
	char body[200], date[40];

	body_of(letter, body, sizeof(body));
	date_of(letter, date, sizeof(date));
	fake_msg_add(f, body, strlen(body), "", date);
}

/*
 * A folder renamed with its child on the source is renamed on the
 * target: nothing copied again, the journal follows. _i: the pass dies
 * after the RENAME, before the journal; the rerun only journals it.
 */
START_TEST(test_rename)
{
	struct env e;
	struct copy_result r;

	tree_env(&e, "INBOX=a0|Old#5=b0,c2|Old/Kid#6=d0");
	ck_assert_int_eq(fake_folder_rename(&e.src, "Old", "New"), 0);
	delta_pass(&e, _i, &r);
	ck_assert_int_eq(r.copied + r.found, 0);
	ck_assert_ptr_null(fake_folder_find(&e.dst, "Old"));
	ck_assert_int_eq(count_of(&e.dst, "New", 'b') + count_of(&e.dst, "New", 'c'), 2);
	ck_assert_int_eq(count_of(&e.dst, "New/Kid", 'd'), 1);
	ck_assert(journal_has(&e, "New") && journal_has(&e, "New/Kid") && !journal_has(&e, "Old"));
	ck_assert(subscribed(&e.dst, "New"));
	delta_pass(&e, 0, &r);
	ck_assert_int_eq(r.copied + r.found, 0);
	ck_assert_int_eq(r.skipped, 4);
	delta_done(&e);
}
END_TEST

/*
 * A folder gone from the source is deleted on the target when it holds
 * just what was copied; one holding a message fedmig did not put there
 * is kept. Both journals are forgotten. INBOX is never deleted.
 */
START_TEST(test_delete)
{
	struct env e;
	struct copy_result r;

	tree_env(&e, "INBOX=a0|Gone#5=b0|Mine#6=c0");
	fake_folder_delete(&e.src, fake_folder_find(&e.src, "Gone"));
	fake_folder_delete(&e.src, fake_folder_find(&e.src, "Mine"));
	add_msg(fake_folder_find(&e.dst, "Mine"), 'd');
	delta_pass(&e, 0, &r);
	ck_assert_ptr_null(fake_folder_find(&e.dst, "Gone"));
	ck_assert_int_eq(count_of(&e.dst, "Mine", 'c') + count_of(&e.dst, "Mine", 'd'), 2);
	ck_assert(!journal_has(&e, "Gone") && !journal_has(&e, "Mine") && journal_has(&e, "INBOX"));
	ck_assert_int_eq(count_of(&e.dst, "INBOX", 'a'), 1);
	delta_pass(&e, 0, &r);
	ck_assert_ptr_nonnull(fake_folder_find(&e.dst, "Mine"));
	delta_done(&e);
}
END_TEST

/*
 * Subscriptions: the source drops A: dropped on the target (both rules).
 * The user drops B on the target: before the switch (_i = 0) the source
 * wins and B is subscribed again; after it (_i = 1) it stays dropped. A
 * subscription the target had before fedmig (C) is never touched.
 */
START_TEST(test_subs)
{
	struct env e;
	struct copy_result r;

	tree_env(&e, "INBOX=a0|A#5=|B#6=|C#7=");
	fake_folder_find(&e.src, "A")->subscribed = 0;
	fake_folder_find(&e.src, "C")->subscribed = 0;
	delta_pass(&e, 0, &r); /* C leaves the base: from now on the target's */
	ck_assert(!subscribed(&e.dst, "A") && !subscribed(&e.dst, "C"));
	fake_folder_find(&e.dst, "C")->subscribed = 1;
	fake_folder_find(&e.dst, "B")->subscribed = 0;
	e.switched = _i;
	delta_pass(&e, 0, &r);
	ck_assert(!subscribed(&e.dst, "A"));
	ck_assert_int_eq(subscribed(&e.dst, "B"), !_i);
	ck_assert(subscribed(&e.dst, "C"));
	delta_pass(&e, 0, &r);
	ck_assert_int_eq(subscribed(&e.dst, "B"), !_i);
	ck_assert(subscribed(&e.dst, "C"));
	delta_done(&e);
}
END_TEST

/*
 * A message moved on the source is moved on the target (UID MOVE when
 * the target offers it, _i & 2; else UID COPY + expunge) and found in
 * its new folder by hash: no append, no duplicate. _i & 1: the pass dies
 * after the move, before the journal.
 */
START_TEST(test_move)
{
	struct env e;
	struct copy_result r;

	tree_env(&e, "INBOX=a0,b2,e0|Work#5=c0");
	e.dst.move = (_i & 2) != 0;
	fake_msg_move(fake_folder_find(&e.src, "INBOX"), 2, fake_folder_find(&e.src, "Work"));
	delta_pass(&e, _i & 1, &r);
	ck_assert_int_eq(r.copied, 0);
	ck_assert_int_eq(r.found, 1);
	ck_assert_int_eq(count_of(&e.dst, "INBOX", 'b'), 0);
	ck_assert_int_eq(count_of(&e.dst, "Work", 'b'), 1);
	ck_assert_int_eq(count_of(&e.dst, "INBOX", 'a') + count_of(&e.dst, "INBOX", 'e'), 2);
	delta_pass(&e, 0, &r);
	ck_assert_int_eq(r.copied + r.found + r.d_expunged, 0);
	ck_assert_int_eq(count_of(&e.dst, "Work", 'b'), 1);
	delta_done(&e);
}
END_TEST

/*
 * After the switch the user renames a folder on the target (_i = 0):
 * the source's new mail in it goes to the new name, the old name is not
 * created again; or deletes it (_i = 1): not created again.
 */
START_TEST(test_user_tree)
{
	struct env e;
	struct copy_result r;

	tree_env(&e, "INBOX=a0|Old#5=b0");
	e.dst.condstore = 1;
	e.switched = 1;
	if (_i == 0)
		ck_assert_int_eq(fake_folder_rename(&e.dst, "Old", "Mine"), 0);
	else
		fake_folder_delete(&e.dst, fake_folder_find(&e.dst, "Old"));
	add_msg(fake_folder_find(&e.src, "Old"), 'c');
	for (int k = 0; k < 2; k++) {
		delta_pass(&e, 0, &r);
		ck_assert_ptr_null(fake_folder_find(&e.dst, "Old"));
		ck_assert_int_eq(r.copied, k == 0 && _i == 0 ? 1 : 0);
	}
	if (_i == 0)
		ck_assert_int_eq(count_of(&e.dst, "Mine", 'b') + count_of(&e.dst, "Mine", 'c'), 2);
	delta_done(&e);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		{test_rename, 2, 0}, CK_TEST(test_delete), {test_subs, 2, 0}, {test_move, 4, 0},
		{test_user_tree, 2, 0},
	};
	char db[300];
	int rc;

	if (mkdtemp(dir) == NULL)
		return 1;
	signal(SIGPIPE, SIG_IGN); /* a cut connection is an error return, as in fedmig-smd */
	rc = ck_run(ck_suite("copy_tree", "core", 20, tests, sizeof(tests) / sizeof(tests[0])));
	snprintf(db, sizeof(db), "%s/tree.db", dir);
	unlink(db);
	return rmdir(dir) < 0 ? 1 : rc;
}
