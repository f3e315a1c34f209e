/*
 * ctl_request - fedmigctl commands for migration requests (submit, import,
 * list, show, cancel, retry, rollback, report).
 */
#include <stddef.h>

#include "ctl.h"

const struct ctl_cmd ctl_request_cmds[] = {
	{NULL, NULL, NULL, NULL},
};
