/*
 * fedmig-spm - the migration pilot: runs every migration request through
 * the state machine, performs the switches, sweeps held mail out.
 * A daemon (libev timers), or --once: do what is due, finish the release
 * sweeps of this run's switches, exit (for cron).
 */
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config_check.h"
#include "daemon.h"
#include "dirsync_spm.h"
#include "log.h"
#include "pilot.h"
#include "postfix.h"
#include "server.h"
#include "store.h"
#include "store_lead.h"
#include "timeutil.h"
#include "xalloc.h"

#define ONCE_TAIL_MS 1000 /* --once: sweeps after the last pre-switch transaction */
#define ONCE_TEMP_TRIES 30        /* --once: passes stopped by a temporary database error */
#define ONCE_TEMP_WAIT_US 1000000 /* and the wait before the next */
#define LEAD_NAME "pilot"  /* the session lock of the leading pilot (store_lead.h) */
#define STANDBY_RETRY_S 1.0

static int once, standby;
static int lock_fd = -1;
static struct pf *helper; /* forked in bind_spm, before the lock */

struct spm {
	struct server *srv;
	struct config *cfg; /* the pilot's: the latest reload's */
	struct store *s;
	struct pilot *p;
	struct pf *pf;
	struct dsp *dsp; /* the directory syncs (dirsync_spm.h) */
	ev_timer pass, sweep, dirsync, lead;
	int leading;
	long long led_at; /* wall-clock µs this process began to lead, 0: not yet */
	long long temp_logged; /* monotonic µs of the last temporary error said */
};

static int option(int opt, const char *arg)
{
	if (opt == '1') {
		once = 1;
		return 0;
	}
	if (opt == 's') {
		standby = 1;
		return 0;
	}
	return -1;
}

/* lock_holder: the pid daemon_lock() wrote into NAME in DFD, or 0. Read
 * as root from a directory fedmig_user may own: no link followed, no
 * FIFO waited on. */
static long lock_holder(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	char buf[32];
	ssize_t n;
	long pid = 0;

	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (n = pread(fd, buf, sizeof(buf) - 1, 0)) > 0) {
		buf[n] = '\0';
		if (sscanf(buf, "%ld", &pid) != 1 || pid < 0)
			pid = 0;
	}
	close(fd);
	return pid;
}

/* say: log MSG and put it on stderr too: started by hand (--once from a
 * shell), the syslog line alone leaves the terminal silent. */
static void say(const char *msg)
{
	log_error("%s", msg);
	fprintf(stderr, "%s: %s\n", log_prog(), msg);
}

/* check: refuse a configuration whose requests would all fail at their
 * first provisioning step: at start (TERMINAL: on stderr too) and at a
 * reload (the log only: nobody is at a terminal then). */
static int check(struct config *cfg, int terminal)
{
	char *err = NULL;

	if (config_check(cfg, &err) < 0) {
		for (char *line = strtok(err, "\n"); line; line = strtok(NULL, "\n"))
			if (terminal)
				say(line);
			else
				log_error("reload: %s", line);
		free(err);
		return -1;
	}
	return 0;
}

static int bind_spm(struct config *cfg)
{
	const char *dir = config_str(cfg, "run_directory");
	const char *name = "fedmig-spm.lock";
	char *err = NULL;
	int dfd;

	if (check(cfg, 1) < 0)
		return 1;
	/* One pilot at a time, daemon or --once. We are root here and the
	 * network-facing daemons run as fedmig_user: nothing they could
	 * have planted in the run directory is followed or trusted. */
	dfd = daemon_run_dir(dir, config_str(cfg, "fedmig_user"), &err);
	if (dfd < 0) {
		say(err);
		free(err);
		return 1;
	}
	/*
	 * The root helper (for postsuper/postkick) is forked before the lock
	 * is taken: a child forked after would share the lock until it closed
	 * its copy, and a pilot killed before the child ran (a loaded machine)
	 * left its restart refused, "already running", by its own helper.
	 */
	helper = pf_open(cfg, &err);
	if (helper == NULL) {
		say(err);
		free(err);
		close(dfd);
		return 1;
	}
	lock_fd = daemon_lock(dfd, dir, name, &err);
	if (lock_fd < 0) {
		long pid = strstr(err, "already running") ? lock_holder(dfd, name) : 0;

		if (pid > 0) {
			char *msg = xasprintf("another fedmig-spm (pid %ld) is running (lock %s/%s)%s",
					      pid, dir, name,
					      once ? "; --once not needed: it does the due work itself"
						   : "");

			say(msg);
			free(msg);
		} else {
			say(err);
		}
		free(err);
		close(dfd);
		pf_close(&helper);
		return 1;
	}
	close(dfd);
	return 0;
}

/*
 * still_leading: each pass first checks that this pilot still leads. On
 * PostgreSQL the lead is an advisory lock of the store's connection: a
 * connection lost lost it too, and another pilot may lead now. Exit
 * non-zero so that the supervisor starts us again, as a candidate.
 */
static int still_leading(struct spm *spm)
{
	int rc = store_lead_held(spm->s);

	if (rc == 1)
		return 1;
	log_error("this pilot no longer leads (%s): stopping; restart it to stand by",
		  rc < 0 ? store_errmsg(spm->s)
			 : "the connection to the state database was lost with its lock");
	server_exit(spm->srv, 1);
	return 0;
}

/*
 * pass_temporary: 1 when the pass stopped on a temporary database error
 * (a serialization failure, a deadlock, a server restarting): every
 * request resumes from its last committed step at the next pass, so it
 * is said at most once a minute and is no reason to exit.
 */
static int pass_temporary(struct spm *spm)
{
	long long now = time_mono_us();

	if (!store_err_temporary(spm->s))
		return 0;
	if (spm->temp_logged == 0 || now - spm->temp_logged >= 60LL * 1000000) {
		log_warn("the pass stopped on a temporary database error: %s; trying again at the "
			 "next pass (said at most once a minute)",
			 store_errmsg(spm->s));
		spm->temp_logged = now;
	}
	return 1;
}

static void on_pass(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct spm *spm = w->data;

	if (!still_leading(spm))
		return;
	if (pilot_pass(spm->p) < 0 && !pass_temporary(spm)) {
		/* The store is unusable: exit so the supervisor backs off. */
		server_exit(spm->srv, 1);
		return;
	}
	dsp_start(spm->dsp, spm->cfg); /* the downward syncs of this pass's switches */
	/* Due work sooner than the poll interval (a planned instant) wakes us. */
	long long poll = config_time_ms(spm->cfg, "spm_poll_interval");
	long long next = pilot_next_due_ms(spm->p, poll);

	w->repeat = (double)(next > 10 ? next : 10) / 1000.0;
	ev_timer_again(loop, w);
	/*
	 * A switch in this pass wants fast sweeps at once. Only ever bring the
	 * next sweep forward: restarting it on every pass would push it back
	 * for good whenever passes come more often than sweeps, and mail held
	 * after the switch window (a slow sender) would never be released.
	 */
	double want = (double)pilot_sweep_interval_ms(spm->p) / 1000.0;

	if (want < ev_timer_remaining(loop, &spm->sweep)) {
		spm->sweep.repeat = want;
		ev_timer_again(loop, &spm->sweep);
	}
}

static void on_sweep(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct spm *spm = w->data;

	pilot_sweep(spm->p);
	w->repeat = (double)pilot_sweep_interval_ms(spm->p) / 1000.0;
	ev_timer_again(loop, w);
}

/* on_dirsync: the scheduled directory sync (directory_sync_interval). */
static void on_dirsync(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct spm *spm = w->data;
	long long every = config_time_ms(spm->cfg, "directory_sync_interval");

	dsp_want_full(spm->dsp);
	dsp_start(spm->dsp, spm->cfg);
	if (every > 0) {
		w->repeat = (double)every / 1000.0;
		ev_timer_again(loop, w);
	}
}

/* dirsync_schedule: the scheduled sync's timer after a start or a
 * reload: the first one AFTER seconds from now, none when the interval
 * is 0. */
static void dirsync_schedule(struct spm *spm, double after)
{
	struct ev_loop *loop = server_loop(spm->srv);

	ev_timer_stop(loop, &spm->dirsync);
	if (config_time_ms(spm->cfg, "directory_sync_interval") <= 0)
		return;
	ev_timer_init(&spm->dirsync, on_dirsync, after, 0.0);
	spm->dirsync.data = spm;
	ev_timer_start(loop, &spm->dirsync);
}

/* on_switched: a switch or rollback moved an address between FROM and
 * TO: their contacts follow at the end of the pass. */
static void on_switched(void *ctx, const char *from, const char *to)
{
	struct spm *spm = ctx;

	dsp_want_system(spm->dsp, spm->cfg, from);
	dsp_want_system(spm->dsp, spm->cfg, to);
}

/*
 * helper_lost: the root helper is gone (pf_on_lost: killed, crashed).
 * Unprivileged now, we cannot fork another, and without it no drain and
 * no release can be done: retrying would fail every step for ever. Exit
 * so the supervisor starts us afresh, with a new helper; every step is
 * crash-safe, so the restart resumes from the store as after a crash
 * (the step under way, perhaps mid-transaction, is done again).
 */
static void helper_lost(const char *cause)
{
	log_fatal("%s: restarting fedmig-spm", cause);
}

/* on_child: the event loop reaped a child; the helper's death (while we
 * were idle) is the pf module's to handle. */
static void on_child(void *ctx, pid_t pid, int status)
{
	struct spm *spm = ctx;

	if (pf_helper_pid(spm->pf) > 0 && pid == (pid_t)pf_helper_pid(spm->pf))
		pf_helper_exited(spm->pf, status);
	else
		dsp_reaped(spm->dsp, spm->cfg, pid, status);
}

/*
 * on_reload: SIGHUP with a valid file: checked as at start, then a pilot
 * on the new config (between two passes: no step is under way). The store
 * and the root helper stay (restart_keys below).
 */
static int on_reload(void *ctx, struct config *cfg)
{
	struct spm *spm = ctx;

	if (check(cfg, 0) < 0)
		return -1;
	pilot_free(&spm->p);
	config_unref(&spm->cfg);
	spm->cfg = config_ref(cfg);
	spm->p = pilot_new(spm->cfg, spm->s, spm->pf);
	pilot_set_led_at(spm->p, spm->led_at);
	pilot_on_switch(spm->p, on_switched, spm);
	if (!once && spm->leading)
		dirsync_schedule(spm, (double)config_time_ms(cfg, "directory_sync_interval") / 1000.0);
	log_info("reloaded: poll every %lld ms", config_time_ms(cfg, "spm_poll_interval"));
	return 0;
}

/*
 * try_lead: 1 when this pilot leads now, 0 when another does, -1 when
 * the store cannot say. Every request resumes from its last committed
 * step, as after a restart: the pilot that led before is gone.
 */
static int try_lead(struct spm *spm)
{
	int rc = store_lead_try(spm->s, LEAD_NAME);

	if (rc < 0)
		log_error("who leads cannot be known: %s", store_errmsg(spm->s));
	if (rc == 1 && spm->led_at == 0) {
		spm->led_at = time_now_us();
		pilot_set_led_at(spm->p, spm->led_at);
	}
	return rc;
}

static int run_once(struct spm *spm)
{
	int n, tries = 0, led = try_lead(spm);

	if (led == 0)
		say("another fedmig-spm leads the migrations from this state database: --once not "
		    "needed, it does the due work itself");
	if (led != 1)
		return 1;

	/* Passes until nothing moves: one request's steps can make another due. */
	do {
		n = pilot_pass(spm->p);
		if (n < 0 && tries++ < ONCE_TEMP_TRIES && pass_temporary(spm)) {
			time_sleep_us(ONCE_TEMP_WAIT_US);
			continue;
		}
		if (n < 0)
			return 1;
	} while (n != 0);
	/* Finish the release sweeps of recent switches. */
	while (pilot_sweeping(spm->p)) {
		pilot_sweep(spm->p);
		time_sleep_us(pilot_sweep_interval_ms(spm->p) * 1000);
	}
	for (int i = 0; i < ONCE_TAIL_MS / 100; i++) {
		pilot_sweep(spm->p);
		time_sleep_us(100000);
	}
	pilot_sweep(spm->p);
	dsp_run_now(spm->dsp, spm->cfg, spm->s); /* this run's switches' contacts */
	return 0;
}

/* lead: the pilot's timers, once this process leads. */
static void lead(struct spm *spm)
{
	struct ev_loop *loop = server_loop(spm->srv);
	char host[256] = "?";

	gethostname(host, sizeof(host) - 1);
	spm->leading = 1;
	log_info("started: poll every %lld ms; this pilot (pid %ld on %s) leads",
		 config_time_ms(spm->cfg, "spm_poll_interval"), (long)getpid(), host);
	ev_timer_start(loop, &spm->pass);
	ev_timer_start(loop, &spm->sweep);
	/* The first directory sync soon after the start, then every interval. */
	dirsync_schedule(spm, 1.0);
}

/* on_standby: --standby: try to lead every STANDBY_RETRY_S seconds. */
static void on_standby(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct spm *spm = w->data;

	if (try_lead(spm) != 1)
		return;
	ev_timer_stop(loop, w);
	log_info("the leading pilot is gone: taking over, resuming every request from its "
		 "last committed step");
	lead(spm);
}

static int serve(struct spm *spm)
{
	struct ev_loop *loop = server_loop(spm->srv);
	int led = try_lead(spm);

	ev_timer_init(&spm->pass, on_pass, 0.0, 1.0);
	spm->pass.data = spm;
	ev_timer_init(&spm->sweep, on_sweep, 0.1, 1.0);
	spm->sweep.data = spm;
	ev_timer_init(&spm->lead, on_standby, STANDBY_RETRY_S, STANDBY_RETRY_S);
	spm->lead.data = spm;
	if (led == 1) {
		lead(spm);
	} else if (standby) {
		log_info("standing by: another fedmig-spm leads the migrations; this one takes "
			 "over within seconds when it stops");
		ev_timer_start(loop, &spm->lead);
	} else {
		if (led == 0)
			say("another fedmig-spm leads the migrations from this state database "
			    "(start this one with --standby to take over when it stops)");
		return 1;
	}
	/* libev reaps every child: the helper's death is learnt by on_child. */
	int rc = server_serve(spm->srv, spm);

	ev_timer_stop(loop, &spm->pass);
	ev_timer_stop(loop, &spm->sweep);
	ev_timer_stop(loop, &spm->dirsync);
	ev_timer_stop(loop, &spm->lead);
	return rc;
}

static int run_spm(struct server *srv, struct config *cfg)
{
	struct spm spm = {.srv = srv, .cfg = config_ref(cfg)};
	char *err = NULL;
	int rc = 1;

	/* The helper keeps root for postsuper/postkick; we drop it now. */
	spm.pf = helper;
	helper = NULL;
	if (daemon_drop_privileges(config_str(cfg, "fedmig_user"), &err) < 0) {
		log_error("%s", err);
		free(err);
		goto out;
	}
	spm.s = store_open_config(cfg, STORE_RDWR, (uid_t)-1, (gid_t)-1, &err);
	if (spm.s == NULL) {
		log_error("%s", err);
		free(err);
		goto out;
	}
	spm.p = pilot_new(cfg, spm.s, spm.pf);
	spm.dsp = dsp_new(lock_fd);
	pilot_on_switch(spm.p, on_switched, &spm);
	pf_on_lost(spm.pf, helper_lost);
	rc = once ? run_once(&spm) : serve(&spm);
out:
	pilot_free(&spm.p);
	dsp_free(&spm.dsp);
	store_close(&spm.s);
	pf_close(&spm.pf);
	config_unref(&spm.cfg);
	return rc;
}

static const char *const restart_keys[] = {"state_database", "state_database_password_file",
					   "store_busy_timeout", "run_directory",
					   "postfix_command_directory", "postfix_config_directory",
					   NULL};

static const struct server_ops ops = {
	.name = "fedmig-spm",
	.synopsis = "the fedmig migration pilot: state machine, switches, release sweeps",
	.opts = (const struct server_opt[]){
		{'1', "once", NULL, "process everything due, finish the sweeps, exit (cron)"},
		{'s', "standby", NULL,
		 "when another fedmig-spm leads, wait and take over when it stops"},
		{0, NULL, NULL, NULL},
	},
	.option = option,
	.bind = bind_spm,
	.run = run_spm,
	.child = on_child,
	.reload = on_reload,
	.restart_keys = restart_keys,
	.keep_root = 1,
};

int main(int argc, char **argv)
{
	return server_main(argc, argv, &ops);
}
