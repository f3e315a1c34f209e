/*
 * run - run an external program with argv (execve, never a shell), a
 * time limit, optional standard input, and its output captured.
 *
 * Contract: run_argv() forks and executes ARGV[0] (an absolute path) with
 * ARGV and a minimal environment (PATH, and ENV entries if given),
 * writes IN (may be NULL) to its standard input, collects standard
 * output into *OUT_R and standard error into *ERR_R (each NUL-terminated,
 * at most RUN_OUTPUT_MAX bytes kept, caller frees; either pointer may be
 * NULL to discard), and waits at most TIMEOUT_MS. Returns the exit status
 * (0-255), RUN_TOOBIG when it exited 0 but its standard output, asked
 * for, was over RUN_OUTPUT_MAX (the start is kept in *OUT_R; the caller
 * must not read it as whole), RUN_TIMEOUT after killing a program that
 * ran too long (the
 * whole process group gets SIGKILL), RUN_SIGPIPE when it died of SIGPIPE
 * (a peer closed what it wrote to), RUN_SIGNALED when it died of another
 * signal, or RUN_ERROR when it could not be started (*WHY_R says why:
 * static or in *ERR_R).
 */
#ifndef FEDMIG_SPM_RUN_H
#define FEDMIG_SPM_RUN_H

#include <stddef.h>

#define RUN_OUTPUT_MAX (64 * 1024 * 1024)
#define RUN_OUTPUT_MAX_TEXT "64 MiB"
#define RUN_TOOBIG (-4)
#define RUN_TIMEOUT (-2)
#define RUN_SIGNALED (-3)
#define RUN_ERROR (-1)
#define RUN_SIGPIPE (-5)

int run_argv(const char *const *argv, const char *const *env, const char *in,
	     long long timeout_ms, char **out_r, char **err_r);

/* run_status_text: "exit 3", "timed out", "killed by a signal", ... */
const char *run_status_text(int status, char buf[64]);

#endif
