/*
 * config_check - what a configuration that parses can still lack: the
 * settings a system's provisioning driver needs at run time. config_load()
 * checks each key on its own; this checks keys against each other, so an
 * incomplete file is refused at "-n", "fedmigctl check" and fedmig-spm's
 * start instead of failing every request a second after its submission.
 *
 * Per system in $systems:
 *   NAME_driver = exec (the default): NAME_driver_command set, an
 *     absolute path, and if it exists, executable;
 *   NAME_driver = dovecot: NAME_passwd_file set, and its directory exists
 *     (the driver creates NAME_passwd_file and NAME_passwd_file.addresses);
 *   NAME_driver = none: nothing;
 *   NAME_transport, if set: Postfix's TRANSPORT:NEXTHOP form.
 * These mirror what spm/driver.c reads; a driver that reads a new key
 * adds its rule here.
 *
 * Contract: returns 0 when nothing is missing; otherwise -1 and *err_r
 * set to one "FILE: system NAME: ..." line per problem, each naming the
 * key to set (caller frees). Reads the file system (stat, access) only.
 */
#ifndef FEDMIG_CONFIG_CHECK_H
#define FEDMIG_CONFIG_CHECK_H

#include "config.h"

int config_check(const struct config *cfg, char **err_r);

#endif
