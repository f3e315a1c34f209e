/*
 * drain - the drain before a switch and the release sweeps after it
 * (contracts in drain.h and pilot.h), split from pilot.c: these are the
 * parts that read Postfix's queue and move messages in it.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon.h"
#include "delim.h"
#include "drain.h"
#include "fe_pilot.h"
#include "log.h"
#include "mstatus.h"
#include "pq.h"
#include "timeutil.h"
#include "xalloc.h"

#define DRAIN_POLL_US 20000		/* postqueue scans while draining */
#define FAST_SWEEP_MS 100		/* sweeps while pre-switch transactions are open */
#define STATUS_TIMEOUT_MS 500

/* --- the milter's status: oldest open SMTP transaction --- */

/* milter_status: 0 with *OLDEST_R (µs, 0: none open), -1 when unreachable. */
static int milter_status(struct pilot *p, long long *oldest_r)
{
	const char *path = daemon_unix_path(config_str(p->cfg, "milter_status_socket"));
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char buf[1100];
	size_t len = 0;
	long long open_n;
	int fd;

	if (path == NULL || strlen(path) >= sizeof(sun.sun_path))
		return -1;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return -1;
	}
	long long deadline = time_mono_us() + STATUS_TIMEOUT_MS * 1000LL;

	while (len < sizeof(buf) - 1 && memchr(buf, '\n', len) == NULL) {
		struct pollfd pfd = {fd, POLLIN, 0};
		long long left = (deadline - time_mono_us()) / 1000;
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			break;
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	char *nl = memchr(buf, '\n', len);

	if (nl == NULL || mstatus_decode(buf, (size_t)(nl - buf + 1), oldest_r, &open_n) < 0)
		return -1;
	return 0;
}

/* --- release sweep --- */

struct pending {
	char queue_id[64];
	char *recipients;
	long long held_at, released_at;
	int in_hold, seen, blocked;
};

/* A sweep looks each address up once: 280 held messages for 20
 * addresses took 924 ms of lookups on a busy SQLite, two per message. */
#define SWEEP_MEMO 256

struct sweep {
	struct pilot *p;
	struct pending *v;
	size_t n, cap;
	size_t nmemo;
	char *memo[SWEEP_MEMO]; /* canonical addresses looked up... */
	int memo_held[SWEEP_MEMO]; /* ...and their answers */
};

static int collect_pending(void *ctx, const struct held_msg *m)
{
	struct sweep *w = ctx;

	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 64;
		w->v = xrealloc(w->v, w->cap * sizeof(*w->v));
	}
	struct pending *e = &w->v[w->n++];

	memset(e, 0, sizeof(*e));
	snprintf(e->queue_id, sizeof(e->queue_id), "%s", m->queue_id);
	e->recipients = xstrdup(m->recipients);
	e->held_at = m->held_at;
	e->released_at = m->released_at;
	return 0;
}

static int cmp_pending(const void *a, const void *b)
{
	return strcmp(((const struct pending *)a)->queue_id, ((const struct pending *)b)->queue_id);
}

/* addr_held: 1 if ADDR (any role) belongs to a held directory entry,
 * or if the store cannot say: a message is released only on a clear no. */
static int addr_held(struct sweep *w, const char *addr)
{
	struct dir_entry e;
	char canon[ADDR_MAX];
	const char *why;
	int rc, held;

	if (addr_normalize(addr, strlen(addr), ADDR_FOLD_LOCAL | ADDR_INTERNAL, canon, &why) < 0)
		return 0;
	for (size_t i = 0; i < w->nmemo; i++)
		if (strcmp(w->memo[i], canon) == 0)
			return w->memo_held[i];
	rc = delim_dir_lookup(w->p->s, config_str(w->p->cfg, "recipient_delimiter"), canon, &e);
	if (rc != STORE_OK && rc != STORE_NOTFOUND)
		return 1; /* not remembered: the next sweep asks again */
	held = rc == STORE_OK && e.held;
	if (w->nmemo < SWEEP_MEMO) {
		w->memo[w->nmemo] = xstrdup(canon);
		w->memo_held[w->nmemo++] = held;
	}
	return held;
}

static int sweep_scan(void *ctx, const struct pq_msg *m)
{
	struct sweep *w = ctx;
	struct pending key, *e;

	snprintf(key.queue_id, sizeof(key.queue_id), "%s", m->queue_id);
	e = bsearch(&key, w->v, w->n, sizeof(*w->v), cmp_pending);
	if (e == NULL)
		return 0;
	e->seen = 1;
	e->in_hold = strcmp(m->queue_name, "hold") == 0;
	for (size_t i = 0; i < m->nrcpt && !e->blocked; i++)
		e->blocked = addr_held(w, m->rcpt[i]);
	return 0;
}

int pilot_sweep(struct pilot *p)
{
	struct sweep w = {.p = p};
	long long npend, now = time_now_us();
	long long gone_after = config_time_ms(p->cfg, "release_sweep_period") * 1000;
	const char **ids;
	size_t nids = 0;
	int rc = 0;

	/* The pilot orders every front end to sweep its own queue too. */
	if (p->frontend[0] == '\0' && fe_pilot_release(p) < 0)
		rc = -1;
	if (store_fe_held_count(p->s, p->frontend, &npend) < 0) {
		log_error("release sweep: %s", store_errmsg(p->s));
		return -1;
	}
	if (npend == 0)
		return rc;
	if (store_fe_held_pending(p->s, p->frontend, collect_pending, &w) < 0) {
		log_error("release sweep: %s", store_errmsg(p->s));
		return -1;
	}
	qsort(w.v, w.n, sizeof(*w.v), cmp_pending);
	if (pf_scan(p->pf, sweep_scan, &w) < 0) {
		rc = -1;
		goto out;
	}
	ids = xcalloc(w.n + 1, sizeof(*ids));
	/* One transaction for the records of gone messages: after a group's
	 * release they are hundreds, a commit each took 0.3 s on a busy
	 * machine. What fails here is forgotten at the next sweep. */
	int gone_tx = 0;

	for (size_t i = 0; i < w.n; i++) {
		struct pending *e = &w.v[i];

		if (!e->seen) {
			/* Requeued (a new queue ID), delivered, deleted, or never
			 * committed: finished once released, or after a while. */
			if (e->released_at > 0 || e->held_at < now - gone_after) {
				if (!gone_tx)
					gone_tx = store_begin(p->s) == STORE_OK ? 1 : -1;
				store_held_gone(p->s, e->queue_id);
			}
			continue;
		}
		if (!e->in_hold || e->blocked)
			continue;
		/* The milter records canonical recipients separated by tabs
		 * (a canonical address may hold a space, never a tab). Rows
		 * from before that used spaces: check the words too. */
		char *save = NULL, *list = xstrdup(e->recipients);
		int old_row = strchr(list, '\t') == NULL;

		for (char *a = strtok_r(list, "\t", &save); a && !e->blocked;
		     a = strtok_r(NULL, "\t", &save)) {
			char *save2 = NULL;

			e->blocked = addr_held(&w, a);
			for (char *word = old_row ? strtok_r(a, " ", &save2) : NULL;
			     word && !e->blocked; word = strtok_r(NULL, " ", &save2))
				e->blocked = addr_held(&w, word);
		}
		free(list);
		if (!e->blocked)
			ids[nids++] = e->queue_id;
	}
	if (gone_tx == 1 && store_commit(p->s) != STORE_OK)
		log_error("release sweep: forget delivered messages: %s", store_errmsg(p->s));
	if (nids > 0) {
		if (pf_release(p->pf, ids, nids) < 0) {
			rc = -1;
		} else {
			if (store_begin(p->s) == STORE_OK) {
				for (size_t i = 0; i < nids; i++)
					store_held_released(p->s, ids[i], now);
				store_commit(p->s);
			}
			pf_kick(p->pf);
			for (size_t i = 0; i < nids; i++)
				log_info("%s: released", ids[i]);
			rc = (int)nids;
		}
	}
	free(ids);
out:
	for (size_t i = 0; i < w.n; i++)
		free(w.v[i].recipients);
	free(w.v);
	for (size_t i = 0; i < w.nmemo; i++)
		free(w.memo[i]);
	return rc;
}

long long pilot_sweep_interval_ms(struct pilot *p)
{
	return pilot_sweeping(p) ? FAST_SWEEP_MS : config_time_ms(p->cfg, "release_sweep");
}

int pilot_sweeping(struct pilot *p)
{
	long long last, oldest, now = time_now_us();

	if (store_req_last_switch(p->s, &last) < 0 || last == 0 ||
	    now > last + config_time_ms(p->cfg, "release_sweep_period") * 1000)
		return 0;
	if (milter_status(p, &oldest) < 0) {
		if (!p->status_warned++)
			log_warn("milter status %s unreachable: sweeping until "
				 "release_sweep_period ends",
				 config_str(p->cfg, "milter_status_socket"));
		return 1;
	}
	p->status_warned = 0;
	return oldest != 0 && oldest <= last;
}

/* --- drain --- */

/*
 * Why the drain looks so often. A "postqueue -j" listing is not a
 * snapshot: showq reads one queue directory after another while qmgr
 * renames files between them (deferred -> active on a retry or a
 * "postqueue -f", active -> deferred when the retry fails), so a message
 * moving at the wrong instant is in neither listing it passed. The drain
 * therefore trusts no listing older than its last action: after "postsuper
 * -h" it scans again to learn what really went to hold, and it declares
 * the address drained only after DRAIN_CLEAN consecutive scans found
 * nothing for it on its way; a message that moved during the first of
 * them sits still in its new queue while the second one looks.
 */
#define DRAIN_CLEAN 2

/* ids: a small growable set of queue ids (the drain sees a few). */
struct ids {
	char **v;
	int *held; /* tried only: seen in hold after the attempt */
	size_t *who; /* the index of the drained address it is for */
	size_t n, cap;
};

static size_t ids_find(const struct ids *s, const char *id)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], id) == 0)
			return i;
	return s->n;
}

static void ids_add(struct ids *s, const char *id, size_t who)
{
	if (ids_find(s, id) < s->n)
		return;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
		s->held = xrealloc(s->held, s->cap * sizeof(*s->held));
		s->who = xrealloc(s->who, s->cap * sizeof(*s->who));
	}
	s->held[s->n] = 0;
	s->who[s->n] = who;
	s->v[s->n++] = xstrdup(id);
}

static void ids_clear(struct ids *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	free(s->held);
	free(s->who);
	memset(s, 0, sizeof(*s));
}

struct drain {
	const struct drain_set *set;
	const char *delims;  /* the queue holds alice+tag@P1 as the socketmap wrote it */
	int busy;	     /* incoming, active, maildrop: still on its way */
	struct ids defer;    /* in the deferred queue in this scan */
	struct ids *tried;   /* given to postsuper -h during this drain */
};

static int drain_scan(void *ctx, const struct pq_msg *m)
{
	struct drain *d = ctx;
	size_t who = d->set->n;
	size_t k = ids_find(d->tried, m->queue_id);
	int in_hold = strcmp(m->queue_name, "hold") == 0;

	/* Where a message we tried to hold is, whatever its recipients now:
	 * the drained one may have been delivered between the scan and
	 * postsuper -h (a message for two addresses), and the message left
	 * in hold for the other must still be released, or it stays there. */
	if (k < d->tried->n)
		d->tried->held[k] = in_hold; /* else deferred again since, or never held */
	if (in_hold)
		return 0;
	/* A group's addresses are few hundred at most and a queue under
	 * load a few hundred messages: the plain loop costs well under the
	 * postqueue run that fed it. */
	for (size_t i = 0; i < m->nrcpt && who == d->set->n; i++)
		for (size_t j = 0; j < d->set->n && who == d->set->n; j++)
			if (delim_is(m->rcpt[i], d->set->phys[j], d->delims))
				who = j;
	if (who == d->set->n)
		return 0;
	if (strcmp(m->queue_name, "deferred") == 0)
		ids_add(&d->defer, m->queue_id, who);
	else
		d->busy++;
	return 0;
}

/* drain_hold: record, then hold, the deferred ids D saw; 0 or -1. */
static int drain_hold(struct pilot *p, struct drain *d)
{
	char rcpt[ADDR_MAX + 1];
	long long now = time_now_us();

	/* Record first: a crash after the hold leaves nothing unknown in the
	 * hold queue. What postsuper did not hold is forgotten again once a
	 * scan shows where it went (drain_forget). */
	for (size_t i = 0; i < d->defer.n; i++) {
		size_t who = d->defer.who[i];
		long long id = d->set->req[who];

		snprintf(rcpt, sizeof(rcpt), "%s", d->set->phys[who]);
		if (store_fe_held_add(p->s, p->frontend, d->defer.v[i], id, rcpt, now) < 0) {
			log_error("request=%lld: store_held_add(%s): %s", id, d->defer.v[i],
				  store_errmsg(p->s));
			return -1;
		}
		ids_add(d->tried, d->defer.v[i], who);
	}
	return pf_hold(p->pf, (const char *const *)d->defer.v, d->defer.n);
}

/* drain_forget: drop the records of tried ids not in the hold queue at
 * the last scan (delivered, or on their way when the drain gave up). */
static int drain_forget(struct pilot *p, const struct drain_set *set, const struct ids *tried)
{
	int n = 0;

	for (size_t i = 0; i < tried->n; i++) {
		if (tried->held[i]) {
			n++;
			continue;
		}
		if (store_held_forget(p->s, tried->v[i]) < 0)
			log_error("request=%lld: store_held_forget(%s): %s", set->req[tried->who[i]],
				  tried->v[i],
				  store_errmsg(p->s));
	}
	return n;
}

/* drain_what: what the drain waits for, for the admin's log line. */
static void drain_what(const struct drain_set *set, char *out, size_t len)
{
	if (set->n == 1)
		snprintf(out, len, "%s", set->phys[0]);
	else
		snprintf(out, len, "the %zu old physical addresses of the group", set->n);
}

/* drain_local: the drain on the queue of this host's Postfix. */
static int drain_local(struct pilot *p, const struct drain_set *set, char *why, size_t whylen)
{
	long long start = time_mono_us();
	long long deadline = start + config_time_ms(p->cfg, "drain_timeout") * 1000;
	struct ids tried = {0};
	int clean = 0, rc = 0, busy = 0, scans = 0, first = 0;
	char what[ADDR_MAX + 128];

	drain_what(set, what, sizeof(what));
	/* Every way out but an error follows a scan made after the last
	 * hold, so "tried" tells truly what is in the hold queue. */
	for (;;) {
		struct drain d = {set, config_str(p->cfg, "recipient_delimiter"), 0, {0}, &tried};
		size_t ndefer;

		rc = pf_scan(p->pf, drain_scan, &d);
		if (rc == 0 && d.defer.n > 0 && time_mono_us() < deadline) {
			rc = drain_hold(p, &d);
			ids_clear(&d.defer);
			if (rc < 0)
				break;
			clean = 0;
			continue; /* look again at once: that scan says what it did */
		}
		ndefer = d.defer.n;
		busy = d.busy + (int)ndefer;
		if (++scans == 1)
			first = busy;
		ids_clear(&d.defer);
		if (rc < 0)
			break;
		clean = busy == 0 ? clean + 1 : 0;
		if (clean >= DRAIN_CLEAN)
			break;
		if (time_mono_us() >= deadline) {
			snprintf(why, whylen, "drain_timeout: %d messages for %s still in the queue",
				 busy, what);
			busy = -1;
			break;
		}
		if (busy > 0)
			time_sleep_us(DRAIN_POLL_US);
	}
	if (rc < 0) {
		/* What postsuper did is unknown: keep every record (the sweep
		 * requeues what it finds in the hold queue, skips the rest). */
		snprintf(why, whylen, "drain: postqueue or postsuper failed");
		ids_clear(&tried);
		return -1;
	}
	int held = drain_forget(p, set, &tried);

	/* What the hold window was spent on: Postfix delivering what it had
	 * accepted before the hold. */
	if (busy >= 0)
		log_info("%s drained in %lld ms: %d messages for %s on their way at the first "
			 "look, %d looks", set->label, (time_mono_us() - start) / 1000, first,
			 what, scans);
	if (held > 0)
		log_info("%s moved %d deferred messages for %s to hold", set->label, held, what);
	if ((size_t)held < tried.n)
		log_info("%s %zu deferred messages for %s left the deferred queue "
			 "before postsuper -h: waited for, not held",
			 set->label, tried.n - (size_t)held, what);
	ids_clear(&tried);
	return busy < 0 ? -1 : 0;
}

int pilot_drain_set(struct pilot *p, const struct drain_set *set, char *why, size_t whylen)
{
	long long nfe = 0;

	/* The pilot with front ends registered drains through them, never
	 * its own queue alone; a front end drains its own queue. */
	if (p->frontend[0] == '\0') {
		if (store_fe_count(p->s, &nfe) < 0) {
			snprintf(why, whylen, "drain: %s", store_errmsg(p->s));
			return -1;
		}
		if (nfe > 0)
			return fe_pilot_drain(p, set, why, whylen);
	}
	return drain_local(p, set, why, whylen);
}

int pilot_drain(struct pilot *p, const struct req *r, const char *phys, char *why,
		size_t whylen)
{
	char label[ADDR_MAX + 32];

	snprintf(label, sizeof(label), "%s: request=%lld", r->access, r->id);
	struct drain_set set = {1, &phys, &r->id, label};

	return pilot_drain_set(p, &set, why, whylen);
}
