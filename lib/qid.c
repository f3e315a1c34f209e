#include <stddef.h>
#include <string.h>

#include "qid.h"

/* MQID_SH_USEC_PAD and one inode digit. */
#define SHORT_MIN 6
/* MQID_LG_TIME_PAD: seconds (6 or more) and microseconds (4). */
#define LONG_TIME_MIN 10

static int short_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/* Postfix's safe alphabet (safe_ultostr.c): digits and letters, no vowel. */
static int safe_char(char c)
{
	if (c >= '0' && c <= '9')
		return 1;
	if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
		return 0;
	return strchr("AEIOUaeiou", c) == NULL;
}

int qid_valid(const char *qid)
{
	size_t n, sep = 0, nshort = 0, nsafe = 0;

	if (qid == NULL)
		return 0;
	for (n = 0; qid[n]; n++) {
		if (n == QID_MAX_LEN)
			return 0;
		nshort += short_char(qid[n]);
		nsafe += safe_char(qid[n]);
		if (qid[n] == 'z')
			sep = n;
	}
	if (nshort == n)
		return n >= SHORT_MIN;
	/* Long: the last 'z' ends the time, an inode number follows. */
	return nsafe == n && qid[sep] == 'z' && sep >= LONG_TIME_MIN && sep + 1 < n;
}
