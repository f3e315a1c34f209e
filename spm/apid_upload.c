/*
 * The upload of a batch: the body streamed through apid_frame into
 * SPOOL/REQ/SEQ.tmp while hashing, never held in memory; at the end
 * fsync, rename to SEQ.batch, fsync the directory, then one transaction
 * for the batch and its items, and only then 200 (agent_spec.md). On any
 * error nothing is stored and the temp file is removed.
 *
 * Bytes of duplicate items stay in the file and are never referenced (a
 * batch of duplicates only is removed at once): dropping them would mean
 * asking the store for each item while its bytes are coming.
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
#include "apid_frame.h"
#include "log.h"
#include "timeutil.h"
#include "xalloc.h"

struct apid_upload {
	struct apid_frame *frame;
	int fd, repeat;
	char folder[AGENT_FOLDER_MAX];
	char dir[4096], tmp[4200], path[4200];
	char rel[48]; /* REQ/SEQ.batch: what the row keeps, under apid_spool_directory */
	struct agent_item *items;
	size_t n, cap;
	long long off;
	char error[200];
	unsigned status;
	struct agent_batch_result stored;
};

/* check_lease: REQ leased to R's agent, SEQ its action in force and a
 * get-items (its folder into UP); or the batch already stored (repeat). */
static int check_lease(struct apid_req *r, struct apid_upload *up, struct apid_answer *ans)
{
	struct agent_task t;
	json_t *act;
	const char *kind = NULL, *folder = NULL;
	int rc = store_agent_task(r->a->s, r->task, &t);

	if (rc == STORE_ERR) {
		*ans = apid_busy(r);
		return -1;
	}
	if (rc == STORE_NOTFOUND || strcmp(t.agent, r->agent) != 0 || apid_task_gone(&t)) {
		*ans = apid_fail(r, 409, "lease", "this task is not leased to this agent");
		return -1;
	}
	rc = store_agent_batch_get(r->a->s, r->task, r->seq, &up->stored);
	if (rc == STORE_OK) {
		up->repeat = 1;
		return 0;
	}
	act = json_loads(t.action, 0, NULL);
	if (rc == STORE_NOTFOUND && r->seq == t.seq && act &&
	    json_unpack(act, "{s:s, s:s}", "action", &kind, "folder", &folder) == 0 &&
	    strcmp(kind, "get-items") == 0)
		snprintf(up->folder, sizeof(up->folder), "%s", folder);
	json_decref(act);
	if (rc == STORE_ERR)
		*ans = apid_busy(r);
	else if (*up->folder == '\0')
		*ans = apid_fail(r, 409, "lease", "this seq is not the get-items in force");
	return *up->folder ? 0 : -1;
}

/* open_tmp: SPOOL/REQ (0700) and SEQ.tmp in it, new. */
static int open_tmp(struct apid_req *r, struct apid_upload *up, struct apid_answer *ans)
{
	snprintf(up->dir, sizeof(up->dir), "%s/%lld", r->a->spool, r->task);
	snprintf(up->tmp, sizeof(up->tmp), "%s/%lld.tmp", up->dir, r->seq);
	snprintf(up->path, sizeof(up->path), "%s/%lld.batch", up->dir, r->seq);
	snprintf(up->rel, sizeof(up->rel), "%lld/%lld.batch", r->task, r->seq);
	if (mkdir(up->dir, 0700) < 0 && errno != EEXIST) {
		log_error("mkdir(%s): %m", up->dir);
		*ans = apid_fail(r, 503, "unavailable", "the server cannot store uploads now");
		return -1;
	}
	up->fd = open(up->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (up->fd < 0 && errno == EEXIST) {
		*ans = apid_fail(r, 503, "unavailable", "an upload of this batch is under way; retry");
		return -1;
	}
	if (up->fd < 0) {
		log_error("open(%s): %m", up->tmp);
		*ans = apid_fail(r, 503, "unavailable", "the server cannot store uploads now");
		return -1;
	}
	return 0;
}

int apid_upload_begin(struct apid_req *r, struct apid_answer *ans)
{
	struct apid_upload *up = xcalloc(1, sizeof(*up));
	struct apid_frame_limits lim;
	int rc;

	up->fd = -1;
	r->up = up;
	pthread_mutex_lock(&r->a->lock);
	lim.max_message = r->a->conf.max_message;
	lim.max_items = r->a->conf.batch_items;
	lim.max_bytes = r->a->conf.batch_bytes;
	rc = check_lease(r, up, ans);
	pthread_mutex_unlock(&r->a->lock);
	if (rc < 0 || up->repeat)
		return rc;
	if ((up->frame = apid_frame_new(&lim)) == NULL) {
		*ans = apid_fail(r, 503, "unavailable", "out of memory");
		return -1;
	}
	return open_tmp(r, up, ans);
}

/* up_fail: stop storing: the answer is STATUS with WHY; the file goes. */
static void up_fail(struct apid_upload *up, unsigned status, const char *why)
{
	if (up->status == 0) {
		up->status = status;
		snprintf(up->error, sizeof(up->error), "%s", why);
	}
	if (up->fd >= 0) {
		close(up->fd);
		up->fd = -1;
		unlink(up->tmp);
	}
}

static void write_all(struct apid_upload *up, const char *p, size_t len)
{
	while (len > 0 && up->fd >= 0) {
		ssize_t w = write(up->fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			log_error("write(%s): %m", up->tmp);
			up_fail(up, 503, "the server cannot store uploads now");
			return;
		}
		p += w;
		len -= (size_t)w;
		up->off += w;
	}
}

static void item_add(struct apid_upload *up, const struct apid_frame_item *fi)
{
	struct agent_item *it;

	if (up->n == up->cap) {
		up->cap = up->cap ? up->cap * 2 : 64;
		up->items = xrealloc(up->items, up->cap * sizeof(*up->items));
	}
	it = &up->items[up->n++];
	memset(it, 0, sizeof(*it));
	snprintf(it->src, sizeof(it->src), "%s", fi->src);
	it->flags = xstrdup(fi->flags);
	snprintf(it->date, sizeof(it->date), "%s", fi->date);
	it->size = fi->size;
	it->offset = up->off;
	memcpy(it->sha256, fi->sha256, sizeof(it->sha256));
}

void apid_upload_data(struct apid_req *r, const char *data, size_t len)
{
	struct apid_upload *up = r->up;

	while (up->status == 0 && !up->repeat) {
		const char *d = NULL;
		size_t used = 0, dlen = 0;
		enum apid_frame_rc rc = apid_frame_feed(up->frame, data, len, &used, &d, &dlen);

		data += used;
		len -= used;
		if (rc == FRAME_MORE)
			return;
		if (rc == FRAME_ITEM)
			item_add(up, apid_frame_item(up->frame));
		else if (rc == FRAME_DATA)
			write_all(up, d, dlen);
		else if (rc == FRAME_BAD)
			up_fail(up, (unsigned)apid_frame_status(up->frame),
				apid_frame_error(up->frame));
	}
}

/* sync_rename: the temp file made durable as the batch file. */
static int sync_rename(struct apid_upload *up)
{
	int dfd, rc = -1;

	if (fsync(up->fd) < 0 || close(up->fd) < 0) {
		log_error("fsync(%s): %m", up->tmp);
		up->fd = -1;
		unlink(up->tmp);
		return -1;
	}
	up->fd = -1;
	if (rename(up->tmp, up->path) < 0) {
		log_error("rename(%s, %s): %m", up->tmp, up->path);
		unlink(up->tmp);
		return -1;
	}
	dfd = open(up->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0 && fsync(dfd) == 0)
		rc = 0;
	else
		log_error("fsync(%s): %m", up->dir);
	if (dfd >= 0)
		close(dfd);
	return rc;
}

/* store_batch: the rows, after re-checking the lease (it may have been
 * lost while the bytes came). */
static struct apid_answer store_batch(struct apid_req *r, struct apid_upload *up)
{
	struct apid_answer ans = {0, NULL};
	struct apid_upload check = {.fd = -1};
	int rc;

	pthread_mutex_lock(&r->a->lock);
	if (check_lease(r, &check, &ans) == 0 && check.repeat)
		ans = apid_fail(r, 409, "lease", "this batch was stored by another upload");
	if (ans.body == NULL) {
		rc = store_agent_batch_put(r->a->s, r->task, r->seq, up->folder, up->rel, up->items,
					   up->n, time_now_us() / 1000000, &up->stored);
		if (rc != STORE_OK)
			ans = apid_busy(r);
	}
	pthread_mutex_unlock(&r->a->lock);
	if (ans.body != NULL || up->stored.items == 0)
		unlink(up->path);
	return ans;
}

struct apid_answer apid_upload_end(struct apid_req *r)
{
	struct apid_upload *up = r->up;
	struct apid_answer ans;

	if (!up->repeat && up->status == 0 && apid_frame_finish(up->frame) == FRAME_BAD)
		up_fail(up, (unsigned)apid_frame_status(up->frame), apid_frame_error(up->frame));
	if (up->status)
		return apid_fail(r, up->status, up->status == 413 ? "too-large" : up->status == 400
								     ? "bad-request"
								     : "unavailable",
				 up->error);
	if (!up->repeat) {
		if (sync_rename(up) < 0) {
			unlink(up->path);
			return apid_fail(r, 503, "unavailable", "the server cannot store uploads now");
		}
		ans = store_batch(r, up);
		if (ans.body)
			return ans;
		log_info("batch task=%lld seq=%lld agent=%s folder=%s items=%lld duplicates=%lld"
			 " bytes=%lld",
			 r->task, r->seq, r->agent, up->folder, up->stored.items, up->stored.duplicates,
			 up->stored.bytes);
	}
	return apid_ok(json_pack("{s:I, s:I, s:I}", "items", (json_int_t)up->stored.items,
				 "duplicates", (json_int_t)up->stored.duplicates, "bytes",
				 (json_int_t)up->stored.bytes));
}

void apid_upload_abort(struct apid_req *r)
{
	struct apid_upload *up = r->up;

	if (up == NULL)
		return;
	if (up->fd >= 0) {
		close(up->fd);
		unlink(up->tmp);
	}
	for (size_t i = 0; i < up->n; i++)
		free(up->items[i].flags);
	free(up->items);
	apid_frame_free(&up->frame);
	free(up);
	r->up = NULL;
}
