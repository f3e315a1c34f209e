/*
 * dirdrv_cli - the directory drivers (spm/dirdrv.h) from a shell, for
 * tests/integ/dirdrv_ldap.sh; not installed.
 *
 *   dirdrv_cli CONFIG SYSTEM list [COOKIE]
 *   dirdrv_cli CONFIG SYSTEM contacts | put ADDRESS NAME | del ADDRESS | has
 *
 * list prints "incremental 0|1", "cookie COOKIE" (when one), then
 * "acc KEY<TAB>ACCESS<TAB>PHYSICAL<TAB>ALIASES<TAB>NAME<TAB>GROUP" and
 * "gone KEY" lines; contacts prints "contact ADDRESS<TAB>NAME<TAB>KEY".
 * The exit status is the driver's code (0 DRV_OK, 1 DRV_TEMP, 2
 * DRV_FAIL, 3 DIR_EXISTS, 64 usage), the reason on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dirdrv.h"
#include "log.h"

static int list(const struct config *cfg, const char *sys, const char *cookie, char *why)
{
	struct dir_listing l;
	int rc = dirdrv_list(cfg, sys, cookie, &l, why);

	if (rc != DRV_OK)
		return rc;
	printf("incremental %d\n", l.incremental);
	if (l.cookie)
		printf("cookie %s\n", l.cookie);
	for (size_t i = 0; i < l.nacc; i++)
		printf("acc %s\t%s\t%s\t%s\t%s\t%s\n", l.acc[i].key, l.acc[i].access,
		       l.acc[i].physical, l.acc[i].aliases, l.acc[i].name, l.acc[i].group);
	for (size_t i = 0; i < l.ngone; i++)
		printf("gone %s\n", l.gone[i]);
	dir_listing_free(&l);
	return DRV_OK;
}

static int contacts(const struct config *cfg, const char *sys, char *why)
{
	struct dir_contact *c;
	size_t n;
	int rc = dirdrv_contacts(cfg, sys, &c, &n, why);

	for (size_t i = 0; rc == DRV_OK && i < n; i++)
		printf("contact %s\t%s\t%s\n", c[i].address, c[i].name, c[i].key);
	if (rc == DRV_OK)
		dir_contacts_free(c, n);
	return rc;
}

int main(int argc, char **argv)
{
	char why[DRV_WHY] = "", *err = NULL;
	struct config *cfg;
	const char *verb = argc > 3 ? argv[3] : "";
	int rc = 64;

	log_init("dirdrv_cli", LOG_TO_STDERR, "mail");
	if (argc < 4 || (cfg = config_load(argv[1], &err)) == NULL) {
		fprintf(stderr, "%s\n", err ? err : "usage: dirdrv_cli CONFIG SYSTEM VERB [ARG...]");
		return 64;
	}
	if (strcmp(verb, "list") == 0 && argc <= 5)
		rc = list(cfg, argv[2], argc == 5 ? argv[4] : NULL, why);
	else if (strcmp(verb, "contacts") == 0 && argc == 4)
		rc = contacts(cfg, argv[2], why);
	else if (strcmp(verb, "put") == 0 && argc == 6)
		rc = dirdrv_contact_put(cfg, argv[2],
					&(struct dir_contact){argv[4], argv[5], (char *)""}, why);
	else if (strcmp(verb, "del") == 0 && argc == 5)
		rc = dirdrv_contact_del(cfg, argv[2], argv[4], why);
	else if (strcmp(verb, "has") == 0 && argc == 4)
		rc = dirdrv_has_contacts(cfg, argv[2]) ? 0 : 1;
	if (rc != DRV_OK && *why)
		fprintf(stderr, "dirdrv_cli: %s\n", why);
	config_free(&cfg);
	return rc;
}
