#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "apid_frame.h"
#include "imap_parse.h"
#include "xalloc.h"

enum frame_state { ST_HEADER, ST_BODY, ST_FAILED };

struct apid_frame {
	struct apid_frame_limits lim;
	enum frame_state state;
	char line[APID_FRAME_LINE_MAX + 1];
	size_t llen;
	struct apid_frame_item item;
	long long left;  /* body bytes of the current item still to come */
	long long items; /* headers read */
	long long bytes; /* body bytes announced so far */
	EVP_MD_CTX *md;
	int status;
	char error[160];
};

struct apid_frame *apid_frame_new(const struct apid_frame_limits *lim)
{
	struct apid_frame *f = xcalloc(1, sizeof(*f));

	f->lim = *lim;
	f->md = EVP_MD_CTX_new();
	if (f->md == NULL) {
		free(f);
		return NULL;
	}
	return f;
}

void apid_frame_free(struct apid_frame **f)
{
	if (*f == NULL)
		return;
	EVP_MD_CTX_free((*f)->md);
	free(*f);
	*f = NULL;
}

/* fail: stop for good; the item is the one whose body is under way, else
 * the one whose header is. */
static enum apid_frame_rc fail(struct apid_frame *f, int status, const char *why)
{
	snprintf(f->error, sizeof(f->error), "item %lld: %s",
		 f->items + (f->state == ST_BODY ? 0 : 1), why);
	f->state = ST_FAILED;
	f->status = status;
	return FRAME_BAD;
}

int apid_src_ok(const char *s, size_t len)
{
	if (len == 0 || len > APID_SRC_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return 0;
	return 1;
}

/* atom_char: RFC 3501 ATOM-CHAR, without ']' (resp-specials) too. */
static int atom_char(char c)
{
	return c > ' ' && c <= '~' && !strchr("(){%*\"\\]", c);
}

/* flag_ok: one flag of LEN bytes: \Atom (not \Recent) or a keyword atom. */
static int flag_ok(const char *s, size_t len)
{
	size_t i = 0;

	if (s[0] == '\\') {
		if (len == 7 && strncasecmp(s, "\\Recent", 7) == 0)
			return 0;
		i = 1;
	}
	if (i == len)
		return 0;
	for (; i < len; i++)
		if (!atom_char(s[i]))
			return 0;
	return 1;
}

int apid_flags_ok(const char *s)
{
	const char *p = s;

	if (*p == '\0')
		return 1;
	for (;;) {
		const char *sp = strchr(p, ' ');
		size_t len = sp ? (size_t)(sp - p) : strlen(p);

		if (len == 0 || !flag_ok(p, len))
			return 0;
		if (sp == NULL)
			return 1;
		p = sp + 1;
	}
}

int apid_sha_hex(const char *hex, unsigned char out[32])
{
	static const char digits[] = "0123456789abcdef";

	if (strlen(hex) != 64)
		return 0;
	for (int i = 0; i < 64; i++) {
		const char *d = strchr(digits, hex[i]);

		if (hex[i] == '\0' || d == NULL)
			return 0;
		if (i % 2 == 0)
			out[i / 2] = (unsigned char)((d - digits) << 4);
		else
			out[i / 2] |= (unsigned char)(d - digits);
	}
	return 1;
}

/* header_fields: the five members of ROOT into F->item; NULL or why not. */
static const char *header_fields(struct apid_frame *f, json_t *root)
{
	const char *src, *flags, *date, *sha;
	json_int_t size;
	long long t;
	size_t srclen;

	if (json_unpack(root, "{s:s%, s:s, s:s, s:I, s:s !}", "src", &src, &srclen, "flags", &flags,
			"date", &date, "size", &size, "sha256", &sha) < 0)
		return "the header needs exactly src, flags, date, size and sha256";
	if (!apid_src_ok(src, srclen))
		return "src: 1-200 printable characters without space";
	if (strlen(flags) >= sizeof(f->item.flags) || !apid_flags_ok(flags))
		return "flags: not a list of IMAP flags and keywords";
	if (strlen(date) >= sizeof(f->item.date) || imap_date_parse(date, &t) < 0)
		return "date: not an IMAP INTERNALDATE";
	if (size < 1)
		return "size: not a positive integer";
	if (!apid_sha_hex(sha, f->item.sha256))
		return "sha256: not 64 lowercase hex digits";
	memcpy(f->item.src, src, srclen + 1);
	strcpy(f->item.flags, flags);
	strcpy(f->item.date, date);
	f->item.size = size;
	return NULL;
}

/* header: the complete line in F->line; FRAME_ITEM or FRAME_BAD. */
static enum apid_frame_rc header(struct apid_frame *f)
{
	json_error_t jerr;
	json_t *root;
	const char *why;

	if (memchr(f->line, '\0', f->llen))
		return fail(f, 400, "NUL in the header line");
	root = json_loadb(f->line, f->llen, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return fail(f, 400, "the header line is not JSON");
	why = header_fields(f, root);
	json_decref(root);
	if (why)
		return fail(f, 400, why);
	if (f->item.size > f->lim.max_message)
		return fail(f, 413, "size: larger than the largest message accepted");
	if (f->items + 1 > f->lim.max_items)
		return fail(f, 413, "more items than max_items");
	if (f->items > 0 && f->bytes + f->item.size > f->lim.max_bytes)
		return fail(f, 413, "more bytes than max_bytes");
	if (EVP_DigestInit_ex(f->md, EVP_sha256(), NULL) != 1)
		return fail(f, 400, "SHA-256 unavailable");
	f->items++;
	f->bytes += f->item.size;
	f->left = f->item.size;
	f->state = ST_BODY;
	f->llen = 0;
	return FRAME_ITEM;
}

static enum apid_frame_rc feed_header(struct apid_frame *f, const char *buf, size_t len,
				      size_t *used_r)
{
	const char *nl = memchr(buf, '\n', len);
	size_t take = nl ? (size_t)(nl - buf) : len;

	if (f->llen + take > APID_FRAME_LINE_MAX)
		return fail(f, 400, "header line longer than 16384 bytes");
	memcpy(f->line + f->llen, buf, take);
	f->llen += take;
	*used_r = take + (nl != NULL);
	return nl ? header(f) : FRAME_MORE;
}

/* body_end: the current item's bytes have all passed: check the hash. */
static enum apid_frame_rc body_end(struct apid_frame *f)
{
	unsigned char got[EVP_MAX_MD_SIZE];
	unsigned int glen = 0;

	if (EVP_DigestFinal_ex(f->md, got, &glen) != 1 || glen != 32 ||
	    memcmp(got, f->item.sha256, 32) != 0)
		return fail(f, 400, "sha256 does not match the bytes (or size is wrong)");
	f->state = ST_HEADER;
	return FRAME_END;
}

enum apid_frame_rc apid_frame_feed(struct apid_frame *f, const char *buf, size_t len,
				   size_t *used_r, const char **data_r, size_t *dlen_r)
{
	size_t take;

	*used_r = 0;
	if (f->state == ST_FAILED)
		return FRAME_BAD;
	if (f->state == ST_HEADER)
		return len == 0 ? FRAME_MORE : feed_header(f, buf, len, used_r);
	if (f->left == 0)
		return body_end(f);
	if (len == 0)
		return FRAME_MORE;
	take = (unsigned long long)f->left < len ? (size_t)f->left : len;
	if (EVP_DigestUpdate(f->md, buf, take) != 1)
		return fail(f, 400, "SHA-256 failed");
	f->left -= (long long)take;
	*used_r = take;
	*data_r = buf;
	*dlen_r = take;
	return FRAME_DATA;
}

enum apid_frame_rc apid_frame_finish(struct apid_frame *f)
{
	if (f->state == ST_FAILED)
		return FRAME_BAD;
	if (f->state == ST_BODY && f->left == 0)
		return body_end(f);
	if (f->state == ST_BODY)
		return fail(f, 400, "the body ends inside the message");
	if (f->llen > 0)
		return fail(f, 400, "the body ends inside a header line");
	return FRAME_END;
}

const struct apid_frame_item *apid_frame_item(const struct apid_frame *f)
{
	return &f->item;
}

long long apid_frame_items(const struct apid_frame *f)
{
	return f->items;
}

const char *apid_frame_error(const struct apid_frame *f)
{
	return f->error;
}

int apid_frame_status(const struct apid_frame *f)
{
	return f->status;
}
