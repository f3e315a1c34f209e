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
#include "fuzz_chunks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fake_lookup(void *ctx, const char *addr, struct dir_entry *r)
{
	memset(r, 0, sizeof(*r));
	r->held = addr[0] & 1;
	r->match = (enum dir_match)(addr[0] & 3);
	return (addr[0] % 3) - 1; /* STORE_ERR, STORE_OK or STORE_NOTFOUND */
}

static int feed(void *ctx, const char *chunk, size_t len, size_t *used_r)
{
	static const char *const domains[] = {"example.org"};
	static const struct decide_conf c = {domains, 1, ADDR_FOLD_LOCAL, 0, 1, "virtual", "+-"};
	struct policy_parser *p = ctx;
	enum policy_status st = policy_parser_feed(p, chunk, len, used_r);
	size_t n;

	if (st == POLICY_ERROR)
		return -1;
	if (st == POLICY_REQUEST) {
		const struct policy_attr *a = policy_request_attrs(p, &n);
		struct decision d;

		decide_policy(&c, a, n, fake_lookup, NULL, &d);
		if (strchr(d.action, '\n') != NULL)
			__builtin_trap();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_parser *p;

	if (size < 1)
		return 0;
	p = policy_parser_new(256, 10);
	fuzz_chunks(data, size, feed, p);
	policy_parser_free(&p);
	return 0;
}
