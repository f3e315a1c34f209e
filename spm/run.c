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

/* One child's pipes (-1 once closed), what it wrote and what is left to
 * write to it. */
struct proc {
	int pin[2], pout[2], perr[2];
	struct sink out, err;
	const char *in;
	size_t inlen, inoff;
	pid_t pid;
};

/* serve_fd: one ready descriptor of FD's poll() answer. A pipe is closed
 * at EOF or on an error other than a retry. */
static void serve_fd(struct proc *p, const struct pollfd *fd)
{
	char buf[65536];
	ssize_t r;

	if (fd->fd == p->pin[1]) {
		r = write(p->pin[1], p->in + p->inoff, p->inlen - p->inoff);
		if (r > 0)
			p->inoff += (size_t)r;
		if (r < 0 || p->inoff == p->inlen) {
			close(p->pin[1]);
			p->pin[1] = -1;
		}
		return;
	}
	r = read(fd->fd, buf, sizeof(buf));
	if (r > 0) {
		sink_add(fd->fd == p->pout[0] ? &p->out : &p->err, buf, (size_t)r);
		return;
	}
	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (fd->fd == p->pout[0]) {
		close(p->pout[0]);
		p->pout[0] = -1;
	} else {
		close(p->perr[0]);
		p->perr[0] = -1;
	}
}

/* pump: feed the child and drain its output until both output pipes are
 * closed; 1 if DEADLINE came first and the child's group was killed. */
static int pump(struct proc *p, long long deadline)
{
	while (p->pout[0] >= 0 || p->perr[0] >= 0) {
		struct pollfd fds[3];
		int nfds = 0, wait_ms;
		long long left = deadline - time_mono_us();

		if (left <= 0) {
			kill(-p->pid, SIGKILL);
			kill(p->pid, SIGKILL);
			return 1;
		}
		wait_ms = left / 1000 + 1 > 1000 ? 1000 : (int)(left / 1000 + 1);
		if (p->pout[0] >= 0)
			fds[nfds++] = (struct pollfd){p->pout[0], POLLIN, 0};
		if (p->perr[0] >= 0)
			fds[nfds++] = (struct pollfd){p->perr[0], POLLIN, 0};
		if (p->pin[1] >= 0)
			fds[nfds++] = (struct pollfd){p->pin[1], POLLOUT, 0};
		if (poll(fds, (nfds_t)nfds, wait_ms) < 0 && errno != EINTR)
			return 0;
		for (int i = 0; i < nfds; i++)
			if (fds[i].revents != 0)
				serve_fd(p, &fds[i]);
	}
	return 0;
}

/* exit_rc: the run_argv() result for the child's wait STATUS. */
static int exit_rc(int status, int timed_out, const struct sink *err)
{
	if (timed_out)
		return RUN_TIMEOUT;
	if (WIFEXITED(status))
		return WEXITSTATUS(status) == 127 && strncmp(err->buf, "execve ", 7) == 0
			       ? RUN_ERROR
			       : WEXITSTATUS(status);
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE ? RUN_SIGPIPE : RUN_SIGNALED;
}

static void close_pipes(struct proc *p)
{
	for (int i = 0; i < 2; i++) {
		if (p->pin[i] >= 0)
			close(p->pin[i]);
		if (p->pout[i] >= 0)
			close(p->pout[i]);
		if (p->perr[i] >= 0)
			close(p->perr[i]);
	}
}

int run_argv(const char *const *argv, const char *const *env, const char *in,
	     long long timeout_ms, char **out_r, char **err_r)
{
	struct proc p = {{-1, -1}, {-1, -1}, {-1, -1}, {NULL, 0, 0, 0}, {NULL, 0, 0, 0},
			 in, in ? strlen(in) : 0, 0, 0};
	long long deadline = time_mono_us() + timeout_ms * 1000;
	int status = 0, rc = RUN_ERROR, timed_out;

	sink_add(&p.out, "", 0);
	sink_add(&p.err, "", 0);
	if (pipe2(p.pin, O_CLOEXEC) < 0 || pipe2(p.pout, O_CLOEXEC) < 0 ||
	    pipe2(p.perr, O_CLOEXEC) < 0) {
		sink_add(&p.err, "pipe failed", 11);
		goto out;
	}
	p.pid = fork();
	if (p.pid < 0) {
		sink_add(&p.err, "fork failed", 11);
		goto out;
	}
	if (p.pid == 0)
		child(argv, env, p.pin[0], p.pout[1], p.perr[1]);
	close(p.pin[0]);
	close(p.pout[1]);
	close(p.perr[1]);
	p.pin[0] = p.pout[1] = p.perr[1] = -1;
	fcntl(p.pin[1], F_SETFL, O_NONBLOCK);
	if (p.inlen == 0) {
		close(p.pin[1]);
		p.pin[1] = -1;
	}
	timed_out = pump(&p, deadline);
	while (waitpid(p.pid, &status, 0) < 0 && errno == EINTR)
		;
	rc = exit_rc(status, timed_out, &p.err);
	/* A cut listing read as whole would hide what is beyond the cut. */
	if (p.out.cut && out_r && rc == 0)
		rc = RUN_TOOBIG;
out:
	close_pipes(&p);
	if (out_r)
		*out_r = p.out.buf;
	else
		free(p.out.buf);
	if (err_r)
		*err_r = p.err.buf;
	else
		free(p.err.buf);
	return rc;
}

const char *run_status_text(int status, char buf[64])
{
	switch (status) {
	case RUN_TIMEOUT:
		return "timed out";
	case RUN_SIGNALED:
		return "killed by a signal";
	case RUN_SIGPIPE:
		return "killed by SIGPIPE";
	case RUN_ERROR:
		return "could not be started";
	case RUN_TOOBIG:
		return "output over " RUN_OUTPUT_MAX_TEXT;
	default:
		snprintf(buf, 64, "exit %d", status);
		return buf;
	}
}
