/*
 * store_dir - what the directory sync (spm/dirsync.h) keeps in the store
 * (schema 8): each system's sync bookkeeping in its systems row, the
 * accounts of its last good listing (dir_accounts), the downward contacts
 * fedmig keeps on it (dir_contacts), the addresses two systems claim
 * (dir_conflicts), and the directory writes an upward sync makes (an
 * entry added, changed with its aliases and display name, or removed).
 *
 * Contract: as lib/store.h (STORE_OK, STORE_NOTFOUND, STORE_ERR; writes
 * join the caller's transaction, or are their own). Strings in the
 * structs below are allocated: free them with the matching _free().
 */
#ifndef FEDMIG_STORE_DIR_H
#define FEDMIG_STORE_DIR_H

#include <stddef.h>

#include "store.h"

/* A system's sync bookkeeping. STATUS: "" never synced, "ok", "held"
 * (deletions held back by the shrink guard), "failed" (listing failed). */
struct sys_sync {
	long long last_sync; /* last good (ok) upward sync, 0: never */
	long long accounts;  /* accounts of the last good listing */
	char *cookie;	     /* RFC 4533 cookie, "" when none */
	char status[16];
};
int store_sys_sync_get(struct store *s, const char *sys, struct sys_sync *r);
/* store_sys_sync_set: the row of SYS (made with DOMAIN when missing) gets
 * R's fields; a NULL cookie keeps the stored one. */
int store_sys_sync_set(struct store *s, const char *sys, const char *domain,
		       const struct sys_sync *r);
void store_sys_sync_free(struct sys_sync *r);

/* An account of a system's last good listing; aliases space-separated. */
struct dacc {
	char *key, *access, *physical, *aliases, *name, *grp;
};
/* store_dacc_load: SYS's accounts ordered by key (*V_R caller frees). */
int store_dacc_load(struct store *s, const char *sys, struct dacc **v_r, size_t *n_r);
/* store_dacc_replace: SYS's accounts become V (N of them), seen at NOW. */
int store_dacc_replace(struct store *s, const char *sys, const struct dacc *v, size_t n,
		       long long now);
void store_dacc_free(struct dacc *v, size_t n);
/* For an incremental listing, what costs in proportion to its changes:
 * store_dacc_get: SYS's account KEY (store_dacc_clear it); _count: how
 * many SYS has; _access_key: the keys of SYS's accounts whose access
 * address is ACCESS, space-separated ("" none); _conflicted: SYS's
 * accounts with an address in a conflict naming SYS; _apply: the accounts
 * of keys DEL (M) deleted, PUT (N) added or replaced, seen at NOW. */
int store_dacc_get(struct store *s, const char *sys, const char *key, struct dacc *a);
int store_dacc_count(struct store *s, const char *sys, long long *n_r);
int store_dacc_access_key(struct store *s, const char *sys, const char *access, char **key_r);
int store_dacc_conflicted(struct store *s, const char *sys, struct dacc **v_r, size_t *n_r);
int store_dacc_apply(struct store *s, const char *sys, const struct dacc *put, size_t n,
		     const char *const *del, size_t m, long long now);

/* store_dacc_physical: the account of SYS's last good listing whose
 * mailbox is PHYSICAL, into *A (its strings freed by store_dacc_clear). */
int store_dacc_physical(struct store *s, const char *sys, const char *physical, struct dacc *a);
void store_dacc_clear(struct dacc *a);
/* store_dacc_group: the access addresses of the accounts (any system)
 * whose group is DN or below it (",DN" ends it), space-separated. */
int store_dacc_group(struct store *s, const char *dn, char **list_r);

/* store_dir_put: add or update the entry ACCESS -> SYSTEM/PHYSICAL with
 * its aliases (N) and display NAME. store_dir_remove: ACCESS goes, with
 * its aliases and former physical addresses. store_dir_name: its name. */
int store_dir_put(struct store *s, const char *access, const char *system, const char *physical,
		  const char *const *aliases, size_t n, const char *name, long long now);
int store_dir_remove(struct store *s, const char *access);
int store_dir_name(struct store *s, const char *access, char **name_r);

/* Every entry's access address, owner and name, by access address. */
typedef int (*store_dir_named_fn)(void *ctx, const char *access, const char *system,
				  const char *name);
int store_dir_each_named(struct store *s, store_dir_named_fn fn, void *ctx);

/* Downward contacts fedmig keeps on SYS. STATE: 0 kept, 1 refused
 * (DIR_EXISTS: an entry fedmig did not make has the address; REASON). */
struct dcontact {
	char *address, *key, *name, *reason;
	int state;
};
int store_dcontact_load(struct store *s, const char *sys, struct dcontact **v_r, size_t *n_r);
int store_dcontact_put(struct store *s, const char *sys, const struct dcontact *c,
		       long long now);
int store_dcontact_del(struct store *s, const char *sys, const char *address);
/* store_dcontact_apply: SYS's records PUT (N) written, those of DEL (M
 * addresses) removed, in one transaction (or the caller's). */
int store_dcontact_apply(struct store *s, const char *sys, const struct dcontact *put, size_t n,
			 const char *const *del, size_t m, long long now);
void store_dcontact_free(struct dcontact *v, size_t n);
/* store_dcontact_state: the STATE of SYS's contact for ADDRESS. */
int store_dcontact_state(struct store *s, const char *sys, const char *address, int *state_r);

/* Conflicts: ADDRESS claimed by SYSTEMS (space-separated). clear: every
 * conflict naming SYS goes (a sync of SYS records its own afresh). */
int store_dconflict_put(struct store *s, const char *address, const char *systems,
			const char *detail, long long now);
int store_dconflict_clear(struct store *s, const char *sys);
int store_dconflict_get(struct store *s, const char *address, char **systems_r);

#endif
