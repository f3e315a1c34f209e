/*
 * vcard - content lines of vCard (RFC 6350, 2426, vCard 2.1) and, for the
 * hash and the UID, iCalendar (RFC 5545, the same line syntax): unfolding,
 * groups, parameters (quoted values, value lists, RFC 6868 ^-escapes, 2.1
 * bare TYPE words), 2.1 quoted-printable soft breaks; a vCard as a list of
 * properties; the writer (CRLF, folded at 75 octets, never inside a UTF-8
 * sequence); 2.1 -> 3.0 and 3.0 <-> 4.0 conversion.
 *
 * Written by hand: Debian 12 has no maintained C library for vCard 3/4
 * (libvformat and libvc are 2.1-era and unmaintained, libbelcard is C++ and
 * 4.0 only). Everything here reads outside input: no input aborts, each
 * refusal is a sentence with the line number; nothing is read past LEN, and
 * a NUL byte is refused (a C string would silently cut the item).
 */
#ifndef FEDMIG_VCARD_H
#define FEDMIG_VCARD_H

#include <stddef.h>

/* A growing byte buffer, always NUL-terminated (p may hold NULs before). */
struct vc_buf {
	char *p;
	size_t n, cap;
};
void vc_buf_add(struct vc_buf *b, const void *d, size_t n);
void vc_buf_adds(struct vc_buf *b, const char *s);
void vc_buf_addc(struct vc_buf *b, char c);
void vc_buf_free(struct vc_buf *b);

/* One parameter: NAME upper-cased; its values RFC 6868-decoded, unquoted.
 * A 2.1 bare word becomes ENCODING=word (QUOTED-PRINTABLE, BASE64, 8BIT,
 * 7BIT) or TYPE=word. */
struct vc_param {
	char *name;
	char **v;
	size_t nv;
};

/* One content line: GROUP (NULL when none, case kept), NAME upper-cased,
 * VALUE as written (escapes kept; quoted-printable soft breaks joined),
 * LINE the number of its first physical line. */
struct vc_prop {
	char *group;
	char *name;
	struct vc_param *p;
	size_t np;
	char *value;
	size_t vlen;
	unsigned line;
};

struct vc_lines {
	struct vc_prop *a;
	size_t n, cap;
};

/* vc_parse: every content line of TEXT (LEN bytes: CRLF, LF or CR line ends;
 * blank lines skipped) appended to *OUT. 0, or -1 with *ERR_R (caller frees;
 * "line 3: no ':' after the property name"); *OUT is then freed. */
int vc_parse(const char *text, size_t len, struct vc_lines *out, char **err_r);
void vc_lines_free(struct vc_lines *l);
void vc_prop_free(struct vc_prop *p);

/* vc_param_get: the first parameter NAME of P, or NULL. vc_param_has: 1 when
 * parameter NAME holds VALUE (case-insensitive). */
struct vc_param *vc_param_get(const struct vc_prop *p, const char *name);
int vc_param_has(const struct vc_prop *p, const char *name, const char *value);
/* vc_param_del: removes every parameter NAME. vc_param_add: appends VALUE to
 * parameter NAME (created when missing). */
void vc_param_del(struct vc_prop *p, const char *name);
void vc_param_add(struct vc_prop *p, const char *name, const char *value);
/* vc_set_value: replaces P's value with a copy of V (N bytes). */
void vc_set_value(struct vc_prop *p, const char *v, size_t n);

/* vc_unescape: the text of an escaped value (\n \N -> newline, \x -> x),
 * NUL-terminated, malloc'd; *LEN_R its length. */
char *vc_unescape(const char *v, size_t n, size_t *len_r);

/* vc_write_prop: P as one content line, folded, CRLF-ended, appended to B. */
void vc_write_prop(struct vc_buf *b, const struct vc_prop *p);
/* vc_fold: the logical line L (N bytes, no line end) folded at 75 octets on
 * UTF-8 boundaries, CRLF-ended, appended to B. */
void vc_fold(struct vc_buf *b, const char *l, size_t n);
/* vc_refold: TEXT unfolded and folded again by vc_fold (for a writer whose
 * folding may split a UTF-8 sequence); malloc'd, *LEN_R its length. */
char *vc_refold(const char *text, size_t len, size_t *len_r);

/* vc_utf8_ok: 1 when S (N bytes) is valid UTF-8 (no overlongs, no
 * surrogates). */
int vc_utf8_ok(const char *s, size_t n);

/* A vCard: its properties between BEGIN:VCARD and END:VCARD (those two not
 * included) and VERSION as 21, 30 or 40. */
struct vcard {
	struct vc_lines l;
	int version;
};

/* vcard_parse: exactly one vCard (a nested BEGIN, a second card, a missing
 * END are refused). A card without VERSION is taken as 3.0. 0, or -1 with
 * *ERR_R ("not a vCard: line 3: ..."). */
int vcard_parse(const char *text, size_t len, struct vcard *c, char **err_r);
void vcard_free(struct vcard *c);
/* vcard_write: C as text (CRLF, folded), malloc'd; *LEN_R its length. */
char *vcard_write(const struct vcard *c, size_t *len_r);
/* vcard_find: the first property NAME of C, or NULL. */
struct vc_prop *vcard_find(const struct vcard *c, const char *name);
/* vcard_convert: C made version TO (30 or 40; 2.1 is always made 3.0 first);
 * each change described, "; "-separated, appended to FIXES. 0, or -1 with
 * *ERR_R when a 2.1 value's charset cannot be converted to UTF-8. */
int vcard_convert(struct vcard *c, int to, struct vc_buf *fixes, char **err_r);
/* vc_fix: appends the fix WHAT to FIXES with its "; " separator. */
void vc_fix(struct vc_buf *fixes, const char *what);

#endif
