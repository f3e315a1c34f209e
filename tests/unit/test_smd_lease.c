/*
 * Several copy workers on one queue (lib/store_smd.h, schema 16): claims
 * with a worker name and a lease, renewals, a dead worker's jobs taken
 * over once its lease has expired, one live lease per mailbox, recovery
 * of a worker's own jobs only, and two processes claiming at once. On a
 * postgresql:// store no lock file is named after the URL, and a refusal
 * of the store's own is no temporary error. A child's exit status tells
 * whether it recorded its outcome.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ckmain.h"
#include "config.h"
#include "lease.h"
#include "lock.h"
#include "smd.h"
#include "store.h"
#include "store_int.h"
#include "store_smd.h"
#include "testutil.h"
#include "throttle.h"
#include "xalloc.h"

#define LEASE 1000 /* µs: the tests set the clock */

static char dir[300], db[400];
static struct store *st;
static const struct smd_worker w1 = {"w1", 11, LEASE}, w2 = {"w2", 22, LEASE};

static void setup(void)
{
	tu_tmpdir(dir, sizeof(dir), "fedmig-test-smd-lease", db, sizeof(db));
	st = tu_store_fresh(dir);
}

static void teardown(void)
{
	store_close(&st);
	tu_rmtree(dir);
}

/* enqueue: job ID of KIND for mailbox USER (USER@s1 -> USER@s2), due at 1. */
static void enqueue(long long id, enum smd_kind kind, const char *user)
{
	char src[64], dst[64];

	snprintf(src, sizeof(src), "%s@s1", user);
	snprintf(dst, sizeof(dst), "%s@s2", user);
	ck_assert_int_eq(store_smd_enqueue(st, smd_key(id, kind), src, "s1", src, "s2", dst, 1),
			 STORE_OK);
}

static long long one(const char *sql)
{
	return tu_one(st, sql);
}

/* One live lease per job and per mailbox; renewals by the holder only. */
START_TEST(test_claim_renew)
{
	struct smd_job job;

	enqueue(1, SMD_COPY, "a");
	enqueue(1, SMD_PRESTAGE, "a"); /* a's mailbox again */
	enqueue(2, SMD_COPY, "b");
	ck_assert_int_eq(store_smd_claim_as(st, 10, &w1, NULL, NULL, &job, NULL), STORE_OK);
	ck_assert_int_eq(job.key.request_id, 1);
	ck_assert_int_eq(job.key.kind, SMD_COPY);
	ck_assert_str_eq(job.prev_worker, "");
	ck_assert_int_eq(store_smd_claim_as(st, 10, &w2, NULL, NULL, &job, NULL), STORE_OK);
	ck_assert_int_eq(job.key.request_id, 2);
	/* a's pre-stage waits while a's copy holds a live lease. */
	ck_assert_int_eq(store_smd_claim_as(st, 10 + LEASE - 1, &w2, NULL, NULL, &job, NULL),
			 STORE_NOTFOUND);
	ck_assert_int_eq(one("SELECT lease_until FROM smd_jobs WHERE request_id = 1 AND kind = 0"),
			 10 + LEASE);
	ck_assert_int_eq(store_smd_renew(st, smd_key(1, SMD_COPY), "w1", 10 + 3 * LEASE), STORE_OK);
	ck_assert_int_eq(store_smd_renew(st, smd_key(1, SMD_COPY), "w2", 99), STORE_NOTFOUND);
	ck_assert_int_eq(store_smd_renew(st, smd_key(1, SMD_PRESTAGE), "w1", 99), STORE_NOTFOUND);
	ck_assert_int_eq(one("SELECT lease_until FROM smd_jobs WHERE request_id = 1 AND kind = 0"),
			 10 + 3 * LEASE);
	ck_assert_int_eq(store_smd_renew(st, smd_key(2, SMD_COPY), "w2", 10 + 3 * LEASE), STORE_OK);
	/* Renewed: still live past the first lease. */
	ck_assert_int_eq(store_smd_claim_as(st, 10 + 2 * LEASE, &w2, NULL, NULL, &job, NULL),
			 STORE_NOTFOUND);
	/* Done: the mailbox is free for its pre-stage. */
	ck_assert_int_eq(store_smd_finish(st, smd_key(1, SMD_COPY), 1, "", 0, 20), STORE_OK);
	ck_assert_int_eq(store_smd_claim_as(st, 30, &w2, NULL, NULL, &job, NULL), STORE_OK);
	ck_assert_int_eq(job.key.kind, SMD_PRESTAGE);
}
END_TEST

/* A lease not renewed expires: another worker takes the job, resumes it;
 * the first one's renewal then fails (it must stop copying). */
START_TEST(test_expiry)
{
	struct smd_job job;
	struct smd_status s;

	enqueue(1, SMD_COPY, "a");
	ck_assert_int_eq(store_smd_claim_as(st, 10, &w1, NULL, NULL, &job, NULL), STORE_OK);
	ck_assert_int_eq(store_smd_claim_as(st, 10 + LEASE - 1, &w2, NULL, NULL, &job, NULL),
			 STORE_NOTFOUND);
	ck_assert_int_eq(store_smd_claim_as(st, 10 + LEASE, &w2, NULL, NULL, &job, NULL), STORE_OK);
	ck_assert_int_eq(job.key.request_id, 1);
	ck_assert_str_eq(job.prev_worker, "w1");
	ck_assert_int_eq(job.attempts, 2);
	ck_assert_int_eq(store_smd_renew(st, job.key, "w1", 5 * LEASE), STORE_NOTFOUND);
	ck_assert_int_eq(store_smd_renew(st, job.key, "w2", 5 * LEASE), STORE_OK);
	ck_assert_int_eq(store_smd_status(st, job.key, &s), STORE_OK);
	ck_assert_int_eq(s.state, SMD_RUNNING);
	/* A running job without a lease (store_smd_claim, a copier of before
	 * schema 16) is never taken over, nor does it block its mailbox. */
	enqueue(2, SMD_COPY, "b");
	enqueue(2, SMD_PRESTAGE, "b");
	ck_assert_int_eq(store_smd_claim(st, 10, 7, NULL, NULL, &job, NULL), STORE_OK);
	ck_assert_int_eq(job.key.request_id, 2);
	ck_assert_int_eq(store_smd_claim_as(st, 100 * LEASE, &w1, NULL, NULL, &job, NULL), STORE_OK);
	ck_assert_int_eq(job.key.request_id, 1); /* w2's, expired */
	ck_assert_str_eq(job.prev_worker, "w2");
	ck_assert_int_eq(store_smd_claim_as(st, 100 * LEASE, &w1, NULL, NULL, &job, NULL), STORE_OK);
	ck_assert_int_eq(job.key.request_id, 2);
	ck_assert_int_eq(job.key.kind, SMD_PRESTAGE);
	ck_assert_int_eq(store_smd_claim_as(st, 100 * LEASE, &w1, NULL, NULL, &job, NULL),
			 STORE_NOTFOUND);
}
END_TEST

/* Recovery at start resets this worker's jobs (and unnamed ones, and
 * this host's when asked); other workers' are left to their leases. */
START_TEST(test_recover_mine)
{
	static const char *const names[] = {"w1", "w2", "", "h:1", "hx:1"};
	struct smd_worker w = {NULL, 1, LEASE};
	struct smd_job job;
	char user[8];

	for (int i = 0; i < 5; i++) {
		snprintf(user, sizeof(user), "u%d", i);
		enqueue(i + 1, SMD_COPY, user);
		w.name = names[i][0] ? names[i] : "tmp";
		ck_assert_int_eq(store_smd_claim_as(st, 10, &w, NULL, NULL, &job, NULL), STORE_OK);
	}
	tu_store_sql(dir, "UPDATE smd_jobs SET worker = '' WHERE worker = 'tmp'");
	ck_assert_int_eq(store_smd_recover_mine(st, 20, "w1", "h:", NULL, NULL), 3);
	ck_assert_int_eq(one("SELECT count(*) FROM smd_jobs WHERE state = 1"), 2);
	ck_assert_int_eq(one("SELECT count(*) FROM smd_jobs WHERE state = 1 AND worker IN"
			     " ('w2', 'hx:1')"),
			 2);
	ck_assert_int_eq(one("SELECT count(*) FROM smd_jobs WHERE state = 0 AND lease_until = 0"
			     " AND worker = ''"),
			 3);
	ck_assert_int_eq(store_smd_recover_mine(st, 20, "w2", NULL, NULL, NULL), 1);
	/* Hostile names are refused before the store. */
	w.name = "";
	ck_assert_int_eq(store_smd_claim_as(st, 10, &w, NULL, NULL, &job, NULL), STORE_ERR);
	w.name = "w1";
	w.lease_us = 0;
	ck_assert_int_eq(store_smd_claim_as(st, 10, &w, NULL, NULL, &job, NULL), STORE_ERR);
}
END_TEST

#define MAILBOXES 20

/* claimer: in a child, claim as NAME until nothing is left; each key
 * claimed written to FD as "ID KIND\n". */
static void claimer(const char *name, int fd)
{
	struct smd_worker w = {name, (int)getpid(), 60000000};
	struct smd_job job;
	char *err = NULL, line[64];
	struct store *s = tu_store_open(db, STORE_RDWR, 10000, &err);
	int rc, n;

	if (s == NULL)
		_exit(2);
	while ((rc = store_smd_claim_as(s, 10, &w, NULL, NULL, &job, NULL)) == STORE_OK) {
		n = snprintf(line, sizeof(line), "%lld %d\n", job.key.request_id, (int)job.key.kind);
		if (write(fd, line, (size_t)n) != n)
			_exit(3);
	}
	store_close(&s);
	_exit(rc == STORE_NOTFOUND ? 0 : 4);
}

/* Two processes claiming at once never get the same job, nor two jobs
 * of one mailbox. */
START_TEST(test_two_claimers)
{
	int fds[2], seen[MAILBOXES + 1][2], st1, st2, n = 0;
	pid_t p1, p2;
	char user[16];
	long long id;
	int kind;
	FILE *in;

	memset(seen, 0, sizeof(seen));
	for (int i = 1; i <= MAILBOXES; i++) {
		snprintf(user, sizeof(user), "u%d", i);
		enqueue(i, SMD_COPY, user);
		enqueue(i, SMD_PRESTAGE, user);
	}
	ck_assert_int_eq(pipe(fds), 0);
	p1 = fork();
	if (p1 == 0)
		claimer("w1", fds[1]);
	p2 = fork();
	if (p2 == 0)
		claimer("w2", fds[1]);
	close(fds[1]);
	in = fdopen(fds[0], "r");
	while (fscanf(in, "%lld %d", &id, &kind) == 2) {
		ck_assert(id >= 1 && id <= MAILBOXES && (kind == 0 || kind == 2));
		ck_assert_msg(seen[id][kind / 2] == 0, "job %lld kind %d claimed twice", id, kind);
		seen[id][kind / 2] = 1;
		ck_assert_msg(seen[id][1 - kind / 2] == 0, "mailbox u%lld claimed twice", id);
		n++;
	}
	fclose(in);
	ck_assert_int_eq(waitpid(p1, &st1, 0), p1);
	ck_assert_int_eq(waitpid(p2, &st2, 0), p2);
	ck_assert_int_eq(WEXITSTATUS(st1), 0);
	ck_assert_int_eq(WEXITSTATUS(st2), 0);
	ck_assert_int_eq(n, MAILBOXES);
	ck_assert_int_eq(one("SELECT count(*) FROM smd_jobs WHERE state = 1 AND worker IN"
			     " ('w1', 'w2')"),
			 MAILBOXES);
}
END_TEST

/* smd_worker_name: what an admin may write, and what reaches the store
 * and the log never holds anything else. */
START_TEST(test_worker_name)
{
	static const char *const good[] = {"w1", "mx-2.example.org", "copy_3:a", "A.b-c_d:9"};
	static const char *const bad[] = {"", "a b", "a'b", "a;b", "a\nb", "a/b", "a%b",
					  "\xc3\xa9t\xc3\xa9", "0123456789012345678901234567890123456789"
					  "0123456789012345678901234567890123456789"
					  "0123456789012345"};
	struct config *cfg;
	struct smd_lease l;
	char *err = NULL;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(smd_worker_name_ok(good[i]), "%s refused", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!smd_worker_name_ok(bad[i]), "%s accepted", bad[i]);
	cfg = tu_config("smd_worker_name = a;b\n");
	ck_assert_int_eq(smd_worker_init(cfg, &l, &err), -1);
	ck_assert_ptr_nonnull(strstr(err, "smd_worker_name"));
	free(err);
	config_unref(&cfg);
	/* Unnamed: HOST:PID, and this host's prefix; a lease of smd_lease. */
	cfg = tu_config("smd_lease = 9s\n");
	ck_assert_int_eq(smd_worker_init(cfg, &l, &err), 0);
	ck_assert_int_eq(strncmp(l.name, l.host_prefix, strlen(l.host_prefix)), 0);
	ck_assert_int_eq(atoi(l.name + strlen(l.host_prefix)), (int)getpid());
	ck_assert_int_eq(l.lease_us, 9000000);
	ck_assert_int_eq(l.renew_us, 3000000);
	ck_assert_int_eq(l.shared, 0);
	config_unref(&cfg);
}
END_TEST

START_TEST(test_pg_paths)
{
	char *cwd = getcwd(NULL, 0), *err = NULL, *want;
	struct throttle_conf tc;
	struct config *cfg;
	struct smd_job job;

	ck_assert_int_eq(chdir(dir), 0);
	ck_assert_int_eq(smd_lock_take("postgresql://fedmig@127.0.0.1:1/fedmig", "k", &err), -1);
	ck_assert_ptr_nonnull(strstr(err, "postgresql://"));
	free(err);
	ck_assert_int_ne(access("postgresql:", F_OK), 0); /* nothing made here */
	ck_assert_int_eq(chdir(cwd), 0);
	free(cwd);
	cfg = tu_config("state_database = postgresql://fedmig@127.0.0.1:1/fedmig\n"
			"run_directory = %s\nsystems = s1\ns1_domain = s1.example.org\n",
			dir);
	throttle_conf_init(&tc, cfg, "s1");
	want = xasprintf("%s/sessions", dir);
	ck_assert_str_eq(tc.db, want);
	free(want);
	config_unref(&cfg);
	/* A refusal of the store's own is no temporary database error. */
	struct smd_worker bad = {"", 1, LEASE};

	ck_assert_int_eq(store_smd_claim_as(st, 1, &bad, NULL, NULL, &job, NULL), STORE_ERR);
	ck_assert_int_eq(store_err_temporary(st), 0);
}
END_TEST

/* One process per worker name on a shared store: the name's session lock
 * (a second master of the name would take the first's running jobs back
 * at its start). Tried on this run's store, SQLite or PostgreSQL: the
 * lock is the backend's session lock either way. */
START_TEST(test_name_lock)
{
	struct config *cfg;
	struct smd_lease l, unnamed;
	struct store *other;
	char *err = NULL;

	cfg = tu_config("state_database = postgresql://fedmig@127.0.0.1:1/fedmig\n"
			"smd_worker_name = Copy.1\n");
	ck_assert_int_eq(smd_worker_init(cfg, &l, &err), 0);
	config_unref(&cfg);
	ck_assert_int_eq(l.shared, 1);
	ck_assert_int_eq(strncmp(l.lock, "smd-", 4), 0);
	ck_assert_int_eq(strlen(l.lock), 20); /* a session lock's [a-z0-9_-] */
	ck_assert_int_eq(l.lock[strspn(l.lock, "abcdefghijklmnopqrstuvwxyz0123456789_-")], '\0');
	/* Unnamed (HOST:PID, unique) or on a file store: nothing to lock. */
	cfg = tu_config("state_database = postgresql://fedmig@127.0.0.1:1/fedmig\n");
	ck_assert_int_eq(smd_worker_init(cfg, &unnamed, &err), 0);
	config_unref(&cfg);
	ck_assert_str_eq(unnamed.lock, "");
	ck_assert_int_eq(smd_lease_take(&unnamed, st), 1);

	ck_assert_int_eq(smd_lease_take(&l, st), 1);
	ck_assert_int_eq(smd_lease_take(&l, st), 1); /* held already */
	other = tu_store_open(db, STORE_RDWR, 10000, &err);
	ck_assert_msg(other != NULL, "%s", err);
	ck_assert_int_eq(smd_lease_take(&l, other), 0);
	ck_assert_int_eq(smd_lease_still_mine(&l, st), 1);
	store_close(&st); /* the first master ends: its name is free */
	ck_assert_int_eq(smd_lease_take(&l, other), 1);
	ck_assert_int_eq(smd_lease_still_mine(&l, other), 1);
	st = other;
}
END_TEST

/* A child that dies without recording its outcome must not look like one
 * that recorded it: 1 is what a sanitizer's report or a library's exit(1)
 * ends a process with, and was COPY_FAILED's own status (the job then
 * stayed running until its lease expired: 60 s per mailbox). */
START_TEST(test_child_exit)
{
	ck_assert_int_eq(smd_exit_recorded(smd_exit_of(COPY_OK)), 1);
	ck_assert_int_eq(smd_exit_recorded(smd_exit_of(COPY_FAILED)), 1);
	ck_assert_int_eq(smd_exit_recorded(smd_exit_of(COPY_STOPPED)), 1);
	ck_assert_int_eq(smd_exit_recorded(smd_exit_of(SMD_EXIT_NOTHING)), 0);
	ck_assert_int_eq(smd_exit_recorded(1), 0);
	ck_assert_int_eq(smd_exit_recorded(2), 0);
	ck_assert_int_eq(smd_exit_recorded(-1), 0); /* a signal */
	ck_assert_int_eq(smd_exit_recorded(COPY_EXIT_CRASH_MID), 0);
	ck_assert_int_eq(smd_exit_recorded(COPY_EXIT_CRASH_AFTER), 0);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {CK_TEST(test_claim_renew), CK_TEST(test_expiry),
					CK_TEST(test_recover_mine), CK_TEST(test_two_claimers),
					CK_TEST(test_worker_name), CK_TEST(test_pg_paths),
					CK_TEST(test_child_exit), CK_TEST(test_name_lock)};
	Suite *s = suite_create("smd_lease");

	tcase_add_checked_fixture(CK_TCASE(s, "smd_lease", 30, tests), setup, teardown);
	return ck_run(s);
}
