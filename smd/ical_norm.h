/*
 * ical_norm - an iCalendar object resource read with libical and made fit
 * to write on another server:
 *  - a TZID with no VTIMEZONE in the resource gets libical's built-in zone
 *    (icaltimezone_get_builtin_timezone) added under that TZID; a TZID
 *    naming no known zone is left as it is and reported;
 *  - an exception whose RECURRENCE-ID is in another zone than its master's
 *    DTSTART gets the same instant in the master's zone (servers and clients
 *    match overrides by the RECURRENCE-ID's text: a mismatch duplicates the
 *    occurrence); an all-day master's exceptions get a date RECURRENCE-ID;
 *  - the master and its exceptions stay in the one resource;
 *  - lines libical cannot parse (it marks them X-LIC-ERROR) are dropped and
 *    reported, never written to the target.
 * Nothing is added that would send mail (no METHOD); ATTENDEE and ORGANIZER
 * are kept. The text is checked first: UTF-8, no NUL, components nested at
 * most 8 deep and closed, exactly one VCALENDAR holding events, to-dos or
 * journal entries of one kind and one UID, one master at most (RFC 4791
 * 4.1: servers refuse the others).
 */
#ifndef FEDMIG_ICAL_NORM_H
#define FEDMIG_ICAL_NORM_H

#include <stddef.h>
#include <time.h>

#include "vcard.h"

struct ical_out {
	char *text; /* CRLF lines folded at 75 octets, malloc'd */
	size_t len;
	char *uid;	 /* the first event/to-do/journal's UID, malloc'd; NULL when none */
	time_t modified; /* its LAST-MODIFIED in UTC, 0 when absent */
};

/* ical_norm: TEXT (LEN bytes) normalised into *OUT, each change appended to
 * FIXES. 0, or -1 with *ERR_R ("not an iCalendar object: line 3: ..."). */
int ical_norm(const char *text, size_t len, struct ical_out *out, struct vc_buf *fixes,
	      char **err_r);

#endif
