/*
 * nofile - fedmig-policyd's connection limits fitted to RLIMIT_NOFILE
 * (contract in nofile.h).
 */
#include <sys/resource.h>

#include "log.h"
#include "nofile.h"

/*
 * nofile_fit: the limits of both services plus the listeners and the
 * store must fit under RLIMIT_NOFILE; raise the soft limit to what they
 * need (up to the hard limit), or lower the limits to what fits.
 */
void nofile_fit(long long *policy_max, long long *socketmap_max)
{
	long long *max[2] = {policy_max, socketmap_max};
	struct rlimit rl;
	rlim_t want = (rlim_t)(*max[0] + *max[1] + 64);

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < want) {
		long long room = (long long)rl.rlim_cur - 64;

		if (room < 2)
			room = 2;
		for (int i = 0; i < 2; i++)
			if (*max[i] > room / 2)
				*max[i] = room / 2;
		log_warn("open files limit %llu is too low for policy_max_connections + "
			 "socketmap_max_connections: serving at most %lld and %lld",
			 (unsigned long long)rl.rlim_cur, *max[0], *max[1]);
	}
}
