/*
 * driver - provisioning of the mail systems: the verbs the pilot needs on
 * a source or target system, dispatched on NAME_driver:
 *
 *   create PHYSICAL ACCESS        make the mailbox PHYSICAL (E2)
 *   form PHYSICAL ACCESS ALIAS... give it its access address and aliases,
 *                                 announced upward from now on (E4)
 *   redirect FROM TO              mail delivered to FROM goes to TO (E2, E9)
 *   unredirect FROM               remove that redirect (E4, rollback)
 *   unform PHYSICAL               stop announcing the addresses form gave
 *                                 PHYSICAL (cancel, rollback)
 *   addresses                     the access addresses the system announces
 *   delete PHYSICAL               delete the mailbox (E41)
 *
 * Drivers: "dovecot" (files: the passwd-file userdb, a PASSWD.addresses
 * file of announced addresses, sieve redirects when NAME_sieve_directory
 * is set), "exec" (NAME_driver_command VERB ARGS..., execve, no shell;
 * exit 0 done, 75 temporary failure, anything else permanent; killed after
 * NAME_driver_timeout, which counts as temporary) and "none" (does
 * nothing, announces nothing); each is a table of verbs (drv.h,
 * spm/drv_NAME.c).
 *
 * Every verb is idempotent: doing it twice is doing it once.
 *
 * Addresses reach each sink only in a form it cannot misread, else the
 * verb fails permanently (DRV_FAIL) with the address shown escaped in WHY
 * and nothing written: dovecot wants a canonical address with a dot-atom
 * local part (no quoted "a b"@x: no ':', white space, control byte, and
 * no leading '#', which its files read as a comment); exec wants no
 * control byte (a script may write lines) and no leading '-' (an option
 * to the script). An address that is not canonical (addr.h) is refused
 * by both.
 * Contract: each returns DRV_OK, DRV_TEMP (retry later) or DRV_FAIL
 * (permanent), with the reason in WHY (DRV_WHY bytes) on failure.
 * driver_addresses() sets *LIST_R to the addresses, one per line,
 * canonical form (caller frees).
 */
#ifndef FEDMIG_SPM_DRIVER_H
#define FEDMIG_SPM_DRIVER_H

#include <stddef.h>

#include "config.h"

#define DRV_OK 0
#define DRV_TEMP 1
#define DRV_FAIL 2
#define DRV_WHY 512

int driver_create(const struct config *cfg, const char *sys, const char *physical,
		  const char *access, char *why);
int driver_form(const struct config *cfg, const char *sys, const char *physical,
		const char *access, const char *const *aliases, size_t naliases, char *why);
int driver_redirect(const struct config *cfg, const char *sys, const char *from, const char *to,
		    char *why);
int driver_unredirect(const struct config *cfg, const char *sys, const char *from, char *why);
int driver_unform(const struct config *cfg, const char *sys, const char *physical, char *why);
int driver_addresses(const struct config *cfg, const char *sys, char **list_r, char *why);
int driver_delete(const struct config *cfg, const char *sys, const char *physical, char *why);

/* driver_is_local: 1 if SYS's verbs are quick local file operations
 * (dovecot, none), 0 when they run a site program (exec) that may take
 * up to its timeout. */
int driver_is_local(const struct config *cfg, const char *sys);

/* driver_list_has: 1 if ADDR is a line of LIST (as driver_addresses). */
int driver_list_has(const char *list, const char *addr);

#endif
