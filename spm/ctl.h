/*
 * ctl - fedmigctl, the administrator's command line. Its grammar is one
 * table (OpenSMTPD smtpctl): each ctl_*.c file exports an array of
 * commands ending with a NULL entry; fedmigctl.c joins them.
 *
 * A handler gets the words after the command's own and returns the exit
 * status: 0 done, 1 failed (having printed why to stderr), 2 usage error.
 */
#ifndef FEDMIG_CTL_H
#define FEDMIG_CTL_H

#include "config.h"
#include "store.h"

struct ctl {
	struct config *cfg;
	struct store *store; /* opened on first ctl_store() */
	int json;	     /* --json given where a command supports it */
};

struct ctl_cmd {
	const char *words; /* "directory import" */
	const char *args;  /* "FILE.csv [--dry-run]" */
	const char *help;  /* one line */
	int (*fn)(struct ctl *ctl, int argc, char **argv);
};

/* ctl_store: the store, opened read-write (created and upgraded); exits 1
 * with the reason on failure. */
struct store *ctl_store(struct ctl *ctl);
/* ctl_usage: print "usage: fedmigctl WORDS ARGS" for CMD, return 2. */
int ctl_usage(const struct ctl_cmd *cmd);
/* ctl_addr: the canonical form of IN, an address as an admin writes it
 * (RFC 5321, see addr.h; folded if fold_local_part), into OUT: 0, or -1
 * with a static reason in *why_r. */
int ctl_addr(const struct ctl *ctl, const char *in, char out[ADDR_MAX], const char **why_r);
/* ctl_normalize: ctl_addr, or print "fedmigctl: ADDR: why" (ADDR with its
 * control bytes escaped) and return -1. */
int ctl_normalize(const struct ctl *ctl, const char *in, char out[ADDR_MAX]);

extern const struct ctl_cmd ctl_directory_cmds[];
extern const struct ctl_cmd ctl_request_cmds[];

#endif
