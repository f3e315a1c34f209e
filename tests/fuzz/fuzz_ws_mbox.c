/* libFuzzer: the workstation's mbox reader, fed in chunks whose sizes
 * come from the input (fuzz_chunks.h) in mboxo, mboxrd and one-message
 * modes. Checks: the same messages as fed whole; sizes add up; the
 * flags and the key of every message are printable and bounded. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_chunks.h"
#include "ws_mbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct sum {
	unsigned long long n, bytes;
	unsigned char x[32]; /* the XOR of every message's SHA-256 */
};

static int on_msg(void *ctx, const struct ws_msg *m)
{
	struct sum *s = ctx;
	char flags[WS_KW_MAX + 128], key[WS_KEY_MAX + 1];
	size_t i;

	s->n++;
	s->bytes += m->size;
	for (i = 0; i < 32; i++)
		s->x[i] ^= m->sha256[i];
	ws_msg_flags(m, flags, sizeof(flags));
	for (i = 0; flags[i]; i++)
		if ((unsigned char)flags[i] <= 0x20 && flags[i] != ' ')
			abort();
	if (ws_msg_key("Inbox", NULL, m, key, sizeof(key)) < 0 || strlen(key) > WS_KEY_MAX)
		abort();
	return 0;
}

static int feed(void *ctx, const char *chunk, size_t len, size_t *used_r)
{
	*used_r = len;
	return ws_mbox_feed(ctx, chunk, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum ws_mbox_kind kinds[] = {WS_MBOXO, WS_MBOXRD, WS_ONE};
	struct ws_mbox_stats st1, st2;
	struct sum a, b;
	struct ws_mbox *m;
	size_t k;

	if (size < 1)
		return 0;
	for (k = 0; k < 3; k++) {
		memset(&a, 0, sizeof(a));
		memset(&b, 0, sizeof(b));
		m = ws_mbox_new(kinds[k], on_msg, &a);
		ws_mbox_feed(m, (const char *)data + 1, size - 1);
		ws_mbox_finish(m, &st1);
		ws_mbox_free(&m);
		m = ws_mbox_new(kinds[k], on_msg, &b);
		fuzz_chunks(data, size, feed, m);
		ws_mbox_finish(m, &st2);
		ws_mbox_free(&m);
		if (a.n != b.n || a.bytes != b.bytes || memcmp(a.x, b.x, 32) != 0 ||
		    st1.skipped != st2.skipped || st1.bytes + st1.skipped > size - 1 ||
		    (kinds[k] == WS_ONE && (a.n != 1 || a.bytes != size - 1)))
			abort();
	}
	return 0;
}
