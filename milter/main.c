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
#include "sdnotify.h"
#include "server.h"
#include "txn.h"
#include "xalloc.h"

static char *milter_spec;
static int status_fd = -1;
/* Our socket once renamed into place: removed at stop if still ours
 * (libmilter removes only the path it bound, our private one). */
static dev_t sock_dev;
static ino_t sock_ino;

static int milter_bind(struct config *cfg)
{
	const char *spec = config_str(cfg, "milter_socket");
	const char *status = config_str(cfg, "milter_status_socket");
	const char *path = daemon_unix_path(spec);
	char *err = NULL;
	long long timeout_s = (config_time_ms(cfg, "milter_timeout") + 999) / 1000;
	struct daemon_unix u = {.dirfd = -1, .tmpfd = -1};

	/* libmilter binds by path: let it bind in our private directory,
	 * then give the socket its owner there and rename it into place
	 * (lib/daemon.h), never a chown or chmod through PATH. */
	if (path) {
		if (daemon_unix_prepare(path, (mode_t)config_int(cfg, "socket_mode"), &u, &err) < 0) {
			log_error("milter_socket %s: %s", spec, err);
			free(err);
			return 1;
		}
		milter_spec = xasprintf("unix:%s", u.bind_path);
	} else {
		milter_spec = xstrdup(spec);
	}
	if (smfi_setconn(milter_spec) != MI_SUCCESS) {
		log_error("smfi_setconn(%s) failed", spec);
		daemon_unix_abort(&u);
		return 1;
	}
	smfi_settimeout((int)timeout_s);
	filter_init(cfg, server_verbose());
	if (smfi_register(filter_desc) != MI_SUCCESS) {
		log_error("smfi_register failed");
		daemon_unix_abort(&u);
		return 1;
	}
	if (smfi_opensocket(1) != MI_SUCCESS) {
		log_error("cannot listen on %s (milter_socket; libmilter logs the reason to syslog)",
			  spec);
		daemon_unix_abort(&u);
		return 1;
	}
	if (path && daemon_unix_commit(&u, config_str(cfg, "fedmig_user"),
				       config_str(cfg, "socket_group"), &err) < 0) {
		log_error("milter_socket %s: %s", spec, err);
		free(err);
		return 1;
	}
	if (path) {
		struct stat st;

		if (lstat(path, &st) == 0) {
			sock_dev = st.st_dev;
			sock_ino = st.st_ino;
		}
	}
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

static int milter_run(struct server *srv, struct config *cfg)
{
	const char *status = config_str(cfg, "milter_status_socket");
	char *err = NULL;
	int rc;

	if (status_fd >= 0 && status_start(status_fd, &err) < 0) {
		log_error("status socket: %s", err);
		free(err);
		return 1;
	}
	log_info("listening on %s%s%s", config_str(cfg, "milter_socket"),
		 status_fd >= 0 ? ", status on " : "",
		 status_fd >= 0 ? status : "");
	sd_ready(); /* the socket listens since milter_bind() */
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
	const char *path = daemon_unix_path(config_str(cfg, "milter_socket"));
	struct stat st;

	if (path && sock_ino && lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    st.st_dev == sock_dev && st.st_ino == sock_ino)
		(void)unlink(path);
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
