/*
 * fuzz_policy - the policy protocol parser fed arbitrary bytes in chunks
 * whose sizes come from the input itself; then the decision on each
 * complete request with a fake directory.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../policyd/decide.h"
#include "../../policyd/policy_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fake_lookup(void *ctx, const char *addr, struct dir_entry *r)
{
	memset(r, 0, sizeof(*r));
	r->held = addr[0] & 1;
	r->match = (enum dir_match)(addr[0] & 3);
	return (addr[0] % 3) - 1; /* STORE_ERR, STORE_OK or STORE_NOTFOUND */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const domains[] = {"example.org"};
	struct decide_conf c = {domains, 1, ADDR_FOLD_LOCAL, 0, 1, "virtual", "+-"};
	struct policy_parser *p;
	size_t off = 0, used, n;
	unsigned seed;

	if (size < 1)
		return 0;
	seed = data[0];
	data++, size--;
	p = policy_parser_new(256, 10);
	while (off < size) {
		size_t chunk = 1 + (seed = seed * 1103515245u + 12345u) % 64;
		enum policy_status st;

		if (chunk > size - off)
			chunk = size - off;
		st = policy_parser_feed(p, (const char *)data + off, chunk, &used);
		if (used > chunk)
			__builtin_trap();
		off += used;
		if (st == POLICY_ERROR)
			break;
		if (st == POLICY_REQUEST) {
			const struct policy_attr *a = policy_request_attrs(p, &n);
			struct decision d;

			decide_policy(&c, a, n, fake_lookup, NULL, &d);
			if (strchr(d.action, '\n') != NULL)
				__builtin_trap();
		}
	}
	policy_parser_free(&p);
	return 0;
}
