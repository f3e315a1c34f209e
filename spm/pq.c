#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "pq.h"
#include "qid.h"
#include "xalloc.h"

/* Postfix nests nothing deeper than recipients[].{...}: 4 levels. */
#define MAX_DEPTH 16

static void add_rcpt(struct pq_msg *m, const char *a, size_t len)
{
	const char *why;

	if (m->nrcpt == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 8;
		m->rcpt = xrealloc(m->rcpt, m->cap * sizeof(*m->rcpt));
	}
	/* Queue files hold Postfix's internal form. One we cannot read is
	 * kept as it is when it fits, else as "": cut, it could read as
	 * another address (the directory's longest is ADDR_MAX - 1 bytes). */
	if (addr_normalize(a, len, ADDR_FOLD_LOCAL | ADDR_INTERNAL, m->rcpt[m->nrcpt], &why) < 0)
		snprintf(m->rcpt[m->nrcpt], ADDR_MAX, "%.*s", len < ADDR_MAX ? (int)len : 0, a);
	m->nrcpt++;
}

static int depth_ok(const json_t *v, int depth)
{
	const char *k;
	json_t *e;
	size_t i;

	if (depth > MAX_DEPTH)
		return 0;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, e)
			if (!depth_ok(e, depth + 1))
				return 0;
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			if (!depth_ok(e, depth + 1))
				return 0;
	}
	return 1;
}

int pq_parse_msg(const char *line, size_t len, struct pq_msg *m, const char **why_r)
{
	json_error_t err;
	json_t *root, *name, *qid, *rcpts, *r;
	size_t i;
	int rc = -1;

	m->queue_name[0] = m->queue_id[0] = '\0';
	m->nrcpt = 0;
	/* JSON_DISABLE_EOF_CHECK off: text after the object is an error. */
	root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
	if (root == NULL) {
		*why_r = "bad JSON";
		return -1;
	}
	if (!json_is_object(root)) {
		*why_r = "object expected";
		goto out;
	}
	if (!depth_ok(root, 1)) {
		*why_r = "nested too deep";
		goto out;
	}
	name = json_object_get(root, "queue_name");
	qid = json_object_get(root, "queue_id");
	if (!json_is_string(name) || !json_is_string(qid)) {
		*why_r = "queue_name or queue_id missing";
		goto out;
	}
	if (!qid_valid(json_string_value(qid)) ||
	    json_string_length(qid) != strlen(json_string_value(qid))) {
		*why_r = "bad queue_id";
		goto out;
	}
	snprintf(m->queue_name, sizeof(m->queue_name), "%s", json_string_value(name));
	snprintf(m->queue_id, sizeof(m->queue_id), "%s", json_string_value(qid));
	rcpts = json_object_get(root, "recipients");
	if (json_is_array(rcpts) && json_array_size(rcpts) > PQ_MAX_RCPT) {
		*why_r = "too many recipients";
		goto out;
	}
	json_array_foreach(rcpts, i, r) {
		json_t *a = json_object_get(r, "address");

		if (!json_is_object(r)) {
			*why_r = "recipient object expected";
			m->nrcpt = 0;
			goto out;
		}
		if (json_is_string(a) && json_string_length(a) > 0 &&
		    json_string_length(a) < 2 * ADDR_MAX)
			add_rcpt(m, json_string_value(a), json_string_length(a));
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

void pq_msg_clear(struct pq_msg *m)
{
	free(m->rcpt);
	memset(m, 0, sizeof(*m));
}

struct pq_reader {
	pq_msg_fn fn;
	void *ctx;
	char *buf;
	size_t len, cap;
	int line;
	int skipping; /* inside an over-long line */
	struct pq_msg msg;
};

struct pq_reader *pq_reader_new(pq_msg_fn fn, void *ctx)
{
	struct pq_reader *r = xcalloc(1, sizeof(*r));

	r->fn = fn;
	r->ctx = ctx;
	return r;
}

void pq_reader_free(struct pq_reader **rp)
{
	if (*rp == NULL)
		return;
	pq_msg_clear(&(*rp)->msg);
	free((*rp)->buf);
	free(*rp);
	*rp = NULL;
}

static int emit(struct pq_reader *r)
{
	const char *why;
	int rc;

	r->line++;
	if (r->skipping) {
		r->skipping = 0;
		return r->fn(r->ctx, NULL, r->line, "line too long");
	}
	/* postqueue prints nothing for an empty queue; blank lines mean nothing. */
	size_t i = 0;

	while (i < r->len && (r->buf[i] == ' ' || r->buf[i] == '\r'))
		i++;
	if (i == r->len)
		return 0;
	if (pq_parse_msg(r->buf, r->len, &r->msg, &why) < 0)
		rc = r->fn(r->ctx, NULL, r->line, why);
	else
		rc = r->fn(r->ctx, &r->msg, r->line, NULL);
	return rc;
}

int pq_feed(struct pq_reader *r, const char *buf, size_t len)
{
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (buf + i)) : len - i;

		if (!r->skipping) {
			if (r->len + n > PQ_MAX_LINE) {
				r->skipping = 1;
				r->len = 0;
			} else {
				if (r->len + n + 1 > r->cap) {
					r->cap = (r->len + n + 1) * 2;
					r->buf = xrealloc(r->buf, r->cap);
				}
				memcpy(r->buf + r->len, buf + i, n);
				r->len += n;
			}
		}
		i += n;
		if (nl) {
			int rc = emit(r);

			r->len = 0;
			i++;
			if (rc)
				return rc;
		}
	}
	return 0;
}

int pq_finish(struct pq_reader *r)
{
	int rc = 0;

	if (r->len > 0 || r->skipping)
		rc = emit(r);
	r->len = 0;
	return rc;
}
