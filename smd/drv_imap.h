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

/*
 * drv_imap_borrow: D's connection for a few commands of the caller's own
 * (smd/delta.h) while no operation of D is pending, else NULL (also when
 * D is not an IMAP driver). The driver sets its handler again on its
 * next operation.
 */
struct imap_conn *drv_imap_borrow(struct drv *d);

#endif
