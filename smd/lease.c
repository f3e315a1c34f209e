#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "fnv.h"
#include "lease.h"
#include "log.h"
#include "store_lead.h"
#include "xalloc.h"

int smd_worker_name_ok(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n < SMD_WORKER_MAX &&
	       strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") ==
		       n;
}

int smd_worker_init(const struct config *cfg, struct smd_lease *l, char **err_r)
{
	const char *name = config_str(cfg, "smd_worker_name");
	char host[64];

	memset(l, 0, sizeof(*l));
	if (gethostname(host, sizeof(host)) < 0 || !smd_worker_name_ok(host))
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(l->host_prefix, sizeof(l->host_prefix), "%s:", host);
	if (*name == '\0')
		snprintf(l->name, sizeof(l->name), "%s:%ld", host, (long)getpid());
	else if (!smd_worker_name_ok(name)) {
		*err_r = xasprintf("smd_worker_name '%.100s': use 1 to %d letters, digits and . _ : -",
				   name, SMD_WORKER_MAX - 1);
		return -1;
	} else
		snprintf(l->name, sizeof(l->name), "%s", name);
	l->lease_us = config_time_ms(cfg, "smd_lease") * 1000;
	l->renew_us = l->lease_us / 3;
	l->shared = db_is_url(config_str(cfg, "state_database"));
	l->w.name = l->name;
	l->w.pid = (int)getpid();
	l->w.lease_us = l->lease_us;
	/* Names allow what session locks do not (capitals, dots, 95 bytes):
	 * the lock is named by the name's 64-bit FNV-1a, as fedmig-frontend's. */
	if (l->shared && *name)
		snprintf(l->lock, sizeof(l->lock), "smd-%016llx", (unsigned long long)fnv1a64(name));
	return 0;
}

int smd_lease_take(struct smd_lease *l, struct store *s)
{
	return l->lock[0] ? store_lead_try(s, l->lock) : 1;
}

int smd_lease_still_mine(struct smd_lease *l, struct store *s)
{
	int retaken;

	if (!l->lock[0])
		return 1;
	if (store_lead_keep(s, l->lock, &retaken)) {
		if (retaken)
			log_warn("copy worker %s: the database connection was lost and the name's "
				 "lock with it; taken again",
				 l->name);
		return 1;
	}
	log_error("copy worker %s: another fedmig-smd took this name while the database "
		  "connection was lost: stopping (one process per smd_worker_name)",
		  l->name);
	return 0;
}
