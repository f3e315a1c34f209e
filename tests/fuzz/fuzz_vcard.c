/*
 * libFuzzer: a contact as read from a source server, through pim_item_make
 * (parse, 2.1/3.0/4.0 conversion, photo limit), pim_hash and pim_uid. The
 * first byte picks the target: vCard version and a photo limit. What
 * pim_item_make writes must parse again and hash as it says.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pim_item.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int versions[] = {0, 30, 40, 30};
	struct pim_target t;
	struct pim_item it;
	unsigned char h[32];
	char *err = NULL, *uid;

	if (size < 1)
		return 0;
	t.vcard_version = versions[data[0] & 3];
	t.max_photo = data[0] & 4 ? 64 : 0;
	data++, size--;
	(void)pim_hash(PIM_CARD, (const char *)data, size, h);
	free(pim_uid(PIM_CARD, (const char *)data, size));
	if (pim_item_make(PIM_CARD, (const char *)data, size, &t, &it, &err) == 0) {
		if (pim_hash(PIM_CARD, it.text, it.len, h) != 0 || memcmp(h, it.hash, 32) != 0)
			abort(); /* what we write must read back the same */
		uid = pim_uid(PIM_CARD, it.text, it.len);
		if (!uid || strcmp(uid, it.uid) != 0)
			abort();
		free(uid);
		pim_item_free(&it);
	} else {
		free(err);
	}
	return 0;
}
