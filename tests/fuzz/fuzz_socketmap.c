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
#include "fuzz_chunks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fake_rewrite(void *ctx, const char *addr, char out[ADDR_MAX])
{
	snprintf(out, ADDR_MAX, "%s", addr);
	return (addr[0] % 3) - 1;
}

static int feed(void *ctx, const char *chunk, size_t len, size_t *used_r)
{
	static const char *const domains[] = {"example.org"};
	static const struct decide_conf c = {domains, 1, ADDR_FOLD_LOCAL, 0, 0, "virtual", "+-"};
	struct netstring_dec *d = ctx;
	enum ns_status st = netstring_dec_feed(d, chunk, len, used_r);
	size_t n;

	if (st == NS_ERROR)
		return -1;
	if (st == NS_DONE) {
		const char *req = netstring_dec_data(d, &n);
		char reply[DECIDE_ACTION_MAX], frame[DECIDE_ACTION_MAX + 32];

		decide_socketmap(&c, req, n, fake_rewrite, NULL, reply, sizeof(reply));
		if (netstring_encode(frame, sizeof(frame), reply, strlen(reply)) >= sizeof(frame))
			__builtin_trap();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct netstring_dec *d;

	if (size < 1)
		return 0;
	d = netstring_dec_new(512);
	fuzz_chunks(data, size, feed, d);
	netstring_dec_free(&d);
	return 0;
}
