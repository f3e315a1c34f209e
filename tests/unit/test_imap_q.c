/*
 * imap_q against a fake server on the loopback: a string from the source
 * server (a folder name sent as a literal may hold CR LF) must never reach
 * the target as a line of its own, whatever the target's capabilities.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ckmain.h"
#include "imap.h"

/* serve: a child that greets with CAPS (one we know, or the client asks) and writes what it reads to the
 * pipe *OUT_R until the client goes; returns its pid. */
static pid_t serve(const char *caps, int *port_r, int *out_r)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sin);
	int l = socket(AF_INET, SOCK_STREAM, 0), p[2];
	pid_t pid;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(l, 1), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&sin, &sl), 0);
	ck_assert_int_eq(pipe(p), 0);
	*port_r = ntohs(sin.sin_port);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = accept(l, NULL, NULL);
		char buf[4096], greet[256];
		ssize_t n;

		close(p[0]);
		snprintf(greet, sizeof(greet), "* OK [CAPABILITY %s] fake\r\n", caps);
		if (fd < 0 || write(fd, greet, strlen(greet)) < 0)
			_exit(1);
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			if (write(p[1], buf, (size_t)n) != n)
				_exit(1);
		_exit(0);
	}
	close(l);
	close(p[1]);
	*out_r = p[0];
	return pid;
}

static char *sent(int fd, pid_t pid)
{
	static char buf[8192];
	size_t len = 0;
	ssize_t n;

	while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fd);
	waitpid(pid, NULL, 0);
	return buf;
}

/* fake_conn: a client connected to serve(CAPS); the server's pipe and pid
 * in *FD_R and *PID_R, for sent(). */
static struct imap_conn *fake_conn(const char *caps, int *fd_r, pid_t *pid_r)
{
	char url[64], *err = NULL;
	struct imap_opts o = {.url = url, .starttls = IMAP_TLS_NONE, .timeout_ms = 5000};
	struct imap_conn *c;
	int port;

	*pid_r = serve(caps, &port, fd_r);
	snprintf(url, sizeof(url), "imap://127.0.0.1:%d", port);
	c = imap_connect(&o, &err);
	ck_assert_msg(c != NULL, "connect: %s", err ? err : "");
	return c;
}

static const char *evil = "Projects\r\nA9 DELETE INBOX";

START_TEST(test_crlf_without_literalplus)
{
	char *out;
	int fd;
	pid_t pid;
	struct imap_conn *c = fake_conn("IMAP4rev1 UIDPLUS", &fd, &pid);

	imap_cmd(c, "CREATE %s", imap_q(c, evil));
	ck_assert_int_eq(imap_flush(c), -1);
	ck_assert_ptr_nonnull(strstr(imap_error(c), "CR or LF"));
	imap_close(&c);
	out = sent(fd, pid);
	ck_assert_msg(strstr(out, "DELETE") == NULL, "sent: %s", out);
}
END_TEST

START_TEST(test_crlf_with_literalplus)
{
	char *out, want[128];
	int fd;
	pid_t pid;
	struct imap_conn *c = fake_conn("IMAP4rev1 LITERAL+", &fd, &pid);

	imap_cmd(c, "CREATE %s", imap_q(c, evil));
	ck_assert_int_eq(imap_flush(c), 0);
	imap_close(&c);
	out = sent(fd, pid);
	/* A literal: the CR LF inside is counted, not read as a line end. */
	snprintf(want, sizeof(want), "CREATE {%zu+}\r\n%s\r\n", strlen(evil), evil);
	ck_assert_msg(strstr(out, want) != NULL, "sent: %s", out);
}
END_TEST

START_TEST(test_quoted)
{
	char *out;
	int fd;
	pid_t pid;
	struct imap_conn *c = fake_conn("IMAP4rev1 UIDPLUS", &fd, &pid);

	imap_cmd(c, "CREATE %s", imap_q(c, "a \"b\" \\c"));
	ck_assert_int_eq(imap_flush(c), 0);
	imap_close(&c);
	out = sent(fd, pid);
	ck_assert_msg(strstr(out, "CREATE \"a \\\"b\\\" \\\\c\"\r\n") != NULL, "sent: %s", out);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_TEST(test_crlf_without_literalplus), CK_TEST(test_crlf_with_literalplus),
		CK_TEST(test_quoted),
	};

	signal(SIGPIPE, SIG_IGN);
	return ck_run(CK_SUITE("imap_q", "core", 0, tests));
}
