/*
 * pim_item - an item checked and normalised for the target. See pim_item.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ical_norm.h"
#include "pim_item.h"
#include "pim_photo.h"
#include "vcard.h"
#include "xalloc.h"

/* rev_time: a vCard REV (20240102T030405Z, 2024-01-02T03:04:05Z, or a date)
 * as UTC seconds; 0 when it is not one of those. */
static time_t rev_time(const char *v)
{
	char d[16];
	size_t n = 0;
	struct tm tm = {0};

	for (; *v && n < sizeof(d) - 1; v++)
		if (*v >= '0' && *v <= '9')
			d[n++] = *v;
	d[n] = '\0';
	if (n != 8 && n != 14)
		return 0;
	if (sscanf(d, "%4d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3)
		return 0;
	if (n == 14 && sscanf(d + 8, "%2d%2d%2d", &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 3)
		return 0;
	if (tm.tm_year < 1970 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm);
}

static int make_card(const char *item, size_t len, const struct pim_target *t,
		     struct pim_item *out, struct vc_buf *fixes, char **err_r)
{
	struct vcard c;
	struct vc_prop *p;
	size_t n;

	if (vcard_parse(item, len, &c, err_r) < 0)
		return -1;
	if (vcard_convert(&c, t->vcard_version, fixes, err_r) < 0) {
		vcard_free(&c);
		return -1;
	}
	pim_photo_limit(&c, t->max_photo, fixes);
	out->text = vcard_write(&c, &out->len);
	p = vcard_find(&c, "UID");
	out->uid = p ? vc_unescape(p->value, p->vlen, &n) : NULL;
	p = vcard_find(&c, "REV");
	out->modified = p ? rev_time(p->value) : 0;
	vcard_free(&c);
	return 0;
}

static int make_cal(const char *item, size_t len, struct pim_item *out, struct vc_buf *fixes,
		    char **err_r)
{
	struct ical_out o;

	if (ical_norm(item, len, &o, fixes, err_r) < 0)
		return -1;
	out->text = o.text;
	out->len = o.len;
	out->uid = o.uid;
	out->modified = o.modified;
	return 0;
}

int pim_item_make(enum pim_kind kind, const char *item, size_t len, const struct pim_target *t,
		  struct pim_item *out, char **err_r)
{
	static const struct pim_target keep = {0, 0};
	struct vc_buf fixes = {0};
	int rc;

	memset(out, 0, sizeof(*out));
	*err_r = NULL;
	if (len > PIM_ITEM_MAX) {
		*err_r = xasprintf("more than %u MB", PIM_ITEM_MAX >> 20);
		return -1;
	}
	vc_buf_add(&fixes, "", 0);
	if (kind == PIM_CARD)
		rc = make_card(item, len, t ? t : &keep, out, &fixes, err_r);
	else if (kind == PIM_CAL)
		rc = make_cal(item, len, out, &fixes, err_r);
	else
		rc = -1, *err_r = xstrdup("unknown item kind");
	if (rc == 0 && (!out->uid || !*out->uid)) {
		*err_r = xstrdup("no UID");
		rc = -1;
	}
	/* The UID reaches the store, logs and the report: no control byte
	 * (RFC 5545 and 6350 text allows none but HTAB, which a UID has no
	 * use for). */
	for (const char *u = out->uid; rc == 0 && *u; u++) {
		if ((unsigned char)*u < 0x20 || *u == 0x7f) {
			*err_r = xstrdup("its UID holds a control character");
			rc = -1;
		}
	}
	if (rc == 0 && pim_hash(kind, out->text, out->len, out->hash) < 0) {
		*err_r = xstrdup("the normalised item cannot be read back (a bug: please report it)");
		rc = -1;
	}
	if (rc < 0) {
		vc_buf_free(&fixes);
		pim_item_free(out);
		return -1;
	}
	out->fixes = fixes.p;
	return 0;
}

void pim_item_free(struct pim_item *it)
{
	free(it->text);
	free(it->uid);
	free(it->fixes);
	memset(it, 0, sizeof(*it));
}
