/*
 * drv_imap - the IMAP driver (see driver.h) on a connection that imap.c
 * opened and logged in. The driver does not own the connection: the
 * caller frees the driver (ops->free) before it closes the connection.
 * The driver's handler is the connection's while its operations run;
 * code that sets its own handler on the connection must not interleave
 * its commands with the driver's pending operations.
 */
#ifndef FEDMIG_SMD_DRV_IMAP_H
#define FEDMIG_SMD_DRV_IMAP_H

#include "driver.h"
#include "imap.h"

struct drv *drv_imap_new(struct imap_conn *c);

#endif
