/*
 * ical_norm - iCalendar normalisation through libical. See ical_norm.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libical/ical.h>

#include "ical_norm.h"
#include "xalloc.h"

#define ICAL_MAX_DEPTH 8

static int main_kind(icalcomponent_kind k)
{
	return k == ICAL_VEVENT_COMPONENT || k == ICAL_VTODO_COMPONENT ||
	       k == ICAL_VJOURNAL_COMPONENT;
}

static int main_name(const char *name)
{
	return strcasecmp(name, "VEVENT") == 0 || strcasecmp(name, "VTODO") == 0 ||
	       strcasecmp(name, "VJOURNAL") == 0;
}

/* structure: L is one VCALENDAR with an event, to-do or journal entry,
 * components closed and at most ICAL_MAX_DEPTH deep. NULL, or the reason
 * with *LINE_R. */
static const char *structure(const struct vc_lines *l, unsigned *line_r)
{
	const char *open[ICAL_MAX_DEPTH], *first = "";
	int d = 0, tops = 0, mains = 0;

	*line_r = 1;
	for (size_t i = 0; i < l->n; i++) {
		const struct vc_prop *p = &l->a[i];

		*line_r = p->line;
		if (strcmp(p->name, "BEGIN") == 0) {
			if (d == 0 && (tops++ || strcasecmp(p->value, "VCALENDAR") != 0))
				return "not one VCALENDAR (one object resource per item)";
			if (d == ICAL_MAX_DEPTH)
				return "components nested too deep";
			if (d == 1 && main_name(p->value)) {
				if (mains++ && strcasecmp(p->value, first) != 0)
					return "events, to-dos or journal entries mixed in one resource";
				first = p->value;
			}
			open[d++] = p->value;
		} else if (strcmp(p->name, "END") == 0) {
			if (d == 0 || strcasecmp(open[d - 1], p->value) != 0)
				return "END does not match the open BEGIN";
			d--;
		} else if (d == 0) {
			return "a property outside VCALENDAR";
		}
	}
	if (d > 0)
		return "a BEGIN without its END";
	if (tops == 0)
		return "no BEGIN:VCALENDAR";
	return mains ? NULL : "no VEVENT, VTODO or VJOURNAL";
}

static int check_text(const char *text, size_t len, char **err_r)
{
	struct vc_lines l = {0};
	char *why = NULL;
	const char *s;
	unsigned line;

	if (vc_parse(text, len, &l, &why) < 0) {
		*err_r = xasprintf("not an iCalendar object: %s", why);
		free(why);
		return -1;
	}
	s = structure(&l, &line);
	vc_lines_free(&l);
	if (s) {
		*err_r = xasprintf("not an iCalendar object: line %u: %s", line, s);
		return -1;
	}
	if (!vc_utf8_ok(text, len)) {
		*err_r = xstrdup("not an iCalendar object: not UTF-8");
		return -1;
	}
	return 0;
}

/* drop_errors: the X-LIC-ERROR properties libical put for lines it could
 * not parse, removed from C and its components; how many. */
static int drop_errors(icalcomponent *c)
{
	icalproperty *p, **bad = NULL;
	icalcomponent *sub;
	int n = 0, k = 0;

	for (p = icalcomponent_get_first_property(c, ICAL_XLICERROR_PROPERTY); p;
	     p = icalcomponent_get_next_property(c, ICAL_XLICERROR_PROPERTY)) {
		bad = xrealloc(bad, (size_t)(n + 1) * sizeof(*bad));
		bad[n++] = p;
	}
	for (int i = 0; i < n; i++) {
		icalcomponent_remove_property(c, bad[i]);
		icalproperty_free(bad[i]);
	}
	free(bad);
	for (sub = icalcomponent_get_first_component(c, ICAL_ANY_COMPONENT); sub;
	     sub = icalcomponent_get_next_component(c, ICAL_ANY_COMPONENT))
		k += drop_errors(sub);
	return n + k;
}

/* mains_of: CAL's events, to-dos and journal entries, malloc'd; *N_R many. */
static icalcomponent **mains_of(icalcomponent *cal, size_t *n_r)
{
	icalcomponent **a = NULL, *c;
	size_t n = 0;

	for (c = icalcomponent_get_first_component(cal, ICAL_ANY_COMPONENT); c;
	     c = icalcomponent_get_next_component(cal, ICAL_ANY_COMPONENT)) {
		if (!main_kind(icalcomponent_isa(c)))
			continue;
		a = xrealloc(a, (n + 1) * sizeof(*a));
		a[n++] = c;
	}
	*n_r = n;
	return a;
}

static const char *tzid_of(icalproperty *p)
{
	icalparameter *t = p ? icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER) : NULL;

	return t ? icalparameter_get_tzid(t) : NULL;
}

/* Outlook and Exchange name zones the Windows way, often without the
 * VTIMEZONE: the usual ones, as CLDR's windowsZones maps them ("001"),
 * spelt as in zone.tab (libical's list of built-in zones). */
static const struct {
	const char *windows, *iana;
} windows_zones[] = {
	{"GMT Standard Time", "Europe/London"},
	{"W. Europe Standard Time", "Europe/Berlin"},
	{"Romance Standard Time", "Europe/Paris"},
	{"Central Europe Standard Time", "Europe/Budapest"},
	{"Central European Standard Time", "Europe/Warsaw"},
	{"E. Europe Standard Time", "Europe/Chisinau"},
	{"FLE Standard Time", "Europe/Kyiv"},
	{"GTB Standard Time", "Europe/Bucharest"},
	{"Russian Standard Time", "Europe/Moscow"},
	{"Turkey Standard Time", "Europe/Istanbul"},
	{"Morocco Standard Time", "Africa/Casablanca"},
	{"South Africa Standard Time", "Africa/Johannesburg"},
	{"Arabian Standard Time", "Asia/Dubai"},
	{"India Standard Time", "Asia/Kolkata"},
	{"China Standard Time", "Asia/Shanghai"},
	{"Singapore Standard Time", "Asia/Singapore"},
	{"Tokyo Standard Time", "Asia/Tokyo"},
	{"AUS Eastern Standard Time", "Australia/Sydney"},
	{"Eastern Standard Time", "America/New_York"},
	{"Central Standard Time", "America/Chicago"},
	{"Mountain Standard Time", "America/Denver"},
	{"Pacific Standard Time", "America/Los_Angeles"},
	{"SA Pacific Standard Time", "America/Bogota"},
	{"E. South America Standard Time", "America/Sao_Paulo"},
};

/* builtin: libical's zone for TZID (an Olson name, libical's own TZID, or
 * a Windows name above), or NULL. */
static icaltimezone *builtin(const char *tzid)
{
	icaltimezone *z = icaltimezone_get_builtin_timezone(tzid);

	if (!z)
		z = icaltimezone_get_builtin_timezone_from_tzid(tzid);
	for (size_t i = 0; !z && i < sizeof(windows_zones) / sizeof(windows_zones[0]); i++)
		if (strcmp(tzid, windows_zones[i].windows) == 0)
			z = icaltimezone_get_builtin_timezone(windows_zones[i].iana);
	return z;
}

/* add_zone: a VTIMEZONE for TZID in CAL when it has none. */
static void add_zone(icalcomponent *cal, const char *tzid, struct vc_buf *fixes)
{
	icaltimezone *z;
	icalcomponent *vtz;
	icalproperty *p;
	char fix[300];

	if (icalcomponent_get_timezone(cal, tzid))
		return;
	z = builtin(tzid);
	if (!z || !icaltimezone_get_component(z)) {
		snprintf(fix, sizeof(fix), "TZID %.200s names no known zone: left without VTIMEZONE",
			 tzid);
		vc_fix(fixes, fix);
		return;
	}
	vtz = icalcomponent_new_clone(icaltimezone_get_component(z));
	p = icalcomponent_get_first_property(vtz, ICAL_TZID_PROPERTY);
	if (p)
		icalproperty_set_tzid(p, tzid);
	icalcomponent_add_component(cal, vtz);
	if (strcmp(tzid, icaltimezone_get_location(z) ? icaltimezone_get_location(z) : "") == 0)
		snprintf(fix, sizeof(fix), "VTIMEZONE %.200s added", tzid);
	else
		snprintf(fix, sizeof(fix), "VTIMEZONE %.120s added (%.60s)", tzid,
			 icaltimezone_get_location(z) ? icaltimezone_get_location(z) : "?");
	vc_fix(fixes, fix);
}

/* add_zones: every TZID the components of CAL name, with its VTIMEZONE. */
static void add_zones(icalcomponent *cal, icalcomponent **mains, size_t n, struct vc_buf *fixes)
{
	for (size_t i = 0; i < n; i++) {
		icalproperty *p;

		for (p = icalcomponent_get_first_property(mains[i], ICAL_ANY_PROPERTY); p;
		     p = icalcomponent_get_next_property(mains[i], ICAL_ANY_PROPERTY)) {
			const char *tzid = tzid_of(p);

			if (tzid && *tzid)
				add_zone(cal, tzid, fixes);
		}
	}
}

static icaltimezone *zone_of(icalcomponent *cal, const char *tzid, struct icaltimetype t)
{
	if (icaltime_is_utc(t))
		return icaltimezone_get_utc_timezone();
	if (!tzid)
		return NULL; /* floating: no instant to align */
	{
		icaltimezone *z = icalcomponent_get_timezone(cal, tzid);

		return z ? z : builtin(tzid);
	}
}

/* align_one: exception E's RECURRENCE-ID put in MZONE (TZID MTZID, NULL for
 * UTC). 1 when it changed. */
static int align_one(icalcomponent *cal, icalcomponent *e, icaltimezone *mzone, const char *mtzid)
{
	icalproperty *rp = icalcomponent_get_first_property(e, ICAL_RECURRENCEID_PROPERTY);
	struct icaltimetype rt, ct;
	const char *rtzid = tzid_of(rp);
	icaltimezone *rzone;

	if (!rp)
		return 0;
	rt = icalproperty_get_recurrenceid(rp);
	if (icaltime_is_null_time(rt) || rt.is_date)
		return 0;
	rzone = zone_of(cal, rtzid, rt);
	if (!rzone || rzone == mzone || (rtzid && mtzid && strcmp(rtzid, mtzid) == 0))
		return 0;
	rt.zone = rzone;
	ct = icaltime_convert_to_zone(rt, mzone);
	if (mtzid)
		ct.zone = NULL; /* written as local time with the TZID parameter */
	icalproperty_set_recurrenceid(rp, ct);
	icalproperty_remove_parameter_by_kind(rp, ICAL_TZID_PARAMETER);
	if (mtzid)
		icalproperty_add_parameter(rp, icalparameter_new_tzid(mtzid));
	return 1;
}

/* date_one: exception E's RECURRENCE-ID made a date, as its all-day
 * master's DTSTART is (a date-time never matches a date occurrence). 1 when
 * it changed. */
static int date_one(icalcomponent *e)
{
	icalproperty *rp = icalcomponent_get_first_property(e, ICAL_RECURRENCEID_PROPERTY);
	struct icaltimetype rt;

	if (!rp)
		return 0;
	rt = icalproperty_get_recurrenceid(rp);
	if (icaltime_is_null_time(rt) || rt.is_date)
		return 0;
	rt.is_date = 1;
	rt.hour = rt.minute = rt.second = 0;
	rt.zone = NULL;
	icalproperty_set_recurrenceid(rp, rt);
	icalproperty_remove_parameter_by_kind(rp, ICAL_TZID_PARAMETER);
	icalproperty_remove_parameter_by_kind(rp, ICAL_VALUE_PARAMETER);
	icalproperty_add_parameter(rp, icalparameter_new_value(ICAL_VALUE_DATE));
	return 1;
}

/* align: the exceptions of master M (among MAINS) in M's zone. */
static void align(icalcomponent *cal, icalcomponent *m, icalcomponent **mains, size_t n,
		  struct vc_buf *fixes)
{
	icalproperty *dp = icalcomponent_get_first_property(m, ICAL_DTSTART_PROPERTY);
	const char *uid = icalcomponent_get_uid(m), *mtzid = tzid_of(dp);
	struct icaltimetype mt;
	icaltimezone *mzone = NULL;
	int changed = 0;
	char fix[300];

	if (!dp || !uid)
		return;
	mt = icalproperty_get_dtstart(dp);
	if (icaltime_is_null_time(mt) || (!mt.is_date && !(mzone = zone_of(cal, mtzid, mt))))
		return;
	if (icaltime_is_utc(mt))
		mtzid = NULL;
	for (size_t i = 0; i < n; i++) {
		const char *u = icalcomponent_get_uid(mains[i]);

		if (mains[i] != m && u && strcmp(u, uid) == 0)
			changed += mt.is_date ? date_one(mains[i])
					      : align_one(cal, mains[i], mzone, mtzid);
	}
	if (changed && mt.is_date)
		snprintf(fix, sizeof(fix), "RECURRENCE-ID of %d exception%s made a date (all-day master)",
			 changed, changed == 1 ? "" : "s");
	else if (changed)
		snprintf(fix, sizeof(fix), "RECURRENCE-ID of %d exception%s put in %.200s (master's zone)",
			 changed, changed == 1 ? "" : "s", mtzid ? mtzid : "UTC");
	if (changed)
		vc_fix(fixes, fix);
}

/* one_uid: NULL when the N MAINS share one UID (or have none: refused
 * later) and at most one is the master; else why not. RFC 4791 4.1 asks it
 * of a calendar object resource, and it keeps align() linear. */
static const char *one_uid(icalcomponent **mains, size_t n)
{
	const char *uid = icalcomponent_get_uid(mains[0]);
	int masters = 0;

	for (size_t i = 0; i < n; i++) {
		const char *u = icalcomponent_get_uid(mains[i]);

		if ((u == NULL) != (uid == NULL) || (u && strcmp(u, uid) != 0))
			return "components with different UIDs in one resource";
		if (!icalcomponent_get_first_property(mains[i], ICAL_RECURRENCEID_PROPERTY) &&
		    masters++)
			return "two components without RECURRENCE-ID (two masters) in one resource";
	}
	return NULL;
}

static void fill_out(icalcomponent *cal, icalcomponent *first, struct ical_out *out)
{
	icalproperty *lm = icalcomponent_get_first_property(first, ICAL_LASTMODIFIED_PROPERTY);
	const char *uid = icalcomponent_get_uid(first);
	char *s = icalcomponent_as_ical_string_r(cal);

	out->text = vc_refold(s, strlen(s), &out->len);
	icalmemory_free_buffer(s);
	out->uid = uid && *uid ? xstrdup(uid) : NULL;
	out->modified = 0;
	if (lm) {
		struct icaltimetype t = icalproperty_get_lastmodified(lm);

		if (!icaltime_is_null_time(t) && icaltime_is_valid_time(t))
			out->modified = icaltime_as_timet_with_zone(
				t, t.zone ? t.zone : icaltimezone_get_utc_timezone());
	}
}

int ical_norm(const char *text, size_t len, struct ical_out *out, struct vc_buf *fixes,
	      char **err_r)
{
	icalcomponent *cal, **mains;
	const char *why;
	char *buf, fix[80];
	size_t n;
	int bad;

	memset(out, 0, sizeof(*out));
	if (check_text(text, len, err_r) < 0)
		return -1;
	icalerror_set_errors_are_fatal(0);
	buf = xstrndup(text, len);
	for (size_t i = 0; i < len; i++)
		if (buf[i] == '\r' && buf[i + 1] != '\n')
			buf[i] = '\n'; /* a lone CR ends a line for vc_parse: the same for libical */
	cal = icalparser_parse_string(buf);
	free(buf);
	if (!cal || icalcomponent_isa(cal) != ICAL_VCALENDAR_COMPONENT) {
		if (cal)
			icalcomponent_free(cal);
		*err_r = xstrdup("not an iCalendar object: libical cannot read it");
		return -1;
	}
	if ((bad = drop_errors(cal)) > 0) {
		snprintf(fix, sizeof(fix), "%d line%s libical could not read dropped", bad,
			 bad == 1 ? "" : "s");
		vc_fix(fixes, fix);
	}
	mains = mains_of(cal, &n);
	why = n == 0 ? "no VEVENT, VTODO or VJOURNAL libical can read" : one_uid(mains, n);
	if (!why) {
		/* Aligned first (zones from the resource or libical's), so that a
		 * zone no longer named gets no VTIMEZONE. */
		for (size_t i = 0; i < n; i++)
			if (!icalcomponent_get_first_property(mains[i], ICAL_RECURRENCEID_PROPERTY))
				align(cal, mains[i], mains, n, fixes);
		add_zones(cal, mains, n, fixes);
		fill_out(cal, mains[0], out);
	}
	free(mains);
	icalcomponent_free(cal);
	if (why) {
		*err_r = xasprintf("not an iCalendar object: %s", why);
		return -1;
	}
	return 0;
}
