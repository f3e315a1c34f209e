/* log: whatever the arguments hold, one message is one line, and no
 * control byte from outside reaches the log or a terminal raw. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckmain.h"
#include "log.h"

START_TEST(test_one_line)
{
	char path[] = "/tmp/test_log_XXXXXX", got[8192];
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	unlink(path);
	dup2(fd, STDERR_FILENO);
	log_init("t", LOG_TO_STDERR, NULL);
	/* A folder name from a hostile IMAP server, say. */
	log_warn("folder=%s refused", "Inbox\nt[1]: info: forged\r\x1b[2J\x7f end");
	dup2(saved, STDERR_FILENO);
	n = pread(fd, got, sizeof(got) - 1, 0);
	ck_assert_int_gt(n, 0);
	got[n] = '\0';
	ck_assert_msg(strchr(got, '\n') == got + n - 1, "more than one line: %s", got);
	ck_assert_ptr_null(strchr(got, '\r'));
	ck_assert_ptr_null(strchr(got, '\x1b'));
	ck_assert_ptr_null(strchr(got, '\x7f'));
	ck_assert_ptr_nonnull(strstr(got, "folder=Inbox\\x0at[1]: info: forged\\x0d\\x1b[2J\\x7f end refused"));
	close(fd);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_TEST(test_one_line),
	};

	return ck_run(CK_SUITE("log", "core", 0, tests));
}
