/*
 * server_loop - the daemons' event loop: stop with a grace on SIGTERM and
 * SIGINT, children's exits, SIGHUP reload (the contract is in server.h).
 */
#include <ev.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sdnotify.h"
#include "server.h"
#include "server_int.h"
#include "xalloc.h"

struct server {
	const struct server_ops *ops;
	struct ev_loop *loop; /* NULL until server_loop() */
	struct config *boot;  /* the config run() got: lives as long as run() */
	struct config *cur;   /* the latest reload's (a reference of its own) */
	void *ctx;
	int stopping, exiting, status;
	ev_signal sig_term, sig_int, sig_hup;
	ev_child child;
	ev_timer grace;
};

/* Keys every daemon reads only at start. */
static const char *const common_restart_keys[] = {"fedmig_user", "syslog_facility",
						  "socket_mode", "socket_group", NULL};

struct server *server_new(const struct server_ops *ops, struct config *cfg)
{
	struct server *srv = xcalloc(1, sizeof(*srv));

	srv->ops = ops;
	srv->boot = config_ref(cfg);
	srv->cur = config_ref(cfg);
	return srv;
}

void server_free(struct server **srvp)
{
	struct server *srv = *srvp;

	if (srv == NULL)
		return;
	if (srv->loop)
		ev_loop_destroy(srv->loop);
	config_unref(&srv->cur);
	config_unref(&srv->boot);
	free(srv);
	*srvp = NULL;
}

struct ev_loop *server_loop(struct server *srv)
{
	if (srv->loop == NULL)
		srv->loop = EV_DEFAULT;
	return srv->loop;
}

struct config *server_config(struct server *srv)
{
	return srv->cur;
}

void server_exit(struct server *srv, int status)
{
	if (!srv->exiting) {
		srv->exiting = 1;
		srv->status = status;
	}
	if (srv->loop)
		ev_break(srv->loop, EVBREAK_ALL);
}

static void grace_cb(EV_P_ ev_timer *w, int revents)
{
	struct server *srv = w->data;

	log_warn("stop: work still under way after %.0f s, exiting", srv->ops->grace_s);
	server_exit(srv, 0);
}

static void stop_cb(EV_P_ ev_signal *w, int revents)
{
	struct server *srv = w->data;

	if (srv->stopping)
		return;
	srv->stopping = 1;
	log_info("stopping on signal %d", w->signum);
	if (srv->ops->stop == NULL) {
		server_exit(srv, 0);
		return;
	}
	srv->ops->stop(srv->ctx, w->signum);
	if (!srv->exiting && srv->ops->grace_s > 0) {
		ev_timer_init(&srv->grace, grace_cb, srv->ops->grace_s, 0.);
		srv->grace.data = srv;
		ev_timer_start(EV_A_ & srv->grace);
	}
}

static void child_cb(EV_P_ ev_child *w, int revents)
{
	struct server *srv = w->data;

	srv->ops->child(srv->ctx, w->rpid, w->rstatus);
}

/* keep_restart_keys: NEW gets the running value of every key in KEYS. */
static void keep_restart_keys(struct config *new, const struct config *cur,
			      const char *const *keys)
{
	for (; keys && *keys; keys++)
		if (config_keep(new, cur, *keys))
			log_warn("reload: %s changed: that needs a restart; keeping the running "
				 "value",
				 *keys);
}

/* log_lines: each line of ERR (FILE:LINE: message) as an error. */
static void log_lines(char *err)
{
	for (char *line = strtok(err, "\n"); line; line = strtok(NULL, "\n"))
		log_error("reload: %s", line);
}

static void hup_cb(EV_P_ ev_signal *w, int revents)
{
	struct server *srv = w->data;
	const char *path = server_config_path();
	char *err = NULL;
	struct config *new;

	if (srv->ops->reload == NULL || srv->stopping) {
		log_info("SIGHUP ignored%s", srv->stopping ? " (stopping)" : "");
		return;
	}
	if ((new = config_load(path, &err)) == NULL) {
		log_lines(err);
		log_error("reload: %s is not valid; the running configuration stays", path);
		free(err);
		return;
	}
	keep_restart_keys(new, srv->cur, common_restart_keys);
	keep_restart_keys(new, srv->cur, srv->ops->restart_keys);
	if (srv->ops->reload(srv->ctx, new) < 0) {
		log_error("reload: %s refused; the running configuration stays", path);
		config_unref(&new);
		return;
	}
	config_unref(&srv->cur);
	srv->cur = new;
	log_info("reload: configuration %s in effect", path);
}

static void signals_start(struct server *srv)
{
	struct ev_loop *loop = srv->loop;

	ev_signal_init(&srv->sig_term, stop_cb, SIGTERM);
	ev_signal_init(&srv->sig_int, stop_cb, SIGINT);
	ev_signal_init(&srv->sig_hup, hup_cb, SIGHUP);
	srv->sig_term.data = srv->sig_int.data = srv->sig_hup.data = srv;
	ev_signal_start(loop, &srv->sig_term);
	ev_signal_start(loop, &srv->sig_int);
	ev_signal_start(loop, &srv->sig_hup);
	if (srv->ops->child) {
		ev_child_init(&srv->child, child_cb, 0, 0);
		srv->child.data = srv;
		ev_child_start(loop, &srv->child);
		/* A child that died before the watcher existed is found too. */
		ev_feed_signal(SIGCHLD);
	}
}

static void signals_stop(struct server *srv)
{
	struct ev_loop *loop = srv->loop;

	ev_signal_stop(loop, &srv->sig_term);
	ev_signal_stop(loop, &srv->sig_int);
	ev_signal_stop(loop, &srv->sig_hup);
	if (srv->ops->child)
		ev_child_stop(loop, &srv->child);
	ev_timer_stop(loop, &srv->grace);
}

int server_serve(struct server *srv, void *ctx)
{
	struct ev_loop *loop = server_loop(srv);

	srv->ctx = ctx;
	ev_timer_init(&srv->grace, grace_cb, 0., 0.);
	signals_start(srv);
	if (!srv->exiting) {
		/* Sockets listen, privileges are dropped, run() is set up. */
		sd_ready();
		ev_run(loop, 0);
	}
	signals_stop(srv);
	return srv->status;
}
