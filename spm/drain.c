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
#include "drain.h"
#include "log.h"
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

	if (nl == NULL || pq_parse_status(buf, (size_t)(nl - buf + 1), oldest_r, &open_n) < 0)
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

struct sweep {
	struct pilot *p;
	struct pending *v;
	size_t n, cap;
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

/* addr_held: 1 if ADDR (any role) belongs to a held directory entry. */
static int addr_held(struct pilot *p, const char *addr)
{
	struct dir_entry e;
	char canon[ADDR_MAX];
	const char *why;

	if (addr_normalize(addr, strlen(addr), ADDR_FOLD_LOCAL, canon, &why) < 0)
		return 0;
	return store_dir_lookup(p->s, canon, &e) == STORE_OK && e.held;
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
		e->blocked = addr_held(w->p, m->rcpt[i]);
	return 0;
}

int pilot_sweep(struct pilot *p)
{
	struct sweep w = {p, NULL, 0, 0};
	long long npend, now = time_now_us();
	long long gone_after = config_time_ms(p->cfg, "release_sweep_period") * 1000;
	const char **ids;
	size_t nids = 0;
	int rc = 0;

	if (store_held_count_pending(p->s, &npend) < 0) {
		log_error("release sweep: %s", store_errmsg(p->s));
		return -1;
	}
	if (npend == 0)
		return 0;
	if (store_held_pending(p->s, collect_pending, &w) < 0) {
		log_error("release sweep: %s", store_errmsg(p->s));
		return -1;
	}
	qsort(w.v, w.n, sizeof(*w.v), cmp_pending);
	if (pf_scan(p->pf, sweep_scan, &w) < 0) {
		rc = -1;
		goto out;
	}
	ids = xcalloc(w.n + 1, sizeof(*ids));
	for (size_t i = 0; i < w.n; i++) {
		struct pending *e = &w.v[i];

		if (!e->seen) {
			/* Requeued (a new queue ID), delivered, deleted, or never
			 * committed: finished once released, or after a while. */
			if (e->released_at > 0)
				store_held_released(p->s, e->queue_id, -e->released_at);
			else if (e->held_at < now - gone_after)
				store_held_released(p->s, e->queue_id, -now);
			continue;
		}
		if (!e->in_hold || e->blocked)
			continue;
		/* The milter records recipients as the client wrote them. */
		char *save = NULL, *list = xstrdup(e->recipients);

		for (char *a = strtok_r(list, " ", &save); a && !e->blocked;
		     a = strtok_r(NULL, " ", &save))
			e->blocked = addr_held(p, a);
		free(list);
		if (!e->blocked)
			ids[nids++] = e->queue_id;
	}
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

struct drain {
	const char *phys;
	int busy;
	const char **defer;
	size_t ndefer, cap;
};

static int drain_scan(void *ctx, const struct pq_msg *m)
{
	struct drain *d = ctx;
	int ours = 0;

	for (size_t i = 0; i < m->nrcpt && !ours; i++)
		ours = strcmp(m->rcpt[i], d->phys) == 0;
	if (!ours)
		return 0;
	if (strcmp(m->queue_name, "deferred") == 0) {
		if (d->ndefer == d->cap) {
			d->cap = d->cap ? d->cap * 2 : 8;
			d->defer = xrealloc(d->defer, d->cap * sizeof(*d->defer));
		}
		d->defer[d->ndefer++] = xstrdup(m->queue_id);
	} else if (strcmp(m->queue_name, "hold") != 0) {
		d->busy++; /* incoming, active, maildrop: still on its way */
	}
	return 0;
}

int pilot_drain(struct pilot *p, const struct req *r, const char *phys, char *why,
		size_t whylen)
{
	long long deadline = time_mono_us() + config_time_ms(p->cfg, "drain_timeout") * 1000;

	for (;;) {
		struct drain d = {phys, 0, NULL, 0, 0};
		int rc = pf_scan(p->pf, drain_scan, &d);

		if (rc == 0 && d.ndefer > 0) {
			char rcpt[ADDR_MAX + 1];

			snprintf(rcpt, sizeof(rcpt), "%s", phys);
			/* Record first: a crash after the hold leaves nothing unknown. */
			for (size_t i = 0; i < d.ndefer; i++)
				if (store_held_add(p->s, d.defer[i], r->id, rcpt, time_now_us()) < 0)
					rc = -1;
			if (rc == 0 && pf_hold(p->pf, d.defer, d.ndefer) < 0)
				rc = -1;
			if (rc == 0)
				log_info("%s: request=%lld moved %zu deferred messages to hold", r->access,
					 r->id, d.ndefer);
		}
		for (size_t i = 0; i < d.ndefer; i++)
			free((char *)d.defer[i]);
		free(d.defer);
		if (rc < 0) {
			snprintf(why, whylen, "drain: postqueue or postsuper failed");
			return -1;
		}
		if (d.busy == 0)
			return 0;
		if (time_mono_us() >= deadline) {
			snprintf(why, whylen, "drain_timeout: %d messages for %s still in the queue",
				 d.busy, phys);
			return -1;
		}
		time_sleep_us(DRAIN_POLL_US);
	}
}
