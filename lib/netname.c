#include <string.h>

#include "netname.h"

int net_host_ok(const char *h)
{
	size_t n = strlen(h);

	if (n == 0 || n >= NET_HOST_MAX || *h == '.' || *h == '-')
		return 0;
	return strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == n;
}

int net_port_parse(const char *p, const char *end)
{
	long v = 0;

	if (p == end || end - p > 5)
		return -1;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (*p - '0');
	}
	return v >= 1 && v <= 65535 ? (int)v : -1;
}
