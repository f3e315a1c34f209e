/*
 * ctl_directory - fedmigctl directory commands.
 */
#include <stddef.h>

#include "ctl.h"

const struct ctl_cmd ctl_directory_cmds[] = {
	{NULL, NULL, NULL, NULL},
};
