/* libFuzzer: fedmig-apid's upload framing (apid_frame.h), fed in chunks.
 * Whatever the body, the parser never takes more than it is given, never
 * hands out more body bytes than the headers announced, and an accepted
 * body ends between two items. */
#include <stdint.h>
#include <stdlib.h>

#include "apid_frame.h"
#include "fuzz_chunks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	struct apid_frame *f;
	long long announced, handed;
};

static int feed(void *ctx, const char *chunk, size_t len, size_t *used_r)
{
	struct run *r = ctx;
	enum apid_frame_rc rc;
	size_t used;

	*used_r = 0;
	do {
		const char *d = NULL;
		size_t dl = 0;

		rc = apid_frame_feed(r->f, chunk + *used_r, len - *used_r, &used, &d, &dl);
		if (used > len - *used_r)
			abort();
		*used_r += used;
		if (rc == FRAME_ITEM)
			r->announced += apid_frame_item(r->f)->size;
		if (rc == FRAME_DATA)
			r->handed += (long long)dl;
		if (r->handed > r->announced)
			abort();
	} while (rc != FRAME_MORE && rc != FRAME_BAD);
	return rc == FRAME_BAD ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct apid_frame_limits lim = {4096, 64, 65536};
	struct run r = {apid_frame_new(&lim), 0, 0};

	fuzz_chunks(data, size, feed, &r);
	if (apid_frame_finish(r.f) == FRAME_END && r.handed != r.announced)
		abort();
	apid_frame_free(&r.f);
	return 0;
}
