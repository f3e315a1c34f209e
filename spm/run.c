#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run.h"
#include "timeutil.h"
#include "xalloc.h"

struct sink {
	char *buf;
	size_t len, cap;
	int cut; /* bytes were dropped */
};

static void sink_add(struct sink *k, const char *p, size_t n)
{
	if (k->len + n > RUN_OUTPUT_MAX) {
		n = RUN_OUTPUT_MAX - k->len; /* keep the start; drain the rest */
		k->cut = 1;
	}
	if (k->len + n + 1 > k->cap) {
		k->cap = (k->len + n + 1) * 2;
		k->buf = xrealloc(k->buf, k->cap);
	}
	memcpy(k->buf + k->len, p, n);
	k->len += n;
	k->buf[k->len] = '\0';
}

static void child(const char *const *argv, const char *const *env, int in, int out, int err)
{
	const char *path_env = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
	const char *envp[64];
	size_t n = 0;

	/* Own process group: a timeout kills the script's children too. */
	setpgid(0, 0);
	signal(SIGPIPE, SIG_DFL);
	envp[n++] = path_env;
	for (size_t i = 0; env && env[i] && n < 63; i++)
		envp[n++] = env[i];
	envp[n] = NULL;
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		_exit(126);
	execve(argv[0], (char *const *)argv, (char *const *)envp);
	dprintf(2, "execve %s: %s", argv[0], strerror(errno));
	_exit(127);
}

int run_argv(const char *const *argv, const char *const *env, const char *in,
	     long long timeout_ms, char **out_r, char **err_r)
{
	int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
	struct sink out = {NULL, 0, 0, 0}, err = {NULL, 0, 0, 0};
	size_t inlen = in ? strlen(in) : 0, inoff = 0;
	long long deadline = time_mono_us() + timeout_ms * 1000;
	int status = 0, rc = RUN_ERROR, timed_out = 0;
	pid_t pid;

	sink_add(&out, "", 0);
	sink_add(&err, "", 0);
	if (pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0) {
		sink_add(&err, "pipe failed", 11);
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		sink_add(&err, "fork failed", 11);
		goto out;
	}
	if (pid == 0)
		child(argv, env, pin[0], pout[1], perr[1]);
	close(pin[0]);
	close(pout[1]);
	close(perr[1]);
	pin[0] = pout[1] = perr[1] = -1;
	fcntl(pin[1], F_SETFL, O_NONBLOCK);
	if (inlen == 0) {
		close(pin[1]);
		pin[1] = -1;
	}
	while (pout[0] >= 0 || perr[0] >= 0) {
		struct pollfd fds[3];
		int nfds = 0, wait_ms;
		long long left = deadline - time_mono_us();

		if (left <= 0) {
			timed_out = 1;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			break;
		}
		wait_ms = left / 1000 + 1 > 1000 ? 1000 : (int)(left / 1000 + 1);
		if (pout[0] >= 0)
			fds[nfds++] = (struct pollfd){pout[0], POLLIN, 0};
		if (perr[0] >= 0)
			fds[nfds++] = (struct pollfd){perr[0], POLLIN, 0};
		if (pin[1] >= 0)
			fds[nfds++] = (struct pollfd){pin[1], POLLOUT, 0};
		if (poll(fds, (nfds_t)nfds, wait_ms) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < nfds; i++) {
			char buf[65536];
			ssize_t r;

			if (fds[i].revents == 0)
				continue;
			if (fds[i].fd == pin[1]) {
				r = write(pin[1], in + inoff, inlen - inoff);
				if (r > 0)
					inoff += (size_t)r;
				if (r < 0 || inoff == inlen) {
					close(pin[1]);
					pin[1] = -1;
				}
				continue;
			}
			r = read(fds[i].fd, buf, sizeof(buf));
			if (r > 0) {
				sink_add(fds[i].fd == pout[0] ? &out : &err, buf, (size_t)r);
				continue;
			}
			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (fds[i].fd == pout[0]) {
				close(pout[0]);
				pout[0] = -1;
			} else {
				close(perr[0]);
				perr[0] = -1;
			}
		}
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (timed_out)
		rc = RUN_TIMEOUT;
	else if (WIFEXITED(status))
		rc = WEXITSTATUS(status) == 127 && strncmp(err.buf, "execve ", 7) == 0
			     ? RUN_ERROR
			     : WEXITSTATUS(status);
	else
		rc = RUN_SIGNALED;
	/* A cut listing read as whole would hide what is beyond the cut. */
	if (out.cut && out_r && rc == 0)
		rc = RUN_TOOBIG;
out:
	for (int i = 0; i < 2; i++) {
		if (pin[i] >= 0)
			close(pin[i]);
		if (pout[i] >= 0)
			close(pout[i]);
		if (perr[i] >= 0)
			close(perr[i]);
	}
	if (out_r)
		*out_r = out.buf;
	else
		free(out.buf);
	if (err_r)
		*err_r = err.buf;
	else
		free(err.buf);
	return rc;
}

const char *run_status_text(int status, char buf[64])
{
	switch (status) {
	case RUN_TIMEOUT:
		return "timed out";
	case RUN_SIGNALED:
		return "killed by a signal";
	case RUN_ERROR:
		return "could not be started";
	case RUN_TOOBIG:
		return "output over " RUN_OUTPUT_MAX_TEXT;
	default:
		snprintf(buf, 64, "exit %d", status);
		return buf;
	}
}
