/*
 * guardian - the agent's parent: leases, heartbeat, migrators (guardian.h).
 * Signals arrive through a signalfd, so nothing here runs in a handler.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backoff.h"
#include "guardian.h"
#include "http.h"
#include "log.h"
#include "migrator.h"
#include "source.h"
#include "server.h"
#include "timeutil.h"
#include "xalloc.h"

#define LONG_POLL_MAX_S 25

struct slot {
	int used;
	pid_t pid;	     /* 0: waiting to be started again at restart_at */
	struct ap_task task;
	int pipe;	     /* progress bytes from the migrator */
	long long last_ms;   /* last progress */
	long long restart_at;
	long long kill_at;   /* cancelled: SIGKILL if still there then */
	int dropped;	     /* lost or cancelled: never started again */
	int restarts;
	int progressed; /* its migrator reported progress since it started */
};

struct guardian {
	const struct config *cfg;
	const char *token;
	struct ah *h;
	int sigfd, once, polled_empty, stopping, status;
	const char *local_dir;
	struct slot *slots;
	size_t nslots;
	long long hb_ms, conf_hb_ms, next_hb, stall_ms;
};

static long long now_ms(void)
{
	return time_mono_us() / 1000;
}

static size_t count_used(const struct guardian *g)
{
	size_t i, n = 0;

	for (i = 0; i < g->nslots; i++)
		n += g->slots[i].used;
	return n;
}

/* child: the migrator process of slot S. */
static void child(struct guardian *g, struct slot *s, int wfd, pid_t parent)
{
	struct mig_args a = {.cfg = g->cfg, .token = g->token, .task = &s->task, .progress_fd = wfd,
			      .local_dir = g->local_dir};
	sigset_t term;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(MIG_FAILED);
	close(g->sigfd);
	for (size_t i = 0; i < g->nslots; i++)
		if (g->slots[i].used && g->slots[i].pid > 0)
			close(g->slots[i].pipe);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigaddset(&term, SIGINT);
	a.sigfd = signalfd(-1, &term, SFD_CLOEXEC | SFD_NONBLOCK);
	fcntl(wfd, F_SETFL, O_NONBLOCK);
	_exit(migrator_run(&a));
}

static void start(struct guardian *g, struct slot *s)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0) {
		log_error("pipe: %s", strerror(errno));
		s->restart_at = now_ms() + 5000;
		return;
	}
	pid = getpid();
	if ((s->pid = fork()) == 0)
		child(g, s, p[1], pid);
	close(p[1]);
	if (s->pid < 0) {
		log_error("fork: %s", strerror(errno));
		close(p[0]);
		s->pid = 0;
		s->restart_at = now_ms() + 5000;
		return;
	}
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	s->pipe = p[0];
	s->last_ms = now_ms();
	s->progressed = 0;
	log_info("task %lld: %s: %s migrator %ld", s->task.id, s->task.mailbox,
		 s->restarts ? "restarted" : "started", (long)s->pid);
}

/* ended: slot S's migrator exited with wait STATUS. */
static void ended(struct guardian *g, struct slot *s, int status)
{
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	char buf[512];

	while (read(s->pipe, buf, sizeof(buf)) > 0)
		s->progressed = 1;
	close(s->pipe);
	s->pid = 0;
	if (code == MIG_FATAL)
		g->status = 2;
	if (code == MIG_DONE || code == MIG_LEASE || code == MIG_STOPPED || code == MIG_FATAL ||
	    s->dropped || g->stopping) {
		log_info("task %lld: %s: migrator ended: %s", s->task.id, s->task.mailbox,
			 code == MIG_DONE ? "done" : code == MIG_LEASE ? "lease lost"
				: s->dropped ? "stopped (lease lost or cancelled)" : "stopped");
		s->used = 0;
		return;
	}
	/* The back-off grows only while runs make no progress: a migrator
	 * that was moving when a fault (a server restart, a cut) ended it
	 * starts again in seconds, not minutes. */
	if (s->progressed)
		s->restarts = 0;
	s->restarts++;
	long long d = backoff_delay_us(5000000, s->restarts, 300000000) / 1000;

	log_warn("task %lld: %s: migrator %s %d; again in %lld s", s->task.id, s->task.mailbox,
		 code >= 0 ? "exited with status" : "killed by signal",
		 code >= 0 ? code : WTERMSIG(status), d / 1000);
	s->restart_at = now_ms() + d;
}

static void reap(struct guardian *g)
{
	int status;
	pid_t pid;
	size_t i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (i = 0; i < g->nslots; i++)
			if (g->slots[i].used && g->slots[i].pid == pid)
				ended(g, &g->slots[i], status);
}

/* watch: progress, stalls, deadlines, restarts due. */
static void watch(struct guardian *g)
{
	char buf[512];
	long long now = now_ms();
	size_t i;

	for (i = 0; i < g->nslots; i++) {
		struct slot *s = &g->slots[i];

		if (!s->used)
			continue;
		if (s->pid == 0) {
			if (!g->stopping && g->status == 0 && now >= s->restart_at)
				start(g, s);
			continue;
		}
		while (read(s->pipe, buf, sizeof(buf)) > 0) {
			s->last_ms = now;
			s->progressed = 1;
		}
		if (s->kill_at && now >= s->kill_at)
			kill(s->pid, SIGKILL);
		else if (now - s->last_ms > g->stall_ms) {
			log_warn("task %lld: %s: no progress for %lld s: killing migrator %ld",
				 s->task.id, s->task.mailbox, g->stall_ms / 1000, (long)s->pid);
			kill(s->pid, SIGKILL);
			s->last_ms = now;
		}
	}
}

static void stop_all(struct guardian *g, int sig)
{
	size_t i;

	for (i = 0; i < g->nslots; i++) {
		if (g->slots[i].used && g->slots[i].pid > 0)
			kill(g->slots[i].pid, sig);
		else if (g->slots[i].used)
			g->slots[i].used = 0;
	}
}

/* signals: handle what came within MS; 1 when something did. */
static int signals(struct guardian *g, int ms)
{
	struct pollfd p = {.fd = g->sigfd, .events = POLLIN};
	struct signalfd_siginfo si;

	if (poll(&p, 1, ms) <= 0)
		return 0;
	while (read(g->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if ((si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) && !g->stopping) {
			log_info("stopping: the migrators finish their batch under way");
			g->stopping = 1;
			stop_all(g, SIGTERM);
		}
	}
	return 1;
}

/* health: "ok", or "down" with the first local source's problem in *detail_r. */
static const char *health(struct guardian *g, char **detail_r)
{
	size_t n, i;
	const char *const *sys = config_list(g->cfg, "systems", &n);

	*detail_r = NULL;
	for (i = 0; i < n; i++)
		if (source_health(g->cfg, sys[i], detail_r) < 0)
			return "down";
	return "ok";
}

/* hb_apply: the server's word on each task. */
static void hb_apply(struct guardian *g, const struct ap_heartbeat *hb)
{
	size_t i, j;

	/* The shorter of ours and the server's: the server knows its lease,
	 * and a longer one than the lease lets the lease lapse under a
	 * running migrator (handed out again, its next upload refused). */
	g->hb_ms = g->conf_hb_ms;
	if (hb->heartbeat_ms >= 1000 && hb->heartbeat_ms < g->hb_ms)
		g->hb_ms = hb->heartbeat_ms;
	for (i = 0; i < hb->ntasks; i++) {
		for (j = 0; j < g->nslots; j++) {
			struct slot *s = &g->slots[j];

			if (!s->used || s->task.id != hb->tasks[i].id || s->dropped ||
			    hb->tasks[i].lease == AP_LEASE_OK)
				continue;
			s->dropped = 1;
			log_info("task %lld: %s: %s", s->task.id, s->task.mailbox,
				 hb->tasks[i].lease == AP_LEASE_LOST ? "lease lost" : "cancelled");
			if (s->pid == 0) {
				s->used = 0;
			} else if (hb->tasks[i].lease == AP_LEASE_LOST) {
				kill(s->pid, SIGKILL);
			} else {
				kill(s->pid, SIGTERM);
				s->kill_at = now_ms() + hb->tasks[i].deadline_ms;
			}
		}
	}
}

static void heartbeat(struct guardian *g)
{
	char *detail, *body, *err = NULL;
	const char *h = health(g, &detail);
	json_t *tasks = json_array(), *j;
	struct ap_heartbeat hb;
	struct ah_reply r;
	size_t i;
	int rc;

	for (i = 0; i < g->nslots; i++)
		if (g->slots[i].used)
			json_array_append_new(tasks, json_integer(g->slots[i].task.id));
	j = json_pack("{s:s, s:s, s:I, s:o}", "health", h, "detail", detail ? detail : "", "slots",
		      (json_int_t)(g->nslots - count_used(g)), "tasks", tasks);
	if (detail)
		log_warn("local source down: %s", detail);
	free(detail);
	body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	rc = ah_post(g->h, "/v1/heartbeat", body, 30, 1, &r);
	free(body);
	g->next_hb = now_ms() + g->hb_ms;
	if (rc == AH_FATAL)
		g->status = 2;
	if (rc != AH_OK)
		return;
	if (ap_parse_heartbeat(r.body, r.len, &hb, &err) < 0) {
		log_error("the server's heartbeat answer: %s", err);
		free(err);
		return;
	}
	hb_apply(g, &hb);
}

/* take: a task the server gave into a free slot. */
static void take(struct guardian *g, const struct ap_task *t)
{
	size_t i;

	for (i = 0; i < g->nslots; i++)
		if (g->slots[i].used && g->slots[i].task.id == t->id)
			return; /* ours already: the heartbeat renews it */
	for (i = 0; i < g->nslots; i++) {
		if (g->slots[i].used)
			continue;
		g->slots[i] = (struct slot){.used = 1, .task = *t};
		start(g, &g->slots[i]);
		return;
	}
}

static void poll_tasks(struct guardian *g)
{
	struct ap_task tasks[AP_MAX_TASKS];
	size_t free_slots = g->nslots - count_used(g), n, i;
	long long wait_s = (g->next_hb - now_ms()) / 1000;
	char *body, *err = NULL;
	struct ah_reply r;
	int rc;

	if (free_slots > AP_MAX_TASKS)
		free_slots = AP_MAX_TASKS;
	wait_s = g->once ? 0 : wait_s < 1 ? 1 : wait_s > LONG_POLL_MAX_S ? LONG_POLL_MAX_S : wait_s;
	body = xasprintf("{\"slots\":%zu,\"wait\":%lld}", free_slots, wait_s);
	ah_abort_fd(g->h, g->sigfd); /* a signal or a child's end: answer it now */
	rc = ah_post(g->h, "/v1/poll", body, wait_s + 30, 1, &r);
	ah_abort_fd(g->h, -1);
	free(body);
	if (rc == AH_FATAL)
		g->status = 2;
	if (rc != AH_OK) {
		if (r.status != 0 || !signals(g, 0))
			signals(g, 5000); /* not at once again */
		return;
	}
	if (ap_parse_poll(r.body, r.len, tasks, free_slots, &n, &err) < 0) {
		log_error("the server's poll answer: %s", err);
		free(err);
		signals(g, 5000);
		return;
	}
	g->polled_empty = n == 0;
	for (i = 0; i < n; i++)
		take(g, &tasks[i]);
}

/* step: one turn of the loop; 1 when the guardian is done. */
static int step(struct guardian *g)
{
	signals(g, 0);
	reap(g);
	watch(g);
	if (g->status != 0 && !g->stopping) {
		g->stopping = 1;
		stop_all(g, SIGKILL);
	}
	if (count_used(g) == 0 && (g->stopping || (g->once && g->polled_empty)))
		return 1;
	/* Stopping too: the batches under way keep their leases. */
	if (now_ms() >= g->next_hb && g->status == 0)
		heartbeat(g);
	if (!g->stopping && g->status == 0 && count_used(g) < g->nslots &&
	    !(g->once && g->polled_empty))
		poll_tasks(g);
	else
		signals(g, 1000);
	return 0;
}

int guardian_run(const struct config *cfg, const char *token, int once, const char *local_dir)
{
	struct guardian g = {.cfg = cfg, .token = token, .once = once, .local_dir = local_dir};
	sigset_t set;
	char *err = NULL;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	g.sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	g.h = ah_new(config_str(cfg, "agent_server_url"), config_str(cfg, "agent_ca_file"), token,
		     &err);
	if (g.sigfd < 0 || g.h == NULL) {
		log_error("%s", err ? err : strerror(errno));
		free(err);
		return 1;
	}
	g.nslots = (size_t)config_int(cfg, "agent_max_migrators");
	g.slots = xcalloc(g.nslots, sizeof(*g.slots));
	g.hb_ms = g.conf_hb_ms = config_time_ms(cfg, "agent_heartbeat");
	g.stall_ms = config_time_ms(cfg, "agent_stall_timeout");
	log_info("started -- version %s, server %s, %zu migrators at most%s", FEDMIG_VERSION,
		 config_str(cfg, "agent_server_url"), g.nslots, once ? ", once" : "");
	while (!step(&g))
		;
	log_info("terminating%s", g.status == 2 ? ": refused by the server" : "");
	ah_free(&g.h);
	free(g.slots);
	close(g.sigfd);
	return g.status;
}
