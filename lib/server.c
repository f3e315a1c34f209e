#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_check.h"
#include "daemon.h"
#include "log.h"
#include "server.h"
#include "xalloc.h"

static int verbose;
static const char *conf_path = FEDMIG_CONF_DEFAULT;

int server_verbose(void)
{
	return verbose;
}

const char *server_config_path(void)
{
	return conf_path;
}

static void usage(const struct server_ops *ops, FILE *fp)
{
	fprintf(fp, "usage: %s [-fnvV] [-c FILE]%s\n", ops->name,
		ops->opts && *ops->opts ? " [options]" : "");
	fprintf(fp, "%s\n\n", ops->synopsis);
	fprintf(fp, "  -c FILE  configuration file (default %s)\n"
		    "  -f       log to stderr instead of syslog\n"
		    "  -n       check the configuration and exit\n"
		    "  -v       verbose logging\n"
		    "  -V       print the version and exit\n"
		    "  -h       this help\n",
		FEDMIG_CONF_DEFAULT);
	if (ops->opts_help)
		fputs(ops->opts_help, fp);
}

int server_main(int argc, char **argv, const struct server_ops *ops)
{
	char optstring[64];
	int to_stderr = 0, check_only = 0, c, rc;
	char *err = NULL;
	struct option longopts[16] = {{"help", no_argument, NULL, 'h'}};
	size_t nlong = 1;

	for (const struct option *o = ops->longopts; o && o->name; o++) {
		if (nlong + 1 == sizeof(longopts) / sizeof(longopts[0])) {
			/* A program's own table: a build that cannot parse its
			 * documented options must not run with some ignored. */
			fprintf(stderr, "%s: too many long options\n", ops->name);
			return 1;
		}
		longopts[nlong++] = *o; /* the last entry stays zeroed */
	}
	snprintf(optstring, sizeof(optstring), "c:fnvVh%s", ops->opts ? ops->opts : "");
	log_init(ops->name, LOG_TO_STDERR, NULL);
	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			conf_path = optarg;
			break;
		case 'f':
			to_stderr = 1;
			break;
		case 'n':
			check_only = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			printf("%s %s\n", ops->name, FEDMIG_VERSION);
			return 0;
		case 'h':
			usage(ops, stdout);
			return 0;
		default:
			if (c != '?' && ops->option && ops->option(c, optarg) == 0)
				break;
			usage(ops, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: unexpected argument: %s\n", ops->name, argv[optind]);
		usage(ops, stderr);
		return 2;
	}
	struct config *cfg = config_load(conf_path, &err);

	if (cfg == NULL) {
		fputs(err, stderr);
		free(err);
		return 1;
	}
	if (check_only) {
		/* -n answers "will this file work", not only "does it parse". */
		rc = config_check(cfg, &err);
		if (rc < 0) {
			fputs(err, stderr);
			free(err);
		}
		config_free(&cfg);
		return rc < 0 ? 1 : 0;
	}
	log_init(ops->name, to_stderr ? LOG_TO_STDERR : LOG_TO_SYSLOG,
		 config_str(cfg, "syslog_facility"));
	log_set_verbose(verbose);
	/* A peer closing a socket must be an error return, not a death. */
	signal(SIGPIPE, SIG_IGN);
	if (ops->bind && (rc = ops->bind(cfg)) != 0) {
		config_free(&cfg);
		return rc;
	}
	if (!ops->keep_root &&
	    daemon_drop_privileges(config_str(cfg, "fedmig_user"), &err) < 0) {
		log_error("%s", err);
		free(err);
		config_free(&cfg);
		return 1;
	}
	rc = ops->run(cfg);
	config_free(&cfg);
	return rc;
}
