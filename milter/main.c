/*
 * fedmig-milter: holds mail for addresses being switched (DESIGN.md "The
 * switch, exactly"). The service is in filter.c; this file binds the
 * sockets as root, drops privileges and hands over to libmilter.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "daemon.h"
#include "filter.h"
#include "log.h"
#include "server.h"
#include "txn.h"
#include "xalloc.h"

static char *milter_spec;
static int status_fd = -1;

/* libmilter creates the socket; Postfix (socket_group) must reach it. */
static int fix_socket(const struct config *cfg, const char *path)
{
	const char *user = config_str(cfg, "fedmig_user");
	const char *group = config_str(cfg, "socket_group");
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;

	if (geteuid() == 0) {
		struct passwd *pw = *user ? getpwnam(user) : NULL;
		struct group *gr = *group ? getgrnam(group) : NULL;

		if (*user && pw == NULL) {
			log_error("unknown user %s (fedmig_user)", user);
			return -1;
		}
		if (*group && gr == NULL) {
			log_error("unknown group %s (socket_group)", group);
			return -1;
		}
		uid = pw ? pw->pw_uid : uid;
		gid = gr ? gr->gr_gid : gid;
		if (chown(path, uid, gid) < 0) {
			log_error("chown(%s): %s", path, strerror(errno));
			return -1;
		}
	}
	if (chmod(path, (mode_t)config_int(cfg, "socket_mode")) < 0) {
		log_error("chmod(%s): %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int milter_bind(struct config *cfg)
{
	const char *spec = config_str(cfg, "milter_socket");
	const char *status = config_str(cfg, "milter_status_socket");
	const char *path;
	char *err = NULL;
	long long timeout_s = (config_time_ms(cfg, "milter_timeout") + 999) / 1000;

	milter_spec = xstrdup(spec);
	if (smfi_setconn(milter_spec) != MI_SUCCESS) {
		log_error("smfi_setconn(%s) failed", spec);
		return 1;
	}
	smfi_settimeout((int)timeout_s);
	filter_init(cfg, server_verbose());
	if (smfi_register(filter_desc) != MI_SUCCESS) {
		log_error("smfi_register failed");
		return 1;
	}
	if (smfi_opensocket(1) != MI_SUCCESS) {
		log_error("cannot listen on %s (milter_socket; libmilter logs the reason to syslog)",
			  spec);
		return 1;
	}
	if ((path = daemon_unix_path(spec)) != NULL && fix_socket(cfg, path) < 0)
		return 1;
	if (*status) {
		status_fd = daemon_listen(status, 16, (mode_t)config_int(cfg, "socket_mode"),
					  config_str(cfg, "fedmig_user"), config_str(cfg, "socket_group"),
					  &err);
		if (status_fd < 0) {
			log_error("milter_status_socket %s: %s", status, err);
			free(err);
			return 1;
		}
	}
	if (daemon_drop_privileges(config_str(cfg, "fedmig_user"), &err) < 0) {
		log_error("%s", err);
		free(err);
		return 1;
	}
	return 0;
}

static int milter_run(struct config *cfg)
{
	const char *status = config_str(cfg, "milter_status_socket");
	char *err = NULL;
	int rc;

	if (status_fd >= 0 && status_start(status_fd, &err) < 0) {
		log_error("status socket: %s", err);
		free(err);
		return 1;
	}
	log_info("listening on %s%s%s", milter_spec, status_fd >= 0 ? ", status on " : "",
		 status_fd >= 0 ? status : "");
	rc = smfi_main() == MI_SUCCESS ? 0 : 1;
	if (rc != 0)
		log_error("smfi_main failed (libmilter logs the reason to syslog)");
	status_stop();
	if (status_fd >= 0) {
		const char *path = daemon_unix_path(status);

		close(status_fd);
		/* Fails when the directory is root's: harmless, the next start
		 * replaces the socket. */
		if (path)
			(void)unlink(path);
	}
	filter_shutdown();
	free(milter_spec);
	milter_spec = NULL;
	log_info("stopped");
	return rc;
}

int main(int argc, char **argv)
{
	static const struct server_ops ops = {
		.name = "fedmig-milter",
		.synopsis = "Holds mail for addresses being switched to another mail system "
			    "(libmilter filter).",
		.bind = milter_bind,
		.run = milter_run,
		.keep_root = 1,
	};

	return server_main(argc, argv, &ops);
}
