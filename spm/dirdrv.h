/*
 * dirdrv - the directory drivers: what each system's own directory (LDAP,
 * a passwd-file, a site script) holds, for the directory sync
 * (spm/dirsync.h), and the downward contacts fedmig keeps there.
 * Dispatched on NAME_directory. The interface is fixed by the directory
 * sync spec (issue 16); D1 implements it.
 */
#ifndef FEDMIG_SPM_DIRDRV_H
#define FEDMIG_SPM_DIRDRV_H

#include <stddef.h>

#include "config.h"
#include "driver.h"

/* What a system's own directory holds, as the sync sees it. Strings are UTF-8, addresses
 * canonical (lib/addr.h), never NULL ("" when absent). */
struct dir_account {
	char *key;	 /* stable identity there: entryUUID (ldap), user name (passwd-file), field 1 (exec) */
	char *access;	 /* the public address (in federated_domains), "" when the entry has none */
	char *physical;	 /* the mailbox address (in NAME_domain); "" = derive local part @ NAME_domain */
	char *aliases;	 /* more public addresses, space-separated, "" when none */
	char *name;	 /* display name */
	char *group;	 /* its container for group batches: the parent DN (ldap), "" otherwise */
};
struct dir_contact {	/* a downward entry fedmig keeps on a system for someone living elsewhere */
	char *address;	 /* the public address it stands for */
	char *name;
	char *key;	 /* its identity there (DN, line key) */
};
struct dir_listing {
	struct dir_account *acc;  size_t nacc;
	char **gone;		  size_t ngone;	/* incremental: keys deleted since the cookie */
	int incremental;	  /* 1: acc/gone are changes since COOKIE; 0: the whole listing */
	char *cookie;		  /* new cookie to store (RFC 4533), NULL when none */
};
/* Each returns DRV_OK, DRV_TEMP (retry later: server down, timeout, listing cut short) or
 * DRV_FAIL (permanent: bad config, refused), with the reason in WHY (DRV_WHY bytes, spm/driver.h).
 * A listing that is not complete (a size limit hit, a connection cut mid-search, a search
 * result other than success) is DRV_TEMP, never a short DRV_OK: the guards rely on it. */
int dirdrv_list(const struct config *cfg, const char *sys, const char *cookie,
		struct dir_listing *out, char *why);
int dirdrv_contacts(const struct config *cfg, const char *sys, struct dir_contact **out,
		    size_t *n_r, char *why);
/* contact_put: add or update (by address) the contact; DIR_EXISTS (3) when an entry that is
 * not one of fedmig's contacts already has that address (a hand-made contact, an account):
 * nothing written, the reason names it. */
#define DIR_EXISTS 3
int dirdrv_contact_put(const struct config *cfg, const char *sys, const struct dir_contact *c,
		       char *why);
int dirdrv_contact_del(const struct config *cfg, const char *sys, const char *address, char *why);
int dirdrv_has_contacts(const struct config *cfg, const char *sys); /* driver does downward */
void dir_listing_free(struct dir_listing *l);
void dir_contacts_free(struct dir_contact *c, size_t n);

#endif
