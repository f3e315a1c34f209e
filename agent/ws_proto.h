/*
 * ws_proto - the workstation's side of the agent API (ws.md "contract"):
 * the answer of POST /v1/ws/next read into plain C values, and the body
 * of POST /v1/ws/report made.
 *
 * Contract. ws_parse_next takes any bytes (BUF, LEN, not NUL-terminated)
 * and fills R, returning 0, or -1 with *err_r (caller frees) naming the
 * field at fault. "step" must be one of the five; "request" 0..2^53 (0
 * only with "none"); "retry_ms" is clamped to 1000..60000 (missing:
 * 10000). For switch the objects "old" and "new" must be present (a
 * check without them waits: the request names no systems yet); when
 * given they are checked whole: every host name is 1..253 bytes of letters,
 * digits, '.', '-' (it reaches prefs.js and an IMAP/SMTP URL), at most
 * WS_OLD_MAX of them, ports 1..65535 (0 for an empty smtp_host), sockets
 * "ssl" | "starttls" | "plain" (Thunderbird's 3, 2, 0), users without
 * control bytes. "folder_root" has no control byte. Nothing is kept
 * unchecked; the server's "state" is printable ASCII or replaced.
 * ws_report_json gives the report body (caller frees): DETAIL is cut to
 * WS_DETAIL_MAX bytes at a UTF-8 boundary, control bytes made spaces.
 */
#ifndef FEDMIG_AGENT_WS_PROTO_H
#define FEDMIG_AGENT_WS_PROTO_H

#include <stddef.h>

#define WS_OLD_MAX 17 /* the client host and 16 client_hosts (lib/ws_conf.h) */
#define WS_NEXT_HOST_MAX 253 /* as lib/netname.h's net_host_ok */
#define WS_USER_MAX 320
#define WS_DETAIL_MAX 400

enum ws_step { WS_STEP_NONE, WS_STEP_CHECK, WS_STEP_UPLOAD, WS_STEP_SWITCH, WS_STEP_CLEANUP };

struct ws_next {
	long long request;
	enum ws_step step;
	char state[64];
	long long retry_ms;
	char folder_root[1024];
	int has_endpoints; /* old and new were given */
	char old_imap[WS_OLD_MAX][WS_NEXT_HOST_MAX + 1];
	char old_smtp[WS_OLD_MAX][WS_NEXT_HOST_MAX + 1];
	size_t n_old_imap, n_old_smtp;
	char old_user[WS_USER_MAX + 1];
	char imap_host[WS_NEXT_HOST_MAX + 1], smtp_host[WS_NEXT_HOST_MAX + 1];
	int imap_port, imap_socket, smtp_port, smtp_socket;
	char new_user[WS_USER_MAX + 1];
};

/* What a report carries besides its step and verdict; -1: not sent. */
struct ws_report {
	long long request;
	const char *step; /* check switch test repair cleanup rollback */
	int ok;
	const char *detail, *profile, *local_format;
	long long local_folders, local_messages, local_bytes, changed;
};

int ws_parse_next(const char *buf, size_t len, struct ws_next *r, char **err_r);
char *ws_report_json(const struct ws_report *r);
const char *ws_step_name(enum ws_step s);

#endif
