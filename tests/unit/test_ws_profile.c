/* fedmig-agent, workstation: profiles.ini, the default profile, paths
 * that leave the home or go through links, a running Thunderbird. */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ckmain.h"
#include "testutil.h"
#include "ws_check.h"
#include "ws_profile.h"
#include "xalloc.h"

static const char *fixtures(void)
{
	const char *d = getenv("FEDMIG_WS_FIXTURES");

	return d ? d : "tests/fixtures/ws";
}

static const struct {
	const char *name, *ini;
	const char *want; /* the profiles' rel, '|' separated, the default starred */
	unsigned dropped;
} cases[] = {
	{"one", "[Profile0]\nName=a\nIsRelative=1\nPath=x.default\n", "*.thunderbird/x.default", 0},
	{"install wins",
	 "[Install1]\nDefault=b.b\n[Profile0]\nPath=a.a\nDefault=1\n[Profile1]\nPath=b.b\n",
	 ".thunderbird/a.a|*.thunderbird/b.b", 0},
	{"default=1", "[Profile0]\nPath=a.a\n[Profile1]\nPath=b.b\nDefault=1\n",
	 ".thunderbird/a.a|*.thunderbird/b.b", 0},
	{"no default", "[Profile0]\nPath=a.a\n[Profile1]\nPath=b.b\n", ".thunderbird/a.a|.thunderbird/b.b", 0},
	{"crlf blanks comments", "; c\r\n# c\r\n [Profile0] \r\n Path = a.a \r\n\r\n", "*.thunderbird/a.a", 0},
	{"absolute inside", "[Profile0]\nIsRelative=0\nPath=/home/u/tb/p\n", "*tb/p", 0},
	{"absolute outside", "[Profile0]\nIsRelative=0\nPath=/etc/p\n", "", 1},
	{"absolute prefix", "[Profile0]\nIsRelative=0\nPath=/home/user2/p\n", "", 1},
	{"dotdot", "[Profile0]\nPath=../../etc\n", "", 1},
	{"dotdot inside", "[Profile0]\nPath=a/../../b\n", "", 1},
	{"dot", "[Profile0]\nPath=./a\n", "", 1},
	{"empty component", "[Profile0]\nPath=a//b\n", "", 1},
	{"empty path", "[Profile0]\nPath=\n", "", 1},
	{"no path", "[Profile0]\nName=x\n", "", 1},
	{"control byte", "[Profile0]\nPath=a\tb\n", "", 1},
	{"relative with slash", "[Profile0]\nPath=Profiles/x.y\n", "*.thunderbird/Profiles/x.y", 0},
	{"junk", "garbage\n[\n=\n[Profile0\nPath=a\n", "", 0},
	{"install absolute", "[InstallX]\nDefault=/home/u/tb/p\n[Profile0]\nIsRelative=0\nPath=/home/u/tb/p\n"
			     "[Profile1]\nPath=q\nDefault=1\n",
	 "*tb/p|.thunderbird/q", 0},
	{"nul", "[Profile0]\nPath=a\0b\n", "*.thunderbird/a", 0},
};

START_TEST(test_parse)
{
	struct ws_profiles l;
	char got[512] = "";
	unsigned dropped;
	size_t i, n = strlen(cases[_i].ini);

	if (strcmp(cases[_i].name, "nul") == 0)
		n += 3;
	ws_profiles_parse(cases[_i].ini, n, "/home/u/", &l, &dropped);
	for (i = 0; i < l.n; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s%s", i ? "|" : "",
			 (int)i == l.def ? "*" : "", l.v[i].rel);
	ck_assert_msg(strcmp(got, cases[_i].want) == 0, "case %d %s: [%s]", _i, cases[_i].name, got);
	ck_assert_msg(dropped == cases[_i].dropped, "case %d %s: dropped %u", _i, cases[_i].name,
		      dropped);
	ws_profiles_free(&l);
}
END_TEST

static int open_home(const char *who)
{
	char *p = xasprintf("%s/%s", fixtures(), who);
	int fd = open(p, O_RDONLY | O_DIRECTORY);

	ck_assert_msg(fd >= 0, "open %s", p);
	free(p);
	return fd;
}

START_TEST(test_fixture_alice)
{
	int home = open_home("alice"), pfd;
	struct ws_profiles l;
	char *err = NULL;
	unsigned dropped;
	pid_t pid;

	ck_assert_msg(ws_profiles_load(home, "/home/alice", &l, &dropped, &err) == 0, "%s", err);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_int_eq(l.def, 1); /* [Install...] over Profile1 order */
	ck_assert_str_eq(l.v[l.def].rel, ".thunderbird/abcd1234.default-release");
	pfd = ws_profile_open(home, &l.v[l.def], &err);
	ck_assert_msg(pfd >= 0, "%s", err);
	ck_assert_int_eq(ws_profile_running(pfd, &pid, &err), 0);
	close(pfd);
	/* efgh5678.default is listed but not on disk. */
	ck_assert_int_eq(ws_profile_open(home, &l.v[0], &err), -1);
	free(err);
	ws_profiles_free(&l);
	close(home);
}
END_TEST

START_TEST(test_fixture_running)
{
	int home = open_home("dave"), pfd;
	struct ws_profiles l;
	char *err = NULL;
	pid_t pid;

	ck_assert_int_eq(ws_profiles_load(home, "/home/dave", &l, NULL, &err), 0);
	ck_assert_uint_eq(l.n, 2);
	/* lock -> 127.0.0.1:+1: init, always alive. */
	pfd = ws_profile_open(home, &l.v[0], &err);
	ck_assert_int_ge(pfd, 0);
	ck_assert_int_eq(ws_profile_running(pfd, &pid, &err), 1);
	ck_assert_int_eq(pid, 1);
	close(pfd);
	/* lock -> a PID above the kernel's limit: stale. */
	pfd = ws_profile_open(home, &l.v[1], &err);
	ck_assert_int_ge(pfd, 0);
	ck_assert_int_eq(ws_profile_running(pfd, &pid, &err), 0);
	close(pfd);
	ws_profiles_free(&l);
	close(home);
}
END_TEST

/* Another process holding .parentlock's fcntl lock: running. */
START_TEST(test_parentlock)
{
	char dir[] = "/tmp/test_ws_profile.XXXXXX", *err = NULL, *p;
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	int pfd, fd, sync[2], status;
	pid_t child, pid;
	char c;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	pfd = open(dir, O_RDONLY | O_DIRECTORY);
	fd = openat(pfd, ".parentlock", O_RDWR | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ws_profile_running(pfd, &pid, &err), 0);
	ck_assert_int_eq(pipe(sync), 0);
	child = fork();
	if (child == 0) {
		if (fcntl(fd, F_SETLK, &fl) < 0)
			_exit(1);
		if (write(sync[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	ck_assert_int_eq(read(sync[0], &c, 1), 1);
	ck_assert_int_eq(ws_profile_running(pfd, &pid, &err), 1);
	ck_assert_int_eq(pid, child);
	/* SIGKILL: check's SIGTERM handler, inherited, would forward it to us. */
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	ck_assert_int_eq(ws_profile_running(pfd, &pid, &err), 0);
	close(fd);
	/* A profile that is a symbolic link: refused. */
	p = xasprintf("%s/.thunderbird", dir);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	free(p);
	p = xasprintf("%s/.thunderbird/linked", dir);
	ck_assert_int_eq(symlink("/tmp", p), 0);
	free(p);
	{
		struct ws_profile prof = {"x", ".thunderbird/linked"};

		ck_assert_int_eq(ws_profile_open(pfd, &prof, &err), -1);
		ck_assert_msg(strstr(err, "symbolic link") != NULL, "%s", err);
		free(err);
	}
	close(pfd);
	close(sync[0]);
	close(sync[1]);
	ck_assert_int_eq(tu_rmtree(dir), 0);
}
END_TEST

static const char *const old_hosts[] = {"mail.old.example", "pop.old.example", NULL};
static const char *const old_smtp[] = {"smtp.old.example", NULL};
static const struct ws_switch sw = {old_hosts, old_smtp, "alice",
				    {"mail.new.example", 993, 3, "alice@new.example"},
				    {"mail.new.example", 995, 3, "alice@new.example"},
				    {"smtp.new.example", 587, 2, "alice@new.example"}};

/* The checks before a switch on the fixture homes: alice passes, with
 * what would change and her Local Folders; dave's Thunderbird runs;
 * carol's Local Folders are a maildir store; a home without a profile. */
START_TEST(test_check)
{
	struct ws_check c;
	char *err = NULL;
	int home = open_home("alice");

	ck_assert_int_eq(ws_check_run(home, "/home/alice", &sw, &c, &err), 0);
	ck_assert_msg(c.failure == NULL, "%s", c.failure);
	ck_assert_str_eq(c.profile, ".thunderbird/abcd1234.default-release");
	ck_assert_uint_eq(c.changes, 12);
	ck_assert_str_eq(c.lf_rel, "Mail/Local Folders");
	ck_assert_int_eq(c.lf_maildir, 0);
	ck_assert_uint_eq(c.lf_folders, 6);
	ck_assert_uint_eq(c.lf_bytes, 93 + 962 + 112 + 118);
	ck_assert_uint_gt(c.free_bytes, 0);
	ws_check_free(&c);
	close(home);
	home = open_home("dave");
	ck_assert_int_eq(ws_check_run(home, "/home/dave", &sw, &c, &err), 0);
	ck_assert_msg(c.failure && strstr(c.failure, "running (pid 1)"), "%s", c.failure);
	ws_check_free(&c);
	close(home);
	home = open_home("carol");
	ck_assert_int_eq(ws_check_run(home, "/home/carol", &sw, &c, &err), 0);
	ck_assert_msg(c.failure == NULL, "%s", c.failure);
	ck_assert_uint_eq(c.changes, 0); /* carol: old_user is alice */
	ck_assert_int_eq(c.lf_maildir, 1);
	ck_assert_uint_eq(c.lf_folders, 3);
	ws_check_free(&c);
	close(home);
	home = open_home("alice/.thunderbird");
	ck_assert_int_eq(ws_check_run(home, "/home/alice/.thunderbird", &sw, &c, &err), 0);
	ck_assert_msg(c.failure && strstr(c.failure, "no Thunderbird profile"), "%s", c.failure);
	ws_check_free(&c);
	close(home);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_LOOP(test_parse, cases), CK_TEST(test_fixture_alice), CK_TEST(test_fixture_running),
		CK_TEST(test_parentlock), CK_TEST(test_check),
	};

	return ck_run(CK_SUITE("ws_profile", "profiles", 0, tests));
}
