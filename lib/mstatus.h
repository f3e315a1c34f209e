/*
 * mstatus - the milter's status line, both ends of it: fedmig-milter
 * answers every connection on its private status socket with one line,
 * fedmig-spm reads it to know whether an SMTP transaction begun before a
 * switch is still open (milter/txn.h, spm/drain.c).
 *
 *   oldest=<µs since the epoch of the oldest open MAIL FROM, 0: none>
 *   SP open=<number of open transactions> LF
 *
 * mstatus_encode(): the line for OLDEST_US and OPEN into BUF (SIZE bytes,
 * MSTATUS_MAX is always enough), NUL-terminated, and its length without
 * the NUL. A short BUF cuts the line (no LF then: the reader waits for
 * one); a value that is negative or over MSTATUS_VALUE_MAX gives 0 and
 * BUF "" (no line rather than one the reader refuses).
 *
 * mstatus_decode(): parse LINE (LEN bytes, no NUL needed; a final LF or
 * CR LF allowed). Words are "key=value" separated by single spaces, in
 * any order; oldest and open must each be there once as 1 to 18 decimal
 * digits; other keys are ignored (a newer milter may say more). Any
 * control or non-ASCII byte, an empty key, a word without '=', or a line
 * over 1024 bytes is refused. 0 with *OLDEST_R and *OPEN_R set, or -1
 * (both left alone).
 */
#ifndef FEDMIG_MSTATUS_H
#define FEDMIG_MSTATUS_H

#include <stddef.h>

#define MSTATUS_MAX 64
#define MSTATUS_VALUE_MAX 999999999999999999LL

size_t mstatus_encode(char *buf, size_t size, long long oldest_us, long long open);
int mstatus_decode(const char *line, size_t len, long long *oldest_r, long long *open_r);

#endif
