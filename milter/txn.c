#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "mstatus.h"
#include "timeutil.h"
#include "txn.h"
#include "xalloc.h"

static pthread_mutex_t txn_lock = PTHREAD_MUTEX_INITIALIZER;
static struct txn *txn_head;
static size_t txn_count;

static void link_locked(struct txn *t)
{
	t->prev = NULL;
	t->next = txn_head;
	if (txn_head)
		txn_head->prev = t;
	txn_head = t;
	t->linked = 1;
	txn_count++;
}

void txn_begin_at(struct txn *t, long long mail_us)
{
	pthread_mutex_lock(&txn_lock);
	if (t->linked) {
		/* A second MAIL FROM without an abort: the transaction restarts. */
		t->mail_us = mail_us;
	} else {
		t->mail_us = mail_us;
		link_locked(t);
	}
	pthread_mutex_unlock(&txn_lock);
}

void txn_end(struct txn *t)
{
	pthread_mutex_lock(&txn_lock);
	if (t->linked) {
		if (t->prev)
			t->prev->next = t->next;
		else
			txn_head = t->next;
		if (t->next)
			t->next->prev = t->prev;
		t->prev = t->next = NULL;
		t->linked = 0;
		txn_count--;
	}
	pthread_mutex_unlock(&txn_lock);
}

void txn_oldest(long long *oldest_r, size_t *count_r)
{
	long long oldest = 0;

	/* A scan, not a sorted list: the wall clock may step back, and the
	 * list is as long as the SMTP sessions Postfix runs at once. */
	pthread_mutex_lock(&txn_lock);
	for (const struct txn *t = txn_head; t; t = t->next)
		if (oldest == 0 || t->mail_us < oldest)
			oldest = t->mail_us;
	*count_r = txn_count;
	pthread_mutex_unlock(&txn_lock);
	*oldest_r = oldest;
}

size_t txn_status_line(char *buf, size_t size)
{
	long long oldest;
	size_t count;

	txn_oldest(&oldest, &count);
	return mstatus_encode(buf, size, oldest, (long long)count);
}

/* --- the status socket --- */

static pthread_t status_thread;
static int status_running;
static int status_pipe[2] = {-1, -1};
static int status_lfd = -1;

static void answer(int fd)
{
	char line[TXN_STATUS_MAX];
	size_t len = txn_status_line(line, sizeof(line));

	/* A fresh socket buffer always takes a line this short; a peer that
	 * went away meanwhile only costs us an EPIPE (SIGPIPE is ignored). */
	if (write(fd, line, len) < 0 && errno != EPIPE)
		log_debug("status socket: write: %s", strerror(errno));
	close(fd);
}

static void *status_loop(void *arg)
{
	struct pollfd p[2] = {{.fd = status_lfd, .events = POLLIN},
			      {.fd = status_pipe[0], .events = POLLIN}};

	(void)arg;
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("status socket: poll: %s", strerror(errno));
			break;
		}
		if (p[1].revents)
			break;
		if (p[0].revents & POLLIN) {
			int fd = daemon_accept(status_lfd);

			if (fd >= 0)
				answer(fd);
			else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
				 errno != ECONNABORTED) {
				log_warn("status socket: accept: %s", strerror(errno));
				/* EMFILE and friends: do not spin. */
				usleep(100000);
			}
		}
	}
	return NULL;
}

int status_start(int lfd, char **err_r)
{
	sigset_t all, old;
	int rc;

	if (pipe2(status_pipe, O_CLOEXEC) < 0) {
		*err_r = xasprintf("pipe: %s", strerror(errno));
		return -1;
	}
	status_lfd = lfd;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&status_thread, NULL, status_loop, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		*err_r = xasprintf("pthread_create: %s", strerror(rc));
		close(status_pipe[0]);
		close(status_pipe[1]);
		status_pipe[0] = status_pipe[1] = -1;
		return -1;
	}
	status_running = 1;
	return 0;
}

void status_stop(void)
{
	if (!status_running)
		return;
	if (write(status_pipe[1], "x", 1) < 0)
		log_warn("status socket: stop: %s", strerror(errno));
	pthread_join(status_thread, NULL);
	close(status_pipe[0]);
	close(status_pipe[1]);
	status_pipe[0] = status_pipe[1] = -1;
	status_running = 0;
}
