/* daemon_listen on a unix socket: the mode asked for, whatever the
 * process umask, with no chmod by path after bind (a link swapped in
 * there would have had root change its target), and the umask restored. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ckmain.h"
#include "daemon.h"

START_TEST(test_mode)
{
	static const mode_t modes[] = {0600, 0660, 0666};
	char dir[] = "/tmp/test_daemon_sock_XXXXXX", spec[320], path[300];
	struct stat st;
	char *err = NULL;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		snprintf(path, sizeof(path), "%s/s%zu", dir, i);
		snprintf(spec, sizeof(spec), "unix:%s", path);
		umask(077);
		int fd = daemon_listen(spec, 4, modes[i], NULL, NULL, &err);

		ck_assert_msg(fd >= 0, "%s", err ? err : "");
		ck_assert_int_eq(umask(022), 077);
		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_msg(S_ISSOCK(st.st_mode) && (st.st_mode & 0777) == modes[i],
			      "mode %o, want %o", st.st_mode & 0777, modes[i]);
		close(fd);
		unlink(path);
	}
	rmdir(dir);
}
END_TEST

/* Linked with --wrap=bind: after the real bind, the socket is swapped
 * for a link to SWAP_TO, as whoever writes the directory could. */
int __real_bind(int fd, const struct sockaddr *a, socklen_t l);
int __wrap_bind(int fd, const struct sockaddr *a, socklen_t l);
static const char *swap_to;

int __wrap_bind(int fd, const struct sockaddr *a, socklen_t l)
{
	int r = __real_bind(fd, a, l);

	if (r == 0 && swap_to && a->sa_family == AF_UNIX) {
		const char *p = ((const struct sockaddr_un *)a)->sun_path;

		if (unlink(p) < 0 || symlink(swap_to, p) < 0)
			abort();
	}
	return r;
}

START_TEST(test_swapped_for_link)
{
	char dir[] = "/tmp/test_daemon_sock_XXXXXX", spec[320], path[300], victim[300];
	struct stat st;
	char *err = NULL;
	FILE *fp;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s", dir);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	snprintf(spec, sizeof(spec), "unix:%s", path);
	fp = fopen(victim, "w");
	fclose(fp);
	chmod(victim, 0600);
	swap_to = victim;
	int fd = daemon_listen(spec, 4, 0666, NULL, NULL, &err);

	swap_to = NULL;
	/* Binding in a private directory, then renaming into place, may
	 * notice the swap and refuse: either way the target keeps its mode. */
	if (fd >= 0)
		close(fd);
	free(err);
	ck_assert_int_eq(stat(victim, &st), 0);
	ck_assert_msg((st.st_mode & 0777) == 0600, "the link's target got mode %o",
		      st.st_mode & 0777);
	unlink(path);
	unlink(victim);
	rmdir(dir);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_TEST(test_mode), CK_TEST(test_swapped_for_link),
	};

	return ck_run(CK_SUITE("daemon_sock", "core", 0, tests));
}
