#include <stdio.h>
#include <string.h>

#include "mstatus.h"

#define LINE_MAX_ 1024
#define DIGITS_MAX 18

size_t mstatus_encode(char *buf, size_t size, long long oldest_us, long long open)
{
	int n;

	if (size > 0)
		buf[0] = '\0';
	if (oldest_us < 0 || oldest_us > MSTATUS_VALUE_MAX || open < 0 || open > MSTATUS_VALUE_MAX)
		return 0;
	n = snprintf(buf, size, "oldest=%lld open=%lld\n", oldest_us, open);
	if (n < 0 || size == 0)
		return 0;
	return (size_t)n < size ? (size_t)n : size - 1;
}

static int decimal(const char *p, size_t n, long long *v_r)
{
	long long v = 0;

	if (n == 0 || n > DIGITS_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	*v_r = v;
	return 0;
}

/* word: the value of the word LINE[START..END) into *V_R if its key is KEY
 * (KLEN bytes, EQ the index of its '='); 1 taken, 0 another key, -1 bad
 * or seen before (*SEEN). */
static int word(const char *line, size_t start, size_t eq, size_t end, const char *key,
		size_t klen, long long *v_r, int *seen)
{
	if (eq - start != klen || memcmp(line + start, key, klen) != 0)
		return 0;
	if (*seen || decimal(line + eq + 1, end - eq - 1, v_r) < 0)
		return -1;
	*seen = 1;
	return 1;
}

int mstatus_decode(const char *line, size_t len, long long *oldest_r, long long *open_r)
{
	int have_oldest = 0, have_open = 0;
	long long oldest = 0, open = 0;
	size_t i = 0;

	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > LINE_MAX_)
		return -1;
	while (i < len) {
		size_t start = i, eq = 0;

		for (; i < len && line[i] != ' '; i++) {
			if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] >= 0x7f)
				return -1;
			if (line[i] == '=' && eq == 0)
				eq = i;
		}
		if (eq == 0 || eq == start ||
		    word(line, start, eq, i, "oldest", 6, &oldest, &have_oldest) < 0 ||
		    word(line, start, eq, i, "open", 4, &open, &have_open) < 0)
			return -1;
		if (i < len)
			i++; /* one space */
		if (i < len && line[i] == ' ')
			return -1;
	}
	if (!have_oldest || !have_open)
		return -1;
	*oldest_r = oldest;
	*open_r = open;
	return 0;
}
