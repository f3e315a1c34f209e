/*
 * dirdrv - the public functions of dirdrv.h over the drivers' tables
 * (dirdrv_int.h): find SYS's driver, check what goes in, clean what comes
 * out (dirrec.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "dirdrv_int.h"
#include "dirrec.h"
#include "log.h"

static const struct dirdrv_ops *const drivers[] = {&dirdrv_ldap, &dirdrv_file, &dirdrv_exec};

/* ops_of: SYS's driver, or NULL (WHY set) for an unknown system or one
 * whose NAME_directory is none. */
static const struct dirdrv_ops *ops_of(const struct config *cfg, const char *sys, char *why)
{
	const char *name;

	if (!config_has_system(cfg, sys)) {
		snprintf(why, DRV_WHY, "unknown system %s", sys);
		return NULL;
	}
	name = config_sys_str(cfg, sys, "directory");
	for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++)
		if (strcmp(drivers[i]->name, name) == 0)
			return drivers[i];
	snprintf(why, DRV_WHY, "%s_directory is %s: the system has no directory driver", sys, name);
	return NULL;
}

int dirdrv_list(const struct config *cfg, const char *sys, const char *cookie,
		struct dir_listing *out, char *why)
{
	const struct dirdrv_ops *ops = ops_of(cfg, sys, why);
	int rc;

	memset(out, 0, sizeof(*out));
	if (ops == NULL)
		return DRV_FAIL;
	rc = ops->list(cfg, sys, cookie && *cookie ? cookie : NULL, out, why);
	if (rc == DRV_OK)
		dirrec_clean_listing(cfg, sys, out);
	return rc;
}

/* downward: SYS's driver when it keeps contacts, else NULL (WHY set). */
static const struct dirdrv_ops *downward(const struct config *cfg, const char *sys, char *why)
{
	const struct dirdrv_ops *ops = ops_of(cfg, sys, why);

	if (ops != NULL && (ops->contacts == NULL || !ops->has_contacts(cfg, sys))) {
		snprintf(why, DRV_WHY, "%s: the %s directory driver keeps no contacts here%s", sys,
			 ops->name, ops->contacts ? " (set its contact base)" : "");
		return NULL;
	}
	return ops;
}

int dirdrv_has_contacts(const struct config *cfg, const char *sys)
{
	char why[DRV_WHY];

	return downward(cfg, sys, why) != NULL;
}

int dirdrv_contacts(const struct config *cfg, const char *sys, struct dir_contact **out,
		    size_t *n_r, char *why)
{
	const struct dirdrv_ops *ops = downward(cfg, sys, why);
	int rc;

	*out = NULL;
	*n_r = 0;
	if (ops == NULL)
		return DRV_FAIL;
	rc = ops->contacts(cfg, sys, out, n_r, why);
	if (rc == DRV_OK)
		dirrec_clean_contacts(cfg, sys, out, n_r);
	return rc;
}

/* address_ok: ADDR is a canonical federated address the driver may take. */
static int address_ok(const struct config *cfg, const char *sys, const char *addr, char *why)
{
	char canon[ADDR_MAX], shown[ADDR_SHOW_MAX];
	const char *reason = dirrec_address(cfg, sys, addr, strlen(addr), 1, canon);

	if (reason == NULL && strcmp(canon, addr) != 0)
		reason = "not in canonical form";
	if (reason == NULL)
		return 1;
	snprintf(why, DRV_WHY, "%s: refusing contact address \"%s\": %s", sys,
		 addr_show(addr, strlen(addr), shown, sizeof(shown)), reason);
	return 0;
}

int dirdrv_contact_put(const struct config *cfg, const char *sys, const struct dir_contact *c,
		       char *why)
{
	const struct dirdrv_ops *ops = downward(cfg, sys, why);

	if (ops == NULL || !address_ok(cfg, sys, c->address, why))
		return DRV_FAIL;
	if (strlen(c->name) > DIRREC_NAME_MAX || !addr_text_ok(c->name, strlen(c->name))) {
		snprintf(why, DRV_WHY, "%s: refusing the name of contact %s: control bytes, "
			 "invalid UTF-8 or over %d bytes", sys, c->address, DIRREC_NAME_MAX);
		return DRV_FAIL;
	}
	return ops->put(cfg, sys, c, why);
}

int dirdrv_contact_del(const struct config *cfg, const char *sys, const char *address, char *why)
{
	const struct dirdrv_ops *ops = downward(cfg, sys, why);

	if (ops == NULL || !address_ok(cfg, sys, address, why))
		return DRV_FAIL;
	return ops->del(cfg, sys, address, why);
}

void dir_listing_free(struct dir_listing *l)
{
	for (size_t i = 0; i < l->nacc; i++)
		dir_account_clear(&l->acc[i]);
	for (size_t i = 0; i < l->ngone; i++)
		free(l->gone[i]);
	free(l->acc);
	free(l->gone);
	free(l->cookie);
	memset(l, 0, sizeof(*l));
}

void dir_contacts_free(struct dir_contact *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dir_contact_clear(&c[i]);
	free(c);
}
