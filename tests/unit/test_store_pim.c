/* lib/store_pim: the PIM collections and the correspondence table (schema
 * 7) on a temporary store: insert, replace, read back with hashes, the
 * conflict/rejected listing, deletion, the job's PIM columns. */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "ckmain.h"
#include "state.h"
#include "store_pim.h"
#include "store_smd.h"
#include "testutil.h"

static char dir[] = "/tmp/test_store_pim_XXXXXX";

static struct store *fresh(void)
{
	return tu_store_fresh(dir);
}

struct seen {
	int n;
	char href[4][64], reason[4][64];
	int status[4], has_src[4];
	unsigned char src0[4];
};

static int on_row(void *ctx, const struct pim_row *r)
{
	struct seen *s = ctx;

	if (s->n < 4) {
		snprintf(s->href[s->n], 64, "%s", r->src_href);
		snprintf(s->reason[s->n], 64, "%s", r->reason);
		s->status[s->n] = r->status;
		s->has_src[s->n] = r->has_src_hash;
		s->src0[s->n] = r->src_hash[0];
	}
	s->n++;
	return 0;
}

static int on_bad(void *ctx, const char *coll, const struct pim_row *r)
{
	return on_row(ctx, r);
}

static int on_coll(void *ctx, const struct pim_coll *c)
{
	struct seen *s = ctx;

	if (s->n < 4)
		snprintf(s->href[s->n], 64, "%s", c->name);
	s->n++;
	return 0;
}

START_TEST(test_rows)
{
	struct store *s = fresh();
	struct pim_row r = {.src_href = "/a/c/1.vcf", .uid = "u1", .src_etag = "\"1\"",
			    .dst_href = "/b/c/1.vcf", .dst_etag = "\"x\"", .reason = ""};
	struct seen seen;
	long long n;

	memset(r.src_hash, 7, sizeof(r.src_hash));
	r.has_src_hash = 1;
	ck_assert_int_eq(store_pim_row_put(s, "k", "/a/c/", &r), STORE_OK);
	r.src_href = "/a/c/2.vcf";
	r.has_src_hash = 0;
	r.status = PIM_ROW_REJECTED;
	r.reason = "HTTP 413: too large";
	ck_assert_int_eq(store_pim_row_put(s, "k", "/a/c/", &r), STORE_OK);
	/* another mailbox and collection do not mix */
	ck_assert_int_eq(store_pim_row_put(s, "k2", "/a/c/", &r), STORE_OK);
	ck_assert_int_eq(store_pim_row_put(s, "k", "/a/d/", &r), STORE_OK);
	memset(&seen, 0, sizeof(seen));
	ck_assert_int_eq(store_pim_row_each(s, "k", "/a/c/", on_row, &seen), 0);
	ck_assert_int_eq(seen.n, 2);
	ck_assert_str_eq(seen.href[0], "/a/c/1.vcf");
	ck_assert_int_eq(seen.has_src[0], 1);
	ck_assert_int_eq(seen.src0[0], 7);
	ck_assert_int_eq(seen.has_src[1], 0);
	ck_assert_str_eq(seen.reason[1], "HTTP 413: too large");
	memset(&seen, 0, sizeof(seen));
	ck_assert_int_eq(store_pim_row_each_bad(s, "k", on_bad, &seen), 0);
	ck_assert_int_eq(seen.n, 2);
	ck_assert_int_eq(seen.status[0], PIM_ROW_REJECTED);
	/* replace: the same key again */
	r.status = PIM_ROW_OK;
	r.reason = "";
	ck_assert_int_eq(store_pim_row_put(s, "k", "/a/c/", &r), STORE_OK);
	ck_assert_int_eq(store_pim_mailbox_items(s, "k", &n), STORE_OK);
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(store_pim_row_del(s, "k", "/a/c/", "/a/c/1.vcf"), STORE_OK);
	ck_assert_int_eq(store_pim_mailbox_items(s, "k", &n), STORE_OK);
	ck_assert_int_eq(n, 2);
	store_close(&s);
}
END_TEST

START_TEST(test_colls)
{
	struct store *s = fresh();
	struct pim_coll c = {.src_href = "/a/cal/", .dst_href = "/b/cal/", .name = "Work 'é'",
			     .src_token = "t1", .dst_token = "t2", .held = "", .kind = 2};
	struct pim_coll g;
	struct seen seen;

	c.n.items = 5;
	c.n.created = 4;
	c.n.rejected = 1;
	c.verified = 1;
	ck_assert_int_eq(store_pim_coll_get(s, "k", "/a/cal/", &g), STORE_NOTFOUND);
	ck_assert_int_eq(store_pim_coll_put(s, "k", &c), STORE_OK);
	ck_assert_int_eq(store_pim_coll_get(s, "k", "/a/cal/", &g), STORE_OK);
	ck_assert_str_eq(g.name, "Work 'é'");
	ck_assert_str_eq(g.src_token, "t1");
	ck_assert_str_eq(g.dst_token, "t2");
	ck_assert_int_eq(g.kind, 2);
	ck_assert_int_eq(g.n.items, 5);
	ck_assert_int_eq(g.n.created, 4);
	ck_assert_int_eq(g.n.rejected, 1);
	ck_assert_int_eq(g.verified, 1);
	store_pim_coll_free(&g);
	c.src_href = "/a/book/";
	c.name = "Address book";
	ck_assert_int_eq(store_pim_coll_put(s, "k", &c), STORE_OK);
	memset(&seen, 0, sizeof(seen));
	ck_assert_int_eq(store_pim_coll_each(s, "k", on_coll, &seen), 0);
	ck_assert_int_eq(seen.n, 2);
	ck_assert_str_eq(seen.href[0], "Address book");
	store_close(&s);
}
END_TEST

static void sql(const char *q)
{
	tu_store_sql(dir, q);
}

/* The job's PIM outcome; two-way resyncs: queued again while the request
 * is copied, stopped once it is not. */
START_TEST(test_job)
{
	struct store *s = fresh();
	struct smd_job_key key = {7, SMD_COPY}, key8 = {8, SMD_COPY};
	struct smd_status st;
	int state;
	long long items, n;
	char q[512];

	ck_assert_int_eq(store_smd_enqueue(s, key, "imap", "s1", "a@s1", "s2", "a@s2", 1), STORE_OK);
	ck_assert_int_eq(store_smd_enqueue(s, key8, "imap", "s1", "b@s1", "s2", "b@s2", 1), STORE_OK);
	ck_assert_int_eq(store_pim_job(s, 7, SMD_COPY, PIM_JOB_HELD, 12, 99), STORE_OK);
	ck_assert_int_eq(store_pim_job(s, 8, SMD_COPY, PIM_JOB_DONE, 3, 99), STORE_OK);
	ck_assert_int_eq(store_pim_job_get(s, 7, SMD_COPY, &state, &items), STORE_OK);
	ck_assert_int_eq(state, PIM_JOB_HELD);
	ck_assert_int_eq(items, 12);
	snprintf(q, sizeof(q),
		 "UPDATE smd_jobs SET state = %d;"
		 "INSERT INTO requests(id, access, target_system, scenario, planned_at, state, next_at,"
		 " created, updated) VALUES(7, 'a@x', 's2', 'd', 0, %d, 0, 0, 0),"
		 " (8, 'b@x', 's2', 'd', 0, %d, 0, 0, 0)",
		 SMD_DONE, ST_COPIED, ST_COMPLETE);
	sql(q);
	ck_assert_int_eq(store_pim_resync(s, 98, ST_COPIED, &n), STORE_OK);
	ck_assert_int_eq(n, 0); /* not due yet */
	ck_assert_int_eq(store_pim_resync(s, 100, ST_COPIED, &n), STORE_OK);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(store_smd_status(s, key, &st), STORE_OK);
	ck_assert_int_eq(st.state, SMD_QUEUED);
	ck_assert_int_eq(store_smd_status(s, key8, &st), STORE_OK);
	ck_assert_int_eq(st.state, SMD_DONE); /* complete: no more resyncs */
	ck_assert_int_eq(store_pim_resync(s, 200, ST_COPIED, &n), STORE_OK);
	ck_assert_int_eq(n, 0);
	store_close(&s);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_TEST(test_rows),
		CK_TEST(test_colls),
		CK_TEST(test_job),
	};

	return tu_run_in_tmpdir(CK_SUITE("store_pim", "store_pim", 30, tests), dir);
}
