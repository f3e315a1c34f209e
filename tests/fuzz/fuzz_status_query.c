/* libFuzzer: the query of GET /status.json and the viewer's Basic
 * credential (apid_status.h): any bytes parse or are refused (the query
 * with a reason), and what parses is in range. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apid_status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct status_query q;
	const char *why = NULL;
	char name[VIEWER_NAME_MAX], secret[STATUS_SECRET_LEN + 1];
	char *h = malloc(size + 1);

	if (h == NULL)
		return 0;
	memcpy(h, data, size);
	h[size] = '\0';
	if (status_basic_parse(h, name, secret) == 0 &&
	    (!viewer_name_ok(name) || strlen(secret) != STATUS_SECRET_LEN))
		abort();
	free(h);

	status_query_init(&q);
	if (status_query_parse(&q, (const char *)data, size, &why) < 0) {
		if (why == NULL)
			abort();
		return 0;
	}
	if (q.page < 0 || q.page > STATUS_PAGE_MAX || q.per_page < 1 ||
	    q.per_page > STATUS_PER_PAGE_MAX || q.batch < 0 || q.since < 0 || q.request < 0 ||
	    strlen(q.search) > STATUS_SEARCH_MAX)
		abort();
	for (const char *p = q.search; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			abort();
	return 0;
}
