/* Per-source throttling (smd/throttle.h, lib/store_throttle.h): the
 * session slots across processes (a holder killed with KILL frees its
 * slot), the classification of refusals (hostile codes and texts), the
 * shared back-off and the rate's login instants in the store. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ckmain.h"
#include "store_throttle.h"
#include "testutil.h"
#include "throttle.h"

#define S 1000000LL

static char dir[64], db[128];

static void setup(void)
{
	tu_tmpdir(dir, sizeof(dir), "fedmig-throttle", db, sizeof(db));
}

static void teardown(void)
{
	char lock[160];

	snprintf(lock, sizeof(lock), "%s.smd-lock", db);
	unlink(lock);
	tu_rm_db(db);
	rmdir(dir);
}

static const struct {
	const char *code;
	size_t len; /* 0: strlen */
	int want;
} codes[] = {
	{"LIMIT", 0, THR_BACKOFF},
	{"limit", 0, THR_BACKOFF},
	{"UNAVAILABLE", 0, THR_BACKOFF},
	{"UnAvailable some args", 0, THR_BACKOFF},
	{"LIMIT 10", 0, THR_BACKOFF},
	{"AUTHENTICATIONFAILED", 0, THR_FAIL},
	{"AUTHORIZATIONFAILED", 0, THR_FAIL},
	{"LIMITED", 0, THR_FAIL},
	{"UNAVAILABLEX", 0, THR_FAIL},
	{"LIMI", 0, THR_FAIL},
	{" LIMIT", 0, THR_FAIL},
	{"LIMIT\tx", 0, THR_FAIL},
	{"LIMIT\0 x", 8, THR_FAIL},
	{"", 0, THR_FAIL},
	{"\xff\xfe\x00", 3, THR_FAIL},
	{"[LIMIT]", 0, THR_FAIL},
	{"ALERT", 0, THR_FAIL},
	{"LIMIT", 3, THR_FAIL}, /* only LEN bytes count: "LIM" */
};

START_TEST(test_code_class)
{
	const char *c = codes[_i].code;
	size_t len = codes[_i].len ? codes[_i].len : strlen(c);

	ck_assert_msg(throttle_code_class(c, len) == codes[_i].want, "code %d <%s>", _i, c);
}
END_TEST

static const struct {
	const char *err;
	int want;
} conns[] = {
	{"imap://127.0.0.1:1: connect: Connection refused", THR_BACKOFF},
	{"imap://h:143: connect: Connection timed out", THR_BACKOFF},
	{"imap://h:143: server refused the connection", THR_BACKOFF},
	{"imap://h:143: server said BYE", THR_BACKOFF},
	{"imap://h:143: connection closed", THR_BACKOFF},
	{"imap://h:143: read: Connection reset by peer", THR_BACKOFF},
	{"imap://h:143: read: error:0A000126:SSL routines::unexpected eof while reading", THR_BACKOFF},
	{"imap://h:143: write: Broken pipe", THR_BACKOFF},
	{"imap://h:143: TLS handshake timed out", THR_BACKOFF},
	{"imap://h:143: timeout after 120000 ms waiting for the server", THR_BACKOFF},
	{"imap://h:143: TLS handshake: wrong version number", THR_FAIL},
	{"imap://h:143: TLS: certificate verification failed: x", THR_FAIL},
	{"imap://h:143: bad IMAP URL (imap://host:port or imaps://host:port)", THR_FAIL},
	{"imap://h:143: STARTTLS required but not offered", THR_FAIL},
	{"imap://h:143: login as a via m failed: [AUTHENTICATIONFAILED] no", THR_FAIL},
	{"", THR_FAIL},
	{NULL, THR_FAIL},
};

START_TEST(test_conn_class)
{
	ck_assert_msg(throttle_conn_class(conns[_i].err) == conns[_i].want, "error %d", _i);
}
END_TEST

/* hold_slot: a child that takes one of SYSTEM's MAX slots, says so on the
 * pipe and sleeps until killed. */
static pid_t hold_slot(const char *system, int max)
{
	int p[2];
	char c;

	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char *err = NULL;
		int fd = throttle_slot_take(db, system, max, &err);

		c = fd >= 0 ? 'y' : 'n';
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	close(p[0]);
	ck_assert_int_eq(c, 'y');
	return pid;
}

static void kill9(pid_t pid)
{
	int st;

	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
}

/* Two slots: two holders fill them; a KILLed holder's slot is free again. */
START_TEST(test_slots_kill9)
{
	char *err = NULL;
	pid_t a = hold_slot("s1", 2), b = hold_slot("s1", 2);

	ck_assert_int_eq(throttle_slots_used(db, "s1", 2), 2);
	ck_assert_int_eq(throttle_slot_take(db, "s1", 2, &err), THR_SLOT_BUSY);
	/* Another source's slots are its own. */
	int other = throttle_slot_take(db, "s2", 2, &err);

	ck_assert_int_ge(other, 0);
	close(other);
	kill9(a);
	ck_assert_int_eq(throttle_slots_used(db, "s1", 2), 1);
	int fd = throttle_slot_take(db, "s1", 2, &err);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(throttle_slot_take(db, "s1", 2, &err), THR_SLOT_BUSY);
	close(fd);
	kill9(b);
	ck_assert_int_eq(throttle_slots_used(db, "s1", 2), 0);
}
END_TEST

/* The slot file is the mailbox lock file: a link planted there is refused. */
START_TEST(test_slots_symlink)
{
	char lock[160], *err = NULL;

	snprintf(lock, sizeof(lock), "%s.smd-lock", db);
	ck_assert_int_eq(symlink("/etc/passwd", lock), 0);
	ck_assert_int_eq(throttle_slot_take(db, "s1", 4, &err), -1);
	ck_assert_ptr_nonnull(strstr(err, "symbolic link"));
	free(err);
	ck_assert_int_eq(throttle_slots_used(db, "s1", 4), -1);
}
END_TEST

/* The back-off: grows per refusal in a row, never shortens another
 * child's, ends at the next login; refusals are counted. */
START_TEST(test_store_backoff)
{
	struct store *s = tu_store_fresh(dir);
	struct store_thr r;
	long long until;
	int started, ended;

	ck_assert_int_eq(store_thr_get(s, "s1", &r), STORE_NOTFOUND);
	ck_assert_int_eq(store_thr_refused(s, "s1", 100 * S, 2 * S, 60 * S, 0, "NO [LIMIT]",
					   &until, &started),
			 STORE_OK);
	ck_assert(until == 102 * S && started);
	ck_assert_int_eq(store_thr_refused(s, "s1", 101 * S, 2 * S, 60 * S, 1000, "BYE", &until,
					   &started),
			 STORE_OK);
	ck_assert(until == 109 * S && !started); /* 4 s + 100 % jitter */
	/* A refusal that would end earlier does not shorten it. */
	ck_assert_int_eq(store_thr_ok(s, "s2", 101 * S, &ended), STORE_OK);
	ck_assert_int_eq(ended, 0);
	ck_assert_int_eq(store_thr_get(s, "s1", &r), STORE_OK);
	ck_assert(r.level == 2 && r.refusals == 2 && r.until == 109 * S);
	ck_assert_str_eq(r.reason, "BYE");
	ck_assert_int_eq(store_thr_ok(s, "s1", 110 * S, &ended), STORE_OK);
	ck_assert_int_eq(ended, 1);
	ck_assert_int_eq(store_thr_get(s, "s1", &r), STORE_OK);
	ck_assert(r.level == 0 && r.until == 0 && r.refusals == 2);
	/* The cap holds whatever the level. */
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(store_thr_refused(s, "s1", 200 * S, 2 * S, 60 * S, 0, "x", &until,
						   &started),
				 STORE_OK);
	ck_assert(until == 260 * S);
	store_close(&s);
}
END_TEST

/* The rate: login instants spaced by the interval, a far reservation
 * (the clock stepped back) not waited for; sessions and waits recorded. */
START_TEST(test_store_rate)
{
	struct store *s = tu_store_fresh(dir);
	struct store_thr r;
	long long at;

	ck_assert_int_eq(store_thr_login_at(s, "s1", 10 * S, S / 4, &at), STORE_OK);
	ck_assert(at == 10 * S);
	ck_assert_int_eq(store_thr_login_at(s, "s1", 10 * S, S / 4, &at), STORE_OK);
	ck_assert(at == 10 * S + S / 4);
	ck_assert_int_eq(store_thr_login_at(s, "s1", 10 * S + 1, S / 4, &at), STORE_OK);
	ck_assert(at == 10 * S + S / 2);
	ck_assert_int_eq(store_thr_login_at(s, "s1", 20 * S, S / 4, &at), STORE_OK);
	ck_assert(at == 20 * S);
	ck_assert_int_eq(store_thr_login_at(s, "s1", 1 * S, S / 4, &at), STORE_OK);
	ck_assert(at == 1 * S);
	ck_assert_int_eq(store_thr_sessions(s, "s1", 3, 4, 1, 30 * S), STORE_OK);
	ck_assert_int_eq(store_thr_sessions(s, "s1", 2, 4, 0, 31 * S), STORE_OK);
	ck_assert_int_eq(store_thr_get(s, "s1", &r), STORE_OK);
	ck_assert(r.in_use == 2 && r.max_sessions == 4 && r.waits == 1);
	store_close(&s);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_LOOP(test_code_class, codes), CK_LOOP(test_conn_class, conns),
		CK_TEST(test_slots_kill9),	  CK_TEST(test_slots_symlink),
		CK_TEST(test_store_backoff),	  CK_TEST(test_store_rate),
	};
	Suite *s = suite_create("throttle");
	TCase *tc = CK_TCASE(s, "throttle", 30, tests);

	tcase_add_checked_fixture(tc, setup, teardown);
	return ck_run(s);
}
