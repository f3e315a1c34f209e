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

#include <stdio.h>

#include <jansson.h>

#include "config.h"
#include "store.h"
#include "store_smd.h"

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

/*
 * --json (ctl_json.c), with jansson. ctl_json_ok: V, or exit 1 when
 * jansson could not allocate it (NULL). ctl_json_string: S as a JSON
 * string, each byte that is not valid UTF-8 replaced by U+FFFD (a
 * reason may quote anything a server said). ctl_json_tenths: X rounded to
 * a tenth, the precision fedmigctl shows. ctl_json_put: V (reference
 * taken) on FP, compact, members in insertion order. ctl_json_put_open:
 * the object OBJ (reference taken) without its closing brace, for members
 * streamed after it.
 */
json_t *ctl_json_ok(json_t *v);
json_t *ctl_json_string(const char *s);
double ctl_json_tenths(double x);
void ctl_json_put(FILE *fp, json_t *v);
void ctl_json_put_open(FILE *fp, json_t *obj);

struct req;
/* ctl_req_reason: why R is not moving on: its own reason, else the last
 * failure of its copy (or copy back) while fedmig-smd retries it; "" when
 * none. May format into BUF (LEN bytes); the result lives as long as R
 * and BUF. */
const char *ctl_req_reason(struct store *s, const struct req *r, char *buf, size_t len);

/* ctl_report_addresses: one line per request of BATCH (0: all) on FP:
 * ADDRESS STATE "HOLD ms" COPIED VERIFIED and STATES, each state reached
 * as STATE@SECONDS after submission; with JSON, an "addresses":[...],
 * member. -1 on a store error (store_errmsg() says which). */
int ctl_report_addresses(struct store *s, long long batch, int json, FILE *fp);

/* ctl_pim_show: fedmigctl show's "contacts and calendars" block of R on
 * FP: the job's PIM outcome, one line of counts per collection, the
 * rejected and conflicting items with their reasons; nothing when the
 * request has none. */
void ctl_pim_show(struct store *s, const struct req *r, FILE *fp);

/* ctl_copy_line: the data mover's job KEY (a request's copy, or its copy
 * back) as "LABEL: state, folders ..., messages ..., bytes ..." into BUF
 * (LEN bytes); 0, or -1 when there is no such job. */
int ctl_copy_line(struct store *s, struct smd_job_key key, const char *label, char *buf,
		  size_t len);
/* ctl_job_json: O (reference kept, returned) with the job ST's members:
 * its state under STATE_KEY, then the counters and the reason. */
json_t *ctl_job_json(json_t *o, const char *state_key, const struct smd_status *st);
/* ctl_prestage_show: fedmigctl show's "pre-stage" lines (passes, when
 * the last ended, the last pass's job) and "catch-up" line of R on FP;
 * nothing when R has none. ctl_prestage_json: the same as members of O
 * ("prestage": {passes, last[, state and the job's counters]},
 * "catchup_ms": ms or null); S may be NULL (no job then). */
void ctl_prestage_show(struct store *s, const struct req *r, FILE *fp);
void ctl_prestage_json(struct store *s, const struct req *r, json_t *o);
/* ctl_report_catchups: fedmigctl report's per-mailbox catch-up lines of
 * BATCH (0: all) on stdout, or its "catchups":[...], member; -1 on a
 * store error. */
int ctl_report_catchups(struct store *s, long long batch, int json);
/* ctl_report: "fedmigctl report" for BATCH (0: all), with the address
 * table if ADDRESSES, as text or (CTL->json) one JSON document; the exit
 * status. */
int ctl_report(struct ctl *ctl, long long batch, int addresses);

/* ctl_agent_line: "agent: NAME, phase ..., uploaded ..., waiting in the
 * buffer ..., folders D/T done" for request REQ into BUF (LEN bytes), or
 * the store's error; 0, or -1 when no agent reads it. ctl_agent_json: the
 * same as an object (NULL when none or on a store error). */
int ctl_agent_line(struct store *s, long long req, char *buf, size_t len);
json_t *ctl_agent_json(struct store *s, long long req);

/* ctl_dirsync_show: the directory sync's lines of "fedmigctl directory
 * show" for E (name, owner and its last sync, a conflict, the downward
 * contacts); -1 on a store error. */
int ctl_dirsync_show(struct ctl *ctl, const struct dir_entry *e);

/* ctl_submit_group: "fedmigctl submit --group GROUP --to SYSTEM [--at
 * TIME] [--scenario NAME]" (ARGV from "--group"): one batch of a request
 * per access address of GROUP, "domain:DOMAIN" (the directory's access
 * addresses in DOMAIN) or "ou:DN" (the accounts the directory sync listed
 * in DN or below it), all from one source system; the exit status. ME is
 * the submit command (its usage). */
int ctl_submit_group(struct ctl *ctl, const struct ctl_cmd *me, int argc, char **argv);

extern const struct ctl_cmd ctl_directory_cmds[];
extern const struct ctl_cmd ctl_dirsync_cmds[];
extern const struct ctl_cmd ctl_request_cmds[];
extern const struct ctl_cmd ctl_agent_cmds[];
extern const struct ctl_cmd ctl_source_cmds[];
/* ctl_viewer.c: viewer add|list|remove; ctl_top.c: top. */
extern const struct ctl_cmd ctl_viewer_cmds[];
extern const struct ctl_cmd ctl_top_cmds[];
/* ctl_frontend.c: frontend add|list|remove. */
extern const struct ctl_cmd ctl_frontend_cmds[];
/* ctl_store.c: store copy (SQLite to PostgreSQL). */
extern const struct ctl_cmd ctl_store_cmds[];
/* ctl_source_line: SYSTEM's throttling as a source ("sessions 3/8, no
 * back-off, ...") into BUF (LEN bytes); 0, or -1 when none is recorded. */
int ctl_source_line(struct store *s, const char *system, char *buf, size_t len);

#endif
