/*
 * dirdrv_ldap_contact - the ldap driver's downward contacts: inetOrgPerson
 * entries "mail=ADDRESS" directly under NAME_ldap_contact_base (RDN value
 * escaped per RFC 4514), cn, sn and displayName the name (the address
 * when there is none: both are required), mail the address.
 *
 * Contract (dirdrv_int.h): put searches NAME_ldap_base for the address in
 * the mail and alias attributes (filter escaped per RFC 4515) first, and
 * an entry outside the contact base that has it makes put DIR_EXISTS,
 * nothing written; otherwise it adds the contact, or replaces its names
 * when it exists. del of a contact that does not exist is DRV_OK.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dirdrv_int.h"
#include "dirdrv_ldap.h"
#include "xalloc.h"

static const char *cbase(const struct config *cfg, const char *sys)
{
	return config_sys_str(cfg, sys, "ldap_contact_base");
}

/* first_val: the first value of ATTR in E as a string, "" when none. */
static char *first_val(LDAP *ld, LDAPMessage *e, const char *attr)
{
	struct berval **v = ldap_get_values_len(ld, e, attr);
	char *s = v && v[0] ? xstrndup(v[0]->bv_val, v[0]->bv_len) : xstrdup("");

	ldap_value_free_len(v);
	return s;
}

/* search: every entry of SCOPE below BASE matching FILTER into *RES. */
static int search(const struct dirldap_conn *c, const char *base, int scope, const char *filter,
		  char **attrs, LDAPMessage **res, char *why)
{
	struct timeval tv = c->tv;
	int err = ldap_search_ext_s(c->ld, base, scope, filter, attrs, 0, NULL, NULL, &tv,
				    LDAP_NO_LIMIT, res);

	if (err == LDAP_SUCCESS)
		return DRV_OK;
	ldap_msgfree(*res);
	*res = NULL;
	return dirldap_fail(c->cfg, c->sys, err, "search", why);
}

static void contacts_from(const struct dirldap_conn *c, LDAPMessage *res, struct dir_contact **out,
			  size_t *n)
{
	for (LDAPMessage *e = ldap_first_entry(c->ld, res); e; e = ldap_next_entry(c->ld, e)) {
		char *dn = ldap_get_dn(c->ld, e);
		struct dir_contact ct = {first_val(c->ld, e, "mail"),
					 first_val(c->ld, e, "displayName"), xstrdup(dn ? dn : "")};

		ldap_memfree(dn);
		if (strcmp(ct.name, ct.address) == 0)
			ct.name[0] = '\0'; /* put wrote the address for an empty name */
		if (*n % 256 == 0)
			*out = xrealloc(*out, (*n + 256) * sizeof(**out));
		(*out)[(*n)++] = ct;
	}
}

static int ldap_contacts(const struct config *cfg, const char *sys, struct dir_contact **out,
			 size_t *n_r, char *why)
{
	char *attrs[] = {"mail", "displayName", NULL};
	struct dirldap_conn c;
	LDAPMessage *res = NULL;
	int rc = dirldap_open(cfg, sys, &c, why);

	if (rc == DRV_OK &&
	    (rc = search(&c, cbase(cfg, sys), LDAP_SCOPE_ONELEVEL, "(mail=*)", attrs, &res, why)) ==
		    DRV_OK)
		contacts_from(&c, res, out, n_r);
	ldap_msgfree(res);
	dirldap_close(&c);
	return rc;
}

/* contact_dn: the DN of ADDRESS's contact; caller frees. */
static char *contact_dn(const struct config *cfg, const char *sys, const char *address)
{
	char *v = dirldap_dn_escape(address, strlen(address));
	char *dn = xasprintf("mail=%s,%s", v, cbase(cfg, sys));

	free(v);
	return dn;
}

/* taken: DIR_EXISTS (WHY) when an entry outside the contact base has
 * ADDRESS as its mail or alias, DRV_OK when none, or why the search failed. */
static int taken(const struct dirldap_conn *c, const char *address, char *why)
{
	const char *alias = config_sys_str(c->cfg, c->sys, "ldap_alias_attribute");
	const char *mail = config_sys_str(c->cfg, c->sys, "ldap_mail_attribute");
	char *v = dirldap_filter_escape(address, strlen(address)), *attrs[] = {"1.1", NULL};
	char *filter = *alias ? xasprintf("(|(%s=%s)(%s=%s)(mail=%s))", mail, v, alias, v, v)
			      : xasprintf("(|(%s=%s)(mail=%s))", mail, v, v);
	LDAPMessage *res = NULL;
	int rc = search(c, config_sys_str(c->cfg, c->sys, "ldap_base"), LDAP_SCOPE_SUBTREE, filter,
			attrs, &res, why);

	for (LDAPMessage *e = rc == DRV_OK ? ldap_first_entry(c->ld, res) : NULL; e;
	     e = ldap_next_entry(c->ld, e)) {
		char *dn = ldap_get_dn(c->ld, e);

		if (dn && !dirldap_under(dn, cbase(c->cfg, c->sys))) {
			snprintf(why, DRV_WHY, "%s: the LDAP entry %.300s already has the address %s",
				 c->sys, dn, address);
			rc = DIR_EXISTS;
		}
		ldap_memfree(dn);
		if (rc == DIR_EXISTS)
			break;
	}
	ldap_msgfree(res);
	free(filter);
	free(v);
	return rc;
}

static int write_contact(const struct dirldap_conn *c, const struct dir_contact *ct, char *why)
{
	char *name = (char *)(*ct->name ? ct->name : ct->address), *dn;
	char *oc[] = {"inetOrgPerson", NULL}, *mail[] = {(char *)ct->address, NULL};
	char *nv[] = {name, NULL};
	LDAPMod m[5] = {{LDAP_MOD_REPLACE, "cn", {nv}}, {LDAP_MOD_REPLACE, "sn", {nv}},
			{LDAP_MOD_REPLACE, "displayName", {nv}}, {LDAP_MOD_ADD, "objectClass", {oc}},
			{LDAP_MOD_ADD, "mail", {mail}}};
	LDAPMod *add[] = {&m[3], &m[4], &m[0], &m[1], &m[2], NULL}, *mod[] = {&m[0], &m[1], &m[2], NULL};
	int err;

	dn = contact_dn(c->cfg, c->sys, ct->address);
	err = ldap_add_ext_s(c->ld, dn, add, NULL, NULL);
	if (err == LDAP_ALREADY_EXISTS)
		err = ldap_modify_ext_s(c->ld, dn, mod, NULL, NULL);
	free(dn);
	return err == LDAP_SUCCESS ? DRV_OK
				   : dirldap_fail(c->cfg, c->sys, err, "writing a contact", why);
}

static int ldap_put(const struct config *cfg, const char *sys, const struct dir_contact *ct,
		    char *why)
{
	struct dirldap_conn c;
	int rc = dirldap_open(cfg, sys, &c, why);

	if (rc == DRV_OK && (rc = taken(&c, ct->address, why)) == DRV_OK)
		rc = write_contact(&c, ct, why);
	dirldap_close(&c);
	return rc;
}

static int ldap_del(const struct config *cfg, const char *sys, const char *address, char *why)
{
	struct dirldap_conn c;
	int rc = dirldap_open(cfg, sys, &c, why), err;

	if (rc == DRV_OK) {
		char *dn = contact_dn(cfg, sys, address);

		err = ldap_delete_ext_s(c.ld, dn, NULL, NULL);
		free(dn);
		if (err != LDAP_SUCCESS && err != LDAP_NO_SUCH_OBJECT)
			rc = dirldap_fail(cfg, sys, err, "deleting a contact", why);
	}
	dirldap_close(&c);
	return rc;
}

static int ldap_has_contacts(const struct config *cfg, const char *sys)
{
	return *cbase(cfg, sys) != '\0';
}

const struct dirdrv_ops dirdrv_ldap = {
	.name = "ldap",
	.list = dirldap_list_op,
	.contacts = ldap_contacts,
	.put = ldap_put,
	.del = ldap_del,
	.has_contacts = ldap_has_contacts,
};
