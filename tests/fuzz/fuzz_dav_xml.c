/*
 * libFuzzer: the WebDAV multistatus parser (smd/dav_xml.h), fed in
 * chunks; every response's fields must be consistent (data_len the
 * data's length, hrefs clean absolute paths), and the href decoder and
 * encoder round-trip.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dav_xml.h"
#include "fuzz_chunks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_path(const char *p)
{
	if (p == NULL)
		return;
	if (p[0] != '/' || strstr(p, "/../") != NULL)
		abort();
	char *enc = dav_path_encode(p), *dec = dav_path_decode(enc);

	if (dec == NULL || strcmp(dec, p) != 0)
		abort();
	free(enc);
	free(dec);
}

static int on_resp(void *ctx, const struct dav_resp *r)
{
	if (r->data && strlen(r->data) > r->data_len)
		abort();
	check_path(r->href);
	check_path(r->principal);
	check_path(r->card_home);
	check_path(r->cal_home);
	return 0;
}

static int feed(void *ctx, const char *chunk, size_t len, size_t *used_r)
{
	*used_r = len;
	return dav_xml_feed(ctx, chunk, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dav_xml *x = dav_xml_new(on_resp, NULL);
	char *err = NULL, *s = malloc(size + 1);

	fuzz_chunks(data, size, feed, x);
	dav_xml_end(x, &err);
	free(err);
	dav_xml_free(&x);
	/* the href decoder alone */
	memcpy(s, data, size);
	s[size] = '\0';
	char *p = dav_path_decode(s);

	check_path(p);
	free(p);
	free(s);
	return 0;
}
