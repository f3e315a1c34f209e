/*
 * apid_frame - the body of an upload (PUT /v1/tasks/REQ/batches/SEQ,
 * agent_spec.md): for each item a JSON header line
 *   {"src":"KEY","flags":"...","date":"...","size":N,"sha256":"HEX"}\n
 * then exactly N bytes of the message. A pure push parser: no I/O, no
 * store; the caller writes the body bytes it is handed wherever it likes,
 * so memory stays flat whatever the message size (a header line is at
 * most APID_FRAME_LINE_MAX bytes, the only thing buffered).
 *
 * Every header is validated before its body is taken: the keys exactly
 * those five; src 1-200 bytes of printable ASCII without space; flags
 * space-separated IMAP atoms or \System flags, never \Recent; date an
 * IMAP INTERNALDATE; size 1..max_message; sha256 64 lowercase hex. The
 * body is hashed as it passes and must match. The batch may hold at most
 * max_items items and max_bytes bytes, except that one item alone may
 * be larger (up to max_message).
 *
 * On the first error the parser stops for good: apid_frame_error() names
 * the item (counted from 1) and the reason, apid_frame_status() is the
 * HTTP status to answer (400, or 413 for a size over a limit).
 */
#ifndef FEDMIG_APID_FRAME_H
#define FEDMIG_APID_FRAME_H

#include <stddef.h>

#define APID_FRAME_LINE_MAX 16384
#define APID_SRC_MAX 200
#define APID_DATE_MAX 40

struct apid_frame_limits {
	long long max_message, max_items, max_bytes;
};

enum apid_frame_rc {
	FRAME_MORE,  /* every byte given was taken; give more */
	FRAME_ITEM,  /* an item's header was read: apid_frame_item() */
	FRAME_DATA,  /* bytes of the current item's body: DATA_R, DLEN_R */
	FRAME_END,   /* the current item's body is complete and its hash matched */
	FRAME_BAD,   /* an error: apid_frame_error(), apid_frame_status() */
};

struct apid_frame_item {
	char src[APID_SRC_MAX + 1];
	char flags[APID_FRAME_LINE_MAX];
	char date[APID_DATE_MAX];
	long long size;
	unsigned char sha256[32];
};

struct apid_frame;

/* apid_frame_new: a parser for one body under LIM (copied). */
struct apid_frame *apid_frame_new(const struct apid_frame_limits *lim);
void apid_frame_free(struct apid_frame **f);
/*
 * apid_frame_feed: take bytes of BUF (LEN) until an event; *USED_R bytes
 * were taken (the caller gives the rest again). For FRAME_DATA the body
 * bytes are *DATA_R (inside BUF), *DLEN_R long. FRAME_BAD stays.
 */
enum apid_frame_rc apid_frame_feed(struct apid_frame *f, const char *buf, size_t len,
				   size_t *used_r, const char **data_r, size_t *dlen_r);
/* apid_frame_finish: the body ended: FRAME_END when it ended between two
 * items, else FRAME_BAD (truncated). */
enum apid_frame_rc apid_frame_finish(struct apid_frame *f);
/* apid_frame_item: the current item's header (after FRAME_ITEM). */
const struct apid_frame_item *apid_frame_item(const struct apid_frame *f);
/* apid_frame_items: items whose header was read so far. */
long long apid_frame_items(const struct apid_frame *f);
const char *apid_frame_error(const struct apid_frame *f);
int apid_frame_status(const struct apid_frame *f);

/* The validators of each field, for the other parsers too: 1 good, 0 bad. */
int apid_src_ok(const char *s, size_t len);
int apid_flags_ok(const char *s);
int apid_sha_hex(const char *hex, unsigned char out[32]);

#endif
