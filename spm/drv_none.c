/*
 * drv_none - the "none" provisioning driver: a system fedmig does not
 * provision (someone else makes its mailboxes). Every verb is done at
 * once and writes nothing; it announces no address.
 */
#include <stddef.h>

#include "driver.h"
#include "drv.h"
#include "xalloc.h"

static int none_create(const struct drv_call *c, const char *physical, const char *access)
{
	return DRV_OK;
}

static int none_form(const struct drv_call *c, const char *physical, const char *access,
		     const char *const *aliases, size_t naliases)
{
	return DRV_OK;
}

static int none_redirect(const struct drv_call *c, const char *from, const char *to)
{
	return DRV_OK;
}

static int none_one(const struct drv_call *c, const char *addr)
{
	return DRV_OK;
}

static int none_addresses(const struct drv_call *c, char **list_r)
{
	*list_r = xstrdup("");
	return DRV_OK;
}

const struct driver_ops drv_none = {
	.name = "none",
	.local = 1,
	.refuse = NULL,
	.create = none_create,
	.form = none_form,
	.redirect = none_redirect,
	.unredirect = none_one,
	.unform = none_one,
	.addresses = none_addresses,
	.del = none_one,
};
