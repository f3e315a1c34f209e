/*
 * pim_item - one contact or calendar object resource as fedmig-smd writes
 * it: parsed, normalised for the target system, its UID, the fixes made
 * and its content hash. The contract between the PIM formats (P1) and the
 * sync engine (smd/pim_sync.h); see the issue 15 spec.
 */
#ifndef FEDMIG_PIM_ITEM_H
#define FEDMIG_PIM_ITEM_H

#include <stddef.h>
#include <time.h>

enum pim_kind { PIM_CARD = 1, PIM_CAL = 2 };	/* vCard; iCalendar object resource */

struct pim_target {		/* what the target system wants (from its config keys) */
	int vcard_version;	/* 30 or 40: convert to it; 0: keep (2.1 is always made 3.0) */
	size_t max_photo;	/* most bytes of a decoded PHOTO; 0: no limit */
};

struct pim_item {
	char *text;   size_t len;	/* what to write on the target (CRLF lines, folded at 75 octets) */
	char *uid;			/* its UID ("" when it has none: P2 rejects the item) */
	char *fixes;			/* each normalisation made, "; "-separated, "" when none:
					 * "vCard 2.1 made 3.0", "PHOTO shrunk 2097152 -> 262144 bytes",
					 * "VTIMEZONE Europe/Paris added",
					 * "RECURRENCE-ID of 2 exceptions put in Europe/Paris (master's zone)" */
	unsigned char hash[32];		/* pim_hash() of text */
	time_t modified;		/* LAST-MODIFIED / REV in UTC, 0 when absent ("newest" rule) */
};

/* pim_item_make: parse ITEM (LEN bytes, as read from the source) of KIND, normalise it for T,
 * fill *OUT. 0, or -1 with *ERR_R (caller frees): the item is rejected with that reason
 * ("not a vCard: line 3: ...", "more than 4 MB", "no UID"). Never aborts on hostile input. */
int pim_item_make(enum pim_kind kind, const char *item, size_t len, const struct pim_target *t,
		  struct pim_item *out, char **err_r);
void pim_item_free(struct pim_item *it);

/* pim_hash: SHA-256 of the item's meaning, the same whichever server serialised it: content
 * lines unfolded, CRLF/LF alike, property and parameter names upper-cased, parameters sorted,
 * lines sorted within each component (components kept as blocks, sorted too), PRODID, DTSTAMP,
 * REV, LAST-MODIFIED and X-RADICALE-* ignored. Radicale (vobject) re-serialises what it stores,
 * so a source text and the target's read-back of it must hash the same. -1 when not parseable. */
int pim_hash(enum pim_kind kind, const char *text, size_t len, unsigned char out[32]);

/* pim_uid: the UID of TEXT without normalising (for listings); malloc'd or NULL. */
char *pim_uid(enum pim_kind kind, const char *text, size_t len);

#endif
