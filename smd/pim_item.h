/*
 * pim_item - one contact (vCard) or one calendar object resource
 * (iCalendar) as the DAV sync engine moves it: checked, normalised for the
 * target (vCard version, photo size, missing VTIMEZONE, RECURRENCE-ID in the
 * master's zone), hashed by meaning, its UID and modification time.
 *
 * Contract: every function here reads outside input; none aborts on it, an
 * item that cannot be used is refused with a reason an administrator can act
 * on. The item is one resource and stays one: a master and its exceptions
 * are never split. Nothing is added that would send invitations (no METHOD;
 * ATTENDEE and ORGANIZER kept as they are).
 */
#ifndef FEDMIG_PIM_ITEM_H
#define FEDMIG_PIM_ITEM_H

#include <stddef.h>
#include <time.h>

/* The largest item accepted (bytes as read from the source). */
#define PIM_ITEM_MAX (4u << 20)

enum pim_kind { PIM_CARD = 1, PIM_CAL = 2 }; /* vCard; iCalendar object resource */

struct pim_target { /* what the target system wants (from its config keys) */
	int vcard_version; /* 30 or 40: convert to it; 0: keep (2.1 is always made 3.0) */
	size_t max_photo;  /* most bytes of a decoded PHOTO; 0: no limit */
};

struct pim_item {
	char *text;
	size_t len;	   /* what to write on the target (CRLF lines, folded at 75 octets) */
	char *uid;	   /* its UID ("" when it has none: P2 rejects the item) */
	char *fixes;	   /* each normalisation made, "; "-separated, "" when none:
			    * "vCard 2.1 made 3.0", "PHOTO shrunk 2097152 -> 262144 bytes",
			    * "VTIMEZONE Europe/Paris added",
			    * "RECURRENCE-ID of 2 exceptions put in Europe/Paris (master's zone)" */
	unsigned char hash[32]; /* pim_hash() of text */
	time_t modified;	/* LAST-MODIFIED / REV in UTC, 0 when absent ("newest" rule) */
};

/* pim_item_make: parse ITEM (LEN bytes, as read from the source) of KIND, normalise it for T,
 * fill *OUT. 0, or -1 with *ERR_R (caller frees): the item is rejected with that reason
 * ("not a vCard: line 3: ...", "more than 4 MB", "no UID"). Never aborts on hostile input.
 * On -1 *OUT holds nothing to free. */
int pim_item_make(enum pim_kind kind, const char *item, size_t len, const struct pim_target *t,
		  struct pim_item *out, char **err_r);
/* pim_item_free: frees what pim_item_make filled; IT may be zeroed or freed already. */
void pim_item_free(struct pim_item *it);

/* pim_hash: SHA-256 of the item's meaning, the same whichever server serialised it: content
 * lines unfolded, CRLF/LF alike, property and parameter names upper-cased, parameters sorted,
 * lines sorted within each component (components kept as blocks, sorted too), PRODID, DTSTAMP,
 * REV, LAST-MODIFIED and X-RADICALE-* ignored. Radicale (vobject) re-serialises what it stores,
 * so a source text and the target's read-back of it must hash the same. -1 when not parseable.
 * Also alike: value escapes written either way (\, or , in a single-text value, \N or \n),
 * case of TYPE/ENCODING/VALUE values, VALUE=DATE-TIME/TEXT (the defaults) or none, base64
 * line breaks, CATEGORIES/EXDATE/RDATE/RESOURCES as one line or one line a value, RRULE parts
 * and BYxxx lists in any order, empty trailing fields of N, ADR and ORG (vobject pads them);
 * VTIMEZONE components are left out (a server may rewrite a zone's rules; the meaning is the
 * TZID the events name). */
int pim_hash(enum pim_kind kind, const char *text, size_t len, unsigned char out[32]);

/* pim_diff_props: the names of the properties whose meaning (as pim_hash sees it) differs
 * between A and B, ", "-separated and sorted ("PHOTO, URL"), "" when none; malloc'd, or NULL
 * when either does not parse. Says what a server changed in what it was given. */
char *pim_diff_props(const char *a, size_t alen, const char *b, size_t blen);

/* pim_uid: the UID of TEXT without normalising (for listings); malloc'd or NULL. */
char *pim_uid(enum pim_kind kind, const char *text, size_t len);

#endif
