/*
 * ckmain - the end of every check-based unit test's main(): run the suite
 * (forking per test, so a crash is one failure), free it, exit 0 only
 * when every test passed.
 */
#ifndef FEDMIG_CKMAIN_H
#define FEDMIG_CKMAIN_H

#include <check.h>

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
