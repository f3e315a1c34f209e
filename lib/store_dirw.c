/*
 * store_dirw - the directory's writes on the way to a switch (contract in
 * store.h): hold, unhold, the switch itself, the held-message ledger. A
 * transaction these own is run again after a temporary error
 * (store_own_retry, store_int.h).
 */
#include <string.h>

#include "store_fe.h"
#include "store_int.h"

static int changed_one(struct store *s, const char *access)
{
	if (db_changes(store_dbh(s)) == 0) {
		store_set_error(s, "%s: not in the directory", access);
		return STORE_NOTFOUND;
	}
	return STORE_OK;
}

/* set_held: HELD (1 or 0) on ACCESS's entry, SINCE and REQUEST_ID with
 * it (a hold), or not (an unhold keeps the request). */
static int set_held(struct store *s, const char *access, int held, long long request_id,
		    long long at)
{
	struct db_stmt *st =
		held ? store_prepare(s, "UPDATE directory SET held = 1, held_since = ?2, "
					"request_id = ?3, updated = ?2 WHERE access = ?1")
		     : store_prepare(s, "UPDATE directory SET held = 0, held_since = 0 "
					"WHERE access = ?1");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, access);
	if (held) {
		db_bind_int64(st, 2, at);
		db_bind_int64(st, 3, request_id);
	}
	rc = store_run(s, st, held ? "hold" : "unhold");
	return rc == STORE_OK ? changed_one(s, access) : rc;
}

static int held_tx(struct store *s, const char *access, int held, long long request_id,
		   long long at)
{
	int own, rc, attempt = 0;

	do {
		if (store_own_begin(s, &own) < 0)
			return STORE_ERR;
		rc = store_own_end(s, own, set_held(s, access, held, request_id, at));
	} while (store_own_retry(s, own, rc, &attempt));
	return rc;
}

int store_dir_hold(struct store *s, const char *access, long long request_id, long long at)
{
	return held_tx(s, access, 1, request_id, at);
}

int store_dir_unhold(struct store *s, const char *access)
{
	return held_tx(s, access, 0, 0, 0);
}

static int do_switch(struct store *s, const char *access, const char *system,
		     const char *physical, long long request_id, long long at)
{
	struct dir_entry e;
	struct db_stmt *st;
	int rc = store_dir_lookup(s, access, &e);

	if (rc != STORE_OK || e.match != DIR_ACCESS) {
		store_set_error(s, "%s: not an access address in the directory", access);
		return rc == STORE_ERR ? STORE_ERR : STORE_NOTFOUND;
	}
	if (strcmp(e.physical, physical) != 0) {
		/* The old physical address forwards to the new one from now on. */
		st = store_prepare(s, "INSERT INTO formers(physical, access, since) VALUES(?1, ?2, ?3) "
				      "ON CONFLICT(physical) DO UPDATE SET access = ?2, since = ?3");
		if (st == NULL)
			return STORE_ERR;
		db_bind_text(st, 1, e.physical);
		db_bind_text(st, 2, access);
		db_bind_int64(st, 3, at);
		if (store_run(s, st, "record former address") < 0)
			return STORE_ERR;
		/* Moving back (rollback): the target is no longer a former address. */
		st = store_prepare(s, "DELETE FROM formers WHERE physical = ?1");
		if (st == NULL)
			return STORE_ERR;
		db_bind_text(st, 1, physical);
		if (store_run(s, st, "remove former address") < 0)
			return STORE_ERR;
	}
	st = store_prepare(s, "UPDATE directory SET system = ?2, physical = ?3, held = 0, "
			      "held_since = 0, switched_at = ?4, request_id = ?5, updated = ?4 "
			      "WHERE access = ?1");
	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, access);
	db_bind_text(st, 2, system);
	db_bind_text(st, 3, physical);
	db_bind_int64(st, 4, at);
	db_bind_int64(st, 5, request_id);
	return store_run(s, st, "switch");
}

int store_dir_switch(struct store *s, const char *access, const char *system,
		     const char *physical, long long request_id, long long at)
{
	int own, rc, attempt = 0;

	do {
		if (store_own_begin(s, &own) < 0)
			return STORE_ERR;
		rc = store_own_end(s, own, do_switch(s, access, system, physical, request_id, at));
	} while (store_own_retry(s, own, rc, &attempt));
	return rc;
}

int store_held_add(struct store *s, const char *queue_id, long long request_id,
		   const char *recipients, long long at)
{
	return store_fe_held_add(s, "", queue_id, request_id, recipients, at);
}
