/* fedmig-agent: a staged batch's bytes, the token file's checks, codes. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "ckmain.h"
#include "enrol.h"
#include "secrets.h"
#include "xalloc.h"

static char *tmpdir(void)
{
	char tmpl[] = "/tmp/test_agent_files.XXXXXX";

	return xstrdup(mkdtemp(tmpl));
}

static void rmtree(char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	free(dir);
}

START_TEST(batch_bytes_and_hash)
{
	char *dir = tmpdir(), *err = NULL, buf[512];
	struct batch *b = batch_new(dir, &err);
	ssize_t n;
	const char *want =
		"{\"src\":\"k1\",\"flags\":\"\\\\Seen\",\"date\":\"01-Jan-2020 10:00:00 +0000\","
		"\"size\":3,\"sha256\":"
		"\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"}\nabc"
		"{\"src\":\"k2\",\"flags\":\"\",\"date\":\"02-Jan-2020 10:00:00 +0000\","
		"\"size\":0,\"sha256\":"
		"\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"}\n";

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(batch_begin(b, "k1", "\\Seen", "01-Jan-2020 10:00:00 +0000", &err), 0);
	ck_assert_int_eq(batch_data(b, "a", 1, &err), 0);
	ck_assert_int_eq(batch_data(b, "bc", 2, &err), 0);
	ck_assert_int_eq(batch_end(b, &err), 0);
	ck_assert_int_eq(batch_begin(b, "k2", "", "02-Jan-2020 10:00:00 +0000", &err), 0);
	ck_assert_int_eq(batch_end(b, &err), 0);
	ck_assert_int_eq(batch_count(b), 2);
	ck_assert_int_eq(batch_bytes(b), 3);
	ck_assert_int_eq(batch_size(b), (off_t)strlen(want));
	ck_assert_int_eq(lseek(batch_fd(b), 0, SEEK_SET), 0);
	n = read(batch_fd(b), buf, sizeof(buf) - 1);
	ck_assert_int_eq(n, (ssize_t)strlen(want));
	buf[n] = '\0';
	ck_assert_str_eq(buf, want);
	batch_free(&b);
	/* Nothing is left in the spool: the files had no name. */
	ck_assert_int_eq(rmdir(dir), 0);
	ck_assert_ptr_null(batch_new(dir, &err));
	ck_assert_ptr_nonnull(strstr(err, "agent_spool_directory"));
	free(err);
	free(dir);
}
END_TEST

/* token: PATH made with TEXT and MODE; then what enrol_read_token says. */
static char *token(const char *path, const char *text, mode_t mode, char **err_r)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	chmod(path, mode);
	*err_r = NULL;
	return enrol_read_token(path, err_r);
}

START_TEST(token_file)
{
	char *dir = tmpdir(), *p = xasprintf("%s/token", dir), *l = xasprintf("%s/link", dir);
	const char *good = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";
	char *t, *err;

	t = token(p, good, 0600, &err);
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(strlen(t), 64);
	secrets_wipe(&t);
	ck_assert_ptr_null(token(p, good, 0644, &err));
	ck_assert_ptr_nonnull(strstr(err, "0600"));
	free(err);
	ck_assert_ptr_null(token(p, "0011\n", 0600, &err));
	ck_assert_ptr_nonnull(strstr(err, "not a token"));
	free(err);
	ck_assert_ptr_null(token(p, "00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff", 0600, &err));
	free(err);
	t = token(p, good, 0600, &err);
	secrets_wipe(&t);
	ck_assert_int_eq(symlink(p, l), 0);
	err = NULL;
	ck_assert_ptr_null(enrol_read_token(l, &err));
	free(err);
	free(p);
	free(l);
	rmtree(dir);
}
END_TEST

START_TEST(codes)
{
	ck_assert(enrol_code_ok("UFZVBYY3CM3LAKB6UERBRAT23JGYPFCP"));
	ck_assert(!enrol_code_ok("ufzvbyy3cm3lakb6uerbrat23jgypfcp"));
	ck_assert(!enrol_code_ok("ABC"));
	ck_assert(!enrol_code_ok("UFZVBYY3CM3LAKB6\"},\"x\":{\""));
	ck_assert(!enrol_code_ok(""));
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_TEST(batch_bytes_and_hash),
		CK_TEST(token_file),
		CK_TEST(codes),
	};

	return ck_run(CK_SUITE("agent_files", "core", 0, tests));
}
