#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "server.h"
#include "smd.h"
#include "store_smd.h"
#include "timeutil.h"
#include "xalloc.h"

/*
 * The master owns the queue; each child owns one mailbox and records its
 * own outcome (it knows the reason). The master records an outcome only
 * when the child could not: killed by the timeout, by a signal, or dead
 * without a word (exit status other than 0, 1, 2).
 */

struct child {
	pid_t pid;
	long long request_id;
	int attempts;
	long long started; /* monotonic µs */
	int killed;
};

static volatile sig_atomic_t stop_flag, stop_signal;

static void on_term(int sig)
{
	stop_signal = sig;
	stop_flag = 1;
}

static long long retry_at(const struct config *cfg, int attempts, long long now)
{
	if (attempts >= config_int(cfg, "smd_max_attempts"))
		return 0;
	long long d = config_time_ms(cfg, "smd_retry_delay") * 1000;

	for (int i = 1; i < attempts && d < 86400LL * 1000000; i++)
		d *= 2;
	return now + d;
}

static struct store *open_store(const struct config *cfg)
{
	char *err = NULL;
	struct store *s = store_open(config_str(cfg, "state_database"), STORE_RDWR,
				     (int)config_time_ms(cfg, "store_busy_timeout"), &err);

	if (s == NULL) {
		log_error("%s", err);
		free(err);
	}
	return s;
}

static int run_child(const struct config *cfg, const struct smd_job *job)
{
	struct copy_opts o;
	struct copy_result r;
	char *err = NULL;
	int rc;

	/* A fresh connection: SQLite handles do not survive fork(). */
	struct store *s = open_store(cfg);

	if (s == NULL)
		return 3;
	store_smd_relax(s);
	memset(&o, 0, sizeof(o));
	smd_copy_opts(cfg, &o);
	o.store = s;
	o.request_id = job->request_id;
	o.stop = &stop_flag;
	if (smd_side_init(cfg, job->src_system, job->src_physical, &o.src, &err) < 0 ||
	    smd_side_init(cfg, job->dst_system, job->dst_physical, &o.dst, &err) < 0) {
		log_error("request=%lld: %s", job->request_id, err);
		store_smd_finish(s, job->request_id, 0, err,
				 retry_at(cfg, job->attempts, time_now_us()), time_now_us());
		free(err);
		smd_side_free(&o.src);
		smd_side_free(&o.dst);
		store_close(&s);
		return 1;
	}
	char *key = smd_mailbox_key(job->src_system, job->src_physical, job->dst_system,
				    job->dst_physical);

	o.mailbox_key = key;
	log_info("request=%lld: copy access=<%s> from=%s:%s to=%s:%s attempt=%d", job->request_id,
		 job->access, job->src_system, job->src_physical, job->dst_system,
		 job->dst_physical, job->attempts);
	rc = copy_mailbox(&o, &r);
	long long now = time_now_us();

	if (rc == COPY_OK) {
		log_info("request=%lld: copied folders=%lld messages=%lld bytes=%lld done=%lld "
			 "copied=%lld found=%lld skipped=%lld",
			 job->request_id, r.folders, r.messages, r.bytes,
			 r.copied + r.found + r.skipped, r.copied, r.found, r.skipped);
		store_smd_finish(s, job->request_id, 1, "", 0, now);
	} else if (rc == COPY_STOPPED) {
		log_info("request=%lld: stopped, progress recorded", job->request_id);
		store_smd_finish(s, job->request_id, 0, "stopped by SIGTERM", now, now);
	} else {
		long long at = retry_at(cfg, job->attempts, now);

		log_error("request=%lld: copy failed%s: %s", job->request_id,
			  at ? ", will retry" : "", r.reason);
		store_smd_finish(s, job->request_id, 0, r.reason, at, now);
	}
	free(key);
	smd_side_free(&o.src);
	smd_side_free(&o.dst);
	store_close(&s);
	return rc;
}

int smd_master(const struct config *cfg, int once)
{
	int max = (int)config_int(cfg, "smd_max_children");
	long long timeout_us = config_time_ms(cfg, "smd_child_timeout") * 1000;
	long long poll_us = config_time_ms(cfg, "smd_poll_interval") * 1000;
	struct child *kids = xcalloc((size_t)max, sizeof(*kids));
	int nkids = 0, status = 0, done = 0, failed = 0, stopped = 0;
	struct store *s;
	struct sigaction sa;

	/* One line at start and one at stop, as Postfix daemons log them: an
	 * operator reading the log sees which version and configuration ran
	 * and why it ended. */
	log_info("daemon started -- version %s, configuration %s, smd_max_children=%d%s",
		 FEDMIG_VERSION, config_path(cfg), max, once ? ", once" : "");
	s = open_store(cfg);
	if (s == NULL) {
		log_info("terminating: the state database cannot be opened: mailboxes done=0 "
			 "failed=0");
		free(kids);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (store_smd_recover(s, time_now_us()) < 0)
		log_warn("recover: %s", store_errmsg(s));
	long long last_poll = 0;

	for (;;) {
		int claimed_all = 0;

		/* Claim while there is room. */
		while (!stop_flag && nkids < max) {
			struct smd_job job;
			int r = store_smd_claim(s, time_now_us(), 0, &job, NULL);

			if (r == STORE_NOTFOUND) {
				claimed_all = 1;
				break;
			}
			if (r < 0) {
				log_error("claim: %s", store_errmsg(s));
				claimed_all = 1;
				status = 1;
				break;
			}
			pid_t pid = fork();

			if (pid < 0) {
				log_error("fork: %m");
				store_smd_finish(s, job.request_id, 0, "fork failed", time_now_us() + poll_us,
						 time_now_us());
				break;
			}
			if (pid == 0) {
				sa.sa_handler = on_term;
				sigaction(SIGTERM, &sa, NULL);
				_exit(run_child(cfg, &job));
			}
			kids[nkids].pid = pid;
			kids[nkids].request_id = job.request_id;
			kids[nkids].attempts = job.attempts;
			kids[nkids].started = time_mono_us();
			kids[nkids].killed = 0;
			nkids++;
			log_info("request=%lld: child pid=%d", job.request_id, (int)pid);
		}
		last_poll = time_mono_us();
		if (nkids == 0 && (stop_flag || (once && claimed_all)))
			break;
		/* Reap, enforce the timeout, pass SIGTERM on. */
		while (nkids > 0 || !stop_flag) {
			int st;
			pid_t pid = waitpid(-1, &st, WNOHANG);

			if (pid > 0) {
				for (int i = 0; i < nkids; i++) {
					if (kids[i].pid != pid)
						continue;
					int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;

					if (code == 0 && !kids[i].killed)
						done++;
					else if (code == 2 && !kids[i].killed)
						stopped++;
					else
						failed++;

					if (code < 0 || code > 2 || kids[i].killed) {
						char why[128];

						if (kids[i].killed)
							snprintf(why, sizeof(why), "killed after smd_child_timeout");
						else if (WIFSIGNALED(st))
							snprintf(why, sizeof(why), "child killed by signal %d",
								 WTERMSIG(st));
						else
							snprintf(why, sizeof(why), "child exited with status %d",
								 code);
						long long now = time_now_us();

						log_error("request=%lld: %s", kids[i].request_id, why);
						store_smd_finish(s, kids[i].request_id, 0, why,
								 retry_at(cfg, kids[i].attempts, now), now);
					}
					kids[i] = kids[--nkids];
					break;
				}
				continue;
			}
			for (int i = 0; i < nkids; i++)
				if (!kids[i].killed && time_mono_us() - kids[i].started > timeout_us) {
					log_warn("request=%lld: child pid=%d over smd_child_timeout, killed",
						 kids[i].request_id, (int)kids[i].pid);
					kill(kids[i].pid, SIGKILL);
					kids[i].killed = 1;
				}
			static int passed_on;

			if (stop_flag && !passed_on) {
				passed_on = 1;
				for (int i = 0; i < nkids; i++)
					kill(kids[i].pid, SIGTERM);
			}
			if (stop_flag && nkids == 0)
				break;
			/* Room for another child, and jobs were left at the last
			 * claim or the poll interval is up: back to claiming. A
			 * freed slot must not wait a poll interval for queued work. */
			if (!stop_flag && nkids < max &&
			    (!claimed_all || (!once && time_mono_us() - last_poll >= poll_us)))
				break;
			if (once && claimed_all && nkids == 0)
				break;
			struct timespec ts = {0, 50 * 1000 * 1000};

			nanosleep(&ts, NULL);
		}
		if (once && claimed_all && nkids == 0)
			break;
		if (stop_flag && nkids == 0)
			break;
	}
	if (stop_flag)
		log_info("terminating on signal %d: mailboxes done=%d failed=%d stopped=%d",
			 (int)stop_signal, done, failed, stopped);
	else
		log_info("terminating: %s: mailboxes done=%d failed=%d stopped=%d",
			 status ? "the queue cannot be read" : "no mailbox due (--once)", done, failed,
			 stopped);
	store_close(&s);
	free(kids);
	return status;
}
