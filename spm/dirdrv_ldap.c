/*
 * dirdrv_ldap - the "ldap" directory driver (libldap, synchronous API):
 * the connection (ldap:// with StartTLS as NAME_ldap_starttls says, or
 * ldaps://, the certificate always verified; a simple bind as
 * NAME_ldap_bind_dn with ldap_password from NAME_credentials, or
 * anonymous), the full listing as a paged search (RFC 2696, pages of
 * 1000), the choice of syncrepl (dirdrv_ldap_sync.c) and the contacts.
 *
 * Contract (dirdrv_int.h): one connection per call, closed before it
 * returns; every operation bounded by NAME_ldap_timeout. A search that
 * ends other than with success (a size limit, a cut connection) is
 * DRV_TEMP. Entries under NAME_ldap_contact_base are never accounts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dirdrv_int.h"
#include "dirdrv_ldap.h"
#include "log.h"
#include "secrets.h"
#include "xalloc.h"

#define PAGE_SIZE 1000

int dirldap_rc(int err)
{
	switch (err) {
	case LDAP_SERVER_DOWN:
	case LDAP_TIMEOUT:
	case LDAP_CONNECT_ERROR:
	case LDAP_BUSY:
	case LDAP_UNAVAILABLE:
	case LDAP_TIMELIMIT_EXCEEDED:
	case LDAP_SIZELIMIT_EXCEEDED:
	case LDAP_ADMINLIMIT_EXCEEDED:
	case LDAP_OTHER:
	case LDAP_LOCAL_ERROR:
	case LDAP_NO_MEMORY:
		return DRV_TEMP;
	default:
		return DRV_FAIL;
	}
}

/* dirldap_fail: WHY = "SYS: WHAT: libldap's message", the DRV_ code of ERR. */
int dirldap_fail(const struct config *cfg, const char *sys, int err, const char *what, char *why)
{
	snprintf(why, DRV_WHY, "%s: LDAP %s at %s: %s", sys, what,
		 config_sys_str(cfg, sys, "ldap_uri"), ldap_err2string(err));
	return dirldap_rc(err);
}

/* password: ldap_password from NAME_credentials in *PW_R (wipe it). */
static int password(const struct config *cfg, const char *sys, char **pw_r, char *why)
{
	const char *path = config_sys_str(cfg, sys, "credentials");
	char *buf = NULL, *err = NULL;
	size_t len = 0;
	int rc;

	if (*path == '\0') {
		snprintf(why, DRV_WHY, "%s_ldap_bind_dn is set but %s_credentials (a 0600 file "
			 "with ldap_password = ...) is not", sys, sys);
		return DRV_FAIL;
	}
	if (secrets_read(path, &buf, &len, &err) < 0 ||
	    (rc = secrets_value(buf, len, path, "ldap_password", pw_r, &err)) < 0) {
		snprintf(why, DRV_WHY, "%s: %s", sys, err ? err : "cannot read the credentials");
		free(err);
		secrets_free(buf, len);
		return DRV_FAIL;
	}
	secrets_free(buf, len);
	if (rc == 1) {
		snprintf(why, DRV_WHY, "%s: %s has no ldap_password line", sys, path);
		return DRV_FAIL;
	}
	return DRV_OK;
}

static int set_options(struct dirldap_conn *c, char *why)
{
	int v3 = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, zero = 0, err;
	const char *ca = config_sys_str(c->cfg, c->sys, "ldap_tls_ca_file");

	if ((err = ldap_set_option(c->ld, LDAP_OPT_PROTOCOL_VERSION, &v3)) != LDAP_OPT_SUCCESS ||
	    (err = ldap_set_option(c->ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF)) != LDAP_OPT_SUCCESS ||
	    (err = ldap_set_option(c->ld, LDAP_OPT_NETWORK_TIMEOUT, &c->tv)) != LDAP_OPT_SUCCESS ||
	    (err = ldap_set_option(c->ld, LDAP_OPT_TIMEOUT, &c->tv)) != LDAP_OPT_SUCCESS ||
	    (err = ldap_set_option(c->ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand)) !=
		    LDAP_OPT_SUCCESS ||
	    (*ca && (err = ldap_set_option(c->ld, LDAP_OPT_X_TLS_CACERTFILE, ca)) !=
			    LDAP_OPT_SUCCESS) ||
	    (err = ldap_set_option(c->ld, LDAP_OPT_X_TLS_NEWCTX, &zero)) != LDAP_OPT_SUCCESS)
		return dirldap_fail(c->cfg, c->sys, err, "options", why);
	return DRV_OK;
}

/* starttls: as NAME_ldap_starttls says, on an ldap:// URI. */
static int starttls(struct dirldap_conn *c, const char *uri, char *why)
{
	const char *mode = config_sys_str(c->cfg, c->sys, "ldap_starttls");
	int err;

	if (strncmp(uri, "ldaps://", 8) == 0 || strcmp(mode, "no") == 0)
		return DRV_OK;
	err = ldap_start_tls_s(c->ld, NULL, NULL);
	if (err == LDAP_SUCCESS)
		return DRV_OK;
	if (strcmp(mode, "may") == 0 && dirldap_rc(err) == DRV_FAIL && err != LDAP_CONNECT_ERROR)
		return DRV_OK; /* not offered: go on in clear, as "may" says */
	return dirldap_fail(c->cfg, c->sys, err, "StartTLS", why);
}

/* attr_ok: NAME is an attribute description (RFC 4512: a letter then
 * letters, digits and '-', or a numeric OID), or "", so it can go into a
 * filter as it stands. */
static int attr_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0)
		return 1;
	if (name[0] >= '0' && name[0] <= '9')
		return strspn(name, "0123456789.") == n;
	return ((name[0] | 0x20) >= 'a' && (name[0] | 0x20) <= 'z') &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") == n;
}

static int attrs_ok(const struct config *cfg, const char *sys, char *why)
{
	const char *keys[] = {"ldap_mail_attribute", "ldap_alias_attribute",
			      "ldap_mailbox_attribute", "ldap_name_attribute"};

	for (size_t i = 0; i < 4; i++)
		if (!attr_ok(config_sys_str(cfg, sys, keys[i]))) {
			snprintf(why, DRV_WHY, "%s_%s is not an LDAP attribute name", sys, keys[i]);
			return 0;
		}
	if (*config_sys_str(cfg, sys, "ldap_mail_attribute") == '\0') {
		snprintf(why, DRV_WHY, "%s_ldap_mail_attribute is empty", sys);
		return 0;
	}
	return 1;
}

int dirldap_open(const struct config *cfg, const char *sys, struct dirldap_conn *c, char *why)
{
	const char *uri = config_sys_str(cfg, sys, "ldap_uri");
	const char *dn = config_sys_str(cfg, sys, "ldap_bind_dn");
	long long ms = config_sys_time_ms(cfg, sys, "ldap_timeout");
	struct berval cred = {0, NULL};
	char *pw = NULL;
	int rc, err;

	*c = (struct dirldap_conn){NULL, cfg, sys, {ms / 1000, (ms % 1000) * 1000}};
	if (strncmp(uri, "ldap://", 7) != 0 && strncmp(uri, "ldaps://", 8) != 0) {
		snprintf(why, DRV_WHY, "%s_ldap_uri must be ldap://HOST:PORT or ldaps://HOST:PORT",
			 sys);
		return DRV_FAIL;
	}
	if (*config_sys_str(cfg, sys, "ldap_base") == '\0') {
		snprintf(why, DRV_WHY, "%s_directory = ldap needs %s_ldap_base", sys, sys);
		return DRV_FAIL;
	}
	if (!attrs_ok(cfg, sys, why))
		return DRV_FAIL;
	if (*dn && (rc = password(cfg, sys, &pw, why)) != DRV_OK)
		return rc;
	if ((err = ldap_initialize(&c->ld, uri)) != LDAP_SUCCESS) {
		secrets_wipe(&pw);
		return dirldap_fail(cfg, sys, err, "URI", why);
	}
	if ((rc = set_options(c, why)) == DRV_OK && (rc = starttls(c, uri, why)) == DRV_OK) {
		cred.bv_val = pw;
		cred.bv_len = pw ? strlen(pw) : 0;
		err = ldap_sasl_bind_s(c->ld, *dn ? dn : NULL, LDAP_SASL_SIMPLE, &cred, NULL, NULL,
				       NULL);
		if (err != LDAP_SUCCESS)
			rc = dirldap_fail(cfg, sys, err, *dn ? "bind" : "anonymous bind", why);
	}
	secrets_wipe(&pw);
	if (rc != DRV_OK) {
		ldap_unbind_ext_s(c->ld, NULL, NULL);
		c->ld = NULL;
	}
	return rc;
}

void dirldap_close(struct dirldap_conn *c)
{
	if (c->ld)
		ldap_unbind_ext_s(c->ld, NULL, NULL);
	c->ld = NULL;
}

char **dirldap_attrs(const struct config *cfg, const char *sys, char **v)
{
	const char *keys[] = {"ldap_mail_attribute", "ldap_alias_attribute",
			      "ldap_mailbox_attribute", "ldap_name_attribute"};
	size_t n = 0;

	v[n++] = "entryUUID";
	v[n++] = "cn";
	for (size_t i = 0; i < 4; i++)
		if (*config_sys_str(cfg, sys, keys[i]))
			v[n++] = (char *)config_sys_str(cfg, sys, keys[i]);
	v[n] = NULL;
	return v;
}

/* vals: the values of ATTR (may be "") in MSG, as dirldap_vals over BV. */
static struct dirldap_vals vals(LDAP *ld, LDAPMessage *msg, const char *attr,
				struct berval ***bv)
{
	struct dirldap_vals vs = {NULL, 0};
	struct dirldap_val *v;

	*bv = *attr ? ldap_get_values_len(ld, msg, attr) : NULL;
	vs.n = *bv ? (size_t)ldap_count_values_len(*bv) : 0;
	v = xcalloc(vs.n + 1, sizeof(*v));
	for (size_t i = 0; i < vs.n; i++)
		v[i] = (struct dirldap_val){(*bv)[i]->bv_val, (*bv)[i]->bv_len};
	vs.v = v;
	return vs;
}

int dirldap_account(const struct dirldap_conn *c, LDAPMessage *msg, const char *uuid,
		    struct dir_account *out)
{
	const char *keys[] = {"ldap_mail_attribute", "ldap_alias_attribute",
			      "ldap_mailbox_attribute", "ldap_name_attribute"};
	struct dirldap_vals *slot[5];
	struct berval **bv[6];
	struct dirldap_entry e;
	const char *why = NULL;
	const char *cbase = config_sys_str(c->cfg, c->sys, "ldap_contact_base");
	char *dn = ldap_get_dn(c->ld, msg);
	int rc = 1;

	if (dn == NULL || (*cbase && dirldap_under(dn, cbase))) {
		ldap_memfree(dn);
		return 1;
	}
	memset(&e, 0, sizeof(e));
	slot[0] = &e.mail, slot[1] = &e.alias, slot[2] = &e.mailbox, slot[3] = &e.name;
	slot[4] = &e.cn;
	for (size_t i = 0; i < 5; i++)
		*slot[i] = vals(c->ld, msg, i < 4 ? config_sys_str(c->cfg, c->sys, keys[i]) : "cn",
				&bv[i]);
	struct dirldap_vals u = vals(c->ld, msg, uuid ? "" : "entryUUID", &bv[5]);

	e.dn = (struct dirldap_val){dn, strlen(dn)};
	e.uuid = uuid ? (struct dirldap_val){uuid, strlen(uuid)}
		      : u.n ? u.v[0] : (struct dirldap_val){"", 0};
	rc = dirldap_map(&e, out, &why) == 0 ? 0 : -1;
	if (rc < 0)
		log_warn("directory %s: LDAP entry %.300s skipped: %s", c->sys, dn, why);
	for (size_t i = 0; i < 6; i++) {
		ldap_value_free_len(bv[i]);
		free((void *)(i < 5 ? slot[i]->v : u.v));
	}
	ldap_memfree(dn);
	return rc;
}

void dirldap_push(struct dir_listing *l, const struct dir_account *a)
{
	if (l->nacc % 1024 == 0)
		l->acc = xrealloc(l->acc, (l->nacc + 1024) * sizeof(*l->acc));
	l->acc[l->nacc++] = *a;
}

/* page: one page of the paged search from COOKIE (updated) into OUT. */
static int page(const struct dirldap_conn *c, struct berval *cookie, struct dir_listing *out,
		char *why)
{
	char *attrv[8], **attrs = dirldap_attrs(c->cfg, c->sys, attrv);
	LDAPControl *ctrl = NULL, *ctrls[2] = {NULL, NULL}, **rctrls = NULL;
	LDAPMessage *res = NULL;
	int err, msgid, rc = DRV_TEMP, code = LDAP_OTHER;
	struct timeval tv = c->tv;

	if ((err = ldap_create_page_control(c->ld, PAGE_SIZE, cookie, 1, &ctrl)) != LDAP_SUCCESS)
		return dirldap_fail(c->cfg, c->sys, err, "paged results control", why);
	ctrls[0] = ctrl;
	err = ldap_search_ext(c->ld, config_sys_str(c->cfg, c->sys, "ldap_base"), LDAP_SCOPE_SUBTREE,
			      config_sys_str(c->cfg, c->sys, "ldap_filter"), attrs, 0, ctrls, NULL,
			      &tv, LDAP_NO_LIMIT, &msgid);
	ldap_control_free(ctrl);
	if (err != LDAP_SUCCESS)
		return dirldap_fail(c->cfg, c->sys, err, "search", why);
	for (;;) {
		struct dir_account a;
		int t = ldap_result(c->ld, msgid, LDAP_MSG_ONE, &tv, &res);

		if (t <= 0) {
			ldap_get_option(c->ld, LDAP_OPT_RESULT_CODE, &err);
			return dirldap_fail(c->cfg, c->sys, t == 0 ? LDAP_TIMEOUT : err, "search", why);
		}
		if (t == LDAP_RES_SEARCH_ENTRY && dirldap_account(c, res, NULL, &a) == 0)
			dirldap_push(out, &a);
		if (t == LDAP_RES_SEARCH_RESULT)
			break;
		ldap_msgfree(res);
	}
	err = ldap_parse_result(c->ld, res, &code, NULL, NULL, NULL, &rctrls, 1);
	if (err != LDAP_SUCCESS || code != LDAP_SUCCESS) {
		dirldap_fail(c->cfg, c->sys, err != LDAP_SUCCESS ? err : code, "search (listing incomplete)",
		     why);
		rc = DRV_TEMP; /* never a short listing: the guards rely on it */
	} else {
		LDAPControl *pc = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, rctrls, NULL);
		ber_int_t count;

		ber_memfree(cookie->bv_val);
		cookie->bv_val = NULL;
		cookie->bv_len = 0;
		rc = DRV_OK;
		if (pc && ldap_parse_pageresponse_control(c->ld, pc, &count, cookie) != LDAP_SUCCESS)
			rc = dirldap_fail(c->cfg, c->sys, LDAP_OTHER, "paged results response", why);
	}
	ldap_controls_free(rctrls);
	return rc;
}

static int full_list(const struct dirldap_conn *c, struct dir_listing *out, char *why)
{
	struct berval cookie = {0, NULL};
	int rc;

	do
		rc = page(c, &cookie, out, why);
	while (rc == DRV_OK && cookie.bv_len > 0);
	ber_memfree(cookie.bv_val);
	return rc;
}

/* offers_sync: 1 if the root DSE lists the syncrepl control. */
static int offers_sync(const struct dirldap_conn *c)
{
	char *attrs[] = {"supportedControl", NULL};
	LDAPMessage *res = NULL, *e;
	struct berval **v = NULL;
	struct timeval tv = c->tv;
	int yes = 0;

	if (ldap_search_ext_s(c->ld, "", LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, NULL, NULL,
			      &tv, 1, &res) == LDAP_SUCCESS &&
	    (e = ldap_first_entry(c->ld, res)) != NULL &&
	    (v = ldap_get_values_len(c->ld, e, "supportedControl")) != NULL)
		for (size_t i = 0; v[i]; i++)
			yes |= v[i]->bv_len == strlen(LDAP_CONTROL_SYNC) &&
			       memcmp(v[i]->bv_val, LDAP_CONTROL_SYNC, v[i]->bv_len) == 0;
	ldap_value_free_len(v);
	ldap_msgfree(res);
	return yes;
}

int dirldap_list_op(const struct config *cfg, const char *sys, const char *cookie,
		     struct dir_listing *out, char *why)
{
	const char *mode = config_sys_str(cfg, sys, "ldap_sync");
	struct dirldap_conn c;
	int rc = dirldap_open(cfg, sys, &c, why);

	if (rc != DRV_OK)
		return rc;
	if (strcmp(mode, "syncrepl") == 0 || (strcmp(mode, "auto") == 0 && offers_sync(&c)))
		rc = dirldap_sync_list(&c, cookie, out, why);
	else
		rc = full_list(&c, out, why);
	dirldap_close(&c);
	if (rc != DRV_OK)
		dir_listing_free(out);
	return rc;
}
