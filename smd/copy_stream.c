#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <unistd.h>

#include <openssl/evp.h>

#include "copy_journal.h"
#include "copy_stream.h"
#include "log.h"
#include "xalloc.h"

/* ------------------------------------------------------------ streaming */

/*
 * target_flags: the flags of FLAGS the target can store (caller frees);
 * refused keywords are counted and logged (verification then reports
 * them as missing on the target).
 */
char *target_flags(struct cp *cp, const char *flags)
{
	const char *p = flags, *end = flags + strlen(flags), *w;
	size_t len = 0, wl;
	char *out = xmalloc(strlen(flags) + 1);

	out[0] = '\0';
	while (imap_word(&p, end, &w, &wl)) {
		if (imap_atom_eq(w, wl, "\\Recent"))
			continue; /* the server's to set, never ours */
		if (w[0] != '\\' && !cp->any_keyword) {
			const char *q = cp->permflags ? cp->permflags : "";

			if (!imap_flag_in(q, strlen(q), w, wl)) {
				cp->r->refused_keywords++;
				log_warn("%s: folder=%s keyword=%.*s refused by the target "
					 "(PERMANENTFLAGS)",
					 cp->o->mailbox_key, cp->f->name, (int)wl, w);
				continue;
			}
		}
		len += (size_t)sprintf(out + len, "%s%.*s", len ? " " : "", (int)wl, w);
	}
	return out;
}

/* msg_of_body: the message a body belongs to, by UID when it came first. */
static struct msg *msg_of_body(struct cp *cp, const struct drv_body *b)
{
	if (b->has_uid)
		return find_uid(cp, b->uid);
	if (b->seq >= 1 && b->seq <= cp->nmsgs)
		return &cp->msgs[b->seq - 1];
	return NULL;
}

static int close_batch(struct cp *cp)
{
	struct batch *b = cp->open;

	if (b == NULL)
		return 0;
	cp->open = NULL;
	if (cp->ddrv->ops->append_end(cp->ddrv, b->tag) < 0) {
		free(b->idx);
		free(b);
		return drv_fail(cp, cp->ddrv);
	}
	*cp->inflight_tail = b;
	cp->inflight_tail = &b->next;
	cp->inflight_bytes += b->bytes;
	return 0;
}

static int copy_body(void *ctx, const struct drv_body *b)
{
	struct cp *cp = ctx;
	uint64_t size = b->size;
	struct msg *m = msg_of_body(cp, b);

	if (cp->stopping) {
		/* Noticed at the end of the previous message: this one is left
		 * for the rerun, and no APPEND is begun that the stop would cut
		 * inside its literal. */
		cp->skipping = 1;
		return 0;
	}
	if (m == NULL || m->state != MSG_TO_COPY || m->got)
		return cperr(cp, "unexpected message body from the source: seq=%llu uid=%s%llu",
			     b->seq, b->has_uid ? "" : "none/", b->uid);
	m->got = 1;
	m->size = size;
	cp->cur = m;
	cp->cur_left = size;
	cp->started_msgs = __atomic_add_fetch(&cp->sh->started, 1, __ATOMIC_SEQ_CST);
	EVP_DigestInit_ex(cp->md, EVP_sha256(), NULL);
	struct drv *d = cp->ddrv;

	if (cp->open == NULL) {
		struct batch *nb = xcalloc(1, sizeof(*nb));

		nb->idx = xmalloc((size_t)cp->o->batch * sizeof(*nb->idx));
		cp->open = nb;
		if ((nb->tag = d->ops->append_start(d, cp->f->dst)) == 0)
			return drv_fail(cp, d);
	}
	char *flags = target_flags(cp, m->flags);
	int r = d->ops->append_msg(d, cp->open->tag, flags, m->date, size);

	free(flags);
	if (r != 0)
		return r < 0 ? drv_fail(cp, d) : cperr(cp, "APPEND to %s refused", cp->f->dst);
	cp->open->idx[cp->open->n++] = (size_t)(m - cp->msgs);
	cp->open->bytes += (long long)size;
	if (size == 0)
		EVP_DigestFinal_ex(cp->md, m->sha, NULL);
	return 0;
}

static int copy_data(void *ctx, const char *d, size_t n, int end)
{
	struct cp *cp = ctx;
	struct msg *m = cp->cur;

	if (cp->skipping)
		return 0;
	if (m == NULL)
		return cperr(cp, "literal data without a message");
	if (cp->o->crash_mid > 0 && cp->started_msgs >= cp->o->crash_mid && n > 1 &&
	    cp->cur_left == m->size) {
		/* Test hook: die with half a literal sent to the target. */
		cp->ddrv->ops->append_data(cp->ddrv, d, n / 2);
		cp->ddrv->ops->flush(cp->ddrv);
		_exit(COPY_EXIT_CRASH_MID);
	}
	EVP_DigestUpdate(cp->md, d, n);
	cp->cur_left -= n;
	if (cp->ddrv->ops->append_data(cp->ddrv, d, n) < 0)
		return drv_fail(cp, cp->ddrv);
	if (end) {
		EVP_DigestFinal_ex(cp->md, m->sha, NULL);
		cp->cur = NULL;
	}
	return 0;
}

static int copy_expunged(void *ctx)
{
	struct cp *cp = ctx;

	return cperr(cp, "folder %s: a message was expunged during the copy", cp->f->name);
}

/* copy_meta: a message's FETCH response is complete (a flag change is not ours to follow). */
static int copy_meta(void *ctx, const struct drv_meta *m)
{
	struct cp *cp = ctx;

	if (cp->skipping) {
		cp->skipping = 0;
		return 0;
	}
	if (cp->cur != NULL || cp->open == NULL)
		return cperr(cp, "FETCH response ended inside a message: uid=%llu", m->uid);
	/* The response is complete and well formed: the message may now be
	 * committed with the batch. Before this point a lying literal length
	 * or garbage after it fails the batch instead. */
	if (cp->open->n >= (size_t)cp->o->batch || cp->open->bytes >= (long long)cp->o->window / 4 ||
	    (cp->o->stop && *cp->o->stop)) {
		if (cp->o->stop && *cp->o->stop)
			cp->stopping = 1;
		return close_batch(cp);
	}
	return 0;
}

/* write_progress: the shared counters into the job's row (with a request). */
int write_progress(struct cp *cp, struct store *s)
{
	struct smd_status st;

	if (cp->o->job.request_id == 0) /* direct mode: no job */
		return 0;
	memset(&st, 0, sizeof(st));
	st.folders_done = __atomic_load_n(&cp->sh->folders_done, __ATOMIC_RELAXED);
	st.folders_total = cp->sh->folders_total;
	st.msgs_total = cp->sh->msgs_total;
	st.bytes_total = cp->sh->bytes_total;
	st.msgs_done = __atomic_load_n(&cp->sh->msgs_done, __ATOMIC_RELAXED);
	st.bytes_done = __atomic_load_n(&cp->sh->bytes_done, __ATOMIC_RELAXED);
	return store_smd_progress(s, cp->o->job, &st);
}

/* batch_done: journal an acknowledged APPEND (its APPENDUID set). */
static int batch_done(struct cp *cp, struct batch *b, const char *key)
{
	struct drv_result res;

	if (cp->ddrv->ops->wait(cp->ddrv, b->tag, &res) < 0)
		return drv_fail(cp, cp->ddrv);
	if (res.status != DRV_OK)
		return cperr(cp, "APPEND to %s: %s %s", cp->f->dst,
			     res.status == DRV_NO ? "NO" : "BAD", res.text);
	if (res.uids == NULL)
		return cperr(cp, "APPEND to %s: no APPENDUID (the target needs UIDPLUS)",
			     cp->f->dst);
	if (res.uidvalidity != cp->dst_uidvalidity)
		return cperr(cp, "APPEND to %s: UIDVALIDITY changed on the target", cp->f->dst);
	if (res.nuids < b->n)
		return cperr(cp, "APPEND to %s: APPENDUID names %zu of %zu messages", cp->f->dst,
			     res.nuids, b->n);
	for (size_t i = 0; i < b->n; i++)
		cp->msgs[b->idx[i]].dst_uid = res.uids[i];
	cp->appended += (long long)b->n;
	if (cp->o->crash_after > 0 &&
	    __atomic_add_fetch(&cp->sh->appended, (long long)b->n, __ATOMIC_SEQ_CST) >=
		    cp->o->crash_after)
		_exit(COPY_EXIT_CRASH_AFTER); /* test hook: appended, not journalled */
	struct store *s = cp->o->store;

	if (store_begin(s) < 0)
		goto dberr;
	for (size_t i = 0; i < b->n; i++) {
		struct msg *m = &cp->msgs[b->idx[i]];
		struct smd_map_row row = {.src_uid = m->uid, .dst_uid = m->dst_uid,
					  .size = (long long)m->size, .flags = m->flags};

		memcpy(row.sha256, m->sha, 32);
		if (store_smd_map_add(s, key, cp->f->name, &row) < 0)
			goto dberr;
		m->state = MSG_COPIED;
		cp->r->copied++;
		__atomic_add_fetch(&cp->sh->msgs_done, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&cp->sh->bytes_done, (long long)m->size, __ATOMIC_RELAXED);
	}
	if (journal_commit(cp, 1) < 0)
		return -1;
	/* After the journal's commit, on its own: the master renews the
	 * job's lease in the same row meanwhile (a serialization failure on
	 * PostgreSQL), and a counter the next batch writes again is no
	 * reason to fail the copy. */
	if (write_progress(cp, s) < 0 && !store_err_temporary(s))
		return cperr(cp, "journal: %s", store_errmsg(s));
	return 0;
dberr:
	return journal_commit(cp, 0);
}

/* reap: journal acknowledged batches; with ALL, wait for every one. */
int reap(struct cp *cp, const char *key, int all)
{
	while (cp->inflight) {
		struct batch *b = cp->inflight;

		if (!all && !cp->ddrv->ops->done(cp->ddrv, b->tag) &&
		    cp->inflight_bytes <= (long long)cp->o->window)
			break;
		cp->inflight = b->next;
		if (cp->inflight == NULL)
			cp->inflight_tail = &cp->inflight;
		cp->inflight_bytes -= b->bytes;
		int r = batch_done(cp, b, key);

		free(b->idx);
		free(b);
		if (r < 0)
			return -1;
	}
	return 0;
}

void drop_batches(struct cp *cp)
{
	struct batch *b, *next;

	for (b = cp->inflight; b; b = next) {
		next = b->next;
		free(b->idx);
		free(b);
	}
	cp->inflight = NULL;
	cp->inflight_tail = &cp->inflight;
	if (cp->open) {
		free(cp->open->idx);
		free(cp->open);
		cp->open = NULL;
	}
}

#define MAX_FETCH 4

/* The source's FETCHes of one folder's bodies, at most MAX_FETCH in flight. */
struct fetcher {
	unsigned ops[MAX_FETCH];
	int n;
	size_t next; /* the next message to ask for */
	unsigned long long *uids;
	struct drv_cb cb;
};

/* fetch_more: two FETCHes in flight: the source never waits for us. */
static int fetch_more(struct cp *cp, struct fetcher *fe)
{
	struct drv *s = cp->sdrv;

	while (fe->n < 2 && fe->next < cp->nmsgs && !(cp->o->stop && *cp->o->stop)) {
		size_t n = 0;
		unsigned long long bytes = 0;

		while (fe->next < cp->nmsgs && n < (size_t)cp->o->batch &&
		       bytes < cp->o->window / 2) {
			const struct msg *m = &cp->msgs[fe->next++];

			if (m->state == MSG_TO_COPY) {
				fe->uids[n++] = m->uid;
				bytes += m->size;
			}
		}
		if (n == 0)
			continue;
		char **sets;
		size_t ns = uidsets(fe->uids, n, &sets);

		/* smd_batch is bounded so that one set fits one command. */
		for (size_t i = 0; i < ns && fe->n < MAX_FETCH; i++)
			fe->ops[fe->n++] = s->ops->fetch(s, sets[i], DRV_FETCH_BODY, &fe->cb);
		free_sets(sets, ns);
		if (s->ops->flush(s) < 0)
			return -1;
	}
	return 0;
}

/* fetch_oldest: the oldest FETCH completes; then the target's news. */
static int fetch_oldest(struct cp *cp, struct fetcher *fe, const char *key)
{
	struct drv *s = cp->sdrv;
	struct drv_result res;
	unsigned oldest = fe->ops[0];

	while (!s->ops->done(s, oldest) && !cp->err[0] && !cp->stopping)
		if (s->ops->poll(s, 1) < 0)
			break;
	if (cp->stopping && !cp->err[0] && !s->ops->done(s, oldest))
		return 0; /* the rest of it goes with the source connection */
	if (cp->err[0] || !s->ops->done(s, oldest) || s->ops->wait(s, oldest, &res) < 0)
		return -1;
	if (res.status != DRV_OK)
		return cperr(cp, "UID FETCH in %s: %s", cp->f->name, res.text);
	memmove(fe->ops, fe->ops + 1, (size_t)(fe->n - 1) * sizeof(*fe->ops));
	fe->n--;
	if (cp->ddrv->ops->poll(cp->ddrv, 0) < 0)
		return drv_fail(cp, cp->ddrv);
	return reap(cp, key, 0);
}

int stream_copy(struct cp *cp, const char *key)
{
	struct fetcher fe = {.cb = {.ctx = cp, .meta = copy_meta, .body = copy_body,
				    .data = copy_data, .expunged = copy_expunged}};
	size_t ntodo = 0;
	int r = 0;

	for (size_t i = 0; i < cp->nmsgs; i++)
		if (cp->msgs[i].state == MSG_TO_COPY)
			ntodo++;
	if (ntodo == 0)
		return 0;
	fe.uids = xmalloc((cp->nmsgs + 1) * sizeof(*fe.uids));
	while (!cp->stopping && r == 0 && (r = fetch_more(cp, &fe)) == 0 && fe.n > 0)
		r = fetch_oldest(cp, &fe, key);
	free(fe.uids);
	if (r < 0)
		return cp->err[0] ? -1 : drv_fail(cp, cp->sdrv);
	/* Stopped between FETCHes rather than after a message: the same
	 * graceful stop, with the rest of the folder left for the rerun. */
	for (size_t i = 0; i < cp->nmsgs && !cp->stopping && cp->o->stop && *cp->o->stop; i++)
		if (cp->msgs[i].state == MSG_TO_COPY && !cp->msgs[i].got)
			cp->stopping = 1;
	if (cp->stopping && fe.n > 0) {
		/* Stop after the current message: the rest of the FETCH is
		 * dropped with the source connection. */
		close_src(cp);
	}
	/* An APPEND whose literal is short must never be ended: failing
	 * drops the target connection inside it, and the server discards it. */
	if (cp->cur != NULL)
		return cperr(cp, "folder %s: the copy ended inside a message", cp->f->name);
	/* The batches still in flight are reaped by the caller, after it
	 * has queued the read-back behind them. */
	return close_batch(cp);
}
