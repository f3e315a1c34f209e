/* libFuzzer: the CSV parser, fed in chunks whose sizes come from the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct csv *c;
	size_t off = 1, used;
	size_t chunk;
	enum csv_status st;

	if (size < 1)
		return 0;
	chunk = (size_t)(data[0] % 17) + 1;
	c = csv_new(128, 16);
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;

		st = csv_next(c, (const char *)data + off, n, &used);
		if (used > n)
			abort();
		off += used;
		if (st == CSV_RECORD)
			for (size_t i = 0; i < csv_nfields(c); i++) {
				size_t len;
				const char *f = csv_field(c, i, &len);

				if (strlen(f) != len || len > 128)
					abort();
			}
	}
	while ((st = csv_finish(c)) != CSV_MORE)
		;
	csv_free(&c);
	return 0;
}
