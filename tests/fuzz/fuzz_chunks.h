/*
 * fuzz_chunks - feed a fuzz input to an incremental parser in chunks whose
 * sizes (1 to 64 bytes) come from the input's first byte, so that one
 * input explores the splits a peer's writes could make. Header-only: each
 * fuzz target stays a single file.
 *
 * FEED gets the next chunk and says in *USED_R how much of it it took
 * (the rest comes again, with more behind it); it returns 0 to go on, -1
 * to stop (the parser is in error). Taking more than it was given is a
 * finding (the target traps).
 */
#ifndef FEDMIG_FUZZ_CHUNKS_H
#define FEDMIG_FUZZ_CHUNKS_H

#include <stddef.h>
#include <stdint.h>

typedef int fuzz_feed_fn(void *ctx, const char *chunk, size_t len, size_t *used_r);

static inline void fuzz_chunks(const uint8_t *data, size_t size, fuzz_feed_fn *feed, void *ctx)
{
	size_t off = 0, used, chunk;
	unsigned seed;
	int rc;

	if (size < 1)
		return;
	seed = data[0];
	data++, size--;
	while (off < size) {
		chunk = 1 + (seed = seed * 1103515245u + 12345u) % 64;
		if (chunk > size - off)
			chunk = size - off;
		used = 0;
		rc = feed(ctx, (const char *)data + off, chunk, &used);
		if (used > chunk)
			__builtin_trap();
		off += used;
		if (rc < 0)
			break;
	}
}

#endif
