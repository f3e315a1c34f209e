/* fedmig-agent, workstation: the Local Folders as the "@local" source:
 * the folder list, messages in file order with CRLF bytes, flags and
 * dates, deleted ones skipped, and a resume from any cursor giving the
 * same messages once each (mbox and maildir fixtures). */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckmain.h"
#include "src_local.h"
#include "xalloc.h"

#define ALICE "alice/.thunderbird/abcd1234.default-release"
#define CAROL "carol/.thunderbird/k3v9xq2m.default-esr"

static int open_dir(const char *rel)
{
	const char *d = getenv("FEDMIG_WS_FIXTURES");
	char *p = xasprintf("%s/%s", d ? d : "tests/fixtures/ws", rel);
	int fd = open(p, O_RDONLY | O_DIRECTORY);

	ck_assert_msg(fd >= 0, "open %s", p);
	free(p);
	return fd;
}

static struct source *open_src(const char *profile)
{
	char *lf = xasprintf("%s/Mail/Local Folders", profile);
	int fd = open_dir(lf), pfd = open_dir(profile);
	struct source *s = src_local_new(fd, pfd);

	close(fd);
	close(pfd);
	free(lf);
	return s;
}

struct out {
	char text[16384]; /* key|flags|date|size; per item */
	char body[16384]; /* the bytes of every item */
	size_t nb, size;
	int items;
};

static int list_fn(void *ctx, const struct drv_folder *f)
{
	struct out *o = ctx;
	size_t n = strlen(o->text);

	ck_assert_int_eq(f->sep, '/');
	snprintf(o->text + n, sizeof(o->text) - n, "%s%s;", f->name,
		 f->attrs & DRV_F_NOSELECT ? "(noselect)" : "");
	return 0;
}

static int begin(void *ctx, const char *key, const char *flags, const char *date)
{
	struct out *o = ctx;
	size_t n = strlen(o->text);

	snprintf(o->text + n, sizeof(o->text) - n, "%s|%s|%s|", key, flags, date);
	o->size = 0;
	return 0;
}

static int data(void *ctx, const char *d, size_t n)
{
	struct out *o = ctx;

	ck_assert_uint_lt(o->nb + n, sizeof(o->body));
	memcpy(o->body + o->nb, d, n);
	o->nb += n;
	o->size += n;
	return 0;
}

static int end(void *ctx)
{
	struct out *o = ctx;
	size_t n = strlen(o->text);

	snprintf(o->text + n, sizeof(o->text) - n, "%zu;", o->size);
	o->items++;
	return 0;
}

/* all: FOLDER read in batches of at most MAX items; the batches' count. */
static int all(struct source *s, const char *folder, long long max, struct out *o)
{
	const struct src_emit e = {o, begin, data, end};
	char *cursor = xstrdup(""), *next = NULL, *err = NULL;
	int more = 1, batches = 0;

	while (more) {
		ck_assert_msg(s->ops->items(s, folder, cursor, max, 1 << 20, &e, &next, &more, &err) ==
				      0,
			      "items: %s", err ? err : "?");
		ck_assert_msg(strcmp(next, cursor) != 0 || !more, "the cursor must move");
		free(cursor);
		cursor = next;
		batches++;
	}
	free(cursor);
	return batches;
}

START_TEST(test_list_mbox)
{
	struct source *s = open_src(ALICE);
	struct out o = {.items = 0};
	char *err = NULL;
	int perm;

	ck_assert_int_eq(s->ops->test(s, &perm, &err), 0);
	ck_assert_int_eq(s->ops->list(s, list_fn, &o, &err), 0);
	ck_assert_str_eq(o.text, "Archives(noselect);Archives/Old;INBOX;INBOX/Projets &AOk-t&AOk-;"
				 "INBOX/Projets &AOk-t&AOk-/2020;Trash;");
	s->ops->free(s);
}
END_TEST

/* The Inbox: 4 messages, one deleted in Thunderbird (not given), CRLF
 * everywhere, the same bytes and keys whatever the batch size. */
START_TEST(test_items_mbox)
{
	struct source *s = open_src(ALICE);
	struct out one = {.items = 0}, big = {.items = 0};
	size_t i;

	ck_assert_int_eq(all(s, "INBOX", 1000, &big), 1);
	ck_assert_int_eq(big.items, 3);
	ck_assert_int_ge(all(s, "INBOX", 1, &one), 3);
	ck_assert_str_eq(one.text, big.text);
	ck_assert_uint_eq(one.nb, big.nb);
	ck_assert(memcmp(one.body, big.body, big.nb) == 0);
	for (i = 0; i < big.nb; i++)
		if (big.body[i] == '\n')
			ck_assert_msg(i > 0 && big.body[i - 1] == '\r', "bare LF at %zu", i);
	ck_assert_ptr_null(strstr(big.body, "three: seen and expunged"));
	ck_assert_ptr_nonnull(strstr(big.text, "|\\Seen $label1 Work|"));
	ck_assert_ptr_nonnull(strstr(big.text, "|03-Jan-1996 01:05:34 +0000|"));
	ck_assert_ptr_nonnull(strstr(big.body, ">From quoted once"));
	s->ops->free(s);
}
END_TEST

START_TEST(test_resume_mid)
{
	struct source *s = open_src(ALICE);
	struct out a = {.items = 0}, b = {.items = 0};
	const struct src_emit ea = {&a, begin, data, end}, eb = {&b, begin, data, end};
	char *cur = NULL, *cur2 = NULL, *err = NULL;
	int more;

	ck_assert_int_eq(s->ops->items(s, "INBOX", "", 1, 1 << 20, &ea, &cur, &more, &err), 0);
	ck_assert_int_eq(more, 1);
	ck_assert_int_eq(a.items, 1);
	ck_assert_int_eq(s->ops->items(s, "INBOX", cur, 1000, 1 << 20, &eb, &cur2, &more, &err), 0);
	ck_assert_int_eq(more, 0);
	ck_assert_int_eq(b.items, 2);
	ck_assert_ptr_null(strstr(b.text, strtok(a.text, "|")));
	free(cur2);
	ck_assert_int_eq(s->ops->items(s, "INBOX", cur, 1000, 1 << 20, &eb, &cur2, &more, &err), 0);
	free(cur);
	free(cur2);
	ck_assert_int_eq(s->ops->items(s, "INBOX/Projets &AOk-t&AOk-", "", 9, 1 << 20, &eb, &cur2,
				       &more, &err),
			 0);
	free(cur2);
	ck_assert_int_eq(s->ops->items(s, "No such", "", 1, 1, &eb, &cur, &more, &err), -1);
	ck_assert_ptr_nonnull(err);
	free(err);
	free(cur);
	s->ops->free(s);
}
END_TEST

/* A batch stays within max_bytes as the server counts them, CRLF
 * included, whatever the messages' LF size says (only a batch of one
 * item may be larger). */
START_TEST(test_batch_bytes)
{
	struct source *s = open_src(ALICE);
	struct out a = {.items = 0}, b;
	const struct src_emit ea = {&a, begin, data, end};
	char *cur = NULL, *next = NULL, *err = NULL;
	size_t first;
	int more;

	ck_assert_int_eq(s->ops->items(s, "INBOX", "", 1, 1 << 20, &ea, &cur, &more, &err), 0);
	first = a.nb;
	ck_assert_int_eq(s->ops->items(s, "INBOX", cur, 1, 1 << 20, &ea, &next, &more, &err), 0);
	ck_assert_int_eq(a.items, 2);
	free(cur);
	free(next);
	cur = xstrdup("");
	for (more = 1; more;) {
		memset(&b, 0, sizeof(b));
		const struct src_emit eb = {&b, begin, data, end};

		ck_assert_int_eq(s->ops->items(s, "INBOX", cur, 1000, (long long)a.nb - 1, &eb, &next,
					       &more, &err),
				 0);
		ck_assert_msg(b.items <= 1 || b.nb <= a.nb - 1, "%d items, %zu bytes over %zu",
			      b.items, b.nb, a.nb - 1);
		free(cur);
		cur = next;
	}
	ck_assert_uint_gt(first, 0);
	free(cur);
	s->ops->free(s);
}
END_TEST

START_TEST(test_maildir)
{
	struct source *s = open_src(CAROL);
	struct out l = {.items = 0}, one = {.items = 0}, big = {.items = 0};
	char *err = NULL;

	ck_assert_int_eq(s->ops->list(s, list_fn, &l, &err), 0);
	ck_assert_str_eq(l.text, "Drafts;INBOX;INBOX/R&AOk-union;");
	ck_assert_int_eq(all(s, "INBOX", 1000, &big), 1);
	ck_assert_int_eq(big.items, 3);
	ck_assert_int_eq(all(s, "INBOX", 1, &one), 3);
	ck_assert_str_eq(one.text, big.text);
	/* cur/ before new/, tmp/ never; flags from X-Mozilla-Status */
	ck_assert_ptr_nonnull(strstr(big.text, ".1700000000.M1P100.desk."));
	ck_assert_ptr_nonnull(strstr(big.text, "|\\Seen \\Flagged $label2|"));
	ck_assert(strstr(big.text, "1700000001.M2P100") < strstr(big.text, "1700000002.M3P100"));
	ck_assert_ptr_null(strstr(big.text, "1700000003"));
	s->ops->free(s);
}
END_TEST

START_TEST(test_refusals)
{
	char *err = NULL;
	struct source *s = src_local_open(NULL, &err);

	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(strstr(err, "server agent"));
	free(err);
	err = NULL;
	ck_assert_ptr_null(src_local_open("/tmp/not-thunderbird", &err));
	free(err);
	err = NULL;
	ck_assert_ptr_null(src_local_open("relative/.thunderbird", &err));
	free(err);
}
END_TEST

START_TEST(test_open_home)
{
	const char *d = getenv("FEDMIG_WS_FIXTURES");
	char cwd[4096], *tb;
	char *err = NULL;
	struct source *s;
	struct out o = {.items = 0};

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	tb = d && d[0] == '/' ? xasprintf("%s/carol/.thunderbird", d)
			      : xasprintf("%s/%s/carol/.thunderbird", cwd, d ? d : "tests/fixtures/ws");
	s = src_local_open(tb, &err);
	ck_assert_msg(s != NULL, "open: %s", err ? err : "?");
	ck_assert_int_eq(s->ops->list(s, list_fn, &o, &err), 0);
	ck_assert_str_eq(o.text, "Drafts;INBOX;INBOX/R&AOk-union;");
	s->ops->free(s);
	free(tb);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_TEST(test_list_mbox), CK_TEST(test_items_mbox), CK_TEST(test_resume_mid),
		CK_TEST(test_batch_bytes), CK_TEST(test_maildir),   CK_TEST(test_refusals),   CK_TEST(test_open_home),
	};

	return ck_run(CK_SUITE("src_local", "src_local", 0, tests));
}
