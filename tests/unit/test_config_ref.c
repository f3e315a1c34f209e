/* config_ref/config_unref and config_keep: what a SIGHUP reload relies on
 * (lib/server.h). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ckmain.h"

static struct config *parse(const char *text)
{
	char *err = NULL;
	struct config *cfg = config_parse(text, "t.conf", &err);

	ck_assert_msg(cfg != NULL, "parse: %s", err ? err : "");
	return cfg;
}

START_TEST(test_refcount)
{
	struct config *cfg = parse("fedmig_user = a\n");
	struct config *held = config_ref(cfg);

	ck_assert_ptr_eq(held, cfg);
	config_unref(&cfg);
	ck_assert_ptr_null(cfg);
	/* The holder's reference keeps it whole. */
	ck_assert_str_eq(config_str(held, "fedmig_user"), "a");
	config_free(&held);
	ck_assert_ptr_null(held);
	config_unref(&held); /* NULL: nothing */
}
END_TEST

static const struct {
	const char *key, *running, *file;
	int differs;
	const char *want; /* the value kept, as config_print shows it */
} keep_cases[] = {
	{"fedmig_user", "fedmig_user = a\n", "fedmig_user = b\n", 1, "fedmig_user = a\n"},
	{"fedmig_user", "fedmig_user = a\n", "fedmig_user = a\n", 0, "fedmig_user = a\n"},
	{"fedmig_user", "", "fedmig_user = b\n", 1, ""},
	{"smd_max_children", "smd_max_children = 3\n", "smd_max_children = 9\n", 1,
	 "smd_max_children = 3\n"},
	{"socket_mode", "socket_mode = 0600\n", "socket_mode = 0666\n", 1, "socket_mode = 0600\n"},
	{"federated_domains", "federated_domains = a.org b.org\n", "federated_domains = c.org\n", 1,
	 "federated_domains = a.org b.org\n"},
};

/* print_set: the keys set in CFG's file, as config_print shows them. */
static char *print_set(const struct config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	config_print(cfg, fp, CONFIG_PRINT_SET);
	fclose(fp);
	return buf;
}

START_TEST(test_keep)
{
	struct config *run = parse(keep_cases[_i].running);
	struct config *new = parse(keep_cases[_i].file);
	char *got;

	ck_assert_msg(config_keep(new, run, keep_cases[_i].key) == keep_cases[_i].differs,
		      "case %d: differs", _i);
	got = print_set(new);
	/* A key kept from the defaults is no longer "set in the file". */
	ck_assert_msg(strstr(got, keep_cases[_i].want) != NULL || !*keep_cases[_i].want,
		      "case %d: got %s", _i, got);
	free(got);
	if (strcmp(keep_cases[_i].key, "smd_max_children") == 0)
		ck_assert_int_eq(config_int(new, "smd_max_children"), 3);
	if (strcmp(keep_cases[_i].key, "socket_mode") == 0)
		ck_assert_int_eq(config_int(new, "socket_mode"), 0600);
	if (strcmp(keep_cases[_i].key, "federated_domains") == 0) {
		size_t n;
		const char *const *w = config_list(new, "federated_domains", &n);

		ck_assert_int_eq(n, 2);
		ck_assert_str_eq(w[1], "b.org");
	}
	if (!*keep_cases[_i].running)
		ck_assert_str_eq(config_str(new, "fedmig_user"), config_str(run, "fedmig_user"));
	config_unref(&run);
	config_unref(&new);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_TEST(test_refcount), CK_LOOP(test_keep, keep_cases),
	};

	return ck_run(CK_SUITE("config_ref", "config_ref", 0, tests));
}
