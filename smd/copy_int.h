/*
 * copy_int - the state shared by the pieces of the copy engine (copy.h is
 * its only public face): one mailbox's lane (struct cp), its folders and
 * the messages of the folder being copied, and small helpers for all of
 * them.
 *
 * Each side is a driver (driver.h; drv_imap.c for an IMAP account): the
 * engine knows no protocol. The pieces, one header each:
 *   copy_folders.h  list both sides, map source folders to target names,
 *                   create folders and subscriptions on the target
 *   copy_open.h     open a folder: with its metadata on the source, for
 *                   writing on the target, both pipelined
 *   copy_journal.h  the journal (which source UID is which target UID),
 *                   UIDVALIDITY changes, and messages found on the target
 *   copy_stream.h   the FETCH -> MULTIAPPEND pipeline and its journalling
 *   copy_verify.h   read-back of the target and the comparison
 *   copy.c          one folder end to end, lanes, the mailbox
 *
 * Contract: a failing call records its reason with cperr() (the first
 * reason wins, later ones are consequences) and returns -1; the lane
 * then gives up the mailbox. Only differences found by verification are
 * logged where they are found (cp_diff), each with its folder and UID.
 */
#ifndef FEDMIG_SMD_COPY_INT_H
#define FEDMIG_SMD_COPY_INT_H

#include <stddef.h>

#include <openssl/evp.h>

#include "copy.h"
#include "driver.h"

#define UIDSET_MAX 4000 /* characters of a UID set in one command */

/* Folder attributes: the drivers' (special-use ones we map; \All and \Flagged are virtual). */
#define F_NOSELECT DRV_F_NOSELECT
#define F_NONEXISTENT DRV_F_NONEXISTENT
#define F_SENT DRV_F_SENT
#define F_DRAFTS DRV_F_DRAFTS
#define F_TRASH DRV_F_TRASH
#define F_JUNK DRV_F_JUNK
#define F_ARCHIVE DRV_F_ARCHIVE
#define F_SPECIAL (F_SENT | F_DRAFTS | F_TRASH | F_JUNK | F_ARCHIVE)

struct folder {
	char *name;
	char *dst;
	unsigned attrs;
	int subscribed;
	/* The source's UIDVALIDITY and HIGHESTMODSEQ by STATUS before the
	 * pass (copy_fast.h), 0 when not known: journalled once verified. */
	unsigned long long st_uidvalidity, st_highestmodseq;
};

/* Where a source message stands in this run. */
enum msg_state {
	MSG_TO_COPY,	/* not on the target as far as we know */
	MSG_JOURNALLED, /* copied by an earlier run (the journal says so) */
	MSG_COPIED,	/* appended by this run and journalled */
	MSG_FOUND,	/* on the target by an interrupted run, found by hash */
	MSG_GONE	/* deleted on the target by the user after the switch:
			 * never copied again, not counted (copy_delta.h) */
};

struct msg {
	unsigned long long uid, dst_uid;
	unsigned seq;
	unsigned long long size;
	char *flags;
	char date[40];
	unsigned char sha[32];
	enum msg_state state;
	int got;   /* its body arrived in this FETCH round */
	int unread; /* journalled, but its target UID was not read back */
	char *base; /* journalled: the source's flags as last applied, NULL unknown */
	int gone;   /* journalled as deleted on the target (MSG_GONE once applied) */
};

/* A journal row whose source message is no longer there (copy_delta.h). */
struct vrow {
	unsigned long long src_uid, dst_uid;
	char *base; /* NULL: unknown */
	int gone;
};

/*
 * A source folder opened ahead (the driver's open with its metadata),
 * sent while the target still works on the previous folder, so the
 * source's round trips leave the critical path.
 */
struct src_open {
	const struct folder *f;
	unsigned op;
	struct msg *msgs;
	size_t n, cap;
	int active;
	struct cp *cp;
};

/* A target folder being opened (sent behind the previous folder's read-back). */
struct dst_open {
	const struct folder *f;
	unsigned op;
	int active;
};

/* One message read back from the target. */
struct rb {
	unsigned long long uid, size;
	unsigned char sha[32];
	char *flags;  /* as the target has them, or NULL when it sent none */
	char date[40]; /* INTERNALDATE, "" when the target sent none */
};

struct scan_ctx;

/*
 * What the lanes of one mailbox share (in MAP_SHARED memory when there
 * are two processes): the next selectable folder to claim, and the
 * progress counters, both changed with atomic operations.
 */
struct lane_shared {
	size_t next;
	long long folders_done, folders_total, msgs_done, bytes_done;
	long long msgs_total, bytes_total; /* 0: unknown (no LIST-STATUS) */
	long long appended, started; /* for the test hooks: per mailbox, not per lane */
};

struct batch {
	unsigned tag;
	size_t n;
	long long bytes;
	size_t *idx; /* msgs[] indexes in append order */
	struct batch *next;
};

struct cp {
	const struct copy_opts *o;
	struct copy_result *r;
	struct drv *sdrv, *ddrv; /* the two sides (driver.h) */
	int src_slot;		 /* the source session's slot (throttle.h), or -1 */
	char src_sep, dst_sep;
	struct folder *folders;
	size_t nfolders;
	char **dst_subs;
	size_t ndst_subs;
	struct folder *dst_folders;
	size_t ndst_folders;
	/* the current folder */
	const struct folder *f;
	struct msg *msgs;
	size_t nmsgs;
	struct vrow *vanished; /* journalled, expunged on the source since */
	size_t nvanished;
	struct delta_counts {
		long long flags, expunged, kept, gone, forgotten, skipped;
	} dc; /* the current folder's delta, copy_delta.c */
	/* copy_tree.h: the subscription base to record once applied. */
	char **sub_base;
	size_t nsub_base;
	unsigned long long src_uidvalidity, dst_uidvalidity;
	unsigned long long src_exists;
	char *permflags; /* the current target folder's PERMANENTFLAGS (no limit), or NULL */
	int any_keyword;
	/* streaming */
	struct msg *cur;	/* message whose literal is streaming */
	unsigned long long cur_left;
	EVP_MD_CTX *md;
	struct batch *open;	/* APPEND command being written */
	struct batch *inflight, **inflight_tail;
	long long inflight_bytes;
	long long appended; /* acknowledged appends, this process */
	long long started_msgs;
	int stopping;
	int skipping;	/* a body that arrived after the stop: read, not appended */
	char err[1024];
	size_t ndiffs; /* verification differences found by this process */
	struct lane_shared *sh;
	size_t *sel; /* indexes of the selectable folders, in copy order */
	size_t nsel;
	/* pipelining (see copy_folder) */
	struct src_open so;
	struct dst_open dso;
	EVP_MD_CTX *vmd;	/* read-back hashing, apart from the streaming one */
	int rb_streaming;
	unsigned long long rb_size;
	struct rb *rb;
	size_t nrb, rb_cap;
	unsigned *rb_tags;
	size_t nrb_tags;
};

struct dst_msg {
	unsigned long long uid, size;
	int known; /* in the journal */
	int matched;
	unsigned char sha[32];
	int hashed;
	char *flags;   /* with a listing that asked for FLAGS, else NULL */
	char date[40];
};

struct scan_ctx {
	struct cp *cp;
	struct dst_msg *m;
	size_t n;
};

/* cperr: record the reason in cp->err unless one is there; returns -1. */
int cperr(struct cp *cp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * cp_diff: one difference found by verification: logged, added to
 * cp->r->reason (one per line, while it fits) and counted in cp->ndiffs.
 * Unlike cperr it does not stop the lane: every difference is reported.
 */
void cp_diff(struct cp *cp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * journal_commit: end the caller's journal transaction: committed when OK,
 * else (or when the commit fails) rolled back with the store's reason in
 * cperr. 0 or -1.
 */
int journal_commit(struct cp *cp, int ok);
/* drv_fail: cperr with the driver's own error. */
int drv_fail(struct cp *cp, struct drv *d);
/* close_src: the source's driver (and its connection). */
void close_src(struct cp *cp);
void free_folders(struct folder *f, size_t n);
/* free_msgs: cp->msgs and their flags. */
void free_msgs(struct cp *cp);
int cmp_ull(const void *a, const void *b);
/*
 * uidsets: sort UIDS and split them into "a:b,c" sets of at most
 * UIDSET_MAX characters; returns how many, *sets_r to free with free_sets.
 */
size_t uidsets(unsigned long long *uids, size_t n, char ***sets_r);
void free_sets(char **sets, size_t n);
/* scan_add: one message of a target listing (FLAGS and INTERNALDATE when given). */
void scan_add(struct scan_ctx *s, const struct drv_meta *m);
/* scan_free: a target listing's entries and their flags. */
void scan_free(struct scan_ctx *s);
/* hex: SHA as 64 lower-case hex digits. */
void hex(const unsigned char *sha, char out[65]);

#endif
