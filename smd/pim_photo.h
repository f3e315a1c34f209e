/*
 * pim_photo - a contact's inline photos kept under the target's size limit:
 * decoded (base64, 3.0 ENCODING=b or 4.0 data: URI), scaled down and
 * re-encoded as JPEG with libgd until they fit; a photo libgd cannot read
 * (or one too large in pixels to decode safely) is dropped. Photos given as
 * a URL are left alone.
 */
#ifndef FEDMIG_PIM_PHOTO_H
#define FEDMIG_PIM_PHOTO_H

#include <stddef.h>

#include "vcard.h"

/* pim_photo_limit: every inline PHOTO of C over MAX decoded bytes shrunk to
 * at most MAX, or dropped; each change appended to FIXES ("PHOTO shrunk
 * 2097152 -> 262144 bytes", "PHOTO dropped: ..."). MAX 0: nothing done. */
void pim_photo_limit(struct vcard *c, size_t max, struct vc_buf *fixes);

/* pim_b64_decode: base64 S (N bytes, white space ignored) decoded, malloc'd,
 * *LEN_R its length; NULL when S is not base64. */
unsigned char *pim_b64_decode(const char *s, size_t n, size_t *len_r);

#endif
