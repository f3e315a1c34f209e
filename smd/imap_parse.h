/*
 * imap_parse - an incremental IMAP response reader and a tokenizer for
 * one complete response.
 *
 * The reader is fed whatever bytes arrived (one at a time is fine) and
 * cuts them into responses: text up to CRLF, where a line ending in
 * {N} or {N+} announces a literal of N bytes after which the response
 * continues. At each literal the owner decides: inline it (the bytes are
 * kept in the response text, for mailbox names and the like, up to
 * max_inline) or stream it (the bytes go to on_data in pieces as they
 * arrive and never accumulate; the response text gets "NIL" in place of
 * the literal). So memory is bounded by max_response whatever the
 * message sizes: this is what lets a child copy a 50 MB message in a few
 * hundred kilobytes.
 *
 * Contract: imap_parser_feed() returns 0 when the bytes were consumed, -1
 * on a protocol violation or when a callback returned -1; the reason is
 * in p->err and the parser refuses further input. Bare LF ends a line as
 * CRLF does (servers in the wild send it); NUL in a line, a line longer
 * than max_response, a literal length over max_literal or with more
 * than 15 digits are errors.
 */
#ifndef FEDMIG_IMAP_PARSE_H
#define FEDMIG_IMAP_PARSE_H

#include <stddef.h>
#include <stdint.h>

enum imap_lit { IMAP_LIT_INLINE, IMAP_LIT_STREAM };

struct imap_parser_cb {
	/*
	 * A literal of SIZE bytes starts; TEXT/LEN is the response so far
	 * (ending with "{SIZE}"). Return IMAP_LIT_INLINE, IMAP_LIT_STREAM or
	 * -1 to fail. NULL: inline.
	 */
	int (*on_literal)(void *ctx, const char *text, size_t len, uint64_t size);
	/* Streamed literal bytes; END is 1 with the last piece (N may be 0). */
	int (*on_data)(void *ctx, const char *data, size_t n, int end);
	/* A complete response, without its CRLF, NUL-terminated. */
	int (*on_response)(void *ctx, const char *text, size_t len);
};

struct imap_parser {
	struct imap_parser_cb cb;
	void *ctx;
	size_t max_response, max_inline;
	uint64_t max_literal;
	char *buf;
	size_t len, cap;
	size_t line_start; /* where the current line (after a literal) began */
	int state;	   /* 0 line, 1 inline literal, 2 streamed literal, -1 error */
	uint64_t lit_left;
	int cr;		   /* the previous byte of the line was CR */
	char err[160];
};

/* imap_parser_init: limits of 0 take the defaults (1 MB, 64 KB, 4 GB). */
void imap_parser_init(struct imap_parser *p, const struct imap_parser_cb *cb, void *ctx,
		      size_t max_response, size_t max_inline, uint64_t max_literal);
void imap_parser_free(struct imap_parser *p);
int imap_parser_feed(struct imap_parser *p, const char *data, size_t n);
/* imap_parser_idle: 1 between responses (nothing partial buffered). */
int imap_parser_idle(const struct imap_parser *p);

/*
 * The tokenizer reads one complete response (as on_response gives it).
 * Each function returns 0 and advances, or -1 and leaves the position
 * where it failed.
 */
struct imap_tok {
	const char *p, *end;
};

void imap_tok_init(struct imap_tok *t, const char *text, size_t len);
int imap_tok_eof(const struct imap_tok *t);
/* imap_tok_peek: the next byte, or -1 at the end. */
int imap_tok_peek(const struct imap_tok *t);
/* imap_tok_char: consume C. */
int imap_tok_char(struct imap_tok *t, char c);
/* imap_tok_sp: one or more spaces. */
int imap_tok_sp(struct imap_tok *t);
/*
 * imap_tok_atom: an atom, including "\Flag", "$kw", "BODY[...]" and
 * "[CODE"; stops before SP ( ) ] and CTLs. *P_R points into the text.
 */
int imap_tok_atom(struct imap_tok *t, const char **p_r, size_t *len_r);
/* imap_tok_number: digits, at most 2^63-1. */
int imap_tok_number(struct imap_tok *t, unsigned long long *n_r);
/*
 * imap_tok_string: an astring or nstring (quoted, literal or atom) into
 * OUT of SIZE bytes, NUL-terminated; *LEN_R its length (it may contain
 * NUL when it came from a literal). NIL gives *nil_r = 1 and "". Too long
 * for OUT is an error.
 */
int imap_tok_string(struct imap_tok *t, char *out, size_t size, size_t *len_r, int *nil_r);
/* imap_tok_skip: skip one item: atom, string, literal or (list). */
int imap_tok_skip(struct imap_tok *t);

/* imap_atom_eq: 1 when P/LEN equals WORD ignoring ASCII case. */
int imap_atom_eq(const char *p, size_t len, const char *word);

/* What one FETCH response says about a message (the items we ask for). */
struct imap_fetch {
	unsigned long long seq, uid, size;
	int has_uid, has_flags, has_date, has_size, has_body;
	const char *flags; /* inside the parentheses, in the response text */
	size_t flags_len;
	char date[40];	   /* INTERNALDATE, without its quotes */
};

/*
 * imap_fetch_parse: TEXT/LEN is an untagged response without "* ". 1 and
 * *F filled when it is "N FETCH (items)", 0 when it is another response,
 * -1 when it is a malformed FETCH. F->flags points into TEXT (valid as
 * long as TEXT is): a flag list has no limit but the response's size.
 * Unknown items are skipped; a body literal must have been streamed
 * (the text holds NIL in its place).
 */
int imap_fetch_parse(const char *text, size_t len, struct imap_fetch *fi);

/*
 * imap_flags_diff: compare two flag lists ("\\Seen $kw", as inside FETCH
 * FLAGS parentheses) as sets: case is ignored (RFC 3501 flags are
 * case-insensitive), so are \Recent (the server's, per session) and
 * repeats. Returns the number of differences; MISSING gets the flags of
 * WANT not in GOT, EXTRA those of GOT not in WANT, each space-separated
 * in SIZE bytes, ending with "..." when they do not fit.
 */
int imap_flags_diff(const char *want, size_t want_len, const char *got, size_t got_len,
		    char *missing, char *extra, size_t size);
/*
 * imap_date_parse: an INTERNALDATE ("dd-Mon-yyyy hh:mm:ss +zzzz", the day
 * may be " d") into seconds since the epoch, so that two servers writing
 * one instant in different zones compare equal. 0, or -1 if malformed.
 */
int imap_date_parse(const char *s, long long *t_r);

#endif
