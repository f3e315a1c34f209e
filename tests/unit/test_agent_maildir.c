/* fedmig-agent: the Maildir++ reader on a temporary tree, hostile names included. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "ckmain.h"
#include "maildir.h"
#include "source.h"
#include "xalloc.h"

/* S: a string literal and its length. */
#define S(x) (x), sizeof(x) - 1

/* put: the file ROOT/PATH with TEXT (directories made as needed). */
static void put(const char *root, const char *path, const char *text)
{
	char *p = xasprintf("%s/%s", root, path), *s;
	FILE *fp;

	for (s = strchr(p + strlen(root) + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(p, 0700);
		*s = '/';
	}
	fp = fopen(p, "w");
	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	fclose(fp);
	free(p);
}

static char *tree(void)
{
	char tmpl[] = "/tmp/test_agent_maildir.XXXXXX";
	char *root = xstrdup(mkdtemp(tmpl));
	char *p;

	put(root, "cur/1000.a.host:2,SRa", "Subject: one\nBody\n");
	put(root, "new/1001.b.host", "Subject: two\r\nCRLF already\r\n");
	put(root, "cur/1002.c.host:2,FTDPb", "x");
	put(root, "cur/.hidden", "never");
	put(root, "cur/bad name:2,S", "never");
	put(root, "dovecot-keywords", "0 $label1\n1 Work\n2 bad(atom\n");
	put(root, ".Sent/cur/2000.x.host:2,S", "sent\n");
	put(root, ".Archive.2020/cur/3000.y.host:2,", "old\n");
	put(root, "subscriptions", "V\t2\n\nINBOX\nSent\nGone\nArchive\t2020\n");
	put(root, "outside/cur/9.z.host:2,S", "secret\n");
	p = xasprintf("%s/.Link", root);
	ck_assert_int_eq(symlink("outside", p), 0);
	free(p);
	p = xasprintf("%s/cur/1003.d.host:2,S", root);
	ck_assert_int_eq(symlink("../outside/cur/9.z.host:2,S", p), 0);
	free(p);
	p = xasprintf("%s/.bad\001name", root);
	mkdir(p, 0700);
	free(p);
	return root;
}

static void rmtree(char *root)
{
	char *cmd = xasprintf("rm -rf '%s'", root);

	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	free(root);
}

struct seen {
	char text[4096];
};

static int on_folder(void *ctx, const struct drv_folder *f)
{
	struct seen *s = ctx;
	size_t n = strlen(s->text);

	snprintf(s->text + n, sizeof(s->text) - n, "%s/%c/%u/%d;", f->name, f->sep ? f->sep : '-',
		 f->attrs, f->subscribed);
	return 0;
}

START_TEST(folders)
{
	char *root = tree(), *err = NULL;
	struct source *src = src_maildir_new(root);
	struct seen s = {""};
	int perm;

	ck_assert_int_eq(src->ops->test(src, &perm, &err), 0);
	ck_assert_int_eq(src->ops->list(src, on_folder, &s, &err), 0);
	/* No Link (a symlink), no name with a control byte; Archive a parent;
	 * INBOX subscribed exists (Dovecot subscribes it). */
	ck_assert_str_eq(s.text, "INBOX/./0/0;Archive.2020/./0/0;Sent/./0/0;Archive/./1/0;"
				 "INBOX/./0/1;Sent/./0/1;Gone/./3/1;Archive.2020/./0/1;");
	src->ops->free(src);
	rmtree(root);
}
END_TEST

struct items {
	char text[4096];
};

static int on_begin(void *ctx, const char *key, const char *flags, const char *date)
{
	struct items *it = ctx;
	size_t n = strlen(it->text);

	snprintf(it->text + n, sizeof(it->text) - n, "[%s|%s|%s]", key, flags, date);
	return 0;
}

static int on_data(void *ctx, const char *d, size_t len)
{
	struct items *it = ctx;
	size_t n = strlen(it->text);

	snprintf(it->text + n, sizeof(it->text) - n, "%.*s", (int)len, d);
	return 0;
}

static int on_end(void *ctx)
{
	struct items *it = ctx;

	strcat(it->text, "|");
	return 0;
}

START_TEST(items_flags_crlf_cursor)
{
	char *root = tree(), *err = NULL, *cursor = NULL, *p;
	struct source *src = src_maildir_new(root);
	struct items it = {""};
	struct src_emit e = {.ctx = &it, .begin = on_begin, .data = on_data, .end = on_end};
	struct timeval tv[2] = {{1577872800, 0}, {1577872800, 0}};
	int more;

	p = xasprintf("%s/cur/1000.a.host:2,SRa", root);
	utimes(p, tv);
	free(p);
	ck_assert_int_eq(src->ops->items(src, "INBOX", "", 2, 1 << 20, &e, &cursor, &more, &err), 0);
	p = "[1000.a.host|\\Answered \\Seen $label1|01-Jan-2020 10:00:00 +0000]"
	    "Subject: one\r\nBody\r\n|[1001.b.host||";
	ck_assert_int_eq(strncmp(it.text, p, strlen(p)), 0);
	ck_assert_ptr_nonnull(strstr(it.text, "Subject: two\r\nCRLF already\r\n|"));
	ck_assert_str_eq(cursor, "1001.b.host");
	ck_assert_int_eq(more, 1);
	it.text[0] = '\0';
	p = cursor;
	ck_assert_int_eq(src->ops->items(src, "INBOX", p, 10, 1 << 20, &e, &cursor, &more, &err), 0);
	free(p);
	/* 1003 is a symbolic link out of the tree: not a message. */
	ck_assert_ptr_nonnull(strstr(it.text, "[1002.c.host|\\Flagged \\Deleted \\Draft $Forwarded Work|"));
	ck_assert_ptr_null(strstr(it.text, "secret"));
	ck_assert_ptr_null(strstr(it.text, "never"));
	ck_assert_int_eq(more, 0);
	free(cursor);
	/* An empty folder (cur and new without a file) reads as nothing, done. */
	put(root, ".Empty/new/x", "");
	p = xasprintf("%s/.Empty/new/x", root);
	ck_assert_int_eq(unlink(p), 0);
	free(p);
	p = xasprintf("%s/.Empty/cur", root);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	free(p);
	it.text[0] = '\0';
	cursor = NULL;
	ck_assert_int_eq(src->ops->items(src, "Empty", "", 10, 1 << 20, &e, &cursor, &more, &err), 0);
	ck_assert_str_eq(it.text, "");
	ck_assert_int_eq(more, 0);
	free(cursor);
	src->ops->free(src);
	rmtree(root);
}
END_TEST

START_TEST(hostile_folders)
{
	char *root = tree(), *err = NULL, *cursor = NULL;
	struct source *src = src_maildir_new(root);
	struct items it = {""};
	struct src_emit e = {.ctx = &it, .begin = on_begin, .data = on_data, .end = on_end};
	static const char *const bad[] = {"..", "../outside", "Link", "a/b", ".Sent", "Sent.",
					  "a..b", "x\001y", "/etc", ""};
	int more;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = NULL;
		ck_assert_msg(src->ops->items(src, bad[i], "", 10, 1 << 20, &e, &cursor, &more,
					      &err) < 0, "%s", bad[i]);
		ck_assert_ptr_nonnull(err);
		free(err);
		free(cursor);
	}
	ck_assert_str_eq(it.text, "");
	ck_assert_int_eq(src->ops->items(src, "Archive.2020", "", 10, 1 << 20, &e, &cursor, &more,
					 &err), 0);
	ck_assert_ptr_nonnull(strstr(it.text, "old\r\n"));
	free(cursor);
	src->ops->free(src);
	rmtree(root);
}
END_TEST

START_TEST(paths_and_parsers)
{
	char *err = NULL, *p, out[32];
	struct md_names subs = {0};
	struct md_keywords kw = {0};
	int cr = 0;

	p = source_maildir_path("/var/vmail/%d/%u/Maildir", "alice@s1.example.org", &err);
	ck_assert_str_eq(p, "/var/vmail/s1.example.org/alice/Maildir");
	free(p);
	ck_assert_ptr_null(source_maildir_path("/v/%d/%u", "../x@s1", &err));
	free(err);
	ck_assert_ptr_null(source_maildir_path("/v/%d/%u", "a@..", &err));
	free(err);
	ck_assert_ptr_null(source_maildir_path("/v/%d/%u", "a/b@s1", &err));
	free(err);
	md_parse_subscriptions(S("a\nb\r\n..\n\n\001\na\n"), &subs);
	ck_assert_int_eq(subs.n, 2);
	md_names_free(&subs);
	md_parse_keywords(S("25 z\n26 no\n-1 no\nx y\n0 \n"), &kw);
	ck_assert_str_eq(kw.kw[25], "z");
	ck_assert_ptr_null(kw.kw[0]);
	md_keywords_free(&kw);
	ck_assert_int_eq(md_crlf("a\r", 2, out, &cr), 2);
	ck_assert_int_eq(md_crlf("\nb\n", 3, out, &cr), 4);
	ck_assert_int_eq(memcmp(out, "\nb\r\n", 4), 0);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_TEST(folders),
		CK_TEST(items_flags_crlf_cursor),
		CK_TEST(hostile_folders),
		CK_TEST(paths_and_parsers),
	};

	return ck_run(CK_SUITE("agent_maildir", "core", 0, tests));
}
