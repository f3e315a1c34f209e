#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "imap.h"
#include "lock.h"
#include "log.h"
#include "store_throttle.h"
#include "db.h"
#include "throttle.h"
#include "timeutil.h"
#include "xalloc.h"

/* The slot tries are cheap (an open and a lock each): a waiting child
 * looks again about this often, with jitter so that waiters spread. */
#define SLOT_POLL_US 150000LL

static long long sys_int(const struct config *cfg, const char *system, const char *suffix)
{
	char *key = xasprintf("%s_%s", system, suffix);
	long long v = config_int(cfg, key);

	free(key);
	return v;
}

void throttle_conf_init(struct throttle_conf *t, const struct config *cfg, const char *system)
{
	const char *db = config_str(cfg, "state_database");

	if (db_is_url(db))
		snprintf(t->db, sizeof(t->db), "%s/sessions", config_str(cfg, "run_directory"));
	else
		snprintf(t->db, sizeof(t->db), "%s", db);
	t->system = system;
	t->max_sessions = (int)sys_int(cfg, system, "max_sessions");
	t->max_logins_per_s = (int)sys_int(cfg, system, "max_logins_per_s");
	t->backoff_us = config_sys_time_ms(cfg, system, "backoff") * 1000;
	t->backoff_max_us = config_sys_time_ms(cfg, system, "backoff_max") * 1000;
	t->give_up_us = config_sys_time_ms(cfg, system, "backoff_give_up") * 1000;
}

/* is_code: CODE (LEN bytes) starts with the atom NAME, alone or with arguments. */
static int is_code(const char *code, size_t len, const char *name)
{
	size_t n = strlen(name);

	return len >= n && strncasecmp(code, name, n) == 0 && (len == n || code[n] == ' ');
}

int throttle_code_class(const char *code, size_t len)
{
	if (code == NULL)
		return THR_FAIL;
	/* RFC 5530: LIMIT is a limit of the server's reached, UNAVAILABLE a
	 * temporary failure; both pass. AUTHENTICATIONFAILED and all else
	 * (no code at all included) are the login's own failure. */
	return is_code(code, len, "LIMIT") || is_code(code, len, "UNAVAILABLE") ? THR_BACKOFF
										  : THR_FAIL;
}

int throttle_conn_class(const char *err)
{
	/* Our own client's words (smd/imap*.c) for a source that would not
	 * take the session: the TCP connect refused, reset or timed out, a
	 * greeting other than OK (BYE), the connection ended or failed while
	 * reading or writing (a TLS session cut short included). A bad URL or
	 * a certificate or TLS handshake refused are the configuration's. */
	static const char *const busy[] = {
		": connect: ", "server refused the connection", "server said BYE",
		"connection closed", "Connection reset by peer", ": read: ", ": write: ",
		"timed out", ": timeout ", NULL,
	};

	if (err == NULL)
		return THR_FAIL;
	for (int i = 0; busy[i]; i++)
		if (strstr(err, busy[i]))
			return THR_BACKOFF;
	return THR_FAIL;
}

/* slot_key: the mailbox-lock key of SYSTEM's slot I: no journal key has
 * this form (they name two systems and two logins, smd_mailbox_key). */
static char *slot_key(const char *system, int i)
{
	return xasprintf("session slot %d of source %s", i, system);
}

int throttle_slot_take(const char *db, const char *system, int max, char **err_r)
{
	for (int i = 0; i < max; i++) {
		char *key = slot_key(system, i);
		int fd = smd_lock_take(db, key, err_r);

		free(key);
		if (fd != SMD_LOCK_BUSY)
			return fd;
	}
	return THR_SLOT_BUSY;
}

int throttle_slots_used(const char *db, const char *system, int max)
{
	int used = 0;

	for (int i = 0; i < max; i++) {
		char *key = slot_key(system, i), *err = NULL;
		int fd = smd_lock_take(db, key, &err);

		free(key);
		if (fd == -1) {
			free(err);
			return -1;
		}
		if (fd == SMD_LOCK_BUSY)
			used++;
		else
			close(fd);
	}
	return used;
}

static unsigned jitter(void)
{
	unsigned v;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
		v = (unsigned)getpid() ^ (unsigned)time_mono_us();
	return v;
}

/* nap: sleep US (at most a second at a time); 0, or -1 when *STOP is set. */
static int nap(long long us, volatile sig_atomic_t *stop)
{
	while (us > 0) {
		if (stop && *stop)
			return -1;
		long long step = us < 1000000 ? us : 1000000;
		struct timespec ts = {step / 1000000, (step % 1000000) * 1000};

		nanosleep(&ts, NULL);
		us -= step;
	}
	return stop && *stop ? -1 : 0;
}

/* One throttle_open() call's waits, for its log lines. */
struct topen {
	const struct throttle_conf *t;
	struct store *s;
	const struct copy_side *side;
	volatile sig_atomic_t *stop;
	long long t0; /* monotonic µs: the first refusal in a row, or 0 */
};

/* wait_backoff: wait while SYSTEM's back-off runs (logged once); -1: stopped. */
static int wait_backoff(struct topen *o)
{
	struct store_thr r;
	int logged = 0;

	for (;;) {
		long long now = time_now_us();

		if (store_thr_get(o->s, o->t->system, &r) == STORE_ERR) {
			log_warn("source %s: cannot read its back-off (going on without): %s",
				 o->t->system, store_errmsg(o->s));
			return 0;
		}
		if (r.until <= now)
			return 0;
		if (!logged++)
			log_info("source %s: %s waits %.1f s for the source's back-off (%lld "
				 "refusals in a row, the last: %s)",
				 o->t->system, o->side->user, (double)(r.until - now) / 1e6, r.level,
				 r.reason);
		if (nap(r.until - now, o->stop) < 0)
			return -1;
	}
}

/* record_sessions: the slots held now into the store, for fedmigctl. */
static void record_sessions(const struct throttle_conf *t, struct store *s, int waited)
{
	int used = throttle_slots_used(t->db, t->system, t->max_sessions);

	if (used >= 0 &&
	    store_thr_sessions(s, t->system, used, t->max_sessions, waited, time_now_us()) ==
		    STORE_ERR)
		log_warn("source %s: cannot record its sessions: %s", t->system, store_errmsg(s));
}

/* take_slot: wait for a session slot (logged once, with how long); -1: stopped or *err_r. */
static int take_slot(struct topen *o, int *slot_r, char **err_r)
{
	long long start = 0;

	*slot_r = -1;
	if (o->t->max_sessions <= 0)
		return 0;
	for (;;) {
		int fd = throttle_slot_take(o->t->db, o->t->system, o->t->max_sessions, err_r);

		if (fd >= 0) {
			if (start)
				log_info("source %s: %s got a session after waiting %.1f s",
					 o->t->system, o->side->user,
					 (double)(time_mono_us() - start) / 1e6);
			*slot_r = fd;
			record_sessions(o->t, o->s, start != 0);
			return 0;
		}
		if (fd == -1)
			return -1;
		if (start == 0) {
			start = time_mono_us();
			log_info("source %s: all %d sessions in use (%s_max_sessions); %s waits for "
				 "one",
				 o->t->system, o->t->max_sessions, o->t->system, o->side->user);
		}
		if (nap(SLOT_POLL_US / 2 + jitter() % SLOT_POLL_US, o->stop) < 0) {
			*err_r = xstrdup("stopped while waiting for a session");
			return -1;
		}
	}
}

/* wait_rate: SYSTEM's next login instant (NAME_max_logins_per_s). */
static int wait_rate(struct topen *o)
{
	long long at, now = time_now_us();

	if (o->t->max_logins_per_s <= 0)
		return 0;
	if (store_thr_login_at(o->s, o->t->system, now, 1000000LL / o->t->max_logins_per_s, &at) ==
	    STORE_ERR) {
		log_warn("source %s: cannot reserve a login (going on without): %s", o->t->system,
			 store_errmsg(o->s));
		return 0;
	}
	return nap(at - now, o->stop);
}

/* try_session: connect and log in: the session, or NULL with *err_r and *class_r. */
static struct imap_conn *try_session(const struct copy_side *side, int *class_r, char **err_r)
{
	unsigned tag;
	struct imap_conn *c = imap_connect(&side->imap, err_r);

	if (c == NULL) {
		*class_r = throttle_conn_class(*err_r);
		return NULL;
	}
	if (imap_login_start(c, side->user, side->master, side->master_sep, side->password, &tag) ==
		    0 &&
	    imap_login_finish(c, tag, side->user, side->master) == 0)
		return c;
	enum imap_status st = IMAP_OK;

	/* A login answered OK and a session ended at once is a BYE after it. */
	if (imap_done(c, tag) && imap_wait(c, tag, &st, NULL) == 0 && st != IMAP_OK) {
		const struct imap_code *code = imap_result_code(c, tag);

		*class_r = code->type == IMAP_CODE_OTHER
				   ? throttle_code_class(code->text.p, code->text.len)
				   : THR_FAIL;
	} else {
		/* The connection failed at the login, not the login itself. */
		*class_r = THR_BACKOFF;
	}
	*err_r = xstrdup(imap_error(c));
	imap_close(&c);
	return NULL;
}

/* refused: a throttling refusal (WHY): the shared back-off grows; 1 to
 * try again, 0 after NAME_backoff_give_up of refusals in a row. */
static int refused(struct topen *o, const char *why)
{
	long long until, now = time_now_us();
	int started;

	if (o->t0 == 0)
		o->t0 = time_mono_us();
	if (store_thr_refused(o->s, o->t->system, now, o->t->backoff_us, o->t->backoff_max_us,
			      (int)(jitter() % 1000), why, &until, &started) == STORE_ERR) {
		log_warn("source %s: cannot record its back-off: %s", o->t->system,
			 store_errmsg(o->s));
		until = now + o->t->backoff_us;
		started = 0;
	}
	if (started)
		log_warn("source %s: back-off started for %.1f s: the source refused a session "
			 "of %s: %s",
			 o->t->system, (double)(until - now) / 1e6, o->side->user, why);
	return time_mono_us() - o->t0 < o->t->give_up_us;
}

static void succeeded(struct topen *o)
{
	int ended;

	if (store_thr_ok(o->s, o->t->system, time_now_us(), &ended) == STORE_ERR)
		log_warn("source %s: cannot clear its back-off: %s", o->t->system,
			 store_errmsg(o->s));
	else if (ended)
		log_info("source %s: back-off ended: %s logged in", o->t->system, o->side->user);
}

struct imap_conn *throttle_open(const struct throttle_conf *t, struct store *s,
				const struct copy_side *side, volatile sig_atomic_t *stop,
				int *slot_r, char **err_r)
{
	struct topen o = {t, s, side, stop, 0};

	for (;;) {
		int cls = THR_FAIL;
		struct imap_conn *c;

		*err_r = NULL;
		if (wait_backoff(&o) < 0 || take_slot(&o, slot_r, err_r) < 0 || wait_rate(&o) < 0)
			break;
		if ((c = try_session(side, &cls, err_r)) != NULL) {
			succeeded(&o);
			return c;
		}
		throttle_close(t, s, slot_r);
		if (cls != THR_BACKOFF)
			return NULL;
		if (!refused(&o, *err_r)) {
			char *why = xasprintf("the source kept refusing sessions for %lld s "
					      "(%s_backoff_give_up): %s",
					      t->give_up_us / 1000000, t->system, *err_r);

			free(*err_r);
			*err_r = why;
			return NULL;
		}
		free(*err_r);
	}
	throttle_close(t, s, slot_r);
	if (*err_r == NULL)
		*err_r = xstrdup("stopped while waiting for the source");
	return NULL;
}

void throttle_close(const struct throttle_conf *t, struct store *s, int *slot)
{
	if (*slot < 0)
		return;
	close(*slot);
	*slot = -1;
	record_sessions(t, s, 0);
}
