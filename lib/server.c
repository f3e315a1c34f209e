/*
 * server - start of every daemon: options from one table, the config,
 * syslog, bind, privilege drop (the contract is in server.h; the loop,
 * signals and reload are in server_loop.c).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_check.h"
#include "daemon.h"
#include "log.h"
#include "server.h"
#include "server_int.h"
#include "xalloc.h"

/* Enough for the common options and any program's own. */
#define MAX_OPTS 32

static int verbose;
static const char *conf_path = FEDMIG_CONF_DEFAULT;

/* The options every daemon has; -h's long name --help is added apart
 * (it is not listed in -h, as it never was). */
static const struct server_opt common_opts[] = {
	{'c', NULL, "FILE", "configuration file (default " FEDMIG_CONF_DEFAULT ")"},
	{'f', NULL, NULL, "log to stderr instead of syslog"},
	{'n', NULL, NULL, "check the configuration and exit"},
	{'v', NULL, NULL, "verbose logging"},
	{'V', NULL, NULL, "print the version and exit"},
	{'h', NULL, NULL, "this help"},
	{0, NULL, NULL, NULL},
};

int server_verbose(void)
{
	return verbose;
}

const char *server_config_path(void)
{
	return conf_path;
}

/* opt_left: "-x, --name ARG" of O into BUF. */
static void opt_left(const struct server_opt *o, char *buf, size_t size)
{
	snprintf(buf, size, "-%c%s%s%s%s", o->letter, o->name ? ", --" : "", o->name ? o->name : "",
		 o->arg ? " " : "", o->arg ? o->arg : "");
}

static size_t opts_width(const struct server_opt *opts, size_t width)
{
	char left[128];

	for (const struct server_opt *o = opts; o && o->letter; o++) {
		opt_left(o, left, sizeof(left));
		if (strlen(left) > width)
			width = strlen(left);
	}
	return width;
}

/* print_opts: one line per option, continuation lines of its help under it. */
static void print_opts(FILE *fp, const struct server_opt *opts, size_t width)
{
	char left[128];

	for (const struct server_opt *o = opts; o && o->letter; o++) {
		const char *h = o->help, *nl;

		opt_left(o, left, sizeof(left));
		fprintf(fp, "  %-*s  ", (int)width, left);
		while ((nl = strchr(h, '\n')) != NULL) {
			fprintf(fp, "%.*s\n%*s", (int)(nl - h), h, (int)width + 4, "");
			h = nl + 1;
		}
		fprintf(fp, "%s\n", h);
	}
}

static void usage(const struct server_ops *ops, FILE *fp)
{
	size_t width = opts_width(ops->opts, opts_width(common_opts, 0));

	fprintf(fp, "usage: %s [-fnvV] [-c FILE]%s\n", ops->name,
		ops->opts && ops->opts->letter ? " [options]" : "");
	fprintf(fp, "%s\n\n", ops->synopsis);
	print_opts(fp, common_opts, width);
	print_opts(fp, ops->opts, width);
}

/*
 * make_getopt: getopt's string and long options from both tables. -1 if
 * they do not fit: a build that cannot parse its documented options must
 * not run with some ignored.
 */
static int make_getopt(const struct server_ops *ops, char *optstring, size_t size,
		       struct option *longopts, size_t nlong_max)
{
	const struct server_opt *tables[2] = {common_opts, ops->opts};
	size_t len = 0, nlong = 0;

	longopts[nlong++] = (struct option){"help", no_argument, NULL, 'h'};
	for (int t = 0; t < 2; t++)
		for (const struct server_opt *o = tables[t]; o && o->letter; o++) {
			if (len + 3 > size || nlong + 2 > nlong_max)
				return -1;
			optstring[len++] = (char)o->letter;
			if (o->arg)
				optstring[len++] = ':';
			if (o->name)
				longopts[nlong++] = (struct option){
					o->name, o->arg ? required_argument : no_argument, NULL,
					o->letter};
		}
	optstring[len] = '\0';
	longopts[nlong] = (struct option){NULL, 0, NULL, 0};
	return 0;
}

/* parse_options: 0 to go on, else 1 + the exit status. */
static int parse_options(int argc, char **argv, const struct server_ops *ops, int *to_stderr,
			 int *check_only)
{
	char optstring[2 * MAX_OPTS + 1];
	struct option longopts[MAX_OPTS];
	int c;

	if (make_getopt(ops, optstring, sizeof(optstring), longopts, MAX_OPTS) < 0) {
		fprintf(stderr, "%s: too many options\n", ops->name);
		return 1 + 1;
	}
	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			conf_path = optarg;
			break;
		case 'f':
			*to_stderr = 1;
			break;
		case 'n':
			*check_only = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			printf("%s %s\n", ops->name, FEDMIG_VERSION);
			return 1 + 0;
		case 'h':
			usage(ops, stdout);
			return 1 + 0;
		default:
			if (c != '?' && ops->option && ops->option(c, optarg) == 0)
				break;
			usage(ops, stderr);
			return 1 + 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: unexpected argument: %s\n", ops->name, argv[optind]);
		usage(ops, stderr);
		return 1 + 2;
	}
	return 0;
}

/* check_config: -n answers "will this file work", not only "does it parse". */
static int check_config(struct config *cfg)
{
	char *err = NULL;
	int rc = config_check(cfg, &err);

	if (rc < 0) {
		fputs(err, stderr);
		free(err);
	}
	return rc < 0 ? 1 : 0;
}

/* start: bind, drop privileges, run; the exit status. */
static int start(const struct server_ops *ops, struct config *cfg)
{
	char *err = NULL;
	int rc;

	if (ops->bind && (rc = ops->bind(cfg)) != 0)
		return rc;
	if (!ops->keep_root &&
	    daemon_drop_privileges(config_str(cfg, "fedmig_user"), &err) < 0) {
		log_error("%s", err);
		free(err);
		return 1;
	}
	struct server *srv = server_new(ops, cfg);

	rc = ops->run(srv, cfg);
	server_free(&srv);
	return rc;
}

int server_main(int argc, char **argv, const struct server_ops *ops)
{
	int to_stderr = 0, check_only = 0, rc;
	char *err = NULL;

	log_init(ops->name, LOG_TO_STDERR, NULL);
	if ((rc = parse_options(argc, argv, ops, &to_stderr, &check_only)) != 0)
		return rc - 1;

	struct config *cfg = config_load(conf_path, &err);

	if (cfg == NULL) {
		fputs(err, stderr);
		free(err);
		return 1;
	}
	if (check_only) {
		rc = check_config(cfg);
		config_unref(&cfg);
		return rc;
	}
	log_init(ops->name, to_stderr ? LOG_TO_STDERR : LOG_TO_SYSLOG,
		 config_str(cfg, "syslog_facility"));
	log_set_verbose(verbose);
	/* A peer closing a socket must be an error return, not a death. */
	signal(SIGPIPE, SIG_IGN);
	rc = start(ops, cfg);
	config_unref(&cfg);
	return rc;
}
