/* Secrets files: the credentials and user-password parsers, hostile input. */
#include <check.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ckmain.h"
#include "secrets.h"

/*
 * A line to parse and what it gives: arg is the NAME (secrets_value) or
 * the LOGIN (secrets_user) looked up; want: "=VALUE" found, "-" absent,
 * "!REASON" error containing REASON.
 */
struct secrets_case {
	const char *name, *in;
	size_t len;
	const char *arg, *want;
};

static const struct secrets_case value_cases[] = {
	{"plain", "master_user = admin\nmaster_password = s3cret\n", 0, "master_password", "=s3cret"},
	{"no spaces", "master_user=admin\n", 0, "master_user", "=admin"},
	{"tabs and crlf", "\tmaster_user\t=\tadmin \r\n", 0, "master_user", "=admin"},
	{"comment and blank", "# master_user = no\n\n  \nmaster_user = yes\n", 0, "master_user", "=yes"},
	{"last wins", "a = 1\na = 2\n", 0, "a", "=2"},
	{"value with =", "a = x=y\n", 0, "a", "=x=y"},
	{"empty value", "a =\n", 0, "a", "="},
	{"prefix is not a match", "master_user_x = 1\n", 0, "master_user", "-"},
	{"absent", "b = 1\n", 0, "a", "-"},
	{"empty file", "", 0, "a", "-"},
	{"no final newline", "a = 1", 0, "a", "=1"},
	{"no equals", "a = 1\njunk\n", 0, "a", "!:2: expected name = value"},
	{"nul", "a = 1\0\n", 7, "a", "!:1: NUL byte"},
	{"nul later", "a = 1\nb\0 = 2\n", 13, "a", "!:2: NUL byte"},
	{"only equals", "=\n", 0, "", "="},
};

static const struct secrets_case user_cases[] = {
	{"plain", "alice@example.org pw1\nbob@example.org pw2\n", 0, "bob@example.org", "=pw2"},
	{"blanks kept inside and at end", "alice  a b \n", 0, "alice", "=a b "},
	{"tab separator crlf", "alice\tpw\r\n", 0, "alice", "=pw"},
	{"comment", "# alice nope\nalice yes\n", 0, "alice", "=yes"},
	{"leading blanks", "   alice pw\n", 0, "alice", "=pw"},
	{"prefix is not a match", "alice2 pw\n", 0, "alice", "-"},
	{"absent", "bob pw\n", 0, "alice", "-"},
	{"login without password", "alice\n", 0, "alice", "!:1: expected LOGIN PASSWORD"},
	{"login with blanks only", "bob pw\nalice   \n", 0, "alice", "!:2: expected LOGIN PASSWORD"},
	{"twice", "alice a\nalice b\n", 0, "alice", "!:2: second line for the same login"},
	{"nul", "alice p\0w\n", 9, "alice", "!:1: NUL byte"},
	{"empty", "", 0, "alice", "-"},
	{"cr alone stays", "alice p\rw\n", 0, "alice", "=p\rw"},
};

static void check_result(const char *name, int rc, char *val, char *err, const char *want)
{
	switch (want[0]) {
	case '=':
		ck_assert_msg(rc == 0, "%s: rc %d err %s", name, rc, rc < 0 ? err : "");
		ck_assert_msg(strcmp(val, want + 1) == 0, "%s: got [%s]", name, val);
		break;
	case '-':
		ck_assert_msg(rc == 1 && val == NULL, "%s: rc %d", name, rc);
		break;
	default:
		ck_assert_msg(rc == -1 && val == NULL, "%s: rc %d", name, rc);
		ck_assert_msg(strstr(err, want + 1) != NULL, "%s: err [%s]", name, err);
		ck_assert_msg(strncmp(err, "F:", 2) == 0, "%s: err names no file [%s]", name, err);
		break;
	}
	if (rc < 0)
		free(err);
	free(val);
}

/* Each of the N cases through PARSE (secrets_value or secrets_user), file "F". */
static void run_cases(int (*parse)(const char *, size_t, const char *, const char *, char **,
				   char **),
		      const struct secrets_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].in);
		char *val, *err = NULL;
		int rc = parse(cases[i].in, len, "F", cases[i].arg, &val, &err);

		check_result(cases[i].name, rc, val, err, cases[i].want);
	}
}

START_TEST(test_value)
{
	run_cases(secrets_value, value_cases, sizeof(value_cases) / sizeof(value_cases[0]));
}
END_TEST

START_TEST(test_user)
{
	run_cases(secrets_user, user_cases, sizeof(user_cases) / sizeof(user_cases[0]));
}
END_TEST

/* A password never shows up in an error, whatever the line looks like. */
START_TEST(test_no_echo)
{
	static const char in[] = "alice TOPSECRET\nalice TOPSECRET2\n";
	char *val, *err = NULL;

	ck_assert_int_eq(secrets_user(in, strlen(in), "F", "alice", &val, &err), -1);
	ck_assert_ptr_null(strstr(err, "TOPSECRET"));
	free(err);
	static const char in2[] = "master_password = TOPSECRET\nTOPSECRET\n";

	ck_assert_int_eq(secrets_value(in2, strlen(in2), "F", "master_password", &val, &err), -1);
	ck_assert_ptr_null(strstr(err, "TOPSECRET"));
	free(err);
}
END_TEST

START_TEST(test_read_mode)
{
	char path[] = "/tmp/test_secrets.XXXXXX", *buf, *err;
	size_t len;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "a = 1\n", 6), 6);
	close(fd);
	ck_assert_int_eq(chmod(path, 0600), 0);
	ck_assert_int_eq(secrets_read(path, &buf, &len, &err), 0);
	ck_assert_uint_eq(len, 6);
	ck_assert_str_eq(buf, "a = 1\n");
	secrets_free(buf, len);
	ck_assert_int_eq(chmod(path, 0640), 0);
	ck_assert_int_eq(secrets_read(path, &buf, &len, &err), -1);
	ck_assert_ptr_nonnull(strstr(err, "it must be 0600"));
	free(err);
	unlink(path);
	ck_assert_int_eq(secrets_read(path, &buf, &len, &err), -1);
	ck_assert_ptr_nonnull(strstr(err, "No such file"));
	free(err);
	ck_assert_int_eq(secrets_read("/tmp", &buf, &len, &err), -1);
	free(err);
}
END_TEST

/* A FIFO, a link, a foreign owner: refused at once with what to do. */
START_TEST(test_read_hostile)
{
	char dir[] = "/tmp/test_secrets.XXXXXX", path[256], link[256], *buf, *err;
	size_t len;
	int fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/fifo", dir);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	/* Before the fix open() blocked for ever: the alarm fails the test. */
	alarm(3);
	ck_assert_int_eq(secrets_read(path, &buf, &len, &err), -1);
	alarm(0);
	ck_assert_msg(strstr(err, "not a regular file (a FIFO)") != NULL, "fifo: %s", err);
	free(err);
	unlink(path);

	snprintf(path, sizeof(path), "%s/creds", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "a = 1\n", 6), 6);
	close(fd);
	snprintf(link, sizeof(link), "%s/link", dir);
	ck_assert_int_eq(symlink(path, link), 0);
	ck_assert_int_eq(secrets_read(link, &buf, &len, &err), -1);
	ck_assert_msg(strstr(err, "symbolic link") != NULL, "link: %s", err);
	free(err);
	unlink(link);

	if (geteuid() == 0) {
		struct passwd *pw = getpwnam("nobody");
		pid_t pid;
		int st;

		ck_assert_ptr_nonnull(pw);
		/* Root reading a file another user can rewrite. */
		ck_assert_int_eq(chown(path, pw->pw_uid, 0), 0);
		ck_assert_int_eq(secrets_read(path, &buf, &len, &err), -1);
		ck_assert_msg(strstr(err, "chown root ") != NULL && strstr(err, "chmod 0600") != NULL,
			      "owner: %s", err);
		free(err);
		/* A daemon that dropped to nobody cannot open root's 0600 file:
		 * the error says how to hand it over, not just EACCES. */
		ck_assert_int_eq(chown(path, 0, 0), 0);
		ck_assert_int_eq(chmod(dir, 0755), 0);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			if (setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
				_exit(2);
			if (secrets_read(path, &buf, &len, &err) != -1)
				_exit(3);
			_exit(strstr(err, "chown nobody ") && strstr(err, "chmod 0600") ? 0 : 4);
		}
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
		ck_assert_int_eq(WEXITSTATUS(st), 0);
	}
	unlink(path);
	rmdir(dir);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_TEST(test_value), CK_TEST(test_user), CK_TEST(test_no_echo),
		CK_TEST(test_read_mode), CK_TEST(test_read_hostile),
	};

	return ck_run(CK_SUITE("secrets", "core", 0, tests));
}
