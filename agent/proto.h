/*
 * proto - the agent API's answers as fedmig-agent reads them
 * (agent_spec.md "Endpoints"): pure parsers of the server's JSON.
 *
 * Contract: every parser takes the raw body (BUF, LEN: any bytes, not
 * NUL-terminated) and fills a caller's struct of fixed-size fields; it
 * returns 0, or -1 with *err_r (caller frees) naming the field at fault.
 * Every string it keeps has been checked for what its user needs: the
 * system a config name, the mailbox and folder free of control bytes,
 * the cursor printable ASCII without space, the token hex, the agent name
 * [A-Za-z0-9._-]. Nothing here allocates except *err_r.
 * ap_parse_error never fails: a body that is not the error JSON gives
 * AP_ERR_OTHER; the message kept is printable ASCII only (others '?'),
 * so it can be logged as is.
 */
#ifndef FEDMIG_AGENT_PROTO_H
#define FEDMIG_AGENT_PROTO_H

#include <stddef.h>

#define AP_MAX_TASKS 256
#define AP_NAME_MAX 64
#define AP_MAILBOX_MAX 320
#define AP_FOLDER_MAX 1024
#define AP_CURSOR_MAX 255
#define AP_TOKEN_LEN 64

enum ap_err {
	AP_ERR_OTHER,
	AP_ERR_VERSION,
	AP_ERR_UNAUTHORIZED,
	AP_ERR_ENROL,
	AP_ERR_LEASE,
	AP_ERR_BAD_REQUEST,
	AP_ERR_TOO_LARGE,
	AP_ERR_UNAVAILABLE,
};

struct ap_error {
	enum ap_err code;
	char message[256];
};

struct ap_enrol {
	char agent[AP_NAME_MAX + 1];
	char token[AP_TOKEN_LEN + 1];
};

struct ap_task {
	long long id; /* the request id */
	char system[AP_NAME_MAX + 1];
	char mailbox[AP_MAILBOX_MAX + 1];
	long long lease_ms;
};

enum ap_lease { AP_LEASE_OK, AP_LEASE_LOST, AP_LEASE_CANCEL };

struct ap_hb_task {
	long long id;
	enum ap_lease lease;
	long long deadline_ms;
};

struct ap_heartbeat {
	long long heartbeat_ms;
	size_t ntasks;
	struct ap_hb_task tasks[AP_MAX_TASKS];
};

enum ap_action { AP_TEST, AP_LIST, AP_GET_ITEMS, AP_WAIT, AP_DONE, AP_CANCEL };

struct ap_next {
	long long seq;
	enum ap_action action;
	char folder[AP_FOLDER_MAX + 1]; /* get-items */
	char cursor[AP_CURSOR_MAX + 1]; /* get-items; "" from the start */
	long long max_items, max_bytes; /* get-items */
	long long ms;			/* wait */
	long long deadline_ms;		/* cancel */
};

struct ap_put {
	long long items, duplicates, bytes;
};

void ap_parse_error(const char *buf, size_t len, struct ap_error *e);
int ap_parse_enrol(const char *buf, size_t len, struct ap_enrol *r, char **err_r);
/* ap_parse_poll: at most MAX tasks into TASKS (more is an error). */
int ap_parse_poll(const char *buf, size_t len, struct ap_task *tasks, size_t max, size_t *n_r,
		  char **err_r);
int ap_parse_heartbeat(const char *buf, size_t len, struct ap_heartbeat *r, char **err_r);
int ap_parse_next(const char *buf, size_t len, struct ap_next *r, char **err_r);
int ap_parse_put(const char *buf, size_t len, struct ap_put *r, char **err_r);

/* The checks the parsers use, for the agent's other inputs too. */
int ap_name_ok(const char *s);	   /* [A-Za-z0-9._-], 1..AP_NAME_MAX */
int ap_cursor_ok(const char *s);   /* printable ASCII, no space, 0..AP_CURSOR_MAX */
int ap_text_ok(const char *s, size_t max); /* 1..MAX bytes, no control byte */

#endif
