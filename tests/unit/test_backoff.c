/* The retry delay: doubling, the cap, and inputs that must not overflow. */
#include <check.h>
#include <limits.h>

#include "backoff.h"
#include "ckmain.h"

#define S 1000000LL

static const struct {
	long long first;
	int attempt;
	long long cap, want;
} cases[] = {
	{30 * S, 1, BACKOFF_CAP_US, 30 * S},
	{30 * S, 2, BACKOFF_CAP_US, 60 * S},
	{30 * S, 5, BACKOFF_CAP_US, 480 * S},
	{30 * S, 0, BACKOFF_CAP_US, 30 * S},	    /* no attempt yet */
	{30 * S, -7, BACKOFF_CAP_US, 30 * S},
	{60 * S, 11, BACKOFF_CAP_US, 61440 * S},    /* 17 h */
	{60 * S, 12, BACKOFF_CAP_US, BACKOFF_CAP_US}, /* 34 h: the cap */
	{100000, 21, BACKOFF_CAP_US, BACKOFF_CAP_US}, /* 100 ms, retry_backoff's least */
	{100000, 1000, BACKOFF_CAP_US, BACKOFF_CAP_US},
	{BACKOFF_CAP_US, 3, BACKOFF_CAP_US, BACKOFF_CAP_US},
	{2 * BACKOFF_CAP_US, 1, BACKOFF_CAP_US, BACKOFF_CAP_US}, /* first over the cap */
	{LLONG_MAX, INT_MAX, LLONG_MAX, LLONG_MAX},
	{LLONG_MAX / 2 + 1, 2, LLONG_MAX, LLONG_MAX},
	{3, INT_MAX, LLONG_MAX, LLONG_MAX},
	{0, 5, BACKOFF_CAP_US, 0},
	{-5, 5, BACKOFF_CAP_US, 0},
	{30 * S, 5, 0, 0},
};

START_TEST(test_table)
{
	ck_assert_msg(backoff_delay_us(cases[_i].first, cases[_i].attempt, cases[_i].cap) ==
			      cases[_i].want,
		      "case %d: got %lld", _i,
		      backoff_delay_us(cases[_i].first, cases[_i].attempt, cases[_i].cap));
}
END_TEST

/* Never shorter than the attempt before, never over the cap. */
START_TEST(test_monotonic)
{
	for (long long first = 1; first < 10 * BACKOFF_CAP_US; first = first * 7 + 3) {
		long long prev = 0;

		for (int a = 1; a < 80; a++) {
			long long d = backoff_delay_us(first, a, BACKOFF_CAP_US);

			ck_assert(d >= prev && d <= BACKOFF_CAP_US);
			prev = d;
		}
	}
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_LOOP(test_table, cases), CK_TEST(test_monotonic),
	};

	return ck_run(CK_SUITE("backoff", "backoff", 0, tests));
}
