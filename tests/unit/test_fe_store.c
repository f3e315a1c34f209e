/* The front ends' store (lib/store_fe.h): registration, heartbeats,
 * orders and their states, held messages per front end; names that are
 * not names refused. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_fe.h"
#include "store_req.h"
#include "ckmain.h"
#include "testutil.h"

static char dir[] = "/tmp/test_fe_XXXXXX";

static struct store *fresh(void)
{
	return tu_store_fresh(dir);
}

START_TEST(test_names)
{
	char longname[FE_NAME_MAX + 1];

	ck_assert(fe_name_ok("mx1"));
	ck_assert(fe_name_ok("mx-2.example_org"));
	ck_assert(!fe_name_ok(""));
	ck_assert(!fe_name_ok("mx 1"));
	ck_assert(!fe_name_ok("mx1/../x"));
	ck_assert(!fe_name_ok("mx1'; DROP TABLE frontends;--"));
	ck_assert(!fe_name_ok("mx\n1"));
	ck_assert(!fe_name_ok("m\xc3\xa9x"));
	memset(longname, 'a', FE_NAME_MAX);
	longname[FE_NAME_MAX] = '\0';
	ck_assert(!fe_name_ok(longname));
	longname[FE_NAME_MAX - 1] = '\0';
	ck_assert(fe_name_ok(longname));
}
END_TEST

static int count_fe(void *ctx, const struct fe_info *f)
{
	(void)f;
	++*(int *)ctx;
	return 0;
}

START_TEST(test_register)
{
	struct store *s = fresh();
	long long n = -1;
	int k = 0;

	ck_assert_int_eq(store_fe_count(s, &n), STORE_OK);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(store_fe_seen(s, "mx1", 5), STORE_NOTFOUND);
	ck_assert_int_eq(store_fe_add(s, "mx1", 1), STORE_OK);
	ck_assert_int_eq(store_fe_add(s, "mx1", 2), STORE_FE_EXISTS);
	ck_assert_int_eq(store_fe_add(s, "mx2", 2), STORE_OK);
	ck_assert_int_eq(store_fe_seen(s, "mx1", 5), STORE_OK);
	ck_assert_int_eq(store_fe_count(s, &n), STORE_OK);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(store_fe_list(s, count_fe, &k), STORE_OK);
	ck_assert_int_eq(k, 2);
	ck_assert_int_eq(store_fe_remove(s, "mx2"), STORE_OK);
	ck_assert_int_eq(store_fe_remove(s, "mx2"), STORE_NOTFOUND);
	ck_assert_int_eq(store_fe_count(s, &n), STORE_OK);
	ck_assert_int_eq(n, 1);
	store_close(&s);
}
END_TEST

struct seen {
	int n, drained;
	char state[4][16];
};

static int look(void *ctx, const struct fe_order *o)
{
	struct seen *w = ctx;

	if (w->n < 4)
		snprintf(w->state[w->n], sizeof(w->state[0]), "%s", o->state);
	w->n++;
	w->drained += strcmp(o->state, "drained") == 0;
	return 0;
}

static int addr_count(void *ctx, long long req, const char *phys)
{
	ck_assert(req == 7 || req == 8);
	ck_assert(strcmp(phys, req == 7 ? "a@s1.example.org" : "b c@s1.example.org") == 0);
	++*(int *)ctx;
	return 0;
}

START_TEST(test_orders)
{
	struct store *s = fresh();
	const char *phys[] = {"a@s1.example.org", "b c@s1.example.org"};
	const long long req[] = {7, 8};
	long long b1, b2;
	struct fe_order o;
	struct seen w = {0};
	int k = 0;

	ck_assert_int_eq(store_fe_add(s, "mx1", 1), STORE_OK);
	ck_assert_int_eq(store_fe_add(s, "mx2", 1), STORE_OK);
	ck_assert_int_eq(store_fe_order_drain(s, 2, phys, req, 100, &b1), STORE_OK);
	ck_assert_int_eq(b1, 100);
	/* A clock that went back still gives a new batch. */
	ck_assert_int_eq(store_fe_order_drain(s, 1, phys, req, 50, &b2), STORE_OK);
	ck_assert_int_eq(b2, 101);
	ck_assert_int_eq(store_fe_order_next(s, "mx1", &o), STORE_OK);
	ck_assert_int_eq(o.batch, b1);
	ck_assert_str_eq(o.kind, "drain");
	ck_assert_str_eq(o.state, "new");
	ck_assert_int_eq(store_fe_batch_addrs(s, b1, addr_count, &k), STORE_OK);
	ck_assert_int_eq(k, 2);
	ck_assert_int_eq(store_fe_order_state(s, "mx1", b1, "running", NULL, 110), STORE_OK);
	/* Died mid-order: the same order again. */
	ck_assert_int_eq(store_fe_order_next(s, "mx1", &o), STORE_OK);
	ck_assert_int_eq(o.batch, b1);
	ck_assert_int_eq(o.started, 110);
	ck_assert_int_eq(store_fe_order_state(s, "mx1", b1, "drained", "", 120), STORE_OK);
	ck_assert_int_eq(store_fe_order_state(s, "mx9", b1, "drained", "", 120), STORE_NOTFOUND);
	ck_assert_int_eq(store_fe_batch(s, b1, look, &w), STORE_OK);
	ck_assert_int_eq(w.n, 2);
	ck_assert_int_eq(w.drained, 1);
	ck_assert_int_eq(store_fe_batch_cancel(s, b1, 130), STORE_OK);
	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(store_fe_batch(s, b1, look, &w), STORE_OK);
	ck_assert_str_eq(w.state[0], "drained"); /* mx1: finished stays */
	ck_assert_str_eq(w.state[1], "cancelled");
	/* Release orders: none while nothing is held; then they coalesce,
	 * one open per front end. */
	ck_assert_int_eq(store_fe_order_release(s, 150), STORE_OK);
	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(store_fe_batch(s, 150, look, &w), STORE_OK);
	ck_assert_int_eq(w.n, 0);
	ck_assert_int_eq(store_fe_held_add(s, "mx1", "4jfGCY2ngVz1c6y1", 7, "a", 140), STORE_OK);
	ck_assert_int_eq(store_fe_held_add(s, "mx2", "4jfGCY2ngVz1c6y2", 7, "a", 140), STORE_OK);
	ck_assert_int_eq(store_fe_order_release(s, 200), STORE_OK);
	ck_assert_int_eq(store_fe_order_release(s, 201), STORE_OK);
	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(store_fe_batch(s, 200, look, &w), STORE_OK);
	ck_assert_int_eq(w.n, 2);
	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(store_fe_batch(s, 201, look, &w), STORE_OK);
	ck_assert_int_eq(w.n, 0);
	/* mx1: its second drain order, then the release. */
	ck_assert_int_eq(store_fe_order_next(s, "mx1", &o), STORE_OK);
	ck_assert_int_eq(o.batch, b2);
	ck_assert_int_eq(store_fe_order_state(s, "mx1", b2, "failed", "drain_timeout", 210),
			 STORE_OK);
	ck_assert_int_eq(store_fe_order_next(s, "mx1", &o), STORE_OK);
	ck_assert_str_eq(o.kind, "release");
	ck_assert_int_eq(store_fe_order_state(s, "mx1", o.batch, "released", "0", 220), STORE_OK);
	ck_assert_int_eq(store_fe_order_next(s, "mx1", &o), STORE_NOTFOUND);
	/* Finished orders are forgotten, open ones stay. */
	ck_assert_int_eq(store_fe_prune(s, 215), STORE_OK);
	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(store_fe_batch(s, b2, look, &w), STORE_OK);
	ck_assert_int_eq(w.n, 1); /* mx2's, still new */
	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(store_fe_batch(s, b1, look, &w), STORE_OK);
	ck_assert_int_eq(w.n, 0);
	k = 0;
	ck_assert_int_eq(store_fe_batch_addrs(s, b1, addr_count, &k), STORE_OK);
	ck_assert_int_eq(k, 0);
	/* Removed: its open orders go with it. */
	ck_assert_int_eq(store_fe_remove(s, "mx2"), STORE_OK);
	ck_assert_int_eq(store_fe_order_next(s, "mx2", &o), STORE_NOTFOUND);
	store_close(&s);
}
END_TEST

static int count_held(void *ctx, const struct held_msg *m)
{
	(void)m;
	++*(int *)ctx;
	return 0;
}

START_TEST(test_held_per_frontend)
{
	struct store *s = fresh();
	long long n = -1;
	int k = 0;

	ck_assert_int_eq(store_held_add(s, "4AAAAAAAAAAAAA1", 1, "a@x", 10), STORE_OK);
	ck_assert_int_eq(store_fe_held_add(s, "mx1", "4AAAAAAAAAAAAA2", 1, "a@x", 11), STORE_OK);
	ck_assert_int_eq(store_fe_held_add(s, "mx1", "4AAAAAAAAAAAAA3", 1, "a@x", 12), STORE_OK);
	ck_assert_int_eq(store_fe_held_add(s, "", "4AAAAAAAAAAAAA4", 1, "a@x", 13), STORE_OK);
	/* The pilot's own queue ("") is what a single host always had. */
	ck_assert_int_eq(store_fe_held_count(s, "", &n), STORE_OK);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(store_fe_held_count(s, "mx1", &n), STORE_OK);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(store_fe_held_pending(s, "mx1", count_held, &k), STORE_OK);
	ck_assert_int_eq(k, 2);
	ck_assert_int_eq(store_held_gone(s, "4AAAAAAAAAAAAA2"), STORE_OK);
	ck_assert_int_eq(store_fe_held_count(s, "mx1", &n), STORE_OK);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(store_fe_held_count(s, "mx2", &n), STORE_OK);
	ck_assert_int_eq(n, 0);
	store_close(&s);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_TEST(test_names),
		CK_TEST(test_register),
		CK_TEST(test_orders),
		CK_TEST(test_held_per_frontend),
	};

	return tu_run_in_tmpdir(CK_SUITE("fe_store", "store", 30, tests), dir);
}
