/*
 * driver - the public verbs of driver.h over the drivers' tables (drv.h):
 * each verb finds SYS's driver, has every address it carries checked
 * against that driver's sink, and calls the driver's verb.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "driver.h"
#include "drv.h"
#include "xalloc.h"

static const struct driver_ops *const drivers[] = {&drv_dovecot, &drv_exec, &drv_none};

const struct driver_ops *drv_lookup(const char *name)
{
	for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++)
		if (strcmp(drivers[i]->name, name) == 0)
			return drivers[i];
	return &drv_none;
}

/* ops_of: SYS's driver, or NULL (WHY set) for a system not configured. */
static const struct driver_ops *ops_of(const struct config *cfg, const char *sys, char *why)
{
	if (!config_has_system(cfg, sys)) {
		snprintf(why, DRV_WHY, "unknown system %s", sys);
		return NULL;
	}
	return drv_lookup(config_sys_str(cfg, sys, "driver"));
}

/*
 * sink_ok: 1 if ADDR (a WHAT: "physical address", ...) may go to SYS's
 * driver OPS, else 0 with the reason in WHY. The pilot only hands over
 * canonical addresses from the directory; this is the last line if one is
 * not, or was stored before the grammar was enforced.
 */
static int sink_ok(const struct driver_ops *ops, const char *sys, const char *what,
		   const char *addr, char *why)
{
	char canon[ADDR_MAX], shown[160];
	const char *reason = NULL;
	size_t len = strlen(addr);

	if (addr_normalize(addr, len, ADDR_INTERNAL, canon, &reason) < 0)
		;
	else if (strcasecmp(canon, addr) != 0)
		reason = "not in canonical form";
	else
		reason = ops->refuse(addr);
	if (reason == NULL)
		return 1;
	snprintf(why, DRV_WHY, "%s: refusing %s \"%s\" for the %s driver: %s", sys, what,
		 addr_show(addr, len, shown, sizeof(shown)), ops->name, reason);
	return 0;
}

/*
 * call_init: C set up for SYS's driver with the verb and the N addresses
 * ARGS[1..N] (roles WHAT[0..N-1], the last role repeating for the rest);
 * the driver, or NULL (WHY set) when SYS is unknown or an address must
 * not reach its sink.
 */
static const struct driver_ops *call_init(struct drv_call *c, const struct config *cfg,
					  const char *sys, const char *const *args, size_t nargs,
					  const char *const *what, size_t nwhat, char *why)
{
	const struct driver_ops *ops = ops_of(cfg, sys, why);

	*c = (struct drv_call){.cfg = cfg, .sys = sys, .args = args, .nargs = nargs, .why = why};
	if (ops == NULL || ops->refuse == NULL)
		return ops;
	for (size_t i = 1; i < nargs; i++)
		if (!sink_ok(ops, sys, what[i - 1 < nwhat ? i - 1 : nwhat - 1], args[i], why))
			return NULL;
	return ops;
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

int driver_is_local(const struct config *cfg, const char *sys)
{
	char why[DRV_WHY];
	const struct driver_ops *ops = ops_of(cfg, sys, why);

	return ops == NULL || ops->local;
}

int driver_create(const struct config *cfg, const char *sys, const char *physical,
		  const char *access, char *why)
{
	const char *args[] = {"create", physical, access};
	const char *what[] = {"physical address", "access address"};
	struct drv_call c;
	const struct driver_ops *ops =
		call_init(&c, cfg, sys, args, NELEM(args), what, NELEM(what), why);

	return ops ? ops->create(&c, physical, access) : DRV_FAIL;
}

int driver_form(const struct config *cfg, const char *sys, const char *physical,
		const char *access, const char *const *aliases, size_t naliases, char *why)
{
	const char **args = xcalloc(naliases + 3, sizeof(*args));
	const char *what[] = {"physical address", "access address", "alias"};
	const struct driver_ops *ops;
	struct drv_call c;
	int rc;

	args[0] = "form";
	args[1] = physical;
	args[2] = access;
	for (size_t i = 0; i < naliases; i++)
		args[3 + i] = aliases[i];
	ops = call_init(&c, cfg, sys, args, naliases + 3, what, NELEM(what), why);
	rc = ops ? ops->form(&c, physical, access, aliases, naliases) : DRV_FAIL;
	free(args);
	return rc;
}

int driver_redirect(const struct config *cfg, const char *sys, const char *from, const char *to,
		    char *why)
{
	const char *args[] = {"redirect", from, to};
	const char *what[] = {"redirected address", "redirect target"};
	struct drv_call c;
	const struct driver_ops *ops =
		call_init(&c, cfg, sys, args, NELEM(args), what, NELEM(what), why);

	return ops ? ops->redirect(&c, from, to) : DRV_FAIL;
}

int driver_unredirect(const struct config *cfg, const char *sys, const char *from, char *why)
{
	const char *args[] = {"unredirect", from};
	const char *what[] = {"redirected address"};
	struct drv_call c;
	const struct driver_ops *ops =
		call_init(&c, cfg, sys, args, NELEM(args), what, NELEM(what), why);

	return ops ? ops->unredirect(&c, from) : DRV_FAIL;
}

int driver_addresses(const struct config *cfg, const char *sys, char **list_r, char *why)
{
	const char *args[] = {"addresses"};
	struct drv_call c;
	const struct driver_ops *ops = call_init(&c, cfg, sys, args, NELEM(args), NULL, 0, why);

	return ops ? ops->addresses(&c, list_r) : DRV_FAIL;
}

int driver_unform(const struct config *cfg, const char *sys, const char *physical, char *why)
{
	const char *args[] = {"unform", physical};
	const char *what[] = {"physical address"};
	struct drv_call c;
	const struct driver_ops *ops =
		call_init(&c, cfg, sys, args, NELEM(args), what, NELEM(what), why);

	return ops ? ops->unform(&c, physical) : DRV_FAIL;
}

int driver_delete(const struct config *cfg, const char *sys, const char *physical, char *why)
{
	const char *args[] = {"delete", physical};
	const char *what[] = {"physical address"};
	struct drv_call c;
	const struct driver_ops *ops =
		call_init(&c, cfg, sys, args, NELEM(args), what, NELEM(what), why);

	return ops ? ops->del(&c, physical) : DRV_FAIL;
}

int driver_list_has(const char *list, const char *addr)
{
	size_t n = strlen(addr);

	for (const char *p = list; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (len > 0 && p[len - 1] == '\r')
			len--;
		/* Canonical form folds case; a script may not. */
		if (len == n && strncasecmp(p, addr, n) == 0)
			return 1;
		p = nl ? nl + 1 : NULL;
	}
	return 0;
}
