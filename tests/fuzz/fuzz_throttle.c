/* libFuzzer: the throttling classification of a login's refusal: the
 * response code a source sends (any bytes, not terminated) and the error
 * text our client builds around a server's words. A back-off is only
 * ever for the codes LIMIT and UNAVAILABLE. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "throttle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int starts(const uint8_t *d, size_t n, const char *name)
{
	size_t k = strlen(name);

	return n >= k && strncasecmp((const char *)d, name, k) == 0 && (n == k || d[k] == ' ');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exactly SIZE bytes: a read past them is ASan's to catch. */
	char *code = malloc(size ? size : 1);

	memcpy(code, data, size);
	int c = throttle_code_class(code, size);

	if (c != THR_FAIL && c != THR_BACKOFF)
		abort();
	if ((c == THR_BACKOFF) != (starts(data, size, "LIMIT") || starts(data, size, "UNAVAILABLE")))
		abort();
	free(code);
	char *text = malloc(size + 1);

	memcpy(text, data, size);
	text[size] = '\0';
	c = throttle_conn_class(text);
	if (c != THR_FAIL && c != THR_BACKOFF)
		abort();
	free(text);
	return 0;
}
