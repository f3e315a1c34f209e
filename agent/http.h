/*
 * http - fedmig-agent's HTTPS client of the agent API: one libcurl easy
 * handle per process (keep-alive across calls), the server verified with
 * agent_ca_file (never disabled), the token sent as a header and never
 * logged, every call with Fedmig-Agent-Version.
 *
 * Contract: ah_call() makes one call and, on a network error or a 5xx,
 * tries again with jittered back-off (lib/backoff.h) up to TRIES times
 * in all. It returns
 *   AH_OK     a 2xx; the body in r->body (NUL-terminated, r->len bytes)
 *   AH_LEASE  409 (lease): the task is not ours any more
 *   AH_FATAL  403 version or 401 unauthorized: logged with the server's
 *             message; the program exits 2 and is not restarted
 *   AH_ERROR  any other failure, logged (the server's message included)
 * Bodies are capped at AH_MAX_REPLY. An upload reads SIZE bytes of FD
 * from offset 0 (again at each try: the same bytes).
 */
#ifndef FEDMIG_AGENT_HTTP_H
#define FEDMIG_AGENT_HTTP_H

#include <stddef.h>
#include <sys/types.h>

#include "proto.h"

#define AH_MAX_REPLY (1 << 20)

enum ah_rc { AH_OK = 0, AH_ERROR = -1, AH_LEASE = -2, AH_FATAL = -3 };

struct ah;

struct ah_reply {
	long status;
	char *body; /* owned by the client: valid until its next call */
	size_t len;
	struct ap_error error; /* status >= 400 */
};

/* ah_new: a client of BASE (https://host:port); TOKEN NULL for enrolment. */
struct ah *ah_new(const char *base, const char *ca_file, const char *token, char **err_r);
void ah_free(struct ah **h);
/* ah_post: POST JSON (a string) to PATH; TIMEOUT_S for the whole call. */
int ah_post(struct ah *h, const char *path, const char *json, long timeout_s, int tries,
	    struct ah_reply *r);
/* ah_put: PUT SIZE bytes of FD to PATH. */
int ah_put(struct ah *h, const char *path, int fd, off_t size, long timeout_s, int tries,
	   struct ah_reply *r);

/* ah_abort_fd: while FD (a signalfd; -1: none) is readable, calls give up
 * at once (AH_ERROR, nothing logged): a long poll ends at a signal. */
void ah_abort_fd(struct ah *h, int fd);

/* ah_progress_fd: while a transfer moves, a byte to FD (-1: none) at most
 * once a second, so that a watcher tells a long upload from a stall. */
void ah_progress_fd(struct ah *h, int fd);

/* ah_jitter_us: a delay between half and all of DELAY_US, from *SEED. */
long long ah_jitter_us(long long delay_us, unsigned *seed);

#endif
