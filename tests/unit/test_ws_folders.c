/* fedmig-agent, workstation: the Local Folders tree in its mbox and
 * maildir stores, nested and non-ASCII names, links and odd names
 * skipped, maildir messages read as one message each. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckmain.h"
#include "testutil.h"
#include "ws_folders.h"
#include "ws_mbox.h"
#include "xalloc.h"

static const char *fixtures(void)
{
	const char *d = getenv("FEDMIG_WS_FIXTURES");

	return d ? d : "tests/fixtures/ws";
}

static int open_dir(const char *rel)
{
	char *p = xasprintf("%s/%s", fixtures(), rel);
	int fd = open(p, O_RDONLY | O_DIRECTORY);

	ck_assert_msg(fd >= 0, "open %s", p);
	free(p);
	return fd;
}

struct seen {
	char text[2048];
};

static int on_folder(void *ctx, const struct ws_folder *f)
{
	struct seen *s = ctx;
	size_t n = strlen(s->text);

	snprintf(s->text + n, sizeof(s->text) - n, "%c:%s:%llu:%llu;",
		 "MDP"[f->kind], f->name, f->size, f->count);
	ck_assert((f->fd >= 0) == (f->kind != WS_FOLDER_PARENT));
	return 0;
}

START_TEST(test_mbox_store)
{
	int root = open_dir("alice/.thunderbird/abcd1234.default-release/Mail/Local Folders");
	struct seen s = {""};
	unsigned skipped;
	char *err = NULL;

	ck_assert_int_eq(ws_folders(root, on_folder, &s, &skipped, &err), 0);
	ck_assert_str_eq(s.text, "P:Archives:0:0;M:Archives/Old:93:0;M:Inbox:962:0;"
				 "M:Inbox/Projets \xc3\xa9t\xc3\xa9:112:0;"
				 "M:Inbox/Projets \xc3\xa9t\xc3\xa9/2020:118:0;M:Trash:0:0;");
	ck_assert_uint_eq(skipped, 0);
	close(root);
}
END_TEST

START_TEST(test_maildir_store)
{
	int root = open_dir("carol/.thunderbird/k3v9xq2m.default-esr/Mail/Local Folders");
	struct seen s = {""};
	unsigned skipped;
	char *err = NULL;

	ck_assert_int_eq(ws_folders(root, on_folder, &s, &skipped, &err), 0);
	ck_assert_str_eq(s.text, "D:Drafts:0:0;D:Inbox:234:3;D:Inbox/R\xc3\xa9union:50:1;");
	close(root);
}
END_TEST

/* Each maildir message as WS_ONE: flags, date and the key from its name. */
struct md_msgs {
	char text[2048];
	int dirfd;
	const char *name;
};

static int on_md_msg(void *ctx, const struct ws_msg *m)
{
	struct md_msgs *c = ctx;
	char flags[256], key[WS_KEY_MAX + 1];
	size_t n = strlen(c->text);

	ws_msg_flags(m, flags, sizeof(flags));
	ck_assert_int_eq(ws_msg_key("Inbox", c->name, m, key, sizeof(key)), 0);
	snprintf(c->text + n, sizeof(c->text) - n, "%s[%s]%d:%llu;", c->name, flags, m->date_src,
		 m->size);
	return 0;
}

static int md_file(void *ctx, int dirfd, const char *sub, const char *name)
{
	struct md_msgs *c = ctx;
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW);
	char *err = NULL;
	int r;

	ck_assert_int_ge(fd, 0);
	c->name = name;
	r = ws_mbox_scan(fd, WS_ONE, on_md_msg, c, NULL, &err);
	close(fd);
	return r;
}

START_TEST(test_maildir_messages)
{
	int root = open_dir("carol/.thunderbird/k3v9xq2m.default-esr/Mail/Local Folders/Inbox");
	struct md_msgs c = {.text = ""};
	char *err = NULL;

	ck_assert_int_eq(ws_maildir_each(root, md_file, &c, &err), 0);
	ck_assert_str_eq(c.text, "1700000000.M1P100.desk[\\Seen \\Flagged $label2]2:156;"
				 "1700000001.M2P100.desk[]3:37;"
				 "1700000002.M3P100.desk[]3:41;");
	close(root);
}
END_TEST

static void mk(const char *root, const char *rel, int dir)
{
	char *p = xasprintf("%s/%s", root, rel);
	int fd;

	if (dir)
		ck_assert_int_eq(mkdir(p, 0700), 0);
	else {
		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(write(fd, "From - Tue Dec  1 10:00:00 2026\n\nx\n", 35), 35);
		close(fd);
	}
	free(p);
}

START_TEST(test_hostile_tree)
{
	char dir[] = "/tmp/test_ws_folders.XXXXXX", *err = NULL, *p, *q;
	struct seen s = {""};
	unsigned skipped;
	int root, i;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	mk(dir, "ok", 0);
	mk(dir, ".hidden", 0);
	mk(dir, "bad\xff", 0);
	mk(dir, "ctl\001", 0);
	mk(dir, "notmail", 1); /* a directory without cur/: no folder */
	p = xasprintf("%s/link", dir);
	ck_assert_int_eq(symlink("/etc", p), 0);
	free(p);
	p = xasprintf("%s/linkfile", dir);
	ck_assert_int_eq(symlink("/etc/passwd", p), 0);
	free(p);
	mk(dir, "ok.sbd", 1);
	/* 40 levels of a.sbd/a.sbd/...: cut at WS_DEPTH_MAX. */
	q = xstrdup("ok.sbd");
	for (i = 0; i < 40; i++) {
		p = xasprintf("%s/a.sbd", q);
		mk(dir, p, 1);
		free(q);
		q = p;
	}
	free(q);
	root = open(dir, O_RDONLY | O_DIRECTORY);
	ck_assert_int_eq(ws_folders(root, on_folder, &s, &skipped, &err), 0);
	ck_assert_msg(strncmp(s.text, "M:ok:35:0;P:ok/a:0:0;P:ok/a/a:0:0;", 34) == 0, "%s", s.text);
	ck_assert_ptr_null(strstr(s.text, "link"));
	ck_assert_ptr_null(strstr(s.text, "hidden"));
	ck_assert_ptr_null(strstr(s.text, "notmail"));
	ck_assert_uint_eq(skipped, 6); /* .hidden, bad, ctl, link, linkfile, the depth */
	close(root);
	ck_assert_int_eq(tu_rmtree(dir), 0);
}
END_TEST

START_TEST(test_utf8)
{
	ck_assert(ws_utf8_ok("Projets \xc3\xa9t\xc3\xa9"));
	ck_assert(ws_utf8_ok("\xf0\x9f\x98\x80"));
	ck_assert(!ws_utf8_ok("\xc0\xaf"));         /* overlong '/' */
	ck_assert(!ws_utf8_ok("\xed\xa0\x80"));     /* a surrogate */
	ck_assert(!ws_utf8_ok("\xf4\x90\x80\x80")); /* beyond U+10FFFF */
	ck_assert(!ws_utf8_ok("a\x7f"));
	ck_assert(!ws_utf8_ok("\xc3"));
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_TEST(test_mbox_store),   CK_TEST(test_maildir_store), CK_TEST(test_maildir_messages),
		CK_TEST(test_hostile_tree), CK_TEST(test_utf8),
	};

	return ck_run(CK_SUITE("ws_folders", "folders", 0, tests));
}
