#include "backoff.h"

long long backoff_delay_us(long long first_us, int attempt, long long cap_us)
{
	long long d;

	if (first_us <= 0 || cap_us <= 0)
		return 0;
	d = first_us < cap_us ? first_us : cap_us;
	/* Compare before doubling: no overflow, and at most 63 rounds. */
	for (int i = 1; i < attempt && d < cap_us; i++)
		d = d > cap_us / 2 ? cap_us : d * 2;
	return d;
}
