/* libFuzzer: fedmig-apid's JSON request bodies (apid_json.h): every
 * parser on whatever object the input is; a refusal always says why. */
#include <stdint.h>
#include <stdlib.h>

#include "apid_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char code[APID_CODE_MAX], reason[AGENT_REASON_MAX], cursor[AGENT_CURSOR_MAX];
	struct apid_heartbeat hb;
	struct agent_folder *f = NULL;
	const char *why = NULL;
	long long n;
	int a, b;
	size_t nf;
	json_t *o = apid_json_load((const char *)data, size, &why), *res;

	if (o == NULL) {
		if (why == NULL)
			abort();
		return 0;
	}
	if (apid_parse_enrol(o, code, &why) < 0 && why == NULL)
		abort();
	if (apid_parse_poll(o, &a, &n, &why) == 0 && (a < 0 || a > APID_SLOTS_MAX))
		abort();
	if (apid_parse_heartbeat(o, &hb, &why) == 0 && hb.ntasks > APID_SLOTS_MAX)
		abort();
	if (apid_parse_next(o, &n, &res, &why) == 0 && n < 0)
		abort();
	apid_result_test(o, &a, &b, reason, &why);
	apid_result_items(o, &n, cursor, &a, &why);
	if (apid_result_list(o, &f, &nf, &why) == 0)
		for (size_t i = 0; i < nf; i++)
			if (!apid_folder_ok(f[i].name))
				abort();
	free(f);
	json_decref(o);
	return 0;
}
