/*
 * server - the skeleton every fedmig daemon runs in (Postfix's
 * single_server_main, smaller): a daemon is a struct server_ops plus one
 * call to server_main().
 *
 * Options. server_main() parses the common options
 *   -c FILE  configuration (default /etc/fedmig/fedmig.conf)
 *   -f       log to stderr instead of syslog (stays in the foreground
 *            either way: run it under a supervisor)
 *   -n       check the configuration and exit (0 good, 1 bad)
 *   -v       verbose (debug) logging
 *   -h       help (also --help); -V version
 * plus the program's own, declared once in ops->opts: getopt's string,
 * the long options and the -h lines are made from that table; each one
 * given is handed to ops->option().
 *
 * Start. It loads the config (errors printed as FILE:LINE: and exit 1),
 * opens syslog, calls ops->bind() as the invoking user (root: open
 * sockets, lock files), drops privileges to $fedmig_user unless
 * ops->keep_root says the program does that itself, then returns
 * ops->run()'s value as the exit status. bind and run return 0 or a
 * non-zero exit status, having logged why. The config run() gets lives
 * until run() returns, whatever reloads happen.
 *
 * The loop (libev's default loop, made at the first server_loop()).
 * run() starts its watchers on server_loop() and calls server_serve(),
 * which returns when the program calls server_exit() or a stop ran out
 * of grace. Meanwhile the server handles:
 *   SIGTERM, SIGINT  stop: ops->stop(ctx, signal) stops taking new work
 *            and lets the work under way finish; the program calls
 *            server_exit() once none is left. Without ops->stop the loop
 *            ends at once. With ops->grace_s > 0 the loop ends anyway
 *            that many seconds later (logged); 0 waits for the program.
 *   SIGCHLD  ops->child(ctx, pid, wait status) for every child reaped
 *            (libev reaps them all), when ops->child is set.
 *   SIGHUP   reload: the file is read again into a new config. Invalid:
 *            its errors are logged (FILE:LINE: as at start) and the old
 *            config stays. Valid: the keys that need a restart (the
 *            common ones, fedmig_user, syslog_facility, socket_mode,
 *            socket_group, and ops->restart_keys) keep their running
 *            value, each one changed logged as "needs a restart"; then
 *            ops->reload(ctx, cfg) takes it (config_ref() it to keep it;
 *            return -1, having logged why, to refuse it) and it becomes
 *            server_config(). Without ops->reload SIGHUP is logged and
 *            ignored.
 * Nothing here is called from a signal handler: every hook runs in the
 * loop, between two callbacks, so a request in progress is never cut.
 */
#ifndef FEDMIG_SERVER_H
#define FEDMIG_SERVER_H

#include <sys/types.h>

#include "config.h" /* and paths.h: FEDMIG_VERSION */

/* One option of a program: -LETTER, --NAME ARG, and its -h line. */
struct server_opt {
	int letter;
	const char *name; /* long name, or NULL */
	const char *arg;  /* the argument's name in -h, or NULL: takes none */
	const char *help; /* "\n" starts a continuation line */
};

struct server;

struct server_ops {
	const char *name;		/* program name, for logs and usage */
	const char *synopsis;		/* one line: what the program does */
	const struct server_opt *opts;	/* ended by letter 0; NULL: none */
	int (*option)(int opt, const char *arg); /* 0 ok, -1 bad option */
	int (*bind)(struct config *cfg);
	int (*run)(struct server *srv, struct config *cfg);
	/* The loop's hooks; CTX is what run() gave server_serve(). */
	void (*stop)(void *ctx, int signum);
	void (*child)(void *ctx, pid_t pid, int status);
	int (*reload)(void *ctx, struct config *cfg);
	const char *const *restart_keys; /* ended by NULL; NULL: none */
	double grace_s;
	int keep_root; /* 1: do not drop privileges (the program drops later) */
};

int server_main(int argc, char **argv, const struct server_ops *ops);

/* server_loop: the event loop run() starts its watchers on. */
struct ev_loop *server_loop(struct server *srv);
/* server_serve: run the loop with the hooks above; returns the status
 * given to server_exit(), or 0 when a stop ran out of grace. */
int server_serve(struct server *srv, void *ctx);
/* server_exit: leave the loop with exit STATUS (the first one given stays). */
void server_exit(struct server *srv, int status);
/* server_config: the config in effect (the latest reload's); borrowed. */
struct config *server_config(struct server *srv);

/* server_verbose: 1 when -v was given. */
int server_verbose(void);
/* server_config_path: the -c FILE in effect. */
const char *server_config_path(void);

#endif
