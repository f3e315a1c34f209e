/* fedmig-policyd's socketmap answer cache (policyd/mapcache.h): an
 * answer lives exactly its time from BEFORE the store was asked, a
 * colliding key replaces the older one and never answers for it, keys
 * and answers too long are not kept, and a reload forgets everything. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "../../policyd/mapcache.h"
#include "ckmain.h"
#include "store.h"

START_TEST(test_hit_and_expiry)
{
	struct mapcache c;
	char out[ADDR_MAX];
	int rc = -1;

	mapcache_init(&c, 100000);
	ck_assert_int_eq(mapcache_get(&c, "a@example.org", 1000, &rc, out), 0);
	mapcache_put(&c, "a@example.org", 1000, STORE_OK, "a@s1.example.org");
	ck_assert_int_eq(mapcache_get(&c, "a@example.org", 1000, &rc, out), 1);
	ck_assert_int_eq(rc, STORE_OK);
	ck_assert_str_eq(out, "a@s1.example.org");
	/* Counted from t0, the time before the store was asked. */
	ck_assert_int_eq(mapcache_get(&c, "a@example.org", 100999, &rc, out), 1);
	ck_assert_int_eq(mapcache_get(&c, "a@example.org", 101000, &rc, out), 0);
	ck_assert_int_eq(mapcache_get(&c, "A@example.org", 1000, &rc, out), 0);
	ck_assert_uint_eq(c.hits, 2);
	mapcache_free(&c);
}
END_TEST

START_TEST(test_notfound_kept)
{
	struct mapcache c;
	char out[ADDR_MAX] = "untouched";
	int rc = -1;

	mapcache_init(&c, 50000);
	mapcache_put(&c, "nobody@example.org", 0, STORE_NOTFOUND, NULL);
	ck_assert_int_eq(mapcache_get(&c, "nobody@example.org", 10, &rc, out), 1);
	ck_assert_int_eq(rc, STORE_NOTFOUND);
	ck_assert_str_eq(out, "untouched");
	/* A temporary failure is never an answer to repeat. */
	mapcache_put(&c, "err@example.org", 0, STORE_ERR, NULL);
	ck_assert_int_eq(mapcache_get(&c, "err@example.org", 10, &rc, out), 0);
	mapcache_free(&c);
}
END_TEST

START_TEST(test_off)
{
	struct mapcache c;
	char out[ADDR_MAX];
	int rc;

	mapcache_init(&c, 0);
	mapcache_put(&c, "a@example.org", 0, STORE_OK, "a@s1.example.org");
	ck_assert_int_eq(mapcache_get(&c, "a@example.org", 0, &rc, out), 0);
	/* Turned on by a reload, off again by the next: nothing survives. */
	mapcache_set_ttl(&c, 1000);
	mapcache_put(&c, "a@example.org", 0, STORE_OK, "a@s1.example.org");
	ck_assert_int_eq(mapcache_get(&c, "a@example.org", 1, &rc, out), 1);
	mapcache_set_ttl(&c, 1000);
	ck_assert_int_eq(mapcache_get(&c, "a@example.org", 1, &rc, out), 0);
	mapcache_put(&c, "a@example.org", 0, STORE_OK, "a@s1.example.org");
	mapcache_set_ttl(&c, 0);
	ck_assert_int_eq(mapcache_get(&c, "a@example.org", 1, &rc, out), 0);
	mapcache_free(&c);
}
END_TEST

/* Keys sharing a slot: the newer replaces the older, and the older is a
 * miss, never the newer's answer. */
START_TEST(test_collisions)
{
	struct mapcache c;
	char key[64], want[64], out[ADDR_MAX];
	int rc, hits = 0;

	mapcache_init(&c, 1000000);
	for (int i = 0; i < 3 * MAPCACHE_SLOTS; i++) {
		snprintf(key, sizeof(key), "u%d@example.org", i);
		snprintf(want, sizeof(want), "u%d@s2.example.org", i);
		mapcache_put(&c, key, 0, STORE_OK, want);
	}
	for (int i = 0; i < 3 * MAPCACHE_SLOTS; i++) {
		snprintf(key, sizeof(key), "u%d@example.org", i);
		snprintf(want, sizeof(want), "u%d@s2.example.org", i);
		if (mapcache_get(&c, key, 1, &rc, out)) {
			ck_assert_str_eq(out, want);
			hits++;
		}
	}
	ck_assert_int_le(hits, MAPCACHE_SLOTS);
	ck_assert_int_gt(hits, MAPCACHE_SLOTS / 2);
	mapcache_clear(&c);
	ck_assert_int_eq(mapcache_get(&c, "u0@example.org", 1, &rc, out), 0);
	mapcache_free(&c);
}
END_TEST

START_TEST(test_too_long)
{
	struct mapcache c;
	char key[ADDR_MAX + 8], out[ADDR_MAX];
	int rc;

	memset(key, 'a', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	mapcache_init(&c, 1000);
	mapcache_put(&c, key, 0, STORE_OK, "a@s1.example.org");
	ck_assert_int_eq(mapcache_get(&c, key, 1, &rc, out), 0);
	mapcache_put(&c, "a@example.org", 0, STORE_OK, key);
	ck_assert_int_eq(mapcache_get(&c, "a@example.org", 1, &rc, out), 0);
	mapcache_free(&c);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_TEST(test_hit_and_expiry), CK_TEST(test_notfound_kept), CK_TEST(test_off),
		CK_TEST(test_collisions), CK_TEST(test_too_long),
	};

	return ck_run(CK_SUITE("mapcache", "mapcache", 0, tests));
}
