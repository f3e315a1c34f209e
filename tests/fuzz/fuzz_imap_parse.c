/*
 * libFuzzer: the IMAP response reader (chunked), and on each response the
 * FETCH parser and the tokenizer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_literal(void *ctx, const char *text, size_t len, uint64_t size)
{
	(void)ctx;
	(void)size;
	return len % 2 ? IMAP_LIT_STREAM : IMAP_LIT_INLINE;
}

static int on_data(void *ctx, const char *d, size_t n, int end)
{
	(void)ctx;
	(void)end;
	if (n && d[0] == 0x7f && d[n - 1] == 0x7f)
		return -1;
	return 0;
}

static int on_response(void *ctx, const char *text, size_t len)
{
	struct imap_tok t;
	const char *a;
	size_t al, n;
	char buf[256];
	int nil;
	unsigned long long num;

	struct imap_fetch f;

	(void)ctx;
	if (imap_fetch_parse(text, len, &f) == 1 && f.has_flags && f.flags_len > len)
		abort(); /* the flags must lie inside the response */
	if (len < 64) {
		char date[64], missing[16], extra[16];
		long long ts;

		memcpy(date, text, len);
		date[len] = '\0';
		(void)imap_date_parse(date, &ts);
		(void)imap_flags_diff(text, len, text + len / 2, len - len / 2, missing, extra,
				      sizeof(missing));
	}
	imap_tok_init(&t, text, len);
	while (!imap_tok_eof(&t)) {
		if (imap_tok_skip(&t) == 0 || imap_tok_string(&t, buf, sizeof(buf), &n, &nil) == 0 ||
		    imap_tok_number(&t, &num) == 0 || imap_tok_atom(&t, &a, &al) == 0 ||
		    imap_tok_sp(&t) == 0)
			continue;
		t.p++;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct imap_parser_cb cb = {on_literal, on_data, on_response};
	struct imap_parser p;
	size_t chunk;

	if (size < 1)
		return 0;
	chunk = (size_t)(data[0] % 13) + 1;
	imap_parser_init(&p, &cb, NULL, 4096, 1024, 1 << 20);
	for (size_t off = 1; off < size; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;

		if (imap_parser_feed(&p, (const char *)data + off, n) < 0)
			break;
	}
	imap_parser_free(&p);
	return 0;
}
