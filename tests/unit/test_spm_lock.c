/* fedmig-spm's lock_holder reads, as root, a file in a directory that
 * fedmig's user may write: a FIFO must not hang it, a link must not be
 * followed. spm.c is included (its main renamed) to reach the static. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckmain.h"
#include "testutil.h"

int spm_main(int argc, char **argv);
#define main spm_main
#include "spm.c"
#undef main

static char dir[] = "/tmp/test_spm_lock_XXXXXX";

static void path_of(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

START_TEST(test_lock_holder)
{
	char reg[300], fifo[300], link[300], secret[300];
	FILE *fp;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);

	ck_assert_int_ge(dfd, 0);
	path_of(reg, sizeof(reg), "lock");
	path_of(fifo, sizeof(fifo), "fifo");
	path_of(link, sizeof(link), "link");
	path_of(secret, sizeof(secret), "secret");
	fp = fopen(reg, "w");
	fputs("1234\n", fp);
	fclose(fp);
	fp = fopen(secret, "w");
	fputs("4321\n", fp);
	fclose(fp);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	ck_assert_int_eq(symlink(secret, link), 0);
	ck_assert_int_eq(lock_holder(dfd, "lock"), 1234);
	/* Before: fopen blocked here until the test timed out. */
	ck_assert_int_eq(lock_holder(dfd, "fifo"), 0);
	ck_assert_int_eq(lock_holder(dfd, "link"), 0);
	ck_assert_int_eq(lock_holder(dfd, "missing"), 0);
	close(dfd);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_TEST(test_lock_holder),
	};

	return tu_run_in_tmpdir(CK_SUITE("spm_lock", "core", 5, tests), dir);
}
