/*
 * dirrec - the records a directory driver returns, checked before the
 * directory sync sees them, and the exec driver's record format.
 *
 * Checks (dirrec_account_fix, dirrec_contact_fix): every address is
 * rewritten to its canonical form (addr.h, RFC 5321 input, local part
 * folded when fold_local_part is set) and must hold no white space (aliases
 * are a space-separated list) and start with neither '-' (an option to an
 * exec program) nor '#' (a comment in the files drivers write); an access
 * address, every alias and a contact's address must be in
 * federated_domains, a physical address in NAME_domain. Keys, names and
 * groups must be valid UTF-8 without control bytes (addr_text_ok) and at
 * most DIRREC_KEY_MAX / DIRREC_NAME_MAX bytes; a key is never empty. An
 * alias equal to the access address, or repeated, is dropped silently; an
 * alias outside federated_domains is dropped with a warning (a legacy
 * domain is common in an LDAP tree), the entry kept.
 *
 * dirrec_clean_*: drop every entry that fails, and every entry whose key
 * an earlier one has, each with a warning naming the system and the key
 * (at most DIRREC_WARN_MAX warnings, then one count).
 *
 * The exec format (dirrec_parse_*): UTF-8 lines, fields separated by a
 * TAB; "list" lines are KEY ACCESS PHYSICAL ALIASES NAME [GROUP], aliases
 * space-separated; "contacts" lines are KEY ADDRESS NAME; a line "." ends
 * a complete output. A CR before the LF is taken off. A line that does not
 * parse or fails the checks is skipped with a warning naming its number.
 * Contract: DRV_OK with the records; DRV_TEMP when the final "." is
 * missing (the program was cut short); DRV_FAIL when more than 1 % of the
 * lines before it are bad (a broken program, not a few odd entries), or
 * something follows the "."; WHY says which (DRV_WHY bytes).
 */
#ifndef FEDMIG_SPM_DIRREC_H
#define FEDMIG_SPM_DIRREC_H

#include <stddef.h>

#include "addr.h"
#include "config.h"
#include "dirdrv.h"

#define DIRREC_KEY_MAX 1024
#define DIRREC_NAME_MAX 512
#define DIRREC_LINE_MAX 65536
#define DIRREC_ALIASES_MAX 256
#define DIRREC_WARN_MAX 20

/* dirrec_address: IN (LEN bytes) as a canonical address OUT for SYS;
 * WANT_FED: its domain must be federated, else it must be NAME_domain.
 * NULL when fine, else a static reason. */
const char *dirrec_address(const struct config *cfg, const char *sys, const char *in, size_t len,
			   int want_fed, char out[ADDR_MAX]);

/* dirrec_account_fix / dirrec_contact_fix: check A (C) for SYS and put
 * its addresses in canonical form in place; NULL when it may pass, else
 * the reason (in BUF, DRV_WHY bytes). */
const char *dirrec_account_fix(const struct config *cfg, const char *sys, struct dir_account *a,
			       char *buf);
const char *dirrec_contact_fix(const struct config *cfg, const char *sys, struct dir_contact *c,
			       char *buf);

/* dirrec_clean_listing / dirrec_clean_contacts: keep what passes; return
 * how many entries were dropped. */
size_t dirrec_clean_listing(const struct config *cfg, const char *sys, struct dir_listing *l);
size_t dirrec_clean_contacts(const struct config *cfg, const char *sys, struct dir_contact **c,
			     size_t *n);

/* The exec format: BUF (LEN bytes, may hold NUL bytes) into OUT / *C_R. */
int dirrec_parse_list(const struct config *cfg, const char *sys, const char *buf, size_t len,
		      struct dir_listing *out, char *why);
int dirrec_parse_contacts(const struct config *cfg, const char *sys, const char *buf, size_t len,
			  struct dir_contact **c_r, size_t *n_r, char *why);

/* dir_account_clear / dir_contact_clear: free the strings of one entry. */
void dir_account_clear(struct dir_account *a);
void dir_contact_clear(struct dir_contact *c);

#endif
