/*
 * store_schema - the store's schema versions (contract in store_int.h),
 * apart from store.c: the SQL of every version that ever landed.
 */
#include "store_int.h"

/* smd_jobs' columns after its key, as version 3 made them; version 5
 * rebuilds the table with the same columns under a new key. Never edit. */
#define SMD_JOB_COLS \
	" access TEXT NOT NULL," \
	" src_system TEXT NOT NULL," \
	" src_physical TEXT NOT NULL," \
	" dst_system TEXT NOT NULL," \
	" dst_physical TEXT NOT NULL," \
	" state INTEGER NOT NULL DEFAULT 0," \
	" attempts INTEGER NOT NULL DEFAULT 0," \
	" next_at INTEGER NOT NULL," \
	" pid INTEGER NOT NULL DEFAULT 0," \
	" folders_done INTEGER NOT NULL DEFAULT 0," \
	" folders_total INTEGER NOT NULL DEFAULT 0," \
	" msgs_done INTEGER NOT NULL DEFAULT 0," \
	" msgs_total INTEGER NOT NULL DEFAULT 0," \
	" bytes_done INTEGER NOT NULL DEFAULT 0," \
	" bytes_total INTEGER NOT NULL DEFAULT 0," \
	" started INTEGER NOT NULL DEFAULT 0," \
	" finished INTEGER NOT NULL DEFAULT 0," \
	" reason TEXT NOT NULL DEFAULT ''," \
	" created INTEGER NOT NULL," \
	" updated INTEGER NOT NULL"

/*
 * Schema versions, applied in order by a read-write open. Append new
 * versions; never edit one that has landed (databases in the field have
 * it). A version whose text does not run on PostgreSQL has a second text
 * for it (store_schema_pg.c, same tables and columns); a version written
 * in SQL both accept (TEXT and BIGINT columns, ADD COLUMN, no
 * autoincrement, no WITHOUT ROWID) needs none. Numbers reserved: 2 fedmig-spm, 3 fedmig-smd. 4 was reserved for
 * the agent API and never landed; it stays unused, since an upgrade
 * applies only versions above the database's (5 landed first).
 */
const struct store_migration store_migrations[] = {
	{1, "CREATE TABLE systems("
	    " name TEXT PRIMARY KEY,"
	    " domain TEXT NOT NULL,"
	    " last_sync INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
	    "CREATE TABLE directory("
	    " access TEXT PRIMARY KEY,"
	    " system TEXT NOT NULL,"
	    " physical TEXT NOT NULL UNIQUE,"
	    " held INTEGER NOT NULL DEFAULT 0,"
	    " held_since INTEGER NOT NULL DEFAULT 0,"
	    " switched_at INTEGER NOT NULL DEFAULT 0,"
	    " request_id INTEGER NOT NULL DEFAULT 0,"
	    " updated INTEGER NOT NULL) WITHOUT ROWID;"
	    "CREATE TABLE aliases("
	    " alias TEXT PRIMARY KEY,"
	    " access TEXT NOT NULL) WITHOUT ROWID;"
	    "CREATE INDEX aliases_by_access ON aliases(access);"
	    "CREATE TABLE formers("
	    " physical TEXT PRIMARY KEY,"
	    " access TEXT NOT NULL,"
	    " since INTEGER NOT NULL) WITHOUT ROWID;"
	    "CREATE INDEX formers_by_access ON formers(access);"
	    "CREATE TABLE batches("
	    " id INTEGER PRIMARY KEY,"
	    " source TEXT NOT NULL,"
	    " created INTEGER NOT NULL);"
	    "CREATE TABLE requests("
	    " id INTEGER PRIMARY KEY,"
	    " access TEXT NOT NULL,"
	    " target_system TEXT NOT NULL,"
	    " scenario TEXT NOT NULL,"
	    " planned_at INTEGER NOT NULL,"
	    " batch_id INTEGER NOT NULL DEFAULT 0,"
	    " state INTEGER NOT NULL,"
	    " attempts INTEGER NOT NULL DEFAULT 0,"
	    " next_at INTEGER NOT NULL,"
	    " reason TEXT NOT NULL DEFAULT '',"
	    " source_system TEXT NOT NULL DEFAULT '',"
	    " source_physical TEXT NOT NULL DEFAULT '',"
	    " target_physical TEXT NOT NULL DEFAULT '',"
	    " hold_at INTEGER NOT NULL DEFAULT 0,"
	    " switch_at INTEGER NOT NULL DEFAULT 0,"
	    " release_at INTEGER NOT NULL DEFAULT 0,"
	    " created INTEGER NOT NULL,"
	    " updated INTEGER NOT NULL);"
	    "CREATE INDEX requests_by_next ON requests(next_at);"
	    "CREATE INDEX requests_by_access ON requests(access);"
	    "CREATE INDEX requests_by_batch ON requests(batch_id);"
	    "CREATE TABLE history("
	    " id INTEGER PRIMARY KEY,"
	    " request_id INTEGER NOT NULL,"
	    " at INTEGER NOT NULL,"
	    " from_state INTEGER,"
	    " to_state INTEGER NOT NULL,"
	    " step TEXT NOT NULL,"
	    " detail TEXT NOT NULL DEFAULT '');"
	    "CREATE INDEX history_by_request ON history(request_id);"
	    "CREATE TABLE held_messages("
	    " queue_id TEXT PRIMARY KEY,"
	    " request_id INTEGER NOT NULL,"
	    " held_at INTEGER NOT NULL,"
	    " recipients TEXT NOT NULL,"
	    " released_at INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;", store_pg_v1},
	/* fedmig-spm: administrator's orders, retry bookkeeping, one live
	 * request per address, workstation checks, the release ledger. */
	{2, "ALTER TABLE requests ADD COLUMN action TEXT NOT NULL DEFAULT '';"
	    "ALTER TABLE requests ADD COLUMN failed_from INTEGER NOT NULL DEFAULT -1;"
	    "ALTER TABLE requests ADD COLUMN complete_at INTEGER NOT NULL DEFAULT 0;"
	    "CREATE UNIQUE INDEX requests_live ON requests(access)"
	    " WHERE state NOT IN (10, 13, 23, 24);"
	    "CREATE INDEX requests_by_state ON requests(state);"
	    "CREATE INDEX requests_by_switch ON requests(switch_at);"
	    "CREATE TABLE checks("
	    " request_id INTEGER NOT NULL,"
	    " at INTEGER NOT NULL,"
	    " ok INTEGER NOT NULL,"
	    " detail TEXT NOT NULL DEFAULT '');"
	    "CREATE INDEX checks_by_request ON checks(request_id, at);"
	    "CREATE INDEX held_pending ON held_messages(released_at, held_at);", store_pg_v2},
	/* 3: fedmig-smd's work queue and copy journal (lib/store_smd.c). */
	{3, "CREATE TABLE smd_jobs("
	    " request_id INTEGER PRIMARY KEY," SMD_JOB_COLS ");"
	    "CREATE INDEX smd_jobs_due ON smd_jobs(state, next_at);"
	    "CREATE TABLE smd_folders("
	    " mailbox TEXT NOT NULL,"
	    " folder TEXT NOT NULL,"
	    " uidvalidity INTEGER NOT NULL,"
	    " dst_folder TEXT NOT NULL,"
	    " dst_uidvalidity INTEGER NOT NULL,"
	    " messages INTEGER NOT NULL DEFAULT 0,"
	    " bytes INTEGER NOT NULL DEFAULT 0,"
	    " verified INTEGER NOT NULL DEFAULT 0,"
	    " updated INTEGER NOT NULL,"
	    " PRIMARY KEY(mailbox, folder)) WITHOUT ROWID;"
	    "CREATE TABLE smd_map("
	    " mailbox TEXT NOT NULL,"
	    " folder TEXT NOT NULL,"
	    " src_uid INTEGER NOT NULL,"
	    " dst_uid INTEGER NOT NULL,"
	    " sha256 BLOB NOT NULL,"
	    " size INTEGER NOT NULL,"
	    " PRIMARY KEY(mailbox, folder, src_uid)) WITHOUT ROWID;", store_pg_v3},
	/* 5: real columns where signs carried meaning. A held message gone
	 * from the queue had a negative released_at: now gone = 1 (for such
	 * rows written before, released_at keeps the absolute value, which
	 * may be when the message was found gone rather than released). A
	 * rollback's copy back was the smd job of the negated request id: now
	 * kind 1 (SMD_COPY_BACK) under the request's own id. */
	{5, "ALTER TABLE held_messages ADD COLUMN gone INTEGER NOT NULL DEFAULT 0;"
	    "UPDATE held_messages SET gone = 1, released_at = -released_at WHERE released_at < 0;"
	    "DROP INDEX held_pending;"
	    "CREATE INDEX held_pending ON held_messages(gone, held_at);"
	    "CREATE TABLE smd_jobs5("
	    " request_id INTEGER NOT NULL,"
	    " kind INTEGER NOT NULL DEFAULT 0," SMD_JOB_COLS ","
	    " PRIMARY KEY(request_id, kind));"
	    "INSERT INTO smd_jobs5 SELECT abs(request_id), request_id < 0, access, src_system,"
	    " src_physical, dst_system, dst_physical, state, attempts, next_at, pid, folders_done,"
	    " folders_total, msgs_done, msgs_total, bytes_done, bytes_total, started, finished,"
	    " reason, created, updated FROM smd_jobs;"
	    "DROP TABLE smd_jobs;"
	    "ALTER TABLE smd_jobs5 RENAME TO smd_jobs;"
	    "CREATE INDEX smd_jobs_due ON smd_jobs(state, next_at);", store_pg_v5},
	/* 6: the agent API (fedmig-apid, fedmig-agent; lib/store_agent.h).
	 * Agents and their enrolment; one task per request whose source is
	 * read by an agent, with its lease and current action; the folders
	 * the agent listed; the data buffer: batches (one spool file each,
	 * fsynced before its rows commit) and their items, whose buffer UID
	 * is what the data mover journals as the source UID. */
	{6, "CREATE TABLE agents("
	    " name TEXT PRIMARY KEY,"
	    " code_hash BLOB,"
	    " code_expires INTEGER NOT NULL DEFAULT 0,"
	    " token_hash BLOB UNIQUE,"
	    " state INTEGER NOT NULL DEFAULT 0,"
	    " version TEXT NOT NULL DEFAULT '',"
	    " slots INTEGER NOT NULL DEFAULT 0,"
	    " health TEXT NOT NULL DEFAULT '',"
	    " created INTEGER NOT NULL,"
	    " enrolled INTEGER NOT NULL DEFAULT 0,"
	    " last_seen INTEGER NOT NULL DEFAULT 0,"
	    " systems TEXT NOT NULL DEFAULT '');"
	    "CREATE TABLE agent_tasks("
	    " request_id INTEGER PRIMARY KEY,"
	    " src_system TEXT NOT NULL,"
	    " mailbox TEXT NOT NULL,"
	    " agent TEXT NOT NULL DEFAULT '',"
	    " lease_until INTEGER NOT NULL DEFAULT 0,"
	    " seq INTEGER NOT NULL DEFAULT 0,"
	    " phase INTEGER NOT NULL DEFAULT 0,"
	    " action TEXT NOT NULL DEFAULT '',"
	    " reason TEXT NOT NULL DEFAULT '',"
	    " items INTEGER NOT NULL DEFAULT 0,"
	    " bytes INTEGER NOT NULL DEFAULT 0,"
	    " cancel_at INTEGER NOT NULL DEFAULT 0,"
	    " created INTEGER NOT NULL,"
	    " updated INTEGER NOT NULL);"
	    "CREATE INDEX agent_tasks_by_agent ON agent_tasks(agent, lease_until);"
	    "CREATE TABLE agent_folders("
	    " request_id INTEGER NOT NULL,"
	    " folder TEXT NOT NULL,"
	    " sep TEXT NOT NULL DEFAULT '',"
	    " attrs INTEGER NOT NULL DEFAULT 0,"
	    " subscribed INTEGER NOT NULL DEFAULT 0,"
	    " cursor TEXT NOT NULL DEFAULT '',"
	    " done INTEGER NOT NULL DEFAULT 0,"
	    " next_uid INTEGER NOT NULL DEFAULT 1,"
	    " PRIMARY KEY(request_id, folder)) WITHOUT ROWID;"
	    "CREATE TABLE agent_batches("
	    " id INTEGER PRIMARY KEY,"
	    " request_id INTEGER NOT NULL,"
	    " seq INTEGER NOT NULL,"
	    " folder TEXT NOT NULL,"
	    " path TEXT NOT NULL,"
	    " items INTEGER NOT NULL,"
	    " duplicates INTEGER NOT NULL,"
	    " bytes INTEGER NOT NULL,"
	    " live INTEGER NOT NULL,"
	    " created INTEGER NOT NULL,"
	    " UNIQUE(request_id, seq));"
	    "CREATE TABLE agent_items("
	    " request_id INTEGER NOT NULL,"
	    " folder TEXT NOT NULL,"
	    " uid INTEGER NOT NULL,"
	    " src_key TEXT NOT NULL,"
	    " flags TEXT NOT NULL,"
	    " date TEXT NOT NULL,"
	    " size INTEGER NOT NULL,"
	    " sha256 BLOB NOT NULL,"
	    " batch INTEGER NOT NULL,"
	    " offset INTEGER NOT NULL,"
	    " freed INTEGER NOT NULL DEFAULT 0,"
	    " PRIMARY KEY(request_id, folder, uid)) WITHOUT ROWID;"
	    "CREATE UNIQUE INDEX agent_items_src ON agent_items(request_id, folder, src_key);"
	    "CREATE INDEX agent_items_batch ON agent_items(batch);", store_pg_v6},
	/* 7: contacts and calendars (smd/pim_sync.h, lib/store_pim.h): per
	 * mailbox key (the mail journal's), each source collection and its
	 * target, with the sync tokens and the last run's counts; the
	 * correspondence table, one row per source item: its UID, etag and
	 * content hash on each side; the job's PIM outcome. */
	{7, "CREATE TABLE pim_collections("
	    " mailbox TEXT NOT NULL, src_href TEXT NOT NULL, kind INTEGER NOT NULL,"
	    " dst_href TEXT NOT NULL, name TEXT NOT NULL DEFAULT '',"
	    " src_token TEXT NOT NULL DEFAULT '', dst_token TEXT NOT NULL DEFAULT '',"
	    " items INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL DEFAULT 0,"
	    " updated_n INTEGER NOT NULL DEFAULT 0, unchanged INTEGER NOT NULL DEFAULT 0,"
	    " deleted INTEGER NOT NULL DEFAULT 0, conflicts INTEGER NOT NULL DEFAULT 0,"
	    " rejected INTEGER NOT NULL DEFAULT 0, fixes INTEGER NOT NULL DEFAULT 0,"
	    " verified INTEGER NOT NULL DEFAULT 0, held TEXT NOT NULL DEFAULT '',"
	    " updated INTEGER NOT NULL,"
	    " PRIMARY KEY(mailbox, src_href)) WITHOUT ROWID;"
	    "CREATE TABLE pim_items("
	    " mailbox TEXT NOT NULL, src_coll TEXT NOT NULL, src_href TEXT NOT NULL,"
	    " uid TEXT NOT NULL, src_etag TEXT NOT NULL DEFAULT '', src_hash BLOB,"
	    " dst_href TEXT NOT NULL DEFAULT '', dst_etag TEXT NOT NULL DEFAULT '', dst_hash BLOB,"
	    " status INTEGER NOT NULL DEFAULT 0,"
	    " reason TEXT NOT NULL DEFAULT '', updated INTEGER NOT NULL,"
	    " PRIMARY KEY(mailbox, src_coll, src_href)) WITHOUT ROWID;"
	    "CREATE INDEX pim_items_dst ON pim_items(mailbox, src_coll, dst_href);"
	    "ALTER TABLE smd_jobs ADD COLUMN pim_state INTEGER NOT NULL DEFAULT 0;"
	    "ALTER TABLE smd_jobs ADD COLUMN pim_items INTEGER NOT NULL DEFAULT 0;"
	    "ALTER TABLE smd_jobs ADD COLUMN pim_next_at INTEGER NOT NULL DEFAULT 0;", store_pg_v7},
	/* 8: directory sync (lib/store_dir.h). A directory entry's display
	 * name; each system's sync bookkeeping (RFC 4533 cookie, the size of
	 * its last good listing, ok/held/failed); the accounts each system's
	 * last good listing held; the downward contacts fedmig keeps on each
	 * system (state 1: an entry fedmig did not make has the address); the
	 * addresses two systems claim. 7 belongs to the PIM work. */
	{8, "ALTER TABLE directory ADD COLUMN name TEXT NOT NULL DEFAULT '';"
	    "ALTER TABLE systems ADD COLUMN sync_cookie TEXT NOT NULL DEFAULT '';"
	    "ALTER TABLE systems ADD COLUMN sync_accounts INTEGER NOT NULL DEFAULT 0;"
	    "ALTER TABLE systems ADD COLUMN sync_status TEXT NOT NULL DEFAULT '';"
	    "CREATE TABLE dir_accounts("
	    " system TEXT NOT NULL,"
	    " key TEXT NOT NULL,"
	    " access TEXT NOT NULL,"
	    " physical TEXT NOT NULL,"
	    " aliases TEXT NOT NULL,"
	    " name TEXT NOT NULL,"
	    " grp TEXT NOT NULL,"
	    " seen INTEGER NOT NULL,"
	    " PRIMARY KEY(system, key)) WITHOUT ROWID;"
	    "CREATE INDEX dir_accounts_access ON dir_accounts(access);"
	    "CREATE TABLE dir_contacts("
	    " system TEXT NOT NULL,"
	    " address TEXT NOT NULL,"
	    " key TEXT NOT NULL,"
	    " name TEXT NOT NULL,"
	    " state INTEGER NOT NULL DEFAULT 0,"
	    " reason TEXT NOT NULL DEFAULT '',"
	    " updated INTEGER NOT NULL,"
	    " PRIMARY KEY(system, address)) WITHOUT ROWID;"
	    "CREATE TABLE dir_conflicts("
	    " address TEXT PRIMARY KEY,"
	    " systems TEXT NOT NULL,"
	    " detail TEXT NOT NULL,"
	    " seen INTEGER NOT NULL) WITHOUT ROWID;", store_pg_v8},
	/* 9: workstation agents (lib/store_ws.h): an agent's kind ('server'
	 * or 'workstation') and the one access address a workstation agent
	 * works for; what a workstation agent reported, per request and
	 * step (data: the counts it sent, as JSON). */
	{9, "ALTER TABLE agents ADD COLUMN kind TEXT NOT NULL DEFAULT 'server';"
	    "ALTER TABLE agents ADD COLUMN address TEXT NOT NULL DEFAULT '';"
	    "CREATE INDEX agents_by_address ON agents(address);"
	    "CREATE TABLE ws_reports("
	    " id INTEGER PRIMARY KEY,"
	    " request_id INTEGER NOT NULL,"
	    " at INTEGER NOT NULL,"
	    " step TEXT NOT NULL,"
	    " ok INTEGER NOT NULL,"
	    " detail TEXT NOT NULL DEFAULT '',"
	    " data TEXT NOT NULL DEFAULT '');"
	    "CREATE INDEX ws_reports_by_request ON ws_reports(request_id, step, at);", store_pg_v9},
	/* 10: the delta journal (brief QD, smd/copy_delta.c). Per copied
	 * message, the source's flags as last copied or applied (NULL: not
	 * known, rows of earlier versions: the source wins once, then the
	 * three-way rule has its base), and gone = 1 when the user deleted
	 * the message on the target after the switch (the row stays so that
	 * the message is never copied again). Per folder, the source's
	 * HIGHESTMODSEQ (RFC 7162) seen before the last verified pass (0:
	 * none): a pass whose STATUS shows it unchanged skips the folder. */
	{10, "ALTER TABLE smd_map ADD COLUMN flags TEXT;"
	     "ALTER TABLE smd_map ADD COLUMN gone INTEGER NOT NULL DEFAULT 0;"
	     "ALTER TABLE smd_folders ADD COLUMN highestmodseq INTEGER NOT NULL DEFAULT 0;", store_pg_v10},
	/* 11: pre-stage and catch-up (brief QP, spm/pilot_prestage.c): per
	 * request the pre-stage passes finished, the end of the last one
	 * (µs), and the catch-up: switch to the copy's end, in ms (-1: not
	 * yet). */
	{11, "ALTER TABLE requests ADD COLUMN catchup_ms INTEGER NOT NULL DEFAULT -1;"
	     "ALTER TABLE requests ADD COLUMN prestage_passes INTEGER NOT NULL DEFAULT 0;"
	     "ALTER TABLE requests ADD COLUMN prestage_last INTEGER NOT NULL DEFAULT 0;", store_pg_v11},
	/* 12: source throttling (lib/store_throttle.h, brief QT): per source
	 * system, the sessions fedmig-smd's children hold and their limit,
	 * the shared back-off (refusals in a row, until when, why), the
	 * refusals and waits counted, the next login instant of the rate cap. */
	{12, "CREATE TABLE smd_sources("
	     " system TEXT PRIMARY KEY,"
	     " in_use INTEGER NOT NULL DEFAULT 0,"
	     " max_sessions INTEGER NOT NULL DEFAULT 0,"
	     " level INTEGER NOT NULL DEFAULT 0,"
	     " refusals INTEGER NOT NULL DEFAULT 0,"
	     " waits INTEGER NOT NULL DEFAULT 0,"
	     " until INTEGER NOT NULL DEFAULT 0,"
	     " next_login INTEGER NOT NULL DEFAULT 0,"
	     " reason TEXT NOT NULL DEFAULT '',"
	     " updated INTEGER NOT NULL) WITHOUT ROWID;", store_pg_v12},
	/* 13: folder identity (brief QF, smd/copy_tree.c): the subscription
	 * set as last applied to the target, in target names (the base of
	 * the subscription rule: only what fedmig subscribed is ever
	 * unsubscribed). Folder renames and deletes rewrite smd_folders and
	 * smd_map rows; they need no column. */
	{13, "CREATE TABLE smd_subs("
	     " mailbox TEXT NOT NULL,"
	     " name TEXT NOT NULL,"
	     " PRIMARY KEY(mailbox, name)) WITHOUT ROWID;", store_pg_v13},
	/* 14: the status page's viewers (lib/store_viewer.h, brief ST): a
	 * read-only credential, its secret's SHA-256, when it last read. */
	{14, "CREATE TABLE viewers("
	     " name TEXT PRIMARY KEY,"
	     " hash BLOB NOT NULL,"
	     " created INTEGER NOT NULL,"
	     " last_seen INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;", store_pg_v14},
	/* 15: several Postfix front ends (lib/store_fe.h, issue 18): the
	 * registered front ends and their heartbeat; the pilot's orders to
	 * each (drain a set of old physical addresses, release), their
	 * state and result; the addresses of a drain order; and the front
	 * end whose queue holds a held message ('': the pilot's own). */
	{15, "CREATE TABLE frontends("
	     " name TEXT PRIMARY KEY,"
	     " registered BIGINT NOT NULL,"
	     " last_seen BIGINT NOT NULL DEFAULT 0);"
	     "CREATE TABLE fe_orders("
	     " frontend TEXT NOT NULL,"
	     " batch BIGINT NOT NULL,"
	     " kind TEXT NOT NULL,"
	     " state TEXT NOT NULL DEFAULT 'new',"
	     " reason TEXT NOT NULL DEFAULT '',"
	     " created BIGINT NOT NULL,"
	     " started BIGINT NOT NULL DEFAULT 0,"
	     " finished BIGINT NOT NULL DEFAULT 0,"
	     " PRIMARY KEY(frontend, batch));"
	     "CREATE INDEX fe_orders_open ON fe_orders(frontend, state);"
	     "CREATE INDEX fe_orders_batch ON fe_orders(batch);"
	     "CREATE TABLE fe_batch_addrs("
	     " batch BIGINT NOT NULL,"
	     " request_id BIGINT NOT NULL,"
	     " physical TEXT NOT NULL);"
	     "CREATE INDEX fe_batch_addrs_by_batch ON fe_batch_addrs(batch);"
	     "ALTER TABLE held_messages ADD COLUMN frontend TEXT NOT NULL DEFAULT '';"
	     "CREATE INDEX held_by_frontend ON held_messages(frontend, gone);", NULL},
	/* 16: several copy workers (issue 18, lib/store_smd.h): a running
	 * job's worker (its smd_worker_name, or HOST:PID) and its lease (µs,
	 * 0: none, a copier of before this version); the claim looks jobs up
	 * by mailbox to keep one live lease per mailbox. */
	{16, "ALTER TABLE smd_jobs ADD COLUMN worker TEXT NOT NULL DEFAULT '';"
	     "ALTER TABLE smd_jobs ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;"
	     "CREATE INDEX smd_jobs_by_mailbox ON smd_jobs(src_physical, dst_physical, state);", NULL},
};
const size_t store_nmigrations = sizeof(store_migrations) / sizeof(store_migrations[0]);
