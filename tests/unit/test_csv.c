/* CSV parser: table of inputs, fed whole and one byte at a time. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csv.h"
#include "ckmain.h"

/* Each result is "L<line>:" then fields joined by '|', or "E<line>:<reason>". */
static const struct {
	const char *name;
	const char *in;
	size_t len;
	const char *want; /* results separated by ';' */
} cases[] = {
	{"simple", "a,b,c\n", 0, "L1:a|b|c"},
	{"crlf", "a,b\r\nc,d\r\n", 0, "L1:a|b;L2:c|d"},
	{"no final newline", "a,b\nc,d", 0, "L1:a|b;L2:c|d"},
	{"quoted comma", "\"a,b\",c\n", 0, "L1:a,b|c"},
	{"quoted quote", "\"a\"\"b\",c\n", 0, "L1:a\"b|c"},
	{"quoted newline", "\"a\nb\",c\nd,e\n", 0, "L1:a\nb|c;L3:d|e"},
	{"empty fields", ",,\n", 0, "L1:||"},
	{"trailing comma eof", "a,", 0, "L1:a|"},
	{"blank line", "a\n\nb\n", 0, "L1:a;L2:;L3:b"},
	{"quote in unquoted", "a\"b,c\nd,e\n", 0, "E1:quote inside an unquoted field;L2:d|e"},
	{"text after quote", "\"a\"b,c\nd\n", 0, "E1:text after a closing quote;L2:d"},
	{"unclosed quote", "a,\"b\nc\n", 0, "E1:quoted field not closed at end of file"},
	{"nul", "a,b\0c\nd\n", 8, "E1:NUL byte;L2:d"},
	{"cr alone", "a\rb\nc\n", 0, "E1:CR not followed by LF;L2:c"},
	{"too many fields", "a,b,c,d,e,f,g,h,i\nx\n", 0, "E1:too many fields;L2:x"},
	{"field too long", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nb\n",
	 0, "E1:field too long;L2:b"},
	{"empty input", "", 0, ""},
	{"bom", "\xef\xbb\xbf" "access,b\r\nc,d\r\n", 0, "L1:access|b;L2:c|d"},
	{"bom only", "\xef\xbb\xbf", 0, ""},
	{"bom then quote", "\xef\xbb\xbf\"a,b\",c\n", 0, "L1:a,b|c"},
	{"two boms", "\xef\xbb\xbf\xef\xbb\xbf" "a\n", 0, "L1:\xef\xbb\xbf" "a"},
	{"bom not at start", "a\n\xef\xbb\xbf" "b\n", 0, "L1:a;L2:\xef\xbb\xbf" "b"},
	{"half bom", "\xef\xbb" "a,b\n", 0, "L1:\xef\xbb" "a|b"},
	{"half bom at eof", "\xef\xbb", 0, "L1:\xef\xbb"},
	{"bom prefix then comma", "\xef,b\n", 0, "L1:\xef|b"},
};

static void run(const char *in, size_t len, size_t chunk, char *out, size_t outlen)
{
	struct csv *c = csv_new(64, 8);
	size_t off = 0, used;
	enum csv_status st;
	int done_feeding = 0;

	out[0] = '\0';
	for (;;) {
		if (off < len && !done_feeding) {
			size_t n = len - off < chunk ? len - off : chunk;

			st = csv_next(c, in + off, n, &used);
			ck_assert(used <= n);
			off += used;
		} else {
			st = csv_finish(c);
		}
		if (st == CSV_MORE) {
			if (off >= len && done_feeding)
				break;
			done_feeding = off >= len;
			continue;
		}
		char rec[512];

		if (st == CSV_ERROR) {
			snprintf(rec, sizeof(rec), "E%d:%s", csv_line(c), csv_error(c));
		} else {
			snprintf(rec, sizeof(rec), "L%d:", csv_line(c));
			for (size_t i = 0; i < csv_nfields(c); i++) {
				if (i)
					strcat(rec, "|");
				strcat(rec, csv_field(c, i, NULL));
			}
		}
		if (*out)
			strncat(out, ";", outlen - strlen(out) - 1);
		strncat(out, rec, outlen - strlen(out) - 1);
	}
	csv_free(&c);
}

START_TEST(test_table)
{
	char got[2048];
	size_t len = cases[_i].len ? cases[_i].len : strlen(cases[_i].in);

	run(cases[_i].in, len, 1 << 20, got, sizeof(got));
	ck_assert_msg(strcmp(got, cases[_i].want) == 0, "case %d (%s) whole: got \"%s\"", _i,
		      cases[_i].name, got);
	run(cases[_i].in, len, 1, got, sizeof(got));
	ck_assert_msg(strcmp(got, cases[_i].want) == 0, "case %d (%s) bytewise: got \"%s\"", _i,
		      cases[_i].name, got);
}
END_TEST

START_TEST(test_field_len)
{
	struct csv *c = csv_new(64, 8);
	size_t used, len;
	const char *in = "\"x,y\",abc\n";

	ck_assert_int_eq(csv_next(c, in, strlen(in), &used), CSV_RECORD);
	ck_assert_str_eq(csv_field(c, 0, &len), "x,y");
	ck_assert_uint_eq(len, 3);
	ck_assert_str_eq(csv_field(c, 1, &len), "abc");
	ck_assert_uint_eq(len, 3);
	csv_free(&c);
}
END_TEST

static void collect_row(void *ctx, const struct csv *c, const char *error)
{
	char *out = ctx;
	size_t n = strlen(out);

	if (error) {
		snprintf(out + n, 512 - n, "E%d:%s;", csv_line(c), error);
		return;
	}
	n += (size_t)snprintf(out + n, 512 - n, "L%d:", csv_line(c));
	for (size_t i = 0; i < csv_nfields(c); i++)
		n += (size_t)snprintf(out + n, 512 - n, "%s%s", i ? "|" : "", csv_field(c, i, NULL));
	snprintf(out + n, 512 - n, ";");
}

/* The import loop: every record and every error in order, the last line
 * without a newline, the import limits, and a file that is not there. */
START_TEST(test_read_file)
{
	char path[] = "/tmp/test_csv_XXXXXX", out[512] = "", *err = NULL;
	int fd = mkstemp(path);
	FILE *fp = fdopen(fd, "w");

	ck_assert(fp != NULL);
	fprintf(fp, "\xef\xbb\xbf"
		    "a,b\nx\"y,z\n%0*d\n", CSV_MAX_FIELD + 1, 0);
	for (int i = 0; i < CSV_MAX_FIELDS; i++)
		fputs(i ? ",f" : "f", fp);
	fputs("\n\"q,\"\"\",last", fp);
	fclose(fp);
	ck_assert_int_eq(csv_read_file(path, collect_row, out, &err), 0);
	ck_assert_ptr_null(err);
	ck_assert_uint_eq(strncmp(out, "L1:a|b;E2:", 10), 0);
	ck_assert_ptr_nonnull(strstr(out, ";E3:field too long;L4:f|f|"));
	ck_assert_ptr_nonnull(strstr(out, "|f;L5:q,\"|last;"));
	unlink(path);
	ck_assert_int_eq(csv_read_file(path, collect_row, out, &err), -1);
	ck_assert_ptr_nonnull(strstr(err, "open /tmp/test_csv_"));
	free(err);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_LOOP(test_table, cases), CK_TEST(test_field_len), CK_TEST(test_read_file),
	};

	return ck_run(CK_SUITE("csv", "parse", 0, tests));
}
