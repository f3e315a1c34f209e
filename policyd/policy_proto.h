/*
 * policy_proto - incremental parser of the Postfix SMTP access policy
 * protocol (SMTPD_POLICY_README): "name=value" lines ending in '\n', an
 * empty line ends one request. Many requests follow each other on one
 * connection; the parser hands them out one at a time, so answers go back
 * in order however the bytes were split or pipelined.
 *
 * Contract: the parser owns a request buffer bounded by MAX_LINE and
 * MAX_ATTRS (at most MAX_ATTRS * (MAX_LINE + 1) bytes, and it shrinks back
 * after a large request). Errors are final: a line longer than MAX_LINE
 * (excluding '\n'), more than MAX_ATTRS attributes, a NUL byte, a line
 * without '=' or with an empty name. After an error every feed returns
 * POLICY_ERROR again and policy_parser_error() says why (a static string).
 * A '\r' is data, as in Postfix's attr_scan_plain: Postfix never sends one.
 */
#ifndef FEDMIG_POLICY_PROTO_H
#define FEDMIG_POLICY_PROTO_H

#include <stddef.h>

enum policy_status {
	POLICY_MORE,    /* all input consumed, the request is not complete */
	POLICY_REQUEST, /* a request is complete: read it before feeding more */
	POLICY_ERROR,   /* bad input: close the connection */
};

struct policy_attr {
	const char *name;  /* NUL-terminated, inside the parser's buffer */
	const char *value; /* NUL-terminated, may be empty */
};

struct policy_parser;

/* policy_parser_new: a parser for one connection; never NULL (xalloc). */
struct policy_parser *policy_parser_new(size_t max_line, size_t max_attrs);
/*
 * policy_parser_set_max_request: refuse ("request too large") a request
 * whose lines add up to more than MAX_REQUEST bytes (0: no cap but
 * MAX_ATTRS * (MAX_LINE + 1)). Bounds a connection's memory well below
 * what the line and attribute limits alone allow.
 */
void policy_parser_set_max_request(struct policy_parser *p, size_t max_request);
/* policy_parser_free: NULL-safe; sets *P to NULL. */
void policy_parser_free(struct policy_parser **p);

/*
 * policy_parser_feed: consume bytes of BUF (LEN) up to the end of the
 * next request. *USED_R is how many were consumed (all of them unless
 * POLICY_REQUEST came earlier in BUF; on POLICY_ERROR, the bytes up to
 * the bad one). After POLICY_REQUEST the request's attributes stay valid
 * until the next feed, which starts a new request.
 */
enum policy_status policy_parser_feed(struct policy_parser *p, const char *buf, size_t len,
				      size_t *used_r);

/* policy_request_attrs: the complete request's attributes, in order. */
const struct policy_attr *policy_request_attrs(const struct policy_parser *p, size_t *n_r);
/* policy_request_get: value of the first attribute NAME, or NULL. */
const char *policy_request_get(const struct policy_parser *p, const char *name);
/* policy_parser_error: why the parser failed, or NULL. */
const char *policy_parser_error(const struct policy_parser *p);

#endif
