/*
 * fedmig-frontend - the release worker of one Postfix front end (issue
 * 18, DESIGN.md "Scale path"), run as root on each Postfix host under a
 * NAME the administrator registered with "fedmigctl frontend add NAME".
 * Every frontend_poll_interval it records its heartbeat and carries out
 * the pilot's orders for it (store_fe.h) on the local queue, with the
 * pilot's own code (drain.h, pilot.h): a drain holds the deferred mail
 * for the addresses and waits until none is on its way; a release
 * requeues the held mail that fedmig recorded for this front end. It
 * also sweeps on its own, fast while its local milter reports an SMTP
 * transaction begun before the last switch (the straggler rule).
 *
 * Rights: a root helper forked at start (postfix.h) runs postsuper -h/-r
 * for checked queue ids and postkick; the worker itself runs as
 * fedmig_user: it lists the queue, holds and releases ids fedmig
 * recorded, kicks pickup, and nothing else.
 */
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "drain.h"
#include "fnv.h"
#include "log.h"
#include "pilot.h"
#include "postfix.h"
#include "server.h"
#include "store.h"
#include "store_fe.h"
#include "store_lead.h"
#include "timeutil.h"
#include "xalloc.h"

#define ORDERS_PER_TICK 8 /* then heartbeat again */
/* A heartbeat is a write: once a second is enough for frontend_timeout
 * (100 ms at least) and spares the shared store 10 writes a second. */
#define HEARTBEAT_US 1000000

/* The server's option and bind hooks take no context: the name given and
 * the helper forked as root wait here for run_fe(), as in fedmig-spm. */
static const char *opt_name;
static struct pf *helper;

struct fe {
	struct server *srv;
	struct config *cfg;
	struct store *s;
	struct pilot *p;
	struct pf *pf;
	char name[FE_NAME_MAX];
	char lock[24]; /* the session lock of this name (store_lead.h) */
	int unknown_warned;
	int registered;
	long long last_beat; /* monotonic µs */
	long long next_sweep; /* monotonic µs */
	ev_timer tick;
};

static int option(int opt, const char *arg)
{
	if (opt != 'N')
		return -1;
	opt_name = arg;
	return 0;
}

static const char *fe_name(const struct config *cfg)
{
	return opt_name ? opt_name : config_str(cfg, "frontend_name");
}

static int bind_fe(struct config *cfg)
{
	const char *name = fe_name(cfg);
	char *err = NULL;

	if (!fe_name_ok(name)) {
		log_error("front end name \"%.80s\" missing or not letters, digits, '-', '_', '.' "
			  "(--name NAME or frontend_name)", name);
		fprintf(stderr, "%s: front end name missing or invalid (--name NAME or "
				"frontend_name)\n", log_prog());
		return 1;
	}
	/* The root helper for postsuper/postkick, before privileges drop. */
	helper = pf_open(cfg, &err);
	if (helper == NULL) {
		log_error("%s", err);
		fprintf(stderr, "%s: %s\n", log_prog(), err);
		free(err);
		return 1;
	}
	return 0;
}

/* --- one order --- */

struct addrs {
	size_t n, cap;
	char **phys;
	long long *req;
};

static int add_addr(void *ctx, long long request_id, const char *physical)
{
	struct addrs *a = ctx;

	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 8;
		a->phys = xrealloc(a->phys, a->cap * sizeof(*a->phys));
		a->req = xrealloc(a->req, a->cap * sizeof(*a->req));
	}
	a->phys[a->n] = xstrdup(physical);
	a->req[a->n++] = request_id;
	return 0;
}

static void addrs_free(struct addrs *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->phys[i]);
	free(a->phys);
	free(a->req);
}

/* do_drain: the drain of batch O; its result state, WHY filled. */
static const char *do_drain(struct fe *fe, const struct fe_order *o, char *why, size_t whylen)
{
	struct addrs a = {0};
	char label[FE_NAME_MAX + 64];
	const char *state = "failed";

	if (store_fe_batch_addrs(fe->s, o->batch, add_addr, &a) < 0) {
		snprintf(why, whylen, "%s", store_errmsg(fe->s));
	} else if (a.n == 0) {
		state = "drained"; /* nothing to wait for */
	} else {
		snprintf(label, sizeof(label), "front end %s: request=%lld", fe->name, a.req[0]);
		struct drain_set set = {a.n, (const char *const *)a.phys, a.req, label};

		if (pilot_drain_set(fe->p, &set, why, whylen) == 0)
			state = "drained";
	}
	addrs_free(&a);
	return state;
}

static void do_order(struct fe *fe, const struct fe_order *o)
{
	char why[256] = "";
	const char *state = "failed";
	long long taken = time_now_us();

	if (store_fe_order_state(fe->s, fe->name, o->batch, "running", NULL, time_now_us()) < 0) {
		log_error("order %lld: %s", o->batch, store_errmsg(fe->s));
		return;
	}
	if (strcmp(o->kind, "drain") == 0) {
		state = do_drain(fe, o, why, sizeof(why));
	} else if (strcmp(o->kind, "release") == 0) {
		int n = pilot_sweep(fe->p);

		fe->next_sweep = time_mono_us() + pilot_sweep_interval_ms(fe->p) * 1000;
		state = n < 0 ? "failed" : "released";
		snprintf(why, sizeof(why), n < 0 ? "the release sweep failed (logged)"
						 : "%d messages released", n < 0 ? 0 : n);
	} else {
		snprintf(why, sizeof(why), "unknown order \"%.32s\"", o->kind);
	}
	if (strcmp(state, "failed") == 0)
		log_warn("front end %s: %s order %lld failed: %s", fe->name, o->kind, o->batch, why);
	else
		log_info("front end %s: %s order %lld done: %s (taken %lld ms after it was given, "
			 "carried out in %lld ms)", fe->name, o->kind, o->batch,
			 strcmp(o->kind, "drain") == 0 ? "drained" : why,
			 taken > o->created ? (taken - o->created) / 1000 : 0,
			 (time_now_us() - taken) / 1000);
	if (store_fe_order_state(fe->s, fe->name, o->batch, state, why, time_now_us()) < 0)
		log_error("order %lld: report %s: %s", o->batch, state, store_errmsg(fe->s));
}

/* --- one process per name --- */

/*
 * lock_name: the session lock of front end NAME. Two fedmig-frontend under
 * one name, on one host or two, would take each other's orders and the
 * pilot would count one answer for two queues; the lock refuses the
 * second. Names allow what session locks do not (capitals, dots, 63
 * bytes): the lock is named by the name's 64-bit FNV-1a.
 */
static void lock_name(const char *name, char out[24])
{
	snprintf(out, 24, "fe-%016llx", (unsigned long long)fnv1a64(name));
}

/*
 * still_mine: 1 while this process holds its name's lock. A PostgreSQL
 * connection lost loses the lock with it: take it again, and stop if
 * another fedmig-frontend took the name meanwhile. 0 after server_exit.
 */
static int still_mine(struct fe *fe)
{
	int retaken;

	if (store_lead_keep(fe->s, fe->lock, &retaken)) {
		if (retaken)
			log_warn("front end %s: the database connection was lost and its lock with "
				 "it; taken again",
				 fe->name);
		return 1;
	}
	log_error("front end %s: another fedmig-frontend took this name while the database "
		  "connection was lost: stopping (one host per name)", fe->name);
	server_exit(fe->srv, 1);
	return 0;
}

/* --- the loop --- */

/* heartbeat: fe->registered after the last heartbeat (once a second). */
static void heartbeat(struct fe *fe)
{
	int rc;

	if (fe->last_beat != 0 && time_mono_us() - fe->last_beat < HEARTBEAT_US)
		return;
	fe->last_beat = time_mono_us();
	if (!still_mine(fe)) {
		fe->registered = 0; /* no order after server_exit */
		return;
	}
	rc = store_fe_seen(fe->s, fe->name, time_now_us());
	if (rc == STORE_ERR) {
		log_error("front end %s: heartbeat: %s", fe->name, store_errmsg(fe->s));
		return; /* the store is away: keep the last answer */
	}
	fe->registered = rc == STORE_OK;
	if (fe->registered)
		fe->unknown_warned = 0;
	else if (!fe->unknown_warned++)
		log_error("front end %s is not registered: run \"fedmigctl frontend add %s\" "
			  "(until then this host takes no orders)", fe->name, fe->name);
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fe *fe = w->data;
	struct fe_order o;
	int rc = STORE_NOTFOUND;

	heartbeat(fe);
	if (fe->registered) {
		for (int i = 0; i < ORDERS_PER_TICK; i++) {
			rc = store_fe_order_next(fe->s, fe->name, &o);
			if (rc != STORE_OK)
				break;
			do_order(fe, &o);
		}
		if (rc == STORE_ERR)
			log_error("front end %s: orders: %s", fe->name, store_errmsg(fe->s));
		if (time_mono_us() >= fe->next_sweep) {
			pilot_sweep(fe->p);
			fe->next_sweep = time_mono_us() + pilot_sweep_interval_ms(fe->p) * 1000;
		}
	}
	w->repeat = (double)config_time_ms(fe->cfg, "frontend_poll_interval") / 1000.0;
	ev_timer_again(loop, w);
}

static void helper_lost(const char *cause)
{
	log_fatal("%s: restarting fedmig-frontend", cause);
}

static void on_child(void *ctx, pid_t pid, int status)
{
	struct fe *fe = ctx;

	if (pf_helper_pid(fe->pf) > 0 && pid == (pid_t)pf_helper_pid(fe->pf))
		pf_helper_exited(fe->pf, status);
}

static int run_fe(struct server *srv, struct config *cfg)
{
	struct fe fe = {.srv = srv, .cfg = cfg, .pf = helper};
	char *err = NULL;
	int rc = 1;

	helper = NULL;
	snprintf(fe.name, sizeof(fe.name), "%s", fe_name(cfg));
	if (daemon_drop_privileges(config_str(cfg, "fedmig_user"), &err) < 0)
		goto out;
	fe.s = store_open_config(cfg, STORE_RDWR, (uid_t)-1, (gid_t)-1, &err);
	if (fe.s == NULL)
		goto out;
	lock_name(fe.name, fe.lock);
	switch (store_lead_try(fe.s, fe.lock)) {
	case 1:
		break;
	case 0:
		err = xasprintf("front end %s runs already (another fedmig-frontend under this name, "
				"on this host or another): one host per name", fe.name);
		goto out;
	default:
		err = xasprintf("front end %s: its lock: %s", fe.name, store_errmsg(fe.s));
		goto out;
	}
	fe.p = pilot_new(cfg, fe.s, fe.pf);
	pilot_set_frontend(fe.p, fe.name);
	pf_on_lost(fe.pf, helper_lost);
	log_info("front end %s started: orders every %lld ms", fe.name,
		 config_time_ms(cfg, "frontend_poll_interval"));
	ev_timer_init(&fe.tick, on_tick, 0.0, 0.1);
	fe.tick.data = &fe;
	ev_timer_start(server_loop(srv), &fe.tick);
	rc = server_serve(srv, &fe);
	ev_timer_stop(server_loop(srv), &fe.tick);
out:
	if (err != NULL) {
		log_error("%s", err);
		free(err);
	}
	pilot_free(&fe.p);
	store_close(&fe.s);
	pf_close(&fe.pf);
	return rc;
}

static const char *const restart_keys[] = {"state_database", "store_busy_timeout",
					   "frontend_name", "postfix_command_directory",
					   "postfix_config_directory", NULL};

static const struct server_ops ops = {
	.name = "fedmig-frontend",
	.synopsis = "the release worker of one Postfix front end: the pilot's drain and release "
		    "orders on the local queue",
	.opts = (const struct server_opt[]){
		{'N', "name", "NAME", "this front end's registered name (default: frontend_name)"},
		{0, NULL, NULL, NULL},
	},
	.option = option,
	.bind = bind_fe,
	.run = run_fe,
	.child = on_child,
	.restart_keys = restart_keys,
	.keep_root = 1,
};

int main(int argc, char **argv)
{
	return server_main(argc, argv, &ops);
}
