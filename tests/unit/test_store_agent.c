/* lib/store_agent: enrolment (one use, expiry), tokens, revocation and its
 * leases, grants (slots, live leases, final requests), folders, batches
 * with duplicates and the buffer's bytes, on a temporary store. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "ckmain.h"
#include "state.h"
#include "store_agent.h"
#include "store_buffer.h"
#include "testutil.h"

static char dir[] = "/tmp/test_store_agent_XXXXXX";

static struct store *fresh(void)
{
	return tu_store_fresh(dir);
}

/* sql: run SQL on the test's database beside the store (a task's insert
 * is the data mover's, a request's the pilot's). */
static void sql(const char *q)
{
	tu_store_sql(dir, q);
}

static void hash(unsigned char h[AGENT_HASH_LEN], int v)
{
	memset(h, v, AGENT_HASH_LEN);
}

START_TEST(test_names)
{
	ck_assert(agent_name_ok("a"));
	ck_assert(agent_name_ok("site-1_b.example"));
	ck_assert(!agent_name_ok(""));
	ck_assert(!agent_name_ok("a b"));
	ck_assert(!agent_name_ok("a/b"));
	ck_assert(!agent_name_ok("x\n"));
	ck_assert(agent_name_ok("0123456789012345678901234567890123456789012345678901234567890123"));
	ck_assert(!agent_name_ok("01234567890123456789012345678901234567890123456789012345678901234"));
}
END_TEST

START_TEST(test_enrol)
{
	struct store *s = fresh();
	unsigned char code[32], code2[32], tok[32], other[32];
	char name[AGENT_NAME_MAX];
	struct agent_row r;

	hash(code, 1);
	hash(code2, 2);
	hash(tok, 3);
	hash(other, 4);
	ck_assert_int_eq(store_agent_add(s, "a1", code, 2000, 1000, ""), STORE_OK);
	ck_assert_int_eq(store_agent_add(s, "a1", code2, 2000, 1000, ""), STORE_AGENT_EXISTS);
	ck_assert_int_eq(store_agent_add(s, "a2", code2, 1500, 1000, ""), STORE_OK);
	/* Unknown code, expired code. */
	ck_assert_int_eq(store_agent_enrol(s, other, tok, 1100, name), STORE_NOTFOUND);
	ck_assert_int_eq(store_agent_enrol(s, code2, tok, 1600, name), STORE_NOTFOUND);
	ck_assert_int_eq(store_agent_auth(s, tok, &r), STORE_NOTFOUND);
	ck_assert_int_eq(store_agent_enrol(s, code, tok, 1100, name), STORE_OK);
	ck_assert_str_eq(name, "a1");
	/* One use. */
	ck_assert_int_eq(store_agent_enrol(s, code, other, 1101, name), STORE_NOTFOUND);
	ck_assert_int_eq(store_agent_auth(s, tok, &r), STORE_OK);
	ck_assert_str_eq(r.name, "a1");
	ck_assert_int_eq(r.state, AGENT_ENROLLED);
	ck_assert_int_eq(store_agent_seen(s, "a1", "0.1", 3, "ok", 1200), STORE_OK);
	ck_assert_int_eq(store_agent_get(s, "a1", 0, &r), STORE_OK);
	ck_assert_str_eq(r.version, "0.1");
	ck_assert_int_eq(r.slots, 3);
	ck_assert_int_eq(r.last_seen, 1200);
	ck_assert_int_eq(store_agent_revoke(s, "a1"), STORE_OK);
	ck_assert_int_eq(store_agent_revoke(s, "nobody"), STORE_NOTFOUND);
	ck_assert_int_eq(store_agent_auth(s, tok, &r), STORE_NOTFOUND);
	ck_assert_int_eq(store_agent_get(s, "a1", 0, &r), STORE_OK);
	ck_assert_int_eq(r.state, AGENT_REVOKED);
	store_close(&s);
}
END_TEST

static void task(long long req, long long created)
{
	char q[256];

	snprintf(q, sizeof(q),
		 "INSERT INTO agent_tasks(request_id, src_system, mailbox, created, updated)"
		 " VALUES(%lld, 's1', 'u%lld@s1.example.org', %lld, %lld)",
		 req, req, created, created);
	sql(q);
}

static int count_a1(void *ctx, const struct agent_row *r)
{
	if (strcmp(r->name, "a1") == 0)
		*(long long *)ctx = r->tasks;
	return 0;
}

START_TEST(test_grant)
{
	struct store *s = fresh();
	struct agent_task t[8], one;
	long long leases = -1;
	size_t n;
	char q[256];

	task(1, 10);
	task(2, 11);
	task(3, 12);
	task(4, 13);
	/* Request 3 is cancelled: never handed out. */
	snprintf(q, sizeof(q),
		 "INSERT INTO requests(id, access, target_system, scenario, planned_at, state,"
		 " next_at, created, updated) VALUES(3, 'c@example.org', 's2', 'default', 0, %d,"
		 " 0, 0, 0)",
		 ST_CANCELLED);
	sql(q);
	/* An agent gets only its systems' tasks (none listed: any); one not
	 * in the store, none. */
	sql("INSERT INTO agents(name, created, systems) VALUES('a1', 0, ''), ('a2', 0, 's9 s1'),"
	    " ('a3', 0, 's3'), ('a4', 0, 's11')");
	ck_assert_int_eq(store_agent_grant(s, "a3", 8, 1000, 500, t, &n), STORE_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(store_agent_grant(s, "a4", 8, 1000, 500, t, &n), STORE_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(store_agent_grant(s, "ghost", 8, 1000, 500, t, &n), STORE_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(store_agent_grant(s, "a1", 2, 1000, 500, t, &n), STORE_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(t[0].request_id, 1);
	ck_assert_int_eq(t[1].request_id, 2);
	ck_assert_int_eq(t[0].seq, 1);
	ck_assert_str_eq(t[0].agent, "a1");
	/* fedmigctl agent list counts them (it read a text column once: 0). */
	ck_assert_int_eq(store_agent_each(s, 1100, count_a1, &leases), STORE_OK);
	ck_assert_int_eq(leases, 2);
	/* Live leases are not given again; the cancelled request never. */
	ck_assert_int_eq(store_agent_grant(s, "a2", 8, 1200, 500, t, &n), STORE_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(t[0].request_id, 4);
	ck_assert_int_eq(store_agent_grant(s, "a2", 8, 1300, 500, t, &n), STORE_OK);
	ck_assert_uint_eq(n, 0);
	/* Expired: handed out again, seq bumped. */
	ck_assert_int_eq(store_agent_grant(s, "a2", 8, 1501, 500, t, &n), STORE_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(store_agent_task(s, 1, &one), STORE_OK);
	ck_assert_str_eq(one.agent, "a2");
	ck_assert_int_eq(one.seq, 2);
	ck_assert_int_eq(one.req_state, -1);
	ck_assert_int_eq(store_agent_task(s, 3, &one), STORE_OK);
	ck_assert_int_eq(one.req_state, ST_CANCELLED);
	/* Revocation releases the leases. */
	ck_assert_int_eq(store_agent_release(s, "a2"), STORE_OK);
	ck_assert_int_eq(store_agent_task(s, 1, &one), STORE_OK);
	ck_assert_str_eq(one.agent, "");
	ck_assert_int_eq(store_agent_task(s, 99, &one), STORE_NOTFOUND);
	store_close(&s);
}
END_TEST

/* fedmigctl retry: a failed read tests again; a cancelled one resumes at
 * its items when it had listed folders; others are left alone. */
START_TEST(test_retry)
{
	struct store *s = fresh();
	struct agent_task t;

	task(1, 10);
	task(2, 10);
	task(3, 10);
	sql("UPDATE agent_tasks SET phase = 4, reason = 'no such mailbox', agent = 'a1',"
	    " lease_until = 99 WHERE request_id = 1");
	sql("UPDATE agent_tasks SET phase = 5, cancel_at = 7, agent = 'a1' WHERE request_id = 2");
	sql("INSERT INTO agent_folders(request_id, folder, cursor) VALUES(2, 'INBOX', '1.5')");
	sql("UPDATE agent_tasks SET phase = 2, agent = 'a2', lease_until = 99 WHERE request_id = 3");
	for (long long r = 1; r <= 3; r++)
		ck_assert_int_eq(store_agent_task_retry(s, r), STORE_OK);
	ck_assert_int_eq(store_agent_task(s, 1, &t), STORE_OK);
	ck_assert_int_eq(t.phase, PHASE_NEW);
	ck_assert_str_eq(t.reason, "");
	ck_assert_str_eq(t.agent, "");
	ck_assert_int_eq(store_agent_task(s, 2, &t), STORE_OK);
	ck_assert_int_eq(t.phase, PHASE_ITEMS);
	ck_assert_int_eq(t.cancel_at, 0);
	ck_assert_int_eq(store_agent_task(s, 3, &t), STORE_OK);
	ck_assert_int_eq(t.phase, PHASE_ITEMS);
	ck_assert_str_eq(t.agent, "a2");
	store_close(&s);
}
END_TEST

static struct agent_folder folder(const char *name, unsigned attrs)
{
	struct agent_folder f;

	memset(&f, 0, sizeof(f));
	snprintf(f.name, sizeof(f.name), "%s", name);
	snprintf(f.sep, sizeof(f.sep), "/");
	f.attrs = attrs;
	return f;
}

static struct agent_item item(const char *src, long long size, long long off)
{
	struct agent_item it;

	memset(&it, 0, sizeof(it));
	snprintf(it.src, sizeof(it.src), "%s", src);
	it.flags = "\\Seen";
	snprintf(it.date, sizeof(it.date), "01-Jan-2020 10:00:00 +0000");
	it.size = size;
	it.offset = off;
	return it;
}

START_TEST(test_folders_batches)
{
	struct store *s = fresh();
	struct agent_folder f = folder("INBOX", 0), g = folder("Gone", 3), h = folder("Arch", 0);
	struct agent_item it[3] = {item("1.1", 10, 0), item("1.2", 20, 10), item("1.1", 10, 30)};
	struct agent_batch_result b;
	long long bytes;
	struct buffer_task bt;

	task(1, 10);
	ck_assert_int_eq(store_agent_folder_put(s, 1, &f), STORE_OK);
	ck_assert_int_eq(store_agent_folder_put(s, 1, &g), STORE_OK);
	ck_assert_int_eq(store_agent_folder_put(s, 1, &h), STORE_OK);
	ck_assert_int_eq(store_agent_folder_next(s, 1, 3, &f), STORE_OK);
	ck_assert_str_eq(f.name, "Arch");
	ck_assert_int_eq(store_agent_folder_cursor(s, 1, "Arch", "c9", 1), STORE_OK);
	/* A second list keeps cursor and done. */
	ck_assert_int_eq(store_agent_folder_put(s, 1, &h), STORE_OK);
	ck_assert_int_eq(store_agent_folder_next(s, 1, 3, &f), STORE_OK);
	ck_assert_str_eq(f.name, "INBOX");
	ck_assert_int_eq(f.next_uid, 1);
	ck_assert_int_eq(store_agent_batch_get(s, 1, 5, &b), STORE_NOTFOUND);
	/* The third item repeats the first inside the batch. */
	ck_assert_int_eq(store_agent_batch_put(s, 1, 5, "INBOX", "/x/1/5.batch", it, 3, 100, &b),
			 STORE_OK);
	ck_assert_int_eq(b.items, 2);
	ck_assert_int_eq(b.duplicates, 1);
	ck_assert_int_eq(b.bytes, 30);
	ck_assert_int_eq(store_agent_batch_live(s, "/x/1/5.batch"), STORE_OK);
	/* Another batch of the same items: duplicates only, no file kept. */
	ck_assert_int_eq(store_agent_batch_put(s, 1, 6, "INBOX", "/x/1/6.batch", it, 2, 100, &b),
			 STORE_OK);
	ck_assert_int_eq(b.items, 0);
	ck_assert_int_eq(b.duplicates, 2);
	ck_assert_int_eq(store_agent_batch_live(s, "/x/1/6.batch"), STORE_NOTFOUND);
	ck_assert_int_eq(store_agent_batch_get(s, 1, 5, &b), STORE_OK);
	ck_assert_int_eq(b.items + b.duplicates, 3);
	/* The same seq again is refused by the store: one row per (REQ, SEQ). */
	ck_assert_int_eq(store_agent_batch_put(s, 1, 5, "INBOX", "/x/1/5.batch", it, 1, 100, &b),
			 STORE_ERR);
	ck_assert_int_eq(store_agent_folder_next(s, 1, 3, &f), STORE_OK);
	ck_assert_int_eq(f.next_uid, 3);
	ck_assert_int_eq(store_agent_buffered(s, 1, &bytes), STORE_OK);
	ck_assert_int_eq(bytes, 30);
	sql("UPDATE agent_items SET freed = 1 WHERE uid = 1");
	ck_assert_int_eq(store_agent_buffered(s, 1, &bytes), STORE_OK);
	ck_assert_int_eq(bytes, 20);
	/* fedmigctl show reads the folder counts through store_buffer. */
	ck_assert_int_eq(store_buffer_task_get(s, 1, &bt), STORE_OK);
	ck_assert_int_eq(bt.folders_done, 1);
	ck_assert_int_eq(bt.folders_total, 2);
	store_close(&s);
}
END_TEST

/* request: request REQ in STATE (the pilot's row). */
static void request(long long req, int state)
{
	char q[256];

	snprintf(q, sizeof(q),
		 "INSERT INTO requests(id, access, target_system, scenario, planned_at, state,"
		 " next_at, created, updated) VALUES(%lld, 'u%lld@example.org', 's2', 'default', 0,"
		 " %d, 0, 0, 0)",
		 req, req, state);
	sql(q);
}

/* One batch of one item for REQ at 'REQ/1.batch'. */
static void one_batch(struct store *s, long long req)
{
	struct agent_item it = item("1.1", 10, 0);
	struct agent_batch_result b;
	char path[32];

	struct agent_folder f = folder("INBOX", 0);

	snprintf(path, sizeof(path), "%lld/1.batch", req);
	task(req, 10);
	ck_assert_int_eq(store_agent_folder_put(s, req, &f), STORE_OK);
	ck_assert_int_eq(store_agent_batch_put(s, req, 1, "INBOX", path, &it, 1, 100, &b), STORE_OK);
	ck_assert_int_eq(b.items, 1);
}

START_TEST(test_abandon)
{
	struct store *s = fresh();
	long long freed;
	char **paths;

	/* 1 cancelled, 2 rolled back but leased until 5000, 3 copying, 4 no request row. */
	for (long long r = 1; r <= 4; r++)
		one_batch(s, r);
	request(1, ST_CANCELLED);
	request(2, ST_ROLLED_BACK);
	request(3, ST_COPYING);
	sql("UPDATE agent_tasks SET agent = 'a1', lease_until = 5000 WHERE request_id = 2");
	ck_assert_int_eq(store_agent_abandon(s, 1000, &paths, &freed), STORE_OK);
	ck_assert_int_eq(freed, 1);
	ck_assert_ptr_nonnull(paths[0]);
	ck_assert_str_eq(paths[0], "1/1.batch");
	ck_assert_ptr_null(paths[1]);
	free(paths[0]);
	free(paths);
	ck_assert_int_eq(store_agent_batch_live(s, "1/1.batch"), STORE_NOTFOUND);
	ck_assert_int_eq(store_agent_batch_live(s, "3/1.batch"), STORE_OK);
	ck_assert_int_eq(store_agent_batch_live(s, "4/1.batch"), STORE_OK);
	/* Once the lease is over, the rolled-back one goes too; nothing twice. */
	ck_assert_int_eq(store_agent_abandon(s, 6000, &paths, &freed), STORE_OK);
	ck_assert_int_eq(freed, 1);
	ck_assert_str_eq(paths[0], "2/1.batch");
	ck_assert_ptr_null(paths[1]);
	free(paths[0]);
	free(paths);
	ck_assert_int_eq(store_agent_abandon(s, 7000, &paths, &freed), STORE_OK);
	ck_assert_int_eq(freed, 0);
	ck_assert_ptr_null(paths[0]);
	free(paths);
	store_close(&s);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_TEST(test_names),
		CK_TEST(test_enrol),
		CK_TEST(test_grant),
		CK_TEST(test_folders_batches),
		CK_TEST(test_retry),
		CK_TEST(test_abandon),
	};

	return tu_run_in_tmpdir(CK_SUITE("store_agent", "store_agent", 30, tests), dir);
}
