#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "postfix.h"
#include "qid.h"
#include "run.h"
#include "timeutil.h"
#include "xalloc.h"

#define PF_TIMEOUT_MS 30000
#define KICK_WAIT_MS 1000 /* postkick: see direct() */
#define HELPER_LINE_MAX (256 * 1024)
#define HELPER_IDS_MAX 2000

struct pf {
	char *dir; /* postfix_config_directory */
	char *postqueue, *postsuper, *postkick;
	int helper_fd;	  /* -1: run the commands ourselves */
	pid_t helper_pid; /* 0 once reaped */
	char lost[160];	  /* why the helper is gone; "" while it serves */
	pf_lost_fn on_lost;
};

int pf_valid_id(const char *id)
{
	return qid_valid(id);
}

/* ids_ok: 1 if LIST is queue IDs (or nothing) separated by single
 * spaces, which become newlines (postsuper - reads one a line); *N_R
 * counts the separators. */
static int ids_ok(char *list, size_t *n_r)
{
	*n_r = 0;
	for (char *id = list; *list;) {
		char *sp = strchr(id, ' ');

		if (sp)
			*sp = '\0';
		if (!qid_valid(id))
			return 0;
		if (sp == NULL)
			return 1;
		*sp = '\n';
		(*n_r)++;
		id = sp + 1;
	}
	return 1;
}

/* direct: run postsuper (VERB 'h' or 'r') or postkick ('k'); 0 or -1. */
static int direct(struct pf *pf, char verb, const char *ids_nl)
{
	char *err = NULL, sbuf[64];
	int st;

	if (verb == 'k') {
		const char *argv[] = {pf->postkick, "-c", pf->dir, "public", "pickup", "W", NULL};

		/* postkick writes the request, then a null byte, and waits
		 * for pickup to close the connection, which pickup does when
		 * it has taken in the whole maildrop: 3 s for 280 requeued
		 * messages on a busy 2-core machine, during which a front end
		 * or the pilot would take no order. Connecting and writing
		 * take milliseconds: a postkick still running after
		 * KICK_WAIT_MS has kicked, and is let go. Dying of SIGPIPE is
		 * a kick delivered too: pickup had read the request, done its
		 * work and closed before the null byte came (one kick in two
		 * when kicks come back to back). Any other failure: once more
		 * after a moment, or the requeued mail waits for pickup's next
		 * wake-up (60 s). */
		for (int i = 0; i < 3; i++) {
			free(err);
			err = NULL;
			st = run_argv(argv, NULL, NULL, KICK_WAIT_MS, NULL, &err);
			if (st == RUN_SIGPIPE || st == RUN_TIMEOUT)
				st = 0;
			if (st == 0)
				break;
			time_sleep_us(100000);
		}
	} else {
		/* -h only in the deferred queue: a message that qmgr moved to
		 * active meanwhile is being delivered, and moving its file to
		 * hold would not stop that delivery but make the release
		 * requeue it too (a duplicate). -r only in the hold queue, for
		 * the same reason: postsuper's default is every queue, and a
		 * message that left hold after the sweep's scan (an admin's
		 * "postsuper -H") would be requeued while qmgr delivers it,
		 * and delivered again from the new queue file. */
		const char *argv[] = {pf->postsuper, "-c", pf->dir, verb == 'h' ? "-h" : "-r", "-",
				      verb == 'h' ? "deferred" : "hold", NULL};

		st = run_argv(argv, NULL, ids_nl, PF_TIMEOUT_MS, NULL, &err);
	}
	if (st != 0) {
		log_error("%s: %s: %s", verb == 'k' ? pf->postkick : pf->postsuper,
			  run_status_text(st, sbuf), err ? err : "");
		free(err);
		return -1;
	}
	free(err);
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* queue_listing: postqueue -j output into *OUT_R; 0 or -1 (logged). */
static int queue_listing(struct pf *pf, char **out_r)
{
	const char *argv[] = {pf->postqueue, "-c", pf->dir, "-j", NULL};
	char *err = NULL, sbuf[64];
	int st = run_argv(argv, NULL, NULL, PF_TIMEOUT_MS, out_r, &err);

	if (st != 0) {
		log_error("%s -j: %s: %.300s", pf->postqueue, run_status_text(st, sbuf),
			  err ? err : "");
		free(*out_r);
		*out_r = NULL;
	}
	free(err);
	return st == 0 ? 0 : -1;
}

/*
 * helper_main: the root helper. Lines "h ID ID...", "r ID ID..." or "k";
 * answers "0" or "1". Anything malformed ends the helper: its only peer
 * is our own unprivileged half, so garbage means it was subverted.
 */
static void helper_main(struct pf *pf, int fd)
{
	char *buf = xmalloc(HELPER_LINE_MAX + 1);
	size_t len = 0;

	for (;;) {
		char *nl;
		ssize_t n = read(fd, buf + len, HELPER_LINE_MAX - len);

		if (n <= 0)
			_exit(0);
		len += (size_t)n;
		buf[len] = '\0';
		while ((nl = memchr(buf, '\n', len)) != NULL) {
			*nl = '\0';
			char verb = buf[0];
			char *ids = xstrdup(buf[0] && buf[1] == ' ' ? buf + 2 : "");
			size_t nids = 0;
			int ok = (verb == 'h' || verb == 'r' || verb == 'k' || verb == 'q') &&
				 (buf[1] == '\0' || buf[1] == ' ');

			if (!ok || !ids_ok(ids, &nids) || nids > HELPER_IDS_MAX ||
			    ((verb == 'h' || verb == 'r') && *ids == '\0') ||
			    ((verb == 'k' || verb == 'q') && *ids != '\0')) {
				log_error("privileged helper: bad request, exiting");
				_exit(1);
			}
			if (verb == 'q') {
				/* The queue listing: "LEN\n" then LEN bytes, or "-1\n". */
				char *out = NULL, head[32];
				int rc = queue_listing(pf, &out);
				size_t olen = rc == 0 ? strlen(out) : 0;
				int hl = snprintf(head, sizeof(head), "%lld\n", rc == 0 ? (long long)olen : -1LL);

				if (write_all(fd, head, (size_t)hl) < 0 || write_all(fd, out, olen) < 0)
					_exit(1);
				free(out);
			} else {
				char *in = xasprintf("%s\n", ids);
				int rc = direct(pf, verb, in);

				free(in);
				if (write(fd, rc == 0 ? "0\n" : "1\n", 2) != 2)
					_exit(1);
			}
			free(ids);
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len);
		}
		if (len == HELPER_LINE_MAX) {
			log_error("privileged helper: request too long, exiting");
			_exit(1);
		}
	}
}

struct pf *pf_open(const struct config *cfg, char **err_r)
{
	struct pf *pf = xcalloc(1, sizeof(*pf));
	const char *cmd = config_str(cfg, "postfix_command_directory");
	int sv[2];

	pf->dir = xstrdup(config_str(cfg, "postfix_config_directory"));
	pf->postqueue = xasprintf("%s/postqueue", cmd);
	pf->postsuper = xasprintf("%s/postsuper", cmd);
	pf->postkick = xasprintf("%s/postkick", cmd);
	pf->helper_fd = -1;
	if (geteuid() != 0)
		return pf;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		*err_r = xasprintf("socketpair: %s", strerror(errno));
		pf_close(&pf);
		return NULL;
	}
	pid_t parent = getpid();

	pf->helper_pid = fork();
	if (pf->helper_pid < 0) {
		*err_r = xasprintf("fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		pf_close(&pf);
		return NULL;
	}
	if (pf->helper_pid == 0) {
		const char *delay = getenv("FEDMIG_SPM_HELPER_DELAY_MS");

		/* Test hook: a helper slow to start, as on a loaded machine. */
		if (delay)
			usleep((useconds_t)atoi(delay) * 1000);
		/* Nothing but its socket: in particular not the pilot's lock
		 * file, or a pilot killed with -9 could not be restarted until
		 * the helper noticed and went. */
		if (sv[1] > 3)
			close_range(3, (unsigned)sv[1] - 1, 0);
		close_range((unsigned)sv[1] + 1, ~0U, 0);
		/* Die with the pilot; never outlive it as a root process. */
		signal(SIGTERM, SIG_DFL);
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		/* Tell the pilot the lock is no longer ours too (see below). */
		if (write(sv[1], "+", 1) != 1)
			_exit(1);
		helper_main(pf, sv[1]);
	}
	close(sv[1]);
	pf->helper_fd = sv[0];
	/*
	 * Wait for the helper's word that it runs with nothing of ours but
	 * its socket (fedmig-spm forks it before taking its lock, so that a
	 * helper slow to start never holds the lock; this is the guarantee
	 * for any other descriptor).
	 */
	char ready;
	ssize_t n;

	while ((n = read(pf->helper_fd, &ready, 1)) < 0 && errno == EINTR)
		;
	if (n != 1 || ready != '+') {
		*err_r = xasprintf("privileged helper (pid %ld): did not start", (long)pf->helper_pid);
		pf_close(&pf);
		return NULL;
	}
	return pf;
}

void pf_close(struct pf **pfp)
{
	struct pf *pf = *pfp;

	if (pf == NULL)
		return;
	if (pf->helper_fd >= 0) {
		close(pf->helper_fd);
		while (pf->helper_pid > 0 && waitpid(pf->helper_pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	free(pf->dir);
	free(pf->postqueue);
	free(pf->postsuper);
	free(pf->postkick);
	free(pf);
	*pfp = NULL;
}

/* told: the program learns the helper is gone (pf_on_lost); -1. */
static int told(struct pf *pf)
{
	if (pf->on_lost)
		pf->on_lost(pf->lost);
	else
		log_error("%s", pf->lost);
	return -1;
}

/* exited: the helper exited with wait STATUS: say so, tell the program. */
static int exited(struct pf *pf, int status)
{
	if (WIFSIGNALED(status))
		snprintf(pf->lost, sizeof(pf->lost), "privileged helper exited (signal %d)",
			 WTERMSIG(status));
	else
		snprintf(pf->lost, sizeof(pf->lost), "privileged helper exited (status %d)",
			 WEXITSTATUS(status));
	pf->helper_pid = 0;
	return told(pf);
}

/*
 * helper_gone: the helper no longer serves (its socket closed or broke,
 * or it exited): record why, with its exit status when it can be had,
 * and tell the program. Always -1. Nothing more goes to the helper: a
 * request half written or half answered leaves the line out of step, and
 * an unprivileged pilot cannot fork a new root helper anyway.
 */
static int helper_gone(struct pf *pf, const char *what)
{
	pid_t w = 0;
	int st = 0;

	if (*pf->lost)
		return -1;
	/* A closed socket means the helper is exiting: give it a moment. */
	for (int i = 0; i < 100 && pf->helper_pid > 0; i++) {
		while ((w = waitpid(pf->helper_pid, &st, WNOHANG)) < 0 && errno == EINTR)
			;
		if (w != 0)
			break;
		usleep(10000);
	}
	if (w > 0 && w == pf->helper_pid)
		return exited(pf, st);
	if (w < 0) { /* reaped already (an event loop's SIGCHLD handler) */
		snprintf(pf->lost, sizeof(pf->lost), "privileged helper exited");
		pf->helper_pid = 0;
	} else {
		snprintf(pf->lost, sizeof(pf->lost), "privileged helper (pid %ld): %s",
			 (long)pf->helper_pid, what);
	}
	return told(pf);
}

/* helper_check: 0 while the helper runs, else helper_gone(). */
static int helper_check(struct pf *pf)
{
	pid_t w;
	int st;

	if (*pf->lost)
		return -1;
	while ((w = waitpid(pf->helper_pid, &st, WNOHANG)) < 0 && errno == EINTR)
		;
	if (w == 0)
		return 0;
	if (w == pf->helper_pid)
		return exited(pf, st);
	return helper_gone(pf, "gone");
}

/* helper_send: all of BUF to the helper; 0, or -1 when it is gone.
 * send(MSG_NOSIGNAL): a closed socket is EPIPE here, never a SIGPIPE
 * that would end the pilot without a word. */
static int helper_send(struct pf *pf, const char *buf, size_t n)
{
	char why[80];

	while (n > 0) {
		ssize_t w = send(pf->helper_fd, buf, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(why, sizeof(why), "send: %s", w < 0 ? strerror(errno) : "nothing sent");
			return helper_gone(pf, why);
		}
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/* helper_recv: exactly N bytes from the helper; 0, or -1 when it is gone. */
static int helper_recv(struct pf *pf, char *buf, size_t n)
{
	char why[80];

	while (n > 0) {
		ssize_t r = read(pf->helper_fd, buf, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(why, sizeof(why), "read: %s",
				 r < 0 ? strerror(errno) : "end of file");
			return helper_gone(pf, why);
		}
		buf += r;
		n -= (size_t)r;
	}
	return 0;
}

/* helper_line: one answer line (without its newline) into BUF (SIZE
 * bytes); 0, or -1 when the helper is gone or the line is too long. */
static int helper_line(struct pf *pf, char *buf, size_t size)
{
	for (size_t len = 0; len < size - 1; len++) {
		if (helper_recv(pf, buf + len, 1) < 0)
			return -1;
		if (buf[len] == '\n') {
			buf[len] = '\0';
			return 0;
		}
	}
	return helper_gone(pf, "answer line too long");
}

/* ask_helper: VERB for IDS; 0, or -1: the command failed (logged by the
 * helper) or the helper is gone (helper_gone). */
static int ask_helper(struct pf *pf, char verb, const char *const *ids, size_t n)
{
	size_t len = 2;
	char *line, *p, ans[8];

	if (helper_check(pf) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		len += strlen(ids[i]) + 1;
	p = line = xmalloc(len + 1);
	*p++ = verb;
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, " %s", ids[i]);
	*p++ = '\n';
	int rc = helper_send(pf, line, (size_t)(p - line));

	free(line);
	if (rc < 0 || helper_line(pf, ans, sizeof(ans)) < 0)
		return -1;
	if (strcmp(ans, "0") == 0)
		return 0;
	if (strcmp(ans, "1") != 0)
		return helper_gone(pf, "unexpected answer");
	log_error("privileged helper: %c request failed", verb);
	return -1;
}

/* batch: VERB for IDS, HELPER_IDS_MAX at a time. */
static int batch(struct pf *pf, char verb, const char *const *ids, size_t n)
{
	int rc = 0;

	for (size_t i = 0; i < n; i++)
		if (!pf_valid_id(ids[i])) {
			log_error("refusing bad queue id \"%s\"", ids[i]);
			return -1;
		}
	for (size_t off = 0; off < n; off += HELPER_IDS_MAX) {
		size_t k = n - off > HELPER_IDS_MAX ? HELPER_IDS_MAX : n - off;

		if (pf->helper_fd >= 0) {
			rc |= ask_helper(pf, verb, ids + off, k);
		} else {
			size_t len = 1;

			for (size_t i = 0; i < k; i++)
				len += strlen(ids[off + i]) + 1;
			char *in = xmalloc(len), *p = in;

			for (size_t i = 0; i < k; i++)
				p += sprintf(p, "%s\n", ids[off + i]);
			rc |= direct(pf, verb, in);
			free(in);
		}
	}
	return rc ? -1 : 0;
}

int pf_hold(struct pf *pf, const char *const *ids, size_t n)
{
	return n ? batch(pf, 'h', ids, n) : 0;
}

int pf_release(struct pf *pf, const char *const *ids, size_t n)
{
	return n ? batch(pf, 'r', ids, n) : 0;
}

void pf_on_lost(struct pf *pf, pf_lost_fn fn)
{
	pf->on_lost = fn;
}

const char *pf_lost(const struct pf *pf)
{
	return *pf->lost ? pf->lost : NULL;
}

long pf_helper_pid(const struct pf *pf)
{
	return pf->helper_fd >= 0 ? (long)pf->helper_pid : 0;
}

int pf_helper_exited(struct pf *pf, int status)
{
	if (pf->helper_fd < 0 || *pf->lost)
		return -1;
	return exited(pf, status);
}

int pf_kick(struct pf *pf)
{
	return pf->helper_fd >= 0 ? ask_helper(pf, 'k', NULL, 0) : direct(pf, 'k', NULL);
}

struct scan_ctx {
	pf_msg_fn fn;
	void *ctx;
	int bad;
};

static int scan_one(void *vctx, const struct pq_msg *m, int line, const char *why)
{
	struct scan_ctx *c = vctx;

	if (m == NULL) {
		/* One bad line must not hide the others from the drain. */
		if (c->bad++ == 0)
			log_warn("postqueue -j line %d: %s", line, why);
		return 0;
	}
	return c->fn(c->ctx, m);
}

/* helper_listing: the helper's postqueue -j output; 0, or -1: postqueue
 * failed (logged by the helper) or the helper is gone (helper_gone). */
static int helper_listing(struct pf *pf, char **out_r)
{
	char head[32], *end;
	long long len;

	if (helper_check(pf) < 0 || helper_send(pf, "q\n", 2) < 0 ||
	    helper_line(pf, head, sizeof(head)) < 0)
		return -1;
	errno = 0;
	len = strtoll(head, &end, 10);
	if (end == head || *end != '\0' || errno != 0 || len < -1 || len > RUN_OUTPUT_MAX)
		return helper_gone(pf, "unexpected answer");
	if (len < 0) {
		log_error("privileged helper: queue listing failed");
		return -1;
	}
	char *out = xmalloc((size_t)len + 1);

	if (helper_recv(pf, out, (size_t)len) < 0) {
		free(out);
		return -1;
	}
	out[len] = '\0';
	*out_r = out;
	return 0;
}

int pf_scan(struct pf *pf, pf_msg_fn fn, void *ctx)
{
	struct scan_ctx c = {fn, ctx, 0};
	struct pq_reader *r;
	char *out = NULL;

	/* Postfix lets only root name a non-default instance with -c (unless
	 * the default main.cf lists it in alternate_config_directories). */
	if ((pf->helper_fd >= 0 ? helper_listing(pf, &out) : queue_listing(pf, &out)) < 0)
		return -1;
	r = pq_reader_new(scan_one, &c);
	int rc = pq_feed(r, out, strlen(out));

	if (rc == 0)
		rc = pq_finish(r);
	pq_reader_free(&r);
	free(out);
	/* A listing with a message we could not read is no listing to decide
	 * from: the drain would call P1 drained past it, the sweep would take
	 * a held message it did not see for gone and never release it. */
	if (rc == 0 && c.bad > 0) {
		log_error("postqueue -j: %d unreadable line%s: the queue listing is incomplete, "
			  "no drain or release decided from it",
			  c.bad, c.bad == 1 ? "" : "s");
		rc = -1;
	}
	return rc < 0 ? -1 : 0;
}
