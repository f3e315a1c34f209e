#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "db.h"
#include "decide.h"
#include "delim.h"
#include "qid.h"
#include "xalloc.h"

int decide_check(struct store *s, const char *delims, struct rcpt *rcpts, size_t n,
		 long long mail_us)
{
	int held = 0;

	for (size_t i = 0; i < n; i++) {
		struct dir_entry e;
		int rc = delim_dir_lookup(s, delims, rcpts[i].addr, &e);

		rcpts[i].reason = HOLD_NONE;
		rcpts[i].request_id = 0;
		if (rc == STORE_ERR)
			return -1;
		if (rc == STORE_NOTFOUND)
			continue;
		if (e.held)
			rcpts[i].reason = HOLD_HELD;
		else if (e.switched_at > mail_us)
			rcpts[i].reason = HOLD_SWITCHED;
		else
			continue;
		rcpts[i].request_id = e.request_id;
		held++;
	}
	return held;
}

const char *decide_reason_name(enum hold_reason r)
{
	switch (r) {
	case HOLD_HELD:
		return "held";
	case HOLD_SWITCHED:
		return "switched";
	case HOLD_NONE:
		break;
	}
	return "none";
}

char *decide_join(const struct rcpt *rcpts, size_t n)
{
	size_t len = 1;
	char *out, *p;

	for (size_t i = 0; i < n; i++)
		len += strlen(rcpts[i].addr) + 1;
	if ((out = malloc(len)) == NULL)
		return NULL;
	p = out;
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(rcpts[i].addr);

		if (i > 0)
			*p++ = '\t';
		memcpy(p, rcpts[i].addr, l);
		p += l;
	}
	*p = '\0';
	return out;
}

int decide_queue_id_ok(const char *qid)
{
	return qid_valid(qid);
}

/* --- store pool --- */

struct pool_handle {
	struct store *s;
	dev_t dev;
	ino_t ino;
	struct pool_handle *next;
};

struct store_pool {
	pthread_mutex_t lock;
	char *path;
	char *password_file; /* a postgresql:// PATH's (NULL: none) */
	int busy_ms;
	struct pool_handle *idle;
};

struct store_pool *pool_new(const char *path, const char *password_file, int busy_ms)
{
	struct store_pool *p = xcalloc(1, sizeof(*p));

	pthread_mutex_init(&p->lock, NULL);
	p->path = xstrdup(path);
	p->password_file = password_file && *password_file ? xstrdup(password_file) : NULL;
	p->busy_ms = busy_ms;
	return p;
}

static void handle_close(struct pool_handle *h)
{
	store_close(&h->s);
	free(h);
}

void pool_free(struct store_pool **pp)
{
	struct store_pool *p = *pp;

	if (p == NULL)
		return;
	while (p->idle) {
		struct pool_handle *h = p->idle;

		p->idle = h->next;
		handle_close(h);
	}
	pthread_mutex_destroy(&p->lock);
	free(p->path);
	free(p->password_file);
	free(p);
	*pp = NULL;
}

struct store *pool_store(struct pool_handle *h)
{
	return h->s;
}

struct pool_handle *pool_get(struct store_pool *p, char *err, size_t errsize)
{
	struct pool_handle *h, *stale = NULL;
	struct stat st;
	char *why = NULL;

	/* One stat per message: the price of noticing a removed or replaced
	 * database before trusting a handle that still reads the old one. A
	 * database server has no file: its handles all match dev/ino 0. */
	memset(&st, 0, sizeof(st));
	if (db_is_url(p->path)) {
		st.st_mode = S_IFREG;
		st.st_size = 1;
	} else if (stat(p->path, &st) < 0) {
		snprintf(err, errsize, "state database %s: %s", p->path, strerror(errno));
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size == 0) {
		snprintf(err, errsize, "state database %s: %s", p->path,
			 S_ISREG(st.st_mode) ? "empty file" : "not a regular file");
		return NULL;
	}
	pthread_mutex_lock(&p->lock);
	while ((h = p->idle) != NULL) {
		p->idle = h->next;
		if (h->dev == st.st_dev && h->ino == st.st_ino)
			break;
		h->next = stale;
		stale = h;
	}
	pthread_mutex_unlock(&p->lock);
	while (stale) {
		struct pool_handle *next = stale->next;

		handle_close(stale);
		stale = next;
	}
	if (h) {
		h->next = NULL;
		return h;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	/* XXX store_open() allocates with xmalloc and so aborts on OOM; it
	 * runs only when the pool grows, a few times per process. */
	h->s = store_open_pw(p->path, STORE_RDWR, p->busy_ms, p->password_file, &why);
	if (h->s == NULL) {
		snprintf(err, errsize, "%s", why ? why : "store_open failed");
		free(why);
		free(h);
		return NULL;
	}
	h->dev = st.st_dev;
	h->ino = st.st_ino;
	return h;
}

void pool_put(struct store_pool *p, struct pool_handle *h, int broken)
{
	if (h == NULL)
		return;
	if (broken) {
		handle_close(h);
		return;
	}
	pthread_mutex_lock(&p->lock);
	h->next = p->idle;
	p->idle = h;
	pthread_mutex_unlock(&p->lock);
}
