#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netstring.h"
#include "xalloc.h"

enum ns_state { ST_LEN, ST_DATA, ST_COMMA, ST_DONE };

struct netstring_dec {
	size_t max;
	enum ns_state state;
	size_t want, got, ndigits;
	int zero_first;
	char *buf;
	const char *error;
};

struct netstring_dec *netstring_dec_new(size_t max)
{
	struct netstring_dec *d = xcalloc(1, sizeof(*d));

	d->max = max;
	d->buf = xmalloc(max + 1);
	return d;
}

void netstring_dec_free(struct netstring_dec **dp)
{
	if (*dp == NULL)
		return;
	free((*dp)->buf);
	free(*dp);
	*dp = NULL;
}

static enum ns_status fail(struct netstring_dec *d, const char *why)
{
	d->error = why;
	return NS_ERROR;
}

enum ns_status netstring_dec_feed(struct netstring_dec *d, const char *in, size_t len,
				  size_t *used_r)
{
	size_t i = 0;

	*used_r = 0;
	if (d->error)
		return NS_ERROR;
	if (d->state == ST_DONE) {
		d->state = ST_LEN;
		d->want = d->got = d->ndigits = 0;
		d->zero_first = 0;
	}
	while (i < len) {
		unsigned char c = (unsigned char)in[i];

		switch (d->state) {
		case ST_LEN:
			i++;
			if (c == ':') {
				if (d->ndigits == 0) {
					*used_r = i;
					return fail(d, "netstring without a length");
				}
				d->state = d->want ? ST_DATA : ST_COMMA;
				break;
			}
			*used_r = i;
			if (c < '0' || c > '9')
				return fail(d, "netstring length is not a number");
			if (d->zero_first)
				return fail(d, "netstring length with a leading zero");
			if (d->ndigits == 0 && c == '0')
				d->zero_first = 1;
			d->ndigits++;
			/* Checked digit by digit, so no length can overflow. */
			d->want = d->want * 10 + (size_t)(c - '0');
			if (d->want > d->max)
				return fail(d, "netstring too long");
			break;
		case ST_DATA: {
			size_t n = len - i < d->want - d->got ? len - i : d->want - d->got;

			memcpy(d->buf + d->got, in + i, n);
			d->got += n;
			i += n;
			if (d->got == d->want)
				d->state = ST_COMMA;
			break;
		}
		case ST_COMMA:
			i++;
			*used_r = i;
			if (c != ',')
				return fail(d, "netstring without ','");
			d->buf[d->got] = '\0';
			d->state = ST_DONE;
			return NS_DONE;
		case ST_DONE:
			break;
		}
	}
	*used_r = i;
	return NS_MORE;
}

const char *netstring_dec_data(const struct netstring_dec *d, size_t *len_r)
{
	*len_r = d->state == ST_DONE ? d->got : 0;
	return d->state == ST_DONE ? d->buf : "";
}

const char *netstring_dec_error(const struct netstring_dec *d)
{
	return d->error;
}

size_t netstring_encode(char *out, size_t size, const char *data, size_t len)
{
	char head[24];
	int hl = snprintf(head, sizeof(head), "%zu:", len);
	size_t total = (size_t)hl + len + 1;

	if (total < size) {
		memcpy(out, head, (size_t)hl);
		memcpy(out + hl, data, len);
		out[hl + len] = ',';
		out[total] = '\0';
	}
	return total;
}
