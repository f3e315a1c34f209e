/* fedmig.conf: syntax, types, errors with FILE:LINE, and documentation. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "config_check.h"
#include "ckmain.h"

static const struct {
	const char *name;
	const char *text;
	const char *err; /* substring of the error, NULL: must load */
} cases[] = {
	{"empty", "", NULL},
	{"comment and blank", "# hello\n\n   \n", NULL},
	{"simple", "state_database = /tmp/x.db\n", NULL},
	{"continuation", "federated_domains = a.org\n  b.org\n", NULL},
	{"expansion", "run_directory = /run/x\nstate_database = $run_directory/db\n", NULL},
	{"brace expansion", "run_directory = /r\nstate_database = ${run_directory}/a$(run_directory)\n",
	 NULL},
	{"systems", "systems = s1\ns1_domain = s1.example.org\ns1_driver = dovecot\n", NULL},
	{"unknown key", "bogus = 1\n", "t.conf:1: unknown parameter bogus"},
	{"missing equals", "state_database /x\n", "t.conf:1: missing '='"},
	{"duplicate", "fedmig_user = a\nfedmig_user = b\n", "t.conf:2: fedmig_user is already set at line 1"},
	{"bad int", "smd_max_children = many\n", "t.conf:1: smd_max_children: expected a whole number"},
	{"int range", "smd_max_children = 0\n", "out of range"},
	{"bad bool", "fold_local_part = maybe\n", "expected yes or no"},
	{"bad time unit", "drain_timeout = 10y\n", "unknown time unit"},
	{"bad enum", "hold_action = drop\n", "is not one of"},
	{"bad mode", "socket_mode = 0999\n", "octal mode"},
	{"undefined expansion", "state_database = $nothing/x\n", "undefined parameter $nothing"},
	{"loop", "run_directory = $state_database\nstate_database = $run_directory\n", "loops"},
	{"continuation first", "  x\n", "t.conf:1: continuation line"},
	{"system key without system", "s1_domain = a.org\n", "unknown parameter s1_domain"},
	{"system without domain", "systems = s1\n", "system s1 has no s1_domain"},
	{"bad system name", "systems = s_1\n", "not a valid name"},
	/* 64 letters: the store's system field holds 63. */
	{"long system name",
	 "systems = s123456789012345678901234567890123456789012345678901234567890123\n",
	 "not a valid name"},
	/* A $name longer than 255 bytes was cut and looked up cut. */
	{"long expansion name",
	 "state_database = $aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/x\n",
	 "parameter name too long"},
	{"system twice", "systems = a a\na_domain = x.org\n", "named twice"},
	{"system and scenario", "systems = x\nx_domain = y.org\nscenarios = default x\n",
	 "both a system and a scenario"},
	{"default scenario missing", "scenarios = fast\n", "default_scenario"},
	{"scenario keys", "scenarios = default fast\nfast_copy_data = no\n", NULL},
	{"bad name", "my-key = 1\n", "bad parameter name"},
	/* Keys declared but not implemented (KEY_TODO): a setting is an error. */
	/* default_pim was the scenario key not implemented yet; no scenario key
	 * is now (issue 15 implemented it). */
	{"todo key at its default",
	 "systems = s1\ns1_domain = a.org\ns1_dovecot_config = /etc/dovecot/dovecot.conf\n",
	 "s1_dovecot_config: not implemented yet"},
	{"todo system key", "systems = s1\ns1_domain = a.org\ns1_dovecot_config = /x\n",
	 "t.conf:3: s1_dovecot_config: not implemented yet"},
};

/* config_check: keys that parse, checked against each other. */
#define SYS1 "systems = s1\ns1_domain = s1.example.org\n"
static const struct {
	const char *name;
	const char *text;
	const char *err; /* substring of the error, NULL: passes */
} check_cases[] = {
	{"no systems", "", NULL},
	{"exec by default, no command", SYS1, "s1_driver is exec (the default when unset), but "
					      "s1_driver_command is not set"},
	{"exec, no command", SYS1 "s1_driver = exec\n", "set s1_driver_command"},
	{"exec, relative command", SYS1 "s1_driver_command = bin/prov\n", "absolute path"},
	{"exec, not executable", SYS1 "s1_driver_command = /dev/null\n", "not an executable"},
	{"exec, not installed yet", SYS1 "s1_driver_command = /nonexistent/prov\n", NULL},
	{"exec, ok", SYS1 "s1_driver_command = /bin/sh\n", NULL},
	{"dovecot, no passwd_file", SYS1 "s1_driver = dovecot\n", "needs s1_passwd_file"},
	{"dovecot, no directory", SYS1 "s1_driver = dovecot\ns1_passwd_file = /nonexistent/passwd\n",
	 "stat /nonexistent: No such file"},
	{"dovecot, ok", SYS1 "s1_driver = dovecot\ns1_passwd_file = /tmp/passwd\n", NULL},
	{"none", SYS1 "s1_driver = none\n", NULL},
	{"transport comment", SYS1 "s1_driver = none\ns1_transport = lmtp:inet:h:24 # s1\n",
	 "not a Postfix TRANSPORT:NEXTHOP"},
	{"transport without colon", SYS1 "s1_driver = none\ns1_transport = mail.example.org\n",
	 "s1_transport = mail.example.org: not a Postfix"},
	{"transport ok", SYS1 "s1_driver = none\ns1_transport = lmtp:inet:h:24\n", NULL},
	{"two systems, both named", "systems = a b\na_domain = a.org\nb_domain = b.org\n",
	 "system b: b_driver is exec"},
};

START_TEST(test_check)
{
	char *err = NULL;
	struct config *cfg = config_parse(check_cases[_i].text, "t.conf", &err);
	int rc;

	ck_assert_msg(cfg != NULL, "case %d (%s): %s", _i, check_cases[_i].name, err);
	rc = config_check(cfg, &err);
	if (check_cases[_i].err == NULL) {
		ck_assert_msg(rc == 0, "case %d (%s): %s", _i, check_cases[_i].name, err);
	} else {
		ck_assert_msg(rc < 0, "case %d (%s): passed", _i, check_cases[_i].name);
		ck_assert_msg(strstr(err, check_cases[_i].err) != NULL, "case %d (%s): error \"%s\"",
			      _i, check_cases[_i].name, err);
		ck_assert_msg(strncmp(err, "t.conf: system ", 15) == 0, "case %d: %s", _i, err);
	}
	config_free(&cfg);
	free(err);
}
END_TEST

START_TEST(test_table)
{
	char *err = NULL;
	struct config *cfg = config_parse(cases[_i].text, "t.conf", &err);

	if (cases[_i].err == NULL) {
		ck_assert_msg(cfg != NULL, "case %d (%s): %s", _i, cases[_i].name, err);
	} else {
		ck_assert_msg(cfg == NULL, "case %d (%s): loaded", _i, cases[_i].name);
		ck_assert_msg(strstr(err, cases[_i].err) != NULL, "case %d (%s): error \"%s\"", _i,
			      cases[_i].name, err);
	}
	config_free(&cfg);
	free(err);
}
END_TEST

START_TEST(test_values)
{
	char *err = NULL;
	struct config *cfg = config_parse(
		"run_directory = /r\nstate_database = ${run_directory}/db\n"
		"federated_domains = a.org, b.org\n  c.org\ndrain_timeout = 250ms\n"
		"hold_max = 2m\nsocket_mode = 0640\nsystems = old new\nold_domain = s1.org\n"
		"new_domain = s2.org\nnew_driver = dovecot\nscenarios = default quick\n"
		"quick_copy_data = no\n",
		"t.conf", &err);
	size_t n;

	ck_assert_msg(cfg != NULL, "%s", err);
	ck_assert_str_eq(config_str(cfg, "state_database"), "/r/db");
	const char *const *d = config_list(cfg, "federated_domains", &n);

	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(d[2], "c.org");
	ck_assert_int_eq(config_time_ms(cfg, "drain_timeout"), 250);
	ck_assert_int_eq(config_time_ms(cfg, "hold_max"), 120000);
	ck_assert_int_eq(config_time_ms(cfg, "switch_grace"), 200);
	ck_assert_int_eq(config_int(cfg, "smd_max_children"), 4);
	ck_assert_int_eq(config_bool(cfg, "fold_local_part"), 1);
	ck_assert_str_eq(config_sys_str(cfg, "new", "driver"), "dovecot");
	ck_assert_str_eq(config_sys_str(cfg, "old", "driver"), "exec");
	ck_assert_str_eq(config_system_by_domain(cfg, "S2.org"), "new");
	ck_assert_int_eq(config_scn_bool(cfg, "quick", "copy_data"), 0);
	ck_assert_int_eq(config_scn_bool(cfg, "default", "copy_data"), 1);
	ck_assert(config_has_system(cfg, "old"));
	ck_assert(!config_has_system(cfg, "default"));
	config_free(&cfg);
}
END_TEST

START_TEST(test_nul_in_file)
{
	char path[] = "/tmp/fedmig-test-conf-XXXXXX";
	int fd = mkstemp(path);
	char *err = NULL;

	ck_assert(fd >= 0);
	ck_assert_int_eq(write(fd, "a = 1\nb\0c = 2\n", 14), 14);
	close(fd);
	ck_assert(config_load(path, &err) == NULL);
	ck_assert_msg(strstr(err, ":2: NUL byte") != NULL, "%s", err);
	free(err);
	unlink(path);
	ck_assert(config_load("/nonexistent/fedmig.conf", &err) == NULL);
	ck_assert(strstr(err, "/nonexistent/fedmig.conf") != NULL);
	free(err);
}
END_TEST

/* $name expansion is bounded in size as in depth: seven keys of eight
 * references each made an 8 MB value (and 340 MB in all) before. */
START_TEST(test_expansion_size)
{
	char *text = malloc(4096), *err = NULL, *p = text;
	struct config *cfg;

	p += sprintf(p, "k0 = abcd\n");
	for (int i = 1; i <= 7; i++) {
		p += sprintf(p, "k%d = ", i);
		for (int j = 0; j < 8; j++)
			p += sprintf(p, "$k%d", i - 1);
		p += sprintf(p, "\n");
	}
	sprintf(p, "state_database = $k7\n");
	cfg = config_parse(text, "t.conf", &err);
	ck_assert(cfg == NULL);
	ck_assert_msg(strstr(err, "t.conf:9: state_database: value longer than 65536 bytes after "
				  "$name expansion") != NULL,
		      "%s", err);
	free(err);
	free(text);

	/* Just under the limit is a value like any other. */
	text = malloc(70000);
	strcpy(text, "federated_domains = ");
	p = text + strlen(text);
	while (p - text < 65000)
		p += sprintf(p, "d%ld.example.org ", (long)(p - text));
	strcpy(p, "\n");
	cfg = config_parse(text, "t.conf", &err);
	ck_assert_msg(cfg != NULL, "%s", err);
	config_free(&cfg);
	free(text);
}
END_TEST

/* Every key of the table has an entry in fedmig.conf(5). */
START_TEST(test_documented)
{
	const char *page = getenv("FEDMIG_CONF_MAN");
	FILE *fp = fopen(page ? page : "man/fedmig.conf.5", "r");
	static char buf[1 << 20];
	size_t n;

	ck_assert_msg(fp != NULL, "cannot open man/fedmig.conf.5 (run from the top directory)");
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	for (const struct conf_key *k = config_keys(); k->name; k++) {
		char want[256];

		snprintf(want, sizeof(want), ".It Cm %s%s ", k->scope == CONF_GLOBAL ? "" : "NAME_",
			 k->name);
		ck_assert_msg(strstr(buf, want) != NULL, "key %s%s has no entry in fedmig.conf(5)",
			      k->scope == CONF_GLOBAL ? "" : "NAME_", k->name);
	}
}
END_TEST

/* config -n: what the file sets, as written, in the file's order. */
START_TEST(test_print_set)
{
	const char *text = "systems = zz aa\nzz_domain = z.org\naa_domain = $zz_domain\n"
			   "fedmig_user = mig\n";
	char *err = NULL, *out = NULL;
	size_t len = 0;
	struct config *cfg = config_parse(text, "t.conf", &err);
	FILE *fp = open_memstream(&out, &len);

	ck_assert_msg(cfg != NULL, "%s", err);
	config_print(cfg, fp, CONFIG_PRINT_SET);
	fclose(fp);
	ck_assert_str_eq(out, text);
	config_free(&cfg);
	free(out);
}
END_TEST

START_TEST(test_time)
{
	long long ms;
	const char *why;

	ck_assert_int_eq(config_parse_time_ms("5", &ms, &why), 0);
	ck_assert_int_eq(ms, 5000);
	ck_assert_int_eq(config_parse_time_ms("1w", &ms, &why), 0);
	ck_assert_int_eq(ms, 604800000LL);
	ck_assert_int_eq(config_parse_time_ms("-1", &ms, &why), -1);
	ck_assert_int_eq(config_parse_time_ms("99999999999999999999", &ms, &why), -1);
	ck_assert_int_eq(config_parse_time_ms("9999999999999h", &ms, &why), -1);
	ck_assert_int_eq(config_parse_time_ms("", &ms, &why), -1);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_LOOP(test_table, cases), CK_LOOP(test_check, check_cases),
		CK_TEST(test_values), CK_TEST(test_print_set), CK_TEST(test_nul_in_file),
		CK_TEST(test_expansion_size), CK_TEST(test_documented), CK_TEST(test_time),
	};

	return ck_run(CK_SUITE("config", "config", 0, tests));
}
