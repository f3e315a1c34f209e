#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "copy_delta.h"
#include "copy_fast.h"
#include "copy_folders.h"
#include "copy_journal.h"
#include "copy_move.h"
#include "copy_open.h"
#include "copy_stream.h"
#include "copy_tree.h"
#include "copy_verify.h"
#include "drv_imap.h"
#include "log.h"
#include "throttle.h"
#include "timeutil.h"
#include "xalloc.h"

/* ------------------------------------------------------------ one folder */

/* open_both: F on both sides (the target's SELECT goes out first). */
static int open_both(struct cp *cp, const struct folder *f, unsigned long long *dst_exists)
{
	if (!cp->dso.active || cp->dso.f != f) {
		dst_open_start(cp, f);
		if (cp->ddrv->ops->flush(cp->ddrv) < 0)
			return drv_fail(cp, cp->ddrv);
	}
	if (src_open_finish(cp, f) < 0 || dst_open_finish(cp, f, dst_exists) < 0)
		return -1;
	cp->any_keyword =
		cp->permflags && imap_flag_in(cp->permflags, strlen(cp->permflags), "\\*", 2);
	return 0;
}

static int journal_err(struct cp *cp)
{
	return cperr(cp, "journal: %s", store_errmsg(cp->o->store));
}

/*
 * journal_load: what the journal knows of F into cp->msgs, after a
 * UIDVALIDITY change on either side as well; then F's row is rewritten
 * for this run (JF, unverified). *INTERRUPTED: a run died in F.
 */
static int journal_load(struct cp *cp, const struct folder *f, struct smd_folder *jf,
			int *interrupted)
{
	const char *key = cp->o->mailbox_key;
	int jr = store_smd_folder_get(cp->o->store, key, f->name, jf);

	if (jr < 0)
		return journal_err(cp);
	/* Started and never verified: a run died in this folder. */
	*interrupted = jr == STORE_OK && !jf->verified;
	if (jr == STORE_OK &&
	    (jf->dst_uidvalidity != cp->dst_uidvalidity || strcmp(jf->dst_name, f->dst))) {
		/* The target folder was recreated: its UIDs are new. What is
		 * there is found again by hash below. */
		log_warn("%s: folder=%s target UIDVALIDITY changed, journal reset", key, f->name);
		if (store_smd_map_clear(cp->o->store, key, f->name) < 0)
			return journal_err(cp);
	} else if (jr == STORE_OK && jf->uidvalidity != cp->src_uidvalidity) {
		if (remap_uidvalidity(cp, key) < 0)
			return -1;
	} else if (jr == STORE_OK) {
		struct load_ctx l = {cp, 0};

		if (store_smd_map_each(cp->o->store, key, f->name, load_row, &l) < 0)
			return journal_err(cp);
	}
	memset(jf, 0, sizeof(*jf));
	snprintf(jf->dst_name, sizeof(jf->dst_name), "%s", f->dst);
	jf->uidvalidity = cp->src_uidvalidity;
	jf->dst_uidvalidity = cp->dst_uidvalidity;
	return store_smd_folder_put(cp->o->store, key, f->name, jf) < 0 ? journal_err(cp) : 0;
}

/*
 * settle: the server may still be committing the dead run's last
 * MULTIAPPEND (its connection was cut after the literal): a message that
 * lands after the target's scan would be copied again. NOOP then brings
 * its EXISTS to this session.
 */
static int settle(struct cp *cp, const struct folder *f, unsigned long long *dst_exists)
{
	log_info("%s: folder=%s was interrupted; %d ms for the target to settle",
		 cp->o->mailbox_key, f->name, cp->o->settle_ms);
	time_sleep_us(cp->o->settle_ms * 1000LL);
	struct drv *d = cp->ddrv;
	unsigned op = d->ops->check(d);
	struct drv_result res;

	if (op == 0 || d->ops->wait(d, op, &res) < 0)
		return drv_fail(cp, d);
	if (res.status != DRV_OK)
		return cperr(cp, "NOOP: %s", res.text);
	*dst_exists = 1; /* UID FETCH 1:* is valid on an empty folder too */
	return 0;
}

/*
 * before_copy: list the target (BEFORE), mark what the journal knows,
 * recognise what an interrupted run left, apply what changed since the
 * last pass (copy_delta.h).
 */
static int before_copy(struct cp *cp, struct scan_ctx *before, unsigned long long dst_exists,
		       size_t todo)
{
	size_t journalled = cp->nmsgs - todo;

	if (scan_target(cp, before, dst_exists) < 0)
		return -1;
	for (size_t k = 0; k < cp->nmsgs; k++) {
		struct dst_msg *d;

		if (cp->msgs[k].state == MSG_JOURNALLED &&
		    (d = scan_find(before, cp->msgs[k].dst_uid)) != NULL)
			d->known = 1;
	}
	if (todo && before->n > journalled && find_orphans(cp, before, cp->o->mailbox_key) < 0)
		return -1;
	return (journalled || cp->nvanished) && delta_apply(cp, before) < 0 ? -1 : 0;
}

/*
 * read_back: queue the read-back of F (and, with JOURNALLED, a listing
 * AFTER of the whole folder), NEXT's SELECT behind them, and collect.
 */
static int read_back(struct cp *cp, const struct folder *f, const struct folder *next,
		     size_t journalled, struct scan_ctx *after)
{
	struct drv *d = cp->ddrv;
	struct drv_cb cb = {.ctx = after, .meta = scan_meta};
	unsigned after_op = 0;
	struct drv_result res;

	readback_start(cp);
	if (journalled) {
		/* Messages journalled by an earlier run must still be there.
		 * The folder is selected: the listing sees what was just
		 * appended. */
		after->cp = cp;
		after_op =
			d->ops->fetch(d, "1:*", DRV_FETCH_SIZE | DRV_FETCH_FLAGS | DRV_FETCH_DATE, &cb);
	}
	if (next)
		dst_open_start(cp, next);
	if (d->ops->flush(d) < 0)
		return drv_fail(cp, d);
	if (after_op) {
		if (d->ops->wait(d, after_op, &res) < 0)
			return cp->err[0] ? -1 : drv_fail(cp, d);
		if (res.status != DRV_OK)
			return cperr(cp, "UID FETCH in %s: %s", f->dst, res.text);
		if (after->n)
			qsort(after->m, after->n, sizeof(*after->m), cmp_dst);
	}
	return readback_finish(cp);
}

/*
 * folder_done: F's result (V: 0 verified, 1 differences) into the
 * journal, the counters, the log and the summary.
 *
 * One meaning of "done" everywhere (folder line, mailbox line, the job's
 * progress): on the target and known to the journal, whoever put it
 * there. copied = appended by this run (counted as done when its batch
 * was journalled), found = appended by an interrupted run and recognised
 * by hash, skipped = journalled by an earlier run.
 */
static int folder_done(struct cp *cp, const struct folder *f, struct smd_folder *jf, int v,
		       long long t0)
{
	long long bytes = 0, n[MSG_GONE + 1] = {0}, later_bytes = 0;

	for (size_t i = 0; i < cp->nmsgs; i++) {
		const struct msg *m = &cp->msgs[i];

		n[m->state]++;
		if (m->state == MSG_GONE)
			continue; /* deleted on the target by the user: not ours */
		bytes += (long long)m->size;
		if (m->state == MSG_JOURNALLED || m->state == MSG_FOUND)
			later_bytes += (long long)m->size;
	}
	size_t nmsgs = cp->nmsgs - (size_t)n[MSG_GONE];
	long long copied = n[MSG_COPIED], found = n[MSG_FOUND], skipped = n[MSG_JOURNALLED];

	__atomic_add_fetch(&cp->sh->msgs_done, found + skipped, __ATOMIC_RELAXED);
	__atomic_add_fetch(&cp->sh->bytes_done, later_bytes, __ATOMIC_RELAXED);
	jf->messages = (long long)nmsgs;
	jf->bytes = bytes;
	jf->verified = v == 0;
	/* The STATUS seen before this pass, of this very folder: the next
	 * pass skips it while it stays so (copy_fast.h). */
	jf->highestmodseq = v == 0 && f->st_uidvalidity == cp->src_uidvalidity
				    ? f->st_highestmodseq
				    : 0;
	if (store_smd_folder_put(cp->o->store, cp->o->mailbox_key, f->name, jf) < 0)
		return journal_err(cp);
	cp->r->messages += (long long)nmsgs;
	cp->r->bytes += bytes;
	cp->r->skipped += skipped;
	cp->r->found += found;
	if (v == 0)
		cp->r->verified++;
	log_info("%s: folder=%s target=%s messages=%zu bytes=%lld done=%lld copied=%lld found=%lld "
		 "skipped=%lld verified=%s ms=%lld",
		 cp->o->mailbox_key, f->name, f->dst, nmsgs, bytes, copied + found + skipped,
		 copied, found, skipped, v == 0 ? "yes" : "no", (time_mono_us() - t0) / 1000);
	delta_log(cp);
	if (cp->o->summary)
		fprintf(cp->o->summary,
			"folder=%s target=%s messages=%zu bytes=%lld done=%lld copied=%lld found=%lld "
			"skipped=%lld verified=%s\n",
			f->name, f->dst, nmsgs, bytes, copied + found + skipped, copied, found,
			skipped, v == 0 ? "yes" : "no");
	return v == 0 ? 0 : 1;
}

/*
 * copy_folder: copy F, with NEXT (or NULL) the folder after it. The
 * target is the bottleneck, so its connection is kept busy: F's SELECT
 * goes out before the source's answers are awaited, the read-back of F
 * is sent the moment its last APPEND is acknowledged, NEXT's SELECT right
 * behind it, and NEXT is opened on the source as soon as the source has
 * sent F's last message.
 */
static int copy_folder(struct cp *cp, const struct folder *f, const struct folder *next)
{
	const char *key = cp->o->mailbox_key;
	struct smd_folder jf;
	unsigned long long dst_exists = 0;
	struct scan_ctx before = {0}, after = {0};
	int rc = -1, interrupted = 0, v = 0;
	long long t0 = time_mono_us();
	size_t todo = 0;

	cp->f = f;
	memset(&cp->dc, 0, sizeof(cp->dc));
	rb_clear(cp);
	cp->nrb_tags = 0;
	if (open_both(cp, f, &dst_exists) < 0 || journal_load(cp, f, &jf, &interrupted) < 0)
		goto out;
	for (size_t i = 0; i < cp->nmsgs; i++)
		if (cp->msgs[i].state == MSG_TO_COPY)
			todo++;
	if (interrupted && todo && cp->o->settle_ms > 0 && settle(cp, f, &dst_exists) < 0)
		goto out;
	if (before_copy(cp, &before, dst_exists, todo) < 0 || stream_copy(cp, key) < 0)
		goto out;
	if (cp->stopping) {
		rc = reap(cp, key, 1) < 0 ? -1 : 0;
		goto out;
	}
	if (next && !(cp->o->stop && *cp->o->stop) && src_open_start(cp, next) < 0)
		goto out;
	if (reap(cp, key, 1) < 0)
		goto out;
	for (size_t i = 0; i < cp->nmsgs; i++)
		if (cp->msgs[i].state == MSG_TO_COPY) {
			cperr(cp, "folder %s: message UID %llu was not returned by the source",
			      f->name, cp->msgs[i].uid);
			goto out;
		}
	if (read_back(cp, f, next, cp->nmsgs - todo, &after) < 0 ||
	    (v = verify(cp, &after)) < 0 || (v > 0 && forget_unread(cp, key) < 0))
		goto out;
	rc = folder_done(cp, f, &jf, v, t0);
out:
	drop_batches(cp);
	scan_free(&before);
	scan_free(&after);
	free_msgs(cp);
	/* Leave the folders so the next SELECT does not race an EXPUNGE. */
	return rc;
}

/* ------------------------------------------------------------ mailbox */

static struct imap_conn *connect_side(struct cp *cp, const struct copy_side *s, const char *what)
{
	char *err = NULL;
	struct imap_conn *c = imap_connect(&s->imap, &err);

	if (c == NULL) {
		cperr(cp, "%s: %s", what, err);
		free(err);
	}
	return c;
}

/* throttled_source: a logged-in source session within its limits (throttle.h). */
static struct imap_conn *throttled_source(struct cp *cp)
{
	char *err = NULL;
	struct imap_conn *c = throttle_open(cp->o->throttle, cp->o->store, &cp->o->src,
					    cp->o->stop, &cp->src_slot, &err);

	if (c == NULL)
		cperr(cp, "source: %s", err);
	free(err);
	return c;
}

/* open_target_only: the source from o->src_driver, the target over IMAP. */
static int open_target_only(struct cp *cp)
{
	const struct copy_side *d = &cp->o->dst;
	struct imap_conn *dc = connect_side(cp, d, "target");
	char *err = NULL;
	unsigned td;

	if (dc == NULL)
		return -1;
	if (imap_login_start(dc, d->user, d->master, d->master_sep, d->password, &td) < 0 ||
	    imap_login_finish(dc, td, d->user, d->master) < 0) {
		cperr(cp, "target: %s", imap_error(dc));
		imap_close(&dc);
		return -1;
	}
	cp->sdrv = cp->o->src_driver(cp->o->src_driver_ctx, cp->o->store, &err);
	if (cp->sdrv == NULL) {
		cperr(cp, "source: %s", err ? err : "no driver");
		free(err);
		imap_close(&dc);
		return -1;
	}
	cp->ddrv = drv_imap_new(dc);
	return 0;
}

/*
 * open_sides: connect to both servers and log in to both at once (the
 * two authentications overlap).
 */
static int open_sides(struct cp *cp)
{
	const struct copy_side *s = &cp->o->src, *d = &cp->o->dst;
	struct imap_conn *sc = NULL, *dc = NULL;
	unsigned ts, td;
	int r = -1;

	if (cp->o->src_driver)
		return open_target_only(cp);

	/* A throttled source's session comes logged in. */
	int src_in = cp->o->throttle != NULL;

	if ((sc = src_in ? throttled_source(cp) : connect_side(cp, s, "source")) == NULL ||
	    (dc = connect_side(cp, d, "target")) == NULL)
		goto out;
	if (!src_in && imap_login_start(sc, s->user, s->master, s->master_sep, s->password, &ts) < 0)
		cperr(cp, "source: %s", imap_error(sc));
	else if (imap_login_start(dc, d->user, d->master, d->master_sep, d->password, &td) < 0)
		cperr(cp, "target: %s", imap_error(dc));
	else if (!src_in && imap_login_finish(sc, ts, s->user, s->master) < 0)
		cperr(cp, "source: %s", imap_error(sc));
	else if (imap_login_finish(dc, td, d->user, d->master) < 0)
		cperr(cp, "target: %s", imap_error(dc));
	else
		r = 0;
	if (r == 0) {
		/* From here on the engine knows only the drivers (driver.h). */
		cp->sdrv = drv_imap_new(sc);
		cp->ddrv = drv_imap_new(dc);
		sc = dc = NULL;
	}
out:
	imap_close(&sc);
	imap_close(&dc);
	return r;
}

#define MAX_LANES 4

/* claim: the next folder no lane has taken, or NULL. */
static const struct folder *claim(struct cp *cp)
{
	size_t k = __atomic_fetch_add(&cp->sh->next, 1, __ATOMIC_SEQ_CST);

	return k < cp->nsel ? &cp->folders[cp->sel[k]] : NULL;
}

/*
 * run_lane: copy claimed folders until none is left. Each lane claims one
 * folder ahead, so that it can open it on the source early. Returns -1
 * when the mailbox must fail at once (a connection or journal error).
 */
static int run_lane(struct cp *cp, int *failed_folders)
{
	const struct folder *f = claim(cp);

	while (f != NULL) {
		if (cp->o->stop && *cp->o->stop) {
			cp->stopping = 1;
			break;
		}
		const struct folder *next = claim(cp);
		int fr = copy_folder(cp, f, next);

		if (fr < 0)
			return -1;
		if (fr > 0)
			(*failed_folders)++;
		cp->r->folders++;
		__atomic_add_fetch(&cp->sh->folders_done, 1, __ATOMIC_RELAXED);
		write_progress(cp, cp->o->store);
		if (cp->stopping)
			break;
		f = next;
	}
	return 0;
}

static void cp_init(struct cp *cp, const struct copy_opts *o, struct copy_result *r)
{
	memset(cp, 0, sizeof(*cp));
	memset(r, 0, sizeof(*r));
	cp->o = o;
	cp->r = r;
	cp->md = EVP_MD_CTX_new();
	cp->vmd = EVP_MD_CTX_new();
	cp->inflight_tail = &cp->inflight;
	cp->src_slot = -1;
}

/* cp_done: the lane's connections and buffers (not the folder list). */
static void cp_done(struct cp *cp)
{
	drop_batches(cp);
	close_src(cp);
	if (cp->o->throttle)
		throttle_close(cp->o->throttle, cp->o->store, &cp->src_slot);
	if (cp->ddrv)
		cp->ddrv->ops->free(cp->ddrv);
	cp->ddrv = NULL;
	free_msgs(cp);
	src_open_free(&cp->so);
	rb_clear(cp);
	free(cp->rb);
	free(cp->rb_tags);
	free(cp->permflags);
	EVP_MD_CTX_free(cp->md);
	EVP_MD_CTX_free(cp->vmd);
}

static void add_reason(struct copy_result *r, const char *why)
{
	size_t len = strlen(r->reason);

	if (why[0])
		snprintf(r->reason + len, sizeof(r->reason) - len, "%s%s", len ? "\n" : "", why);
}

/*
 * lane_main: a further lane, in a child process of its own: its own
 * connections (its own Dovecot processes on both servers, so the two
 * lanes use two CPUs and overlap each other's waits) and its own store
 * handle (an SQLite handle must not cross fork()). It never touches the
 * parent's connections or store it inherited. Returns the copy_rc.
 */
static int lane_main(const struct cp *parent, struct copy_result *r)
{
	struct copy_opts lo = *parent->o;
	struct cp cp;
	char *err = NULL;
	int failed = 0, rc = COPY_FAILED;

	cp_init(&cp, &lo, r);
	lo.store = store_open_pw(lo.store_path, STORE_RDWR, lo.store_busy_ms,
				 lo.store_password_file, &err);
	if (lo.store == NULL) {
		add_reason(r, err);
		free(err);
		cp_done(&cp);
		return COPY_FAILED;
	}
	store_smd_relax(lo.store);
	cp.folders = parent->folders;
	cp.nfolders = parent->nfolders;
	cp.src_sep = parent->src_sep;
	cp.dst_sep = parent->dst_sep;
	cp.sh = parent->sh;
	cp.sel = parent->sel;
	cp.nsel = parent->nsel;
	if (open_sides(&cp) == 0 && run_lane(&cp, &failed) == 0)
		rc = cp.stopping ? COPY_STOPPED : failed ? COPY_FAILED : COPY_OK;
	if (rc == COPY_FAILED)
		add_reason(r, cp.err);
	cp_done(&cp);
	store_close(&lo.store);
	return rc;
}

/* lane_start: fork a further lane; its result comes back through a pipe. */
static pid_t lane_start(struct cp *cp, int *fd_r)
{
	int fds[2];
	pid_t parent = getpid();

	if (pipe(fds) < 0)
		return -1;
	/* Nothing buffered may be written twice. */
	fflush(stdout);
	fflush(stderr);
	if (cp->o->summary)
		fflush(cp->o->summary);
	pid_t pid = fork();

	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		struct copy_result lr;

		/* A lane must not outlive its mailbox's child (smd_child_timeout
		 * kills that child with SIGKILL). */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(COPY_FAILED);
		close(fds[0]);
		int rc = lane_main(cp, &lr);

		if (cp->o->summary)
			fflush(cp->o->summary);
		const char *p = (const char *)&lr;
		size_t left = sizeof(lr);

		while (left > 0) {
			ssize_t n = write(fds[1], p, left);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			p += n;
			left -= (size_t)n;
		}
		_exit(rc);
	}
	close(fds[1]);
	*fd_r = fds[0];
	return pid;
}

/*
 * lane_wait: wait for a further lane (passing a stop on to it, or
 * killing it with KILL when this lane failed), merge its result into R.
 * Returns its copy_rc.
 */
static int lane_wait(struct cp *cp, pid_t pid, int fd, int kill_it, struct copy_result *r)
{
	struct copy_result lr;
	int st = 0, passed = 0;

	if (kill_it)
		kill(pid, SIGKILL);
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);

		if (w == pid || (w < 0 && errno != EINTR))
			break;
		if (!passed && cp->o->stop && *cp->o->stop) {
			kill(pid, SIGTERM);
			passed = 1;
		}
		struct timespec ts = {0, 20 * 1000 * 1000};

		nanosleep(&ts, NULL);
	}
	size_t got = 0;

	while (got < sizeof(lr)) {
		ssize_t n = read(fd, (char *)&lr + got, sizeof(lr) - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;

	/* Test hooks (crash_after, crash_mid): a lane's crash is the child's. */
	if (code == COPY_EXIT_CRASH_MID || code == COPY_EXIT_CRASH_AFTER)
		_exit(code);
	if (got == sizeof(lr)) {
		lr.reason[sizeof(lr.reason) - 1] = '\0';
		r->folders += lr.folders;
		r->messages += lr.messages;
		r->bytes += lr.bytes;
		r->copied += lr.copied;
		r->skipped += lr.skipped;
		r->found += lr.found;
		r->refused_keywords += lr.refused_keywords;
		r->verified += lr.verified;
		r->d_flags += lr.d_flags;
		r->d_expunged += lr.d_expunged;
		r->d_kept += lr.d_kept;
		r->d_gone += lr.d_gone;
		r->d_forgotten += lr.d_forgotten;
		r->d_skipped += lr.d_skipped;
	}
	if (kill_it)
		return COPY_FAILED;
	if (code == COPY_OK || code == COPY_STOPPED)
		return code;
	if (got == sizeof(lr) && lr.reason[0])
		add_reason(r, lr.reason);
	else {
		char why[80];

		if (WIFSIGNALED(st))
			snprintf(why, sizeof(why), "lane pid=%d killed by signal %d", (int)pid,
				 WTERMSIG(st));
		else
			snprintf(why, sizeof(why), "lane pid=%d exited with status %d", (int)pid, code);
		add_reason(r, why);
	}
	return COPY_FAILED;
}

/*
 * setup_mailbox: both sides' folders and subscriptions, the source's
 * mapped to target names, renamed, deleted (copy_tree.h), created and
 * subscribed on the target; the
 * selectable ones in copy order in cp->sel.
 */
static int setup_mailbox(struct cp *cp, char ***src_subs, size_t *nsrc_subs, long long *messages,
			 long long *bytes)
{
	if (!(cp->ddrv->ops->caps(cp->ddrv) & DRV_CAP_APPEND_UIDS))
		return cperr(cp, "target: the server lacks UIDPLUS (RFC 4315), needed for the "
				 "journal");
	if (list_both(cp, src_subs, nsrc_subs, messages, bytes) < 0)
		return -1;
	if (cp->src_sep == 0)
		cp->src_sep = '/';
	if (cp->dst_sep == 0)
		cp->dst_sep = cp->src_sep;
	/* No folders yet is normal (an agent's buffer before its first
	 * upload), and qsort() must not be given the NULL array then. */
	if (cp->nfolders > 1)
		qsort(cp->folders, cp->nfolders, sizeof(*cp->folders), cmp_folder);
	if (map_folders(cp) < 0 || tree_before(cp, src_subs, nsrc_subs) < 0 ||
	    setup_target(cp, *src_subs, *nsrc_subs) < 0 || tree_after(cp) < 0)
		return -1;
	cp->sel = xmalloc((cp->nfolders + 1) * sizeof(*cp->sel));
	for (size_t i = 0; i < cp->nfolders; i++)
		if (!(cp->folders[i].attrs & F_NOSELECT))
			cp->sel[cp->nsel++] = i;
	return 0;
}

/*
 * lanes_for: how many lanes the mailbox gets; with more than one, the
 * shared counters move to memory the lanes' processes share.
 */
static int lanes_for(struct cp *cp, long long messages)
{
	const struct copy_opts *o = cp->o;
	/* A lane costs a login and a process on both servers, about what
	 * copying some dozens of messages costs them: small mailboxes get
	 * fewer lanes (one more per lane_messages). */
	int lanes = o->lanes;
	long long per = o->lane_messages > 0 ? o->lane_messages : 200;

	if (messages >= 0 && messages / per + 1 < lanes)
		lanes = (int)(messages / per) + 1;
	if (lanes > 1 && cp->nsel > 1 && o->store_path && !(o->stop && *o->stop)) {
		void *m = mmap(NULL, sizeof(struct lane_shared), PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

		if (m != MAP_FAILED) {
			cp->sh = m;
			memset(cp->sh, 0, sizeof(*cp->sh));
		}
	}
	return lanes;
}

int copy_mailbox(const struct copy_opts *o, struct copy_result *r)
{
	struct cp cp;
	struct lane_shared local;
	char **src_subs = NULL;
	size_t nsrc_subs = 0;
	int rc = COPY_FAILED, failed_folders = 0, lane_fd[MAX_LANES];
	pid_t lane[MAX_LANES];
	int nlanes = 0;

	cp_init(&cp, o, r);
	memset(&local, 0, sizeof(local));
	cp.sh = &local;
	long long messages = -1, bytes = -1;

	long long same_msgs = 0, same_bytes = 0;

	if (open_sides(&cp) < 0 || setup_mailbox(&cp, &src_subs, &nsrc_subs, &messages, &bytes) < 0 ||
	    fast_skip(&cp, &same_msgs, &same_bytes) < 0 || move_pass(&cp) < 0)
		goto out;
	if (messages >= 0)
		messages = messages > same_msgs ? messages - same_msgs : 0;
	if (bytes >= 0)
		bytes = bytes > same_bytes ? bytes - same_bytes : 0;
	int lanes = lanes_for(&cp, messages);

	cp.sh->folders_total = (long long)cp.nsel;
	cp.sh->msgs_total = messages > 0 ? messages : 0;
	cp.sh->bytes_total = bytes > 0 ? bytes : 0;
	write_progress(&cp, o->store);
	for (int i = 1; cp.sh != &local && i < lanes && i < MAX_LANES && (size_t)i < cp.nsel;
	     i++) {
		lane[nlanes] = lane_start(&cp, &lane_fd[nlanes]);
		if (lane[nlanes] < 0) {
			log_warn("%s: fork: %s; fewer lanes", o->mailbox_key, strerror(errno));
			break;
		}
		nlanes++;
	}
	int lr = run_lane(&cp, &failed_folders);

	for (int i = 0; i < nlanes; i++) {
		int wr = lane_wait(&cp, lane[i], lane_fd[i], lr < 0, r);

		if (wr == COPY_FAILED)
			failed_folders++;
		else if (wr == COPY_STOPPED)
			cp.stopping = 1;
	}
	if (nlanes)
		write_progress(&cp, o->store);
	if (lr < 0)
		goto out;
	if (cp.stopping)
		rc = COPY_STOPPED;
	else if (failed_folders)
		rc = COPY_FAILED;
	else
		rc = verify_folders(&cp, src_subs, nsrc_subs) == 0 ? COPY_OK : COPY_FAILED;
out:
	if (rc == COPY_FAILED && cp.err[0])
		add_reason(r, cp.err);
	if (cp.sh != &local)
		munmap(cp.sh, sizeof(*cp.sh));
	free(cp.sel);
	tree_free(&cp);
	cp_done(&cp);
	free_folders(cp.folders, cp.nfolders);
	free_folders(cp.dst_folders, cp.ndst_folders);
	for (size_t i = 0; i < nsrc_subs; i++)
		free(src_subs[i]);
	free(src_subs);
	for (size_t i = 0; i < cp.ndst_subs; i++)
		free(cp.dst_subs[i]);
	free(cp.dst_subs);
	return rc;
}
