/* libFuzzer: the secrets-file parsers (credentials and user passwords). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "secrets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = {"master_user", "master_password", "a", ""};
	char *v, *err;
	int rc;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		rc = secrets_value((const char *)data, size, "F", keys[i], &v, &err);
		if (rc == 0)
			free(v);
		else if (rc < 0)
			free(err);
		else if (v != NULL)
			abort();
		rc = secrets_user((const char *)data, size, "F", keys[i], &v, &err);
		if (rc == 0) {
			if (memchr(v, '\n', strlen(v)) != NULL)
				abort();
			free(v);
		} else if (rc < 0) {
			free(err);
		}
	}
	return 0;
}
