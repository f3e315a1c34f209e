/*
 * libFuzzer: a calendar object resource as read from a source server,
 * through pim_item_make (libical, VTIMEZONE, RECURRENCE-ID), pim_hash and
 * pim_uid. What pim_item_make writes must parse again and hash as it says.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pim_item.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct pim_target t = {0, 0};
	struct pim_item it;
	unsigned char h[32];
	char *err = NULL, *uid;

	(void)pim_hash(PIM_CAL, (const char *)data, size, h);
	free(pim_uid(PIM_CAL, (const char *)data, size));
	if (pim_item_make(PIM_CAL, (const char *)data, size, &t, &it, &err) == 0) {
		if (pim_hash(PIM_CAL, it.text, it.len, h) != 0 || memcmp(h, it.hash, 32) != 0)
			abort(); /* what we write must read back the same */
		uid = pim_uid(PIM_CAL, it.text, it.len);
		if (!uid || strcmp(uid, it.uid) != 0)
			abort();
		free(uid);
		pim_item_free(&it);
	} else {
		free(err);
	}
	return 0;
}
