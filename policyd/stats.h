/*
 * stats - fedmig-policyd's lookup latency: each answer timed from its
 * request fully read to its answer queued (CLOCK_MONOTONIC, two
 * clock_gettime per request), counted per kind in fixed buckets
 * (lib/lookup_stats.h), and written to run_directory/policyd.stats every
 * PSTATS_PERIOD_S seconds from the daemon's one-second tick and at exit,
 * for fedmig-apid's /metrics. No thread, no store write per lookup.
 *
 * pstats_now(): a start time for pstats_done().
 * pstats_done(): one answer of KIND begun at T0; ERROR: a TEMP/PERM one.
 * pstats_tick(): write the file when PSTATS_PERIOD_S have passed since the
 *   last write (NOW: the loop's time), into DIR (the run_directory).
 * pstats_flush(): write it now (at exit). A failed write is logged once
 *   until a write succeeds again; lookups are never affected.
 */
#ifndef FEDMIG_POLICYD_STATS_H
#define FEDMIG_POLICYD_STATS_H

#include <time.h>

#include "lookup_stats.h"

#define PSTATS_PERIOD_S 5.0

struct pstats {
	struct lookup_stats st;
	double last_write; /* loop time, 0: never */
	int failing;	   /* the last write failed (logged) */
};

struct timespec pstats_now(void);
void pstats_done(struct pstats *ps, enum lookup_kind kind, const struct timespec *t0, int error);
void pstats_tick(struct pstats *ps, const char *dir, double now);
void pstats_flush(struct pstats *ps, const char *dir);

#endif
