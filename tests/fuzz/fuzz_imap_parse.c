/*
 * libFuzzer: the IMAP response reader (chunked), and on each response the
 * event decoder (every span must lie inside the response), the FETCH
 * parser and the tokenizer; on each literal the body announcement. RFC
 * 7162: a decoded VANISHED or MODIFIED set gives sorted, disjoint,
 * non-empty ranges of UIDs 1 to 2^32-1; a mod-sequence is never 0. Every
 * event also goes to the delta pass's collector (delta_cmd.h), whose
 * merged result must be sorted and disjoint.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "delta_cmd.h"
#include "imap_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_literal(void *ctx, const char *text, size_t len, uint64_t size)
{
	unsigned long long seq, uid;
	int has_uid;

	(void)ctx;
	(void)size;
	if (imap_body_announce(text, len, &seq, &uid, &has_uid) == 1)
		return IMAP_LIT_STREAM;
	return len % 2 ? IMAP_LIT_STREAM : IMAP_LIT_INLINE;
}

/* ranges_ok: SET (a decoded one) as ranges: sorted, disjoint, within 1..2^32-1. */
static void ranges_ok(struct imap_span set)
{
	struct imap_uid_range *r;
	size_t n;

	if (imap_uidset_ranges(set, &r, &n) < 0 || n == 0)
		abort();
	for (size_t i = 0; i < n; i++)
		if (r[i].lo == 0 || r[i].lo > r[i].hi || (i > 0 && r[i].lo <= r[i - 1].hi + 1ULL) ||
		    !imap_uid_in(r, n, r[i].lo) || !imap_uid_in(r, n, r[i].hi))
			abort();
	free(r);
}

/* inside: SPAN lies within TEXT/LEN (or is empty). */
static void inside(struct imap_span s, const char *text, size_t len)
{
	if (s.len && (s.p < text || s.p + s.len > text + len))
		abort();
}

static void check_event(struct delta_seen *seen, const char *text, size_t len)
{
	struct imap_event ev;
	unsigned long long uids[4];
	int rc = imap_event_parse(text, len, &ev);

	if (!ev.tagged && ev.type != IMAP_EV_CONTINUE)
		(void)delta_seen_event(seen, &ev);
	if (rc == 0) {
		const struct imap_code *c = &ev.u.state.code;

		inside(ev.raw, text, len);
		inside(ev.tag, text, len);
		if (ev.type == IMAP_EV_STATE) {
			inside(ev.u.state.rest, text, len);
			inside(ev.u.state.text, text, len);
			inside(c->set, text, len);
			inside(c->src_set, text, len);
			inside(c->list, text, len);
			inside(c->text, text, len);
			if ((c->type == IMAP_CODE_APPENDUID || c->type == IMAP_CODE_COPYUID) &&
			    imap_uidset_expand(c->set, uids, 4) < 1)
				abort(); /* a decoded set is a valid one */
			if (c->type == IMAP_CODE_MODIFIED)
				ranges_ok(c->set);
			if (c->type == IMAP_CODE_HIGHESTMODSEQ && (c->num == 0 || c->num >> 63))
				abort();
		} else if (ev.type == IMAP_EV_VANISHED) {
			inside(ev.u.vanished.set, text, len);
			ranges_ok(ev.u.vanished.set);
		} else if (ev.type == IMAP_EV_FETCH && ev.u.fetch.has_modseq &&
			   (ev.u.fetch.modseq == 0 || ev.u.fetch.modseq >> 63)) {
			abort();
		} else if (ev.type == IMAP_EV_FLAGS || ev.type == IMAP_EV_CONTINUE) {
			inside(ev.u.text, text, len);
		} else if (ev.type == IMAP_EV_LIST &&
			   strlen(ev.u.list.name) != ev.u.list.name_len) {
			abort(); /* no NUL in a name */
		}
	}
	imap_event_free(&ev);
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

	check_event(ctx, text, len);
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
	struct delta_seen seen = {0};
	size_t chunk;

	if (size < 1)
		return 0;
	chunk = (size_t)(data[0] % 13) + 1;
	seen.need_uid = data[0] & 1;
	imap_parser_init(&p, &cb, &seen, 4096, 1024, 1 << 20);
	for (size_t off = 1; off < size; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;

		if (imap_parser_feed(&p, (const char *)data + off, n) < 0)
			break;
	}
	imap_parser_free(&p);
	delta_seen_done(&seen);
	for (size_t i = 0; i < seen.ngone; i++)
		if (seen.gone[i].lo == 0 || seen.gone[i].lo > seen.gone[i].hi ||
		    (i > 0 && seen.gone[i].lo <= seen.gone[i - 1].hi + 1ULL))
			abort();
	for (size_t i = 1; i < seen.nf; i++)
		if (seen.f[i].uid < seen.f[i - 1].uid || seen.f[i].flags == NULL)
			abort();
	delta_seen_free(&seen);
	return 0;
}
