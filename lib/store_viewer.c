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
	struct db_stmt *st = store_prepare(s, "INSERT INTO viewers(name, hash, created)"
					    " VALUES(?1, ?2, ?3) ON CONFLICT(name) DO NOTHING");

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, name);
	db_bind_blob(st, 2, hash, VIEWER_HASH_LEN);
	db_bind_int64(st, 3, now);
	if (store_run(s, st, "add viewer") < 0)
		return STORE_ERR;
	return db_changes(store_dbh(s)) == 1 ? STORE_OK : STORE_VIEWER_EXISTS;
}

int store_viewer_seen(struct store *s, const char *name, long long now)
{
	struct db_stmt *st = store_prepare(s, "UPDATE viewers SET last_seen = ?2 WHERE name = ?1");

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, name);
	db_bind_int64(st, 2, now);
	return store_run(s, st, "viewer seen");
}

int store_viewer_auth(struct store *s, const char *name, const unsigned char *hash,
		      long long *seen_r)
{
	struct db_stmt *st = store_prepare(s, "SELECT hash, last_seen FROM viewers WHERE name = ?1");
	int rc, ok = 0;

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, name);
	rc = db_step(st);
	if (rc == DB_ROW) {
		size_t n;
		const void *h = db_column_blob(st, 0, &n);

		ok = n == VIEWER_HASH_LEN && CRYPTO_memcmp(h, hash, VIEWER_HASH_LEN) == 0;
	}
	if (ok)
		*seen_r = db_column_int64(st, 1);
	db_reset(st);
	if (rc != DB_ROW && rc != DB_DONE)
		return store_fail(s, "read viewer");
	return ok ? STORE_OK : STORE_NOTFOUND;
}

int store_viewer_remove(struct store *s, const char *name)
{
	struct db_stmt *st = store_prepare(s, "DELETE FROM viewers WHERE name = ?1");

	if (st == NULL)
		return STORE_ERR;
	db_bind_text(st, 1, name);
	if (store_run(s, st, "remove viewer") < 0)
		return STORE_ERR;
	return db_changes(store_dbh(s)) == 1 ? STORE_OK : STORE_NOTFOUND;
}

int store_viewer_each(struct store *s, store_viewer_fn fn, void *ctx)
{
	struct db_stmt *st =
		store_prepare(s, "SELECT name, created, last_seen FROM viewers ORDER BY name");
	struct viewer_row r;
	int rc;

	if (st == NULL)
		return STORE_ERR;
	while ((rc = db_step(st)) == DB_ROW) {
		store_text(st, 0, r.name, sizeof(r.name));
		r.created = db_column_int64(st, 1);
		r.last_seen = db_column_int64(st, 2);
		if (fn(ctx, &r) != 0)
			break;
	}
	db_reset(st);
	return rc == DB_ROW || rc == DB_DONE ? STORE_OK : store_fail(s, "list viewers");
}
