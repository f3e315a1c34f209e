/* libFuzzer: fedmig-agent's parsers of the agent API's answers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data;
	struct ap_task tasks[4];
	struct ap_heartbeat hb;
	struct ap_next next;
	struct ap_enrol e;
	struct ap_error er;
	struct ap_put p;
	char *err = NULL;
	size_t n;

	ap_parse_error(d, size, &er);
	if (strlen(er.message) >= sizeof(er.message))
		abort();
	if (ap_parse_next(d, size, &next, &err) == 0) {
		if (next.action == AP_GET_ITEMS && (!ap_text_ok(next.folder, AP_FOLDER_MAX) ||
						    !ap_cursor_ok(next.cursor)))
			abort();
	}
	free(err);
	err = NULL;
	if (ap_parse_poll(d, size, tasks, 4, &n, &err) == 0 && n > 4)
		abort();
	free(err);
	err = NULL;
	if (ap_parse_heartbeat(d, size, &hb, &err) == 0 && hb.ntasks > AP_MAX_TASKS)
		abort();
	free(err);
	err = NULL;
	if (ap_parse_enrol(d, size, &e, &err) == 0 && strlen(e.token) != AP_TOKEN_LEN)
		abort();
	free(err);
	err = NULL;
	ap_parse_put(d, size, &p, &err);
	free(err);
	return 0;
}
