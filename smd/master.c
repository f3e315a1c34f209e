#include <errno.h>
#include <ev.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "buffer_job.h"
#include "lease.h"
#include "lock.h"
#include "log.h"
#include "pim_sync.h"
#include "retry.h"
#include "state.h"
#include "store_pim.h"
#include "server.h"
#include "smd.h"
#include "store_buffer.h"
#include "store_smd.h"
#include "throttle.h"
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
	struct smd_job_key key;
	int attempts;
	long long started; /* monotonic µs */
	int killed;
	int lost; /* its lease was lost: another worker owns the job now */
};

/* Set by SIGTERM in a child (the copy's stop flag); the master's own stop
 * comes through the server's loop. */
static volatile sig_atomic_t stop_flag;

/* What the store's claim and recovery ask about a job's mailbox. */
struct lock_ctx {
	const char *db; /* NULL: no lock file (a postgresql:// store) */
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
		log_error(SMD_KEY_FMT ": %s", SMD_KEY_ARGS(job->key), err);
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
			log_debug(SMD_KEY_FMT ": its mailbox is being copied by another process; "
				  "left queued",
				  SMD_KEY_ARGS(job->key));
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
		if (lc->kids[i].key.request_id == job->key.request_id &&
		    lc->kids[i].key.kind == job->key.kind)
			return 1;
	if (lc->db == NULL)
		return 0;
	int fd = job_lock(lc, job);

	if (fd < 0) {
		if (fd == SMD_LOCK_BUSY && lc->verbose)
			log_info(SMD_KEY_FMT ": still being copied by another process (its "
				 "mailbox is locked); left running",
				 SMD_KEY_ARGS(job->key));
		return 1;
	}
	close(fd);
	log_info(SMD_KEY_FMT ": left running by a copy that is gone; queued again",
		 SMD_KEY_ARGS(job->key));
	return 0;
}

static void on_term(int sig)
{
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
	struct store *s = store_open_config(cfg, STORE_RDWR, (uid_t)-1, (gid_t)-1, &err);

	if (s == NULL) {
		log_error("%s", err);
		free(err);
	}
	return s;
}

/* record: the child's outcome RC (a copy_rc or BUFFER_JOB_IDLE) into the job. */
static int record(const struct config *cfg, struct store *s, const struct smd_job *job, int rc,
		  const struct copy_result *r)
{
	long long now = time_now_us();

	if (rc == COPY_OK) {
		log_info(SMD_KEY_FMT ": copied folders=%lld messages=%lld bytes=%lld done=%lld "
			 "copied=%lld found=%lld skipped=%lld",
			 SMD_KEY_ARGS(job->key), r->folders, r->messages, r->bytes,
			 r->copied + r->found + r->skipped, r->copied, r->found, r->skipped);
		smd_job_finish(s, job->key, 1, "", 0, now);
	} else if (rc == COPY_STOPPED) {
		log_info(SMD_KEY_FMT ": stopped, progress recorded", SMD_KEY_ARGS(job->key));
		smd_job_finish(s, job->key, 0, "stopped by SIGTERM", now, now);
	} else if (rc == BUFFER_JOB_IDLE) {
		/* Not a failure: the slot goes to others until the agent uploads more. */
		log_info(SMD_KEY_FMT ": nothing new from the agent; waiting in the queue",
			 SMD_KEY_ARGS(job->key));
		store_buffer_requeue(s, job->key, "waiting for the agent's uploads", now);
		return COPY_STOPPED;
	} else {
		long long at = retry_at(cfg, job->attempts, now);

		log_error(SMD_KEY_FMT ": copy failed%s: %s", SMD_KEY_ARGS(job->key),
			  at ? ", will retry" : "", r->reason);
		smd_job_finish(s, job->key, 0, r->reason, at, now);
	}
	return rc;
}

/*
 * sides: the copy's two ends; a source an agent reads needs no IMAP
 * settings here, and a target an agent reads cannot be written (a
 * rollback's copy back to it is refused for good: -2). -1 with *err_r
 * for what a retry may cure.
 */
static int sides(const struct config *cfg, const struct smd_job *job, struct copy_opts *o,
		 char **err_r)
{
	if (smd_is_agent(cfg, job->dst_system)) {
		*err_r = xasprintf("%s is read by an agent: the agent path reads only, it cannot "
				   "receive a copy%s",
				   job->dst_system, job->key.kind == SMD_COPY_BACK ? " back" : "");
		return -2;
	}
	if (!smd_is_agent(cfg, job->src_system) &&
	    smd_side_init(cfg, job->src_system, job->src_physical, &o->src, err_r) < 0)
		return -1;
	return smd_side_init(cfg, job->dst_system, job->dst_physical, &o->dst, err_r);
}

/* copy: the job's copy, from the source's IMAP server or its agent's data buffer. */
static int copy(const struct config *cfg, const struct smd_job *job, struct copy_opts *o,
		struct copy_result *r)
{
	char *key = smd_mailbox_key(job->src_system, job->src_physical, job->dst_system,
				    job->dst_physical);
	char *root = NULL;
	int rc;

	log_info(SMD_KEY_FMT ": copy access=<%s> from=%s:%s to=%s:%s attempt=%d%s",
		 SMD_KEY_ARGS(job->key), job->access, job->src_system, job->src_physical,
		 job->dst_system, job->dst_physical, job->attempts,
		 smd_is_agent(cfg, job->src_system) ? " source=agent" : "");
	o->mailbox_key = key;
	if (job->key.kind == SMD_LOCAL &&
	    buffer_job_root(cfg, o->store, job->key.request_id, &root, r->reason,
			    sizeof(r->reason)) < 0) {
		rc = COPY_FAILED;
	} else if (smd_is_agent(cfg, job->src_system)) {
		struct buffer_job b;

		o->dst_root = root;
		buffer_job_init(&b, cfg, job->key.request_id);
		rc = buffer_job_run(&b, o, r);
		o->dst_root = NULL;
	} else {
		rc = copy_mailbox(o, r);
	}
	/* Contacts and calendars after the mail, in the same child: the job is
	 * done only when both are (a forward copy only: a copy back is mail). */
	if (rc == COPY_OK && job->key.kind == SMD_COPY &&
	    pim_sync_job(cfg, o->store, job->key.request_id, job->key.kind, key, job->src_system,
			 job->src_physical, job->dst_system, job->dst_physical, r->reason,
			 sizeof(r->reason)) < 0)
		rc = COPY_FAILED;
	free(root);
	free(key);
	return rc;
}

static int run_child(const struct config *cfg, const struct smd_job *job)
{
	struct copy_opts o;
	struct copy_result r;
	struct throttle_conf tc;
	char *err = NULL;
	int rc;

	/* A fresh connection: SQLite handles do not survive fork(). */
	struct store *s = open_store(cfg);

	if (s == NULL)
		return SMD_EXIT_NOTHING;
	store_smd_relax(s);
	memset(&o, 0, sizeof(o));
	smd_copy_opts(cfg, &o);
	o.store = s;
	o.job = job->key;
	/* Before the switch the user works on the source: it wins. */
	o.switched = job->key.kind != SMD_PRESTAGE;
	o.stop = &stop_flag;
	if (!smd_is_agent(cfg, job->src_system) && config_has_system(cfg, job->src_system)) {
		throttle_conf_init(&tc, cfg, job->src_system);
		o.throttle = &tc;
	}
	int sr = sides(cfg, job, &o, &err);

	if (sr < 0) {
		log_error(SMD_KEY_FMT ": %s", SMD_KEY_ARGS(job->key), err);
		smd_job_finish(s, job->key, 0, err,
				 sr == -2 ? 0 : retry_at(cfg, job->attempts, time_now_us()),
				 time_now_us());
		rc = COPY_FAILED;
	} else {
		rc = record(cfg, s, job, copy(cfg, job, &o, &r), &r);
	}
	free(err);
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

/*
 * The master: the server's loop wakes it when a child exits (SIGCHLD),
 * when the oldest child reaches smd_child_timeout, and every
 * smd_poll_interval (the queue's wake-up: jobs come due by time, and the
 * store is shared with fedmig-spm).
 */
struct master {
	struct server *srv;
	struct config *cfg; /* children are forked with it: the latest reload's */
	struct store *s;
	int once, max;
	long long timeout_us, poll_us;
	struct child *kids;
	int nkids;
	int done, failed, stopped, status, stop_signal;
	int claimed_all;     /* the last claim found nothing due */
	int name_lost;	     /* another fedmig-smd took our worker name */
	long long last_recover; /* monotonic µs, 0: never */
	struct lock_ctx lc;
	pid_t self;
	struct smd_lease lease;	 /* our name among the workers */
	struct smd_temp_log temp; /* the last temporary store error logged */
	long long renewed;	 /* monotonic µs of the last renewal of every lease */
	ev_timer poll, watchdog, renew;
};

/* recover_due: jobs left running by a dead copy (an earlier master's
 * child, a --once run killed), at start and every poll interval (FORCE:
 * the poll timer says it is up). */
static void recover_due(struct master *m, int force)
{
	if (!force && m->last_recover && time_mono_us() - m->last_recover < m->poll_us)
		return;
	/* Without a lock file nothing vouches that a job of ours is not
	 * being copied by a master of the same name (--once beside the
	 * daemon): only at start, when ours are gone for sure. */
	if (m->lease.shared && m->last_recover)
		return;
	m->lc.nkids = m->nkids;
	if (store_smd_recover_mine(m->s, time_now_us(), m->lease.name,
				   m->lease.shared ? NULL : m->lease.host_prefix, recover_busy,
				   &m->lc) < 0) {
		/* A temporary error: recover at the next poll, even on a server. */
		if (smd_temp_note(&m->temp, m->s, "recover"))
			return;
		log_warn("recover: %s", store_errmsg(m->s));
	}
	m->lc.verbose = 0;
	m->last_recover = time_mono_us();
}

/* child_main: in the child: die with the master (layer 1 above), then
 * copy. The lock (lc.fd, inherited) is ours until we die. */
static void child_main(struct master *m, const struct smd_job *job, const sigset_t *mask)
{
	struct sigaction sa;

	/* It may have died before the prctl: then we are init's already. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		log_warn(SMD_KEY_FMT ": prctl(PR_SET_PDEATHSIG): %m", SMD_KEY_ARGS(job->key));
	if (getppid() != m->self)
		_exit(SMD_EXIT_NOTHING);
	/* The master's loop handlers are not ours: SIGTERM and SIGINT stop
	 * the copy, SIGCHLD is the copy's own waitpid()'s, SIGHUP kills. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	sigprocmask(SIG_SETMASK, mask, NULL);
	_exit(smd_exit_of(run_child(m->cfg, job)));
}

/* spawn: a child for JOB, claimed with its lock in lc.fd; -1 if fork failed. */
static int spawn(struct master *m, const struct smd_job *job)
{
	sigset_t stop, old;
	pid_t pid;

	/* A SIGTERM before the child has its own handler must wait for it. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_BLOCK, &stop, &old);
	pid = fork();
	if (pid == 0)
		child_main(m, job, &old);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		log_error("fork: %m");
		smd_job_finish(m->s, job->key, 0, "fork failed", time_now_us() + m->poll_us,
				 time_now_us());
	} else {
		struct child *k = &m->kids[m->nkids++];

		k->pid = pid;
		k->key = job->key;
		k->attempts = job->attempts;
		k->started = time_mono_us();
		k->killed = k->lost = 0;
		log_info(SMD_KEY_FMT ": child pid=%d", SMD_KEY_ARGS(job->key), (int)pid);
	}
	close(m->lc.fd); /* the child holds the lock now */
	m->lc.fd = -1;
	return pid < 0 ? -1 : 0;
}

/* claim_one: 1 when a job was claimed (and spawned), 0 when none is due
 * or the queue cannot be read (logged). */
static int claim_one(struct master *m)
{
	struct smd_job job;
	int r;

	m->lc.fd = -1;
	r = store_smd_claim_as(m->s, time_now_us(), &m->lease.w,
			       m->lease.shared ? NULL : claim_take, &m->lc, &job, NULL);
	if (r < 0 && m->lc.fd >= 0) {
		close(m->lc.fd); /* not claimed after all */
		m->lc.fd = -1;
	}
	if (r == STORE_NOTFOUND) {
		m->claimed_all = 1;
		return 0;
	}
	if (r < 0 && smd_temp_note(&m->temp, m->s, "claim")) {
		m->claimed_all = 0; /* the next poll claims again, --once too */
		return 0;
	}
	if (r < 0) {
		log_error("claim: %s", store_errmsg(m->s));
		m->claimed_all = 1;
		m->status = 1;
		return 0;
	}
	m->claimed_all = 0;
	if (job.prev_worker[0])
		log_warn(SMD_KEY_FMT ": taken over from worker %s, whose lease expired; the copy "
			 "resumes from the journal",
			 SMD_KEY_ARGS(job.key), job.prev_worker);
	return spawn(m, &job) == 0;
}

/* arm_watchdog: wake when the oldest child not yet killed is due to be. */
static void arm_watchdog(struct master *m)
{
	struct ev_loop *loop = server_loop(m->srv);
	long long first = -1;

	ev_timer_stop(loop, &m->watchdog);
	for (int i = 0; i < m->nkids; i++)
		if (!m->kids[i].killed && (first < 0 || m->kids[i].started < first))
			first = m->kids[i].started;
	if (first < 0)
		return;
	long long left = first + m->timeout_us - time_mono_us();

	ev_timer_set(&m->watchdog, left > 0 ? (double)left / 1e6 : 0., 0.);
	ev_timer_start(loop, &m->watchdog);
}

/* finished: leave the loop when nothing is left to do. */
static void finished(struct master *m)
{
	if (m->nkids > 0)
		return;
	if (m->stop_signal || (m->once && m->claimed_all))
		server_exit(m->srv, m->status);
}

static int is_agent(void *ctx, const char *system)
{
	return smd_is_agent(ctx, system);
}

/* pim_resync: two-way contacts and calendars of copied requests, synced
 * again every pim_sync_interval until the request is complete. */
static void pim_resync(struct master *m, long long now)
{
	long long n;

	if (store_pim_resync(m->s, now, ST_COPIED, &n) != STORE_OK)
		log_warn("two-way contacts and calendars: %s", store_errmsg(m->s));
	else if (n > 0)
		log_info("two-way contacts and calendars: %lld copied mailboxes queued to sync again",
			 n);
}

/* fill: claim while there is room; then see whether we are done. A job
 * whose agent has uploaded nothing to copy yet is put off a poll
 * interval first, unclaimed (store_buffer_gate). */
static void fill(struct master *m, int poll)
{
	long long now = time_now_us();

	if (m->stop_signal)
		return;
	recover_due(m, poll);
	pim_resync(m, now);
	if (store_buffer_gate(m->s, now, now + m->poll_us, is_agent, m->cfg) < 0)
		log_warn("agent jobs: %s", store_errmsg(m->s));
	while (m->nkids < m->max && claim_one(m))
		;
	arm_watchdog(m);
	finished(m);
}

static void on_poll(EV_P_ ev_timer *w, int revents)
{
	struct master *m = w->data;

	/* --once claims again only while jobs were left at the last claim. */
	if (!m->once || !m->claimed_all)
		fill(m, 1);
}

static void on_watchdog(EV_P_ ev_timer *w, int revents)
{
	struct master *m = w->data;

	for (int i = 0; i < m->nkids; i++)
		if (!m->kids[i].killed && time_mono_us() - m->kids[i].started >= m->timeout_us) {
			log_warn(SMD_KEY_FMT ": child pid=%d over smd_child_timeout, killed",
				 SMD_KEY_ARGS(m->kids[i].key), (int)m->kids[i].pid);
			kill(m->kids[i].pid, SIGKILL);
			m->kids[i].killed = 1;
		}
	arm_watchdog(m);
}

/* lose: stop child K, whose job may be another worker's (WHY); its
 * outcome is not ours to record. */
static void lose(struct child *k, const char *why)
{
	log_error(SMD_KEY_FMT ": %s: child pid=%d killed, the job is left to the worker that "
		  "holds it",
		  SMD_KEY_ARGS(k->key), why, (int)k->pid);
	kill(k->pid, SIGKILL);
	k->killed = k->lost = 1;
}

/*
 * on_renew: every third of smd_lease, the leases of the jobs our children
 * copy. A job another worker took (our lease had expired: a stalled
 * master) is not copied twice: its child is killed. When the leases
 * cannot be renewed (the database is out of reach) until they may have
 * expired, the children are killed too, before another worker can take
 * their mailboxes.
 */
static void on_renew(EV_P_ ev_timer *w, int revents)
{
	struct master *m = w->data;
	long long until = time_now_us() + m->lease.lease_us;
	int failed = 0;

	if (!smd_lease_still_mine(&m->lease, m->s)) {
		/* The other process takes our jobs back at its start: ours must
		 * not copy on beside its children. */
		for (int i = 0; i < m->nkids; i++)
			if (!m->kids[i].lost)
				lose(&m->kids[i], "another fedmig-smd took this worker's name");
		m->status = m->name_lost = 1;
		server_exit(m->srv, 1);
		return;
	}
	for (int i = 0; i < m->nkids; i++) {
		struct child *k = &m->kids[i];
		int rc;

		if (k->lost)
			continue;
		rc = store_smd_renew(m->s, k->key, m->lease.name, until);
		if (rc == STORE_NOTFOUND)
			/* Or the child recorded its end a moment ago and has
			 * not exited yet: the row is no longer running either.
			 * Killing it then loses nothing (lost: nothing recorded
			 * over its result), but the log must not claim a
			 * takeover. */
			lose(k, "the job is no longer running under our lease (another worker "
				"took it, or the child has just recorded its end)");
		else if (rc < 0)
			failed = 1;
	}
	if (!failed) {
		m->renewed = time_mono_us();
		return;
	}
	if (!smd_temp_note(&m->temp, m->s, "renew the copy leases"))
		log_warn("the copy leases cannot be renewed: %s", store_errmsg(m->s));
	if (time_mono_us() - m->renewed < m->lease.lease_us - m->lease.renew_us)
		return;
	for (int i = 0; i < m->nkids; i++)
		if (!m->kids[i].lost)
			lose(&m->kids[i], "its lease could not be renewed in time");
}

/* record_death: the child could not record its outcome: we do. */
static void record_death(struct master *m, const struct child *k, int st)
{
	char why[128];
	long long now = time_now_us();

	if (k->killed)
		snprintf(why, sizeof(why), "killed after smd_child_timeout");
	else if (WIFSIGNALED(st))
		snprintf(why, sizeof(why), "child killed by signal %d", WTERMSIG(st));
	else
		snprintf(why, sizeof(why), "child exited with status %d", WEXITSTATUS(st));
	log_error(SMD_KEY_FMT ": %s", SMD_KEY_ARGS(k->key), why);
	smd_job_finish(m->s, k->key, 0, why, retry_at(m->cfg, k->attempts, now), now);
}

/* smd_master_child: a child exited; count it, record what it could not. */
void smd_master_child(void *ctx, pid_t pid, int st)
{
	struct master *m = ctx;
	int i;

	for (i = 0; i < m->nkids && m->kids[i].pid != pid; i++)
		;
	if (i == m->nkids)
		return;
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	struct child *k = &m->kids[i];

	if (k->lost)
		m->failed++; /* the job is another worker's now: record nothing */
	else if (code == SMD_EXIT_OK && !k->killed)
		m->done++;
	else if (code == SMD_EXIT_STOPPED && !k->killed)
		m->stopped++;
	else
		m->failed++;
	if (!k->lost && (!smd_exit_recorded(code) || k->killed))
		record_death(m, k, st);
	m->kids[i] = m->kids[--m->nkids];
	arm_watchdog(m);
	/* A freed slot must not wait a poll interval for queued work. */
	if (!m->claimed_all)
		fill(m, 0);
	finished(m);
}

/*
 * smd_master_reload: SIGHUP: the children forked from now on copy with
 * CFG; those running keep theirs (a fork's copy). The timeouts and the
 * poll interval apply at once; the queue's database and the number of
 * children need a restart (smd_restart_keys).
 */
int smd_master_reload(void *ctx, struct config *cfg)
{
	struct master *m = ctx;

	config_unref(&m->cfg);
	m->cfg = config_ref(cfg);
	m->timeout_us = config_time_ms(cfg, "smd_child_timeout") * 1000;
	m->poll_us = config_time_ms(cfg, "smd_poll_interval") * 1000;
	m->poll.repeat = (double)m->poll_us / 1e6;
	ev_timer_again(server_loop(m->srv), &m->poll);
	arm_watchdog(m);
	return 0;
}

/* smd_master_stop: SIGTERM, SIGINT: claim nothing more, pass the signal on; the
 * children record their progress and exit (smd_child_timeout still holds). */
void smd_master_stop(void *ctx, int signum)
{
	struct master *m = ctx;

	m->stop_signal = signum;
	ev_timer_stop(server_loop(m->srv), &m->poll);
	for (int i = 0; i < m->nkids; i++)
		kill(m->kids[i].pid, SIGTERM);
	finished(m);
}

/* master_start: the store and the lock file, or -1 (logged). */
static int master_start(struct master *m)
{
	/* One line at start and one at stop, as Postfix daemons log them: an
	 * operator reading the log sees which version and configuration ran
	 * and why it ended. */
	log_info("daemon started -- version %s, configuration %s, smd_max_children=%d%s",
		 FEDMIG_VERSION, config_path(m->cfg), m->max, m->once ? ", once" : "");
	m->s = open_store(m->cfg);
	if (m->s == NULL) {
		log_info("terminating: the state database cannot be opened: mailboxes done=0 "
			 "failed=0");
		return -1;
	}
	char *err = NULL;

	if (smd_worker_init(m->cfg, &m->lease, &err) < 0) {
		log_error("%s", err);
		log_info("terminating: bad smd_worker_name: mailboxes done=0 failed=0");
		free(err);
		store_close(&m->s);
		return -1;
	}
	if (!m->lease.shared && check_lock(m->cfg) < 0) {
		store_close(&m->s);
		return -1;
	}
	switch (smd_lease_take(&m->lease, m->s)) {
	case 1:
		break;
	case 0:
		log_error("copy worker %s runs already (another fedmig-smd under this "
			  "smd_worker_name, on this host or another, a daemon or --once): one process "
			  "per name",
			  m->lease.name);
		log_info("terminating: the worker name is taken: mailboxes done=0 failed=0");
		store_close(&m->s);
		return -1;
	default:
		log_error("copy worker %s: its lock: %s", m->lease.name, store_errmsg(m->s));
		log_info("terminating: the state database cannot be used: mailboxes done=0 failed=0");
		store_close(&m->s);
		return -1;
	}
	log_info("copy worker %s: leases of %lld s", m->lease.name, m->lease.lease_us / 1000000);
	return 0;
}

static void log_end(const struct master *m)
{
	if (m->stop_signal)
		log_info("terminating on signal %d: mailboxes done=%d failed=%d stopped=%d",
			 m->stop_signal, m->done, m->failed, m->stopped);
	else
		log_info("terminating: %s: mailboxes done=%d failed=%d stopped=%d",
			 m->name_lost ? "another fedmig-smd took the worker name"
			 : m->status  ? "the queue cannot be read"
				      : "no mailbox due (--once)",
			 m->done,
			 m->failed, m->stopped);
}

const char *const smd_restart_keys[] = {"state_database", "smd_max_children",
					"smd_worker_name", "smd_lease", NULL};

int smd_master(struct server *srv, struct config *cfg, int once)
{
	struct master m = {
		.srv = srv,
		.cfg = config_ref(cfg),
		.once = once,
		.max = (int)config_int(cfg, "smd_max_children"),
		.timeout_us = config_time_ms(cfg, "smd_child_timeout") * 1000,
		.poll_us = config_time_ms(cfg, "smd_poll_interval") * 1000,
		.self = getpid(),
	};
	struct ev_loop *loop = server_loop(srv);

	if (master_start(&m) < 0) {
		config_unref(&m.cfg);
		return 1;
	}
	m.kids = xcalloc((size_t)m.max, sizeof(*m.kids));
	m.lc = (struct lock_ctx){m.lease.shared ? NULL : config_str(cfg, "state_database"), m.kids,
				 0, -1, 1};
	ev_timer_init(&m.poll, on_poll, (double)m.poll_us / 1e6, (double)m.poll_us / 1e6);
	ev_timer_init(&m.watchdog, on_watchdog, 0., 0.);
	ev_timer_init(&m.renew, on_renew, (double)m.lease.renew_us / 1e6,
		      (double)m.lease.renew_us / 1e6);
	m.poll.data = m.watchdog.data = m.renew.data = &m;
	m.renewed = time_mono_us();
	ev_timer_start(loop, &m.poll);
	ev_timer_start(loop, &m.renew);
	fill(&m, 1);
	server_serve(srv, &m);
	ev_timer_stop(loop, &m.poll);
	ev_timer_stop(loop, &m.watchdog);
	ev_timer_stop(loop, &m.renew);
	log_end(&m);
	store_close(&m.s);
	free(m.kids);
	config_unref(&m.cfg);
	return m.status;
}
