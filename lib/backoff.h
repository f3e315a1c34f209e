/*
 * backoff - the delay before the next try of something that failed: the
 * first delay, doubled at each further attempt, never more than a cap.
 * fedmig-spm's failed steps (retry_backoff) and fedmig-smd's failed
 * mailbox copies (smd_retry_delay) wait this long.
 *
 * Contract: backoff_delay_us() is a pure function. ATTEMPT 1 (or less)
 * waits FIRST_US, attempt N waits FIRST_US * 2^(N-1), all of it at most
 * CAP_US; it never overflows. FIRST_US <= 0 is 0.
 */
#ifndef FEDMIG_BACKOFF_H
#define FEDMIG_BACKOFF_H

/* A day: the longest either caller waits between two tries. */
#define BACKOFF_CAP_US (86400LL * 1000000)

long long backoff_delay_us(long long first_us, int attempt, long long cap_us);

#endif
