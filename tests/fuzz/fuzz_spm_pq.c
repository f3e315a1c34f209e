/* postqueue -j lines, as fedmig-spm reads them (the status line: fuzz_mstatus). */
#include <stddef.h>
#include <stdint.h>

#include "pq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sink(void *ctx, const struct pq_msg *m, int line, const char *why)
{
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pq_reader *r = pq_reader_new(sink, NULL);

	pq_feed(r, (const char *)data, size);
	pq_finish(r);
	pq_reader_free(&r);
	return 0;
}
