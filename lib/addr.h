/*
 * addr - envelope addresses as fedmig stores and compares them.
 *
 * The grammar (RFC 5321 section 4.1.2, with RFC 6531 for UTF-8):
 *   address    = local-part "@" domain, optionally in <> and white space
 *   local-part = dot-atom / quoted-string, at most 64 bytes once unquoted
 *   dot-atom   = atoms of atext (letters, digits, !#$%&'*+-/=?^_`{|}~ and
 *                valid UTF-8 beyond ASCII) joined by single dots
 *   quoted     = '"' (printable ASCII but '"' and '\', UTF-8, or '\' and a
 *                printable ASCII character) '"'
 *   domain     = a hostname: labels of letters, digits, '-' (not first or
 *                last) and UTF-8 (U-labels), each 1..63 bytes, at most 255
 *                bytes, a trailing dot dropped; or an address literal,
 *                [192.0.2.1] or [IPv6:2001:db8::1]
 * Refused everywhere: NUL, CR, LF, other C0/C1 controls and DEL, and bytes
 * that are not valid UTF-8 (overlong forms, surrogates, beyond U+10FFFF).
 * Refused too, although RFC 5321 allows it: a '"' or '\' inside the
 * unquoted local part (written \" or \\ in a quoted string), because
 * the canonical form could not say where its quoting ended, and white
 * space at either end of it, which the canonical form would lose.
 *
 * The canonical form is Postfix's internal form: no <>, the local part
 * unquoted ("john doe"@x becomes john doe@x, as Postfix looks it up in
 * tables), the domain in lower case without a trailing dot, the local part
 * folded to lower case when ADDR_FOLD_LOCAL is given (ASCII only; UTF-8
 * bytes are kept as they are).
 *
 * Input comes in two forms. Admins write RFC 5321 (flags without
 * ADDR_INTERNAL): a local part that is not a dot-atom must be quoted, so
 * "a b"@x is an address and a b@x is a mistake. Postfix hands the policy
 * service, the socketmap, the milter and postqueue its internal form
 * (ADDR_INTERNAL): an unquoted local part is taken as it stands (any
 * printable character or UTF-8 but '"' and '\'), a quoted one is unquoted.
 * A canonical address always normalizes to itself with ADDR_INTERNAL.
 *
 * Contract: addr_normalize() writes the canonical form of IN (LEN bytes,
 * not necessarily NUL-terminated) into OUT (ADDR_MAX bytes) and returns 0,
 * or returns -1 and sets *why_r to a static reason: empty, NUL, CR/LF or
 * another control character, invalid UTF-8, no '@', empty local part or
 * domain, bad domain, bad quoting, an unquoted local part that is not a
 * dot-atom, local part over 64 or domain over 255 bytes.
 */
#ifndef FEDMIG_ADDR_H
#define FEDMIG_ADDR_H

#include <stddef.h>

#define ADDR_LOCAL_MAX 64
#define ADDR_DOMAIN_MAX 255
#define ADDR_MAX (ADDR_LOCAL_MAX + 1 + ADDR_DOMAIN_MAX + 1)

#define ADDR_FOLD_LOCAL 1
#define ADDR_INTERNAL 2

int addr_normalize(const char *in, size_t len, int flags, char *out, const char **why_r);

/* addr_domain: the domain part of a canonical address (after the last '@'). */
const char *addr_domain(const char *canon);

/* addr_local_is_atom: 1 if the local part of the canonical address CANON
 * is a dot-atom (needs no quotes in RFC 5321), else 0. */
int addr_local_is_atom(const char *canon);

/*
 * addr_show: IN (LEN bytes, any bytes) made safe to print in a message:
 * printable ASCII and valid UTF-8 as they are, '\' as \\, every other
 * byte (controls, DEL, invalid UTF-8) as \xHH; cut with "..." to fit SIZE
 * bytes (SIZE >= 8). Returns BUF. Outside input never reaches a terminal
 * or a log raw.
 */
#define ADDR_SHOW_MAX (4 * ADDR_MAX)
const char *addr_show(const char *in, size_t len, char *buf, size_t size);

/* addr_text_ok: 1 if IN (LEN bytes) is valid UTF-8 without NUL, other C0
 * or C1 controls and DEL (what addr_show prints unescaped), else 0: a name
 * or key from outside that may be stored, logged and written to a file. */
int addr_text_ok(const char *in, size_t len);

#endif
