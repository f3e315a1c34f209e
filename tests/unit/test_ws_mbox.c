/* fedmig-agent, workstation: Local Folders mbox read as messages: odd
 * "From " lines, Thunderbird's status headers, mboxo and mboxrd, whole
 * and byte by byte, a changed file, and a large file in flat memory. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ckmain.h"
#include "ws_mbox.h"
#include "xalloc.h"

#define LF "alice/.thunderbird/abcd1234.default-release/Mail/Local Folders"

static const char *fixtures(void)
{
	const char *d = getenv("FEDMIG_WS_FIXTURES");

	return d ? d : "tests/fixtures/ws";
}

static int open_fixture(const char *rel)
{
	char *p = xasprintf("%s/%s", fixtures(), rel);
	int fd = open(p, O_RDONLY);

	ck_assert_msg(fd >= 0, "open %s", p);
	free(p);
	return fd;
}

struct got {
	struct ws_msg m[16];
	size_t n;
};

static int on_msg(void *ctx, const struct ws_msg *m)
{
	struct got *g = ctx;

	if (g->n < 16)
		g->m[g->n] = *m;
	g->n++;
	return 0;
}

struct buf {
	char d[4096];
	size_t n;
};

static int on_data(void *ctx, const char *d, size_t n)
{
	struct buf *b = ctx;

	ck_assert(b->n + n <= sizeof(b->d));
	memcpy(b->d + b->n, d, n);
	b->n += n;
	return 0;
}

static void body_is(int fd, enum ws_mbox_kind k, const struct ws_msg *m, const char *want)
{
	struct buf b = {.n = 0};
	char *err = NULL;

	ck_assert_msg(ws_mbox_copy(fd, k, m, on_data, &b, &err) == 0, "%s", err);
	ck_assert_msg(b.n == strlen(want) && memcmp(b.d, want, b.n) == 0, "body [%.*s]", (int)b.n,
		      b.d);
	ck_assert_uint_eq(m->size, b.n);
}

static const char *flags(const struct ws_msg *m)
{
	static char f[256];

	ws_msg_flags(m, f, sizeof(f));
	return f;
}

START_TEST(test_inbox_mboxo)
{
	int fd = open_fixture(LF "/Inbox");
	struct got g = {.n = 0};
	struct ws_mbox_stats st;
	char *err = NULL;

	ck_assert_int_eq(ws_mbox_scan(fd, WS_MBOXO, on_msg, &g, &st, &err), 0);
	ck_assert_uint_eq(g.n, 4);
	ck_assert_uint_eq(st.skipped, 0);
	ck_assert_uint_eq(g.m[0].off, 0);
	ck_assert_str_eq(flags(&g.m[0]), "\\Seen $label1 Work");
	ck_assert_int_eq(g.m[0].date, 1796119200);
	ck_assert_int_eq(g.m[0].date_src, WS_DATE_FROM);
	body_is(fd, WS_MBOXO, &g.m[0],
		"X-Mozilla-Status: 0001\nX-Mozilla-Status2: 00000000\nX-Mozilla-Keys: $label1 Work"
		"                                                                  \n"
		"Date: Mon, 30 Nov 2026 09:00:00 +0100\nFrom: Bob <bob@example.org>\n"
		"Subject: one: read, keywords\n\nFirst body.\n"
		"From here on, a body line that starts with From but has no date.\n\n"
		"From the garden: also no date, after an empty line.\n"
		">From quoted once (mboxo keeps it, mboxrd unquotes)\n>>From quoted twice\n");
	ck_assert_str_eq(flags(&g.m[1]), "\\Seen \\Answered $Forwarded $MDNSent $label1");
	ck_assert_int_eq(g.m[1].date, 820631134);
	body_is(fd, WS_MBOXO, &g.m[1],
		"X-Mozilla-Status: 1003\nX-Mozilla-Status2: 02800000\n"
		"Subject: two: answered, flagged, forwarded, MDN sent, label 1\n\nSecond body.\n\n");
	ck_assert_str_eq(flags(&g.m[2]), "\\Seen \\Deleted");
	ck_assert_int_eq(g.m[2].date, 1310119714);
	body_is(fd, WS_MBOXO, &g.m[2],
		"X-Mozilla-Status: 0009\nSubject: three: seen and expunged, CRLF lines\r\n\r\n"
		"Third body.\r\n");
	ck_assert_str_eq(flags(&g.m[3]), "ok also-ok");
	ck_assert_int_eq(g.m[3].date, 978307200);
	body_is(fd, WS_MBOXO, &g.m[3],
		"X-Mozilla-Status: zzzz\nX-Mozilla-Keys: ok bad(atom \\Seen also-ok\n"
		"Subject: four: bad status, date without seconds\n\nFourth body, no final newline");
	ck_assert_uint_eq(st.msgs, 4);
	close(fd);
}
END_TEST

START_TEST(test_inbox_mboxrd)
{
	int fd = open_fixture(LF "/Inbox");
	struct got g = {.n = 0};
	struct buf b = {.n = 0};
	char *err = NULL;

	ck_assert_int_eq(ws_mbox_scan(fd, WS_MBOXRD, on_msg, &g, NULL, &err), 0);
	ck_assert_uint_eq(g.n, 4);
	ck_assert_int_eq(ws_mbox_copy(fd, WS_MBOXRD, &g.m[0], on_data, &b, &err), 0);
	ck_assert_uint_eq(g.m[0].raw_len, g.m[0].size + 2);
	ck_assert(strstr(b.d, "\nFrom quoted once") != NULL);
	ck_assert(strstr(b.d, "\n>From quoted twice\n") != NULL);
	close(fd);
}
END_TEST

START_TEST(test_nested_and_junk)
{
	int fd = open_fixture(LF "/Archives.sbd/Old");
	struct got g = {.n = 0};
	struct ws_mbox_stats st;
	char *err = NULL;

	ck_assert_int_eq(ws_mbox_scan(fd, WS_MBOXO, on_msg, &g, &st, &err), 0);
	ck_assert_uint_eq(g.n, 1);
	ck_assert_uint_eq(st.skipped, 34);
	body_is(fd, WS_MBOXO, &g.m[0], "Subject: after junk\n\nBody.\n");
	close(fd);
	fd = open_fixture(LF "/Inbox.sbd/Projets \xc3\xa9t\xc3\xa9.sbd/2020");
	g.n = 0;
	ck_assert_int_eq(ws_mbox_scan(fd, WS_MBOXO, on_msg, &g, &st, &err), 0);
	ck_assert_uint_eq(g.n, 1);
	close(fd);
}
END_TEST

/* A message without a date anywhere gets the file's time. */
START_TEST(test_date_sources)
{
	const char *t = "X-Mozilla-Status: 0001\nDate: Thu, 2 Jan 2020 08:00:00 +0000\n\nx\n";
	struct ws_mbox *b = ws_mbox_new(WS_ONE, on_msg, NULL);
	struct got g = {.n = 0};
	char tmpl[] = "/tmp/test_ws_mbox.XXXXXX", *err = NULL;
	int fd;

	ws_mbox_free(&b);
	b = ws_mbox_new(WS_ONE, on_msg, &g);
	ck_assert_int_eq(ws_mbox_feed(b, t, strlen(t)), 0);
	ck_assert_int_eq(ws_mbox_finish(b, NULL), 0);
	ws_mbox_free(&b);
	ck_assert_uint_eq(g.n, 1);
	ck_assert_int_eq(g.m[0].date_src, WS_DATE_HEADER);
	ck_assert_int_eq(g.m[0].date, 1577952000);
	ck_assert_uint_eq(g.m[0].size, strlen(t));
	fd = mkstemp(tmpl);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "Subject: none\n\nbody\n", 20), 20);
	g.n = 0;
	ck_assert_int_eq(ws_mbox_scan(fd, WS_ONE, on_msg, &g, NULL, &err), 0);
	ck_assert_int_eq(g.m[0].date_src, WS_DATE_FILE);
	ck_assert_int_gt(g.m[0].date, 0);
	close(fd);
	unlink(tmpl);
}
END_TEST

static const struct {
	const char *line;
	long long want; /* -1: not a "From " line */
} froms[] = {
	{"From - Tue Dec  1 10:00:00 2026", 1796119200},
	{"From alice@example.org Sat Jan  3 01:05:34 1996", 820631134},
	{"From MAILER-DAEMON Fri Jul  8 12:08:34 2011 +0200", 1310119714},
	{"From a b Fri Jul  8 12:08:34 2011", 1310126914},
	{"From x Fri Jul  8 12:08:34 CEST 2011", 1310126914},
	{"From - Mon Jan 01 00:00 2001", 978307200},
	{"From here on, no date", -1},
	{"From - Tue Dec 32 10:00:00 2026", -1},
	{"From - Tue Dec  1 24:00:00 2026", -1},
	{"From - Tue Dec  1 10:00:00 1969", -1},
	{"From - Tue Dec  1 10:00:00 2026 trailing", -1},
	{"From - Xyz Dec  1 10:00:00 2026", -1},
	{"From Tue Dec  1 10:00:00 2026", -1}, /* no sender */
	{"From  ", -1},
	{"from - Tue Dec  1 10:00:00 2026", -1},
	{"From - Tue Dec  1 10:00:00 20261", -1},
	{"From - Tue Dec  1 10:00:00 2026 +9999", -1},
};

START_TEST(test_from_line)
{
	time_t t = 0;
	int r = ws_from_line(froms[_i].line, strlen(froms[_i].line), &t);

	if (froms[_i].want < 0)
		ck_assert_msg(r == -1, "case %d %s", _i, froms[_i].line);
	else
		ck_assert_msg(r == 0 && t == froms[_i].want, "case %d %s: %d %lld", _i,
			      froms[_i].line, r, (long long)t);
}
END_TEST

static const struct {
	const char *date;
	long long want;
} dates[] = {
	{" Mon, 30 Nov 2026 09:00:00 +0100", 1796025600},
	{"30 Nov 2026 08:00 GMT", 1796025600},
	{"Mon, 30 Nov 26 08:00:00 +0000", 1796025600},
	{"Mon 30 Nov 2026 08:00:00", -1},
	{"30 Foo 2026 08:00:00", -1},
	{"", -1},
	{"99 Nov 2026 08:00:00", -1},
};

START_TEST(test_date_header)
{
	time_t t = 0;
	int r = ws_rfc5322_date(dates[_i].date, strlen(dates[_i].date), &t);

	if (dates[_i].want < 0)
		ck_assert_msg(r == -1, "case %d [%s]", _i, dates[_i].date);
	else
		ck_assert_msg(r == 0 && t == dates[_i].want, "case %d [%s]: %lld", _i, dates[_i].date,
			      (long long)t);
}
END_TEST

/* Hostile and odd inputs: whatever they are, the messages found are the
 * same fed whole, byte by byte and in 7-byte chunks, and their bytes add
 * up to the input less the separators and what was skipped. */
static const char *odd[] = {
	"",
	"From ",
	"no From line at all\n",
	"From - Tue Dec  1 10:00:00 2026",
	"From - Tue Dec  1 10:00:00 2026\n",
	"From - Tue Dec  1 10:00:00 2026\n\nFrom - Tue Dec  1 10:00:00 2026\n\n",
	"From - Tue Dec  1 10:00:00 2026\nX-Mozilla-Status: \0\0\n\0\n\r\r\n\n\n",
	"From - Tue Dec  1 10:00:00 2026\r\n\r\nFrom - Tue Dec  1 10:00:00 2026\r\nb\r\n",
	"From - Tue Dec  1 10:00:00 2026\nX-Mozilla-Status: 00010000000000000000\nX-Mozilla-Keys: "
	"\xff\xfe \\x a\n\nb\nFrom - Tue Dec  1 10:00:00 2026\n",
};

static struct got scan_chunks(const char *in, size_t n, size_t chunk, struct ws_mbox_stats *st)
{
	struct got g = {.n = 0};
	struct ws_mbox *b = ws_mbox_new(WS_MBOXRD, on_msg, &g);
	size_t i, k;

	for (i = 0; i < n; i += k) {
		k = n - i < chunk ? n - i : chunk;
		ck_assert_int_eq(ws_mbox_feed(b, in + i, k), 0);
	}
	ck_assert_int_eq(ws_mbox_finish(b, st), 0);
	ws_mbox_free(&b);
	return g;
}

static void same(const char *in, size_t n, int i)
{
	struct ws_mbox_stats s1, s2, s3;
	struct got a = scan_chunks(in, n, n + 1, &s1), b = scan_chunks(in, n, 1, &s2);
	struct got c = scan_chunks(in, n, 7, &s3);
	size_t j;

	ck_assert_msg(a.n == b.n && a.n == c.n, "case %d: %zu %zu %zu", i, a.n, b.n, c.n);
	ck_assert_msg(s1.skipped == s2.skipped && s1.bytes == s2.bytes && s1.bytes == s3.bytes,
		      "case %d", i);
	for (j = 0; j < a.n && j < 16; j++)
		ck_assert_msg(memcmp(&a.m[j], &b.m[j], sizeof(a.m[j])) == 0 &&
				      memcmp(&a.m[j], &c.m[j], sizeof(a.m[j])) == 0,
			      "case %d message %zu", i, j);
	ck_assert_msg(s1.skipped + s1.bytes <= n, "case %d", i);
}

/* The fixture Inbox, whole and byte by byte: the same messages. */
START_TEST(test_inbox_bytewise)
{
	char *p = xasprintf("%s/%s", fixtures(), LF "/Inbox"), buf[4096];
	int fd = open(p, O_RDONLY);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	same(buf, (size_t)n, 200);
	close(fd);
	free(p);
}
END_TEST

START_TEST(test_odd)
{
	size_t n = strlen(odd[_i]);

	if (_i == 6)
		n = 57; /* holds NULs */
	same(odd[_i], n, _i);
}
END_TEST

/* Lines longer than the line head: a long "From " line is body text, a
 * long quoted line keeps its '>' (the head decides), the bytes count. */
START_TEST(test_long_lines)
{
	size_t n = 3 * WS_HEAD_MAX, k = 0;
	char *in = xmalloc(6 * WS_HEAD_MAX + 200);
	struct ws_mbox_stats st;
	struct got g;

	k += (size_t)sprintf(in, "From - Tue Dec  1 10:00:00 2026\n\n");
	memcpy(in + k, "From ", 5);
	memset(in + k + 5, 'x', n);
	k += 5 + n;
	in[k++] = '\n';
	memset(in + k, '>', n);
	k += n;
	k += (size_t)sprintf(in + k, "From x\n");
	same(in, k, 100);
	g = scan_chunks(in, k, 4096, &st);
	ck_assert_uint_eq(g.n, 1);
	ck_assert_uint_eq(st.bytes, k - 32); /* the From line; the empty line after it is body */
	free(in);
}
END_TEST

START_TEST(test_key)
{
	struct ws_msg m = {.off = 1234};
	char key[WS_KEY_MAX + 1];

	memset(m.sha256, 0xab, sizeof(m.sha256));
	ck_assert_int_eq(ws_msg_key("Inbox/Projets \xc3\xa9t\xc3\xa9", NULL, &m, key, sizeof(key)), 0);
	ck_assert_uint_eq(strlen(key), 16 + 1 + 4 + 1 + 64);
	ck_assert(strstr(key, ".1234.abababab") == key + 16);
	ck_assert_int_eq(ws_msg_key("Inbox", "1650000000.M1P2.host", &m, key, sizeof(key)), 0);
	ck_assert_int_eq(ws_msg_key("Inbox", "../x", &m, key, sizeof(key)), -1);
	ck_assert_int_eq(ws_msg_key("Inbox", "a b", &m, key, sizeof(key)), -1);
	ck_assert_int_eq(ws_msg_key("Inbox", "", &m, key, sizeof(key)), -1);
}
END_TEST

START_TEST(test_changed)
{
	char tmpl[] = "/tmp/test_ws_mbox.XXXXXX", *err = NULL;
	const char *t = "From - Tue Dec  1 10:00:00 2026\nSubject: a\n\nbody\n";
	struct got g = {.n = 0};
	struct buf b = {.n = 0};
	int fd = mkstemp(tmpl);

	ck_assert_int_eq(write(fd, t, strlen(t)), (ssize_t)strlen(t));
	ck_assert_int_eq(ws_mbox_scan(fd, WS_MBOXO, on_msg, &g, NULL, &err), 0);
	ck_assert_int_eq(pwrite(fd, "B", 1, (off_t)strlen(t) - 5), 1);
	ck_assert_int_eq(ws_mbox_copy(fd, WS_MBOXO, &g.m[0], on_data, &b, &err), -2);
	free(err);
	ck_assert_int_eq(ftruncate(fd, 40), 0);
	ck_assert_int_eq(ws_mbox_copy(fd, WS_MBOXO, &g.m[0], on_data, &b, &err), -2);
	free(err);
	close(fd);
	unlink(tmpl);
}
END_TEST

struct count {
	unsigned long long n, bytes;
};

static int count(void *ctx, const struct ws_msg *m)
{
	struct count *c = ctx;

	c->n++;
	c->bytes += m->size;
	return 0;
}

static long maxrss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* A large mbox (WS_BIG_MB, 64 by default; 1024 for the 1 GB)
 * scanned with the peak RSS checked flat; prints MB/s. */
START_TEST(test_large)
{
	const char *e = getenv("WS_BIG_MB");
	long mb = e ? atol(e) : 64, before, after;
	char tmpl[] = "/tmp/test_ws_mbox_big.XXXXXX", *err = NULL, *chunk;
	unsigned long long total = 0, msgs = 0;
	struct count c = {0, 0};
	struct timespec t0, t1;
	size_t k = 0, i;
	double s;
	int fd = mkstemp(tmpl);

	ck_assert_int_ge(fd, 0);
	unlink(tmpl);
	chunk = xmalloc(1 << 20);
	/* 1 MiB of messages of ~16 KiB: a From line, headers, long lines. */
	while (k + 17000 < (1 << 20)) {
		k += (size_t)sprintf(chunk + k, "From - Tue Dec  1 10:00:00 2026\nX-Mozilla-Status: "
						"0001\nSubject: big %zu\n\n", k);
		for (i = 0; i < 200; i++)
			k += (size_t)sprintf(chunk + k, "%078zu\n", i);
		k += (size_t)sprintf(chunk + k, ">From quoted\n\n");
		msgs++;
	}
	for (i = 0; i < (size_t)mb; i++, total += k)
		ck_assert_int_eq(write(fd, chunk, k), (ssize_t)k);
	free(chunk);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	before = maxrss_kb();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(ws_mbox_scan(fd, WS_MBOXRD, count, &c, NULL, &err), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	after = maxrss_kb();
	close(fd);
	s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("ws_mbox large: mb=%.0f msgs=%llu s=%.2f mb_s=%.0f rss_before_kb=%ld "
	       "rss_after_kb=%ld\n",
	       (double)total / 1048576.0, c.n, s, (double)total / 1048576.0 / s, before, after);
	ck_assert_uint_eq(c.n, msgs * (unsigned long long)mb);
	ck_assert_uint_eq(c.bytes + c.n * (32 + 1 + 1), total); /* From line, ">", separator */
	/* Flat: a few buffers, whatever the size. ASan's shadow and
	 * quarantine add their own, still far below a file held whole. */
#ifdef __SANITIZE_ADDRESS__
	ck_assert_msg(after - before < mb * 1024 / 4, "RSS grew by %ld KiB", after - before);
#else
	ck_assert_msg(after - before < 4096, "RSS grew by %ld KiB", after - before);
#endif
}
END_TEST

int main(void)
{
	const struct ck_test files[] = {
		CK_TEST(test_inbox_mboxo), CK_TEST(test_inbox_mboxrd), CK_TEST(test_nested_and_junk),
		CK_TEST(test_date_sources), CK_TEST(test_changed),
	};
	const struct ck_test parse[] = {
		CK_LOOP(test_from_line, froms), CK_LOOP(test_date_header, dates),
		CK_LOOP(test_odd, odd), CK_TEST(test_inbox_bytewise), CK_TEST(test_long_lines), CK_TEST(test_key),
	};
	const struct ck_test big[] = {CK_TEST(test_large)};
	Suite *s = suite_create("ws_mbox");

	CK_TCASE(s, "files", 0, files);
	CK_TCASE(s, "parse", 0, parse);
	CK_TCASE(s, "large", 600, big);
	return ck_run(s);
}
