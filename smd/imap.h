/*
 * imap - a small pipelining IMAP4rev1 client over TCP or TLS (OpenSSL),
 * made for copying: commands are buffered and sent without waiting, their
 * completions are collected by tag, and message literals stream through
 * the owner's callbacks instead of being held in memory.
 *
 * Contract: every call that talks to the server returns 0 or -1 with the
 * reason in imap_error() ("host:port: what"); after -1 the connection is
 * unusable and the owner closes it. Reads and writes time out after
 * timeout_ms without progress. Secrets given to imap_login() are never
 * logged nor kept. Strings returned belong to the connection and are
 * valid until the next call on it.
 */
#ifndef FEDMIG_IMAP_H
#define FEDMIG_IMAP_H

#include <stddef.h>
#include <stdint.h>

#include "imap_parse.h"

enum imap_tls { IMAP_TLS_NONE, IMAP_TLS_IMPLICIT, IMAP_STARTTLS_MAY, IMAP_STARTTLS_YES };

struct imap_opts {
	const char *url;     /* imap://host:port or imaps://host:port */
	enum imap_tls starttls; /* for imap:// only: NONE, MAY or YES */
	int tls_verify;
	const char *ca_file; /* "" or NULL: system store */
	int timeout_ms;
};

/* IMAP_CAP_*: see imap_parse.h. */

enum imap_status { IMAP_PENDING, IMAP_OK, IMAP_NO, IMAP_BAD };

/* A FETCH response's BODY[] literal, announced before its bytes. */
struct imap_body {
	unsigned long long seq, uid;
	int has_uid; /* UID came before BODY[] in the response */
	uint64_t size;
};

/*
 * What the owner hears: untagged responses as typed events (ev->bad when
 * malformed; ev->raw is the text, for messages), and the BODY[] literals
 * of FETCH responses, which it may stream: body() returns IMAP_LIT_STREAM
 * (the bytes then go to data()), IMAP_LIT_INLINE or -1. Every other
 * literal is kept inline. Any may be NULL.
 */
struct imap_handler {
	int (*event)(void *ctx, const struct imap_event *ev);
	int (*body)(void *ctx, const struct imap_body *b);
	int (*data)(void *ctx, const char *d, size_t n, int end);
	void *ctx;
};

struct imap_conn;

/* imap_connect: connect, TLS as asked, read the greeting. NULL, *err_r set (caller frees). */
struct imap_conn *imap_connect(const struct imap_opts *o, char **err_r);
void imap_close(struct imap_conn **c);
const char *imap_error(const struct imap_conn *c);
unsigned imap_caps(const struct imap_conn *c);
/* imap_tls_active: 1 when the session is encrypted. */
int imap_tls_active(const struct imap_conn *c);

/*
 * imap_login: log in as USER; with MASTER, as MASTER on behalf of USER:
 * SASL PLAIN with authzid USER when MASTER_SEP is NULL, else LOGIN
 * "USER<sep>MASTER" (Dovecot). Refreshes the capabilities.
 */
int imap_login(struct imap_conn *c, const char *user, const char *master, const char *master_sep,
	       const char *password);
/*
 * imap_login_start, imap_login_finish: imap_login in two halves, so that
 * the logins on two servers (each several milliseconds of the server's
 * authentication) overlap. Between them the secret is no longer in any
 * buffer of the connection.
 */
int imap_login_start(struct imap_conn *c, const char *user, const char *master,
		     const char *master_sep, const char *password, unsigned *tag_r);
int imap_login_finish(struct imap_conn *c, unsigned tag, const char *user, const char *master);

void imap_set_handler(struct imap_conn *c, const struct imap_handler *h);

/*
 * imap_cmd: buffer a command (a tag is prepended, CRLF appended); returns
 * its tag number. Strings from outside go through imap_q().
 */
unsigned imap_cmd(struct imap_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* imap_write: raw bytes (literal data, continuation of a command). */
int imap_write(struct imap_conn *c, const void *d, size_t n);
/* imap_writef: raw formatted text, no tag, no CRLF. */
int imap_writef(struct imap_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* imap_next_tag: the tag number imap_cmd would use next. */
unsigned imap_next_tag(const struct imap_conn *c);
/* imap_take_tag: reserve a tag for a command written with imap_writef. */
unsigned imap_take_tag(struct imap_conn *c);
int imap_flush(struct imap_conn *c);
/* imap_pending_output: bytes buffered, not yet sent. */
size_t imap_pending_output(const struct imap_conn *c);

/*
 * imap_wait: read until TAG completes; *TEXT_R (may be NULL) gets its
 * text after the status word. 0 with *status_r; -1 on a connection error.
 */
int imap_wait(struct imap_conn *c, unsigned tag, enum imap_status *status_r, const char **text_r);
/*
 * imap_result_code: the response code of completed TAG's reply
 * (IMAP_CODE_NONE when it had none or has not completed).
 */
const struct imap_code *imap_result_code(const struct imap_conn *c, unsigned tag);
/* imap_done: 1 when TAG has completed (without reading). */
int imap_done(const struct imap_conn *c, unsigned tag);
/*
 * imap_read: read once (wait up to timeout_ms when BLOCK, else only what
 * is there) and dispatch. 0, or -1 on error or end of stream.
 */
int imap_read(struct imap_conn *c, int block);
/*
 * imap_wait_continuation: read until a "+" response (0) or until TAG
 * completes instead (1: the server refused the command).
 */
int imap_wait_continuation(struct imap_conn *c, unsigned tag);
/* imap_simple: imap_cmd + flush + wait; -1 also on NO/BAD (reason kept). */
int imap_simple(struct imap_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * imap_q: S as an IMAP string for a command: quoted, or a non-synchronising
 * literal when it has 8-bit bytes (needs LITERAL+; without it the bytes
 * are sent quoted and the server decides; CR or LF without LITERAL+
 * fails the connection, as no quoted string can hold them, and "" is
 * returned, never sent). The result lives in one of 4
 * rotating buffers of the connection: use it within the next 3 calls.
 */
const char *imap_q(struct imap_conn *c, const char *s);

#endif
