/* libFuzzer: the workstation agent's reader of POST /v1/ws/next answers:
 * whatever it accepts is fit for prefs.js and an IMAP/SMTP URL. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "ws_conf.h"
#include "ws_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ws_next r;
	char *err = NULL;
	size_t i;

	if (ws_parse_next((const char *)data, size, &r, &err) != 0) {
		if (err == NULL)
			abort();
		free(err);
		return 0;
	}
	if (r.retry_ms < 1000 || r.retry_ms > 60000 || !ap_text_ok(r.folder_root, 1023))
		abort();
	if (r.step != WS_STEP_NONE && r.request < 1)
		abort();
	if (!r.has_endpoints)
		return 0;
	for (i = 0; i < r.n_old_imap; i++)
		if (!net_host_ok(r.old_imap[i]))
			abort();
	if (!net_host_ok(r.imap_host) || r.imap_port < 1 || r.imap_port > 65535 ||
	    (r.smtp_host[0] != '\0' && !net_host_ok(r.smtp_host)) ||
	    !ap_text_ok(r.new_user, WS_USER_MAX) || !ap_text_ok(r.old_user, WS_USER_MAX))
		abort();
	return 0;
}
