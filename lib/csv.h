/*
 * csv - RFC 4180 records, fed in pieces of any size.
 *
 * Fields are separated by ',', records end with CRLF or LF; a field in
 * double quotes may hold ',', CR, LF and "" (one quote). A quote inside an
 * unquoted field, text after a closing quote, a NUL byte, a field over
 * max_field bytes or a record over max_fields fields is an error; after an
 * error the parser skips to the end of that line and goes on, so a caller
 * can report every bad record. A UTF-8 byte order mark (EF BB BF) at the
 * very start of input is skipped: spreadsheets write one.
 *
 * Contract: csv_next() consumes bytes of BUF (count in *used_r) and returns
 * CSV_RECORD when a record is complete (read it with csv_nfields/csv_field
 * until the next call), CSV_ERROR with csv_error() set for a bad record,
 * or CSV_MORE when BUF is used up. At end of input call csv_finish(): it
 * returns a last record without a line end, an error for an open quote, or
 * CSV_MORE when nothing is left. Lines are counted from 1; csv_line() is
 * the line where the current record (or error) started.
 *
 * csv_read_file(): the whole loop for a file fedmigctl imports: PATH ("-"
 * for stdin) read through a parser with the import limits (a field at
 * most CSV_MAX_FIELD bytes, a record at most CSV_MAX_FIELDS fields), FN
 * called for every record (ERROR NULL) and every bad record (ERROR its
 * reason; the record is then empty), in order, CSV's line set. 0 at the
 * end of the file, or -1 with *ERR_R ("open PATH: ..." or "read PATH:
 * ...", caller frees) when it cannot be opened or read.
 */
#ifndef FEDMIG_CSV_H
#define FEDMIG_CSV_H

#include <stddef.h>
#include <stdio.h>

#define CSV_MAX_FIELD 8192
#define CSV_MAX_FIELDS 64

enum csv_status { CSV_MORE, CSV_RECORD, CSV_ERROR };

struct csv;

struct csv *csv_new(size_t max_field, size_t max_fields);
void csv_free(struct csv **csv);

enum csv_status csv_next(struct csv *csv, const char *buf, size_t len, size_t *used_r);
enum csv_status csv_finish(struct csv *csv);

size_t csv_nfields(const struct csv *csv);
/* csv_field: NUL-terminated field I; *len_r its length. */
const char *csv_field(const struct csv *csv, size_t i, size_t *len_r);
int csv_line(const struct csv *csv);
const char *csv_error(const struct csv *csv);

/* csv_put: S as one field on FP, quoted when it holds ',' or '"';
 * control bytes become '?' (a field may quote a server). */
void csv_put(FILE *fp, const char *s);

typedef void (*csv_row_fn)(void *ctx, const struct csv *csv, const char *error);
int csv_read_file(const char *path, csv_row_fn fn, void *ctx, char **err_r);

#endif
