/*
 * dirdrv_exec - the "exec" directory driver: NAME_directory_command run
 * with argv "list", "contacts", "contact-put ADDRESS NAME" or
 * "contact-del ADDRESS" (execve, no shell, FEDMIG_SYSTEM=NAME, killed
 * after NAME_driver_timeout), as drv_exec.c runs the provisioning
 * program: exit 0 done, 75 temporary, anything else permanent.
 *
 * Contract (dirdrv_int.h): list and contacts read the program's stdout in
 * the format of dirrec.h (a final "." line, else DRV_TEMP); a NUL byte in
 * it ends what is read there, so such output reads as cut short. The
 * address given is canonical with no leading '-' (dirdrv.c); the name
 * has no control byte but may start with '-': the arguments are
 * positional, never options.
 */
#include <stdlib.h>
#include <string.h>

#include "dirdrv_int.h"
#include "dirrec.h"
#include "drv.h"

#define KEY "directory_command"

static int exec_list(const struct config *cfg, const char *sys, const char *cookie,
		     struct dir_listing *out, char *why)
{
	const char *args[] = {"list"};
	char *buf = NULL;
	int rc = drv_exec_call(cfg, sys, KEY, args, 1, &buf, why);

	if (rc == DRV_OK)
		rc = dirrec_parse_list(cfg, sys, buf, strlen(buf), out, why);
	free(buf);
	return rc;
}

static int exec_contacts(const struct config *cfg, const char *sys, struct dir_contact **out,
			 size_t *n_r, char *why)
{
	const char *args[] = {"contacts"};
	char *buf = NULL;
	int rc = drv_exec_call(cfg, sys, KEY, args, 1, &buf, why);

	if (rc == DRV_OK)
		rc = dirrec_parse_contacts(cfg, sys, buf, strlen(buf), out, n_r, why);
	free(buf);
	return rc;
}

static int exec_put(const struct config *cfg, const char *sys, const struct dir_contact *c,
		    char *why)
{
	const char *args[] = {"contact-put", c->address, c->name};

	return drv_exec_call(cfg, sys, KEY, args, 3, NULL, why);
}

static int exec_del(const struct config *cfg, const char *sys, const char *address, char *why)
{
	const char *args[] = {"contact-del", address};

	return drv_exec_call(cfg, sys, KEY, args, 2, NULL, why);
}

static int exec_has_contacts(const struct config *cfg, const char *sys)
{
	return 1;
}

const struct dirdrv_ops dirdrv_exec = {
	.name = "exec",
	.list = exec_list,
	.contacts = exec_contacts,
	.put = exec_put,
	.del = exec_del,
	.has_contacts = exec_has_contacts,
};
