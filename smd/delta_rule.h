/*
 * delta_rule - the three-way rule of a delta pass, as pure functions: for
 * one message, what the journal recorded when it was last copied (the
 * base), what the source has now and what the target has now give one
 * action. No I/O, no allocation but the merged flag list.
 *
 * The rule (DESIGN.md, "Pre-stage and delta"):
 *   - before the switch the user works on the source: the source wins,
 *     the target is made to match it (a change on the target then is
 *     not the user's);
 *   - after the switch, a change on one side only is applied to the
 *     other (a source change reaches the target, a target change stays);
 *     when both sides changed the message and the changes collide
 *     (expunged on one side, changed on the other), the target wins;
 *   - flags and keywords merge per flag: a flag one side set or cleared
 *     since the base follows that side; two sides cannot disagree about
 *     one flag (both changed it means both moved it the same way away
 *     from the base), so two users' edits of different flags both stay;
 *   - a message that left one source folder and appeared in another
 *     with the same Message-ID, size and content hash was moved: it is
 *     moved on the target, not copied again and expunged (delta_moves).
 *
 * Flag lists are as inside FETCH FLAGS parentheses; compared as sets,
 * ignoring case, \Recent and repeats (imap_flags_diff).
 */
#ifndef FEDMIG_SMD_DELTA_RULE_H
#define FEDMIG_SMD_DELTA_RULE_H

#include <stddef.h>
#include <stdint.h>

/* One side of one message: present or not, its flags when present. */
struct delta_side {
	int present;
	const char *flags; /* NULL is "" */
};

enum delta_action {
	DELTA_NONE,	      /* nothing to do on the target */
	DELTA_COPY,	      /* new on the source: copy it */
	DELTA_RECOPY,	      /* gone from the target, the source wins: copy it again */
	DELTA_SET_FLAGS,      /* store the merged flags on the target */
	DELTA_EXPUNGE_TARGET, /* expunged on the source: expunge on the target */
	DELTA_KEEP_TARGET,    /* the target's change stands (after the switch) */
	DELTA_FORGET	      /* gone from both sides (or the target wins a
			       * delete): drop the journal row */
};

struct delta_decision {
	enum delta_action action;
	char *flags; /* DELTA_SET_FLAGS: the list to store (caller frees), else NULL */
};

/*
 * delta_decide: the action for one message. BASE is the journal's record
 * (present = the journal has the message; flags what was copied or last
 * synchronised), SRC and DST the sides now; SWITCHED: the user works on
 * the target. Always fills *D; free d->flags.
 */
void delta_decide(const struct delta_side *base, const struct delta_side *src,
		  const struct delta_side *dst, int switched, struct delta_decision *d);

/*
 * delta_flags_merge: the per-flag three-way merge of BASE, SRC, DST (each
 * a flag list); SRC_WINS: every flag as the source has it. Returns a new
 * list (caller frees), flags in the order SRC then DST lists them.
 */
char *delta_flags_merge(const char *base, const char *src, const char *dst, int src_wins);

/* A message for move detection: from the journal (gone) or a new fetch. */
struct delta_ident {
	uint32_t uid;
	const char *folder;
	const char *message_id; /* NULL or "": never matched (cannot be told apart) */
	unsigned long long size;
	unsigned char sha256[32];
	int has_hash;
};

struct delta_move {
	size_t gone, arrived; /* indexes into the two arrays */
};

/*
 * delta_moves: pair messages that vanished from a source folder (GONE)
 * with messages new in another source folder (NEW): same Message-ID
 * (exact), same size, same SHA-256 (both must have it: a Message-ID
 * alone is often duplicated, by mailing lists and by the user's own
 * copies). Each message pairs at most once, in array order; a message
 * new in the folder it vanished from is not a move. Writes up to MAX
 * pairs into OUT, returns how many it found.
 */
size_t delta_moves(const struct delta_ident *gone, size_t ngone, const struct delta_ident *arrived,
		   size_t narrived, struct delta_move *out, size_t max);

#endif
