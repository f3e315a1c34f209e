/*
 * delta_cmd - the RFC 7162 commands a delta pass sends (ENABLE QRESYNC,
 * SELECT or EXAMINE with CONDSTORE or QRESYNC, UID FETCH with
 * CHANGEDSINCE and VANISHED) and the collector that turns their answers
 * into one typed result (struct delta_seen). Built on imap.h's public
 * calls only: the copy's own use of the client is untouched.
 *
 * Contract: the delta_cmd_* functions buffer one command and return its
 * tag (send with imap_flush, collect with imap_wait); mailbox names go
 * through imap_q(). The collector is an imap_handler event function:
 * install it with delta_seen_handler() for the commands' lifetime. It
 * never fails the connection for a response it does not need; it fails
 * (returns -1, reason in seen->err) on what would make the result wrong:
 * a FETCH without UID while mod-sequences are in use, a malformed
 * VANISHED, or more than DELTA_SEEN_MAX messages.
 */
#ifndef FEDMIG_SMD_DELTA_CMD_H
#define FEDMIG_SMD_DELTA_CMD_H

#include <stddef.h>
#include <stdint.h>

#include "imap.h"

/* Beyond this many FETCH answers in one pass the source is not a mailbox. */
#define DELTA_SEEN_MAX 10000000

/* What SELECT/EXAMINE with QRESYNC sends: the journal's view of the folder. */
struct delta_qresync {
	unsigned long long uidvalidity, modseq;
	const char *known_uids; /* NULL: none sent (the server then assumes all) */
};

/* delta_cmd_enable: "ENABLE QRESYNC" (RFC 5161); the answer is IMAP_EV_ENABLED. */
unsigned delta_cmd_enable(struct imap_conn *c);
/*
 * delta_cmd_select: SELECT (EXAMINE when EXAMINE) MAILBOX with
 * "(QRESYNC (uidvalidity modseq [known-uids]))" when Q, else
 * "(CONDSTORE)" when CONDSTORE, else plain.
 */
unsigned delta_cmd_select(struct imap_conn *c, const char *mailbox, int examine, int condstore,
			  const struct delta_qresync *q);
/*
 * delta_cmd_fetch: "UID FETCH 1:* (FLAGS[ MODSEQ])", with
 * "(CHANGEDSINCE n[ VANISHED])" when CHANGEDSINCE > 0 (VANISHED needs
 * QRESYNC enabled). MODSEQ: ask for each message's mod-sequence.
 */
unsigned delta_cmd_fetch(struct imap_conn *c, unsigned long long changedsince, int vanished,
			 int modseq);

/*
 * delta_cmd_status: "STATUS mailbox (UIDVALIDITY HIGHESTMODSEQ)" (RFC
 * 7162 3.1.2.3): what tells, for a whole pipelined list of folders in
 * one round trip, which folders moved (see delta_moved in delta.h).
 */
unsigned delta_cmd_status(struct imap_conn *c, const char *mailbox);

/* One FETCH answer: a message's UID, flags (without \Recent) and mod-sequence (0: none). */
struct delta_fetched {
	uint32_t uid;
	unsigned long long modseq;
	char *flags;
};

struct delta_seen {
	unsigned long long uidvalidity, uidnext, highestmodseq, exists;
	unsigned enabled;  /* IMAP_CAP_* bits ENABLED named */
	int nomodseq;	   /* [NOMODSEQ]: the mailbox keeps none */
	int need_uid;	   /* a FETCH without UID is an error (set by the owner) */
	struct delta_fetched *f;
	size_t nf, capf;
	struct imap_uid_range *gone; /* VANISHED, merged on delta_seen_done() */
	size_t ngone, capgone;
	char err[160];
};

/* delta_seen_handler: H set up to collect into S (zeroed by the caller). */
void delta_seen_handler(struct delta_seen *s, struct imap_handler *h);
int delta_seen_event(void *ctx, const struct imap_event *ev);
/* delta_seen_done: sort and merge what VANISHED named, sort the FETCHes by UID. */
void delta_seen_done(struct delta_seen *s);
/* delta_seen_reset: forget everything collected (after [CLOSED], or for reuse). */
void delta_seen_reset(struct delta_seen *s);
void delta_seen_free(struct delta_seen *s);

/*
 * delta_uidset: the ascending UIDS as a compact set ("1:5,7,9:12"), for
 * known-UIDs, or NULL when N is 0 or the set would exceed MAX bytes.
 * Caller frees. (delta_run sends none: see delta.h.)
 */
char *delta_uidset(const uint32_t *uids, size_t n, size_t max);

#endif
