/*
 * fedmigctl - administer fedmig: configuration, directory, migrations.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "config_check.h"
#include "ctl.h"
#include "log.h"
#include "server.h"
#include "xalloc.h"

static int cmd_config(struct ctl *ctl, int argc, char **argv);
static int cmd_check(struct ctl *ctl, int argc, char **argv);
static int cmd_system_list(struct ctl *ctl, int argc, char **argv);
static int cmd_help(struct ctl *ctl, int argc, char **argv);

static const struct ctl_cmd ctl_base_cmds[] = {
	{"config", "[-d | -n]",
	 "print the effective configuration (-d defaults, -n only what the file sets)",
	 cmd_config},
	{"check", "", "check the configuration and the database; create or upgrade it",
	 cmd_check},
	{"system list", "", "list the mail systems of the configuration", cmd_system_list},
	{"help", "", "this list", cmd_help},
	{NULL, NULL, NULL, NULL},
};

static const struct ctl_cmd *const tables[] = {ctl_base_cmds, ctl_directory_cmds,
					       ctl_dirsync_cmds,
					       ctl_request_cmds, ctl_agent_cmds, ctl_source_cmds,
					       ctl_viewer_cmds, ctl_top_cmds, ctl_frontend_cmds,
					       ctl_store_cmds};
#define NTABLES (sizeof(tables) / sizeof(tables[0]))

static void print_table(FILE *fp)
{
	for (size_t t = 0; t < NTABLES; t++)
		for (const struct ctl_cmd *c = tables[t]; c->words; c++)
			fprintf(fp, "  %s%s%s\n      %s\n", c->words, *c->args ? " " : "", c->args,
				c->help);
}

static void usage(FILE *fp)
{
	fprintf(fp, "usage: fedmigctl [-c FILE] [--json] COMMAND [ARGS]\n"
		    "administer fedmig: configuration, directory, migrations\n\n"
		    "  -c FILE  configuration file (default %s)\n"
		    "  --json   machine-readable output where a command supports it\n"
		    "  -h       this help\n"
		    "  -V       print the version\n\ncommands:\n",
		FEDMIG_CONF_DEFAULT);
	print_table(fp);
}

static int cmd_help(struct ctl *ctl, int argc, char **argv)
{
	usage(stdout);
	return 0;
}

int ctl_usage(const struct ctl_cmd *cmd)
{
	fprintf(stderr, "usage: fedmigctl %s%s%s\n", cmd->words, *cmd->args ? " " : "", cmd->args);
	return 2;
}

struct store *ctl_store(struct ctl *ctl)
{
	char *err = NULL;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;

	if (ctl->store)
		return ctl->store;
	/* Daemons run as fedmig_user and must read (spm: write) the database
	 * root creates; SQLite gives the -wal and -shm files the same owner.
	 * Often run as root, on a file in a directory fedmig's user writes:
	 * store_open_owned follows no link and chowns the descriptor, so a
	 * link there cannot make root create or hand over a file of its
	 * choice (/etc/ld.so.preload). */
	if (geteuid() == 0) {
		struct passwd *pw = getpwnam(config_str(ctl->cfg, "fedmig_user"));

		if (pw) {
			uid = pw->pw_uid;
			gid = pw->pw_gid;
		}
	}
	ctl->store = store_open_config(ctl->cfg, STORE_RDWR, uid, gid, &err);
	if (ctl->store == NULL) {
		fprintf(stderr, "fedmigctl: %s\n", err);
		free(err);
		exit(1);
	}
	return ctl->store;
}

int ctl_addr(const struct ctl *ctl, const char *in, char out[ADDR_MAX], const char **why_r)
{
	return addr_normalize(in, strlen(in),
			      config_bool(ctl->cfg, "fold_local_part") ? ADDR_FOLD_LOCAL : 0, out,
			      why_r);
}

int ctl_normalize(const struct ctl *ctl, const char *in, char out[ADDR_MAX])
{
	const char *why;
	char shown[ADDR_SHOW_MAX];

	if (ctl_addr(ctl, in, out, &why) < 0) {
		fprintf(stderr, "fedmigctl: %s: %s\n", addr_show(in, strlen(in), shown, sizeof(shown)),
			why);
		return -1;
	}
	return 0;
}

static int cmd_config(struct ctl *ctl, int argc, char **argv)
{
	int flags = 0;

	if (argc > 1)
		return ctl_usage(&ctl_base_cmds[0]);
	if (argc == 1 && strcmp(argv[0], "-d") == 0)
		flags = CONFIG_PRINT_DEFAULTS;
	else if (argc == 1 && strcmp(argv[0], "-n") == 0)
		flags = CONFIG_PRINT_SET;
	else if (argc == 1)
		return ctl_usage(&ctl_base_cmds[0]);
	config_print(ctl->cfg, stdout, flags);
	return 0;
}

static int cmd_check(struct ctl *ctl, int argc, char **argv)
{
	struct store *s;

	char *err = NULL;

	if (argc != 0)
		return ctl_usage(&ctl_base_cmds[1]);
	if (config_check(ctl->cfg, &err) < 0) {
		fputs(err, stderr);
		free(err);
		return 1;
	}
	s = ctl_store(ctl);
	if (store_check(s) < 0) {
		fprintf(stderr, "fedmigctl: %s: %s\n", config_str(ctl->cfg, "state_database"),
			store_errmsg(s));
		return 1;
	}
	printf("%s: ok (schema version %d)\n", config_str(ctl->cfg, "state_database"),
	       store_schema_version(s));
	return 0;
}

static int cmd_system_list(struct ctl *ctl, int argc, char **argv)
{
	size_t n;
	const char *const *sys = config_list(ctl->cfg, "systems", &n);

	if (argc != 0)
		return ctl_usage(&ctl_base_cmds[2]);
	printf("%-12s %-28s %-10s %s\n", "SYSTEM", "DOMAIN", "DRIVER", "IMAP");
	for (size_t i = 0; i < n; i++)
		printf("%-12s %-28s %-10s %s\n", sys[i], config_sys_str(ctl->cfg, sys[i], "domain"),
		       config_sys_str(ctl->cfg, sys[i], "driver"),
		       *config_sys_str(ctl->cfg, sys[i], "imap") ? config_sys_str(ctl->cfg, sys[i], "imap")
								   : "-");
	return 0;
}

/* match: the command whose words start ARGV; *nwords_r how many words. */
static const struct ctl_cmd *match(int argc, char **argv, int *nwords_r)
{
	const struct ctl_cmd *best = NULL;
	int bestn = 0;

	for (size_t t = 0; t < NTABLES; t++)
		for (const struct ctl_cmd *c = tables[t]; c->words; c++) {
			char *w = xstrdup(c->words), *save = NULL;
			int n = 0, ok = 1;

			for (char *tok = strtok_r(w, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
				if (n >= argc || strcmp(argv[n], tok) != 0) {
					ok = 0;
					break;
				}
				n++;
			}
			free(w);
			if (ok && n > bestn) {
				best = c;
				bestn = n;
			}
		}
	*nwords_r = bestn;
	return best;
}

int main(int argc, char **argv)
{
	const char *conf = FEDMIG_CONF_DEFAULT;
	struct ctl ctl = {NULL, NULL, 0};
	char *err = NULL;
	int c, n, rc;
	static const struct option longopts[] = {{"json", no_argument, NULL, 'j'},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};

	log_init("fedmigctl", LOG_TO_STDERR, NULL);
	/* "+": options after the command word belong to the command. */
	while ((c = getopt_long(argc, argv, "+c:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			conf = optarg;
			break;
		case 'j':
			ctl.json = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("fedmigctl %s\n", FEDMIG_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		usage(stderr);
		return 2;
	}
	const struct ctl_cmd *cmd = match(argc, argv, &n);

	if (cmd == NULL) {
		fprintf(stderr, "fedmigctl: unknown command \"%s\" (fedmigctl help lists them)\n",
			argv[0]);
		return 2;
	}
	if (cmd->fn == cmd_help) {
		usage(stdout);
		return 0;
	}
	ctl.cfg = config_load(conf, &err);
	if (ctl.cfg == NULL) {
		fputs(err, stderr);
		free(err);
		return 1;
	}
	rc = cmd->fn(&ctl, argc - n, argv + n);
	store_close(&ctl.store);
	config_free(&ctl.cfg);
	return rc;
}
