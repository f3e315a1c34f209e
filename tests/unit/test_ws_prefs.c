/* fedmig-agent, workstation: prefs.js parsed, hostile lines kept verbatim,
 * the accounts listed, the switch checked against a golden file, rerun,
 * rolled back byte for byte. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckmain.h"
#include "testutil.h"
#include "ws_file.h"
#include "ws_prefs.h"
#include "xalloc.h"

#define PROFILE "alice/.thunderbird/abcd1234.default-release"

static const char *fixtures(void)
{
	const char *d = getenv("FEDMIG_WS_FIXTURES");

	return d ? d : "tests/fixtures/ws";
}

/* slurp: the fixture file REL, whole. */
static char *slurp(const char *rel, size_t *len)
{
	char *path = xasprintf("%s/%s", fixtures(), rel), *buf, *err = NULL;
	int dfd = open(".", O_RDONLY | O_DIRECTORY);
	int r;

	ck_assert_int_ge(dfd, 0);
	/* ws_file_read takes one component: open the directory first. */
	*strrchr(path, '/') = '\0';
	close(dfd);
	dfd = open(path, O_RDONLY | O_DIRECTORY);
	ck_assert_msg(dfd >= 0, "open %s", path);
	r = ws_file_read(dfd, strrchr(rel, '/') + 1, WS_PREFS_MAX, &buf, len, NULL, &err);
	ck_assert_msg(r == 0, "%s: %s", rel, err);
	close(dfd);
	free(path);
	return buf;
}

static const struct {
	const char *name, *line;
	enum wsp_type type;
	const char *key, *str;
	long long num;
} cases[] = {
	{"string", "user_pref(\"a.b\", \"x y\");\n", WSP_STR, "a.b", "x y", 0},
	{"single quotes", "user_pref('a', 'it''s');\n", WSP_OTHER, NULL, NULL, 0},
	{"single quoted", "user_pref('a', 'v\\'');\n", WSP_STR, "a", "v'", 0},
	{"int", "user_pref(\"p\", 993);\n", WSP_INT, "p", NULL, 993},
	{"negative", "user_pref(\"p\", -1);", WSP_INT, "p", NULL, -1},
	{"int min", "user_pref(\"p\", -2147483648);", WSP_INT, "p", NULL, -2147483648LL},
	{"int overflow", "user_pref(\"p\", 2147483648);", WSP_OTHER, NULL, NULL, 0},
	{"huge", "user_pref(\"p\", 99999999999999999999999999);", WSP_OTHER, NULL, NULL, 0},
	{"bool", "pref(\"b\", true);", WSP_BOOL, "b", NULL, 1},
	{"sticky", "sticky_pref(\"b\", false);\r\n", WSP_BOOL, "b", NULL, 0},
	{"spaces", " \tuser_pref ( \"k\" , \"v\" ) ; \t// c\n", WSP_STR, "k", "v", 0},
	{"escapes", "user_pref(\"k\", \"\\\\ \\\" \\n \\x41 \\u00e9 \\uD83D\\uDE00\");", WSP_STR,
	 "k", "\\ \" \n A \xc3\xa9 \xf0\x9f\x98\x80", 0},
	{"nul escape", "user_pref(\"k\", \"a\\x00b\");", WSP_OTHER, NULL, NULL, 0},
	{"nul u", "user_pref(\"k\", \"a\\u0000b\");", WSP_OTHER, NULL, NULL, 0},
	{"backslash zero", "user_pref(\"k\", \"a\\0\");", WSP_OTHER, NULL, NULL, 0},
	{"lone surrogate", "user_pref(\"k\", \"\\uD83D\");", WSP_OTHER, NULL, NULL, 0},
	{"low surrogate", "user_pref(\"k\", \"\\uDE00\");", WSP_OTHER, NULL, NULL, 0},
	{"bad hex", "user_pref(\"k\", \"\\xZZ\");", WSP_OTHER, NULL, NULL, 0},
	{"unterminated", "user_pref(\"k\", \"abc);\n", WSP_OTHER, NULL, NULL, 0},
	{"no semicolon", "user_pref(\"k\", 1)\n", WSP_OTHER, NULL, NULL, 0},
	{"trailing junk", "user_pref(\"k\", 1); x\n", WSP_OTHER, NULL, NULL, 0},
	{"two prefs", "user_pref(\"k\", 1); user_pref(\"j\", 2);\n", WSP_OTHER, NULL, NULL, 0},
	{"block comment after", "user_pref(\"k\", 1); /* x */\n", WSP_OTHER, NULL, NULL, 0},
	{"expression", "user_pref(\"k\", 1+1);\n", WSP_OTHER, NULL, NULL, 0},
	{"ident", "user_pref(\"k\", truex);\n", WSP_OTHER, NULL, NULL, 0},
	{"comment", "// user_pref(\"k\", 1);\n", WSP_OTHER, NULL, NULL, 0},
	{"hash", "# user_pref\n", WSP_OTHER, NULL, NULL, 0},
	{"empty", "\n", WSP_OTHER, NULL, NULL, 0},
	{"nul byte", "user_pref(\"k\0\", 1);\n", WSP_OTHER, NULL, NULL, 0},
	{"backslash nul", "user_pref(\"k\", \"a\\\0\");\n", WSP_OTHER, NULL, NULL, 0},
	{"raw utf8", "user_pref(\"k\", \"syst\xc3\xa8me\");", WSP_STR, "k", "syst\xc3\xa8me", 0},
	{"bad utf8 kept", "user_pref(\"k\", \"\xff\xfe\");", WSP_STR, "k", "\xff\xfe", 0},
};

static size_t case_len(int i)
{
	/* "nul byte" holds a NUL: its length is up to the final newline. */
	const char *s = cases[i].line;
	size_t n = strlen(s);

	if (strcmp(cases[i].name, "nul byte") == 0 || strcmp(cases[i].name, "backslash nul") == 0)
		n = n + 1 + strlen(s + n + 1);
	return n;
}

START_TEST(test_line)
{
	struct ws_prefs p;
	const struct wsp_line *l;

	ws_prefs_parse(cases[_i].line, case_len(_i), &p);
	ck_assert_msg(p.n == 1, "case %d %s: %zu lines", _i, cases[_i].name, p.n);
	l = &p.v[0];
	ck_assert_msg(l->type == cases[_i].type, "case %d %s: type %d", _i, cases[_i].name, l->type);
	ck_assert_msg(l->off == 0 && l->len == case_len(_i), "case %d %s: span", _i, cases[_i].name);
	if (cases[_i].key != NULL)
		ck_assert_msg(strcmp(l->key, cases[_i].key) == 0, "case %d %s", _i, cases[_i].name);
	if (cases[_i].str != NULL)
		ck_assert_msg(strcmp(l->str, cases[_i].str) == 0, "case %d %s: [%s]", _i,
			      cases[_i].name, l->str);
	if (l->type == WSP_INT || l->type == WSP_BOOL)
		ck_assert_msg(l->num == cases[_i].num, "case %d %s", _i, cases[_i].name);
	if (l->type != WSP_OTHER)
		ck_assert_msg(l->voff < l->len && l->voff + l->vlen <= l->len, "case %d", _i);
	ws_prefs_free(&p);
}
END_TEST

START_TEST(test_block_comment)
{
	const char *t = "/* start\nuser_pref(\"in\", 1);\n*/ user_pref(\"out\", 1);\n"
			"user_pref(\"after\", 2);\n// /* not a comment start\nuser_pref(\"x\", 3);\n";
	struct ws_prefs p;

	ws_prefs_parse(t, strlen(t), &p);
	ck_assert_ptr_null(ws_prefs_find(&p, "in"));
	ck_assert_ptr_null(ws_prefs_find(&p, "out"));
	ck_assert_ptr_nonnull(ws_prefs_find(&p, "after"));
	ck_assert_ptr_nonnull(ws_prefs_find(&p, "x"));
	ws_prefs_free(&p);
}
END_TEST

START_TEST(test_js_string)
{
	char *s = ws_js_string("a\"b\\c\nd\re");
	struct ws_prefs p;
	char *line;

	ck_assert_str_eq(s, "\"a\\\"b\\\\c\\nd\\re\"");
	line = xasprintf("user_pref(\"k\", %s);", s);
	ws_prefs_parse(line, strlen(line), &p);
	ck_assert_str_eq(ws_prefs_find(&p, "k")->str, "a\"b\\c\nd\re");
	ws_prefs_free(&p);
	free(line);
	free(s);
}
END_TEST

static const char *const old_hosts[] = {"mail.old.example", "pop.old.example", NULL};
static const char *const old_smtp[] = {"smtp.old.example", NULL};
static const char *const nowhere[] = {"nowhere.example", NULL};

static const struct ws_switch sw = {
	.old_hosts = old_hosts,
	.old_smtp = old_smtp,
	.old_user = "alice",
	.imap = {"mail.new.example", 993, 3, "alice@new.example"},
	.pop3 = {"mail.new.example", 995, 3, "alice@new.example"},
	.smtp = {"smtp.new.example", 587, 2, "alice@new.example"},
};

START_TEST(test_accounts)
{
	size_t len;
	char *t = slurp(PROFILE "/prefs.js", &len);
	struct ws_prefs p;
	struct ws_accounts a;

	ws_prefs_parse(t, len, &p);
	ws_prefs_accounts(&p, &a);
	ck_assert_uint_eq(a.nacc, 5);
	ck_assert_uint_eq(a.nsrv, 7); /* not server9, in a block comment */
	ck_assert_uint_eq(a.nsmtp, 2);
	ck_assert_uint_eq(a.nids, 4);
	ck_assert_str_eq(a.acc[0].id, "account1");
	ck_assert_str_eq(a.acc[0].identities, "id1,id3");
	ck_assert_str_eq(a.srv[0].type, "imap");
	ck_assert_str_eq(a.srv[0].host, "mail.old.example");
	ck_assert_int_eq(a.srv[0].port, 993);
	ck_assert_int_eq(a.srv[0].socket, 3);
	ck_assert_str_eq(a.srv[1].type, "none");
	ck_assert_str_eq(a.srv[1].dir, "[ProfD]Mail/Local Folders");
	ck_assert_str_eq(a.srv[3].type, "pop3");
	ck_assert_int_eq(a.srv[3].port, 0);
	ck_assert_int_eq(a.srv[3].socket, -1);
	ck_assert_str_eq(a.smtp[0].host, "smtp.old.example");
	ck_assert_int_eq(a.smtp[0].socket, 2);
	ck_assert_str_eq(a.ids[2].name, "Alice \"the boss\" Durand");
	ck_assert_str_eq(a.ids[0].name, "Alice \xc3\x89milie Durand");
	ws_accounts_free(&a);
	ws_prefs_free(&p);
	free(t);
}
END_TEST

START_TEST(test_local_folders)
{
	size_t len;
	char *t = slurp(PROFILE "/prefs.js", &len), *rel = NULL;
	struct ws_prefs p;
	int maildir = -1;

	ws_prefs_parse(t, len, &p);
	ck_assert_int_eq(ws_prefs_local_folders(&p, &rel, &maildir), 0);
	ck_assert_str_eq(rel, "Mail/Local Folders");
	ck_assert_int_eq(maildir, 0);
	free(rel);
	ws_prefs_free(&p);
	free(t);
	t = slurp("carol/.thunderbird/k3v9xq2m.default-esr/prefs.js", &len);
	ws_prefs_parse(t, len, &p);
	ck_assert_int_eq(ws_prefs_local_folders(&p, &rel, &maildir), 0);
	ck_assert_int_eq(maildir, 1);
	free(rel);
	ws_prefs_free(&p);
	free(t);
	t = "user_pref(\"mail.server.server1.type\", \"none\");\n"
	    "user_pref(\"mail.server.server1.directory-rel\", \"[ProfD]../../etc\");\n";
	ws_prefs_parse(t, strlen(t), &p);
	ck_assert_int_eq(ws_prefs_local_folders(&p, &rel, &maildir), -1);
	ws_prefs_free(&p);
}
END_TEST

/* only_intended: every preference of OUT is ORIG's, byte for byte, but
 * the switched servers' host, port, socket and user keys. */
static void only_intended(const char *orig, size_t olen, const char *out, size_t len)
{
	static const char *const ids[] = {"server.server1.", "server.server4.", "server.server5.",
					  "smtpserver.smtp1."};
	static const char *const names[] = {"hostname", "realhostname", "port", "socketType",
					    "userName", "username", "try_ssl"};
	struct ws_prefs a, b;
	const struct wsp_line *l, *m;
	size_t i, j, k, changed = 0;
	int intended;

	ws_prefs_parse(orig, olen, &a);
	ws_prefs_parse(out, len, &b);
	for (i = 0; i < b.n; i++) {
		l = &b.v[i];
		if (l->type == WSP_OTHER)
			continue;
		intended = 0;
		for (j = 0; j < 4; j++)
			for (k = 0; k < 7; k++)
				if (strncmp(l->key, "mail.", 5) == 0 &&
				    strncmp(l->key + 5, ids[j], strlen(ids[j])) == 0 &&
				    strcmp(l->key + 5 + strlen(ids[j]), names[k]) == 0)
					intended = 1;
		m = ws_prefs_find(&a, l->key);
		if (m != NULL && m->len == l->len && memcmp(orig + m->off, out + l->off, l->len) == 0)
			continue;
		ck_assert_msg(intended, "%s changed", l->key);
		changed++;
	}
	ck_assert_uint_eq(changed, 12);
	ck_assert_uint_eq(b.n, a.n + 4); /* two ports and two socket types added */
	ws_prefs_free(&a);
	ws_prefs_free(&b);
}

START_TEST(test_golden)
{
	size_t len, glen, olen, o2len, changed;
	char *t = slurp(PROFILE "/prefs.js", &len), *g = slurp("golden/prefs.js.switched", &glen);
	char *out, *out2;
	struct ws_prefs p;

	ws_prefs_parse(t, len, &p);
	ws_prefs_rewrite(&p, &sw, &out, &olen, &changed);
	ws_prefs_free(&p);
	if (getenv("WS_WRITE_GOLDEN") != NULL)
		fwrite(out, 1, olen, stdout);
	ck_assert_uint_eq(changed, 12);
	ck_assert_msg(olen == glen && memcmp(out, g, glen) == 0, "differs from the golden file");
	only_intended(t, len, out, olen);
	/* Rerun on the output: nothing to change, byte-identical. */
	ws_prefs_parse(out, olen, &p);
	ws_prefs_rewrite(&p, &sw, &out2, &o2len, &changed);
	ws_prefs_free(&p);
	ck_assert_uint_eq(changed, 0);
	ck_assert(o2len == olen && memcmp(out, out2, olen) == 0);
	free(out2);
	free(out);
	free(g);
	free(t);
}
END_TEST

START_TEST(test_nothing_matches)
{
	struct ws_switch other = sw;
	size_t len, olen, changed;
	char *t = slurp(PROFILE "/prefs.js", &len), *out;
	struct ws_prefs p;

	other.old_hosts = nowhere;
	other.old_smtp = NULL;
	ws_prefs_parse(t, len, &p);
	ws_prefs_rewrite(&p, &other, &out, &olen, &changed);
	ck_assert_uint_eq(changed, 0);
	ck_assert(olen == len && memcmp(out, t, len) == 0);
	ws_prefs_free(&p);
	free(out);
	free(t);
}
END_TEST

static void put(int dfd, const char *name, const char *d, size_t n)
{
	char *err = NULL;

	ck_assert_msg(ws_file_replace(dfd, name, d, n, 0600, &err) == 0, "%s", err);
}

static char *get(int dfd, const char *name, size_t *n)
{
	char *b = NULL, *err = NULL;

	ck_assert_msg(ws_file_read(dfd, name, WS_PREFS_MAX, &b, n, NULL, &err) == 0, "%s", err);
	return b;
}

START_TEST(test_apply_rollback)
{
	char dir[] = "/tmp/test_ws_prefs.XXXXXX", *err = NULL, *t, *g, *b;
	size_t len, glen, n, changed;
	struct stat st1, st2;
	int dfd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	t = slurp(PROFILE "/prefs.js", &len);
	g = slurp("golden/prefs.js.switched", &glen);
	put(dfd, WS_PREFS_FILE, t, len);
	ck_assert_msg(ws_prefs_apply(dfd, &sw, &changed, &err) == 0, "%s", err);
	ck_assert_uint_eq(changed, 12);
	b = get(dfd, WS_PREFS_FILE, &n);
	ck_assert(n == glen && memcmp(b, g, n) == 0);
	free(b);
	b = get(dfd, WS_PREFS_BACKUP, &n);
	ck_assert(n == len && memcmp(b, t, n) == 0);
	free(b);
	/* A rerun writes nothing: same inode, same bytes, backup kept. */
	ck_assert_int_eq(fstatat(dfd, WS_PREFS_FILE, &st1, 0), 0);
	ck_assert_int_eq(ws_prefs_apply(dfd, &sw, &changed, &err), 0);
	ck_assert_uint_eq(changed, 0);
	ck_assert_int_eq(fstatat(dfd, WS_PREFS_FILE, &st2, 0), 0);
	ck_assert(st1.st_ino == st2.st_ino);
	ck_assert_int_eq(ws_prefs_rollback(dfd, &err), 0);
	b = get(dfd, WS_PREFS_FILE, &n);
	ck_assert(n == len && memcmp(b, t, n) == 0);
	free(b);
	/* Switched again after a rollback: the backup is still the original. */
	ck_assert_int_eq(ws_prefs_apply(dfd, &sw, &changed, &err), 0);
	ck_assert_int_eq(ws_prefs_cleanup(dfd, &err), 0);
	ck_assert_int_eq(ws_prefs_rollback(dfd, &err), -2);
	free(err);
	err = NULL;
	/* prefs.js a symbolic link: refused, never followed. */
	ck_assert_int_eq(unlinkat(dfd, WS_PREFS_FILE, 0), 0);
	ck_assert_int_eq(symlinkat(WS_PREFS_BACKUP, dfd, WS_PREFS_FILE), 0);
	put(dfd, WS_PREFS_BACKUP, t, len);
	ck_assert_int_eq(ws_prefs_apply(dfd, &sw, &changed, &err), -1);
	free(err);
	close(dfd);
	free(t);
	free(g);
	ck_assert_int_eq(tu_rmtree(dir), 0);
}
END_TEST

START_TEST(test_switch_ok)
{
	struct ws_switch bad = sw;
	char *err = NULL;

	ck_assert_int_eq(ws_switch_ok(&sw, &err), 0);
	bad.imap.host = "evil\", 1);\nuser_pref(\"x";
	ck_assert_int_eq(ws_switch_ok(&bad, &err), -1);
	free(err);
	bad = sw;
	bad.smtp.user = "a\nb";
	ck_assert_int_eq(ws_switch_ok(&bad, &err), -1);
	free(err);
	bad = sw;
	bad.pop3.port = 70000;
	ck_assert_int_eq(ws_switch_ok(&bad, &err), -1);
	free(err);
	bad = sw;
	bad.imap.socket = 1;
	ck_assert_int_eq(ws_switch_ok(&bad, &err), -1);
	free(err);
	bad = sw;
	bad.old_hosts = NULL;
	ck_assert_int_eq(ws_switch_ok(&bad, &err), -1);
	free(err);
}
END_TEST

int main(void)
{
	const struct ck_test parse[] = {
		CK_LOOP(test_line, cases), CK_TEST(test_block_comment), CK_TEST(test_js_string),
	};
	const struct ck_test rewrite[] = {
		CK_TEST(test_accounts), CK_TEST(test_local_folders), CK_TEST(test_golden), CK_TEST(test_nothing_matches),
		CK_TEST(test_apply_rollback), CK_TEST(test_switch_ok),
	};
	Suite *s = suite_create("ws_prefs");

	CK_TCASE(s, "parse", 0, parse);
	CK_TCASE(s, "rewrite", 0, rewrite);
	return ck_run(s);
}
