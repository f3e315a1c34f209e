/*
 * dirdrv_ldap_sync - the ldap driver's listing by RFC 4533 syncrepl,
 * refreshOnly: the request control built with ber_printf, the sync state
 * of each entry, the sync info messages and the sync done control read
 * with ber_scanf.
 *
 * Without a cookie the server sends every entry: a full listing and the
 * cookie to store. With one it sends what changed since: added and
 * modified entries, and the entryUUIDs of deleted ones (a syncIdSet with
 * refreshDeletes, or delete states): an incremental listing. When the
 * server answers e-syncRefreshRequired (the cookie is too old) or uses the
 * present phase (it has no session log reaching back to the cookie: the
 * deletions would be the entries it did not name, which only a full
 * listing shows), the listing is asked again without the cookie. A cookie
 * that is not printable ASCII is not returned (the next listing is full);
 * an incremental listing that brought no new cookie returns the old one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dirdrv_ldap.h"
#include "log.h"
#include "xalloc.h"

struct sync_run {
	const struct dirldap_conn *c;
	struct dir_listing *out;
	struct berval cookie; /* the newest seen (owned) */
	int present;	      /* the server used the present phase */
	int refresh_required;
};

static void set_cookie(struct sync_run *r, const struct berval *bv)
{
	if (bv->bv_len == 0)
		return;
	free(r->cookie.bv_val);
	r->cookie.bv_val = xstrndup(bv->bv_val, bv->bv_len);
	r->cookie.bv_len = bv->bv_len;
}

static void add_gone(struct dir_listing *l, const char *uuid)
{
	if (l->ngone % 1024 == 0)
		l->gone = xrealloc(l->gone, (l->ngone + 1024) * sizeof(*l->gone));
	l->gone[l->ngone++] = xstrdup(uuid);
}

/* request: the syncRequestValue (RFC 4533 2.2) control for COOKIE. */
static LDAPControl *request(const char *cookie)
{
	BerElement *ber = ber_alloc_t(LBER_USE_DER);
	struct berval val = {0, NULL}, ck = {cookie ? strlen(cookie) : 0, (char *)cookie};
	LDAPControl *ctrl = NULL;

	if (ber == NULL)
		return NULL;
	if (ber_printf(ber, "{e", (ber_int_t)LDAP_SYNC_REFRESH_ONLY) >= 0 &&
	    (cookie == NULL || ber_printf(ber, "O", &ck) >= 0) && ber_printf(ber, "N}") >= 0 &&
	    ber_flatten2(ber, &val, 0) == 0)
		ldap_control_create(LDAP_CONTROL_SYNC, 1, &val, 1, &ctrl);
	ber_free(ber, 1);
	return ctrl;
}

/* entry: one search entry with its syncStateValue (RFC 4533 2.3). */
static int entry(struct sync_run *r, LDAPMessage *msg)
{
	LDAPControl **ctrls = NULL, *sc;
	struct berval uuid = {0, NULL}, bv;
	BerElement *ber;
	ber_int_t state = -1;
	char text[37];
	int ok = 0;

	if (ldap_get_entry_controls(r->c->ld, msg, &ctrls) != LDAP_SUCCESS ||
	    (sc = ldap_control_find(LDAP_CONTROL_SYNC_STATE, ctrls, NULL)) == NULL) {
		ldap_controls_free(ctrls);
		return -1;
	}
	bv = sc->ldctl_value;
	if ((ber = ber_init(&bv)) != NULL && ber_scanf(ber, "{em", &state, &uuid) != LBER_ERROR &&
	    uuid.bv_len == 16) {
		struct berval ck = {0, NULL};
		struct dir_account a;

		if (ber_peek_tag(ber, &ck.bv_len) == LDAP_TAG_SYNC_COOKIE &&
		    ber_scanf(ber, "m", &ck) != LBER_ERROR)
			set_cookie(r, &ck);
		dirldap_uuid_text((const unsigned char *)uuid.bv_val, text);
		ok = 1;
		if (state == LDAP_SYNC_DELETE)
			add_gone(r->out, text);
		else if (state == LDAP_SYNC_PRESENT)
			r->present = 1;
		else if (dirldap_account(r->c, msg, text, &a) == 0)
			dirldap_push(r->out, &a);
	}
	ber_free(ber, 1);
	ldap_controls_free(ctrls);
	return ok ? 0 : -1;
}

/* id_set: a syncIdSet's UUIDs: deleted (refreshDeletes) or present. */
static int id_set(struct sync_run *r, BerElement *ber)
{
	struct berval ck = {0, NULL}, *uuids = NULL;
	ber_int_t deletes = 0;
	ber_len_t len;
	char text[37];

	if (ber_scanf(ber, "{") == LBER_ERROR)
		return -1;
	if (ber_peek_tag(ber, &len) == LDAP_TAG_SYNC_COOKIE && ber_scanf(ber, "m", &ck) != LBER_ERROR)
		set_cookie(r, &ck);
	if (ber_peek_tag(ber, &len) == LDAP_TAG_REFRESHDELETES && ber_scanf(ber, "b", &deletes) == LBER_ERROR)
		return -1;
	if (ber_scanf(ber, "[W]", &uuids) == LBER_ERROR)
		return -1;
	for (size_t i = 0; uuids && uuids[i].bv_val; i++) {
		if (uuids[i].bv_len != 16)
			continue;
		dirldap_uuid_text((const unsigned char *)uuids[i].bv_val, text);
		if (deletes)
			add_gone(r->out, text);
	}
	if (!deletes)
		r->present = 1;
	ber_bvarray_free(uuids);
	return 0;
}

/* info: a syncInfoValue (RFC 4533 2.5) intermediate response. */
static int info(struct sync_run *r, LDAPMessage *msg)
{
	char *oid = NULL;
	struct berval *data = NULL, ck = {0, NULL};
	BerElement *ber = NULL;
	ber_len_t len;
	ber_tag_t tag;
	int rc = -1;

	if (ldap_parse_intermediate(r->c->ld, msg, &oid, &data, NULL, 0) != LDAP_SUCCESS ||
	    oid == NULL || strcmp(oid, LDAP_SYNC_INFO) != 0 || data == NULL ||
	    (ber = ber_init(data)) == NULL)
		goto out;
	tag = ber_peek_tag(ber, &len);
	if (tag == LDAP_TAG_SYNC_NEW_COOKIE) {
		if (ber_scanf(ber, "m", &ck) != LBER_ERROR)
			set_cookie(r, &ck), rc = 0;
	} else if (tag == LDAP_TAG_SYNC_REFRESH_DELETE || tag == LDAP_TAG_SYNC_REFRESH_PRESENT) {
		r->present |= tag == LDAP_TAG_SYNC_REFRESH_PRESENT;
		if (ber_scanf(ber, "{") != LBER_ERROR) {
			if (ber_peek_tag(ber, &len) == LDAP_TAG_SYNC_COOKIE &&
			    ber_scanf(ber, "m", &ck) != LBER_ERROR)
				set_cookie(r, &ck);
			rc = 0;
		}
	} else if (tag == LDAP_TAG_SYNC_ID_SET) {
		rc = id_set(r, ber);
	}
out:
	ber_free(ber, 1);
	ber_bvfree(data);
	ldap_memfree(oid);
	return rc;
}

/* done: the syncDoneValue (RFC 4533 2.4) of the search result. */
static void done(struct sync_run *r, LDAPControl **ctrls)
{
	LDAPControl *dc = ldap_control_find(LDAP_CONTROL_SYNC_DONE, ctrls, NULL);
	struct berval ck = {0, NULL}, bv;
	BerElement *ber;
	ber_len_t len;

	if (dc == NULL)
		return;
	bv = dc->ldctl_value;
	if ((ber = ber_init(&bv)) == NULL)
		return;
	if (ber_scanf(ber, "{") != LBER_ERROR && ber_peek_tag(ber, &len) == LDAP_TAG_SYNC_COOKIE &&
	    ber_scanf(ber, "m", &ck) != LBER_ERROR)
		set_cookie(r, &ck);
	ber_free(ber, 1);
}

/* result: the end of the search: DRV_OK, or why not (WHY). */
static int result(struct sync_run *r, LDAPMessage *res, char *why)
{
	LDAPControl **ctrls = NULL;
	int code = LDAP_OTHER, err = ldap_parse_result(r->c->ld, res, &code, NULL, NULL, NULL,
						       &ctrls, 0);

	if (err == LDAP_SUCCESS && code == LDAP_SYNC_REFRESH_REQUIRED) {
		r->refresh_required = 1;
		code = LDAP_SUCCESS;
	} else if (err == LDAP_SUCCESS && code == LDAP_SUCCESS) {
		done(r, ctrls);
	}
	ldap_controls_free(ctrls);
	if (err == LDAP_SUCCESS && code == LDAP_SUCCESS)
		return DRV_OK;
	dirldap_fail(r->c->cfg, r->c->sys, err != LDAP_SUCCESS ? err : code,
		     "syncrepl search (listing incomplete)", why);
	return DRV_TEMP; /* never a short listing: the guards rely on it */
}

/* refresh: one refreshOnly search from COOKIE into R->out. */
static int refresh(struct sync_run *r, const char *cookie, char *why)
{
	const struct dirldap_conn *c = r->c;
	char *attrv[8], **attrs = dirldap_attrs(c->cfg, c->sys, attrv);
	LDAPControl *ctrls[2] = {request(cookie), NULL};
	struct timeval tv = c->tv;
	LDAPMessage *res = NULL;
	int err, msgid, t, rc = DRV_TEMP;

	if (ctrls[0] == NULL)
		return dirldap_fail(c->cfg, c->sys, LDAP_NO_MEMORY, "syncrepl control", why);
	err = ldap_search_ext(c->ld, config_sys_str(c->cfg, c->sys, "ldap_base"), LDAP_SCOPE_SUBTREE,
			      config_sys_str(c->cfg, c->sys, "ldap_filter"), attrs, 0, ctrls, NULL,
			      &tv, LDAP_NO_LIMIT, &msgid);
	ldap_control_free(ctrls[0]);
	if (err != LDAP_SUCCESS)
		return dirldap_fail(c->cfg, c->sys, err, "syncrepl search", why);
	while ((t = ldap_result(c->ld, msgid, LDAP_MSG_ONE, &tv, &res)) > 0) {
		if ((t == LDAP_RES_SEARCH_ENTRY && entry(r, res) < 0) ||
		    (t == LDAP_RES_INTERMEDIATE && info(r, res) < 0)) {
			snprintf(why, DRV_WHY, "%s: LDAP syncrepl: a message that does not parse",
				 c->sys);
			ldap_msgfree(res);
			return DRV_TEMP;
		}
		if (t == LDAP_RES_SEARCH_RESULT) {
			rc = result(r, res, why);
			ldap_msgfree(res);
			return rc;
		}
		ldap_msgfree(res);
	}
	if (t < 0)
		ldap_get_option(c->ld, LDAP_OPT_RESULT_CODE, &err);
	return dirldap_fail(c->cfg, c->sys, t == 0 ? LDAP_TIMEOUT : err, "syncrepl search", why);
}

static int printable(const struct berval *bv)
{
	for (size_t i = 0; i < bv->bv_len; i++)
		if (bv->bv_val[i] < 0x20 || bv->bv_val[i] > 0x7e)
			return 0;
	return bv->bv_len > 0;
}

int dirldap_sync_list(const struct dirldap_conn *c, const char *cookie, struct dir_listing *out,
		      char *why)
{
	struct sync_run r = {c, out, {0, NULL}, 0, 0};
	int rc = refresh(&r, cookie, why);

	if (rc == DRV_OK && cookie && (r.present || r.refresh_required)) {
		log_info("directory %s: the LDAP server cannot send only the changes since the "
			 "stored cookie (%s): listing everything", c->sys,
			 r.refresh_required ? "too old" : "no session log");
		dir_listing_free(out);
		free(r.cookie.bv_val);
		r = (struct sync_run){c, out, {0, NULL}, 0, 0};
		cookie = NULL;
		rc = refresh(&r, NULL, why);
	}
	if (rc == DRV_OK) {
		out->incremental = cookie != NULL;
		/* Nothing changed may come without a cookie: the old one holds. */
		out->cookie = printable(&r.cookie) ? xstrdup(r.cookie.bv_val)
			      : cookie		   ? xstrdup(cookie)
						   : NULL;
	}
	free(r.cookie.bv_val);
	return rc;
}
