/*
 * smd - fedmig-smd's pieces above the copy engine: the settings of one
 * copy taken from the configuration, and the master that runs the queue.
 *
 * smd_side_init() fills a copy_side for SYSTEM and LOGIN from NAME_imap,
 * NAME_imap_starttls, NAME_imap_auth with NAME_credentials (master user)
 * or NAME_user_passwords (each user's own), files that must not be
 * readable by group or others, tls_ca_file, tls_verify and smd_io_timeout; it
 * returns 0, or -1 with *err_r (caller frees). The password is kept in
 * memory owned by the side; smd_side_free() wipes it.
 */
#ifndef FEDMIG_SMD_H
#define FEDMIG_SMD_H

#include <sys/types.h>

#include "config.h"
#include "copy.h"

int smd_side_init(const struct config *cfg, const char *system, const char *login,
		  struct copy_side *side, char **err_r);
void smd_side_free(struct copy_side *side);
/* smd_read_credentials: MASTER_USER and MASTER_PASSWORD of PATH (caller frees). */
int smd_read_credentials(const char *path, char **user_r, char **password_r, char **err_r);
/* smd_read_user_password: LOGIN's own password from PATH (LOGIN PASSWORD lines). */
int smd_read_user_password(const char *path, const char *login, char **password_r, char **err_r);
/* smd_mailbox_key: the journal key "SRC:LOGIN>DST:LOGIN" (caller frees). */
char *smd_mailbox_key(const char *src_system, const char *src_login, const char *dst_system,
		      const char *dst_login);
/* smd_copy_opts: the copy options common to every child. */
void smd_copy_opts(const struct config *cfg, struct copy_opts *o);

/*
 * Exit statuses between fedmig-smd's processes: a child (one mailbox, for
 * the master) and a lane (some folders of it, for its child) exit with
 *   SMD_EXIT_OK       copied and verified (COPY_OK), recorded by the child
 *   SMD_EXIT_FAILED   failed (COPY_FAILED), recorded with its reason
 *   SMD_EXIT_STOPPED  stopped by SIGTERM (COPY_STOPPED), progress recorded
 *   SMD_EXIT_NOTHING  nothing done and nothing recorded: the state database
 *                     could not be opened, or the master was gone already
 *   SMD_EXIT_TEST_MID, SMD_EXIT_TEST_AFTER  test hooks (copy.h crash_mid,
 *                     crash_after): a crash, passed up from a lane as is
 * Any status the child did not record (smd_exit_recorded() is 0: NOTHING,
 * the test hooks, a signal, any other status) is recorded by the master,
 * as a failure. FAILED and STOPPED are not 1 and 2: a sanitizer's report,
 * or a library's exit(1), ends a child with 1, and the master would take
 * it for a failure recorded, leaving the job running until its lease
 * expires or a recovery finds it.
 */
enum smd_exit {
	SMD_EXIT_OK = COPY_OK,
	SMD_EXIT_FAILED = 21,
	SMD_EXIT_STOPPED = 22,
	SMD_EXIT_NOTHING = 3,
	SMD_EXIT_TEST_MID = COPY_EXIT_CRASH_MID,
	SMD_EXIT_TEST_AFTER = COPY_EXIT_CRASH_AFTER,
};

/* smd_exit_recorded: 1 if a child exiting with CODE (-1: killed by a
 * signal) recorded its outcome itself. */
static inline int smd_exit_recorded(int code)
{
	return code == SMD_EXIT_OK || code == SMD_EXIT_FAILED || code == SMD_EXIT_STOPPED;
}

/* smd_exit_of: the child's exit status for RC, a copy_rc it recorded (or
 * already an smd_exit). */
static inline int smd_exit_of(int rc)
{
	return rc == COPY_FAILED ? SMD_EXIT_FAILED : rc == COPY_STOPPED ? SMD_EXIT_STOPPED : rc;
}

struct server;

/*
 * smd_master: claim due jobs and run each in a child, at most
 * smd_max_children at once, in SRV's loop (server.h): woken by a child's
 * exit, by smd_child_timeout and every smd_poll_interval. ONCE: return
 * when nothing is due and every child has finished. SIGTERM, SIGINT:
 * claim nothing more, pass SIGTERM to the children, return once they have
 * exited. SIGHUP: the children forked after it copy with the new config.
 * Returns the exit status.
 */
int smd_master(struct server *srv, struct config *cfg, int once);
/* The master's hooks for fedmig-smd's server_ops (CTX is the master), and
 * the keys it reads only at start. */
void smd_master_stop(void *ctx, int signum);
void smd_master_child(void *ctx, pid_t pid, int status);
int smd_master_reload(void *ctx, struct config *cfg);
extern const char *const smd_restart_keys[];

#endif
