/*
 * dirdrv_ldap - the parts of the ldap directory driver that need no
 * server (dirdrv_ldap_map.c), apart so that tests and fuzz targets reach
 * them: an entry's attribute values into a dir_account, and the RFC 4514
 * (DN) and RFC 4515 (filter) escaping of a value.
 *
 * Contract: values are (pointer, length) as libldap's berval hands them,
 * any bytes; dirldap_map() takes the first value of the mail attribute as
 * the access address, its other values and every alias-attribute value as
 * aliases, the first mailbox value as the physical address, the first
 * name value (else the first cn) as the name, the DN's parent as the
 * group; a value holding a NUL byte, a space in an address, or no key
 * makes the entry invalid (-1, *WHY_R static). What the map returns is
 * still checked by dirrec.h. The escapers write a NUL-terminated string
 * the caller frees; every byte of the value survives (NUL as \00).
 */
#ifndef FEDMIG_SPM_DIRDRV_LDAP_H
#define FEDMIG_SPM_DIRDRV_LDAP_H

#include <stddef.h>

#include "dirdrv.h"

struct dirldap_val {
	const char *p;
	size_t len;
};

struct dirldap_vals {
	const struct dirldap_val *v;
	size_t n;
};

struct dirldap_entry {
	struct dirldap_val dn, uuid;
	struct dirldap_vals mail, alias, mailbox, name, cn;
};

int dirldap_map(const struct dirldap_entry *e, struct dir_account *out, const char **why_r);

/* dirldap_parent: the DN of DN's parent (after its first unescaped ','),
 * "" for a DN of one RDN; caller frees. */
char *dirldap_parent(const char *dn, size_t len);

/* dirldap_under: 1 if DN is BASE or below it (RDN by RDN, ASCII case
 * folded, blanks after commas ignored). */
int dirldap_under(const char *dn, const char *base);

char *dirldap_dn_escape(const char *v, size_t len);
char *dirldap_filter_escape(const char *v, size_t len);

/* dirldap_uuid_text: the 16 bytes of a syncUUID as an entryUUID string
 * (8-4-4-4-12 lower-case hex) in OUT (37 bytes). */
void dirldap_uuid_text(const unsigned char *raw, char out[37]);

/* --- the libldap side (dirdrv_ldap.c, dirdrv_ldap_sync.c) --- */

#include <ldap.h>
#include <sys/time.h>

#include "config.h"

/* One connection, bound, for one driver call. */
struct dirldap_conn {
	LDAP *ld;
	const struct config *cfg;
	const char *sys;
	struct timeval tv; /* NAME_ldap_timeout */
};

/* dirldap_open: C connected and bound for SYS; DRV_OK or why not.
 * dirldap_close: unbind. dirldap_fail: WHY = "SYS: LDAP WHAT at URI:
 * libldap's message", and the DRV_ code of ERR. */
int dirldap_open(const struct config *cfg, const char *sys, struct dirldap_conn *c, char *why);
void dirldap_close(struct dirldap_conn *c);
int dirldap_fail(const struct config *cfg, const char *sys, int err, const char *what, char *why);
/* dirldap_rc: DRV_TEMP for a libldap result that may pass (server down,
 * busy, a limit hit), DRV_FAIL for the rest. */
int dirldap_rc(int err);
/* dirldap_account: the entry MSG as an account into OUT, UUID (when not
 * NULL) its key instead of its entryUUID; 0, 1 when it is not an account
 * (under the contact base: nothing to free), -1 when invalid (warned). */
int dirldap_account(const struct dirldap_conn *c, LDAPMessage *msg, const char *uuid,
		    struct dir_account *out);
/* dirldap_push: append A (taken) to L. */
void dirldap_push(struct dir_listing *l, const struct dir_account *a);
/* dirldap_attrs: the attributes to request, NULL-terminated, in V (8). */
char **dirldap_attrs(const struct config *cfg, const char *sys, char **v);
/* dirldap_list_op: the driver's list (dirdrv_int.h). */
int dirldap_list_op(const struct config *cfg, const char *sys, const char *cookie,
		    struct dir_listing *out, char *why);
/* dirldap_sync_list: the RFC 4533 refreshOnly listing from COOKIE (NULL:
 * all); an answer that needs a full one (cookie too old, present phase)
 * is a full one. */
int dirldap_sync_list(const struct dirldap_conn *c, const char *cookie, struct dir_listing *out,
		      char *why);

#endif
