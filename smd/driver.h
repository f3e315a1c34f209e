/*
 * driver - one side of a copy as the engine sees it: a mail store that
 * lists its folders, opens one and lists its messages' metadata, streams
 * message bodies, appends a batch and tells the new UIDs, stores flags,
 * expunges, creates and subscribes folders. The shape is isync's
 * driver.h; drv_imap.c (an IMAP account, over imap.c) is the first
 * driver, a local Maildir or an agent's data buffer can be others.
 *
 * Contract: every operation is asynchronous, so that a driver can
 * pipeline. A start call queues it and returns its id (0 when the driver
 * has failed; the reason is in error()). Its results reach the callbacks
 * given at the start, operations in the order they were started, while
 * the owner calls wait() (until that operation completes) or poll()
 * (what has arrived). Nothing need be sent before flush(), wait() or
 * poll(). A callback that returns -1 fails the driver: every later call
 * fails. Strings given to callbacks are valid during the call only.
 */
#ifndef FEDMIG_SMD_DRIVER_H
#define FEDMIG_SMD_DRIVER_H

#include <stddef.h>
#include <stdint.h>

/* Folder attributes (RFC 3501, 5258, 6154). */
#define DRV_F_NOSELECT 0x01
#define DRV_F_NONEXISTENT 0x02 /* implies DRV_F_NOSELECT */
#define DRV_F_SENT 0x10
#define DRV_F_DRAFTS 0x20
#define DRV_F_TRASH 0x40
#define DRV_F_JUNK 0x80
#define DRV_F_ARCHIVE 0x100

/* One folder, or one subscription (subscribed: the name may not exist). */
struct drv_folder {
	const char *name;
	char sep; /* hierarchy separator, 0 when flat */
	unsigned attrs;
	int subscribed;
};

/* What opening a folder told (at its completion). */
struct drv_box {
	unsigned long long uidvalidity, exists;
	const char *permflags; /* keywords the folder keeps ("\\*": any), or NULL */
	int expunged;	       /* a message vanished while it was opened */
};

/* One message's metadata; FLAGS, DATE NULL when not asked or not given. */
struct drv_meta {
	unsigned long long seq, uid, size;
	const char *flags; /* space-separated */
	size_t flags_len;
	const char *date;  /* "dd-Mon-yyyy hh:mm:ss +zzzz" */
};

/* A body about to stream: which message (UID when the store says it first). */
struct drv_body {
	unsigned long long seq, uid;
	int has_uid;
	uint64_t size;
};

/* The callbacks of one operation; any may be NULL. ctx is theirs. */
struct drv_cb {
	void *ctx;
	int (*folder)(void *ctx, const struct drv_folder *f);		   /* list */
	int (*count)(void *ctx, unsigned long long msgs, unsigned long long bytes); /* list */
	int (*meta)(void *ctx, const struct drv_meta *m);		   /* open, fetch */
	int (*body)(void *ctx, const struct drv_body *b);		   /* fetch: 0 or -1 */
	int (*data)(void *ctx, const char *d, size_t n, int end);	   /* fetch */
	int (*expunged)(void *ctx);					   /* any */
};

/* DRV_NO: the store refused; DRV_BAD: it did not understand (a bug, ours or its). */
enum drv_status { DRV_OK, DRV_NO, DRV_BAD, DRV_FAILED };

/* How an operation ended: wait() fills it; valid until the next call. */
struct drv_result {
	enum drv_status status;
	const char *text;	  /* the store's words, for messages */
	unsigned step;		  /* which part failed: 0 the folder, 1 its listing (open) */
	const struct drv_box *box; /* open: what the folder told */
	const unsigned long long *uids; /* append: the new UIDs, in append order */
	size_t nuids;
	unsigned long long uidvalidity; /* append: of the folder appended to */
	unsigned counted;		/* list: DRV_COUNT_* the store could tell */
};

#define DRV_OPEN_WRITE 0x01	  /* else read-only */
#define DRV_OPEN_META 0x02	  /* list every message's metadata (callback meta) */
#define DRV_OPEN_PERMFLAGS 0x04 /* report the keywords the folder keeps */

#define DRV_FETCH_BODY 0x01  /* stream bodies (body, data) */
#define DRV_FETCH_FLAGS 0x02 /* flags in meta */
#define DRV_FETCH_DATE 0x04  /* date in meta */
#define DRV_FETCH_SIZE 0x08  /* size in meta */

#define DRV_LIST_COUNTS 0x01 /* the messages (and bytes) of every folder, if cheap */
#define DRV_COUNT_MESSAGES 0x01
#define DRV_COUNT_BYTES 0x02
#define DRV_LIST_SUBS 0x02   /* the subscriptions too */

#define DRV_CAP_APPEND_UIDS 0x01 /* append tells the new UIDs (IMAP: UIDPLUS) */
#define DRV_CAP_MOVE 0x02	 /* move (IMAP: MOVE, RFC 6851) */

struct drv;

struct drv_ops {
	const char *name;
	/* list: every folder (and subscription) through cb->folder. */
	unsigned (*list)(struct drv *d, unsigned how, const struct drv_cb *cb);
	/*
	 * open: FOLDER becomes the current one; with DRV_OPEN_META every
	 * message's uid, size, flags and date reach meta() (a response
	 * without all four fails the driver).
	 */
	unsigned (*open)(struct drv *d, const char *folder, unsigned how, const struct drv_cb *cb);
	/*
	 * fetch: messages of UIDSET ("1:4,7") in the current folder. With
	 * DRV_FETCH_BODY each body goes to body() then data(), and meta()
	 * follows once the message's response is complete; without, meta()
	 * comes once per message.
	 */
	unsigned (*fetch)(struct drv *d, const char *uidset, unsigned what,
			  const struct drv_cb *cb);
	/*
	 * append: a batch to FOLDER: append_msg announces each message,
	 * whose SIZE bytes follow through append_data; append_end closes
	 * the batch, whose new UIDs wait() tells. append_msg returns 0, 1
	 * when the store refused the batch at once (wait() tells why), or
	 * -1 when the driver failed.
	 */
	unsigned (*append_start)(struct drv *d, const char *folder);
	int (*append_msg)(struct drv *d, unsigned op, const char *flags, const char *date,
			  uint64_t size);
	int (*append_data)(struct drv *d, const void *data, size_t n);
	int (*append_end)(struct drv *d, unsigned op);
	unsigned (*store_flags)(struct drv *d, unsigned long long uid, const char *flags);
	/* add_flags: FLAGS added to the messages of UIDSET (IMAP: UID STORE +FLAGS.SILENT). */
	unsigned (*add_flags)(struct drv *d, const char *uidset, const char *flags);
	/*
	 * expunge: those of UIDSET only that are marked \Deleted (IMAP: UID
	 * EXPUNGE: needs DRV_CAP_APPEND_UIDS, UIDPLUS; a message the user
	 * marked \Deleted elsewhere in the folder stays). Start it once the
	 * add_flags that marked them completed: a server may run pipelined
	 * commands on UIDs in parallel (Dovecot does), and an expunge that
	 * overtakes the store removes nothing.
	 */
	unsigned (*expunge)(struct drv *d, const char *uidset);
	unsigned (*create)(struct drv *d, const char *folder);
	unsigned (*subscribe)(struct drv *d, const char *folder);
	/*
	 * The folder tree's changes (smd/copy_tree.h), NULL in a driver that
	 * is never a target: rename (IMAP RENAME: children go along),
	 * delete (the folder and its messages), unsubscribe.
	 */
	unsigned (*rename)(struct drv *d, const char *from, const char *to);
	unsigned (*delete)(struct drv *d, const char *folder);
	unsigned (*unsubscribe)(struct drv *d, const char *folder);
	/*
	 * move: the messages of UIDSET in the current folder to FOLDER (IMAP
	 * UID MOVE; only with DRV_CAP_MOVE); copy: copied there (UID COPY),
	 * for a move without it (then add_flags \Deleted and expunge).
	 */
	unsigned (*move)(struct drv *d, const char *uidset, const char *folder);
	unsigned (*copy)(struct drv *d, const char *uidset, const char *folder);
	/* check: the store catches up with changes made elsewhere (IMAP NOOP). */
	unsigned (*check)(struct drv *d);
	int (*flush)(struct drv *d);
	/* poll: dispatch what arrived (BLOCK: wait for something). 0 or -1. */
	int (*poll)(struct drv *d, int block);
	/* wait: until OP completes; 0 with *res, or -1 when the driver failed. */
	int (*wait)(struct drv *d, unsigned op, struct drv_result *res);
	/* done: 1 when OP has completed (nothing is read). */
	int (*done)(const struct drv *d, unsigned op);
	/* caps: DRV_CAP_* */
	unsigned (*caps)(const struct drv *d);
	const char *(*error)(const struct drv *d);
	void (*free)(struct drv *d);
};

/*
 * drv_err: a driver's failure reason into ERR (SIZE bytes) unless one is
 * there already (the first failure is the cause, later ones follow from
 * it); returns -1. For the drivers' own use (error() reports ERR).
 */
int drv_err(char *err, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Every driver's instance begins with this. */
struct drv {
	const struct drv_ops *ops;
};

#endif
