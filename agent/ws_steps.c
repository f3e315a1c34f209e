/*
 * ws_steps - the workstation steps (ws_steps.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "guardian.h"
#include "log.h"
#include "secrets.h"
#include "ws_check.h"
#include "ws_file.h"
#include "ws_home.h"
#include "ws_probe.h"
#include "ws_profile.h"
#include "ws_steps.h"
#include "xalloc.h"

/* The switch N asks for, its host lists pointing into N. */
struct sw {
	struct ws_switch s;
	const char *imap[WS_OLD_MAX + 1], *smtp[WS_OLD_MAX + 1];
};

static void sw_of(const struct ws_next *n, struct sw *w)
{
	size_t i;

	memset(w, 0, sizeof(*w));
	for (i = 0; i < n->n_old_imap; i++)
		w->imap[i] = n->old_imap[i];
	for (i = 0; i < n->n_old_smtp; i++)
		w->smtp[i] = n->old_smtp[i];
	w->s.old_hosts = w->imap;
	w->s.old_smtp = n->n_old_smtp > 0 ? w->smtp : NULL;
	w->s.old_user = n->old_user;
	w->s.imap = (struct ws_endpoint){n->imap_host, n->imap_port, n->imap_socket, n->new_user};
	w->s.pop3 = (struct ws_endpoint){NULL, 0, -1, NULL};
	w->s.smtp = n->smtp_host[0] ? (struct ws_endpoint){n->smtp_host, n->smtp_port,
							  n->smtp_socket, n->new_user}
				    : (struct ws_endpoint){NULL, 0, -1, NULL};
}

/* profile: the default profile opened (-1 with *why_r); H to close. */
static int profile(struct wsr *w, struct ws_home *h, char **why_r)
{
	int fd;

	if (ws_home_open(w->tb_dir, h, why_r) < 0)
		return -1;
	if ((fd = ws_home_profile(h, why_r)) < 0)
		ws_home_close(h);
	return fd;
}

/* running: 1 (logged) when Thunderbird holds the profile PFD or its lock
 * cannot be read, else 0. */
static int running(int pfd, const char *what)
{
	char *err = NULL;
	pid_t pid = 0;
	int r = ws_profile_running(pfd, &pid, &err);

	if (r > 0)
		log_info("Thunderbird is running (pid %ld): the %s waits until it is closed",
			 (long)pid, what);
	else if (r < 0)
		log_error("the %s waits: the profile's lock: %s", what, err);
	free(err);
	return r != 0;
}

/* old_host: S is one of N's old host names. */
static int old_host(const struct ws_next *n, const char *s)
{
	size_t i;

	for (i = 0; i < n->n_old_imap; i++)
		if (strcasecmp(s, n->old_imap[i]) == 0)
			return 1;
	for (i = 0; i < n->n_old_smtp; i++)
		if (strcasecmp(s, n->old_smtp[i]) == 0)
			return 1;
	return 0;
}

/* user_js: the first server host key of user.js (it overrides prefs.js,
 * so the switch would be undone at every start) naming the old system. */
static char *user_js(int pfd, const struct ws_next *n)
{
	struct ws_prefs p;
	char *text, *err = NULL, *found = NULL;
	size_t len, i;

	if (ws_file_read(pfd, "user.js", WS_PREFS_MAX, &text, &len, NULL, &err) != 0) {
		free(err); /* none, the usual case */
		return NULL;
	}
	ws_prefs_parse(text, len, &p);
	free(text);
	for (i = 0; i < p.n && found == NULL; i++) {
		const struct wsp_line *l = &p.v[i];
		size_t k = l->key ? strlen(l->key) : 0;

		if (l->type == WSP_STR && (strncmp(l->key, "mail.server.", 12) == 0 ||
					   strncmp(l->key, "mail.smtpserver.", 16) == 0) &&
		    ((k > 9 && strcmp(l->key + k - 9, ".hostname") == 0) ||
		     (k > 13 && strcmp(l->key + k - 13, ".realhostname") == 0)) &&
		    old_host(n, l->str))
			found = xasprintf("user.js sets %s to the old server %s: it overrides "
					  "prefs.js, remove the line before the switch",
					  l->key, l->str);
	}
	ws_prefs_free(&p);
	return found;
}

int ws_step_check(struct wsr *w, const struct ws_next *n)
{
	struct ws_report rep = {.request = n->request, .step = "check", .local_messages = -1};
	struct ws_check c;
	struct ws_home h;
	struct sw sw;
	char *err = NULL, *detail = NULL, *ujs = NULL;
	int pfd, rc;

	if (!n->has_endpoints) {
		log_info("request %lld: the check waits for the server to name the systems",
			 n->request);
		return AH_OK;
	}
	sw_of(n, &sw);
	if (ws_home_open(w->tb_dir, &h, &err) < 0) {
		rep.detail = err;
		rc = wsr_report(w, &rep);
		free(err);
		return rc;
	}
	if (ws_check_run(h.home_fd, h.home, &sw.s, &c, &err) < 0) {
		c.failure = err;
		err = NULL;
	}
	if (c.failure == NULL && c.profile != NULL &&
	    (pfd = ws_open_rel(h.home_fd, c.profile, &err)) >= 0) {
		ujs = user_js(pfd, n);
		close(pfd);
	}
	free(err);
	rep.ok = c.failure == NULL && ujs == NULL;
	detail = rep.ok ? xasprintf("profile %s: %zu values to switch, Local Folders %s, "
				    "%u folders, %llu bytes; %llu bytes free",
				    c.profile, c.changes, c.lf_rel ? (c.lf_maildir ? "maildir" : "mbox")
								: "none",
				    c.lf_folders, c.lf_bytes, c.free_bytes)
			: xstrdup(c.failure ? c.failure : ujs);
	rep.detail = detail;
	rep.profile = c.profile;
	rep.local_format = c.lf_rel ? (c.lf_maildir ? "maildir" : "mbox") : "none";
	rep.local_folders = c.lf_folders;
	rep.local_bytes = (long long)c.lf_bytes;
	rep.changed = (long long)c.changes;
	rc = wsr_report(w, &rep);
	free(detail);
	free(ujs);
	ws_check_free(&c);
	ws_home_close(&h);
	return rc;
}

int ws_step_upload(struct wsr *w, const struct ws_next *n)
{
	struct ws_home h;
	char *err = NULL;
	int pfd = profile(w, &h, &err), busy;

	if (pfd < 0) {
		log_error("request %lld: the upload of the Local Folders waits: %s", n->request, err);
		free(err);
		return AH_OK;
	}
	busy = running(pfd, "upload of the Local Folders");
	close(pfd);
	ws_home_close(&h);
	if (busy)
		return AH_OK;
	/* The "@local" task comes through the task poll, as for a server agent. */
	switch (guardian_run(w->cfg, w->token, 1, w->tb_dir)) {
	case 0:
		return AH_OK;
	case 2:
		return AH_FATAL;
	default:
		return AH_ERROR;
	}
}

/* password: the user's password from agent_test_password_file (NULL:
 * none set; *why_r when the file is refused: not 0600, not the user's). */
static char *password(struct wsr *w, char **why_r)
{
	const char *path = config_str(w->cfg, "agent_test_password_file");
	char *buf, *pw;
	size_t len;

	if (path[0] == '\0')
		return NULL;
	if (secrets_read(path, &buf, &len, why_r) < 0)
		return NULL;
	pw = xstrndup(buf, strcspn(buf, "\r\n"));
	secrets_free(buf, len);
	if (pw[0] == '\0') {
		*why_r = xasprintf("%s: empty", path);
		secrets_wipe(&pw);
	}
	return pw;
}

/* test: E31 with N's new settings; 0, or -1 with *why_r. */
static int test(struct wsr *w, const struct ws_next *n, char **why_r)
{
	struct ws_probe p = {.imap_host = n->imap_host, .imap_port = n->imap_port,
			     .imap_socket = n->imap_socket, .smtp_host = n->smtp_host,
			     .smtp_port = n->smtp_port, .smtp_socket = n->smtp_socket,
			     .user = n->new_user, .ca_file = config_str(w->cfg, "agent_ca_file"),
			     .timeout_s = 30};
	char *pw, *err = NULL;
	int rc;

	pw = password(w, &err);
	if (err != NULL) {
		*why_r = xasprintf("the test password file: %s", err);
		free(err);
		return -1;
	}
	p.password = pw;
	rc = ws_probe_run(&p, why_r);
	secrets_wipe(&pw);
	return rc;
}

/* after_switch: the test, and the repair when it fails. */
static int after_switch(struct wsr *w, const struct ws_next *n, int pfd)
{
	struct ws_report rep = {.request = n->request, .step = "test", .ok = 1,
				.local_folders = -1, .local_messages = -1, .local_bytes = -1,
				.changed = -1};
	char *why = NULL, *err = NULL, *detail;
	int rc;

	rep.ok = test(w, n, &why) == 0;
	rep.detail = rep.ok ? "IMAP and SMTP answer with the new settings" : why;
	rc = wsr_report(w, &rep);
	if (rep.ok || rc == AH_FATAL) {
		free(why);
		return rc;
	}
	rep.step = "repair";
	rep.ok = ws_prefs_rollback(pfd, &err) == 0;
	detail = rep.ok ? xasprintf("profile rolled back: %s", why)
			: xasprintf("profile NOT rolled back (%s): %s", err ? err : "no backup", why);
	rep.detail = detail;
	rc = wsr_report(w, &rep);
	free(detail);
	free(err);
	free(why);
	return rc;
}

int ws_step_switch(struct wsr *w, const struct ws_next *n)
{
	struct ws_report rep = {.request = n->request, .step = "switch", .local_folders = -1,
				.local_messages = -1, .local_bytes = -1};
	struct ws_home h;
	struct sw sw;
	char *err = NULL;
	size_t changed = 0;
	int pfd = profile(w, &h, &err), rc;

	if (pfd < 0) {
		rep.detail = err;
		rc = wsr_report(w, &rep);
		free(err);
		return rc;
	}
	rep.profile = h.profile;
	if (running(pfd, "profile switch")) {
		close(pfd);
		ws_home_close(&h);
		return AH_OK;
	}
	sw_of(n, &sw);
	rep.ok = ws_prefs_apply(pfd, &sw.s, &changed, &err) == 0;
	/* Thunderbird rewrites prefs.js on exit: one started meanwhile would
	 * undo the switch later, so the switch is undone now. */
	if (rep.ok && running(pfd, "profile switch")) {
		rep.ok = 0;
		err = ws_prefs_rollback(pfd, &err) == 0 ? xstrdup("Thunderbird started during the "
								  "switch: rolled back")
							: err;
	}
	rep.changed = (long long)changed;
	rep.detail = rep.ok ? NULL : err;
	rc = wsr_report(w, &rep);
	free(err);
	if (rep.ok && rc == AH_OK)
		rc = after_switch(w, n, pfd);
	close(pfd);
	ws_home_close(&h);
	return rc;
}

int ws_step_cleanup(struct wsr *w, const struct ws_next *n)
{
	struct ws_report rep = {.request = n->request, .step = "cleanup", .local_folders = -1,
				.local_messages = -1, .local_bytes = -1, .changed = -1};
	struct ws_home h;
	char *err = NULL;
	int pfd = profile(w, &h, &err), rc;

	if (pfd >= 0) {
		rep.ok = ws_prefs_cleanup(pfd, &err) == 0;
		rep.detail = rep.ok ? "the backup of prefs.js is removed" : err;
		close(pfd);
		ws_home_close(&h);
	} else {
		rep.detail = err;
	}
	rc = wsr_report(w, &rep);
	free(err);
	return rc;
}

/* report_rollback: tell the server, when it knows a request of ours. */
static void report_rollback(struct wsr *w, const char *detail)
{
	struct ws_report rep = {.step = "rollback", .ok = 1, .detail = detail,
				.local_folders = -1, .local_messages = -1, .local_bytes = -1,
				.changed = -1};
	struct ws_next n;

	if (wsr_next(w, &n) != AH_OK || n.request == 0) {
		fprintf(stderr, "fedmig-agent: the rollback could not be reported: the server "
				"knows no request of this user now\n");
		return;
	}
	rep.request = n.request;
	if (wsr_report(w, &rep) != AH_OK)
		fprintf(stderr, "fedmig-agent: the rollback could not be reported (see the log)\n");
}

int ws_step_rollback(struct wsr *w)
{
	struct ws_home h;
	char *err = NULL;
	int pfd = profile(w, &h, &err), r;

	if (pfd < 0) {
		fprintf(stderr, "fedmig-agent: %s\n", err);
		free(err);
		return 1;
	}
	if (ws_profile_running(pfd, &(pid_t){0}, &err) != 0) {
		fprintf(stderr, "fedmig-agent: close Thunderbird first%s%s\n", err ? ": " : "",
			err ? err : "");
		r = -1;
	} else if ((r = ws_prefs_rollback(pfd, &err)) == -2) {
		fprintf(stderr, "fedmig-agent: no backup of prefs.js in %s: nothing was switched, "
				"or the cleanup removed it\n",
			h.profile);
	} else if (r < 0) {
		fprintf(stderr, "fedmig-agent: the rollback failed: %s\n", err);
	} else {
		printf("prefs.js of %s is back as it was before the switch\n", h.profile);
		report_rollback(w, "the user rolled the profile back");
	}
	free(err);
	close(pfd);
	ws_home_close(&h);
	return r == 0 ? 0 : 1;
}
