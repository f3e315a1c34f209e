/* libFuzzer: addr_normalize on arbitrary bytes, strict (admin) and
 * ADDR_INTERNAL (Postfix) readings. A canonical address must read back as
 * itself with ADDR_INTERNAL, hold no byte a line- or field-based file
 * could split on but those a quoted local part allows, and be accepted
 * strictly exactly when its local part is a dot-atom; addr_show must never
 * pass a control byte or overflow. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *out, int flags)
{
	char again[ADDR_MAX];
	const char *why;

	if (addr_normalize(out, strlen(out), flags | ADDR_INTERNAL, again, &why) != 0 ||
	    strcmp(out, again) != 0)
		abort();
	for (const unsigned char *p = (const unsigned char *)out; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\')
			abort();
	if ((addr_normalize(out, strlen(out), flags & ~ADDR_INTERNAL, again, &why) == 0) !=
	    addr_local_is_atom(out))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[ADDR_MAX], shown[64];
	const char *why;

	if (addr_normalize((const char *)data, size, ADDR_FOLD_LOCAL, out, &why) == 0)
		check(out, ADDR_FOLD_LOCAL);
	if (addr_normalize((const char *)data, size, ADDR_INTERNAL, out, &why) == 0)
		check(out, 0);
	addr_show((const char *)data, size, shown, sizeof(shown));
	if (strlen(shown) >= sizeof(shown))
		abort();
	for (const unsigned char *p = (const unsigned char *)shown; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			abort();
	return 0;
}
