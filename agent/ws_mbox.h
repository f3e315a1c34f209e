/*
 * ws_mbox - Thunderbird's Local Folders read as messages: an mbox file
 * (mboxo or mboxrd) or one message per file (Thunderbird's maildir
 * store), streamed in bounded memory, each message with its IMAP flags,
 * keywords, date, size, SHA-256 and a stable source key.
 *
 * Contract. The scanner is fed any bytes in any chunks (ws_mbox_feed)
 * and keeps only a fixed line head (WS_HEAD_MAX) and a hash state, so a
 * file of any size takes the same memory. In an mbox a message starts at
 * a line "From <sender> <asctime date>" that opens the file or follows an
 * empty line, and ends before the empty line preceding the next one (that
 * line is the separator, never part of a message). A "From " line
 * without a date that parses, or not after an empty line, is body text.
 * Bytes before the first separator are counted as skipped, never given.
 * In mboxrd, a body line ">From ", ">>From ", ... loses one '>'; mboxo
 * (what Thunderbird writes) is given as stored. In WS_ONE the whole input
 * is one message. Header fields are read only from the header (up to the
 * first empty line), each only when its line fits in the line head:
 * X-Mozilla-Status, X-Mozilla-Status2, X-Mozilla-Keys (valid IMAP atoms
 * only, at most WS_KW_MAX bytes), Date. The date is the "From " line's,
 * else the Date header's, else 0 (the fd readers put the file's mtime).
 * Nothing is parsed beyond what fits; no input makes the scanner fail.
 * A message's bytes are given by ws_mbox_copy from the file, exactly as
 * the scan hashed them, after checking the hash (-2: the file changed).
 */
#ifndef FEDMIG_AGENT_WS_MBOX_H
#define FEDMIG_AGENT_WS_MBOX_H

#include <stddef.h>
#include <time.h>

#define WS_HEAD_MAX 1024
#define WS_KW_MAX 512
#define WS_KEY_MAX 200

enum ws_mbox_kind { WS_MBOXO, WS_MBOXRD, WS_ONE };

/* Flags, from Thunderbird's nsMsgMessageFlags. */
#define WS_F_SEEN 0x1u
#define WS_F_ANSWERED 0x2u
#define WS_F_FLAGGED 0x4u
#define WS_F_DELETED 0x8u     /* expunged but not compacted away, or IMAP-deleted */
#define WS_F_FORWARDED 0x10u  /* $Forwarded */
#define WS_F_MDNSENT 0x20u    /* $MDNSent */

enum ws_date_src { WS_DATE_NONE, WS_DATE_FROM, WS_DATE_HEADER, WS_DATE_FILE };

struct ws_msg {
	unsigned long long off;      /* the "From " line's offset (WS_ONE: 0) */
	unsigned long long body_off; /* the message's first byte in the file */
	unsigned long long raw_len;  /* its bytes in the file, as stored */
	unsigned long long size;     /* its bytes as given (mboxrd: unquoted) */
	unsigned char sha256[32];    /* of the bytes as given */
	unsigned flags;              /* WS_F_* */
	unsigned label;              /* Thunderbird's old label 1-7, 0 none: $labelN */
	char keywords[WS_KW_MAX];    /* X-Mozilla-Keys, space separated */
	time_t date;
	enum ws_date_src date_src;
};

struct ws_mbox_stats {
	unsigned long long msgs, bytes, skipped;
};

/* Called once per message; returning -1 stops the scan. */
typedef int ws_msg_fn(void *ctx, const struct ws_msg *m);
typedef int ws_data_fn(void *ctx, const char *d, size_t n);

struct ws_mbox;

struct ws_mbox *ws_mbox_new(enum ws_mbox_kind kind, ws_msg_fn *fn, void *ctx);
/* ws_mbox_feed: 0, or -1 when FN stopped the scan. */
int ws_mbox_feed(struct ws_mbox *b, const char *d, size_t n);
/* ws_mbox_finish: the end of input: the last message given; 0 or -1. */
int ws_mbox_finish(struct ws_mbox *b, struct ws_mbox_stats *st);
void ws_mbox_free(struct ws_mbox **b);

/* ws_mbox_scan: the whole open file FD from its start; a message
 * without a date gets the file's mtime. 0, -1 with *err_r, or -1 with
 * *err_r NULL when FN stopped it. */
int ws_mbox_scan(int fd, enum ws_mbox_kind kind, ws_msg_fn *fn, void *ctx,
		 struct ws_mbox_stats *st, char **err_r);
/* ws_mbox_copy: M's bytes from FD (pread: FD's offset is not used)
 * through DATA, then its SHA-256 checked: 0; -2 with *err_r when the
 * bytes are not those scanned; -1 with *err_r, or *err_r NULL when DATA
 * returned -1. */
int ws_mbox_copy(int fd, enum ws_mbox_kind kind, const struct ws_msg *m, ws_data_fn *data,
		 void *ctx, char **err_r);

/* ws_msg_flags: M's flags and keywords as IMAP gives them, space
 * separated, into BUF (cut at a whole word when SIZE is short). */
void ws_msg_flags(const struct ws_msg *m, char *buf, size_t size);
/* ws_msg_key: the source key of M in FOLDER: the first 16 hex digits of
 * SHA-256(FOLDER), ID (an mbox: M's offset, when ID is NULL; a maildir:
 * the file's name) and M's SHA-256, dot-separated, printable ASCII.
 * -1 when ID is not 1-64 bytes of [A-Za-z0-9._,:=+-]. */
int ws_msg_key(const char *folder, const char *id, const struct ws_msg *m, char *buf,
	       size_t size);

/* Header and date parsers, for the scanner and the tests. A line is
 * without its line end. Each returns 0, or -1 when it is not one. */
int ws_from_line(const char *line, size_t n, time_t *t_r);
int ws_rfc5322_date(const char *s, size_t n, time_t *t_r);
void ws_header(struct ws_msg *m, const char *line, size_t n);

#endif
