/*
 * lookup_stats - fedmig-policyd's lookup latency, both ends of the file
 * it keeps in run_directory: fedmig-policyd counts (lookup_stats_record)
 * and writes (lookup_stats_write) every few seconds, fedmig-apid reads
 * (lookup_stats_read) for /metrics. The store is not used: a write per
 * lookup would cost more than the lookup.
 *
 * The file, LOOKUP_STATS_FILE, is "name SP value LF" lines, in exactly
 * this order and nothing else:
 *   version 1
 *   time <seconds since the epoch when written>
 *   then for each kind (socketmap, policy):
 *   <kind>_bucket_<i> <lookups in bucket i>   i = 0 .. LOOKUP_BUCKETS
 *   <kind>_count <lookups>  <kind>_sum_ns <total ns>  <kind>_errors <n>
 * Bucket i < LOOKUP_BUCKETS holds durations <= lookup_bounds_s[i] and
 * over the bound before it; bucket LOOKUP_BUCKETS the rest (not
 * cumulative). Values are 1 to 18 decimal digits, no leading zero; count equals the sum of
 * the buckets, errors are at most count.
 *
 * lookup_stats_encode(): the text of ST into a malloc'd string.
 * lookup_stats_decode(): parse TEXT (LEN bytes, no NUL needed); 0 and *ST
 *   set, or -1 with *WHY_R a static sentence (*ST then undefined).
 * lookup_stats_write(): DIR/LOOKUP_STATS_FILE replaced atomically (a
 *   temporary file made with O_EXCL|O_NOFOLLOW in DIR, mode 0640, then
 *   renamed); 0, or -1 with *ERR_R a malloc'd sentence.
 * lookup_stats_read(): DIR/LOOKUP_STATS_FILE (O_NOFOLLOW, a regular file
 *   of at most LOOKUP_STATS_MAX bytes, decoded as above): 0 and *ST set,
 *   1 when there is no such file, -1 with *ERR_R a malloc'd sentence.
 */
#ifndef FEDMIG_LOOKUP_STATS_H
#define FEDMIG_LOOKUP_STATS_H

#include <stddef.h>

#define LOOKUP_STATS_FILE "policyd.stats"
#define LOOKUP_STATS_MAX 4096
#define LOOKUP_BUCKETS 11
#define LOOKUP_VALUE_MAX 999999999999999999LL

enum lookup_kind { LOOKUP_SOCKETMAP, LOOKUP_POLICY, LOOKUP_KINDS };

extern const double lookup_bounds_s[LOOKUP_BUCKETS];
extern const char *const lookup_kind_name[LOOKUP_KINDS];

struct lookup_hist {
	long long bucket[LOOKUP_BUCKETS + 1];
	long long count, sum_ns, errors;
};

struct lookup_stats {
	long long time;
	struct lookup_hist k[LOOKUP_KINDS];
};

/* lookup_stats_record: one lookup of NS nanoseconds; ERROR: a TEMP/PERM answer. */
void lookup_stats_record(struct lookup_hist *h, long long ns, int error);
char *lookup_stats_encode(const struct lookup_stats *st);
int lookup_stats_decode(const char *text, size_t len, struct lookup_stats *st,
			const char **why_r);
int lookup_stats_write(const char *dir, const struct lookup_stats *st, char **err_r);
int lookup_stats_read(const char *dir, struct lookup_stats *st, char **err_r);

#endif
