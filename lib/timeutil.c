#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "timeutil.h"

long long time_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

long long time_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

char *time_format_local(long long us, char *buf)
{
	if (us == 0) {
		strcpy(buf, "-");
		return buf;
	}
	time_t t = (time_t)(us / 1000000);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, TIME_BUF, "%Y-%m-%d %H:%M:%S", &tm);
	return buf;
}

int time_parse_local(const char *s, long long now_us, long long *us_r)
{
	if (strcmp(s, "now") == 0) {
		*us_r = now_us;
		return 0;
	}
	if (s[0] == '+') {
		long long ms;
		const char *why;

		if (config_parse_time_ms(s + 1, &ms, &why) < 0)
			return -1;
		*us_r = now_us + ms * 1000;
		return 0;
	}
	struct tm tm;
	int y, mo, d, h, mi, sec = 0, n = 0;
	char sep;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2d%c%2d:%2d%n", &y, &mo, &d, &sep, &h, &mi, &n) != 6)
		return -1;
	if (sep != ' ' && sep != 'T')
		return -1;
	const char *rest = s + n;

	if (*rest == ':') {
		int m2 = 0;

		if (sscanf(rest, ":%2d%n", &sec, &m2) != 1)
			return -1;
		rest += m2;
	}
	int utc = 0;

	if (strcmp(rest, "Z") == 0)
		utc = 1;
	else if (*rest != '\0')
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || y < 1970)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	tm.tm_isdst = -1;
	time_t t = utc ? timegm(&tm) : mktime(&tm);

	if (t == (time_t)-1)
		return -1;
	*us_r = (long long)t * 1000000;
	return 0;
}

void time_sleep_us(long long us)
{
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};

	while (us > 0 && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}
