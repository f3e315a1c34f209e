/*
 * drv_imap - the IMAP driver (see driver.h) on a connection that imap.c
 * opened and logged in. The driver owns the connection from then on:
 * ops->free closes it. Nothing else may send on it.
 */
#ifndef FEDMIG_SMD_DRV_IMAP_H
#define FEDMIG_SMD_DRV_IMAP_H

#include "driver.h"
#include "imap.h"

struct drv *drv_imap_new(struct imap_conn *c);

#endif
