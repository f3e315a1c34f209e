/*
 * enrol - fedmig-agent --enrol CODE: the one-time code from "fedmigctl
 * agent add" exchanged for the agent's token (POST /v1/enrol), the token
 * written to agent_token_file, and the token read back at start.
 *
 * Contract: enrol_run() returns the exit status (0, 1 local error, 2
 * refused by the server) having printed the agent's name on stdout.
 * CODE "-" reads it from stdin. The token file is made with O_CREAT |
 * O_EXCL | O_NOFOLLOW, mode 0600, and fsynced with its directory; an
 * existing one is an error unless FORCE. enrol_read_token() refuses a
 * token file another user could read (secrets_read) or that does not
 * hold 64 hex digits; the token is never logged.
 */
#ifndef FEDMIG_AGENT_ENROL_H
#define FEDMIG_AGENT_ENROL_H

#include "config.h"

int enrol_run(const struct config *cfg, const char *code, int force);
/* enrol_read_token: the token (caller wipes with secrets_wipe), or NULL with *err_r. */
char *enrol_read_token(const char *path, char **err_r);
/* enrol_code_ok: CODE looks like a code (base32, 8 to 64 characters). */
int enrol_code_ok(const char *code);

#endif
