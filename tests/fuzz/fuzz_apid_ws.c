/* libFuzzer: fedmig-apid's workstation bodies (apid_ws_json.h): the
 * next and report parsers on whatever object the input is; a refusal
 * always says why, an accepted report is within its bounds and its data
 * JSON fits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apid_json.h"
#include "apid_ws_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ws_report_in r;
	char version[16], buf[WS_DATA_MAX];
	const char *why = NULL;
	json_t *o = apid_json_load((const char *)data, size, &why);

	if (o == NULL) {
		if (why == NULL)
			abort();
		return 0;
	}
	why = NULL;
	if (apid_ws_parse_next(o, version, &why) < 0 && why == NULL)
		abort();
	why = NULL;
	if (apid_ws_parse_report(o, &r, &why) < 0) {
		if (why == NULL)
			abort();
	} else {
		if (r.request <= 0 || strlen(r.detail) > 400 || r.bytes > WS_COUNT_MAX)
			abort();
		apid_ws_data(&r, buf);
		if (strlen(buf) >= WS_DATA_MAX - 1)
			abort();
	}
	json_decref(o);
	return 0;
}
