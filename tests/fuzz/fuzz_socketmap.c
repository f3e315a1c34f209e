/*
 * fuzz_socketmap - the netstring decoder fed arbitrary bytes in chunks
 * whose sizes come from the input itself; each complete netstring answered
 * as a socketmap request with a fake directory, the reply re-encoded.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../../policyd/decide.h"
#include "../../policyd/netstring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fake_rewrite(void *ctx, const char *addr, char out[ADDR_MAX])
{
	snprintf(out, ADDR_MAX, "%s", addr);
	return (addr[0] % 3) - 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const domains[] = {"example.org"};
	struct decide_conf c = {domains, 1, ADDR_FOLD_LOCAL, 0, 0, "virtual", "+-"};
	struct netstring_dec *d;
	size_t off = 0, used, n;
	unsigned seed;

	if (size < 1)
		return 0;
	seed = data[0];
	data++, size--;
	d = netstring_dec_new(512);
	while (off < size) {
		size_t chunk = 1 + (seed = seed * 1103515245u + 12345u) % 64;
		enum ns_status st;

		if (chunk > size - off)
			chunk = size - off;
		st = netstring_dec_feed(d, (const char *)data + off, chunk, &used);
		if (used > chunk)
			__builtin_trap();
		off += used;
		if (st == NS_ERROR)
			break;
		if (st == NS_DONE) {
			const char *req = netstring_dec_data(d, &n);
			char reply[DECIDE_ACTION_MAX], frame[DECIDE_ACTION_MAX + 32];

			decide_socketmap(&c, req, n, fake_rewrite, NULL, reply, sizeof(reply));
			if (netstring_encode(frame, sizeof(frame), reply, strlen(reply)) >=
			    sizeof(frame))
				__builtin_trap();
		}
	}
	netstring_dec_free(&d);
	return 0;
}
