#include <stdlib.h>
#include <string.h>

#include "policy_proto.h"
#include "xalloc.h"

/* A buffer grown past this by one large request is given back after it. */
#define KEEP_BYTES 16384

struct policy_parser {
	size_t max_line, max_attrs, max_request;
	char *buf; /* lines of the current request: "name\0value\0" each */
	size_t len, cap;
	size_t line_start; /* offset of the line being read */
	size_t *name_off, *value_off;
	struct policy_attr *attrs;
	size_t nattrs, attr_cap;
	int complete; /* the last feed returned POLICY_REQUEST */
	const char *error;
};

struct policy_parser *policy_parser_new(size_t max_line, size_t max_attrs)
{
	struct policy_parser *p = xcalloc(1, sizeof(*p));

	p->max_line = max_line;
	p->max_attrs = max_attrs;
	p->cap = 1024;
	p->buf = xmalloc(p->cap);
	return p;
}

void policy_parser_set_max_request(struct policy_parser *p, size_t max_request)
{
	p->max_request = max_request;
}

void policy_parser_free(struct policy_parser **pp)
{
	struct policy_parser *p = *pp;

	if (p == NULL)
		return;
	free(p->buf);
	free(p->name_off);
	free(p->value_off);
	free(p->attrs);
	free(p);
	*pp = NULL;
}

static void reset(struct policy_parser *p)
{
	p->len = p->line_start = p->nattrs = 0;
	p->complete = 0;
	if (p->cap > KEEP_BYTES) {
		p->cap = 1024;
		p->buf = xrealloc(p->buf, p->cap);
	}
}

static void append(struct policy_parser *p, const char *data, size_t n)
{
	if (p->len + n + 1 > p->cap) {
		while (p->len + n + 1 > p->cap)
			p->cap *= 2;
		p->buf = xrealloc(p->buf, p->cap);
	}
	memcpy(p->buf + p->len, data, n);
	p->len += n;
}

static enum policy_status fail(struct policy_parser *p, const char *why)
{
	p->error = why;
	return POLICY_ERROR;
}

/* end_line: the line at line_start is complete (its '\n' consumed). */
static enum policy_status end_line(struct policy_parser *p)
{
	size_t n = p->len - p->line_start;
	char *line = p->buf + p->line_start, *eq;

	if (n == 0) {
		if (p->attrs == NULL) /* an empty request: still a valid array */
			p->attrs = xmalloc(sizeof(*p->attrs));
		for (size_t i = 0; i < p->nattrs; i++) {
			p->attrs[i].name = p->buf + p->name_off[i];
			p->attrs[i].value = p->buf + p->value_off[i];
		}
		p->complete = 1;
		return POLICY_REQUEST;
	}
	if ((eq = memchr(line, '=', n)) == NULL)
		return fail(p, "line without '='");
	if (eq == line)
		return fail(p, "attribute without a name");
	if (p->nattrs == p->max_attrs)
		return fail(p, "too many attributes");
	if (p->nattrs == p->attr_cap) {
		size_t cap = p->attr_cap ? p->attr_cap * 2 : 32;

		if (cap > p->max_attrs)
			cap = p->max_attrs;
		p->name_off = xrealloc(p->name_off, cap * sizeof(*p->name_off));
		p->value_off = xrealloc(p->value_off, cap * sizeof(*p->value_off));
		p->attrs = xrealloc(p->attrs, cap * sizeof(*p->attrs));
		p->attr_cap = cap;
	}
	*eq = '\0';
	p->name_off[p->nattrs] = p->line_start;
	p->value_off[p->nattrs] = (size_t)(eq + 1 - p->buf);
	p->nattrs++;
	p->buf[p->len++] = '\0'; /* append() always leaves room for it */
	p->line_start = p->len;
	return POLICY_MORE;
}

enum policy_status policy_parser_feed(struct policy_parser *p, const char *buf, size_t len,
				      size_t *used_r)
{
	size_t i = 0;

	*used_r = 0;
	if (p->error)
		return POLICY_ERROR;
	if (p->complete)
		reset(p);
	while (i < len) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t chunk = nl ? (size_t)(nl - (buf + i)) : len - i;
		size_t have = p->len - p->line_start;
		const char *nul;

		if (have + chunk > p->max_line) {
			*used_r = i + (p->max_line - have) + 1;
			return fail(p, "line too long");
		}
		/* p->len holds each line with a NUL for its '\n': the request's
		 * bytes so far. The empty line that ends it is not counted. */
		size_t add = chunk + (nl && have + chunk > 0 ? 1 : 0);

		if (p->max_request && p->len + add > p->max_request) {
			*used_r = i + (p->max_request - p->len) + 1;
			return fail(p, "request too large");
		}
		if ((nul = memchr(buf + i, '\0', chunk)) != NULL) {
			*used_r = (size_t)(nul - buf) + 1;
			return fail(p, "NUL byte");
		}
		append(p, buf + i, chunk);
		i += chunk;
		if (nl == NULL)
			break;
		i++;
		enum policy_status st = end_line(p);

		if (st != POLICY_MORE) {
			*used_r = i;
			return st;
		}
	}
	*used_r = i;
	return POLICY_MORE;
}

const struct policy_attr *policy_request_attrs(const struct policy_parser *p, size_t *n_r)
{
	*n_r = p->complete ? p->nattrs : 0;
	return p->attrs;
}

const char *policy_request_get(const struct policy_parser *p, const char *name)
{
	if (!p->complete)
		return NULL;
	for (size_t i = 0; i < p->nattrs; i++)
		if (strcmp(p->attrs[i].name, name) == 0)
			return p->attrs[i].value;
	return NULL;
}

const char *policy_parser_error(const struct policy_parser *p)
{
	return p->error;
}
