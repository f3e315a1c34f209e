/*
 * store_buffer (lib/store_buffer.h) on a temporary store whose agent rows
 * are inserted by SQL, as fedmig-apid writes them: the task and its
 * counts, the master's gate, a requeue that gives the attempt back,
 * freeing by the journal, and hostile rows.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckmain.h"
#include "store.h"
#include "store_buffer.h"
#include "store_int.h"
#include "store_smd.h"
#include "testutil.h"

static char dir[300], db[400];
static struct store *st;

static void exec_sql(const char *sql)
{
	tu_exec(st, sql);
}

static long long one(const char *sql)
{
	return tu_one(st, sql);
}

static void setup(void)
{
	char *err = NULL;

	tu_tmpdir(dir, sizeof(dir), "fedmig-test-store-buffer", db, sizeof(db));
	st = tu_store_open(db, STORE_RDWR, 2000, &err);
	ck_assert_msg(st != NULL, "%s", err ? err : "?");
}

static void teardown(void)
{
	store_close(&st);
	tu_rmtree(dir);
}

/* A batch (id SEQ) of N items of 10 bytes in FOLDER of request 7, UIDs from FIRST. */
static void add_batch(int seq, const char *folder, int first, int n)
{
	char sql[600];

	snprintf(sql, sizeof(sql),
		 "INSERT INTO agent_batches(id, request_id, seq, folder, path, items, duplicates,"
		 " bytes, live, created) VALUES(%d, 7, %d, '%s', '7/%d.batch', %d, 0, %d, %d, 1)",
		 seq, seq, folder, seq, n, 10 * n, n);
	exec_sql(sql);
	for (int k = 0; k < n; k++) {
		snprintf(sql, sizeof(sql),
			 "INSERT INTO agent_items(request_id, folder, uid, src_key, flags, date, size,"
			 " sha256, batch, \"offset\") VALUES(7, '%s', %d, 'k%d.%d', '', '', 10,"
			 " %s, %d, %d)",
			 folder, first + k, seq, k, tu_zeroblob32(), seq, 10 * k);
		exec_sql(sql);
	}
}

static void journal(const char *folder, int uid)
{
	struct smd_map_row row = {.src_uid = (unsigned long long)uid, .dst_uid = 100 + (unsigned)uid,
				  .size = 10};

	ck_assert_int_eq(store_smd_map_add(st, "k", folder, &row), STORE_OK);
}

START_TEST(test_task)
{
	struct buffer_task t;

	ck_assert_int_eq(store_buffer_task_get(st, 7, &t), STORE_NOTFOUND);
	ck_assert_int_eq(store_buffer_task_add(st, 7, "s1", "alice@s1.example.org", 100), STORE_OK);
	ck_assert_int_eq(store_buffer_task_add(st, 7, "s9", "other", 200), STORE_OK); /* ignored */
	exec_sql("UPDATE agent_tasks SET agent = 'a1', phase = 2, items = 5, bytes = 50");
	exec_sql("INSERT INTO agent_folders(request_id, folder, attrs, done) VALUES"
		 " (7, 'INBOX', 0, 1), (7, 'Work', 0, 0), (7, 'Parent', 1, 0)");
	add_batch(1, "INBOX", 1, 3);
	add_batch(2, "Work", 1, 2);
	exec_sql("UPDATE agent_items SET freed = 1 WHERE batch = 2");
	ck_assert_int_eq(store_buffer_task_get(st, 7, &t), STORE_OK);
	ck_assert_str_eq(t.agent, "a1");
	ck_assert_int_eq(t.phase, PHASE_ITEMS);
	ck_assert_int_eq(t.items, 5);
	ck_assert_int_eq(t.unfreed, 3);
	ck_assert_int_eq(t.waiting_bytes, 30);
	ck_assert_int_eq(t.folders_done, 1);
	ck_assert_int_eq(t.folders_total, 2);
	ck_assert_int_eq(one("SELECT count(*) FROM agent_tasks WHERE request_id = 7"
			     " AND mailbox = 'alice@s1.example.org'"), 1);
}
END_TEST

static int agent_s1(void *ctx, const char *system)
{
	(void)ctx;
	return strcmp(system, "s1") == 0;
}

START_TEST(test_gate_requeue)
{
	struct smd_job job;

	ck_assert_int_eq(store_smd_enqueue(st, smd_key(7, SMD_COPY), "a@x", "s1", "alice@s1",
					   "s2", "alice@s2", 1000),
			 STORE_OK);
	ck_assert_int_eq(store_smd_enqueue(st, smd_key(8, SMD_COPY), "b@x", "s3", "bob@s3", "s2",
					   "bob@s2", 1000),
			 STORE_OK);
	/* The task appears; just made, its job stays due (its child waits for
	 * the agent's first batch). */
	ck_assert_int_eq(store_buffer_gate(st, 2000, 9000, agent_s1, NULL), STORE_OK);
	ck_assert_int_eq(one("SELECT count(*) FROM agent_tasks WHERE request_id = 7 AND"
			     " src_system = 's1' AND mailbox = 'alice@s1'"),
			 1);
	ck_assert_int_eq(one("SELECT next_at FROM smd_jobs WHERE request_id = 7"), 1000);
	/* An agent holds a live lease (ms): due still. */
	exec_sql("UPDATE agent_tasks SET agent = 'a1', lease_until = 5");
	ck_assert_int_eq(store_buffer_gate(st, 2000, 9000, agent_s1, NULL), STORE_OK);
	ck_assert_int_eq(one("SELECT next_at FROM smd_jobs WHERE request_id = 7"), 1000);
	/* Nothing uploaded, no live lease: put off, the other stays due. */
	exec_sql("UPDATE agent_tasks SET lease_until = 1");
	ck_assert_int_eq(store_buffer_gate(st, 2000, 9000, agent_s1, NULL), STORE_OK);
	ck_assert_int_eq(one("SELECT next_at FROM smd_jobs WHERE request_id = 7"), 9000);
	ck_assert_int_eq(one("SELECT next_at FROM smd_jobs WHERE request_id = 8"), 1000);
	ck_assert_int_eq(one("SELECT count(*) FROM agent_tasks"), 1);
	/* Items: due again, claimed as any job. */
	add_batch(1, "INBOX", 1, 1);
	ck_assert_int_eq(store_buffer_gate(st, 9000, 20000, agent_s1, NULL), STORE_OK);
	ck_assert_int_eq(one("SELECT next_at FROM smd_jobs WHERE request_id = 7"), 9000);
	ck_assert_int_eq(store_smd_claim(st, 9000, 1, NULL, NULL, &job, NULL), STORE_OK);
	ck_assert_int_eq(job.key.request_id, 8); /* due first */
	ck_assert_int_eq(store_smd_claim(st, 9000, 1, NULL, NULL, &job, NULL), STORE_OK);
	ck_assert_int_eq(job.key.request_id, 7);
	ck_assert_int_eq(job.attempts, 1);
	/* An idle child gives its attempt back. */
	ck_assert_int_eq(store_buffer_requeue(st, job.key, "waiting", 9500), STORE_OK);
	ck_assert_int_eq(one("SELECT attempts FROM smd_jobs WHERE request_id = 7"), 0);
	ck_assert_int_eq(one("SELECT state FROM smd_jobs WHERE request_id = 7"), SMD_QUEUED);
	ck_assert_int_eq(one("SELECT next_at FROM smd_jobs WHERE request_id = 7"), 9500);
	/* Phase 4 (failed) lets it through to fail with the task's reason. */
	exec_sql("DELETE FROM agent_items");
	exec_sql("UPDATE agent_tasks SET phase = 4");
	ck_assert_int_eq(store_buffer_gate(st, 10000, 30000, agent_s1, NULL), STORE_OK);
	ck_assert_int_eq(one("SELECT next_at FROM smd_jobs WHERE request_id = 7"), 9500);
}
END_TEST

START_TEST(test_free)
{
	char **paths = NULL;
	long long freed = -1, left = -1;

	add_batch(1, "INBOX", 1, 3);
	add_batch(2, "Work", 1, 2);
	journal("INBOX", 1);
	journal("INBOX", 2);
	journal("Work", 1);
	journal("Work", 2);
	journal("Other", 3); /* a journal row with no item: nothing to free */
	ck_assert_int_eq(store_buffer_free(st, 7, "k", &paths, &freed), STORE_OK);
	ck_assert_int_eq(freed, 4);
	ck_assert(paths[0] != NULL && strcmp(paths[0], "7/2.batch") == 0 && paths[1] == NULL);
	store_buffer_paths_free(paths);
	ck_assert_int_eq(one("SELECT live FROM agent_batches WHERE id = 1"), 1);
	ck_assert_int_eq(one("SELECT live FROM agent_batches WHERE id = 2"), 0);
	ck_assert_int_eq(one("SELECT path = '' FROM agent_batches WHERE id = 2"), 1);
	ck_assert_int_eq(one("SELECT count(*) FROM agent_items WHERE freed = 1"), 4);
	/* Freeing again changes nothing; the last item, once journalled, empties batch 1. */
	ck_assert_int_eq(store_buffer_free(st, 7, "k", &paths, &freed), STORE_OK);
	ck_assert(freed == 0 && paths[0] == NULL);
	store_buffer_paths_free(paths);
	ck_assert_int_eq(store_buffer_unjournalled(st, 7, "k", &left), STORE_OK);
	ck_assert_int_eq(left, 1);
	journal("INBOX", 3);
	ck_assert_int_eq(store_buffer_free(st, 7, "k", &paths, &freed), STORE_OK);
	ck_assert(freed == 1 && strcmp(paths[0], "7/1.batch") == 0);
	store_buffer_paths_free(paths);
	/* Another mailbox's journal frees nothing of this one. */
	ck_assert_int_eq(store_buffer_unjournalled(st, 7, "other", &left), STORE_OK);
	ck_assert_int_eq(left, 5);
}
END_TEST

static int count_item(void *ctx, const struct buffer_item *it)
{
	(*(int *)ctx)++;
	return 0;
}

START_TEST(test_hostile_rows)
{
	int n = 0;
	struct buffer_folder f;
	char sql[200];

	add_batch(1, "INBOX", 1, 3);
	ck_assert_int_eq(store_buffer_items_each(st, 7, "INBOX", 1, ~0ULL, count_item, &n), STORE_OK);
	ck_assert_int_eq(n, 3);
	n = 0;
	ck_assert_int_eq(store_buffer_items_each(st, 7, "INBOX", 2, 2, count_item, &n), STORE_OK);
	ck_assert_int_eq(n, 1);
	/* One byte: x'00' is a bit string on PostgreSQL. */
	snprintf(sql, sizeof(sql), "UPDATE agent_items SET sha256 = substr(%s, 1, 1) WHERE uid = 2",
		 tu_zeroblob32());
	exec_sql(sql);
	ck_assert_int_eq(store_buffer_items_each(st, 7, "INBOX", 1, 3, count_item, &n), STORE_ERR);
	ck_assert(strstr(store_errmsg(st), "uid 2") != NULL);
	snprintf(sql, sizeof(sql), "UPDATE agent_items SET sha256 = %s, size = -5 WHERE uid = 2",
		 tu_zeroblob32());
	exec_sql(sql);
	ck_assert_int_eq(store_buffer_items_each(st, 7, "INBOX", 1, 3, count_item, &n), STORE_ERR);
	/* A separator of more than one character is none. */
	exec_sql("INSERT INTO agent_folders(request_id, folder, sep) VALUES(7, 'X', '//')");
	ck_assert_int_eq(store_buffer_folder_find(st, 7, "X", &f), STORE_OK);
	ck_assert_int_eq(f.sep, 0);
	ck_assert_int_eq(store_buffer_folder_find(st, 7, "Y", &f), STORE_NOTFOUND);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {CK_TEST(test_task), CK_TEST(test_gate_requeue),
					CK_TEST(test_free), CK_TEST(test_hostile_rows)};
	Suite *s = suite_create("store_buffer");

	tcase_add_checked_fixture(CK_TCASE(s, "store_buffer", 10, tests), setup, teardown);
	return ck_run(s);
}
