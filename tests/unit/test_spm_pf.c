/* pf_scan on a listing it cannot wholly read: the drain and the release
 * sweep must not decide from it. A postqueue stand-in prints the lines. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ckmain.h"
#include "config.h"
#include "postfix.h"

static char dir[] = "/tmp/test_spm_pf_XXXXXX";

static const char good[] = "{\"queue_name\":\"deferred\",\"queue_id\":\"A1\",\"recipients\":"
			   "[{\"address\":\"alice@s1.example.org\"}]}";

/* fake_postqueue: a postqueue printing LINES, and a config naming it. */
static struct config *fake_postqueue(const char *lines)
{
	char path[300], *text = NULL, *err = NULL;
	struct config *cfg;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/postqueue", dir);
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fprintf(fp, "#!/bin/sh\ncat <<'EOF'\n%sEOF\n", lines);
	fclose(fp);
	ck_assert_int_eq(chmod(path, 0755), 0);
	if (asprintf(&text, "postfix_command_directory = %s\npostfix_config_directory = %s\n", dir,
		     dir) < 0)
		abort();
	cfg = config_parse(text, "test.conf", &err);
	ck_assert_msg(cfg != NULL, "%s", err ? err : "");
	free(text);
	return cfg;
}

static int count(void *ctx, const struct pq_msg *m)
{
	(*(int *)ctx)++;
	return 0;
}

static int scan(const char *lines, int *seen_r)
{
	struct config *cfg = fake_postqueue(lines);
	char *err = NULL;
	struct pf *pf = pf_open(cfg, &err);
	int rc;

	ck_assert_msg(pf != NULL, "%s", err ? err : "");
	*seen_r = 0;
	rc = pf_scan(pf, count, seen_r);
	pf_close(&pf);
	config_free(&cfg);
	return rc;
}

START_TEST(test_whole_listing)
{
	char lines[512];
	int seen;

	snprintf(lines, sizeof(lines), "%s\n%s\n", good, good);
	ck_assert_int_eq(scan(lines, &seen), 0);
	ck_assert_int_eq(seen, 2);
}
END_TEST

START_TEST(test_unreadable_line)
{
	char lines[512];
	int seen;

	/* Before: 0, and the drain took the queue for empty of P1. */
	snprintf(lines, sizeof(lines), "%s\n{\"queue_name\":\"deferred\"}\n", good);
	ck_assert_int_eq(scan(lines, &seen), -1);
	ck_assert_int_eq(seen, 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("spm_pf");
	TCase *tc = tcase_create("core");
	char cmd[300];
	int rc;

	if (mkdtemp(dir) == NULL)
		return 1;
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_whole_listing);
	tcase_add_test(tc, test_unreadable_line);
	suite_add_tcase(s, tc);
	rc = ck_run(s);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
