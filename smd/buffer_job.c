#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buffer_job.h"
#include "drv_buffer.h"
#include "log.h"
#include "store_buffer.h"
#include "store_req.h"
#include "store_ws.h"
#include "timeutil.h"
#include "ws_conf.h"
#include "xalloc.h"

int smd_is_agent(const struct config *cfg, const char *system)
{
	const char *access;

	/* A workstation's upload (SMD_LOCAL): never a config system. */
	if (strcmp(system, WS_LOCAL_SYSTEM) == 0)
		return 1;
	access = config_sys_str(cfg, system, "access");
	return access && strcmp(access, "agent") == 0;
}

int buffer_job_root(const struct config *cfg, struct store *s, long long req, char **root_r,
		    char *why, size_t size)
{
	struct req r;
	const char *root;
	int rc = store_req_get(s, req, &r);

	if (rc != STORE_OK) {
		snprintf(why, size, "local data of request %lld: %s", req,
			 rc == STORE_NOTFOUND ? "no such request" : store_errmsg(s));
		return -1;
	}
	root = config_sys_str(cfg, r.scenario, "local_folder_root");
	if (root == NULL || !ws_root_ok(root)) {
		snprintf(why, size, "local data of request %lld: scenario %s has no usable"
			 " local_folder_root", req, r.scenario);
		return -1;
	}
	*root_r = xstrdup(root);
	return 0;
}

void buffer_job_init(struct buffer_job *b, const struct config *cfg, long long request_id)
{
	b->request_id = request_id;
	b->spool_dir = config_str(cfg, "apid_spool_directory");
	b->idle_ms = 30000;
	b->poll_ms = 200; /* two small store reads a look */
	/* A pass reads every folder's listing on both sides: while the agent
	 * uploads, passes come no closer than this. */
	b->gap_ms = 2000;
}

static struct drv *buffer_driver(void *ctx, struct store *s, char **err_r)
{
	const struct buffer_job *b = ctx;

	return drv_buffer_new(s, b->request_id, b->spool_dir, err_r);
}

/*
 * unlink_batch: PATH ("REQ/SEQ.batch") under the spool directory, never
 * through a link. A file left behind (an error here, a crash before) is
 * apid's start sweep's: its row says no item lives there.
 */
static void unlink_batch(const struct buffer_job *b, const char *path, const char *key)
{
	char req[32];
	int dfd = -1, rfd = -1;

	snprintf(req, sizeof(req), "%lld", b->request_id);
	if (!drv_buffer_path_ok(path, b->request_id)) {
		log_warn("%s: batch path <%.80s> refused, not removed", key, path);
		return;
	}
	if ((dfd = open(b->spool_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (rfd = openat(dfd, req, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    unlinkat(rfd, strchr(path, '/') + 1, 0) < 0)
		log_warn("%s: remove %s/%s: %s", key, b->spool_dir, path, strerror(errno));
	if (rfd >= 0)
		close(rfd);
	if (dfd >= 0)
		close(dfd);
}

/* free_pass: what the journal holds leaves the buffer (rows first, files after). */
static int free_pass(const struct buffer_job *b, const struct copy_opts *o)
{
	char **paths = NULL;
	long long freed = 0;
	size_t n = 0;

	if (store_buffer_free(o->store, b->request_id, o->mailbox_key, &paths, &freed) < 0) {
		log_error("%s: free the data buffer: %s", o->mailbox_key, store_errmsg(o->store));
		return -1;
	}
	for (; paths[n]; n++)
		unlink_batch(b, paths[n], o->mailbox_key);
	if (freed || n)
		log_info("%s: data buffer: items=%lld freed, batch files=%zu removed",
			 o->mailbox_key, freed, n);
	store_buffer_paths_free(paths);
	return 0;
}

static int task_fails(struct copy_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int task_fails(struct copy_result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
	return COPY_FAILED;
}

/*
 * look: the task's news. Returns -1 to go on (*COUNT_R: the items
 * uploaded so far, *DONE_R: every folder uploaded, read before the count),
 * else the run's result.
 */
static int look(const struct buffer_job *b, const struct copy_opts *o, struct copy_result *r,
		long long *count_r, int *done_r)
{
	struct buffer_task t;
	int tr = store_buffer_task_get(o->store, b->request_id, &t);

	if (tr == STORE_NOTFOUND)
		return task_fails(r, "%s", "the agent's task is gone from the store");
	if (tr != STORE_OK || store_buffer_items_count(o->store, b->request_id, count_r) < 0)
		return task_fails(r, "data buffer: %s", store_errmsg(o->store));
	if (t.phase == PHASE_FAILED)
		return task_fails(r, "the agent could not read the mailbox: %s",
				  t.reason[0] ? t.reason : "no reason given");
	if (t.phase == PHASE_CANCELLED)
		return task_fails(r, "%s", "the agent's task was cancelled");
	*done_r = t.phase == PHASE_DONE;
	return -1;
}

/*
 * finished: the agent has uploaded everything (DONE) and a pass saw all
 * of it: COPY_OK when the journal holds every item; else what is left
 * lies outside every folder a pass copies (a folder the agent did not
 * list, or listed \Noselect), and waiting would not change it.
 */
static int finished(const struct buffer_job *b, const struct copy_opts *o,
		    struct copy_result *r)
{
	long long left = -1;

	if (store_buffer_unjournalled(o->store, b->request_id, o->mailbox_key, &left) < 0)
		return task_fails(r, "data buffer: %s", store_errmsg(o->store));
	if (left > 0)
		return task_fails(r, "the agent uploaded %lld messages in no folder it listed as "
				     "selectable",
				  left);
	return COPY_OK;
}

/* passes: copy, verify and free while the agent uploads (buffer_job_run). */
static int passes(const struct buffer_job *b, struct copy_opts *o, struct copy_result *r)
{
	long long copied = -1, idle_since = time_mono_us(), last_pass = 0;

	for (;;) {
		long long count = 0;
		int done = 0, rc = look(b, o, r, &count, &done);

		if (rc >= 0)
			return rc;
		if (count != copied &&
		    (done || copied < 0 || time_mono_us() - last_pass >= b->gap_ms * 1000)) {
			/* New items (or the first pass): copy, verify, free. */
			rc = copy_mailbox(o, r);
			if (rc != COPY_OK)
				return rc;
			if (free_pass(b, o) < 0)
				return task_fails(r, "data buffer: %s", store_errmsg(o->store));
			copied = count;
			idle_since = last_pass = time_mono_us();
		}
		if (done && count == copied)
			return finished(b, o, r);
		if (o->stop && *o->stop)
			return COPY_STOPPED;
		if (time_mono_us() - idle_since >= b->idle_ms * 1000)
			return BUFFER_JOB_IDLE;
		time_sleep_us(b->poll_ms * 1000);
	}
}

int buffer_job_run(const struct buffer_job *b, struct copy_opts *o, struct copy_result *r)
{
	const char *key = o->mailbox_key;
	/* Buffer UIDs are the request's: a journal of its own. The mailbox's
	 * lock stays under KEY, so one copier at a time still holds. */
	char *jkey = xasprintf("%s agent-request=%lld", key, b->request_id);

	o->src_driver = buffer_driver;
	o->src_driver_ctx = (void *)b;
	o->mailbox_key = jkey;
	memset(r, 0, sizeof(*r));
	int rc = passes(b, o, r);

	o->mailbox_key = key;
	free(jkey);
	return rc;
}
