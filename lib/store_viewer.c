/*
 * The viewers' table (store_viewer.h). The name is looked up, then the
 * hashes compared with CRYPTO_memcmp, so that the time taken does not
 * tell how much of a guessed secret was right.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "store_int.h"
#include "store_viewer.h"

int viewer_name_ok(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n < VIEWER_NAME_MAX &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") ==
		       n;
}

int store_viewer_add(struct store *s, const char *name, const unsigned char *hash, long long now)
{
	sqlite3_stmt *st = store_prepare_sq(s, "INSERT INTO viewers(name, hash, created)"
					    " VALUES(?1, ?2, ?3) ON CONFLICT(name) DO NOTHING");

	if (st == NULL)
		return STORE_ERR;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, hash, VIEWER_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	if (store_run_sq(s, st, "add viewer") < 0)
		return STORE_ERR;
	return sqlite3_changes(store_db(s)) == 1 ? STORE_OK : STORE_VIEWER_EXISTS;
}

int store_viewer_seen(struct store *s, const char *name, long long now)
{
	sqlite3_stmt *st = store_prepare_sq(s, "UPDATE viewers SET last_seen = ?2 WHERE name = ?1");

	if (st == NULL)
		return STORE_ERR;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	return store_run_sq(s, st, "viewer seen");
}

int store_viewer_auth(struct store *s, const char *name, const unsigned char *hash,
		      long long *seen_r)
{
	sqlite3_stmt *st = store_prepare_sq(s, "SELECT hash, last_seen FROM viewers WHERE name = ?1");
	int rc, ok = 0;

	if (st == NULL)
		return STORE_ERR;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == VIEWER_HASH_LEN)
		ok = CRYPTO_memcmp(sqlite3_column_blob(st, 0), hash, VIEWER_HASH_LEN) == 0;
	if (ok)
		*seen_r = sqlite3_column_int64(st, 1);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail_sq(s, "read viewer");
	return ok ? STORE_OK : STORE_NOTFOUND;
}

int store_viewer_remove(struct store *s, const char *name)
{
	sqlite3_stmt *st = store_prepare_sq(s, "DELETE FROM viewers WHERE name = ?1");

	if (st == NULL)
		return STORE_ERR;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (store_run_sq(s, st, "remove viewer") < 0)
		return STORE_ERR;
	return sqlite3_changes(store_db(s)) == 1 ? STORE_OK : STORE_NOTFOUND;
}

int store_viewer_each(struct store *s, store_viewer_fn fn, void *ctx)
{
	sqlite3_stmt *st =
		store_prepare_sq(s, "SELECT name, created, last_seen FROM viewers ORDER BY name");
	struct viewer_row r;
	int rc;

	if (st == NULL)
		return STORE_ERR;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		store_text_sq(st, 0, r.name, sizeof(r.name));
		r.created = sqlite3_column_int64(st, 1);
		r.last_seen = sqlite3_column_int64(st, 2);
		if (fn(ctx, &r) != 0)
			break;
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK : store_fail_sq(s, "list viewers");
}
