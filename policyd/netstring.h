/*
 * netstring - D. J. Bernstein's netstrings ("LEN:DATA,"), the framing of
 * Postfix's socketmap protocol (socketmap_table(5)).
 *
 * Contract: the decoder is incremental and owns a buffer of MAX + 1
 * bytes, allocated once. Errors are final and close the connection: a
 * length that is empty, not decimal digits, has a leading zero (the
 * netstring definition forbids them; Postfix never sends one), is over
 * MAX, or data not followed by ','. After an error every feed returns
 * NS_ERROR and netstring_dec_error() says why (a static string).
 * netstring_encode() never fails for want of memory: it reports the size
 * it needs.
 */
#ifndef FEDMIG_NETSTRING_H
#define FEDMIG_NETSTRING_H

#include <stddef.h>

enum ns_status {
	NS_MORE,  /* all input consumed, the netstring is not complete */
	NS_DONE,  /* one netstring is complete: read it before feeding more */
	NS_ERROR, /* bad input */
};

struct netstring_dec;

/* netstring_dec_new: a decoder accepting DATA of at most MAX bytes. */
struct netstring_dec *netstring_dec_new(size_t max);
/* netstring_dec_free: NULL-safe; sets *D to NULL. */
void netstring_dec_free(struct netstring_dec **d);

/*
 * netstring_dec_feed: consume bytes of IN (LEN) up to the end of the next
 * netstring; *USED_R says how many (on NS_ERROR, up to the bad byte).
 * After NS_DONE the data stays valid until the next feed.
 */
enum ns_status netstring_dec_feed(struct netstring_dec *d, const char *in, size_t len,
				  size_t *used_r);
/* netstring_dec_data: the complete netstring's data, NUL-terminated
 * (the data itself may hold NUL bytes: use *LEN_R). */
const char *netstring_dec_data(const struct netstring_dec *d, size_t *len_r);
const char *netstring_dec_error(const struct netstring_dec *d);

/*
 * netstring_encode: write DATA (LEN) as a netstring into OUT (SIZE bytes,
 * NUL-terminated when it fits). Returns the netstring's length without
 * the NUL; when that is >= SIZE nothing useful was written.
 */
size_t netstring_encode(char *out, size_t size, const char *data, size_t len);

#endif
