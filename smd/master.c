#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "lock.h"
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
 *
 * At most one process ever copies a mailbox: two copying it at once both
 * append what is missing, and the target gets it twice (a master killed
 * and restarted at once left its child copying beside the new master's).
 * Two independent layers make it so:
 * 1. A child dies with its master (PR_SET_PDEATHSIG, KILL; its lanes die
 *    with it likewise), so a restarted master finds no orphan copying.
 * 2. The copy holds its mailbox's lock (smd/lock.h) from the claim to its
 *    last process's death. A job is claimed only with its lock, and a job
 *    left running is queued again only when its lock is free; this covers
 *    what layer 1 cannot: fedmig-smd -u, or --once started beside the
 *    daemon, and a child that outlived its master all the same. A running
 *    job whose lock is busy stays running and is looked at again every
 *    smd_poll_interval; once free, it is queued, and its rerun first waits
 *    smd_settle in the folders the dead copy was in (smd/copy.c).
 */

struct child {
	pid_t pid;
	long long request_id;
	int attempts;
	long long started; /* monotonic µs */
	int killed;
};

static volatile sig_atomic_t stop_flag, stop_signal;

/* What the store's claim and recovery ask about a job's mailbox. */
struct lock_ctx {
	const char *db;
	const struct child *kids;
	int nkids;
	int fd;	     /* the lock of the job just claimed, or -1 */
	int verbose; /* log the jobs left running (at start only: every poll
		      * interval would repeat it for the whole copy) */
};

/* job_lock: take JOB's mailbox lock: an fd, SMD_LOCK_BUSY, or -1 (logged). */
static int job_lock(const struct lock_ctx *lc, const struct smd_job *job)
{
	char *key = smd_mailbox_key(job->src_system, job->src_physical, job->dst_system,
				    job->dst_physical);
	char *err = NULL;
	int fd = smd_lock_take(lc->db, key, &err);

	if (fd == -1) {
		log_error("request=%lld: %s", job->request_id, err);
		free(err);
	}
	free(key);
	return fd;
}

/* claim_take: claim JOB only with its mailbox's lock (kept in lc->fd). */
static int claim_take(void *ctx, const struct smd_job *job)
{
	struct lock_ctx *lc = ctx;
	int fd = job_lock(lc, job);

	if (fd < 0) {
		if (fd == SMD_LOCK_BUSY)
			log_debug("request=%lld: its mailbox is being copied by another process; "
				  "left queued",
				  job->request_id);
		return 1;
	}
	lc->fd = fd;
	return 0;
}

/* recover_busy: JOB stays running while one of our children or any other
 * process holds its mailbox's lock. An error keeps it running too: a job
 * is queued again only when nobody can be copying it. */
static int recover_busy(void *ctx, const struct smd_job *job)
{
	struct lock_ctx *lc = ctx;

	for (int i = 0; i < lc->nkids; i++)
		if (lc->kids[i].request_id == job->request_id)
			return 1;
	int fd = job_lock(lc, job);

	if (fd < 0) {
		if (fd == SMD_LOCK_BUSY && lc->verbose)
			log_info("request=%lld: still being copied by another process (its "
				 "mailbox is locked); left running",
				 job->request_id);
		return 1;
	}
	close(fd);
	log_info("request=%lld: left running by a copy that is gone; queued again",
		 job->request_id);
	return 0;
}

static void on_term(int sig)
{
	stop_signal = sig;
	stop_flag = 1;
}

static long long retry_at(const struct config *cfg, int attempts, long long now)
{
	if (attempts >= config_int(cfg, "smd_max_attempts"))
		return 0;
	return now + backoff_delay_us(config_time_ms(cfg, "smd_retry_delay") * 1000, attempts,
				      BACKOFF_CAP_US);
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

/* check_lock: can the lock file be used? Without it no job may run: the
 * master says so once at start and exits (the supervisor backs off). */
static int check_lock(const struct config *cfg)
{
	char *err = NULL;
	int fd = smd_lock_take(config_str(cfg, "state_database"), "", &err);

	if (fd == -1) {
		log_error("%s", err);
		log_info("terminating: the mailbox lock file cannot be used: mailboxes done=0 "
			 "failed=0");
		free(err);
		return -1;
	}
	if (fd >= 0)
		close(fd);
	return 0;
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
	if (s != NULL && check_lock(cfg) < 0) {
		store_close(&s);
		free(kids);
		return 1;
	}
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
	struct lock_ctx lc = {config_str(cfg, "state_database"), kids, 0, -1, 1};
	long long last_poll = 0, last_recover = 0;
	pid_t master = getpid();

	for (;;) {
		int claimed_all = 0;

		/* Jobs left running by a dead copy (an earlier master's child,
		 * a --once run killed), at start and every poll interval. */
		if (!stop_flag && (last_recover == 0 || time_mono_us() - last_recover >= poll_us)) {
			lc.nkids = nkids;
			if (store_smd_recover(s, time_now_us(), recover_busy, &lc) < 0)
				log_warn("recover: %s", store_errmsg(s));
			lc.verbose = 0;
			last_recover = time_mono_us();
		}

		/* Claim while there is room. */
		while (!stop_flag && nkids < max) {
			struct smd_job job;
			lc.fd = -1;
			int r = store_smd_claim(s, time_now_us(), (int)master, claim_take, &lc, &job,
						NULL);

			if (r < 0 && lc.fd >= 0) {
				close(lc.fd); /* not claimed after all */
				lc.fd = -1;
			}

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
				close(lc.fd);
				break;
			}
			if (pid == 0) {
				/* Die with the master (layer 1 above); it may have died
				 * before the prctl, and then we are init's already. The
				 * lock (lc.fd, inherited) is ours until we die. */
				if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
					log_warn("request=%lld: prctl(PR_SET_PDEATHSIG): %m",
						 job.request_id);
				if (getppid() != master)
					_exit(3);
				sa.sa_handler = on_term;
				sigaction(SIGTERM, &sa, NULL);
				_exit(run_child(cfg, &job));
			}
			close(lc.fd); /* the child holds the lock now */
			lc.fd = -1;
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
