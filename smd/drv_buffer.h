/*
 * drv_buffer - a read-only source driver (driver.h) over a request's
 * agent data buffer: the folders and items fedmig-agent uploaded
 * (store_buffer.h) and the spool files fedmig-apid wrote them to. Every
 * folder has UIDVALIDITY 1; a message's UID is its buffer UID.
 *
 * Contract: operations run in the order they were started, each when
 * poll() or wait() reaches it; a fetch streams each body from its batch
 * file in chunks (never a whole message in memory) and fails the driver,
 * before the body's last chunk is given, when the bytes do not hash to
 * the item's SHA-256. A batch path is used only as "REQ/SEQ.batch" under
 * SPOOL_DIR (REQ this request), opened without following a symbolic
 * link at any step. Writing operations fail the driver ("read-only").
 * The store handle is the caller's and must outlive the driver.
 */
#ifndef FEDMIG_SMD_DRV_BUFFER_H
#define FEDMIG_SMD_DRV_BUFFER_H

#include "driver.h"
#include "store.h"

/* drv_buffer_new: the driver, or NULL with *err_r (caller frees). */
struct drv *drv_buffer_new(struct store *s, long long request_id, const char *spool_dir,
			   char **err_r);
/* drv_buffer_path_ok: PATH is "REQUEST_ID/DIGITS.batch". */
int drv_buffer_path_ok(const char *path, long long request_id);

#endif
