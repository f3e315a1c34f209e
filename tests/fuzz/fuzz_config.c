/* libFuzzer: config_parse on arbitrary text must load or explain, never crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	char *err = NULL;
	struct config *cfg;

	memcpy(text, data, size);
	text[size] = '\0';
	cfg = config_parse(text, "fuzz.conf", &err);
	if (cfg == NULL && (err == NULL || *err == '\0'))
		abort();
	config_free(&cfg);
	free(err);
	free(text);
	return 0;
}
