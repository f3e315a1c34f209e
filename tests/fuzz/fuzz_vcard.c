/*
 * libFuzzer: a contact as read from a source server (fuzz_pim.h: parse,
 * 2.1/3.0/4.0 conversion, photo limit, hash, UID). The first byte picks
 * the target: vCard version and a photo limit.
 */
#include <stdint.h>

#include "fuzz_pim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int versions[] = {0, 30, 40, 30};
	struct pim_target t;

	if (size < 1)
		return 0;
	t.vcard_version = versions[data[0] & 3];
	t.max_photo = data[0] & 4 ? 64 : 0;
	fuzz_pim(PIM_CARD, &t, (const char *)data + 1, size - 1);
	return 0;
}
