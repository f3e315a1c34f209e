/* libFuzzer: the milter's status line. Whatever the decoder takes, the
 * encoder writes back as a line the decoder takes with the same values. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mstatus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	long long oldest = -1, open = -1, o2, n2;
	char line[MSTATUS_MAX];
	size_t len;

	if (mstatus_decode((const char *)data, size, &oldest, &open) < 0)
		return 0;
	if (oldest < 0 || open < 0 || oldest > MSTATUS_VALUE_MAX || open > MSTATUS_VALUE_MAX)
		abort();
	len = mstatus_encode(line, sizeof(line), oldest, open);
	if (len == 0 || len != strlen(line) || line[len - 1] != '\n')
		abort();
	if (mstatus_decode(line, len, &o2, &n2) < 0 || o2 != oldest || n2 != open)
		abort();
	return 0;
}
