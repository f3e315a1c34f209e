/*
 * fedmig-agent - reads mailboxes beside a firewalled source server and
 * uploads them to the federation's agent API. See fedmig-agent(8).
 */
#include <stdio.h>
#include <stdlib.h>

#include <curl/curl.h>

#include "enrol.h"
#include "guardian.h"
#include "log.h"
#include "secrets.h"
#include "server.h"
#include "ws_run.h"

static int opt_once, opt_force, opt_ws, opt_rollback;
static const char *opt_code;

static int option(int opt, const char *arg)
{
	switch (opt) {
	case '1':
		opt_once = 1;
		return 0;
	case 'E':
		opt_code = arg;
		return 0;
	case 'F':
		opt_force = 1;
		return 0;
	case 'w':
		opt_ws = 1;
		return 0;
	case 'R':
		opt_rollback = 1;
		return 0;
	}
	return -1;
}

static int run(struct server *srv, struct config *cfg)
{
	char *token, *err = NULL;
	int rc;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		log_error("curl_global_init failed");
		return 1;
	}
	if (opt_rollback && !opt_ws) {
		log_error("--rollback is an option of --workstation");
		rc = 1;
	} else if (opt_code != NULL) {
		rc = enrol_run(cfg, opt_code, opt_force);
	} else if ((token = enrol_read_token(config_str(cfg, "agent_token_file"), &err)) == NULL) {
		log_error("%s", err);
		free(err);
		rc = 1;
	} else {
		rc = opt_ws && opt_rollback ? ws_rollback(cfg, token)
		     : opt_ws		    ? ws_run(cfg, token)
					    : guardian_run(cfg, token, opt_once, NULL);
		secrets_wipe(&token);
	}
	curl_global_cleanup();
	return rc;
}

static const struct server_opt opts[] = {
	{'E', "enrol", "CODE", "enrol with the one-time CODE of fedmigctl agent add\n"
			       "(- reads it from stdin), write agent_token_file, exit"},
	{'F', "force", NULL, "with --enrol: replace an existing token file"},
	{'1', "once", NULL, "migrate the tasks there are now, then exit"},
	{'w', "workstation", NULL, "run on a user's desktop: checks, Local Folders upload and\n"
				   "Thunderbird profile switch (see fedmig-agent(8))"},
	{'R', "rollback", NULL, "with --workstation: put prefs.js back as it was before the\n"
				"switch, report it, exit"},
	{0, NULL, NULL, NULL},
};

/* Started as root, it runs as fedmig_user (it binds nothing first): the
 * owner of the token file, a reader of the mailboxes. */
static const struct server_ops ops = {
	.name = "fedmig-agent",
	.synopsis = "fedmig agent: reads local mailboxes and uploads them over HTTPS",
	.opts = opts,
	.option = option,
	.run = run,
};

int main(int argc, char **argv)
{
	return server_main(argc, argv, &ops);
}
