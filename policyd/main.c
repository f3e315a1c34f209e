/*
 * fedmig-policyd - the directory, served to Postfix two ways from one
 * libev loop: the SMTP access policy protocol (reject unknown federated
 * recipients, defer held ones when hold_action = defer) and a socketmap
 * table for virtual_alias_maps (access address -> physical address).
 *
 * Failure policy: the store is read on every policy request (a hold is
 * answered at once) and socketmap answers are kept at most
 * socketmap_cache_time, never across a switch (policyd/mapcache.h). When
 * the store cannot be read (removed, replaced, truncated, corrupt) the
 * answer is a temporary failure, never a guess, and the next request
 * reopens it (at most every 0.1 s while it stays broken:
 * policyd/dirstore.h). A connection that breaks the protocol is closed
 * alone.
 */
#include <errno.h>
#include <ev.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "decide.h"
#include "dirstore.h"
#include "log.h"
#include "mapcache.h"
#include "netstring.h"
#include "nofile.h"
#include "peer.h"
#include "policy_proto.h"
#include "server.h"
#include "stats.h"
#include "timeutil.h"
#include "xalloc.h"

/* Past this much unsent output a connection is not read until it drains. */
#define OUT_HIGH_WATER 65536
/* An output buffer grown past this by a burst is given back once sent. */
#define OUT_KEEP 16384
/* Accepts per wake-up: a flood of connections must not starve the rest. */
#define ACCEPT_BATCH 256
/* "service full" warnings: at most one per this many seconds. */
#define FULL_LOG_S 10.0
#define READ_CHUNK 16384
#define LISTEN_BACKLOG 1024
/* On SIGTERM, pending answers get this long to leave. */
#define STOP_GRACE 5.0

enum service { SVC_POLICY, SVC_SOCKETMAP };

static const char *const service_name[] = {"policy", "socketmap"};

struct policyd;

struct listener {
	struct policyd *pd;
	ev_io io;
	int fd;
	enum service svc;
};

struct conn {
	struct policyd *pd;
	ev_io rio, wio;
	ev_timer idle;       /* idle timeout and request deadline, whichever is first */
	ev_tstamp last_active;
	ev_tstamp req_start; /* first byte of the unfinished request, 0: none */
	int fd;
	enum service svc;
	struct policy_parser *pp;
	struct netstring_dec *nd;
	char *out;
	size_t olen, ooff, ocap;
	int reading;  /* rio started */
	int draining; /* close once the output is written */
	unsigned long long nreq;
	char peer[80];
	struct conn *prev, *next; /* its service's list, least recently active first */
};

/*
 * Each service has its own connection limit and list. When a service is
 * full a new client is served and the connection of that service idle
 * longest is closed: Postfix's clients reconnect, and idle or dripping
 * connections can no longer lock new lookups out until their timeout.
 */
struct svc_conns {
	struct conn *head, *tail;
	long long n, max;
	unsigned long evicted; /* since the last "full" warning */
	ev_tstamp last_full_log;
};

/* The daemon: every callback finds it through its watcher's data. */
struct policyd {
	struct server *srv;
	struct ev_loop *loop;
	struct config *cfg; /* the one dc, domains and the limits come from */
	struct listener lis[2];
	int nlis;
	int paused;
	struct decide_conf dc;
	char **domains;
	size_t ndomains;
	struct dirstore dir;
	size_t max_line, max_attrs, max_request, max_netstring;
	struct svc_conns svc[2];
	long long nconns;
	int closed_since_tick;
	ev_tstamp idle_s, request_s;
	int verbose;
	int stopping;
	ev_timer tick;
	struct pstats stats; /* lookup latency, for /metrics */
	struct mapcache cache; /* socketmap answers, socketmap_cache_time */
};

/* bind() opens the listeners into it: server_ops.bind has no context. */
static struct policyd policyd;

/* --- the store --- */

static int lookup(void *ctx, const char *addr, struct dir_entry *r)
{
	struct policyd *pd = ctx;
	int rc;

	struct store *s = dirstore_get(&pd->dir, ev_now(pd->loop));

	if (s == NULL)
		return STORE_ERR;
	if ((rc = store_dir_lookup(s, addr, r)) == STORE_ERR)
		dirstore_failed(&pd->dir, ev_now(pd->loop));
	return rc;
}

/*
 * rewrite: the socketmap's answer, from the cache when it holds a live
 * one (policyd/mapcache.h: why an answer is never kept from a held row).
 */
static int rewrite(void *ctx, const char *addr, char out[ADDR_MAX])
{
	struct policyd *pd = ctx;
	struct dir_entry e;
	long long t0 = time_mono_us();
	int rc, phys_notfound;

	if (mapcache_get(&pd->cache, addr, t0, &rc, out))
		return rc;

	struct store *s = dirstore_get(&pd->dir, ev_now(pd->loop));

	if (s == NULL)
		return STORE_ERR;
	rc = store_dir_lookup_next(s, addr, &e, &phys_notfound);
	if (rc == STORE_ERR) {
		dirstore_failed(&pd->dir, ev_now(pd->loop));
		return rc;
	}
	if (rc == STORE_NOTFOUND) {
		mapcache_put(&pd->cache, addr, t0, rc, NULL);
		return rc;
	}
	/* As store_dir_rewrite(): an old physical address is not rewritten. */
	if (e.match == DIR_PHYSICAL)
		rc = STORE_NOTFOUND;
	else
		memcpy(out, e.physical, sizeof(e.physical));
	if (e.held)
		return rc;
	mapcache_put(&pd->cache, addr, t0, rc, out);
	/* Cleanup asks for the address it was rewritten to next. */
	if (phys_notfound)
		mapcache_put(&pd->cache, e.physical, t0, STORE_NOTFOUND, NULL);
	return rc;
}

static void listeners_pause(struct policyd *pd)
{
	if (pd->paused)
		return;
	for (int i = 0; i < pd->nlis; i++)
		ev_io_stop(pd->loop, &pd->lis[i].io);
	pd->paused = 1;
}

static void listeners_resume(struct policyd *pd)
{
	if (!pd->paused || pd->stopping)
		return;
	for (int i = 0; i < pd->nlis; i++)
		ev_io_start(pd->loop, &pd->lis[i].io);
	pd->paused = 0;
}

/*
 * An open SQLite handle keeps reading a database that was deleted,
 * replaced or made unreadable: check the path itself every second, so the
 * answers follow what an administrator did to the file.
 */
static void tick_cb(EV_P_ ev_timer *w, int revents)
{
	struct policyd *pd = w->data;

	dirstore_check(&pd->dir, ev_now(EV_A));
	pstats_tick(&pd->stats, config_str(pd->cfg, "run_directory"), ev_now(EV_A));
	listeners_resume(pd);
	/* Hundreds of large requests freed leave the heap's top in use:
	 * give it back to the system (the RSS stays near its baseline). */
	if (pd->closed_since_tick) {
		malloc_trim(0);
		pd->closed_since_tick = 0;
	}
}

/* --- connections --- */

static void list_unlink(struct conn *c)
{
	struct policyd *pd = c->pd;
	struct svc_conns *sv = &pd->svc[c->svc];

	if (c->prev)
		c->prev->next = c->next;
	else
		sv->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		sv->tail = c->prev;
	c->prev = c->next = NULL;
}

static void list_append(struct conn *c)
{
	struct policyd *pd = c->pd;
	struct svc_conns *sv = &pd->svc[c->svc];

	c->prev = sv->tail;
	c->next = NULL;
	if (sv->tail)
		sv->tail->next = c;
	else
		sv->head = c;
	sv->tail = c;
}

/* touch: C was active now; the list stays ordered by last activity. */
static void touch(struct conn *c)
{
	struct policyd *pd = c->pd;
	c->last_active = ev_now(pd->loop);
	if (pd->svc[c->svc].tail != c) {
		list_unlink(c);
		list_append(c);
	}
}

static void conn_close(struct conn *c)
{
	struct policyd *pd = c->pd;
	ev_io_stop(pd->loop, &c->rio);
	ev_io_stop(pd->loop, &c->wio);
	ev_timer_stop(pd->loop, &c->idle);
	close(c->fd);
	policy_parser_free(&c->pp);
	netstring_dec_free(&c->nd);
	free(c->out);
	list_unlink(c);
	pd->svc[c->svc].n--;
	free(c);
	pd->nconns--;
	pd->closed_since_tick = 1;
	if (pd->stopping) {
		if (pd->nconns == 0)
			server_exit(pd->srv, 0);
	} else {
		listeners_resume(pd);
	}
}

static void set_reading(struct conn *c, int on)
{
	struct policyd *pd = c->pd;
	if (on && !c->reading)
		ev_io_start(pd->loop, &c->rio);
	else if (!on && c->reading)
		ev_io_stop(pd->loop, &c->rio);
	c->reading = on;
}

/* flush: write what we can; 0 when the connection lives on, -1 closed. */
static int flush(struct conn *c)
{
	struct policyd *pd = c->pd;
	while (c->ooff < c->olen) {
		ssize_t n = write(c->fd, c->out + c->ooff, c->olen - c->ooff);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			log_debug("%s: write to %s: %s", service_name[c->svc], c->peer,
				  strerror(errno));
			conn_close(c);
			return -1;
		}
		c->ooff += (size_t)n;
	}
	if (c->ooff == c->olen) {
		c->ooff = c->olen = 0;
		if (c->ocap > OUT_KEEP) {
			free(c->out);
			c->out = NULL;
			c->ocap = 0;
		}
		ev_io_stop(pd->loop, &c->wio);
		if (c->draining) {
			conn_close(c);
			return -1;
		}
		set_reading(c, 1);
		return 0;
	}
	ev_io_start(pd->loop, &c->wio);
	if (c->olen - c->ooff > OUT_HIGH_WATER || c->draining)
		set_reading(c, 0);
	return 0;
}

static void out_append(struct conn *c, const char *data, size_t n)
{
	if (c->olen + n > c->ocap) {
		if (c->ooff) { /* reuse the space already sent */
			memmove(c->out, c->out + c->ooff, c->olen - c->ooff);
			c->olen -= c->ooff;
			c->ooff = 0;
		}
		if (c->olen + n > c->ocap) {
			while (c->olen + n > c->ocap)
				c->ocap = c->ocap ? c->ocap * 2 : 1024;
			c->out = xrealloc(c->out, c->ocap);
		}
	}
	memcpy(c->out + c->olen, data, n);
	c->olen += n;
}

static void answer_policy(struct conn *c)
{
	struct policyd *pd = c->pd;
	size_t n;
	const struct policy_attr *attrs = policy_request_attrs(c->pp, &n);
	const char *cname = policy_request_get(c->pp, "client_name");
	const char *caddr = policy_request_get(c->pp, "client_address");
	const char *qid = policy_request_get(c->pp, "queue_id");
	struct decision d;
	char reply[DECIDE_ACTION_MAX + 16], b1[128], b2[64], b3[64];
	struct timespec t0 = pstats_now();
	int len;

	decide_policy(&pd->dc, attrs, n, lookup, pd, &d);
	len = snprintf(reply, sizeof(reply), "action=%s\n\n", d.action);
	out_append(c, reply, (size_t)len);
	pstats_done(&pd->stats, LOOKUP_POLICY, &t0, d.kind == DECIDE_TEMPFAIL);
	c->nreq++;
	cname = cname ? peer_printable(cname, strlen(cname), b1, sizeof(b1)) : "unknown";
	caddr = caddr ? peer_printable(caddr, strlen(caddr), b2, sizeof(b2)) : "unknown";
	qid = qid && *qid ? peer_printable(qid, strlen(qid), b3, sizeof(b3)) : "NOQUEUE";
	switch (d.kind) {
	case DECIDE_REJECT:
		log_info("policyd: reject rcpt=<%s> client=%s[%s] queue_id=%s", d.rcpt, cname,
			 caddr, qid);
		break;
	case DECIDE_DEFER:
		log_info("policyd: defer rcpt=<%s> request=%lld client=%s[%s] queue_id=%s",
			 d.rcpt, d.request_id, cname, caddr, qid);
		break;
	case DECIDE_TEMPFAIL:
		log_warn("policyd: defer_if_permit rcpt=<%s> client=%s[%s] queue_id=%s "
			 "reason=directory unreadable",
			 d.rcpt, cname, caddr, qid);
		break;
	case DECIDE_DUNNO:
		if (pd->verbose)
			log_debug("policyd: dunno rcpt=<%s> client=%s[%s] why=%s", d.rcpt, cname,
				  caddr, d.note ? d.note : "");
		break;
	}
}

static void answer_socketmap(struct conn *c)
{
	struct policyd *pd = c->pd;
	size_t n;
	struct timespec t0 = pstats_now();
	const char *req = netstring_dec_data(c->nd, &n);
	char reply[DECIDE_ACTION_MAX], frame[DECIDE_ACTION_MAX + 32], b[128];
	enum sockmap_kind k = decide_socketmap(&pd->dc, req, n, rewrite, pd, reply, sizeof(reply));
	size_t fl = netstring_encode(frame, sizeof(frame), reply, strlen(reply));

	out_append(c, frame, fl);
	pstats_done(&pd->stats, LOOKUP_SOCKETMAP, &t0, k == SOCKMAP_TEMP || k == SOCKMAP_PERM);
	c->nreq++;
	if (k == SOCKMAP_TEMP)
		log_warn("socketmap: temp request=\"%s\" reason=directory unreadable",
			 peer_printable(req, n, b, sizeof(b)));
	else if (k == SOCKMAP_PERM)
		log_warn("socketmap: perm request=\"%s\" peer=%s reason=%s",
			 peer_printable(req, n, b, sizeof(b)), c->peer, reply + 5);
	else if (pd->verbose)
		log_debug("socketmap: request=\"%s\" reply=\"%s\"", peer_printable(req, n, b, sizeof(b)),
			  reply);
}

/* bad: the peer broke the protocol; answer what came before, then close. */
static void bad(struct conn *c, const char *why)
{
	log_warn("%s: close bad connection peer=%s after=%llu reason=%s", service_name[c->svc],
		 c->peer, c->nreq, why);
	c->draining = 1;
	set_reading(c, 0);
	flush(c);
}

static void read_cb(EV_P_ ev_io *w, int revents)
{
	struct conn *c = w->data;
	struct policyd *pd = c->pd;
	char buf[READ_CHUNK];
	ssize_t n = read(c->fd, buf, sizeof(buf));
	size_t off = 0, used;

	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		log_debug("%s: read from %s: %s", service_name[c->svc], c->peer, strerror(errno));
		conn_close(c);
		return;
	}
	if (n == 0) {
		/* The client is gone; answers still pending have no reader. */
		conn_close(c);
		return;
	}
	touch(c);
	while (off < (size_t)n) {
		int done;

		if (c->svc == SVC_POLICY) {
			enum policy_status st =
				policy_parser_feed(c->pp, buf + off, (size_t)n - off, &used);

			off += used;
			if (st == POLICY_ERROR) {
				bad(c, policy_parser_error(c->pp));
				return;
			}
			if ((done = st == POLICY_REQUEST))
				answer_policy(c);
		} else {
			enum ns_status st = netstring_dec_feed(c->nd, buf + off, (size_t)n - off, &used);

			off += used;
			if (st == NS_ERROR) {
				bad(c, netstring_dec_error(c->nd));
				return;
			}
			if ((done = st == NS_DONE))
				answer_socketmap(c);
		}
		/* The request deadline runs from a request's first byte. */
		if (done) {
			c->req_start = 0;
		} else if (used > 0 && c->req_start == 0) {
			c->req_start = ev_now(EV_A);
			if (ev_timer_remaining(EV_A_ & c->idle) > pd->request_s) {
				ev_timer_stop(EV_A_ & c->idle);
				ev_timer_set(&c->idle, pd->request_s, 0.);
				ev_timer_start(EV_A_ & c->idle);
			}
		}
	}
	flush(c);
}

static void write_cb(EV_P_ ev_io *w, int revents)
{
	flush(w->data);
}

static void idle_cb(EV_P_ ev_timer *w, int revents)
{
	struct conn *c = w->data;
	struct policyd *pd = c->pd;
	ev_tstamp now = ev_now(EV_A);
	ev_tstamp left = c->last_active + pd->idle_s - now;
	ev_tstamp req_left = c->req_start ? c->req_start + pd->request_s - now : left;

	if (req_left <= 0) {
		/* A byte now and then keeps a connection active, not useful. */
		log_warn("%s: close connection peer=%s after=%llu reason=request not complete "
			 "within %.0f s (policy_request_timeout)",
			 service_name[c->svc], c->peer, c->nreq, pd->request_s);
		conn_close(c);
		return;
	}
	if (left > 0) {
		ev_timer_set(w, left < req_left ? left : req_left, 0.);
		ev_timer_start(EV_A_ w);
		return;
	}
	log_debug("%s: close idle connection peer=%s", service_name[c->svc], c->peer);
	conn_close(c);
}

static void conn_new(struct policyd *pd, int fd, enum service svc)
{
	struct conn *c = xcalloc(1, sizeof(*c));

	c->pd = pd;
	c->fd = fd;
	c->svc = svc;
	if (svc == SVC_POLICY) {
		c->pp = policy_parser_new(pd->max_line, pd->max_attrs);
		policy_parser_set_max_request(c->pp, pd->max_request);
	} else {
		c->nd = netstring_dec_new(pd->max_netstring);
	}
	peer_describe(fd, c->peer, sizeof(c->peer));
	ev_io_init(&c->rio, read_cb, fd, EV_READ);
	ev_io_init(&c->wio, write_cb, fd, EV_WRITE);
	/* Re-armed by idle_cb for the request deadline, when that is sooner. */
	ev_timer_init(&c->idle, idle_cb, pd->idle_s < pd->request_s ? pd->idle_s : pd->request_s, 0.);
	c->rio.data = c->wio.data = c->idle.data = c;
	c->last_active = ev_now(pd->loop);
	set_reading(c, 1);
	ev_timer_start(pd->loop, &c->idle);
	list_append(c);
	pd->svc[svc].n++;
	pd->nconns++;
}

/*
 * make_room: SVC is full; close its connection idle longest (the head of
 * its list: least recently active, whether idle or dripping a request)
 * and say so, at most once every FULL_LOG_S.
 */
static void make_room(struct policyd *pd, enum service svc)
{
	struct svc_conns *sv = &pd->svc[svc];
	struct conn *victim = sv->head;
	ev_tstamp now = ev_now(pd->loop);

	if (victim == NULL)
		return;
	sv->evicted++;
	if (now - sv->last_full_log >= FULL_LOG_S) {
		log_warn("%s: %lld connections, the limit (%s_max_connections): closing the "
			 "longest idle ones (%lu so far; this one peer=%s idle %.1f s)",
			 service_name[svc], sv->max, service_name[svc], sv->evicted, victim->peer,
			 now - victim->last_active);
		sv->last_full_log = now;
		sv->evicted = 0;
	}
	conn_close(victim);
}

static void accept_cb(EV_P_ ev_io *w, int revents)
{
	struct listener *l = w->data;
	struct policyd *pd = l->pd;

	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int fd = daemon_accept(l->fd);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if ((errno == EMFILE || errno == ENFILE) && pd->svc[l->svc].head) {
				/* Out of descriptors: the same trade as at the limit. */
				make_room(pd, l->svc);
				continue;
			}
			if (errno == EMFILE || errno == ENFILE) {
				/* Nothing of ours to close: wait for the tick, not a busy loop. */
				log_warn("%s: accept: %s", service_name[l->svc], strerror(errno));
				listeners_pause(pd);
			} else if (errno != EAGAIN && errno != EWOULDBLOCK) {
				log_warn("%s: accept: %s", service_name[l->svc], strerror(errno));
			}
			return;
		}
		if (pd->svc[l->svc].n >= pd->svc[l->svc].max)
			make_room(pd, l->svc);
		conn_new(pd, fd, l->svc);
	}
}

/* --- signals and shutdown --- */

/* policyd_stop: SIGTERM, SIGINT: no new connection; pending answers get
 * STOP_GRACE (the server ends the loop then) to leave. */
static void policyd_stop(void *ctx, int signum)
{
	struct policyd *pd = ctx;
	struct conn *c, *next;

	pd->stopping = 1;
	for (int i = 0; i < pd->nlis; i++) {
		ev_io_stop(pd->loop, &pd->lis[i].io);
		close(pd->lis[i].fd);
	}
	pd->nlis = 0;
	for (int i = 0; i < 2; i++)
		for (c = pd->svc[i].head; c; c = next) {
			next = c->next;
			c->draining = 1;
			set_reading(c, 0);
			if (c->ooff == c->olen)
				conn_close(c);
		}
	if (pd->nconns == 0)
		server_exit(pd->srv, 0);
}

/* --- server_ops --- */

static int open_listener(struct policyd *pd, struct config *cfg, const char *key,
			 enum service svc)
{
	const char *spec = config_str(cfg, key);
	char *err = NULL;
	int fd;

	if (spec == NULL || *spec == '\0')
		return 0;
	fd = daemon_listen(spec, LISTEN_BACKLOG, (mode_t)config_int(cfg, "socket_mode"),
			   config_str(cfg, "fedmig_user"), config_str(cfg, "socket_group"), &err);
	if (fd < 0) {
		log_error("%s = %s: %s", key, spec, err);
		free(err);
		return -1;
	}
	pd->lis[pd->nlis].fd = fd;
	pd->lis[pd->nlis].svc = svc;
	pd->lis[pd->nlis].pd = pd;
	pd->nlis++;
	log_info("%s service listening on %s", service_name[svc], spec);
	return 0;
}

static int policyd_bind(struct config *cfg)
{
	struct policyd *pd = &policyd;

	if (open_listener(pd, cfg, "policy_socket", SVC_POLICY) < 0 ||
	    open_listener(pd, cfg, "socketmap_socket", SVC_SOCKETMAP) < 0)
		return 1;
	if (pd->nlis == 0) {
		log_error("policy_socket and socketmap_socket are both empty: nothing to serve");
		return 1;
	}
	return 0;
}

static void free_domains(struct policyd *pd)
{
	for (size_t i = 0; i < pd->ndomains; i++)
		free(pd->domains[i]);
	free(pd->domains);
	pd->domains = NULL;
	pd->ndomains = 0;
}

static void setup_decide(struct policyd *pd, struct config *cfg)
{
	size_t n;
	const char *const *list = config_list(cfg, "federated_domains", &n);

	free_domains(pd);
	pd->domains = xcalloc(n + 1, sizeof(*pd->domains));
	for (size_t i = 0; i < n; i++) {
		char *d = xstrdup(list[i]);
		size_t len = strlen(d);

		/* Compared with canonical domains: lower case, no final dot. */
		for (char *p = d; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		if (len && d[len - 1] == '.')
			d[len - 1] = '\0';
		pd->domains[i] = d;
	}
	pd->ndomains = n;
	pd->dc.domains = (const char *const *)pd->domains;
	pd->dc.ndomains = n;
	pd->dc.addr_flags = config_bool(cfg, "fold_local_part") ? ADDR_FOLD_LOCAL : 0;
	pd->dc.unknown_pass = strcmp(config_str(cfg, "unknown_recipient_action"), "pass") == 0;
	pd->dc.hold_defer = strcmp(config_str(cfg, "hold_action"), "defer") == 0;
	pd->dc.map_name = config_str(cfg, "socketmap_name");
	pd->dc.delims = config_str(cfg, "recipient_delimiter");
}

/*
 * use_config: take the settings of CFG (at start and at each reload); the
 * connections open keep the limits they were made with. The socket and
 * state_database are read once, at start (restart_keys below).
 */
static void use_config(struct policyd *pd, struct config *cfg)
{
	struct config *old = pd->cfg;

	pd->cfg = config_ref(cfg);
	pd->dir.busy_ms = (int)config_time_ms(cfg, "store_busy_timeout");
	pd->dir.password_file = config_str(cfg, "state_database_password_file");
	pd->max_line = (size_t)config_int(cfg, "policy_max_line");
	pd->max_attrs = (size_t)config_int(cfg, "policy_max_attributes");
	pd->max_request = (size_t)config_int(cfg, "policy_max_request_size");
	pd->max_netstring = (size_t)config_int(cfg, "socketmap_max_request_size");
	pd->svc[SVC_POLICY].max = config_int(cfg, "policy_max_connections");
	pd->svc[SVC_SOCKETMAP].max = config_int(cfg, "socketmap_max_connections");
	pd->idle_s = (ev_tstamp)config_time_ms(cfg, "policy_idle_timeout") / 1000.0;
	pd->request_s = (ev_tstamp)config_time_ms(cfg, "policy_request_timeout") / 1000.0;
	nofile_fit(&pd->svc[SVC_POLICY].max, &pd->svc[SVC_SOCKETMAP].max);
	/* Emptied too: a reload may have been for a directory fixed by hand. */
	mapcache_set_ttl(&pd->cache, config_time_ms(cfg, "socketmap_cache_time") * 1000);
	setup_decide(pd, cfg);
	config_unref(&old);
}

static void log_settings(const struct policyd *pd, const char *what)
{
	log_info("%s: federated_domains=%zu hold_action=%s unknown_recipient_action=%s "
		 "socketmap_cache_time=%lldms",
		 what, pd->ndomains, config_str(pd->cfg, "hold_action"),
		 config_str(pd->cfg, "unknown_recipient_action"),
		 config_time_ms(pd->cfg, "socketmap_cache_time"));
}

/* policyd_reload: SIGHUP: the new settings, and the directory reopened
 * (as SIGHUP always did: a file replaced by hand is taken at once). */
static int policyd_reload(void *ctx, struct config *cfg)
{
	struct policyd *pd = ctx;

	use_config(pd, cfg);
	log_settings(pd, "reloaded");
	log_info("SIGHUP: reopening the directory %s", pd->dir.path);
	dirstore_reopen(&pd->dir);
	return 0;
}

static int policyd_run(struct server *srv, struct config *cfg)
{
	struct policyd *pd = &policyd;
	struct conn *c;
	int rc;

	pd->srv = srv;
	pd->loop = server_loop(srv);
	pd->verbose = server_verbose();
	dirstore_init(&pd->dir, config_str(cfg, "state_database"),
		      (int)config_time_ms(cfg, "store_busy_timeout"));
	mapcache_init(&pd->cache, 0);
	use_config(pd, cfg);
	dirstore_check(&pd->dir, ev_now(pd->loop));
	for (int i = 0; i < pd->nlis; i++) {
		ev_io_init(&pd->lis[i].io, accept_cb, pd->lis[i].fd, EV_READ);
		pd->lis[i].io.data = &pd->lis[i];
		ev_io_start(pd->loop, &pd->lis[i].io);
	}
	ev_timer_init(&pd->tick, tick_cb, 1., 1.);
	pd->tick.data = pd;
	ev_timer_start(pd->loop, &pd->tick);
	log_settings(pd, "started");

	rc = server_serve(srv, pd);

	for (int i = 0; i < 2; i++)
		while ((c = pd->svc[i].head) != NULL)
			conn_close(c);
	for (int i = 0; i < pd->nlis; i++)
		close(pd->lis[i].fd);
	ev_timer_stop(pd->loop, &pd->tick);
	pstats_flush(&pd->stats, config_str(pd->cfg, "run_directory"));
	if (pd->cache.hits + pd->cache.misses > 0)
		log_info("socketmap cache: %llu answers of %llu from the cache", pd->cache.hits,
			 pd->cache.hits + pd->cache.misses);
	mapcache_free(&pd->cache);
	dirstore_close(&pd->dir);
	free_domains(pd);
	config_unref(&pd->cfg);
	log_info("stopped");
	return rc;
}

int main(int argc, char **argv)
{
	static const char *const restart_keys[] = {"policy_socket", "socketmap_socket",
						   "state_database", NULL};
	static const struct server_ops ops = {
		.name = "fedmig-policyd",
		.synopsis = "Postfix policy service and socketmap table for the fedmig directory",
		.bind = policyd_bind,
		.run = policyd_run,
		.stop = policyd_stop,
		.reload = policyd_reload,
		.restart_keys = restart_keys,
		.grace_s = STOP_GRACE,
	};

	return server_main(argc, argv, &ops);
}
