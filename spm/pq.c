#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pq.h"
#include "xalloc.h"

#define MAX_DEPTH 16

struct jp {
	const char *p, *end;
	const char *why;
};

static void ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\r' || *j->p == '\n'))
		j->p++;
}

static int fail(struct jp *j, const char *why)
{
	if (j->why == NULL)
		j->why = why;
	return -1;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void put_byte(char *out, size_t size, size_t *len, char c)
{
	if (out && *len + 1 < size) {
		out[*len] = c;
		out[*len + 1] = '\0';
	}
	(*len)++;
}

/* put: append UTF-8 of CP to OUT (SIZE bytes, always NUL-terminated,
 * excess dropped); *LEN_R the length so far, may exceed SIZE - 1. */
static void put(char *out, size_t size, size_t *len, unsigned cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	for (size_t i = 0; i < n; i++)
		put_byte(out, size, len, u[i]);
}

/* string: a JSON string into OUT (may be NULL: skip); *LEN_R its length. */
static int string(struct jp *j, char *out, size_t size, size_t *len_r)
{
	size_t len = 0;

	if (out && size)
		out[0] = '\0';
	if (j->p >= j->end || *j->p != '"')
		return fail(j, "string expected");
	j->p++;
	while (j->p < j->end) {
		unsigned char c = (unsigned char)*j->p++;

		if (c == '"') {
			if (len_r)
				*len_r = len;
			return 0;
		}
		if (c < 0x20)
			return fail(j, "control character in string");
		if (c != '\\') {
			/* UTF-8 bytes pass through as they are. */
			put_byte(out, size, &len, (char)c);
			continue;
		}
		if (j->p >= j->end)
			break;
		c = (unsigned char)*j->p++;
		switch (c) {
		case '"':
		case '\\':
		case '/':
			put(out, size, &len, c);
			break;
		case 'b':
			put(out, size, &len, '\b');
			break;
		case 'f':
			put(out, size, &len, '\f');
			break;
		case 'n':
			put(out, size, &len, '\n');
			break;
		case 'r':
			put(out, size, &len, '\r');
			break;
		case 't':
			put(out, size, &len, '\t');
			break;
		case 'u': {
			unsigned cp = 0;

			if (j->end - j->p < 4)
				return fail(j, "short \\u escape");
			for (int i = 0; i < 4; i++) {
				int h = hexval((unsigned char)j->p[i]);

				if (h < 0)
					return fail(j, "bad \\u escape");
				cp = cp * 16 + (unsigned)h;
			}
			j->p += 4;
			if (cp == 0)
				return fail(j, "NUL in string");
			if (cp >= 0xd800 && cp <= 0xdfff)
				cp = 0xfffd; /* surrogates are never part of an address */
			put(out, size, &len, cp);
			break;
		}
		default:
			return fail(j, "bad escape");
		}
	}
	return fail(j, "unterminated string");
}

static int value(struct jp *j, int depth);

static int skip_container(struct jp *j, int depth, char open, char close)
{
	if (depth >= MAX_DEPTH)
		return fail(j, "nesting too deep");
	j->p++;
	ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		return 0;
	}
	for (;;) {
		ws(j);
		if (open == '{') {
			if (string(j, NULL, 0, NULL) < 0)
				return -1;
			ws(j);
			if (j->p >= j->end || *j->p != ':')
				return fail(j, "':' expected");
			j->p++;
			ws(j);
		}
		if (value(j, depth + 1) < 0)
			return -1;
		ws(j);
		if (j->p >= j->end)
			return fail(j, "unterminated object or array");
		if (*j->p == close) {
			j->p++;
			return 0;
		}
		if (*j->p != ',')
			return fail(j, "',' expected");
		j->p++;
	}
}

static int literal(struct jp *j, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
		return fail(j, "bad literal");
	j->p += n;
	return 0;
}

static int number(struct jp *j)
{
	const char *start = j->p;

	if (j->p < j->end && *j->p == '-')
		j->p++;
	while (j->p < j->end && ((*j->p >= '0' && *j->p <= '9') || *j->p == '.' || *j->p == 'e' ||
				 *j->p == 'E' || *j->p == '+' || *j->p == '-'))
		j->p++;
	return j->p == start ? fail(j, "value expected") : 0;
}

/* value: skip any JSON value. */
static int value(struct jp *j, int depth)
{
	ws(j);
	if (j->p >= j->end)
		return fail(j, "value expected");
	switch (*j->p) {
	case '"':
		return string(j, NULL, 0, NULL);
	case '{':
		return skip_container(j, depth, '{', '}');
	case '[':
		return skip_container(j, depth, '[', ']');
	case 't':
		return literal(j, "true");
	case 'f':
		return literal(j, "false");
	case 'n':
		return literal(j, "null");
	default:
		return number(j);
	}
}

static void add_rcpt(struct pq_msg *m, const char *a, size_t len)
{
	const char *why;

	if (m->nrcpt == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 8;
		m->rcpt = xrealloc(m->rcpt, m->cap * sizeof(*m->rcpt));
	}
	if (addr_normalize(a, len, ADDR_FOLD_LOCAL, m->rcpt[m->nrcpt], &why) < 0)
		snprintf(m->rcpt[m->nrcpt], ADDR_MAX, "%.*s", ADDR_MAX - 1, a);
	m->nrcpt++;
}

/* recipient: one member of "recipients": an object with "address". */
static int recipient(struct jp *j, struct pq_msg *m, int depth)
{
	char key[32], addr[ADDR_MAX * 2];
	size_t alen = 0;
	int have = 0;

	ws(j);
	if (j->p >= j->end || *j->p != '{')
		return fail(j, "recipient object expected");
	j->p++;
	ws(j);
	if (j->p < j->end && *j->p == '}') {
		j->p++;
		return 0;
	}
	for (;;) {
		ws(j);
		if (string(j, key, sizeof(key), NULL) < 0)
			return -1;
		ws(j);
		if (j->p >= j->end || *j->p != ':')
			return fail(j, "':' expected");
		j->p++;
		ws(j);
		if (strcmp(key, "address") == 0 && j->p < j->end && *j->p == '"') {
			if (string(j, addr, sizeof(addr), &alen) < 0)
				return -1;
			have = 1;
		} else if (value(j, depth + 1) < 0) {
			return -1;
		}
		ws(j);
		if (j->p < j->end && *j->p == '}') {
			j->p++;
			break;
		}
		if (j->p >= j->end || *j->p != ',')
			return fail(j, "',' expected");
		j->p++;
	}
	if (have && alen > 0 && alen < sizeof(addr)) {
		if (m->nrcpt >= PQ_MAX_RCPT)
			return fail(j, "too many recipients");
		add_rcpt(m, addr, alen);
	}
	return 0;
}

static int recipients(struct jp *j, struct pq_msg *m)
{
	ws(j);
	if (j->p >= j->end || *j->p != '[')
		return value(j, 1);
	j->p++;
	ws(j);
	if (j->p < j->end && *j->p == ']') {
		j->p++;
		return 0;
	}
	for (;;) {
		if (recipient(j, m, 2) < 0)
			return -1;
		ws(j);
		if (j->p < j->end && *j->p == ']') {
			j->p++;
			return 0;
		}
		if (j->p >= j->end || *j->p != ',')
			return fail(j, "',' expected");
		j->p++;
	}
}

static int valid_queue_id(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > 63)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'A' && id[i] <= 'Z') ||
		      (id[i] >= 'a' && id[i] <= 'z')))
			return 0;
	return 1;
}

int pq_parse_msg(const char *line, size_t len, struct pq_msg *m, const char **why_r)
{
	struct jp j = {line, line + len, NULL};
	char key[32], qid[128];
	int have_name = 0, have_id = 0;

	m->queue_name[0] = m->queue_id[0] = '\0';
	m->nrcpt = 0;
	ws(&j);
	if (j.p >= j.end || *j.p != '{') {
		*why_r = "object expected";
		return -1;
	}
	j.p++;
	ws(&j);
	if (j.p < j.end && *j.p == '}') {
		j.p++;
		goto done;
	}
	for (;;) {
		ws(&j);
		if (string(&j, key, sizeof(key), NULL) < 0)
			goto bad;
		ws(&j);
		if (j.p >= j.end || *j.p != ':') {
			fail(&j, "':' expected");
			goto bad;
		}
		j.p++;
		ws(&j);
		if (strcmp(key, "queue_name") == 0 && j.p < j.end && *j.p == '"') {
			if (string(&j, m->queue_name, sizeof(m->queue_name), NULL) < 0)
				goto bad;
			have_name = 1;
		} else if (strcmp(key, "queue_id") == 0 && j.p < j.end && *j.p == '"') {
			if (string(&j, qid, sizeof(qid), NULL) < 0)
				goto bad;
			have_id = 1;
		} else if (strcmp(key, "recipients") == 0) {
			if (recipients(&j, m) < 0)
				goto bad;
		} else if (value(&j, 1) < 0) {
			goto bad;
		}
		ws(&j);
		if (j.p < j.end && *j.p == '}') {
			j.p++;
			break;
		}
		if (j.p >= j.end || *j.p != ',') {
			fail(&j, "',' expected");
			goto bad;
		}
		j.p++;
	}
done:
	ws(&j);
	if (j.p != j.end) {
		*why_r = "text after the object";
		return -1;
	}
	if (!have_name || !have_id) {
		*why_r = "queue_name or queue_id missing";
		return -1;
	}
	if (!valid_queue_id(qid)) {
		*why_r = "bad queue_id";
		return -1;
	}
	snprintf(m->queue_id, sizeof(m->queue_id), "%.63s", qid);
	return 0;
bad:
	*why_r = j.why ? j.why : "bad JSON";
	return -1;
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

static int decimal(const char *p, size_t n, long long *v_r)
{
	long long v = 0;

	if (n == 0 || n > 18)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	*v_r = v;
	return 0;
}

int pq_parse_status(const char *line, size_t len, long long *oldest_r, long long *open_r)
{
	int have_oldest = 0, have_open = 0;
	size_t i = 0;

	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > 1024)
		return -1;
	while (i < len) {
		size_t start = i, eq = 0;

		while (i < len && line[i] != ' ') {
			if (line[i] == '=' && eq == 0)
				eq = i;
			if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] >= 0x7f)
				return -1;
			i++;
		}
		if (eq == 0 || eq == start)
			return -1;
		if (eq - start == 6 && memcmp(line + start, "oldest", 6) == 0) {
			if (have_oldest || decimal(line + eq + 1, i - eq - 1, oldest_r) < 0)
				return -1;
			have_oldest = 1;
		} else if (eq - start == 4 && memcmp(line + start, "open", 4) == 0) {
			if (have_open || decimal(line + eq + 1, i - eq - 1, open_r) < 0)
				return -1;
			have_open = 1;
		}
		if (i < len)
			i++; /* one space */
		if (i < len && line[i] == ' ')
			return -1;
	}
	return have_oldest && have_open ? 0 : -1;
}
