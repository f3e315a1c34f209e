/* The request store (store_req.h), state names, and the provisioning
 * drivers on files and scripts in a temporary directory. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "driver.h"
#include "state.h"
#include "store_int.h"
#include "store_req.h"
#include "ckmain.h"
#include "testutil.h"
#include "store_smd.h"

static char dir[] = "/tmp/test_spm_XXXXXX";

static struct store *fresh(void)
{
	char path[256], *err = NULL;
	struct store *s;

	snprintf(path, sizeof(path), "%s/t.db", dir);
	tu_rm_db(path);
	s = tu_store_open(path, STORE_RDWR, 1000, &err);
	ck_assert_msg(s != NULL, "%s", err ? err : "");
	return s;
}

static struct req mk(const char *access)
{
	struct req r;

	memset(&r, 0, sizeof(r));
	snprintf(r.access, sizeof(r.access), "%s", access);
	snprintf(r.target_system, sizeof(r.target_system), "s2");
	snprintf(r.scenario, sizeof(r.scenario), "default");
	r.planned_at = 1000;
	return r;
}

START_TEST(test_state_names)
{
	static const int all[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13, 20, 21, 22, 23, 24};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		ck_assert_int_eq(state_parse(state_name(all[i])), all[i]);
		char num[8];

		snprintf(num, sizeof(num), "%d", all[i]);
		ck_assert_int_eq(state_parse(num), all[i]);
	}
	ck_assert_str_eq(state_name(11), "unknown");
	ck_assert_int_eq(state_parse("11"), -1);
	ck_assert_int_eq(state_parse(""), -1);
	ck_assert_int_eq(state_parse("held "), -1);
	ck_assert_int_eq(state_parse("-1"), -1);
	ck_assert(state_is_final(ST_ROLLED_BACK) && !state_is_final(ST_COMPLETE));
	ck_assert(state_is_offline(ST_SYNC_MISMATCH) && !state_is_offline(ST_HELD));
	ck_assert(state_in(ST_COMPLETE, STATE_SETTLED) && !state_in(ST_COMPLETE, STATE_FINAL));
	ck_assert(state_in(ST_CANCELLED, STATE_FINAL | STATE_SETTLED));
	ck_assert(!state_in(ST_FAILED, STATE_SETTLED) && !state_in(11, STATE_OFFLINE));
	ck_assert(!state_in(ST_FAILED, 0));
	ck_assert_int_eq(state_mask(STATE_OFFLINE), (1LL << 20) | (1LL << 21) | (1LL << 22));
	ck_assert_int_eq(state_mask(STATE_FINAL | STATE_OFFLINE), 0);
}
END_TEST

/* The unique index requests_live (schema 2, written as a list of numbers
 * that may not change in the field) and STATE_SETTLED say the same: two
 * requests for one address may coexist exactly in the settled states. */
static void settled_set(void *ctx, int state)
{
	struct store *s = ctx;
	char sql[256];
	int rc;

	snprintf(sql, sizeof(sql),
		 "INSERT INTO requests(access, target_system, scenario, planned_at, state, "
		 "next_at, created, updated) VALUES('s%d@x', 's2', 'default', 0, %d, 0, 0, 0)",
		 state, state);
	tu_exec(s, sql);
	rc = tu_exec_rc(s, sql);
	ck_assert_msg((rc == 0) == state_in(state, STATE_SETTLED), "state %d", state);
}

START_TEST(test_live_set)
{
	struct store *s = fresh();
	struct req a = mk("alice@example.org"), b = mk("alice@example.org");

	state_each(settled_set, s);
	/* store_req_add's own look for a live request reads the same set. */
	ck_assert_int_eq(store_req_add(s, &a, 100, "t"), STORE_OK);
	a.state = ST_COMPLETE;
	ck_assert_int_eq(store_req_set(s, &a, ST_REGISTERED, "t", ""), STORE_OK);
	ck_assert_int_eq(store_req_add(s, &b, 101, "t"), STORE_OK);
	ck_assert_int_ne(b.id, a.id);
	store_close(&s);
}
END_TEST

static int count_hist(void *ctx, const struct req_hist *h)
{
	(*(int *)ctx)++;
	return 0;
}

START_TEST(test_requests)
{
	struct store *s = fresh();
	struct req a = mk("alice@example.org"), b = mk("alice@example.org"), c = mk("bob@example.org");
	struct req got;
	long long *ids;
	size_t n;
	int nh = 0;

	ck_assert_int_eq(store_req_add(s, &a, 100, "t"), STORE_OK);
	ck_assert_int_eq(store_req_add(s, &b, 101, "t"), STORE_EXISTS);
	ck_assert_int_eq(b.id, a.id);
	ck_assert_int_eq(store_req_add(s, &c, 50, "t"), STORE_OK);
	/* Due: earliest next_at first. */
	ck_assert_int_eq(store_req_due(s, 100, 10, &ids, &n), STORE_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(ids[0], c.id);
	free(ids);
	ck_assert_int_eq(store_req_due(s, 99, 10, &ids, &n), STORE_OK);
	ck_assert_uint_eq(n, 1);
	free(ids);
	/* A transition writes a history row; a stale copy is refused. */
	ck_assert_int_eq(store_req_get(s, a.id, &got), STORE_OK);
	struct req stale = got;

	got.state = ST_TARGET_CREATED;
	got.updated = 200;
	ck_assert_int_eq(store_req_set(s, &got, ST_REGISTERED, "E2", "x"), STORE_OK);
	stale.state = ST_CANCELLED;
	ck_assert_int_eq(store_req_set(s, &stale, ST_REGISTERED, "cancel", ""), STORE_NOTFOUND);
	stale.updated = 300;
	ck_assert_int_eq(store_req_set(s, &stale, ST_TARGET_CREATED, "cancel", ""), STORE_NOTFOUND);
	ck_assert_int_eq(store_req_history(s, a.id, count_hist, &nh), STORE_OK);
	ck_assert_int_eq(nh, 2);
	/* Waiting changes only next_at. */
	ck_assert_int_eq(store_req_wait(s, a.id, ST_TARGET_CREATED, REQ_NEVER, "w"), STORE_OK);
	ck_assert_int_eq(store_req_wait(s, a.id, ST_HELD, 0, NULL), STORE_NOTFOUND);
	ck_assert_int_eq(store_req_find(s, "alice@example.org", &got), STORE_OK);
	ck_assert_str_eq(got.reason, "w");
	/* Complete: a new request for the address is allowed again. */
	got.state = ST_COMPLETE;
	got.hold_at = 1000;
	got.release_at = 1250;
	got.updated = 400;
	ck_assert_int_eq(store_req_set(s, &got, ST_TARGET_CREATED, "E40", ""), STORE_OK);
	b = mk("alice@example.org");
	ck_assert_int_eq(store_req_add(s, &b, 500, "t"), STORE_OK);
	ck_assert_int_ne(b.id, a.id);
	long long counts[STATE_SLOTS], *w;

	ck_assert_int_eq(store_req_counts(s, 0, counts), STORE_OK);
	ck_assert_int_eq(counts[ST_REGISTERED], 2);
	ck_assert_int_eq(counts[ST_COMPLETE], 1);
	ck_assert_int_eq(store_req_hold_windows(s, 0, &w, &n), STORE_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(w[0], 250);
	free(w);
	store_close(&s);
}
END_TEST

static int count_pending(void *ctx, const struct held_msg *m)
{
	(*(int *)ctx)++;
	return 0;
}

START_TEST(test_held_and_checks)
{
	struct store *s = fresh();
	long long n, at;
	int k = 0, ok;
	char detail[REQ_REASON_MAX];

	ck_assert_int_eq(store_held_add(s, "AAA1", 1, "a@example.org b@x.org", 10), STORE_OK);
	ck_assert_int_eq(store_held_add(s, "AAA2", 1, "a@example.org", 11), STORE_OK);
	ck_assert_int_eq(store_held_count_pending(s, &n), STORE_OK);
	ck_assert_int_eq(n, 2);
	/* Released but not yet seen gone from the queue: still pending. */
	ck_assert_int_eq(store_held_released(s, "AAA1", 20), STORE_OK);
	ck_assert_int_eq(store_held_pending(s, count_pending, &k), STORE_OK);
	ck_assert_int_eq(k, 2);
	ck_assert_int_eq(store_held_gone(s, "AAA1"), STORE_OK);
	k = 0;
	ck_assert_int_eq(store_held_pending(s, count_pending, &k), STORE_OK);
	ck_assert_int_eq(k, 1);
	/* The drain forgets an id it recorded but postsuper did not hold;
	 * never one already released (the sweep's record of its work). */
	ck_assert_int_eq(store_held_add(s, "AAA3", 1, "a@example.org", 12), STORE_OK);
	ck_assert_int_eq(store_held_forget(s, "AAA3"), STORE_OK);
	ck_assert_int_eq(store_held_forget(s, "AAA1"), STORE_OK);
	ck_assert_int_eq(store_held_count_pending(s, &n), STORE_OK);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(store_held_add(s, "AAA3", 1, "a@example.org", 13), STORE_OK);
	ck_assert_int_eq(store_held_count_pending(s, &n), STORE_OK);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(store_check_last(s, 7, 0, &at, &ok, detail), STORE_NOTFOUND);
	ck_assert_int_eq(store_check_add(s, 7, 100, 1, "fine"), STORE_OK);
	ck_assert_int_eq(store_check_add(s, 7, 200, 0, "disk full"), STORE_OK);
	ck_assert_int_eq(store_check_last(s, 7, 0, &at, &ok, detail), STORE_OK);
	ck_assert_int_eq(at, 200);
	ck_assert_int_eq(ok, 0);
	ck_assert_str_eq(detail, "disk full");
	ck_assert_int_eq(store_check_last(s, 7, 201, &at, &ok, detail), STORE_NOTFOUND);
	store_close(&s);
}
END_TEST

/* A database of schema 3 (held_messages and smd_jobs as versions 1-3 made
 * them, with the signs that carried meaning) upgrades to real columns. */
static const char old_schema[] =
	"CREATE TABLE schema_version(version INTEGER NOT NULL, upgraded INTEGER NOT NULL);"
	"INSERT INTO schema_version VALUES(1, 0), (2, 0), (3, 0);"
	/* What later versions alter, as version 1 made it. */
	"CREATE TABLE systems(name TEXT PRIMARY KEY, domain TEXT NOT NULL,"
	" last_sync INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
	"CREATE TABLE directory(access TEXT PRIMARY KEY, system TEXT NOT NULL,"
	" physical TEXT NOT NULL UNIQUE, held INTEGER NOT NULL DEFAULT 0,"
	" held_since INTEGER NOT NULL DEFAULT 0, switched_at INTEGER NOT NULL DEFAULT 0,"
	" request_id INTEGER NOT NULL DEFAULT 0, updated INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE held_messages(queue_id TEXT PRIMARY KEY, request_id INTEGER NOT NULL,"
	" held_at INTEGER NOT NULL, recipients TEXT NOT NULL,"
	" released_at INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
	"CREATE INDEX held_pending ON held_messages(released_at, held_at);"
	/* Only what version 11 alters of the requests version 1 made. */
	"CREATE TABLE requests(id INTEGER PRIMARY KEY, access TEXT NOT NULL);"
	"INSERT INTO held_messages VALUES('HOLD', 1, 10, 'a@x', 0), ('REL', 1, 11, 'a@x', 20),"
	" ('GONE', 1, 12, 'a@x', -30);"
	"CREATE TABLE smd_jobs(request_id INTEGER PRIMARY KEY, access TEXT NOT NULL,"
	" src_system TEXT NOT NULL, src_physical TEXT NOT NULL, dst_system TEXT NOT NULL,"
	" dst_physical TEXT NOT NULL, state INTEGER NOT NULL DEFAULT 0,"
	" attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL,"
	" pid INTEGER NOT NULL DEFAULT 0, folders_done INTEGER NOT NULL DEFAULT 0,"
	" folders_total INTEGER NOT NULL DEFAULT 0, msgs_done INTEGER NOT NULL DEFAULT 0,"
	" msgs_total INTEGER NOT NULL DEFAULT 0, bytes_done INTEGER NOT NULL DEFAULT 0,"
	" bytes_total INTEGER NOT NULL DEFAULT 0, started INTEGER NOT NULL DEFAULT 0,"
	" finished INTEGER NOT NULL DEFAULT 0, reason TEXT NOT NULL DEFAULT '',"
	" created INTEGER NOT NULL, updated INTEGER NOT NULL);"
	"CREATE INDEX smd_jobs_due ON smd_jobs(state, next_at);"
	"CREATE TABLE smd_folders(mailbox TEXT NOT NULL, folder TEXT NOT NULL,"
	" uidvalidity INTEGER NOT NULL, dst_folder TEXT NOT NULL,"
	" dst_uidvalidity INTEGER NOT NULL, messages INTEGER NOT NULL DEFAULT 0,"
	" bytes INTEGER NOT NULL DEFAULT 0, verified INTEGER NOT NULL DEFAULT 0,"
	" updated INTEGER NOT NULL, PRIMARY KEY(mailbox, folder)) WITHOUT ROWID;"
	"CREATE TABLE smd_map(mailbox TEXT NOT NULL, folder TEXT NOT NULL,"
	" src_uid INTEGER NOT NULL, dst_uid INTEGER NOT NULL, sha256 BLOB NOT NULL,"
	" size INTEGER NOT NULL, PRIMARY KEY(mailbox, folder, src_uid)) WITHOUT ROWID;"
	"INSERT INTO smd_jobs(request_id, access, src_system, src_physical, dst_system,"
	" dst_physical, state, msgs_done, next_at, created, updated) VALUES"
	" (7, 'a@x', 's1', 'a@s1', 's2', 'a@s2', 2, 5, 0, 0, 0),"
	" (-7, 'a@x', 's2', 'a@s2', 's1', 'a@s1', 0, 0, 0, 0, 0);";

static long long one(struct store *s, const char *sql)
{
	return tu_one(s, sql);
}

START_TEST(test_upgrade_columns)
{
	char path[256], *err = NULL;
	struct smd_status st;
	struct smd_job job;
	struct store *s;
	long long n;

	snprintf(path, sizeof(path), "%s/old.db", dir);
	tu_old_store(path, old_schema);
	s = tu_store_open(path, STORE_RDWR, 1000, &err);
	ck_assert_msg(s != NULL, "%s", err ? err : "");
	/* Every version since: a landed one is never edited. */
	ck_assert_int_eq(store_schema_version(s), store_migrations[store_nmigrations - 1].version);
	/* The gone row is finished, with its time; the others pending. */
	ck_assert_int_eq(store_held_count_pending(s, &n), STORE_OK);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(one(s, "SELECT released_at FROM held_messages WHERE queue_id = 'GONE' "
				"AND gone = 1"), 30);
	ck_assert_int_eq(one(s, "SELECT count(*) FROM held_messages WHERE released_at < 0"), 0);
	/* Both jobs under the request's own id, told apart by their kind. */
	ck_assert_int_eq(one(s, "SELECT count(*) FROM smd_jobs WHERE request_id = 7"), 2);
	ck_assert_int_eq(one(s, "SELECT kind FROM smd_jobs WHERE dst_system = 's1'"), SMD_COPY_BACK);
	ck_assert_int_eq(store_smd_status(s, smd_key(7, SMD_COPY), &st), STORE_OK);
	ck_assert_int_eq(st.state, SMD_DONE);
	ck_assert_int_eq(st.msgs_done, 5);
	ck_assert_int_eq(store_smd_status(s, smd_key(7, SMD_COPY_BACK), &st), STORE_OK);
	ck_assert_int_eq(st.state, SMD_QUEUED);
	ck_assert_int_eq(store_smd_claim(s, 1, 99, NULL, NULL, &job, NULL), STORE_OK);
	ck_assert_int_eq(job.key.request_id, 7);
	ck_assert_int_eq(job.key.kind, SMD_COPY_BACK);
	ck_assert_str_eq(job.dst_system, "s1");
	ck_assert_int_eq(store_smd_finish(s, job.key, 1, "", 0, 2), STORE_OK);
	ck_assert_int_eq(store_smd_status(s, smd_key(7, SMD_COPY_BACK), &st), STORE_OK);
	ck_assert_int_eq(st.state, SMD_DONE);
	/* Enqueuing either job again changes nothing. */
	ck_assert_int_eq(store_smd_enqueue(s, smd_key(7, SMD_COPY_BACK), "a@x", "s2", "a@s2",
					   "s1", "a@s1", 3),
			 STORE_OK);
	ck_assert_int_eq(one(s, "SELECT count(*) FROM smd_jobs"), 2);
	store_close(&s);
}
END_TEST

/* A request's two jobs, named by their key: claimed in the order the
 * signed job id used to give (copy backs first, newest request first among
 * them, then copies oldest first), and never mixed up by progress, finish
 * or recovery. */
START_TEST(test_smd_keys)
{
	static const struct {
		long long id;
		enum smd_kind kind;
	} order[] = {{5, SMD_COPY_BACK}, {3, SMD_COPY_BACK}, {3, SMD_COPY}, {5, SMD_COPY}};
	struct store *s = fresh();
	struct smd_status st, p;
	struct smd_job job;

	for (size_t i = 0; i < 4; i++)
		ck_assert_int_eq(store_smd_enqueue(s, smd_key(order[i].id, order[i].kind), "a@x",
						   "s1", "a@s1", "s2", "a@s2", 1),
				 STORE_OK);
	for (size_t i = 0; i < 4; i++) {
		ck_assert_int_eq(store_smd_claim(s, 1, 99, NULL, NULL, &job, NULL), STORE_OK);
		ck_assert_int_eq(job.key.request_id, order[i].id);
		ck_assert_int_eq(job.key.kind, order[i].kind);
	}
	memset(&p, 0, sizeof(p));
	p.msgs_done = 4;
	ck_assert_int_eq(store_smd_progress(s, smd_key(3, SMD_COPY_BACK), &p), STORE_OK);
	ck_assert_int_eq(store_smd_finish(s, smd_key(3, SMD_COPY), 1, "", 0, 2), STORE_OK);
	ck_assert_int_eq(store_smd_status(s, smd_key(3, SMD_COPY_BACK), &st), STORE_OK);
	ck_assert_int_eq(st.state, SMD_RUNNING);
	ck_assert_int_eq(st.msgs_done, 4);
	ck_assert_int_eq(store_smd_status(s, smd_key(3, SMD_COPY), &st), STORE_OK);
	ck_assert_int_eq(st.state, SMD_DONE);
	ck_assert_int_eq(st.msgs_done, 0);
	ck_assert_int_eq(store_smd_recover(s, 3, NULL, NULL), 3);
	ck_assert_int_eq(store_smd_status(s, smd_key(3, SMD_COPY), &st), STORE_OK);
	ck_assert_int_eq(st.state, SMD_DONE);
	ck_assert_int_eq(store_smd_status(s, smd_key(5, SMD_COPY_BACK), &st), STORE_OK);
	ck_assert_int_eq(st.state, SMD_QUEUED);
	ck_assert_int_eq(store_smd_status(s, smd_key(4, SMD_COPY), &st), STORE_NOTFOUND);
	/* What the signed id let through is refused, not looked up. */
	ck_assert_int_eq(store_smd_status(s, smd_key(-5, SMD_COPY), &st), STORE_ERR);
	ck_assert_int_eq(store_smd_finish(s, smd_key(5, (enum smd_kind)99), 1, "", 0, 4), STORE_ERR);
	store_close(&s);
}
END_TEST

/* A pre-stage job: queued again after each pass, dropped while queued;
 * a request's catch-up and passes (schema 11). */
START_TEST(test_prestage)
{
	struct store *s = fresh();
	struct smd_job_key k = smd_key(7, SMD_PRESTAGE);
	struct smd_status st, p;
	struct smd_job job;
	struct req r = mk("a@example.org"), g;
	long long *v = NULL;
	size_t n = 0;

	ck_assert_int_eq(store_smd_enqueue(s, k, "a@x", "s1", "a@s1", "s2", "a@s2", 1), STORE_OK);
	ck_assert_int_eq(store_smd_enqueue(s, smd_key(8, SMD_COPY), "b@x", "s1", "b@s1", "s2",
					   "b@s2", 2),
			 STORE_OK);
	/* Queued: not again, and not twice. */
	ck_assert_int_eq(store_smd_rearm(s, k, 2), STORE_NOTFOUND);
	/* A copy due later is claimed before the pass. */
	ck_assert_int_eq(store_smd_claim(s, 3, 99, NULL, NULL, &job, NULL), STORE_OK);
	ck_assert_int_eq(job.key.kind, SMD_COPY);
	ck_assert_int_eq(store_smd_claim(s, 3, 99, NULL, NULL, &job, NULL), STORE_OK);
	ck_assert_int_eq(job.key.kind, SMD_PRESTAGE);
	ck_assert_int_eq(store_smd_drop(s, k), STORE_NOTFOUND); /* running: kept */
	memset(&p, 0, sizeof(p));
	p.msgs_done = 9;
	ck_assert_int_eq(store_smd_progress(s, k, &p), STORE_OK);
	ck_assert_int_eq(store_smd_finish(s, k, 0, "NO [UNAVAILABLE]", 0, 3), STORE_OK);
	ck_assert_int_eq(store_smd_rearm(s, k, 4), STORE_OK);
	ck_assert_int_eq(store_smd_status(s, k, &st), STORE_OK);
	ck_assert_int_eq(st.state, SMD_QUEUED);
	ck_assert_int_eq(st.attempts, 0);
	ck_assert_int_eq(st.msgs_done, 0);
	ck_assert_int_eq(st.finished, 0);
	ck_assert_str_eq(st.reason, "");
	ck_assert_int_eq(store_smd_claim(s, 3, 99, NULL, NULL, &job, NULL), STORE_NOTFOUND);
	ck_assert_int_eq(store_smd_drop(s, k), STORE_OK);
	ck_assert_int_eq(store_smd_status(s, k, &st), STORE_NOTFOUND);
	ck_assert_int_eq(store_smd_drop(s, k), STORE_NOTFOUND);
	ck_assert_int_eq(store_smd_rearm(s, k, 5), STORE_NOTFOUND);

	ck_assert_int_eq(store_req_add(s, &r, 10, "test"), STORE_OK);
	ck_assert_int_eq(store_req_get(s, r.id, &g), STORE_OK);
	ck_assert_int_eq(g.catchup_ms, -1);
	ck_assert_int_eq(g.prestage_passes, 0);
	ck_assert_int_eq(store_req_catchups(s, 0, &v, &n), STORE_OK);
	ck_assert_int_eq(n, 0);
	free(v);
	g.catchup_ms = 1234;
	g.prestage_passes = 3;
	g.prestage_last = 99;
	ck_assert_int_eq(store_req_set(s, &g, g.state, "P1 pre-stage", "pass 3"), STORE_OK);
	ck_assert_int_eq(store_req_get(s, r.id, &g), STORE_OK);
	ck_assert_int_eq(g.catchup_ms, 1234);
	ck_assert_int_eq(g.prestage_passes, 3);
	ck_assert_int_eq(g.prestage_last, 99);
	ck_assert_int_eq(store_req_catchups(s, 0, &v, &n), STORE_OK);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(v[0], 1234);
	free(v);
	ck_assert_int_eq(store_req_catchups(s, 42, &v, &n), STORE_OK);
	ck_assert_int_eq(n, 0);
	free(v);
	store_close(&s);
}
END_TEST

static struct config *conf(const char *extra)
{
	return tu_config("systems = s2 s3 s4\ns2_domain = s2.example.org\ns2_driver = dovecot\n"
		     "s2_passwd_file = %s/passwd\ns3_domain = s3.example.org\ns3_driver = exec\n"
		     "s3_driver_command = %s/drv.sh\ns3_driver_timeout = 1s\n"
		     "s4_domain = s4.example.org\ns4_driver = dovecot\n%s",
			 dir, dir, extra);
}

START_TEST(test_dovecot_driver)
{
	struct config *cfg = conf("");
	char why[DRV_WHY], *list, path[256];
	const char *aliases[] = {"al@example.org"};
	FILE *fp;

	snprintf(path, sizeof(path), "%s/passwd", dir);
	fp = fopen(path, "w");
	fputs("old@s2.example.org:{PLAIN}x::::::", fp); /* no final newline */
	fclose(fp);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(driver_create(cfg, "s2", "a@s2.example.org", "a@example.org", why),
				 DRV_OK);
		ck_assert_int_eq(driver_form(cfg, "s2", "a@s2.example.org", "a@example.org", aliases,
					     1, why),
				 DRV_OK);
	}
	ck_assert_int_eq(driver_addresses(cfg, "s2", &list, why), DRV_OK);
	ck_assert_str_eq(list, "old@s2.example.org\na@s2.example.org\na@example.org\n"
			       "al@example.org\n");
	ck_assert(driver_list_has(list, "AL@example.org") && !driver_list_has(list, "b@example.org"));
	free(list);
	/* No sieve directory: redirects are logged no-ops. */
	ck_assert_int_eq(driver_redirect(cfg, "s2", "a@s2.example.org", "a@s1.example.org", why),
			 DRV_OK);
	ck_assert_int_eq(driver_delete(cfg, "s2", "a@s2.example.org", why), DRV_OK);
	ck_assert_int_eq(driver_addresses(cfg, "s2", &list, why), DRV_OK);
	ck_assert_str_eq(list, "old@s2.example.org\n");
	free(list);
	/* A system without its passwd_file fails for good, with the reason. */
	ck_assert_int_eq(driver_create(cfg, "s4", "a@s4.example.org", "a@example.org", why),
			 DRV_FAIL);
	ck_assert_str_eq(why, "s4_passwd_file is not set");
	config_free(&cfg);
}
END_TEST

static void script(const char *body)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/drv.sh", dir);
	unlink(path);
	fp = fopen(path, "w");
	fprintf(fp, "#!/bin/sh\n%s\n", body);
	fclose(fp);
	chmod(path, 0755);
}

START_TEST(test_exec_driver)
{
	struct config *cfg = conf("");
	char why[DRV_WHY], *list = NULL;
	const char *aliases[] = {"x y@example.org"};

	/* argv arrives as given: one argument with a space stays one. */
	script("[ \"$1 $2 $3 $4 $#\" = \"form a@s3 a@ex x y@example.org 4\" ] || exit 1\n"
	       "[ \"$FEDMIG_SYSTEM\" = s3 ] || exit 1");
	ck_assert_int_eq(driver_form(cfg, "s3", "a@s3", "a@ex", aliases, 1, why), DRV_OK);
	script("echo 'a@example.org'; echo 'B@example.org'");
	ck_assert_int_eq(driver_addresses(cfg, "s3", &list, why), DRV_OK);
	ck_assert(driver_list_has(list, "b@example.org"));
	free(list);
	script("echo 'server busy' >&2; exit 75");
	ck_assert_int_eq(driver_create(cfg, "s3", "a@s3", "a@ex", why), DRV_TEMP);
	ck_assert_msg(strstr(why, "exit 75: server busy") != NULL, "%s", why);
	script("echo 'no such domain' >&2; exit 3");
	ck_assert_int_eq(driver_create(cfg, "s3", "a@s3", "a@ex", why), DRV_FAIL);
	script("sleep 5");
	ck_assert_int_eq(driver_delete(cfg, "s3", "a@s3", why), DRV_TEMP);
	ck_assert_msg(strstr(why, "timed out") != NULL, "%s", why);
	config_free(&cfg);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_TEST(test_state_names), CK_TEST(test_live_set),
		CK_TEST(test_upgrade_columns), CK_TEST(test_smd_keys), CK_TEST(test_prestage),
		CK_TEST(test_requests),
		CK_TEST(test_held_and_checks), CK_TEST(test_dovecot_driver),
		CK_TEST(test_exec_driver),
	};

	return tu_run_in_tmpdir(CK_SUITE("spm_store", "store", 30, tests), dir);
}
