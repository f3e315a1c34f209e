/*
 * delim - address extensions (alice+tag@example.org), split the way
 * Postfix's recipient_delimiter splits them, so that every directory
 * lookup fedmig makes treats alice+tag like alice.
 *
 * Why fedmig does this itself: Postfix tries user+ext@domain and then
 * user@domain only for tables it may query with partial keys. A socketmap
 * table is a pattern-style table to Postfix: virtual_alias_maps sends it
 * the whole address once and takes NOTFOUND as "user unknown" (verified
 * on Postfix 3.7, see fedmig-policyd(8)). The milter and fedmig-spm see
 * whole addresses too.
 *
 * DELIMS is the value of recipient_delimiter: a set of characters, any of
 * which starts the extension at its first occurrence in the local part
 * (as Postfix 2.11 and later). NULL or "" turns splitting off.
 */
#ifndef FEDMIG_DELIM_H
#define FEDMIG_DELIM_H

#include <stddef.h>

#include "addr.h"
#include "store.h"

/*
 * delim_split: if the canonical address ADDR has an extension, write the
 * address without it into BASE (ADDR_MAX bytes) and return 1; *EXT_R
 * (when not NULL) gets the offset in ADDR of the delimiter that starts
 * the extension (the extension runs from there to the last '@'). Return
 * 0 (BASE untouched) when DELIMS is off, the local part holds none of its
 * characters, the first one is the local part's first byte (Postfix never
 * leaves an empty local part), or Postfix would not split the local part:
 * postmaster, mailer-daemon, double-bounce, and, when '-' is a delimiter,
 * owner-* and *-request.
 */
int delim_split(const char *addr, const char *delims, char base[ADDR_MAX], size_t *ext_r);

/*
 * delim_extend: the address TARGET with the extension of ADDR (split at
 * EXT by delim_split) put back at the end of TARGET's local part, as
 * Postfix's virtual aliasing propagates an unmatched extension:
 * alice+tag@example.org and alice@s1.example.org give
 * alice+tag@s1.example.org. Written into OUT (OUT_SIZE bytes); -1 when it
 * does not fit. OUT of DELIM_EXTENDED_MAX bytes always fits.
 */
#define DELIM_EXTENDED_MAX (2 * ADDR_MAX)
int delim_extend(const char *target, const char *addr, size_t ext, char *out, size_t out_size);

/*
 * delim_is: 1 if the canonical address ADDR is MAILBOX itself or MAILBOX
 * with an extension (alice+tag@s1.example.org is alice@s1.example.org),
 * else 0. For matching queue file recipients, which carry the extension
 * the socketmap kept, against a physical address.
 */
int delim_is(const char *addr, const char *mailbox, const char *delims);

/*
 * delim_dir_lookup: store_dir_lookup() of ADDR, and when that finds
 * nothing and ADDR has an extension, of ADDR without it: an exact match
 * of the whole address wins first, as in Postfix. Same returns as
 * store_dir_lookup().
 */
int delim_dir_lookup(struct store *s, const char *delims, const char *addr, struct dir_entry *r);

#endif
