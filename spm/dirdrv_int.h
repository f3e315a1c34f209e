/*
 * dirdrv_int - what a directory driver is to dirdrv.c: one table of
 * functions per driver (dirdrv_ldap.c, dirdrv_file.c, dirdrv_exec.c),
 * found by NAME_directory.
 *
 * dirdrv.c does what every driver shares: it checks the system, the
 * address and name a contact function is given (canonical, federated, no
 * control byte), and cleans what list and contacts return (dirrec.h)
 * before its caller sees it. A driver fills its results with malloc'ed
 * strings, never NULL; on anything but DRV_OK it leaves nothing allocated.
 * contacts, put and del are NULL for a driver without downward entries.
 */
#ifndef FEDMIG_SPM_DIRDRV_INT_H
#define FEDMIG_SPM_DIRDRV_INT_H

#include "dirdrv.h"

struct dirdrv_ops {
	const char *name;
	int (*list)(const struct config *cfg, const char *sys, const char *cookie,
		    struct dir_listing *out, char *why);
	int (*contacts)(const struct config *cfg, const char *sys, struct dir_contact **out,
			size_t *n_r, char *why);
	int (*put)(const struct config *cfg, const char *sys, const struct dir_contact *c,
		   char *why);
	int (*del)(const struct config *cfg, const char *sys, const char *address, char *why);
	/* 1 when this system is configured for contacts (ldap: a contact base) */
	int (*has_contacts)(const struct config *cfg, const char *sys);
};

extern const struct dirdrv_ops dirdrv_ldap, dirdrv_file, dirdrv_exec;

#endif
