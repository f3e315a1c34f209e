/*
 * xalloc - allocation that aborts on failure.
 *
 * Contract: every function returns valid memory or logs and aborts. Use
 * them everywhere except inside milter callbacks, which must answer
 * SMFIS_TEMPFAIL instead of taking every SMTP session down (STYLE.md 8).
 */
#ifndef FEDMIG_XALLOC_H
#define FEDMIG_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* xappend: N bytes of P added to the buffer *BUF of *LEN bytes, which stays
 * NUL-terminated (a body read in pieces, then parsed as a string). */
void xappend(char **buf, size_t *len, const void *p, size_t n);
/* xasprintf: formatted string the caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
