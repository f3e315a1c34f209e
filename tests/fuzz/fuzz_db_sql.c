/* libFuzzer: the ?N rewriter and the postgresql:// URL parser (lib/db.h).
 * The first byte picks which; the rest is the input, NUL-terminated. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in;
	const char *err = NULL;
	int n = -1;

	if (size < 1)
		return 0;
	in = malloc(size);
	memcpy(in, data + 1, size - 1);
	in[size - 1] = '\0';
	if (data[0] & 1) {
		struct db_url u;
		char why[256];

		if (db_url_parse(in, &u, why, sizeof(why)) == 0 &&
		    (strchr(u.host, '/') || strchr(u.dbname, '?') || strchr(u.user, ':') ||
		     (u.port[0] && (atoi(u.port) < 1 || atoi(u.port) > 65535))))
			abort();
	} else {
		char *out = db_rewrite_params(in, &n, &err);

		/* Every ? outside quotes became $: the output has no more ? than
		 * the input, and a refusal always says why. */
		if (out == NULL ? err == NULL : (n < 0 || n > DB_MAX_PARAMS))
			abort();
		free(out);
	}
	free(in);
	return 0;
}
