/*
 * drv - what a provisioning driver is to driver.c: one table of verbs per
 * driver, found by the system's NAME_driver (drv_lookup()).
 *
 * driver.c does what is the same for every driver: it finds SYS, checks
 * that every address is canonical (addr.h) and that the driver's refuse()
 * lets it through, and only then calls the verb; a verb never sees an
 * address its driver refused. A verb gets the call in DRV_CALL: the
 * configuration, the system, and the verb with its addresses as ARGS
 * (ARGS[0] the verb name, then the addresses in the order of driver.h),
 * which is what the exec driver hands its program; WHY (DRV_WHY bytes)
 * takes the reason when the verb does not return DRV_OK.
 *
 * refuse(): NULL when ADDR (canonical) may reach the driver's sink, else
 * a static reason. NULL refuse: the driver takes everything (and driver.c
 * then skips the canonical check too: the driver writes nothing).
 * local: 1 when the verbs are quick local file operations.
 */
#ifndef FEDMIG_SPM_DRV_H
#define FEDMIG_SPM_DRV_H

#include <stddef.h>

#include "config.h"

struct drv_call {
	const struct config *cfg;
	const char *sys;
	const char *const *args;
	size_t nargs;
	char *why;
};

struct driver_ops {
	const char *name;
	int local;
	const char *(*refuse)(const char *addr);
	int (*create)(const struct drv_call *c, const char *physical, const char *access);
	int (*form)(const struct drv_call *c, const char *physical, const char *access,
		    const char *const *aliases, size_t naliases);
	int (*redirect)(const struct drv_call *c, const char *from, const char *to);
	int (*unredirect)(const struct drv_call *c, const char *from);
	int (*unform)(const struct drv_call *c, const char *physical);
	int (*addresses)(const struct drv_call *c, char **list_r);
	int (*del)(const struct drv_call *c, const char *physical);
};

/* drv_dovecot.c, drv_exec.c, drv_none.c */
extern const struct driver_ops drv_dovecot, drv_exec, drv_none;

/* drv_exec_call: run the program in SYS's per-system key KEY
 * (driver_command, or directory_command for the exec directory driver)
 * with ARGS as drv_exec.c does, its stdout in *OUT_R when OUT_R is not
 * NULL and it exited 0; DRV_OK, DRV_TEMP or DRV_FAIL (WHY). */
int drv_exec_call(const struct config *cfg, const char *sys, const char *key,
		  const char *const *args, size_t nargs, char **out_r, char *why);

/* drv_lookup: the driver called NAME; "none" for a name no driver has
 * (config_check refuses those before the pilot starts). */
const struct driver_ops *drv_lookup(const char *name);

#endif
