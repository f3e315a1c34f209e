/*
 * migrator - the action loop of one task (migrator.h).
 */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "batch.h"
#include "http.h"
#include "log.h"
#include "migrator.h"
#include "src_local.h"
#include "source.h"
#include "xalloc.h"

/* Tries of one call before the migrator gives up (and is restarted):
 * about three minutes of jittered back-off. */
#define MIG_TRIES 8
#define MIG_TIMEOUT_S 120L
#define MIG_PUT_TIMEOUT_S 3600L
#define MIG_PROGRESS_BYTES (8u << 20)

struct mig {
	const struct mig_args *a;
	struct ah *h;
	struct source *src;
	struct batch *b;
	size_t staged; /* bytes staged since the last progress byte */
	int stop;
};

static void progress(struct mig *m)
{
	if (write(m->a->progress_fd, "p", 1) < 0 && errno != EAGAIN)
		log_debug("progress pipe: %s", strerror(errno));
}

/* stopping: 1 once SIGTERM came (waiting up to MS for it). */
static int stopping(struct mig *m, int ms)
{
	struct pollfd p = {.fd = m->a->sigfd, .events = POLLIN};
	struct signalfd_siginfo si;

	if (!m->stop && poll(&p, 1, ms) > 0 && read(m->a->sigfd, &si, sizeof(si)) > 0)
		m->stop = 1;
	return m->stop;
}

static int rc_exit(int rc)
{
	return rc == AH_LEASE ? MIG_LEASE : rc == AH_FATAL ? MIG_FATAL : MIG_FAILED;
}

/* call_next: POST next with SEQ and RESULT (may be NULL); the action in *A. */
static int call_next(struct mig *m, long long seq, json_t *result, struct ap_next *a)
{
	json_t *j = json_pack("{s:I}", "seq", (json_int_t)seq);
	char *body, *path = xasprintf("/v1/tasks/%lld/next", m->a->task->id), *err = NULL;
	struct ah_reply r;
	int rc;

	if (result)
		json_object_set(j, "result", result);
	body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	rc = ah_post(m->h, path, body, MIG_TIMEOUT_S, MIG_TRIES, &r);
	free(body);
	free(path);
	if (rc != AH_OK)
		return rc_exit(rc);
	if (ap_parse_next(r.body, r.len, a, &err) < 0) {
		log_error("task %lld: the server's next action: %s", m->a->task->id, err);
		free(err);
		return MIG_FAILED;
	}
	return -1;
}

static json_t *do_test(struct mig *m)
{
	char *err = NULL;
	int permanent;

	if (m->src->ops->test(m->src, &permanent, &err) == 0)
		return json_pack("{s:b}", "ok", 1);
	log_warn("task %lld: %s: %s", m->a->task->id, m->a->task->mailbox, err);
	json_t *j = json_pack("{s:b, s:b, s:s?}", "ok", 0, "permanent", permanent, "reason", err);

	free(err);
	return j;
}

static int on_folder(void *ctx, const struct drv_folder *f)
{
	json_t *a = ctx, *name;
	char sep[2] = {f->sep, '\0'};

	/* LIST "" "" tells the separator under an empty name: not a folder. */
	if (*f->name == '\0')
		return 0;
	/* JSON carries UTF-8 only. Skipping the folder would lose its mail
	 * with nobody told: the listing fails instead, loudly, each retry. */
	if ((name = json_string(f->name)) == NULL) {
		log_error("a folder name that is not UTF-8 cannot be sent: the mailbox is not read");
		return -1;
	}
	json_array_append_new(a, json_pack("{s:o, s:s, s:i, s:b}", "name", name, "sep", sep,
					   "attrs", (int)f->attrs, "subscribed", f->subscribed));
	return 0;
}

static json_t *do_list(struct mig *m)
{
	json_t *a = json_array();
	char *err = NULL;

	if (m->src->ops->list(m->src, on_folder, a, &err) < 0) {
		log_error("task %lld: list the folders: %s", m->a->task->id, err ? err : "");
		free(err);
		json_decref(a);
		return NULL;
	}
	return json_pack("{s:o}", "folders", a);
}

static int on_begin(void *ctx, const char *key, const char *flags, const char *date)
{
	struct mig *m = ctx;
	char *err = NULL;

	if (batch_begin(m->b, key, flags, date, &err) == 0)
		return 0;
	log_error("%s", err);
	free(err);
	return -1;
}

static int on_data(void *ctx, const char *d, size_t n)
{
	struct mig *m = ctx;
	char *err = NULL;

	/* A large message is progress too, not only its end. */
	if ((m->staged += n) >= MIG_PROGRESS_BYTES) {
		progress(m);
		m->staged = 0;
	}
	if (batch_data(m->b, d, n, &err) == 0)
		return 0;
	log_error("%s", err);
	free(err);
	return -1;
}

static int on_end(void *ctx)
{
	struct mig *m = ctx;
	char *err = NULL;

	progress(m);
	if (batch_end(m->b, &err) == 0)
		return 0;
	log_error("%s", err);
	free(err);
	return -1;
}

/* upload: PUT the staged batch of action SEQ. */
static int upload(struct mig *m, long long seq)
{
	char *path = xasprintf("/v1/tasks/%lld/batches/%lld", m->a->task->id, seq), *err = NULL;
	struct ah_reply r;
	struct ap_put p;
	int rc = ah_put(m->h, path, batch_fd(m->b), batch_size(m->b), MIG_PUT_TIMEOUT_S,
			MIG_TRIES, &r);

	free(path);
	if (rc != AH_OK)
		return rc_exit(rc);
	if (ap_parse_put(r.body, r.len, &p, &err) < 0) {
		log_error("task %lld: the server's answer to batch %lld: %s", m->a->task->id, seq,
			  err);
		free(err);
		return MIG_FAILED;
	}
	log_debug("task %lld batch %lld: items=%lld duplicates=%lld bytes=%lld", m->a->task->id,
		  seq, p.items, p.duplicates, p.bytes);
	return -1;
}

/* do_items: stage and upload one get-items batch; its result in *RES. */
static int do_items(struct mig *m, const struct ap_next *a, json_t **res)
{
	struct src_emit e = {.ctx = m, .begin = on_begin, .data = on_data, .end = on_end};
	char *cursor = NULL, *err = NULL;
	int more = 0, rc;

	if ((m->b = batch_new(config_str(m->a->cfg, "agent_spool_directory"), &err)) == NULL ||
	    m->src->ops->items(m->src, a->folder, a->cursor, a->max_items, a->max_bytes, &e,
			       &cursor, &more, &err) < 0) {
		if (err)
			log_error("task %lld: folder %s: %s", m->a->task->id, a->folder, err);
		rc = MIG_FAILED;
	} else if (batch_count(m->b) > 0) {
		rc = upload(m, a->seq);
	} else {
		rc = -1;
	}
	if (rc < 0)
		*res = json_pack("{s:I, s:s, s:b}", "count", (json_int_t)batch_count(m->b),
				 "cursor", cursor, "more", more);
	free(cursor);
	free(err);
	batch_free(&m->b);
	return rc;
}

/* act: carry out action A; its result in *RES. -1: go on, else the exit. */
static int act(struct mig *m, const struct ap_next *a, json_t **res)
{
	*res = NULL;
	switch (a->action) {
	case AP_TEST:
		*res = do_test(m);
		return -1;
	case AP_LIST:
		return (*res = do_list(m)) != NULL ? -1 : MIG_FAILED;
	case AP_GET_ITEMS:
		return do_items(m, a, res);
	case AP_WAIT:
		return stopping(m, (int)a->ms) ? MIG_STOPPED : -1;
	case AP_CANCEL:
		log_info("task %lld: %s: cancelled", m->a->task->id, m->a->task->mailbox);
		return MIG_DONE;
	case AP_DONE:
		return MIG_DONE;
	}
	return MIG_FAILED;
}

static int loop(struct mig *m)
{
	struct ap_next a;
	json_t *res = NULL;
	long long seq = 0;
	int rc;

	for (;;) {
		rc = call_next(m, seq, res, &a);
		json_decref(res);
		res = NULL;
		if (rc >= 0)
			return rc;
		progress(m);
		if (stopping(m, 0) && a.action != AP_DONE && a.action != AP_CANCEL)
			return MIG_STOPPED;
		seq = a.seq;
		if ((rc = act(m, &a, &res)) >= 0)
			return rc;
	}
}

int migrator_run(const struct mig_args *args)
{
	struct mig m = {.a = args};
	char *err = NULL;
	int rc;

	m.h = ah_new(config_str(args->cfg, "agent_server_url"), config_str(args->cfg, "agent_ca_file"),
		     args->token, &err);
	if (m.h != NULL) {
		ah_progress_fd(m.h, args->progress_fd);
		m.src = strcmp(args->task->system, SRC_LOCAL_SYSTEM) == 0
				? src_local_open(args->local_dir, &err)
				: source_open(args->cfg, args->task->system, args->task->mailbox, &err);
	}
	if (m.src == NULL) {
		log_error("task %lld: %s: %s", args->task->id, args->task->mailbox, err);
		free(err);
		ah_free(&m.h);
		return MIG_FAILED;
	}
	rc = loop(&m);
	m.src->ops->free(m.src);
	ah_free(&m.h);
	return rc;
}
