/* libFuzzer: addr_normalize on arbitrary bytes; a result must re-normalize to itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[ADDR_MAX], again[ADDR_MAX];
	const char *why;

	if (addr_normalize((const char *)data, size, ADDR_FOLD_LOCAL, out, &why) == 0) {
		/* Canonical form is stable only for addresses that need no quoting. */
		if (strpbrk(out, " \"\\()<>,;:[]") == NULL && strchr(out, '@') == strrchr(out, '@')) {
			if (addr_normalize(out, strlen(out), ADDR_FOLD_LOCAL, again, &why) != 0 ||
			    strcmp(out, again) != 0)
				abort();
		}
	}
	return 0;
}
