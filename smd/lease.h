/*
 * lease - who a fedmig-smd master is among several copy workers sharing
 * one queue (issue 18; lib/store_smd.h, schema 16).
 *
 * A worker is named by smd_worker_name, or "HOST:PID" when that is empty;
 * each job it claims is leased for smd_lease and renewed every third of
 * it while the child copies. Another worker takes a job over only once
 * its lease has expired, so a worker whose master died (and its children
 * with it) loses its mailboxes after at most smd_lease.
 *
 * smd_worker_init() fills W from CFG: 0, or -1 with *err_r (caller frees)
 * for a name an admin must fix. host_prefix is "HOST:" (the names of this
 * host's unnamed workers, whose jobs the mailbox lock file can vouch for
 * on SQLite); shared is 1 on a postgresql:// store, where there is no lock
 * file and the lease alone keeps one copier per mailbox.
 *
 * One process per name on a shared store: at start a master takes back
 * the jobs running in its name, which is right only if no other
 * fedmig-smd of that name (on another host, or --once beside the daemon)
 * is copying them. smd_lease_take() takes the name's session lock
 * (store_lead.h) for a named worker on a shared store: 1 got (or nothing
 * to take: SQLite's mailbox lock files vouch there, HOST:PID is unique),
 * 0 another process holds it, STORE_ERR. smd_lease_still_mine(): 1 while
 * it is held or the store cannot tell; after a lost connection it is
 * taken again; 0 when another process took the name meanwhile (logged):
 * the caller must stop.
 */
#ifndef FEDMIG_SMD_LEASE_H
#define FEDMIG_SMD_LEASE_H

#include "config.h"
#include "store_smd.h"

struct smd_lease {
	char name[SMD_WORKER_MAX];
	char host_prefix[SMD_WORKER_MAX];
	long long lease_us, renew_us;
	int shared;
	struct smd_worker w; /* for store_smd_claim_as: name, pid, lease */
	char lock[24];	     /* the name's session lock, "" when none is needed */
};

int smd_worker_init(const struct config *cfg, struct smd_lease *l, char **err_r);
/* smd_worker_name_ok: NAME is 1..SMD_WORKER_MAX-1 of [A-Za-z0-9._:-]. */
int smd_worker_name_ok(const char *name);
int smd_lease_take(struct smd_lease *l, struct store *s);
int smd_lease_still_mine(struct smd_lease *l, struct store *s);

#endif
