/*
 * timeutil - instants as microseconds since the epoch (UTC in the store),
 * shown and read in the administrator's local zone.
 *
 * Contract: time_now_us() is the wall clock. time_format_local() writes
 * "YYYY-MM-DD HH:MM:SS" (local zone) into BUF of TIME_BUF bytes and returns
 * BUF; 0 prints "-". time_parse_local() accepts "now", "+N[smhd]",
 * "YYYY-MM-DD HH:MM[:SS]", "YYYY-MM-DDTHH:MM[:SS]" in local time, or with
 * a trailing "Z" in UTC; 0 on success, -1 otherwise.
 */
#ifndef FEDMIG_TIMEUTIL_H
#define FEDMIG_TIMEUTIL_H

#define TIME_BUF 32

long long time_now_us(void);
long long time_mono_us(void);
/* time_sleep_us: sleep US microseconds (resumed after signals; nothing if <= 0). */
void time_sleep_us(long long us);
char *time_format_local(long long us, char *buf);
int time_parse_local(const char *s, long long now_us, long long *us_r);

#endif
