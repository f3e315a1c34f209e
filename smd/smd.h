/*
 * smd - fedmig-smd's pieces above the copy engine: the settings of one
 * copy taken from the configuration, and the master that runs the queue.
 *
 * smd_side_init() fills a copy_side for SYSTEM and LOGIN from NAME_imap,
 * NAME_imap_starttls, NAME_imap_auth with NAME_credentials (master user)
 * or NAME_user_passwords (each user's own), files that must not be
 * readable by group or others, tls_ca_file, tls_verify and smd_io_timeout; it
 * returns 0, or -1 with *err_r (caller frees). The password is kept in
 * memory owned by the side; smd_side_free() wipes it.
 */
#ifndef FEDMIG_SMD_H
#define FEDMIG_SMD_H

#include "config.h"
#include "copy.h"

int smd_side_init(const struct config *cfg, const char *system, const char *login,
		  struct copy_side *side, char **err_r);
void smd_side_free(struct copy_side *side);
/* smd_read_credentials: MASTER_USER and MASTER_PASSWORD of PATH (caller frees). */
int smd_read_credentials(const char *path, char **user_r, char **password_r, char **err_r);
/* smd_read_user_password: LOGIN's own password from PATH (LOGIN PASSWORD lines). */
int smd_read_user_password(const char *path, const char *login, char **password_r, char **err_r);
/* smd_mailbox_key: the journal key "SRC:LOGIN>DST:LOGIN" (caller frees). */
char *smd_mailbox_key(const char *src_system, const char *src_login, const char *dst_system,
		      const char *dst_login);
/* smd_copy_opts: the copy options common to every child. */
void smd_copy_opts(const struct config *cfg, struct copy_opts *o);

/*
 * smd_master: claim due jobs and run each in a child, at most
 * smd_max_children at once; ONCE: return when nothing is due and every
 * child has finished. Returns the exit status.
 */
int smd_master(const struct config *cfg, int once);

#endif
