/*
 * fnv - FNV-1a, 64 bits, of a NUL-terminated string: a stable, spread
 * number for a name (a lock's byte offset, an advisory lock's key, a
 * lock file's name). Not a defence against chosen input: callers use it
 * only where a collision costs a wait, never data.
 */
#ifndef FEDMIG_FNV_H
#define FEDMIG_FNV_H

#include <stdint.h>

static inline uint64_t fnv1a64(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	return h;
}

#endif
