/*
 * drv_exec - the "exec" provisioning driver: every verb runs
 * NAME_driver_command VERB ARGS... (execve, no shell, FEDMIG_SYSTEM=NAME
 * the only environment variable), ARGS as drv.h lays them out.
 *
 * Contract (drv.h): exit 0 is DRV_OK; 75 (EX_TEMPFAIL), a signal, or
 * running past NAME_driver_timeout (then killed) is DRV_TEMP; any other
 * status DRV_FAIL, with the first line of the program's stderr in WHY.
 * "addresses" takes the program's stdout as the list. A relative
 * NAME_driver_command is DRV_FAIL. Addresses never start with '-' (an
 * option to the program) nor hold a control byte (canonical form).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "drv.h"
#include "run.h"
#include "xalloc.h"

#define EX_TEMPFAIL_ 75

int drv_exec_call(const struct config *cfg, const char *sys, const char *key,
		  const char *const *args, size_t nargs, char **out_r, char *why)
{
	const char *cmd = config_sys_str(cfg, sys, key);
	const char **argv;
	char *out = NULL, *err = NULL, sbuf[64];
	int status, rc;

	if (*cmd != '/') {
		snprintf(why, DRV_WHY, "%s_%s must be an absolute path", sys, key);
		return DRV_FAIL;
	}
	argv = xcalloc(nargs + 2, sizeof(*argv));
	argv[0] = cmd;
	for (size_t i = 0; i < nargs; i++)
		argv[i + 1] = args[i];
	char *sysenv = xasprintf("FEDMIG_SYSTEM=%s", sys);
	const char *env[] = {sysenv, NULL};

	status = run_argv(argv, env, NULL, config_sys_time_ms(cfg, sys, "driver_timeout"),
			  out_r ? &out : NULL, &err);
	free(sysenv);
	free(argv);
	if (status == 0) {
		rc = DRV_OK;
	} else {
		/* The script's first line of stderr is its reason. */
		size_t n = strcspn(err ? err : "", "\n");

		snprintf(why, DRV_WHY, "%s %s: %s%s%.*s", cmd, args[0],
			 run_status_text(status, sbuf), n ? ": " : "", (int)(n > 300 ? 300 : n),
			 err ? err : "");
		rc = status == EX_TEMPFAIL_ || status == RUN_TIMEOUT || status == RUN_SIGNALED ||
			     status == RUN_SIGPIPE
			     ? DRV_TEMP
			     : DRV_FAIL;
	}
	free(err);
	if (out_r) {
		if (rc == DRV_OK)
			*out_r = out;
		else
			free(out);
	}
	return rc;
}

static int exec_run(const struct drv_call *c)
{
	return drv_exec_call(c->cfg, c->sys, "driver_command", c->args, c->nargs, NULL, c->why);
}

/* The verbs: the arguments are already in C->args. */
static int exec_create(const struct drv_call *c, const char *physical, const char *access)
{
	return exec_run(c);
}

static int exec_form(const struct drv_call *c, const char *physical, const char *access,
		     const char *const *aliases, size_t naliases)
{
	return exec_run(c);
}

static int exec_redirect(const struct drv_call *c, const char *from, const char *to)
{
	return exec_run(c);
}

static int exec_one(const struct drv_call *c, const char *addr)
{
	return exec_run(c);
}

static int exec_addresses(const struct drv_call *c, char **list_r)
{
	return drv_exec_call(c->cfg, c->sys, "driver_command", c->args, c->nargs, list_r, c->why);
}

static const char *exec_refuse(const char *addr)
{
	return addr[0] == '-' ? "a leading '-' would read as an option" : NULL;
}

const struct driver_ops drv_exec = {
	.name = "exec",
	.local = 0,
	.refuse = exec_refuse,
	.create = exec_create,
	.form = exec_form,
	.redirect = exec_redirect,
	.unredirect = exec_one,
	.unform = exec_one,
	.addresses = exec_addresses,
	.del = exec_one,
};
