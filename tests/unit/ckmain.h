/*
 * ckmain - every check-based unit test's main(): its suite built from a
 * table of tests (ck_suite, ck_tcase), then run (ck_run: forking per
 * test, so a crash is one failure), freed, exit 0 only when every test
 * passed.
 */
#ifndef FEDMIG_CKMAIN_H
#define FEDMIG_CKMAIN_H

#include <stddef.h>

#include <check.h>

/* One entry of a test table: TEST once, or LOOPS times with _i from 0 to
 * LOOPS - 1 when LOOPS > 0; EXIT_VALUE the status it must exit with
 * (tcase_add_exit_test), 0 for a test that returns. */
struct ck_test {
	const TTest *test;
	int loops;
	int exit_value;
};

#define CK_TEST(t) {(t), 0, 0}
#define CK_LOOP(t, table) {(t), (int)(sizeof(table) / sizeof((table)[0])), 0}
#define CK_EXIT(t, status) {(t), 0, (status)}

/* ck_tcase: add to S a test case NAME holding the N TESTS in order, each
 * limited to TIMEOUT seconds unless 0 (check's default); returns it, for a
 * fixture. CK_TCASE takes the count from the TESTS array. */
static inline TCase *ck_tcase(Suite *s, const char *name, int timeout,
			      const struct ck_test *tests, size_t n)
{
	TCase *tc = tcase_create(name);
	size_t i;

	if (timeout > 0)
		tcase_set_timeout(tc, timeout);
	for (i = 0; i < n; i++) {
		if (tests[i].loops > 0)
			tcase_add_loop_test(tc, tests[i].test, 0, tests[i].loops);
		else if (tests[i].exit_value != 0)
			tcase_add_exit_test(tc, tests[i].test, tests[i].exit_value);
		else
			tcase_add_test(tc, tests[i].test);
	}
	suite_add_tcase(s, tc);
	return tc;
}
#define CK_TCASE(s, name, timeout, tests) \
	ck_tcase((s), (name), (timeout), (tests), sizeof(tests) / sizeof((tests)[0]))

/* ck_suite: the suite NAME of one test case TCASE (see ck_tcase). */
static inline Suite *ck_suite(const char *name, const char *tcase, int timeout,
			      const struct ck_test *tests, size_t n)
{
	Suite *s = suite_create(name);

	ck_tcase(s, tcase, timeout, tests, n);
	return s;
}
#define CK_SUITE(name, tcase, timeout, tests) \
	ck_suite((name), (tcase), (timeout), (tests), sizeof(tests) / sizeof((tests)[0]))

static inline int ck_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

#endif
