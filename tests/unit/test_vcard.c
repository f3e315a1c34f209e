/*
 * vcard: content lines (unfolding, groups, parameters, RFC 6868, 2.1 bare
 * words and quoted-printable), the writer's folding, vCard 2.1 -> 3.0 ->
 * 4.0 -> 3.0, and hostile input: every refusal a sentence, no crash.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckmain.h"
#include "vcard.h"

/* one: the single property of TEXT, parsed (the test fails otherwise). */
static struct vc_lines one(const char *text)
{
	struct vc_lines l = {0};
	char *err = NULL;

	ck_assert_msg(vc_parse(text, strlen(text), &l, &err) == 0, "%s: %s", text, err);
	ck_assert_uint_eq(l.n, 1);
	return l;
}

static const struct {
	const char *in, *group, *name, *value;
} lines[] = {
	{"FN:Jo\r\n hn\r\n", NULL, "FN", "John"},
	{"FN:Jo\n\thn", NULL, "FN", "John"},
	{"fn:x", NULL, "FN", "x"},
	{"item1.EMAIL;TYPE=INTERNET:a@b.example", "item1", "EMAIL", "a@b.example"},
	{"NOTE:a\\, b\\; c\\n", NULL, "NOTE", "a\\, b\\; c\\n"},
	{"X-A:v\r\n ", NULL, "X-A", "v"}, /* a fold at the very end */
	{"N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BC=\r\nller", NULL, "N", "M=C3=BCller"},
	{"NOTE;ENCODING=QUOTED-PRINTABLE:end=", NULL, "NOTE", "end"}, /* soft break at the end */
};

START_TEST(test_lines)
{
	struct vc_lines l = one(lines[_i].in);

	ck_assert_str_eq(l.a[0].name, lines[_i].name);
	ck_assert_str_eq(l.a[0].value, lines[_i].value);
	if (lines[_i].group)
		ck_assert_str_eq(l.a[0].group, lines[_i].group);
	else
		ck_assert_ptr_null(l.a[0].group);
	vc_lines_free(&l);
}
END_TEST

START_TEST(test_params)
{
	struct vc_lines l = one("X-A;label=\"a;b:c,d\";TYPE=x,\"y,z\";P=l1^nl2 ^'q^' ^^ ^x;Q=e^:v");
	struct vc_param *p;

	p = vc_param_get(&l.a[0], "LABEL");
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->nv, 1);
	ck_assert_str_eq(p->v[0], "a;b:c,d");
	p = vc_param_get(&l.a[0], "TYPE");
	ck_assert_uint_eq(p->nv, 2);
	ck_assert_str_eq(p->v[1], "y,z");
	ck_assert_str_eq(vc_param_get(&l.a[0], "P")->v[0], "l1\nl2 \"q\" ^ ^x");
	ck_assert_str_eq(vc_param_get(&l.a[0], "Q")->v[0], "e^"); /* ^ at the end kept */
	ck_assert_str_eq(l.a[0].value, "v");
	vc_lines_free(&l);
}
END_TEST

START_TEST(test_bare_params)
{
	struct vc_lines l = one("TEL;HOME;VOICE;QUOTED-PRINTABLE:1");

	ck_assert(vc_param_has(&l.a[0], "TYPE", "home"));
	ck_assert(vc_param_has(&l.a[0], "TYPE", "VOICE"));
	ck_assert(vc_param_has(&l.a[0], "ENCODING", "QUOTED-PRINTABLE"));
	vc_lines_free(&l);
}
END_TEST

START_TEST(test_write_params)
{
	struct vc_lines l = one("X-A;P=\"a;b\";Q=l1^nl2^'^^:v");
	struct vc_buf b = {0};

	vc_write_prop(&b, &l.a[0]);
	ck_assert_str_eq(b.p, "X-A;P=\"a;b\";Q=l1^nl2^'^^:v\r\n");
	vc_buf_free(&b);
	vc_lines_free(&l);
}
END_TEST

/* test_fold: every physical line at most 75 octets, none starting inside a
 * UTF-8 sequence, and unfolding gives the line back. */
START_TEST(test_fold)
{
	struct vc_buf line = {0}, out = {0};
	struct vc_lines l = {0};
	char *err = NULL, *p;

	vc_buf_adds(&line, "NOTE:");
	for (int i = 0; i < 300; i++)
		vc_buf_adds(&line, i % 3 ? "é" : "ab€");
	vc_fold(&out, line.p, line.n);
	for (p = out.p; *p;) {
		char *e = strstr(p, "\r\n");

		ck_assert_ptr_nonnull(e);
		ck_assert_int_le(e - p, 75);
		ck_assert(((unsigned char)p[p == out.p ? 0 : 1] & 0xc0) != 0x80);
		p = e + 2;
	}
	ck_assert_int_eq(vc_parse(out.p, out.n, &l, &err), 0);
	ck_assert_uint_eq(l.n, 1);
	ck_assert_str_eq(l.a[0].value, line.p + 5);
	vc_lines_free(&l);
	vc_buf_free(&line);
	vc_buf_free(&out);
}
END_TEST

static const struct {
	const char *in, *err;
} bad[] = {
	{"FN", "line 1: no ':'"},
	{":x", "line 1: no property name"},
	{"A:1\r\nX-A;P=\"abc:v", "line 2: unterminated quoted"},
	{"X-A;P=^", "line 1: no ':'"}, /* a parameter escape at the end of input */
	{"X-A;=x:v", "line 1: a parameter without a name"},
	{"FN:a\0b", "a NUL byte at offset 4"},
};

START_TEST(test_bad_lines)
{
	struct vc_lines l = {0};
	char *err = NULL;
	size_t n = strlen(bad[_i].in);

	if (strcmp(bad[_i].err, "a NUL byte at offset 4") == 0)
		n = 6;
	ck_assert_int_eq(vc_parse(bad[_i].in, n, &l, &err), -1);
	ck_assert_msg(strstr(err, bad[_i].err) != NULL, "%d: %s", _i, err);
	ck_assert_ptr_null(l.a);
	free(err);
}
END_TEST

static const struct {
	const char *in, *err;
} badcards[] = {
	{"FN:x\r\n", "line 1: the first line is not BEGIN:VCARD"},
	{"BEGIN:VCARD\r\nFN:x\r\n", "no END:VCARD"},
	{"BEGIN:VCARD\r\nBEGIN:VCARD\r\nBEGIN:VCARD\r\n", "line 2: a nested BEGIN"},
	{"BEGIN:VCARD\r\nEND:VCARD\r\nBEGIN:VCARD\r\nEND:VCARD\r\n", "line 2: text after END"},
	{"BEGIN:VCARD\r\nVERSION:5.0\r\nEND:VCARD\r\n", "line 2: VERSION is not"},
	{"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:\xc3\x28\r\nEND:VCARD\r\n", "line 3: not UTF-8"},
	{"BEGIN:VCARD\r\nVERSION:4.0\r\nFN:\xed\xa0\x80\r\nEND:VCARD\r\n", "line 3: not UTF-8"},
	{"BEGIN:VCARD\r\nFN;X=\"\xff\":a\r\nEND:VCARD\r\n", "line 2: not UTF-8"},
	{"", "the first line is not BEGIN:VCARD"},
};

START_TEST(test_bad_cards)
{
	struct vcard c;
	char *err = NULL;

	ck_assert_int_eq(vcard_parse(badcards[_i].in, strlen(badcards[_i].in), &c, &err), -1);
	ck_assert_msg(strncmp(err, "not a vCard: ", 13) == 0 && strstr(err, badcards[_i].err),
		      "%d: %s", _i, err);
	free(err);
}
END_TEST

/* test_prefixes: every prefix of a card (cut anywhere, even inside a
 * quoted parameter or an escape) is parsed or refused, never more. */
START_TEST(test_prefixes)
{
	static const char card[] = "BEGIN:VCARD\r\nVERSION:2.1\r\nN;ENCODING=QUOTED-PRINTABLE:A=\r\n"
				   "=C3=A9\r\nitem1.X-A;P=\"a^n;b\";Q=^^:v\\,w\r\n x\r\nEND:VCARD\r\n";

	for (size_t n = 0; n <= sizeof(card) - 1; n++) {
		struct vcard c;
		char *err = NULL;

		if (vcard_parse(card, n, &c, &err) == 0) {
			struct vc_buf fixes = {0};

			ck_assert_int_eq(vcard_convert(&c, 40, &fixes, &err), 0);
			vc_buf_free(&fixes);
			vcard_free(&c);
		} else {
			ck_assert_ptr_nonnull(err);
			free(err);
		}
	}
}
END_TEST

START_TEST(test_huge_line)
{
	size_t n = 1 << 20;
	char *t = malloc(n + 64), *err = NULL;
	struct vcard c;
	int k = sprintf(t, "BEGIN:VCARD\r\nNOTE:");

	memset(t + k, 'a', n);
	strcpy(t + k + n, "\r\nEND:VCARD\r\n");
	ck_assert_int_eq(vcard_parse(t, strlen(t), &c, &err), 0);
	ck_assert_uint_eq(c.l.a[0].vlen, n);
	vcard_free(&c);
	free(t);
}
END_TEST

START_TEST(test_many_props)
{
	struct vc_buf b = {0};
	struct vcard c;
	char *err = NULL, *out;
	size_t n;

	vc_buf_adds(&b, "BEGIN:VCARD\r\nVERSION:3.0\r\n");
	for (int i = 0; i < 10000; i++) {
		char l[64];

		snprintf(l, sizeof(l), "EMAIL;TYPE=work:u%d@example.org\r\n", i);
		vc_buf_adds(&b, l);
	}
	vc_buf_adds(&b, "END:VCARD\r\n");
	ck_assert_int_eq(vcard_parse(b.p, b.n, &c, &err), 0);
	ck_assert_uint_eq(c.l.n, 10001);
	out = vcard_write(&c, &n);
	ck_assert_uint_eq(n, b.n);
	ck_assert(memcmp(out, b.p, n) == 0);
	free(out);
	vcard_free(&c);
	vc_buf_free(&b);
}
END_TEST

static const char card21[] =
	"BEGIN:VCARD\r\n"
	"VERSION:2.1\r\n"
	"N;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:M=FCller;J=FCrgen\r\n"
	"FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:J=C3=BCrgen M=C3=BCller\r\n"
	"NOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:Zeile 1=0D=0ADas ist, ein lan=\r\n"
	"ger Text\r\n"
	"ORG:Caf\xe9 GmbH\r\n"
	"TEL;HOME;VOICE:+49 30 1234\r\n"
	"TEL;CELL;PREF:+49 170 1\r\n"
	"EMAIL;INTERNET:j@example.de\r\n"
	"PHOTO;JPEG;ENCODING=BASE64:\r\n"
	" /9j/4AAQ\r\n"
	" SkZJRg==\r\n"
	"\r\n"
	"UID:u-21\r\n"
	"END:VCARD\r\n";

static char *convert(const char *in, int to, char **fixes)
{
	struct vcard c;
	struct vc_buf f = {0};
	char *err = NULL, *out;
	size_t n;

	ck_assert_msg(vcard_parse(in, strlen(in), &c, &err) == 0, "%s", err);
	ck_assert_msg(vcard_convert(&c, to, &f, &err) == 0, "%s", err);
	out = vcard_write(&c, &n);
	ck_assert_uint_eq(strlen(out), n);
	vcard_free(&c);
	*fixes = f.p;
	return out;
}

START_TEST(test_21_to_30)
{
	char *fixes, *out = convert(card21, 30, &fixes);

	ck_assert_str_eq(fixes, "vCard 2.1 made 3.0");
	ck_assert_str_eq(out, "BEGIN:VCARD\r\nVERSION:3.0\r\n"
			      "N:Müller;Jürgen\r\n"
			      "FN:Jürgen Müller\r\n"
			      "NOTE:Zeile 1\\nDas ist\\, ein langer Text\r\n"
			      "ORG:Café GmbH\r\n"
			      "TEL;TYPE=HOME,VOICE:+49 30 1234\r\n"
			      "TEL;TYPE=CELL,PREF:+49 170 1\r\n"
			      "EMAIL;TYPE=INTERNET:j@example.de\r\n"
			      "PHOTO;TYPE=JPEG;ENCODING=b:/9j/4AAQSkZJRg==\r\n"
			      "UID:u-21\r\n"
			      "END:VCARD\r\n");
	free(out);
	free(fixes);
}
END_TEST

START_TEST(test_21_to_40_and_back)
{
	char *fixes, *fixes2, *out = convert(card21, 40, &fixes), *back;

	ck_assert_str_eq(fixes, "vCard 2.1 made 3.0; vCard 3.0 made 4.0");
	ck_assert_msg(strstr(out, "\r\nVERSION:4.0\r\n"), "%s", out);
	ck_assert_msg(strstr(out, "\r\nTEL;TYPE=CELL;PREF=1:+49 170 1\r\n"), "%s", out);
	ck_assert_msg(strstr(out, "\r\nEMAIL:j@example.de\r\n"), "%s", out);
	ck_assert_msg(strstr(out, "\r\nPHOTO:data:image/jpeg;base64,/9j/4AAQSkZJRg==\r\n"), "%s", out);
	ck_assert_msg(strstr(out, "\r\nN:Müller;Jürgen\r\n"), "%s", out);
	back = convert(out, 30, &fixes2);
	ck_assert_str_eq(fixes2, "vCard 4.0 made 3.0");
	ck_assert_msg(strstr(back, "\r\nPHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRg==\r\n"), "%s", back);
	ck_assert_msg(strstr(back, "\r\nTEL;TYPE=CELL,pref:+49 170 1\r\n"), "%s", back);
	free(out);
	free(back);
	free(fixes);
	free(fixes2);
}
END_TEST

START_TEST(test_bad_charset)
{
	static const char c[] = "BEGIN:VCARD\r\nVERSION:2.1\r\nFN;CHARSET=NO-SUCH-SET:x\r\nEND:VCARD\r\n";
	struct vcard v;
	struct vc_buf f = {0};
	char *err = NULL;

	ck_assert_int_eq(vcard_parse(c, strlen(c), &v, &err), 0);
	ck_assert_int_eq(vcard_convert(&v, 30, &f, &err), -1);
	ck_assert_msg(strstr(err, "line 3: a value not in its charset NO-SUCH-SET"), "%s", err);
	free(err);
	vc_buf_free(&f);
	vcard_free(&v);
}
END_TEST

static const struct {
	const char *props, *fn, *fix;
} fns[] = {
	{"N:Müller;Jürgen;Karl,Heinz;Dr.;\\;jr\r\n", "FN:Dr. Jürgen Karl\\,Heinz Müller \\;jr",
	 "FN added from N"},
	{"ORG:ACME;Sales\r\nEMAIL:a@example.org\r\n", "FN:ACME", "FN added from ORG, EMAIL or TEL"},
	{"EMAIL:a@example.org\r\n", "FN:a@example.org", "FN added from ORG, EMAIL or TEL"},
	{"NOTE:x\r\n", "FN:\r", "FN added, empty"},
};

/* test_add_fn: 3.0 and 4.0 need FN; a 2.1 card may have none. */
START_TEST(test_add_fn)
{
	char in[256], *fixes, *out;

	snprintf(in, sizeof(in), "BEGIN:VCARD\r\nVERSION:2.1\r\n%sEND:VCARD\r\n", fns[_i].props);
	out = convert(in, 30, &fixes);
	ck_assert_msg(strstr(out, fns[_i].fn), "%s", out);
	ck_assert_msg(strstr(fixes, fns[_i].fix), "%s", fixes);
	free(out);
	free(fixes);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_LOOP(test_lines, lines),
		CK_TEST(test_params),
		CK_TEST(test_bare_params),
		CK_TEST(test_write_params),
		CK_TEST(test_fold),
		CK_LOOP(test_bad_lines, bad),
		CK_LOOP(test_bad_cards, badcards),
		CK_TEST(test_prefixes),
		CK_TEST(test_huge_line),
		CK_TEST(test_many_props),
		CK_TEST(test_21_to_30),
		CK_TEST(test_21_to_40_and_back),
		CK_TEST(test_bad_charset),
		CK_LOOP(test_add_fn, fns),
	};

	return ck_run(CK_SUITE("vcard", "core", 0, tests));
}
