/* libFuzzer: fedmig-policyd's lookup statistics file, as fedmig-apid
 * reads it. Whatever the decoder takes is consistent, and the encoder
 * writes it back byte for byte (the format has one spelling). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lookup_stats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lookup_stats st;
	const char *why = NULL;
	char *text;

	if (lookup_stats_decode((const char *)data, size, &st, &why) < 0) {
		if (why == NULL)
			abort();
		return 0;
	}
	for (int k = 0; k < LOOKUP_KINDS; k++)
		if (st.k[k].errors > st.k[k].count || st.k[k].count < 0)
			abort();
	text = lookup_stats_encode(&st);
	if (strlen(text) != size || memcmp(text, data, size) != 0)
		abort();
	free(text);
	return 0;
}
