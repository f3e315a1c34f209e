/* libFuzzer: what fedmig-milter does with what the MTA sends it, one
 * line per RCPT argument (the last line is the {i} macro): canonical
 * recipients joined for held_messages must be the recipients, in order,
 * separated by single tabs (a canonical address may hold a space, never
 * a tab); a queue ID accepted must be plain. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "decide.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char canon[64][ADDR_MAX], qid[64];
	struct rcpt r[64];
	size_t n = 0, start = 0, want = 0;
	const char *why;
	char *joined;

	for (size_t i = 0; i <= size && n < 64; i++) {
		if (i < size && data[i] != '\n')
			continue;
		if (addr_normalize((const char *)data + start, i - start, ADDR_FOLD_LOCAL | ADDR_INTERNAL,
				   canon[n], &why) == 0) {
			r[n].addr = canon[n];
			want += strlen(canon[n]) + (n > 0);
			n++;
		}
		if (i == size || n == 64) {
			size_t l = i - start < sizeof(qid) ? i - start : sizeof(qid) - 1;

			memcpy(qid, data + start, l);
			qid[l] = '\0';
			if (decide_queue_id_ok(qid) && strspn(qid, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
							     "abcdefghijklmnopqrstuvwxyz") != strlen(qid))
				abort();
		}
		start = i + 1;
	}
	joined = decide_join(r, n);
	if (joined == NULL || strlen(joined) != want)
		abort();
	for (size_t i = 0, off = 0; i < n; i++) {
		size_t l = strlen(r[i].addr);

		if (memcmp(joined + off, r[i].addr, l) != 0 || (i + 1 < n && joined[off + l] != '\t'))
			abort();
		off += l + 1;
	}
	free(joined);
	return 0;
}
