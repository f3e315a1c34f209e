/*
 * libFuzzer: a calendar object resource as read from a source server
 * (fuzz_pim.h: libical, VTIMEZONE, RECURRENCE-ID, hash, UID).
 */
#include <stdint.h>

#include "fuzz_pim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct pim_target t = {0, 0};

	fuzz_pim(PIM_CAL, &t, (const char *)data, size);
	return 0;
}
