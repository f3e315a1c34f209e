/*
 * server - the skeleton every fedmig daemon runs in (Postfix's
 * single_server_main, smaller): a daemon is a struct server_ops plus one
 * call to server_main().
 *
 * server_main() parses the common options
 *   -c FILE  configuration (default /etc/fedmig/fedmig.conf)
 *   -f       log to stderr instead of syslog (stays in the foreground
 *            either way: run it under a supervisor)
 *   -n       check the configuration and exit (0 good, 1 bad)
 *   -v       verbose (debug) logging
 *   -h       help (also --help); -V version
 * plus the program's own (ops->opts, getopt letters, and ops->longopts,
 * their long names, handed to ops->option()), loads the config (errors printed as FILE:LINE: and exit
 * 1), opens syslog, calls ops->bind() as the invoking user (root: open
 * sockets, lock files), drops privileges to $fedmig_user unless
 * ops->keep_root says the program does that itself, then returns
 * ops->run()'s value as the exit status. bind and run return 0 or a
 * non-zero exit status, having logged why.
 */
#ifndef FEDMIG_SERVER_H
#define FEDMIG_SERVER_H

#include <getopt.h>

#include "config.h"

#define FEDMIG_VERSION "0.1"

struct server_ops {
	const char *name;     /* program name, for logs and usage */
	const char *synopsis; /* one line: what the program does */
	const char *opts;     /* extra getopt letters, e.g. "1N:" */
	/* Long names of those letters ({"once", no_argument, NULL, '1'}...,
	 * ended by a zeroed entry), or NULL. */
	const struct option *longopts;
	const char *opts_help; /* lines for -h, one per extra option */
	int (*option)(int opt, const char *arg); /* 0 ok, -1 bad option */
	int (*bind)(struct config *cfg);
	int (*run)(struct config *cfg);
	int keep_root; /* 1: do not drop privileges (the program drops later) */
};

int server_main(int argc, char **argv, const struct server_ops *ops);

/* server_verbose: 1 when -v was given. */
int server_verbose(void);
/* server_config_path: the -c FILE in effect. */
const char *server_config_path(void);

#endif
