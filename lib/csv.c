#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "xalloc.h"

enum csv_state {
	ST_FIELD_START, /* at the start of a field */
	ST_UNQUOTED,
	ST_QUOTED,
	ST_QUOTE_IN_QUOTED, /* saw '"' inside quotes: end or "" */
	ST_CR,		    /* saw CR at record end, expecting LF */
	ST_SKIP,	    /* after an error: skip to end of line */
};

struct csv {
	size_t max_field, max_fields;
	enum csv_state st;
	char *buf; /* fields, each NUL-terminated */
	size_t len, cap;
	size_t *off; /* start of each field in buf */
	size_t nfields, offcap;
	int line;	/* current line */
	int rec_line;	/* line where the record started */
	int at_start;	/* nothing of the record read yet */
	int bom;	/* bytes of a UTF-8 BOM seen at the start of input; -1 past it */
	const char *err;
};

struct csv *csv_new(size_t max_field, size_t max_fields)
{
	struct csv *c = xcalloc(1, sizeof(*c));

	c->max_field = max_field;
	c->max_fields = max_fields;
	c->line = 1;
	c->rec_line = 1;
	c->at_start = 1;
	c->cap = 256;
	c->buf = xmalloc(c->cap);
	c->offcap = 8;
	c->off = xmalloc(c->offcap * sizeof(*c->off));
	return c;
}

void csv_free(struct csv **cp)
{
	if (*cp == NULL)
		return;
	free((*cp)->buf);
	free((*cp)->off);
	free(*cp);
	*cp = NULL;
}

static void reset_record(struct csv *c)
{
	c->len = 0;
	c->nfields = 0;
	c->at_start = 1;
	c->rec_line = c->line;
}

static int put(struct csv *c, char ch)
{
	size_t flen = c->len - c->off[c->nfields - 1];

	if (flen >= c->max_field) {
		c->err = "field too long";
		return -1;
	}
	if (c->len + 2 > c->cap) {
		c->cap *= 2;
		c->buf = xrealloc(c->buf, c->cap);
	}
	c->buf[c->len++] = ch;
	return 0;
}

static int begin_field(struct csv *c)
{
	if (c->nfields > 0) {
		if (c->len + 1 > c->cap) {
			c->cap *= 2;
			c->buf = xrealloc(c->buf, c->cap);
		}
		c->buf[c->len++] = '\0';
	}
	if (c->nfields == c->max_fields) {
		c->err = "too many fields";
		return -1;
	}
	if (c->nfields == c->offcap) {
		c->offcap *= 2;
		c->off = xrealloc(c->off, c->offcap * sizeof(*c->off));
	}
	c->off[c->nfields++] = c->len;
	return 0;
}

static void end_record(struct csv *c)
{
	if (c->len + 1 > c->cap) {
		c->cap *= 2;
		c->buf = xrealloc(c->buf, c->cap);
	}
	c->buf[c->len] = '\0';
}

static enum csv_status fail(struct csv *c, const char *why, int at_eol)
{
	c->err = why;
	c->st = at_eol ? ST_FIELD_START : ST_SKIP;
	c->nfields = 0;
	return CSV_ERROR;
}

/* at_field_end: whether CH ends a field (',') or a record (CR LF, LF):
 * 0 neither, 1 handled (read on), 2 a record is complete. */
static int at_field_end(struct csv *c, char ch)
{
	if (ch == ',') {
		c->st = ST_FIELD_START;
		return 1;
	}
	if (ch != '\n' && ch != '\r')
		return 0;
	end_record(c);
	if (ch == '\r') {
		c->st = ST_CR;
		return 1;
	}
	c->line++;
	c->st = ST_FIELD_START;
	c->at_start = 1;
	return 2;
}

static const char utf8_bom[3] = {'\xef', '\xbb', '\xbf'};

/* bom_replay: the start of input looked like a BOM for HELD bytes and was
 * not one: they are data, read now. */
static enum csv_status bom_replay(struct csv *c, int held)
{
	size_t used;

	c->bom = -1;
	return held > 0 ? csv_next(c, utf8_bom, (size_t)held, &used) : CSV_MORE;
}

/* The byte_* functions take one byte in the state they are named after and
 * return CSV_MORE to read on, or CSV_RECORD or CSV_ERROR to hand back. */

static enum csv_status byte_unquoted(struct csv *c, char ch)
{
	int ends = at_field_end(c, ch);

	if (ends == 1)
		return CSV_MORE;
	if (ends == 2)
		return CSV_RECORD;
	if (ch == '"')
		return fail(c, "quote inside an unquoted field", 0);
	if (put(c, ch) < 0)
		return fail(c, c->err, 0);
	return CSV_MORE;
}

static enum csv_status byte_field_start(struct csv *c, char ch)
{
	if (c->at_start) {
		reset_record(c);
		c->at_start = 0;
	}
	if (begin_field(c) < 0)
		return fail(c, c->err, ch == '\n');
	if (ch == '"') {
		c->st = ST_QUOTED;
		return CSV_MORE;
	}
	c->st = ST_UNQUOTED;
	return byte_unquoted(c, ch);
}

static enum csv_status byte_quoted(struct csv *c, char ch)
{
	if (ch == '"') {
		c->st = ST_QUOTE_IN_QUOTED;
		return CSV_MORE;
	}
	if (ch == '\n')
		c->line++;
	if (put(c, ch) < 0)
		return fail(c, c->err, 0);
	return CSV_MORE;
}

static enum csv_status byte_quote_in_quoted(struct csv *c, char ch)
{
	if (ch == '"') {
		c->st = ST_QUOTED;
		if (put(c, ch) < 0)
			return fail(c, c->err, 0);
		return CSV_MORE;
	}
	int ends = at_field_end(c, ch);

	if (ends == 1)
		return CSV_MORE;
	if (ends == 2)
		return CSV_RECORD;
	return fail(c, "text after a closing quote", 0);
}

static enum csv_status next_byte(struct csv *c, char ch)
{
	if (ch == '\0')
		return fail(c, "NUL byte", 0);
	switch (c->st) {
	case ST_SKIP:
		if (ch == '\n') {
			c->line++;
			c->st = ST_FIELD_START;
			reset_record(c);
		}
		return CSV_MORE;
	case ST_CR:
		if (ch != '\n')
			return fail(c, "CR not followed by LF", 0);
		c->line++;
		c->st = ST_FIELD_START;
		c->at_start = 1;
		return CSV_RECORD;
	case ST_FIELD_START:
		return byte_field_start(c, ch);
	case ST_UNQUOTED:
		return byte_unquoted(c, ch);
	case ST_QUOTED:
		return byte_quoted(c, ch);
	case ST_QUOTE_IN_QUOTED:
		return byte_quote_in_quoted(c, ch);
	}
	return CSV_MORE;
}

/* skip_bom: Excel and Notepad start a UTF-8 CSV with a byte order mark; it
 * is no part of the first field (the header would not match). Bytes may
 * come one at a time, so a partial match is held back. Advances *I_R. */
static enum csv_status skip_bom(struct csv *c, const char *buf, size_t len, size_t *i_r)
{
	while (c->bom >= 0 && *i_r < len) {
		if (buf[*i_r] == utf8_bom[c->bom]) {
			(*i_r)++;
			if (++c->bom == 3)
				c->bom = -1;
			continue;
		}
		enum csv_status st = bom_replay(c, c->bom);

		if (st != CSV_MORE)
			return st;
	}
	return CSV_MORE;
}

enum csv_status csv_next(struct csv *c, const char *buf, size_t len, size_t *used_r)
{
	size_t i = 0;
	enum csv_status st = skip_bom(c, buf, len, &i);

	while (st == CSV_MORE && i < len)
		st = next_byte(c, buf[i++]);
	*used_r = i;
	return st;
}

enum csv_status csv_finish(struct csv *c)
{
	if (c->bom >= 0) {
		enum csv_status st = bom_replay(c, c->bom);

		if (st != CSV_MORE)
			return st;
	}
	switch (c->st) {
	case ST_QUOTED:
		c->st = ST_SKIP;
		c->err = "quoted field not closed at end of file";
		c->nfields = 0;
		return CSV_ERROR;
	case ST_UNQUOTED:
	case ST_QUOTE_IN_QUOTED:
	case ST_CR:
		end_record(c);
		c->st = ST_SKIP;
		return CSV_RECORD;
	case ST_FIELD_START:
		if (!c->at_start) {
			/* "a," at EOF: a last, empty field. */
			if (begin_field(c) < 0)
				return fail(c, c->err, 1);
			end_record(c);
			c->st = ST_SKIP;
			c->at_start = 1;
			return CSV_RECORD;
		}
		return CSV_MORE;
	case ST_SKIP:
		return CSV_MORE;
	}
	return CSV_MORE;
}

size_t csv_nfields(const struct csv *c)
{
	return c->nfields;
}

const char *csv_field(const struct csv *c, size_t i, size_t *len_r)
{
	const char *f = c->buf + c->off[i];

	if (len_r)
		*len_r = (i + 1 < c->nfields ? c->off[i + 1] - 1 : c->len) - c->off[i];
	return f;
}

int csv_line(const struct csv *c)
{
	return c->rec_line;
}

const char *csv_error(const struct csv *c)
{
	return c->err;
}

/* feed: LEN bytes of BUF (LEN 0: the end of input) through C, FN for
 * every record or error. */
static void feed(struct csv *c, const char *buf, size_t len, csv_row_fn fn, void *ctx)
{
	size_t off = 0, used;

	for (;;) {
		enum csv_status st;

		if (len == 0)
			st = csv_finish(c);
		else if (off < len)
			st = csv_next(c, buf + off, len - off, &used), off += used;
		else
			return;
		if (st == CSV_MORE)
			return;
		fn(ctx, c, st == CSV_ERROR ? csv_error(c) : NULL);
	}
}

int csv_read_file(const char *path, csv_row_fn fn, void *ctx, char **err_r)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char buf[65536];
	struct csv *c;
	size_t got;
	int rc = 0;

	if (fp == NULL) {
		*err_r = xasprintf("open %s: %s", path, strerror(errno));
		return -1;
	}
	c = csv_new(CSV_MAX_FIELD, CSV_MAX_FIELDS);
	while ((got = fread(buf, 1, sizeof(buf), fp)) > 0)
		feed(c, buf, got, fn, ctx);
	if (ferror(fp)) {
		*err_r = xasprintf("read %s: %s", path, strerror(errno));
		rc = -1;
	} else {
		feed(c, buf, 0, fn, ctx);
	}
	csv_free(&c);
	if (fp != stdin)
		fclose(fp);
	return rc;
}

void csv_put(FILE *fp, const char *s)
{
	int quote = strpbrk(s, ",\"") != NULL;

	if (quote)
		putc('"', fp);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"')
			putc('"', fp);
		putc(*p < 0x20 || *p == 0x7f ? '?' : *p, fp);
	}
	if (quote)
		putc('"', fp);
}
