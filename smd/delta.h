/*
 * delta - one delta pass over one source folder: given what the journal
 * recorded of it (UIDVALIDITY, the HIGHESTMODSEQ of the last pass, the
 * source UIDs copied), what changed on the source since: new messages,
 * flag and keyword changes, expunges. It reads the source only; applying
 * the result to the target (with delta_rule.h) is the caller's.
 *
 * Three ways, best first, chosen from the session and the folder:
 *   QRESYNC    (RFC 7162, enabled with delta_enable): one EXAMINE with
 *              (QRESYNC (uidvalidity modseq)), no known-UIDs (with them
 *              a server reports changes of those UIDs only, not the new
 *              messages); the server answers the changed and new messages
 *              (FETCH ... MODSEQ) and the expunged ones (VANISHED
 *              (EARLIER)) inside it. One round trip, changed or not.
 *   CONDSTORE  EXAMINE (CONDSTORE); HIGHESTMODSEQ as recorded: done, one
 *              round trip; else UID FETCH 1:* (FLAGS MODSEQ), two.
 *   FULL       no mod-sequences (none offered, [NOMODSEQ], or none
 *              recorded in the journal: the journal today): EXAMINE, UID
 *              FETCH 1:* (FLAGS), compared with the journal. Two round
 *              trips and a listing of the folder. Without flags in the
 *              journal (base->flags NULL) a flag change cannot be told
 *              from no change: every present message is reported with
 *              its flags (flags_unknown), for a comparison with the
 *              target (see DESIGN-NOTE.md for the schema change).
 *
 * Contract: 0 and *R filled (free with delta_pass_free), or -1 with the
 * reason in R->err (the connection is then to be closed: a failed
 * command leaves the session in an unknown mailbox state). The folder is
 * left selected read-only. base->uids must be ascending. Memory: the
 * answers (a UID, a mod-sequence and the flags per message listed) and
 * the vanished ranges (bounded by the responses' text, never by UIDs).
 */
#ifndef FEDMIG_SMD_DELTA_H
#define FEDMIG_SMD_DELTA_H

#include <stddef.h>
#include <stdint.h>

#include "delta_cmd.h"
#include "imap.h"

/* What the journal recorded of one source folder. */
struct delta_base {
	unsigned long long uidvalidity;	  /* 0: never copied */
	unsigned long long highestmodseq; /* 0: not recorded (the journal today) */
	const uint32_t *uids;		  /* the journalled source UIDs, ascending */
	size_t nuids;
	const char *const *flags; /* flags per UID as last synchronised; NULL: unknown */
};

enum delta_mode { DELTA_MODE_QRESYNC, DELTA_MODE_CONDSTORE, DELTA_MODE_FULL };

struct delta_change {
	uint32_t uid;
	unsigned long long modseq; /* 0 in FULL mode */
	char *flags;		   /* the flags now */
};

struct delta_pass {
	enum delta_mode mode;
	int unchanged;		 /* nothing changed since the recorded HIGHESTMODSEQ */
	int uidvalidity_changed; /* the folder was recreated: the journal is void */
	int flags_unknown;	 /* FULL without base flags: changed lists all present */
	/* To record once the pass is applied: the next pass starts from here. */
	unsigned long long uidvalidity, highestmodseq;
	struct delta_change *added; /* not in the journal, by UID */
	size_t nadded;
	struct delta_change *changed; /* journalled, flags changed (or unknown) */
	size_t nchanged;
	uint32_t *vanished; /* journalled, expunged since */
	size_t nvanished;
	unsigned round_trips;
	char err[200];
};

/*
 * delta_enable: ENABLE QRESYNC when the server offers it. 1 enabled, 0
 * not offered (or refused), -1 on a connection error. Once per session,
 * before the first delta_run. One round trip when offered.
 */
int delta_enable(struct imap_conn *c);

/*
 * delta_run: one pass over FOLDER against BASE. QRESYNC: the session has
 * it enabled (delta_enable returned 1).
 */
int delta_run(struct imap_conn *c, const char *folder, const struct delta_base *base, int qresync,
	      struct delta_pass *r);
void delta_pass_free(struct delta_pass *r);

/* One folder for delta_moved: the journal's marks in, the verdict out. */
struct delta_mark {
	const char *folder;
	unsigned long long uidvalidity, highestmodseq; /* as recorded; 0: unknown */
	int moved; /* out: changed, unknown or not answered: run delta_run on it */
	/* out: what STATUS told (0: not answered), to record after the pass */
	unsigned long long now_uidvalidity, now_highestmodseq;
};

/*
 * delta_moved: STATUS (UIDVALIDITY HIGHESTMODSEQ) for the N folders,
 * pipelined: one round trip for the whole mailbox, after which only the
 * folders with moved = 1 need a delta_run (an unchanged mailbox then
 * costs one round trip, not one per folder). Needs CONDSTORE; without
 * it every folder is marked moved and nothing is sent. A folder the
 * server refuses (NO) is marked moved too: delta_run reports why.
 * 0, or -1 on a connection error (*ERR_R set, caller frees).
 */
int delta_moved(struct imap_conn *c, struct delta_mark *f, size_t n, unsigned *round_trips_r,
		char **err_r);

#endif
