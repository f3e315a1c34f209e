/*
 * addr - envelope addresses as fedmig stores and compares them.
 *
 * The canonical form is Postfix's internal form: no <>, the local part
 * unquoted ("john doe"@x becomes john doe@x, as Postfix looks it up in
 * tables), the domain in lower case without a trailing dot, the local part
 * folded to lower case when ADDR_FOLD_LOCAL is given (ASCII only; UTF-8
 * bytes are kept as they are).
 *
 * Contract: addr_normalize() writes the canonical form of IN (LEN bytes,
 * not necessarily NUL-terminated) into OUT (ADDR_MAX bytes) and returns 0,
 * or returns -1 and sets *why_r to a static reason: empty, NUL, CR/LF or
 * another control character, no '@', empty local part or domain, bad
 * domain, bad quoting, local part over 64 or domain over 255 bytes.
 */
#ifndef FEDMIG_ADDR_H
#define FEDMIG_ADDR_H

#include <stddef.h>

#define ADDR_LOCAL_MAX 64
#define ADDR_DOMAIN_MAX 255
#define ADDR_MAX (ADDR_LOCAL_MAX + 1 + ADDR_DOMAIN_MAX + 1)

#define ADDR_FOLD_LOCAL 1

int addr_normalize(const char *in, size_t len, int flags, char *out, const char **why_r);

/* addr_domain: the domain part of a canonical address (after the last '@'). */
const char *addr_domain(const char *canon);

#endif
