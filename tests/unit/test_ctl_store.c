/* fedmigctl, often run as root, opens the state database in a directory
 * fedmig's user writes: a link planted there must be refused before root
 * creates its target or hands it to fedmig's user. fedmigctl.c is
 * included (its main renamed) to reach ctl_store with a test config. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckmain.h"
#include "testutil.h"

int fedmigctl_main(int argc, char **argv);
#define main fedmigctl_main
#include "fedmigctl.c"
#undef main

static char dir[] = "/tmp/test_ctl_store_XXXXXX";

static struct ctl *ctl_for(const char *db)
{
	static struct ctl c;

	c.cfg = tu_config("state_database = %s/%s\n", dir, db);
	c.store = NULL;
	return &c;
}

START_TEST(test_link_refused)
{
	char link[300], victim[300];

	snprintf(link, sizeof(link), "%s/linked.db", dir);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	ck_assert_int_eq(symlink(victim, link), 0);
	ctl_store(ctl_for("linked.db")); /* exits 1 */
}
END_TEST

START_TEST(test_link_target_untouched)
{
	char victim[300];
	struct stat st;

	snprintf(victim, sizeof(victim), "%s/victim", dir);
	ck_assert_msg(lstat(victim, &st) < 0, "root created the link's target");
}
END_TEST

START_TEST(test_regular)
{
	struct ctl *c = ctl_for("state.db");

	ck_assert_ptr_nonnull(ctl_store(c));
	store_close(&c->store);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_EXIT(test_link_refused, 1), CK_TEST(test_link_target_untouched),
		CK_TEST(test_regular),
	};

	return tu_run_in_tmpdir(CK_SUITE("ctl_store", "core", 0, tests), dir);
}
