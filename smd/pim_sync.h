/*
 * pim_sync - copies a mailbox's address books (CardDAV) and calendars
 * (CalDAV) from its source system to its target, one-way or two-way,
 * with the correspondence table of lib/store_pim.h (see fedmig-smd(8),
 * CONTACTS AND CALENDARS).
 *
 * pim_sync_wanted(): 1 when both systems have a NAME_carddav or NAME_caldav
 * URL. pim_sync_run() syncs every collection of the mailbox, verifies
 * what it wrote, records the counts and logs one line per collection and
 * one for the mailbox. It returns PIM_OK (synced and verified), PIM_HELD
 * (deletions above pim_delete_threshold were not done; everything else
 * was) or PIM_FAILED with r->reason. It never deletes on one side because
 * the other failed to list or listed empty.
 */
#ifndef FEDMIG_PIM_SYNC_H
#define FEDMIG_PIM_SYNC_H

#include <stdio.h>

#include "config.h"
#include "store.h"
#include "store_pim.h"

enum pim_rc { PIM_OK = 0, PIM_FAILED = 1, PIM_HELD = 3 };
enum pim_conflict { PIM_STOP, PIM_SOURCE_WINS, PIM_TARGET_WINS, PIM_NEWEST };

struct pim_opts {
	const struct config *cfg;
	struct store *store;
	const char *src_system, *src_login, *dst_system, *dst_login;
	const char *mailbox_key; /* smd_mailbox_key() */
	int two_way;
	enum pim_conflict conflict;
	int force_delete;
	FILE *summary; /* the report lines also go here when not NULL */
};

struct pim_result {
	long long collections;
	struct pim_counts n;
	long long requests, writes; /* HTTP requests made, PUT + DELETE among them */
	int held;
	char reason[1024];
};

int pim_sync_wanted(const struct config *cfg, const char *src_system, const char *dst_system);
/* pim_opts_scenario: two_way and conflict from scenario SCN's keys. */
void pim_opts_scenario(struct pim_opts *o, const struct config *cfg, const char *scn);
int pim_sync_run(const struct pim_opts *o, struct pim_result *r);

/*
 * pim_sync_job: the queue's step after a job's mail copied (smd/master.c):
 * when the request's scenario has pim = yes and both systems have DAV
 * URLs, sync with the scenario's mode and conflict rule and record the
 * outcome in the job (pim_state, pim_items, and in two-way mode
 * pim_next_at = now + pim_sync_interval). 0 (done, held, or nothing to
 * do), or -1 with REASON (SIZE bytes) filled: the job fails and is retried.
 */
int pim_sync_job(const struct config *cfg, struct store *s, long long request_id, int kind,
		 const char *mailbox_key, const char *src_system, const char *src_login,
		 const char *dst_system, const char *dst_login, char *reason, size_t size);

#endif
