/*
 * imap_parse - an incremental IMAP response reader, a tokenizer for one
 * complete response, and the decoder that turns a response into a typed
 * event (imap_event.c). Nothing else in smd/ reads server text.
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
	unsigned long long modseq; /* MODSEQ (n), RFC 7162: 1 to 2^63-1 */
	int has_modseq;
	int modseq_bad;		   /* a MODSEQ item that is not that (skipped) */
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
 * imap_word: the next space-separated word of [*P, END) (a flag of a
 * flag list, a capability): 1 with *W_R and *WL_R, *P past it; 0 at the end.
 */
int imap_word(const char **p, const char *end, const char **w_r, size_t *wl_r);
/* imap_flag_in: 1 when FLAG/FLEN is in the flag list LIST/LEN, ignoring case. */
int imap_flag_in(const char *list, size_t len, const char *flag, size_t flen);
/*
 * imap_date_parse: an INTERNALDATE ("dd-Mon-yyyy hh:mm:ss +zzzz", the day
 * may be " d") into seconds since the epoch, so that two servers writing
 * one instant in different zones compare equal. 0, or -1 if malformed.
 */
int imap_date_parse(const char *s, long long *t_r);

/* ------------------------------------------------------------ events */

/*
 * imap_event_parse() decodes one complete response (as on_response gives
 * it, with its "* ", "+" or tag) into a typed event. Spans point into the
 * response text and are valid as long as it is; decoded strings (LIST and
 * STATUS mailbox names) live in ev->buf until imap_event_free(). No item
 * has a fixed size limit: a flag list or a name is bounded only by the
 * response.
 */
struct imap_span {
	const char *p;
	size_t len;
};

#define IMAP_CAP_LITERALPLUS 0x01
#define IMAP_CAP_MULTIAPPEND 0x02
#define IMAP_CAP_UIDPLUS 0x04
#define IMAP_CAP_SPECIAL_USE 0x08
#define IMAP_CAP_LIST_EXTENDED 0x10
#define IMAP_CAP_STARTTLS 0x20
#define IMAP_CAP_SASL_IR 0x40
#define IMAP_CAP_AUTH_PLAIN 0x80
#define IMAP_CAP_LIST_STATUS 0x100
#define IMAP_CAP_LITERALMINUS 0x200
#define IMAP_CAP_ESEARCH 0x400
#define IMAP_CAP_STATUS_SIZE 0x800 /* RFC 8438 */
#define IMAP_CAP_CONDSTORE 0x1000  /* RFC 7162; QRESYNC implies it */
#define IMAP_CAP_QRESYNC 0x2000
#define IMAP_CAP_ENABLE 0x4000	   /* RFC 5161 */
#define IMAP_CAP_MOVE 0x8000	   /* RFC 6851 */

/* A capability list ("IMAP4rev1 LITERAL+ ..."): its words and the ones we use. */
struct imap_caps {
	struct imap_span words;
	unsigned bits; /* IMAP_CAP_* */
};

enum imap_cond { IMAP_COND_OK, IMAP_COND_NO, IMAP_COND_BAD, IMAP_COND_BYE, IMAP_COND_PREAUTH };

enum imap_code_type {
	IMAP_CODE_NONE,
	IMAP_CODE_ALERT,
	IMAP_CODE_APPENDUID,	  /* num = UIDVALIDITY, set = the new UIDs */
	IMAP_CODE_COPYUID,	  /* num = UIDVALIDITY, src_set -> set */
	IMAP_CODE_UIDVALIDITY,	  /* num */
	IMAP_CODE_UIDNEXT,	  /* num */
	IMAP_CODE_PERMANENTFLAGS, /* list = inside the parentheses */
	IMAP_CODE_CAPABILITY,	  /* caps */
	IMAP_CODE_HIGHESTMODSEQ,  /* num, 1 to 2^63-1 (RFC 7162) */
	IMAP_CODE_NOMODSEQ,	  /* the mailbox keeps no mod-sequences */
	IMAP_CODE_MODIFIED,	  /* set: the UIDs a conditional STORE left alone */
	IMAP_CODE_CLOSED,	  /* the previous mailbox is closed (QRESYNC) */
	IMAP_CODE_OTHER		  /* unknown or malformed: text only */
};

/* A response code: "[NAME args]"; text is what is inside the brackets. */
struct imap_code {
	enum imap_code_type type;
	unsigned long long num;
	struct imap_span set, src_set, list, text;
	struct imap_caps caps;
};

/* A status reply (tagged, or untagged OK/NO/BAD/BYE/PREAUTH). */
struct imap_state {
	enum imap_cond cond;
	struct imap_code code;
	struct imap_span rest; /* after the condition word: code and text */
	struct imap_span text; /* after the code */
};

/* LIST attributes we know (RFC 3501, 5258, 6154); others are in attrs. */
#define IMAP_LIST_NOSELECT 0x01
#define IMAP_LIST_NONEXISTENT 0x02
#define IMAP_LIST_SENT 0x10
#define IMAP_LIST_DRAFTS 0x20
#define IMAP_LIST_TRASH 0x40
#define IMAP_LIST_JUNK 0x80
#define IMAP_LIST_ARCHIVE 0x100
#define IMAP_LIST_ALL 0x200
#define IMAP_LIST_FLAGGED 0x400

struct imap_list {
	int lsub;
	unsigned attr_bits;	/* IMAP_LIST_* */
	struct imap_span attrs; /* inside the parentheses */
	char sep;		/* 0: NIL */
	const char *name;	/* decoded (quoted or literal), in ev->buf; no NUL inside */
	size_t name_len;
};

#define IMAP_STATUS_MESSAGES 0x01
#define IMAP_STATUS_RECENT 0x02
#define IMAP_STATUS_UIDNEXT 0x04
#define IMAP_STATUS_UIDVALIDITY 0x08
#define IMAP_STATUS_UNSEEN 0x10
#define IMAP_STATUS_SIZE 0x20
#define IMAP_STATUS_HIGHESTMODSEQ 0x40

struct imap_status_items {
	const char *mailbox; /* decoded, in ev->buf */
	unsigned has;	     /* IMAP_STATUS_* */
	unsigned long long messages, recent, uidnext, uidvalidity, unseen, size, highestmodseq;
};

/* "* VANISHED [(EARLIER)] uid-set" (RFC 7162): set is checked (imap_uidset_ranges). */
struct imap_vanished {
	int earlier;
	struct imap_span set;
};

enum imap_ev {
	IMAP_EV_OTHER,	   /* an untagged response not decoded further */
	IMAP_EV_STATE,	   /* tagged or untagged status reply: u.state */
	IMAP_EV_CONTINUE,  /* "+ text": u.text */
	IMAP_EV_FETCH,	   /* u.fetch */
	IMAP_EV_LIST,	   /* LIST or LSUB: u.list */
	IMAP_EV_STATUS,	   /* u.status */
	IMAP_EV_EXISTS,	   /* u.num */
	IMAP_EV_EXPUNGE,   /* u.num */
	IMAP_EV_RECENT,	   /* u.num */
	IMAP_EV_FLAGS,	   /* u.text: inside the parentheses */
	IMAP_EV_CAPABILITY, /* u.caps */
	IMAP_EV_ENABLED,    /* u.caps: what ENABLE turned on (RFC 5161) */
	IMAP_EV_VANISHED    /* u.vanished */
};

struct imap_event {
	enum imap_ev type;
	int tagged;	      /* a completion: tag is set */
	int bad;	      /* malformed: type says what it claimed to be */
	struct imap_span tag;
	struct imap_span raw; /* after "* " or the tag: for messages */
	union {
		struct imap_state state;
		struct imap_fetch fetch;
		struct imap_list list;
		struct imap_status_items status;
		unsigned long long num;
		struct imap_span text;
		struct imap_caps caps;
		struct imap_vanished vanished;
	} u;
	char *buf;
};

/*
 * imap_event_parse: 0 and *EV filled; -1 when the response is malformed
 * (ev->bad = 1, ev->type what it claimed to be, IMAP_EV_OTHER when not
 * even that is known). Always imap_event_free() afterwards.
 */
int imap_event_parse(const char *text, size_t len, struct imap_event *ev);
void imap_event_free(struct imap_event *ev);

/*
 * imap_body_announce: TEXT/LEN is a response up to a literal (as
 * on_literal gives it). 1 when the literal is the BODY[] of an untagged
 * FETCH: *SEQ_R, and *UID_R when UID came before it (*HAS_UID_R); else 0.
 */
int imap_body_announce(const char *text, size_t len, unsigned long long *seq_r,
		       unsigned long long *uid_r, int *has_uid_r);

/* imap_caps_bits: the IMAP_CAP_* of a capability word list. */
unsigned imap_caps_bits(const char *s, size_t len);

/*
 * imap_uidset_expand: the UIDs of SET ("5", "5:9", "5,7:8"; a range
 * may be written high:low) in order, the first N of them into OUT.
 * Returns how many the set names, or -1 when it is malformed.
 */
long long imap_uidset_expand(struct imap_span set, unsigned long long *out, size_t n);

/*
 * imap_uidset_ranges: a UID set as RFC 7162 sends it (VANISHED, MODIFIED:
 * "5", "5:9", "9:5", "5,7:8"; UIDs 1 to 2^32-1, no "*") into sorted,
 * merged, disjoint ranges: *R_R (caller frees) and *N_R. Memory is
 * bounded by the set's text, never by the UIDs it names: "1:4294967295"
 * is one range. 0, or -1 when malformed (*R_R NULL).
 */
struct imap_uid_range {
	uint32_t lo, hi;
};

int imap_uidset_ranges(struct imap_span set, struct imap_uid_range **r_r, size_t *n_r);
/* imap_uid_in: 1 when UID lies in the N sorted ranges R (binary search). */
int imap_uid_in(const struct imap_uid_range *r, size_t n, uint32_t uid);

/* imap_tag_number: TAG is PREFIX and digits: 0 and *N_R, else -1. */
int imap_tag_number(struct imap_span tag, char prefix, unsigned long long *n_r);

/* imap_span_eq: SPAN equals WORD ignoring ASCII case. */
int imap_span_eq(struct imap_span s, const char *word);

#endif
