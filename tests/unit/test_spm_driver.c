/* The provisioning drivers against hostile addresses: nothing reaches a
 * passwd-file, an .addresses file or a script that its parser would read
 * as more than one address; and unform (cancel, rollback) removes what
 * form announced, idempotently. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckmain.h"
#include "testutil.h"
#include "config.h"
#include "driver.h"

static char dir[] = "/tmp/test_spm_driver_XXXXXX";

static struct config *conf(void)
{
	return tu_config("systems = s2 s3\ns2_domain = s2.example.org\ns2_driver = dovecot\n"
		     "s2_passwd_file = %s/passwd\ns2_sieve_directory = %s\n"
		     "s3_domain = s3.example.org\ns3_driver = exec\n"
		     "s3_driver_command = %s/drv.sh\ns3_driver_timeout = 5s\n",
			 dir, dir, dir);
}

static char *slurp(const char *name)
{
	char path[300], *buf = calloc(1, 65536);
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "r")) != NULL) {
		buf[fread(buf, 1, 65535, fp)] = '\0';
		fclose(fp);
	}
	return buf;
}

static void put(const char *name, const char *text)
{
	char path[300];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	ck_assert(fp != NULL);
	fputs(text, fp);
	fclose(fp);
}

/* The script records that it ran: it must never run for these. */
static void script(void)
{
	char path[300];

	put("drv.sh", "#!/bin/sh\necho \"$@\" >>\"$(dirname \"$0\")/ran\"\n");
	snprintf(path, sizeof(path), "%s/drv.sh", dir);
	chmod(path, 0755);
}

static const struct {
	const char *name;
	const char *addr;
	int dovecot_ok, exec_ok; /* 1: the sink takes it */
	const char *shown;	 /* expected in WHY when refused (NULL: skip) */
} cases[] = {
	{"plain", "a@s2.example.org", 1, 1, NULL},
	/* The attack from the issue, as it reaches the driver: the canonical
	 * form of "victim@s2.example.org:{plain}x::::::j"@s2.example.org. */
	{"passwd fields", "victim@s2.example.org:{plain}x::::::j@s2.example.org", 0, 1,
	 "victim@s2.example.org:{plain}x::::::j@s2.example.org"},
	{"space", "john doe@s2.example.org", 0, 1, "john doe@s2.example.org"},
	{"newline", "a\nb:{plain}x::::::@s2.example.org", 0, 0, "a\\x0ab:{plain}"},
	{"cr", "a\rb@s2.example.org", 0, 0, "a\\x0db"},
	{"tab", "a\tb@s2.example.org", 0, 0, "a\\x09b"},
	{"escape", "a\x1b[2Jb@s2.example.org", 0, 0, "a\\x1b[2Jb"},
	{"bad utf8", "a\xff@s2.example.org", 0, 0, "a\\xff@"},
	{"comment", "#a@s2.example.org", 0, 1, "#a@s2.example.org"},
	{"option", "-rf@s2.example.org", 1, 0, "-rf@s2.example.org"},
	{"comma", "a,b@s2.example.org", 0, 1, NULL},
	{"ipv6 literal", "a@[IPv6:::1]", 0, 1, NULL},
	{"not canonical", "<a@s2.example.org>", 0, 0, NULL},
	{"utf8", "j\xc3\xa9r\xc3\xb4me@s2.example.org", 1, 1, NULL},
};

START_TEST(test_dovecot_hostile)
{
	struct config *cfg = conf();
	char why[DRV_WHY], *before, *after, *abefore, *aafter;
	const char *addr = cases[_i].addr;
	const char *aliases[] = {addr};
	int rc[6];

	put("passwd", "old@s2.example.org:{PLAIN}x::::::\n");
	put("passwd.addresses", "old@example.org old@s2.example.org\n");
	before = slurp("passwd");
	abefore = slurp("passwd.addresses");
	why[0] = '\0';
	rc[0] = driver_create(cfg, "s2", addr, "a@example.org", why);
	rc[1] = driver_form(cfg, "s2", "a@s2.example.org", addr, NULL, 0, why);
	rc[2] = driver_form(cfg, "s2", "a@s2.example.org", "a@example.org", aliases, 1, why);
	rc[3] = driver_form(cfg, "s2", addr, "a@example.org", NULL, 0, why);
	rc[4] = driver_redirect(cfg, "s2", "a@s2.example.org", addr, why);
	rc[5] = driver_unform(cfg, "s2", addr, why);
	after = slurp("passwd");
	aafter = slurp("passwd.addresses");
	if (cases[_i].dovecot_ok) {
		for (int k = 0; k < 6; k++)
			ck_assert_msg(rc[k] == DRV_OK, "case %d (%s): verb %d: %s", _i, cases[_i].name,
				      k, why);
	} else {
		for (int k = 0; k < 6; k++)
			ck_assert_msg(rc[k] == DRV_FAIL, "case %d (%s): verb %d accepted it", _i,
				      cases[_i].name, k);
		ck_assert_msg(strcmp(before, after) == 0, "case %d (%s): passwd-file became %s", _i,
			      cases[_i].name, after);
		ck_assert_msg(strcmp(abefore, aafter) == 0, "case %d (%s): .addresses became %s",
			      _i, cases[_i].name, aafter);
		ck_assert_msg(strstr(why, "refusing") != NULL, "case %d (%s): %s", _i,
			      cases[_i].name, why);
		ck_assert_msg(!cases[_i].shown || strstr(why, cases[_i].shown), "case %d (%s): %s",
			      _i, cases[_i].name, why);
		for (const char *p = why; *p; p++)
			ck_assert_msg((unsigned char)*p >= 0x20 && *p != 0x7f,
				      "case %d (%s): raw control byte in \"%s\"", _i, cases[_i].name,
				      why);
	}
	free(before);
	free(after);
	free(abefore);
	free(aafter);
	config_free(&cfg);
}
END_TEST

START_TEST(test_exec_hostile)
{
	struct config *cfg = conf();
	char why[DRV_WHY], path[300], *ran;
	const char *addr = cases[_i].addr;
	int rc[4];

	script();
	snprintf(path, sizeof(path), "%s/ran", dir);
	unlink(path);
	rc[0] = driver_create(cfg, "s3", addr, "a@example.org", why);
	rc[1] = driver_form(cfg, "s3", "a@s3.example.org", "a@example.org", &addr, 1, why);
	rc[2] = driver_redirect(cfg, "s3", "a@s3.example.org", addr, why);
	rc[3] = driver_unform(cfg, "s3", addr, why);
	ran = slurp("ran");
	if (cases[_i].exec_ok) {
		for (int k = 0; k < 4; k++)
			ck_assert_msg(rc[k] == DRV_OK, "case %d (%s): verb %d: %s", _i, cases[_i].name,
				      k, why);
		ck_assert_msg(strstr(ran, "unform ") != NULL, "case %d (%s): ran %s", _i,
			      cases[_i].name, ran);
	} else {
		for (int k = 0; k < 4; k++)
			ck_assert_msg(rc[k] == DRV_FAIL, "case %d (%s): verb %d accepted it", _i,
				      cases[_i].name, k);
		ck_assert_msg(*ran == '\0', "case %d (%s): the script ran: %s", _i, cases[_i].name,
			      ran);
		ck_assert_msg(!cases[_i].shown || strstr(why, cases[_i].shown), "case %d (%s): %s",
			      _i, cases[_i].name, why);
	}
	free(ran);
	config_free(&cfg);
}
END_TEST

/* unform removes every line form wrote for the physical address, keeps the
 * others, and is a no-op the second time and when nothing was formed. */
START_TEST(test_unform)
{
	struct config *cfg = conf();
	char why[DRV_WHY], path[300], *got, *list;
	const char *aliases[] = {"al@example.org", "al2@example.org"};
	struct stat st;

	snprintf(path, sizeof(path), "%s/passwd.addresses", dir);
	unlink(path);
	put("passwd", "");
	ck_assert_int_eq(driver_unform(cfg, "s2", "a@s2.example.org", why), DRV_OK);
	ck_assert_msg(stat(path, &st) < 0, "unform made an empty .addresses file");
	ck_assert_int_eq(driver_create(cfg, "s2", "a@s2.example.org", "a@example.org", why), DRV_OK);
	ck_assert_int_eq(driver_form(cfg, "s2", "a@s2.example.org", "a@example.org", aliases, 2, why),
			 DRV_OK);
	ck_assert_int_eq(driver_form(cfg, "s2", "b@s2.example.org", "b@example.org", NULL, 0, why),
			 DRV_OK);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(driver_unform(cfg, "s2", "a@s2.example.org", why), DRV_OK);
		got = slurp("passwd.addresses");
		ck_assert_str_eq(got, "b@example.org b@s2.example.org\n");
		free(got);
	}
	ck_assert_int_eq(driver_addresses(cfg, "s2", &list, why), DRV_OK);
	ck_assert(!driver_list_has(list, "a@example.org") && !driver_list_has(list, "al@example.org"));
	ck_assert(driver_list_has(list, "a@s2.example.org") && driver_list_has(list, "b@example.org"));
	free(list);
	config_free(&cfg);
}
END_TEST

/* The sieve directory may be writable by Dovecot's user: a link planted
 * at the temporary name must not make the driver write over its target. */
START_TEST(test_sieve_link)
{
	struct config *cfg = conf();
	char why[DRV_WHY], victim[300], link[300], *got;

	put("victim", "precious\n");
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	snprintf(link, sizeof(link), "%s/l@s2.example.org.sieve.tmp", dir);
	unlink(link);
	ck_assert_int_eq(symlink(victim, link), 0);
	ck_assert_msg(driver_redirect(cfg, "s2", "l@s2.example.org", "l@s3.example.org", why) ==
			      DRV_OK,
		      "%s", why);
	got = slurp("victim");
	ck_assert_str_eq(got, "precious\n");
	free(got);
	got = slurp("l@s2.example.org.sieve");
	ck_assert_ptr_nonnull(strstr(got, "redirect \"l@s3.example.org\";"));
	free(got);
	config_free(&cfg);
}
END_TEST

/* A FIFO (or a device) where the passwd-file should be: refused, not
 * read forever. */
START_TEST(test_passwd_fifo)
{
	struct config *cfg = conf();
	char why[DRV_WHY], path[300];

	snprintf(path, sizeof(path), "%s/passwd", dir);
	unlink(path);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(driver_create(cfg, "s2", "f@s2.example.org", "f@example.org", why), DRV_TEMP);
	ck_assert_msg(strstr(why, "not a regular file") != NULL, "%s", why);
	unlink(path);
	config_free(&cfg);
}
END_TEST

#include "run.h"

/* A listing cut at RUN_OUTPUT_MAX must not read as the whole listing:
 * the drain and the sweep would miss the messages beyond the cut. */
START_TEST(test_run_output_cut)
{
	const char *big[] = {"/bin/sh", "-c", "exec head -c 67108865 /dev/zero", NULL};
	const char *small[] = {"/bin/sh", "-c", "echo hello", NULL};
	char *out = NULL, sbuf[64];
	int st;

	st = run_argv(small, NULL, NULL, 20000, &out, NULL);
	ck_assert_int_eq(st, 0);
	ck_assert_str_eq(out, "hello\n");
	free(out);
	st = run_argv(big, NULL, NULL, 20000, &out, NULL);
	ck_assert_msg(st == RUN_TOOBIG, "status %s", run_status_text(st, sbuf));
	free(out);
	/* Output not asked for is not a failure. */
	ck_assert_int_eq(run_argv(big, NULL, NULL, 20000, NULL, NULL), 0);
}
END_TEST

/* postkick's delivered kick dies of SIGPIPE (spm/postfix.c counts it as
 * done): that death must be told from any other signal's. */
START_TEST(test_run_sigpipe)
{
	const char *pipe_[] = {"/bin/sh", "-c", "kill -PIPE $$", NULL};
	const char *term[] = {"/bin/sh", "-c", "kill -TERM $$", NULL};
	char sbuf[64];

	ck_assert_int_eq(run_argv(pipe_, NULL, NULL, 20000, NULL, NULL), RUN_SIGPIPE);
	ck_assert_str_eq(run_status_text(RUN_SIGPIPE, sbuf), "killed by SIGPIPE");
	ck_assert_int_eq(run_argv(term, NULL, NULL, 20000, NULL, NULL), RUN_SIGNALED);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_LOOP(test_dovecot_hostile, cases), CK_LOOP(test_exec_hostile, cases),
		CK_TEST(test_unform), CK_TEST(test_sieve_link), CK_TEST(test_passwd_fifo), CK_TEST(test_run_sigpipe),
		CK_TEST(test_run_output_cut),
	};

	return tu_run_in_tmpdir(CK_SUITE("spm_driver", "driver", 30, tests), dir);
}
