/*
 * stats - fedmig-policyd's lookup latency counters and their file
 * (contract in stats.h).
 */
#include <stdlib.h>
#include <time.h>

#include "log.h"
#include "stats.h"

struct timespec pstats_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t;
}

void pstats_done(struct pstats *ps, enum lookup_kind kind, const struct timespec *t0, int error)
{
	struct timespec t1 = pstats_now();
	long long ns = (long long)(t1.tv_sec - t0->tv_sec) * 1000000000LL + (t1.tv_nsec - t0->tv_nsec);

	lookup_stats_record(&ps->st.k[kind], ns, error);
}

void pstats_flush(struct pstats *ps, const char *dir)
{
	char *err = NULL;

	ps->st.time = (long long)time(NULL);
	if (lookup_stats_write(dir, &ps->st, &err) < 0) {
		if (!ps->failing)
			log_warn("lookup statistics for /metrics not written (again logged only once it "
				 "works): %s",
				 err);
		ps->failing = 1;
		free(err);
		return;
	}
	if (ps->failing)
		log_info("lookup statistics written again to %s/%s", dir, LOOKUP_STATS_FILE);
	ps->failing = 0;
}

void pstats_tick(struct pstats *ps, const char *dir, double now)
{
	if (ps->last_write > 0 && now - ps->last_write < PSTATS_PERIOD_S)
		return;
	ps->last_write = now;
	pstats_flush(ps, dir);
}
