#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_check.h"
#include "ws_conf.h"
#include "xalloc.h"

static void add(char **err, const struct config *cfg, const char *sys, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void add(char **err, const struct config *cfg, const char *sys, const char *fmt, ...)
{
	va_list ap;
	char *msg, *line;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	line = xasprintf("%s%s: system %s: %s\n", *err ? *err : "", config_path(cfg), sys, msg);
	free(msg);
	free(*err);
	*err = line;
}

static void check_exec(const struct config *cfg, const char *sys, char **err)
{
	const char *cmd = config_sys_str(cfg, sys, "driver_command");
	struct stat st;

	if (*cmd == '\0') {
		add(err, cfg, sys,
		    "%s_driver is exec (the default when unset), but %s_driver_command is not "
		    "set: set %s_driver_command to the site's provisioning program, or "
		    "%s_driver = dovecot or none",
		    sys, sys, sys, sys);
		return;
	}
	if (*cmd != '/') {
		add(err, cfg, sys, "%s_driver_command = %s: must be an absolute path", sys, cmd);
		return;
	}
	/* A program installed later is the admin's business; one that is
	 * there but cannot run fails every request. */
	if (stat(cmd, &st) == 0 && (!S_ISREG(st.st_mode) || access(cmd, X_OK) < 0))
		add(err, cfg, sys, "%s_driver_command = %s: not an executable file", sys, cmd);
}

static void check_dovecot(const struct config *cfg, const char *sys, char **err)
{
	const char *pw = config_sys_str(cfg, sys, "passwd_file");
	const char *slash = strrchr(pw, '/');
	struct stat st;

	if (*pw == '\0') {
		add(err, cfg, sys,
		    "%s_driver = dovecot needs %s_passwd_file, the passwd-file userdb of "
		    "that Dovecot where mailboxes are created",
		    sys, sys);
		return;
	}
	if (*pw != '/') {
		add(err, cfg, sys, "%s_passwd_file = %s: must be an absolute path", sys, pw);
		return;
	}
	char *dir = xstrndup(pw, slash == pw ? 1 : (size_t)(slash - pw));

	if (stat(dir, &st) < 0)
		add(err, cfg, sys, "%s_passwd_file = %s: stat %s: %s", sys, pw, dir,
		    strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		add(err, cfg, sys, "%s_passwd_file = %s: %s is not a directory", sys, pw, dir);
	free(dir);
}

/* Postfix transport syntax: TRANSPORT:NEXTHOP, TRANSPORT a master.cf name. */
static void check_transport(const struct config *cfg, const char *sys, char **err)
{
	const char *t = config_sys_str(cfg, sys, "transport");
	const char *p = t;

	if (*t == '\0')
		return;
	while (isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.')
		p++;
	if (p == t || *p != ':' || strpbrk(t, " \t#") != NULL)
		add(err, cfg, sys,
		    "%s_transport = %s: not a Postfix TRANSPORT:NEXTHOP such as "
		    "lmtp:inet:mail.example.org:24",
		    sys, t);
}

int config_check(const struct config *cfg, char **err_r)
{
	size_t n;
	const char *const *sys = config_list(cfg, "systems", &n);
	char *err = NULL;

	for (size_t i = 0; i < n; i++) {
		const char *d = config_sys_str(cfg, sys[i], "driver");

		if (strcmp(d, "exec") == 0)
			check_exec(cfg, sys[i], &err);
		else if (strcmp(d, "dovecot") == 0)
			check_dovecot(cfg, sys[i], &err);
		check_transport(cfg, sys[i], &err);
	}
	ws_conf_check(cfg, &err);
	if (err == NULL)
		return 0;
	*err_r = err;
	return -1;
}
