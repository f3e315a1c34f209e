/*
 * pim_photo - photos shrunk with libgd. See pim_photo.h.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gd.h>
#include <openssl/evp.h>

#include "pim_photo.h"
#include "xalloc.h"

/* Decoding an image costs 4 bytes a pixel: a header claiming more pixels
 * than a phone camera makes is not decoded (a hostile one could ask for
 * gigabytes). */
#define PHOTO_MAX_PIXELS (50u * 1000 * 1000)
#define PHOTO_TRIES 12

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

unsigned char *pim_b64_decode(const char *s, size_t n, size_t *len_r)
{
	unsigned char *out = xmalloc(n / 4 * 3 + 3);
	unsigned acc = 0;
	size_t o = 0, bits = 0, pad = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int v;

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad || (v = b64val(c)) < 0) {
			free(out);
			return NULL; /* data after padding, or not base64 */
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	if (pad > 2 || bits >= 6) {
		free(out);
		return NULL;
	}
	*len_r = o;
	return out;
}

static unsigned be16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static unsigned long be32(const unsigned char *p)
{
	return (unsigned long)be16(p) << 16 | be16(p + 2);
}

/* jpeg_dims: width and height from a JPEG's SOF segment. 0, or -1. */
static int jpeg_dims(const unsigned char *d, size_t n, unsigned *w, unsigned *h)
{
	size_t i = 2;

	while (i + 9 < n) {
		unsigned m;

		if (d[i] != 0xff)
			return -1;
		m = d[i + 1];
		if (m == 0xff) {
			i++;
			continue;
		}
		if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc) {
			*h = be16(d + i + 5);
			*w = be16(d + i + 7);
			return 0;
		}
		i += 2 + be16(d + i + 2);
	}
	return -1;
}

/* photo_open: D as a libgd image (JPEG, PNG or GIF), or NULL with *WHY. */
static gdImagePtr photo_open(const unsigned char *d, size_t n, const char **why)
{
	unsigned long w = 0, h = 0;
	unsigned jw = 0, jh = 0;
	int kind = 0;

	*why = "not a JPEG, PNG or GIF image";
	if (n > 4 && d[0] == 0xff && d[1] == 0xd8 && jpeg_dims(d, n, &jw, &jh) == 0)
		kind = 1, w = jw, h = jh;
	else if (n > 24 && memcmp(d, "\x89PNG", 4) == 0)
		kind = 2, w = be32(d + 16), h = be32(d + 20);
	else if (n > 10 && memcmp(d, "GIF8", 4) == 0)
		kind = 3, w = d[6] | (unsigned)d[7] << 8, h = d[8] | (unsigned)d[9] << 8;
	if (!kind)
		return NULL;
	if (w == 0 || h == 0 || w > 65535 || h > 65535 || w * h > PHOTO_MAX_PIXELS) {
		*why = "an image too large in pixels to decode";
		return NULL;
	}
	*why = "an image libgd cannot decode";
	if (n > (size_t)0x7fffffff)
		return NULL;
	if (kind == 1)
		return gdImageCreateFromJpegPtr((int)n, (void *)d);
	if (kind == 2)
		return gdImageCreateFromPngPtr((int)n, (void *)d);
	return gdImageCreateFromGifPtr((int)n, (void *)d);
}

/* encode: IM at W x H as a JPEG of QUALITY; malloc'd, *LEN_R its length, or NULL. */
static unsigned char *encode(gdImagePtr im, int w, int h, int quality, size_t *len_r)
{
	gdImagePtr s = im;
	unsigned char *r = NULL;
	int size = 0;
	void *jpg;

	if (w != gdImageSX(im) || h != gdImageSY(im))
		s = gdImageScale(im, (unsigned)w, (unsigned)h);
	if (!s)
		return NULL;
	jpg = gdImageJpegPtr(s, &size, quality);
	if (s != im)
		gdImageDestroy(s);
	if (jpg && size > 0) {
		r = xmalloc((size_t)size);
		memcpy(r, jpg, (size_t)size);
		*len_r = (size_t)size;
	}
	if (jpg)
		gdFree(jpg);
	return r;
}

/* shrink: IM re-encoded as JPEG at its own size first (what makes a photo
 * heavy may be metadata or a wasteful encoding, not pixels), then scaled
 * down until it fits MAX bytes; malloc'd JPEG, *LEN_R its length, or NULL
 * with WHY (N bytes) saying what the smallest try gave. */
static unsigned char *shrink(gdImagePtr im, size_t orig, size_t max, size_t *len_r, char *why,
			     size_t n)
{
	/* JPEG size goes roughly with the pixel count: start a little above the
	 * square root of the ratio (re-encoding at 85 already saves) and step down. */
	double scale = 1.4 * sqrt((double)max / (double)orig);
	int quality = 85, sx = gdImageSX(im), sy = gdImageSY(im), w = sx, h = sy;
	size_t got = 0;

	snprintf(why, n, "it could not be re-encoded");
	if (scale > 0.95)
		scale = 0.95;
	for (int t = 0; t <= PHOTO_TRIES; t++) {
		unsigned char *jpg = encode(im, w, h, quality, &got);

		if (jpg && got <= max) {
			*len_r = got;
			return jpg;
		}
		free(jpg);
		if (jpg)
			snprintf(why, n, "it could not be made small enough (%dx%d: %zu bytes)", w,
				 h, got);
		w = (int)(sx * scale), h = (int)(sy * scale);
		if (w < 8 || h < 8)
			break; /* too small to be a photo */
		scale *= 0.8;
		if (t > 0 && quality > 60)
			quality -= 5;
	}
	return NULL;
}

static char *b64_encode(const unsigned char *d, size_t n)
{
	char *r = xmalloc(4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)r, d, (int)n);
	return r;
}

/* set_jpeg: P's value the JPEG D, in the form P had (4.0 data: URI or 3.0
 * ENCODING=b). */
static void set_jpeg(struct vc_prop *p, int uri, const unsigned char *d, size_t n)
{
	char *b = b64_encode(d, n), *v = uri ? xasprintf("data:image/jpeg;base64,%s", b) : b;

	vc_set_value(p, v, strlen(v));
	if (!uri) {
		vc_param_del(p, "TYPE");
		vc_param_add(p, "TYPE", "JPEG");
	}
	if (v != b)
		free(v);
	free(b);
}

/* photo_data: where P's base64 starts, and whether it is a data: URI; NULL
 * for a photo given by URL. */
static const char *photo_data(const struct vc_prop *p, int *uri)
{
	const char *c;

	*uri = 0;
	if (vc_param_has(p, "ENCODING", "b") || vc_param_has(p, "ENCODING", "BASE64"))
		return p->value;
	if (strncasecmp(p->value, "data:", 5) == 0 && (c = strchr(p->value, ',')) &&
	    c - p->value >= 7 && strncasecmp(c - 7, ";base64", 7) == 0) {
		*uri = 1;
		return c + 1;
	}
	return NULL;
}

/* limit_one: P within MAX. 1 when P must be dropped (WHY, N bytes, says why). */
static int limit_one(struct vc_prop *p, size_t max, struct vc_buf *fixes, char *why, size_t wn)
{
	int uri;
	const char *b64 = photo_data(p, &uri), *cant;
	unsigned char *d, *jpg = NULL;
	size_t n = 0, jn = 0;
	gdImagePtr im;
	char fix[96];

	if (!b64 || (size_t)(p->vlen - (size_t)(b64 - p->value)) / 4 * 3 <= max)
		return 0; /* a URL, or small enough even before decoding */
	d = pim_b64_decode(b64, p->vlen - (size_t)(b64 - p->value), &n);
	snprintf(why, wn, "not valid base64");
	if (!d)
		return 1;
	if (n <= max) {
		free(d);
		return 0;
	}
	im = photo_open(d, n, &cant);
	snprintf(why, wn, "%s", cant);
	if (im) {
		jpg = shrink(im, n, max, &jn, why, wn);
		gdImageDestroy(im);
	}
	if (jpg) {
		set_jpeg(p, uri, jpg, jn);
		snprintf(fix, sizeof(fix), "PHOTO shrunk %zu -> %zu bytes", n, jn);
		vc_fix(fixes, fix);
	}
	free(d);
	if (!jpg)
		return 1;
	free(jpg);
	return 0;
}

void pim_photo_limit(struct vcard *c, size_t max, struct vc_buf *fixes)
{
	size_t k = 0;

	if (max == 0)
		return;
	for (size_t i = 0; i < c->l.n; i++) {
		struct vc_prop *p = &c->l.a[i];
		char why[96];

		if (strcmp(p->name, "PHOTO") == 0 && limit_one(p, max, fixes, why, sizeof(why))) {
			char fix[160];

			snprintf(fix, sizeof(fix), "PHOTO dropped: %s (limit %zu bytes)", why, max);
			vc_fix(fixes, fix);
			vc_prop_free(p);
			continue;
		}
		c->l.a[k++] = c->l.a[i];
	}
	c->l.n = k;
}
