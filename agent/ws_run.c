/*
 * ws_run - the workstation loop (ws_run.h). The steps themselves are in
 * ws_steps.c; this file asks, reports, sleeps and stops.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "log.h"
#include "server.h"
#include "ws_run.h"
#include "ws_steps.h"
#include "xalloc.h"

#define ERROR_FIRST_US 1000000LL
#define ERROR_CAP_US (300LL * 1000000)

/* wait_ms: sleep MS, less at SIGUSR1 (ask now), or until SIGTERM/SIGINT
 * (then 1). */
static int wait_ms(struct wsr *w, long long ms)
{
	struct pollfd p[2] = {{.fd = w->sigfd, .events = POLLIN}, {.fd = w->usr1fd, .events = POLLIN}};
	struct signalfd_siginfo si;

	if (poll(p, 2, ms > 3600000 ? 3600000 : (int)ms) <= 0)
		return 0;
	while (read(w->usr1fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		;
	while (read(w->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			return 1;
	return 0;
}

int wsr_next(struct wsr *w, struct ws_next *n)
{
	struct ah_reply r;
	char *err = NULL;
	int rc = ah_post(w->h, "/v1/ws/next", "{\"version\":\"" FEDMIG_VERSION "\"}", 60, 3, &r);

	if (rc != AH_OK)
		return rc == AH_FATAL ? AH_FATAL : AH_ERROR;
	if (ws_parse_next(r.body, r.len, n, &err) < 0) {
		log_error("the agent API's answer to /v1/ws/next is not understood: %s", err);
		free(err);
		return AH_ERROR;
	}
	return AH_OK;
}

int wsr_report(struct wsr *w, const struct ws_report *rep)
{
	struct ah_reply r;
	char *body = ws_report_json(rep);
	int rc = ah_post(w->h, "/v1/ws/report", body, 60, 3, &r);

	free(body);
	if (rc == AH_OK)
		log_info("request %lld: reported %s %s%s%s", rep->request, rep->step,
			 rep->ok ? "ok" : "failed", rep->detail ? ": " : "",
			 rep->detail ? rep->detail : "");
	return rc == AH_FATAL ? AH_FATAL : rc == AH_OK ? AH_OK : AH_ERROR;
}

/* wsr_open: the client, the Thunderbird directory, the signals. */
static int wsr_open(struct wsr *w, const struct config *cfg, const char *token)
{
	const char *dir = config_str(cfg, "agent_profile_dir"), *home = getenv("HOME");
	sigset_t set;
	char *err = NULL;

	memset(w, 0, sizeof(*w));
	w->cfg = cfg;
	w->sigfd = w->usr1fd = -1;
	w->token = token;
	w->seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	if (dir[0] == '\0' && (home == NULL || home[0] != '/')) {
		log_error("HOME is not an absolute path and agent_profile_dir is not set: "
			  "where is Thunderbird's directory?");
		return -1;
	}
	w->tb_dir = dir[0] ? xstrdup(dir) : xasprintf("%s/.thunderbird", home);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	w->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	/* Its own fd: a pending SIGUSR1 must not abort an API call (ah_abort_fd). */
	w->usr1fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	w->h = ah_new(config_str(cfg, "agent_server_url"), config_str(cfg, "agent_ca_file"), token,
		      &err);
	if (w->sigfd < 0 || w->usr1fd < 0 || w->h == NULL) {
		log_error("%s", err ? err : strerror(errno));
		free(err);
		return -1;
	}
	ah_abort_fd(w->h, w->sigfd);
	return 0;
}

static void wsr_close(struct wsr *w)
{
	ah_free(&w->h);
	if (w->sigfd >= 0)
		close(w->sigfd);
	if (w->usr1fd >= 0)
		close(w->usr1fd);
	free(w->tb_dir);
}

/* act: one answer of /v1/ws/next done; AH_OK, AH_ERROR or AH_FATAL. */
static int act(struct wsr *w, const struct ws_next *n)
{
	switch (n->step) {
	case WS_STEP_CHECK:
		return ws_step_check(w, n);
	case WS_STEP_UPLOAD:
		return ws_step_upload(w, n);
	case WS_STEP_SWITCH:
		return ws_step_switch(w, n);
	case WS_STEP_CLEANUP:
		return ws_step_cleanup(w, n);
	case WS_STEP_NONE:
		break;
	}
	return AH_OK;
}

int ws_run(const struct config *cfg, const char *token)
{
	struct wsr w;
	struct ws_next n;
	int errors = 0, rc = 0;
	long long us;

	if (wsr_open(&w, cfg, token) < 0) {
		wsr_close(&w);
		return 1;
	}
	log_info("started -- version %s, workstation, server %s, Thunderbird in %s", FEDMIG_VERSION,
		 config_str(cfg, "agent_server_url"), w.tb_dir);
	for (;;) {
		rc = wsr_next(&w, &n);
		if (rc == AH_OK) {
			if (n.step != WS_STEP_NONE)
				log_info("request %lld (%s): step %s", n.request, n.state,
					 ws_step_name(n.step));
			rc = act(&w, &n);
		}
		if (rc == AH_FATAL)
			break;
		errors = rc == AH_OK ? 0 : errors + 1;
		us = rc == AH_OK ? n.retry_ms * 1000
				 : ah_jitter_us(backoff_delay_us(ERROR_FIRST_US, errors, ERROR_CAP_US),
						&w.seed);
		if (wait_ms(&w, us / 1000))
			break;
	}
	log_info("terminating%s", rc == AH_FATAL ? ": refused by the server" : "");
	wsr_close(&w);
	return rc == AH_FATAL ? 2 : 0;
}

int ws_rollback(const struct config *cfg, const char *token)
{
	struct wsr w;
	int rc = 1;

	if (wsr_open(&w, cfg, token) == 0)
		rc = ws_step_rollback(&w);
	wsr_close(&w);
	return rc;
}
