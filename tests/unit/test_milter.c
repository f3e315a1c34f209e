/* fedmig-milter's modules: the decision, the store pool, the open-transaction
 * registry and its status socket. The libmilter side is tested with
 * miltertest (tests/milter/, tests/integ/milter_scenarios.sh). */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"
#include "decide.h"
#include "store.h"
#include "txn.h"
#include "ckmain.h"
#include "testutil.h"

static char dir[64], path[128];

static void setup(void)
{
	tu_tmpdir(dir, sizeof(dir), "fedmig-milter", path, sizeof(path));
}

static void teardown(void)
{
	char p[160];

	tu_rm_db(path);
	snprintf(p, sizeof(p), "%s/other.db", dir);
	tu_rm_db(p);
	snprintf(p, sizeof(p), "%s/status.sock", dir);
	unlink(p);
	rmdir(dir);
}

/* A directory: alice held by request 7, bob switched at 1000 by request 8,
 * carol untouched, dave switched long ago (10). */
static struct store *make_store(const char *p)
{
	static const struct dir_row rows[] = {
		{"alice@example.org", "s1", "alice@s1.example.org", NULL, 0, 1},
		{"bob@example.org", "s1", "bob@s1.example.org", NULL, 0, 2},
		{"carol@example.org", "s1", "carol@s1.example.org", NULL, 0, 3},
		{"dave@example.org", "s1", "dave@s1.example.org", NULL, 0, 4},
	};
	struct dir_import_result r;
	char *err = NULL;
	struct store *s = store_open(p, STORE_RDWR, 1000, &err);

	ck_assert_msg(s != NULL, "%s", err);
	ck_assert_int_eq(store_dir_import(s, rows, 4, 0, &r, NULL, NULL), STORE_OK);
	ck_assert_int_eq(store_dir_hold(s, "alice@example.org", 7, 500), STORE_OK);
	ck_assert_int_eq(store_dir_switch(s, "bob@example.org", "s2", "bob@s2.example.org", 8, 1000),
			 STORE_OK);
	ck_assert_int_eq(store_dir_switch(s, "dave@example.org", "s2", "dave@s2.example.org", 9, 10),
			 STORE_OK);
	return s;
}

START_TEST(test_queue_id)
{
	static const struct {
		const char *qid;
		int ok;
	} cases[] = {
		{"ABC123", 1},
		{"4bQz7R2xYTz1Mk", 1}, /* long queue ID */
		{"A", 0}, /* shorter than any Postfix makes (qid.h) */
		{"", 0},
		{NULL, 0},
		{"ABC 123", 0},
		{"ABC\n123", 0},
		{"ABC;rm", 0},
		{"../x", 0},
		{"-h", 0},
		{"0123456789012345678901234567890", 1},
		{"01234567890123456789012345678901", 1},
		{"012345678901234567890123456789012", 0},
		{"\xc3\xa9", 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(decide_queue_id_ok(cases[i].qid) == cases[i].ok, "case %zu: %s", i,
			      cases[i].qid ? cases[i].qid : "(null)");
}
END_TEST

START_TEST(test_join)
{
	struct rcpt r[3] = {{.addr = "a@x.org"}, {.addr = "b@y.org"}, {.addr = "c@z.org"}};
	char *s;

	s = decide_join(r, 3);
	ck_assert_str_eq(s, "a@x.org\tb@y.org\tc@z.org");
	free(s);
	/* "john doe"@x.org is john doe@x.org: the separator must not be a
	 * character an address holds, or the sweep reads two recipients. */
	struct rcpt q[2] = {{.addr = "john doe@x.org"}, {.addr = "b@y.org"}};

	s = decide_join(q, 2);
	ck_assert_str_eq(s, "john doe@x.org\tb@y.org");
	free(s);
	s = decide_join(r, 1);
	ck_assert_str_eq(s, "a@x.org");
	free(s);
	s = decide_join(r, 0);
	ck_assert_str_eq(s, "");
	free(s);
	ck_assert_str_eq(decide_reason_name(HOLD_HELD), "held");
	ck_assert_str_eq(decide_reason_name(HOLD_SWITCHED), "switched");
	ck_assert_str_eq(decide_reason_name(HOLD_NONE), "none");
}
END_TEST

START_TEST(test_decide)
{
	static const struct {
		const char *rcpts[4];
		long long mail_us;
		int want;                 /* recipients that hold */
		enum hold_reason reason[4];
		long long request[4];
		const char *delims; /* recipient_delimiter, NULL: off */
	} cases[] = {
		/* Held: whatever the time. */
		{{"alice@example.org"}, 2000, 1, {HOLD_HELD}, {7}, NULL},
		{{"alice@example.org"}, 100, 1, {HOLD_HELD}, {7}, NULL},
		/* Its old physical address is held too, and found. */
		{{"alice@s1.example.org"}, 2000, 1, {HOLD_HELD}, {7}, NULL},
		/* Switched after MAIL FROM: rule 4. */
		{{"bob@example.org"}, 999, 1, {HOLD_SWITCHED}, {8}, NULL},
		/* The former physical address names the same mailbox. */
		{{"bob@s1.example.org"}, 999, 1, {HOLD_SWITCHED}, {8}, NULL},
		/* Switched at or before MAIL FROM: cleanup saw the new address. */
		{{"bob@example.org"}, 1000, 0, {HOLD_NONE}, {0}, NULL},
		{{"bob@example.org"}, 5000, 0, {HOLD_NONE}, {0}, NULL},
		/* Never switched, switched long ago, not in the directory. */
		{{"carol@example.org", "dave@example.org", "nobody@example.org",
		  "x@elsewhere.net"},
		 2000,
		 0,
		 {HOLD_NONE, HOLD_NONE, HOLD_NONE, HOLD_NONE},
		 {0}, NULL},
		/* One held recipient among others holds the message. */
		{{"carol@example.org", "bob@example.org", "x@elsewhere.net", "alice@example.org"},
		 500,
		 2,
		 {HOLD_NONE, HOLD_SWITCHED, HOLD_NONE, HOLD_HELD},
		 {0, 8, 0, 7}, NULL},
		{{NULL}, 500, 0, {HOLD_NONE}, {0}, NULL},
		/* Extensions: alice+tag is alice, also at her physical address. */
		{{"alice+tag@example.org"}, 2000, 1, {HOLD_HELD}, {7}, "+"},
		{{"alice+@example.org"}, 2000, 1, {HOLD_HELD}, {7}, "+"},
		{{"alice+tag@s1.example.org"}, 2000, 1, {HOLD_HELD}, {7}, "+"},
		{{"alice-tag@example.org"}, 2000, 1, {HOLD_HELD}, {7}, "+-"},
		{{"bob+x@example.org"}, 999, 1, {HOLD_SWITCHED}, {8}, "+"},
		{{"bob+x@s1.example.org"}, 999, 1, {HOLD_SWITCHED}, {8}, "+"},
		{{"bob+x@example.org"}, 1000, 0, {HOLD_NONE}, {0}, "+"},
		{{"carol+x@example.org", "alice+y@example.org"},
		 2000,
		 1,
		 {HOLD_NONE, HOLD_HELD},
		 {0, 7},
		 "+"},
		/* Off, another delimiter, a delimiter first, an unknown base. */
		{{"alice+tag@example.org"}, 2000, 0, {HOLD_NONE}, {0}, NULL},
		{{"alice+tag@example.org"}, 2000, 0, {HOLD_NONE}, {0}, "-"},
		{{"+alice@example.org"}, 2000, 0, {HOLD_NONE}, {0}, "+"},
		{{"nobody+alice@example.org"}, 2000, 0, {HOLD_NONE}, {0}, "+"},
	};
	struct store *s = make_store(path);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rcpt r[4];
		size_t n = 0;

		memset(r, 0, sizeof(r));
		while (n < 4 && cases[i].rcpts[n]) {
			r[n].addr = (char *)cases[i].rcpts[n];
			r[n].reason = HOLD_SWITCHED; /* must be overwritten */
			n++;
		}
		ck_assert_msg(decide_check(s, cases[i].delims, r, n, cases[i].mail_us) ==
				      cases[i].want,
			      "case %zu", i);
		for (size_t j = 0; j < n; j++) {
			ck_assert_msg(r[j].reason == cases[i].reason[j], "case %zu rcpt %zu: %s", i,
				      j, decide_reason_name(r[j].reason));
			ck_assert_msg(r[j].request_id == cases[i].request[j], "case %zu rcpt %zu", i,
				      j);
		}
	}
	/* Unhold and switch: seen at once by the next question. */
	{
		struct rcpt r = {.addr = "alice@example.org"};

		ck_assert_int_eq(store_dir_switch(s, "alice@example.org", "s2",
						  "alice@s2.example.org", 7, 3000),
				 STORE_OK);
		ck_assert_int_eq(decide_check(s, NULL, &r, 1, 2999), 1);
		ck_assert_int_eq(r.reason, HOLD_SWITCHED);
		ck_assert_int_eq(decide_check(s, NULL, &r, 1, 3000), 0);
	}
	store_close(&s);
}
END_TEST

START_TEST(test_pool)
{
	char err[512], other[160];
	struct store_pool *pool = pool_new(path, NULL, 1000);
	struct pool_handle *h, *h2;
	struct rcpt r = {.addr = "alice@example.org"};
	struct store *s;
	FILE *fp;

	/* Never creates the database: missing, empty, not a database. */
	ck_assert(pool_get(pool, err, sizeof(err)) == NULL);
	ck_assert_msg(strstr(err, "No such file") != NULL, "%s", err);
	ck_assert_int_eq(access(path, F_OK), -1);
	fp = fopen(path, "w");
	ck_assert(fp != NULL);
	fclose(fp);
	ck_assert(pool_get(pool, err, sizeof(err)) == NULL);
	ck_assert_msg(strstr(err, "empty") != NULL, "%s", err);
	fp = fopen(path, "w");
	ck_assert(fp != NULL);
	for (int i = 0; i < 200; i++)
		fputs("this is not a SQLite database, it is garbage\n", fp);
	fclose(fp);
	ck_assert(pool_get(pool, err, sizeof(err)) == NULL);
	unlink(path);

	s = make_store(path);
	store_close(&s);
	h = pool_get(pool, err, sizeof(err));
	ck_assert_msg(h != NULL, "%s", err);
	/* Two at once: two handles. */
	h2 = pool_get(pool, err, sizeof(err));
	ck_assert_msg(h2 != NULL, "%s", err);
	ck_assert(pool_store(h) != pool_store(h2));
	ck_assert_int_eq(decide_check(pool_store(h), NULL, &r, 1, 0), 1);
	pool_put(pool, h, 0);
	pool_put(pool, h2, 0);
	h = pool_get(pool, err, sizeof(err));
	ck_assert(h != NULL);
	ck_assert_int_eq(store_held_add(pool_store(h), "ABC123", 7, "alice@example.org", 1), STORE_OK);
	pool_put(pool, h, 0);

	/* A restored database (another file renamed over it) is read at once,
	 * although idle handles still have the old one open. */
	snprintf(other, sizeof(other), "%s/other.db", dir);
	s = make_store(other);
	ck_assert_int_eq(store_dir_unhold(s, "alice@example.org"), STORE_OK);
	store_close(&s);
	ck_assert_int_eq(rename(other, path), 0);
	h = pool_get(pool, err, sizeof(err));
	ck_assert_msg(h != NULL, "%s", err);
	ck_assert_int_eq(decide_check(pool_store(h), NULL, &r, 1, 0), 0);
	pool_put(pool, h, 0);

	/* Removed: an error, not the old file's answers. */
	tu_rm_db(path);
	ck_assert(pool_get(pool, err, sizeof(err)) == NULL);
	ck_assert_int_eq(access(path, F_OK), -1);
	/* A broken handle is closed, not reused. */
	s = make_store(path);
	store_close(&s);
	h = pool_get(pool, err, sizeof(err));
	ck_assert(h != NULL);
	pool_put(pool, h, 1);
	pool_put(pool, NULL, 0);
	pool_free(&pool);
	ck_assert(pool == NULL);
	pool_free(&pool);
}
END_TEST

START_TEST(test_txn)
{
	struct txn a = {0}, b = {0}, c = {0};
	long long oldest;
	size_t n;
	char line[TXN_STATUS_MAX];

	txn_oldest(&oldest, &n);
	ck_assert(oldest == 0 && n == 0);
	ck_assert_str_eq((txn_status_line(line, sizeof(line)), line), "oldest=0 open=0\n");
	txn_begin_at(&a, 300);
	txn_begin_at(&b, 100);
	txn_begin_at(&c, 200);
	txn_oldest(&oldest, &n);
	ck_assert(oldest == 100 && n == 3);
	ck_assert_uint_eq(txn_status_line(line, sizeof(line)), strlen("oldest=100 open=3\n"));
	ck_assert_str_eq(line, "oldest=100 open=3\n");
	txn_end(&b);
	txn_end(&b); /* every cleanup path may call it */
	txn_oldest(&oldest, &n);
	ck_assert(oldest == 200 && n == 2);
	/* A new MAIL FROM on a transaction restarts it, no duplicate. */
	txn_begin_at(&c, 400);
	txn_oldest(&oldest, &n);
	ck_assert(oldest == 300 && n == 2);
	txn_end(&a);
	txn_end(&c);
	txn_oldest(&oldest, &n);
	ck_assert(oldest == 0 && n == 0);
	txn_begin_at(&a, 1795000000000000LL);
	txn_oldest(&oldest, &n);
	ck_assert(oldest == 1795000000000000LL && n == 1);
	txn_end(&a);
	/* A short buffer truncates, never overflows. */
	txn_begin_at(&a, 123456789);
	ck_assert_uint_eq(txn_status_line(line, 8), 7);
	ck_assert_str_eq(line, "oldest=");
	txn_end(&a);
}
END_TEST

#define NTHREADS 8
#define NROUNDS 20000

static void *churn(void *arg)
{
	struct txn t[4];

	memset(t, 0, sizeof(t));
	for (int i = 0; i < NROUNDS; i++) {
		txn_begin_at(&t[i % 4], 1000 + i);
		if (i % 3 == 0)
			txn_end(&t[(i + 1) % 4]);
	}
	for (int i = 0; i < 4; i++)
		txn_end(&t[i]);
	return arg;
}

START_TEST(test_txn_threads)
{
	pthread_t th[NTHREADS];
	long long oldest;
	size_t n;

	for (int i = 0; i < NTHREADS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, churn, NULL), 0);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	txn_oldest(&oldest, &n);
	ck_assert(oldest == 0 && n == 0);
}
END_TEST

static void ask_status(const char *sock, char *buf, size_t size)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	size_t len = 0;
	ssize_t r;

	ck_assert(fd >= 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	while (len + 1 < size && (r = read(fd, buf + len, size - 1 - len)) > 0)
		len += (size_t)r;
	buf[len] = '\0';
	close(fd);
}

START_TEST(test_status_socket)
{
	char spec[200], sock[160], buf[128], *err = NULL;
	struct txn a = {0};
	int lfd;

	snprintf(sock, sizeof(sock), "%s/status.sock", dir);
	snprintf(spec, sizeof(spec), "unix:%s", sock);
	lfd = daemon_listen(spec, 16, 0600, NULL, NULL, &err);
	ck_assert_msg(lfd >= 0, "%s", err);
	ck_assert_int_eq(status_start(lfd, &err), 0);
	ask_status(sock, buf, sizeof(buf));
	ck_assert_str_eq(buf, "oldest=0 open=0\n");
	txn_begin_at(&a, 1700000000123456LL);
	ask_status(sock, buf, sizeof(buf));
	ck_assert_str_eq(buf, "oldest=1700000000123456 open=1\n");
	txn_end(&a);
	for (int i = 0; i < 50; i++) {
		ask_status(sock, buf, sizeof(buf));
		ck_assert_str_eq(buf, "oldest=0 open=0\n");
	}
	status_stop();
	status_stop();
	close(lfd);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_TEST(test_queue_id), CK_TEST(test_join), CK_TEST(test_decide),
		CK_TEST(test_pool), CK_TEST(test_txn), CK_TEST(test_txn_threads),
		CK_TEST(test_status_socket),
	};
	Suite *s = suite_create("milter");

	tcase_add_checked_fixture(CK_TCASE(s, "milter", 60, tests), setup, teardown);
	return ck_run(s);
}
