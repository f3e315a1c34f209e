/*
 * fedmig-apid - the agent API: HTTPS for fedmig-agent, which reads
 * mailboxes the federation cannot reach and uploads them (agent_spec.md,
 * fedmig-apid(8)). It meets the pilot and the data mover only in the
 * store and the spool directory.
 *
 * Start: as root (or the invoking user) it binds apid_listen and reads
 * the TLS certificate and key; then it drops to fedmig_user, creates the
 * spool directory if missing, sweeps it (temp files, batch files no live
 * row holds) and serves. SIGHUP rereads the limits; SIGTERM answers the
 * waiting polls at once and stops.
 *
 * Failure policy: when the store fails, each call is answered 503 and
 * the agent retries; apid never guesses and never exits for it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apid.h"
#include "daemon.h"
#include "log.h"
#include "secrets.h"
#include "server.h"
#include "xalloc.h"

#define LISTEN_BACKLOG 256
#define STOP_AFTER_S 0.3
#define CERT_MAX (1 << 20)

/* What bind() (as root) hands run(): server_ops.bind has no context. */
static struct {
	int fd;
	char *cert, *key;
	size_t keylen;
} bound = {-1, NULL, NULL, 0};

int apid_conf_load(const struct config *cfg, struct apid_conf *c, const char **why_r)
{
	const char *min = config_str(cfg, "apid_min_agent_version");
	const char *max = config_str(cfg, "apid_max_agent_version");

	if (apid_version_parse(min, c->min_ver) < 0 || apid_version_parse(max, c->max_ver) < 0) {
		*why_r = "apid_min_agent_version and apid_max_agent_version must be MAJOR.MINOR";
		return -1;
	}
	snprintf(c->accepted, sizeof(c->accepted), "%d.%d-%d.%d", c->min_ver[0], c->min_ver[1],
		 c->max_ver[0], c->max_ver[1]);
	c->poll_ms = config_time_ms(cfg, "apid_poll_timeout");
	c->lease_ms = config_time_ms(cfg, "apid_lease");
	c->cancel_ms = config_time_ms(cfg, "apid_cancel_deadline");
	c->enrol_s = config_time_ms(cfg, "apid_enrol_lifetime") / 1000;
	c->buffer_high = config_int(cfg, "apid_buffer_high");
	c->batch_items = config_int(cfg, "apid_batch_items");
	c->batch_bytes = config_int(cfg, "apid_batch_bytes");
	c->max_message = config_int(cfg, "apid_max_message");
	return 0;
}

/* read_cert: the certificate chain, a public file: any size up to 1 MiB. */
static char *read_cert(const char *path)
{
	FILE *fp = fopen(path, "re");
	char *buf;
	size_t n;

	if (fp == NULL) {
		log_error("open(%s): %m", path);
		return NULL;
	}
	buf = xmalloc(CERT_MAX + 1);
	n = fread(buf, 1, CERT_MAX, fp);
	fclose(fp);
	if (n == 0 || n == CERT_MAX) {
		log_error("%s: empty or larger than 1 MiB", path);
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

static int bind_apid(struct config *cfg)
{
	const char *listen = config_str(cfg, "apid_listen");
	struct apid_conf c;
	const char *why;
	char *err = NULL;

	if (apid_conf_load(cfg, &c, &why) < 0) {
		log_error("%s", why);
		return 1;
	}
	if (!*listen || !*config_str(cfg, "apid_tls_cert") || !*config_str(cfg, "apid_tls_key")) {
		log_error("apid_listen, apid_tls_cert and apid_tls_key must be set");
		return 1;
	}
	if ((bound.cert = read_cert(config_str(cfg, "apid_tls_cert"))) == NULL)
		return 1;
	if (secrets_read(config_str(cfg, "apid_tls_key"), &bound.key, &bound.keylen, &err) < 0) {
		log_error("%s", err);
		free(err);
		return 1;
	}
	bound.fd = daemon_listen(listen, LISTEN_BACKLOG, 0, NULL, NULL, &err);
	if (bound.fd < 0) {
		log_error("%s", err);
		free(err);
		return 1;
	}
	return 0;
}

/* spool_open: the spool directory, made (0700) when missing; ours, not a link. */
static int spool_open(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		log_error("mkdir(%s): %m (its parent must exist)", dir);
		return -1;
	}
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
		log_error("%s: not a directory owned by fedmig_user", dir);
		return -1;
	}
	if ((st.st_mode & 077) != 0 && chmod(dir, 0700) < 0) {
		log_error("chmod(%s, 0700): %m", dir);
		return -1;
	}
	return 0;
}

/* sweep_one: the file NAME of the request directory REQ, removed when a
 * temp file or a batch file no live row holds (rows name it REQ/NAME). */
static int sweep_one(struct apid *a, const char *req, const char *name)
{
	size_t n = strlen(name);
	char *path, *rel;
	int rc = 0, live;

	if (n > 4 && strcmp(name + n - 4, ".tmp") == 0)
		live = STORE_NOTFOUND;
	else if (n > 6 && strcmp(name + n - 6, ".batch") == 0)
		live = -2;
	else
		return 0;
	path = xasprintf("%s/%s/%s", a->spool, req, name);
	rel = xasprintf("%s/%s", req, name);
	if (live == -2)
		live = store_agent_batch_live(a->s, rel);
	if (live == STORE_ERR) {
		log_error("sweep: %s", store_errmsg(a->s));
		rc = -1;
	} else if (live == STORE_NOTFOUND) {
		if (unlink(path) < 0)
			log_warn("unlink(%s): %m", path);
		else
			log_info("sweep: removed %s", path);
	}
	free(rel);
	free(path);
	return rc;
}

int apid_spool_sweep(struct apid *a)
{
	DIR *top = opendir(a->spool), *sub;
	struct dirent *d, *e;
	int rc = 0;

	if (top == NULL) {
		log_error("opendir(%s): %m", a->spool);
		return -1;
	}
	while (rc == 0 && (d = readdir(top)) != NULL) {
		char *dir;

		if (d->d_name[0] < '1' || d->d_name[0] > '9' ||
		    strspn(d->d_name, "0123456789") != strlen(d->d_name))
			continue;
		dir = xasprintf("%s/%s", a->spool, d->d_name);
		if ((sub = opendir(dir)) != NULL) {
			while (rc == 0 && (e = readdir(sub)) != NULL)
				rc = sweep_one(a, d->d_name, e->d_name);
			closedir(sub);
		}
		free(dir);
	}
	closedir(top);
	return rc;
}

/* batch_path_ok: "REQ/SEQ.batch", digits only: nothing else may be unlinked. */
static int batch_path_ok(const char *p)
{
	size_t n = strspn(p, "0123456789");

	if (n == 0 || p[n] != '/')
		return 0;
	p += n + 1;
	n = strspn(p, "0123456789");
	return n > 0 && strcmp(p + n, ".batch") == 0;
}

/*
 * apid_abandon: the buffers of requests cancelled, rolled back or whose
 * source was deleted, freed in the store, then their files removed (a
 * crash in between leaves files no live row holds: the sweep at start
 * removes them).
 */
static void apid_abandon(struct apid *a)
{
	char **paths;
	long long freed;
	size_t n = 0;
	int rc;

	pthread_mutex_lock(&a->lock);
	rc = store_agent_abandon(a->s, apid_now_ms(), &paths, &freed);
	if (rc != STORE_OK)
		log_error("freeing the buffers of ended requests: %s", store_errmsg(a->s));
	pthread_mutex_unlock(&a->lock);
	for (; paths[n]; n++) {
		char *path = xasprintf("%s/%s", a->spool, paths[n]);

		if (!batch_path_ok(paths[n]))
			log_warn("abandoned batch path <%.80s> refused, not removed", paths[n]);
		else if (unlink(path) < 0 && errno != ENOENT)
			log_warn("unlink(%s): %m", path);
		free(path);
		free(paths[n]);
	}
	free(paths);
	if (freed || n)
		log_info("buffers of ended requests: items=%lld freed, batch files=%zu removed",
			 freed, n);
}

static void on_tick(EV_P_ ev_timer *w, int revents)
{
	struct apid *a = w->data;

	apid_http_tick(a);
	if (apid_now_ms() >= a->next_abandon_ms) {
		a->next_abandon_ms = apid_now_ms() + APID_ABANDON_MS;
		apid_abandon(a);
	}
}

static void on_quit(EV_P_ ev_timer *w, int revents)
{
	struct apid *a = w->data;

	server_exit(a->srv, 0);
}

/* on_stop: the waiting polls answered at once (empty), then a short
 * while for the answers under way before the loop ends. */
static void on_stop(void *ctx, int signum)
{
	struct apid *a = ctx;

	pthread_mutex_lock(&a->lock);
	a->stopping = 1;
	pthread_mutex_unlock(&a->lock);
	apid_http_wake_all(a);
	ev_timer_init(&a->quit, on_quit, STOP_AFTER_S, 0.0);
	a->quit.data = a;
	ev_timer_start(a->loop, &a->quit);
}

static int on_reload(void *ctx, struct config *cfg)
{
	struct apid *a = ctx;
	struct apid_conf c;
	const char *why;

	if (apid_conf_load(cfg, &c, &why) < 0) {
		log_error("%s", why);
		return -1;
	}
	struct config *old;

	pthread_mutex_lock(&a->lock);
	a->conf = c;
	old = a->cfg;
	a->cfg = config_ref(cfg);
	pthread_mutex_unlock(&a->lock);
	config_unref(&old);
	log_info("reloaded: agents %s accepted", c.accepted);
	return 0;
}

static int serve(struct apid *a, struct config *cfg)
{
	int rc;

	a->mhd = apid_http_start(a, bound.fd, bound.cert, bound.key);
	secrets_free(bound.key, bound.keylen);
	bound.key = NULL;
	if (a->mhd == NULL) {
		log_error("cannot start the HTTPS server on %s (certificate or key invalid?)",
			  config_str(cfg, "apid_listen"));
		return 1;
	}
	a->loop = server_loop(a->srv);
	ev_timer_init(&a->tick, on_tick, 1.0, 1.0);
	a->tick.data = a;
	ev_timer_start(a->loop, &a->tick);
	log_info("started: listening on %s, agents %s accepted", config_str(cfg, "apid_listen"),
		 a->conf.accepted);
	rc = server_serve(a->srv, a);
	ev_timer_stop(a->loop, &a->tick);
	ev_timer_stop(a->loop, &a->quit);
	pthread_mutex_lock(&a->lock);
	a->stopping = 1;
	pthread_mutex_unlock(&a->lock);
	apid_http_wake_all(a);
	MHD_stop_daemon(a->mhd);
	a->mhd = NULL;
	log_info("stopped");
	return rc;
}

static int run_apid(struct server *srv, struct config *cfg)
{
	struct apid a = {.srv = srv};
	const char *why;
	char *err = NULL;
	int rc = 1;

	pthread_mutex_init(&a.lock, NULL);
	if (apid_conf_load(cfg, &a.conf, &why) < 0)
		goto out;
	a.cfg = config_ref(cfg);
	a.spool = xstrdup(config_str(cfg, "apid_spool_directory"));
	if (spool_open(a.spool) < 0)
		goto out;
	a.s = store_open_config(cfg, STORE_RDWR, (uid_t)-1, (gid_t)-1, &err);
	if (a.s == NULL) {
		log_error("%s", err);
		free(err);
		goto out;
	}
	if (apid_spool_sweep(&a) < 0)
		goto out;
	rc = serve(&a, cfg);
out:
	store_close(&a.s);
	if (a.cfg)
		config_unref(&a.cfg);
	free(a.spool);
	free(bound.cert);
	bound.cert = NULL;
	if (bound.key)
		secrets_free(bound.key, bound.keylen);
	pthread_mutex_destroy(&a.lock);
	return rc;
}

static const char *const restart_keys[] = {
	"apid_listen",	   "apid_tls_cert",	 "apid_tls_key", "apid_spool_directory",
	"state_database", "state_database_password_file", "store_busy_timeout", NULL};

static const struct server_ops ops = {
	.name = "fedmig-apid",
	.synopsis = "the fedmig agent API: HTTPS for fedmig-agent",
	.bind = bind_apid,
	.run = run_apid,
	.stop = on_stop,
	.reload = on_reload,
	.restart_keys = restart_keys,
	.grace_s = 10.0,
};

int main(int argc, char **argv)
{
	return server_main(argc, argv, &ops);
}
