/*
 * ws_steps - the workstation steps the loop (ws_run.c) runs for one
 * answer of /v1/ws/next: check, upload, switch (with its test and, on a
 * failed test, the repair), cleanup; and the user's rollback.
 *
 * Contract. Each returns AH_OK when done or deferred (Thunderbird
 * running: logged, asked again after retry_ms), AH_ERROR when the API
 * failed (the loop backs off), AH_FATAL when the server refused the
 * agent. Every outcome the server must know is reported by wsr_report.
 * ws_step_rollback returns the exit status of --rollback.
 */
#ifndef FEDMIG_AGENT_WS_STEPS_H
#define FEDMIG_AGENT_WS_STEPS_H

#include "config.h"
#include "http.h"
#include "ws_proto.h"

struct wsr {
	const struct config *cfg;
	const char *token;
	struct ah *h;
	char *tb_dir; /* ~/.thunderbird */
	int sigfd;  /* SIGTERM, SIGINT */
	int usr1fd; /* SIGUSR1: ask the server now */
	unsigned seed;
};

int wsr_next(struct wsr *w, struct ws_next *n);
int wsr_report(struct wsr *w, const struct ws_report *rep);

int ws_step_check(struct wsr *w, const struct ws_next *n);
int ws_step_upload(struct wsr *w, const struct ws_next *n);
int ws_step_switch(struct wsr *w, const struct ws_next *n);
int ws_step_cleanup(struct wsr *w, const struct ws_next *n);
int ws_step_rollback(struct wsr *w);

#endif
