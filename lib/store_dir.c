/*
 * store_dir - the directory sync's tables (contract in store_dir.h).
 */
#include <stdlib.h>
#include <string.h>

#include "store_dir.h"
#include "store_int.h"
#include "xalloc.h"

/* col: column I as an allocated string, "" for NULL. */
static char *col(struct db_stmt *st, int i)
{
	const char *t = db_column_text(st, i);

	return xstrdup(t ? t : "");
}

static void bind(struct db_stmt *st, int i, const char *v)
{
	db_bind_text(st, i, v ? v : "");
}

/* --- systems --- */

int store_sys_sync_get(struct store *s, const char *sys, struct sys_sync *r)
{
	struct db_stmt *st = store_prepare(s, "SELECT last_sync, sync_accounts, sync_cookie,"
					    " sync_status FROM systems WHERE name = ?1");
	int rc;

	memset(r, 0, sizeof(*r));
	if (st == NULL)
		return STORE_ERR;
	bind(st, 1, sys);
	rc = db_step(st);
	if (rc == DB_ROW) {
		r->last_sync = db_column_int64(st, 0);
		r->accounts = db_column_int64(st, 1);
		r->cookie = col(st, 2);
		store_text(st, 3, r->status, sizeof(r->status));
	} else {
		r->cookie = xstrdup("");
	}
	db_reset(st);
	if (rc == DB_ROW)
		return STORE_OK;
	return rc == DB_DONE ? STORE_NOTFOUND : store_fail(s, "system sync state");
}

int store_sys_sync_set(struct store *s, const char *sys, const char *domain,
		       const struct sys_sync *r)
{
	struct db_stmt *st = store_prepare(
		s, "INSERT INTO systems(name, domain, last_sync, sync_accounts, sync_cookie,"
		   " sync_status) VALUES(?1, ?2, ?3, ?4, coalesce(?5, ''), ?6)"
		   " ON CONFLICT(name) DO UPDATE SET last_sync = ?3, sync_accounts = ?4,"
		   " sync_cookie = coalesce(?5, systems.sync_cookie), sync_status = ?6");

	if (st == NULL)
		return STORE_ERR;
	bind(st, 1, sys);
	bind(st, 2, domain);
	db_bind_int64(st, 3, r->last_sync);
	db_bind_int64(st, 4, r->accounts);
	if (r->cookie)
		bind(st, 5, r->cookie);
	bind(st, 6, r->status);
	return store_run(s, st, "store system sync state");
}

void store_sys_sync_free(struct sys_sync *r)
{
	free(r->cookie);
	r->cookie = NULL;
}

/* --- dir_accounts --- */

/* load: the rows of ST (SYS bound to ?1), each read by READ into an
 * element of SIZE bytes, into *V_R (*N_R of them); FREE frees them. */
static int load(struct store *s, struct db_stmt *st, const char *sys, size_t size,
		void (*read)(struct db_stmt *st, void *el), void (*free_fn)(void *v, size_t n),
		void **v_r, size_t *n_r)
{
	char *v = NULL;
	size_t n = 0, cap = 0;
	int rc;

	if (st == NULL)
		return STORE_ERR;
	bind(st, 1, sys);
	while ((rc = db_step(st)) == DB_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = xrealloc(v, cap * size);
		}
		read(st, v + n++ * size);
	}
	db_reset(st);
	if (rc != DB_DONE) {
		free_fn(v, n);
		return store_fail(s, "directory sync load");
	}
	*v_r = v;
	*n_r = n;
	return STORE_OK;
}

static void read_dacc(struct db_stmt *st, void *el)
{
	*(struct dacc *)el = (struct dacc){col(st, 0), col(st, 1), col(st, 2),
					   col(st, 3), col(st, 4), col(st, 5)};
}

static void free_dacc(void *v, size_t n)
{
	store_dacc_free(v, n);
}

int store_dacc_load(struct store *s, const char *sys, struct dacc **v_r, size_t *n_r)
{
	struct db_stmt *st = store_prepare(s, "SELECT key, access, physical, aliases, name, grp"
					    " FROM dir_accounts WHERE system = ?1 ORDER BY key");

	return load(s, st, sys, sizeof(**v_r), read_dacc, free_dacc, (void **)v_r, n_r);
}

static int dacc_insert(struct store *s, const char *sys, const struct dacc *a, long long now)
{
	struct db_stmt *st = store_prepare(s, "INSERT INTO dir_accounts(system, key,"
					    " access, physical, aliases, name, grp, seen)"
					    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
					    " ON CONFLICT(system, key) DO UPDATE SET"
					    " access = ?3, physical = ?4, aliases = ?5, name = ?6,"
					    " grp = ?7, seen = ?8");

	if (st == NULL)
		return STORE_ERR;
	bind(st, 1, sys);
	bind(st, 2, a->key);
	bind(st, 3, a->access);
	bind(st, 4, a->physical);
	bind(st, 5, a->aliases);
	bind(st, 6, a->name);
	bind(st, 7, a->grp);
	db_bind_int64(st, 8, now);
	return store_run(s, st, "store directory sync account");
}

int store_dacc_replace(struct store *s, const char *sys, const struct dacc *v, size_t n,
		       long long now)
{
	struct db_stmt *del = store_prepare(s, "DELETE FROM dir_accounts WHERE system = ?1");
	int own, rc, attempt = 0;

	if (del == NULL)
		return STORE_ERR;
	do {
		if (store_own_begin(s, &own) < 0)
			return STORE_ERR;
		bind(del, 1, sys);
		rc = store_run(s, del, "clear directory sync accounts");
		for (size_t i = 0; i < n && rc == STORE_OK; i++)
			rc = dacc_insert(s, sys, &v[i], now);
		rc = store_own_end(s, own, rc);
	} while (store_own_retry(s, own, rc, &attempt));
	return rc;
}

int store_dacc_get(struct store *s, const char *sys, const char *key, struct dacc *a)
{
	struct db_stmt *st = store_prepare(s, "SELECT key, access, physical, aliases, name, grp"
					    " FROM dir_accounts WHERE system = ?1 AND key = ?2");
	int rc;

	memset(a, 0, sizeof(*a));
	if (st == NULL)
		return STORE_ERR;
	bind(st, 1, sys);
	bind(st, 2, key);
	rc = db_step(st);
	if (rc == DB_ROW)
		read_dacc(st, a);
	db_reset(st);
	if (rc == DB_ROW)
		return STORE_OK;
	return rc == DB_DONE ? STORE_NOTFOUND : store_fail(s, "directory sync account");
}

int store_dacc_count(struct store *s, const char *sys, long long *n_r)
{
	struct db_stmt *st = store_prepare(s, "SELECT count(*) FROM dir_accounts WHERE system = ?1");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	bind(st, 1, sys);
	rc = db_step(st);
	*n_r = rc == DB_ROW ? db_column_int64(st, 0) : 0;
	db_reset(st);
	return rc == DB_ROW ? STORE_OK : store_fail(s, "count directory sync accounts");
}

int store_dacc_access_key(struct store *s, const char *sys, const char *access, char **key_r)
{
	struct db_stmt *st = store_prepare(s, "SELECT key FROM dir_accounts WHERE access = ?1"
					    " AND system = ?2");

	if (st == NULL)
		return STORE_ERR;
	bind(st, 2, sys);
	return store_list_of(s, st, access, key_r);
}

int store_dacc_conflicted(struct store *s, const char *sys, struct dacc **v_r, size_t *n_r)
{
	/* Conflicts are few: each one's accounts of SYS, by any address. */
	struct db_stmt *st = store_prepare(
		s, "SELECT a.key, a.access, a.physical, a.aliases, a.name, a.grp"
		   " FROM dir_conflicts c CROSS JOIN dir_accounts a"
		   " WHERE " STORE_WORD_IN("?1", "c.systems") " AND a.system = ?1"
		   " AND (a.access = c.address OR a.physical = c.address"
		   " OR " STORE_WORD_IN("c.address", "a.aliases") ")");

	return load(s, st, sys, sizeof(**v_r), read_dacc, free_dacc, (void **)v_r, n_r);
}

int store_dacc_apply(struct store *s, const char *sys, const struct dacc *put, size_t n,
		     const char *const *del, size_t m, long long now)
{
	struct db_stmt *st = store_prepare(s, "DELETE FROM dir_accounts WHERE system = ?1"
					    " AND key = ?2");
	int own, rc, attempt = 0;

	if (st == NULL)
		return STORE_ERR;
	do {
		if (store_own_begin(s, &own) < 0)
			return STORE_ERR;
		rc = STORE_OK;
		for (size_t i = 0; i < m && rc == STORE_OK; i++) {
			bind(st, 1, sys);
			bind(st, 2, del[i]);
			rc = store_run(s, st, "delete directory sync account");
		}
		for (size_t i = 0; i < n && rc == STORE_OK; i++)
			rc = dacc_insert(s, sys, &put[i], now);
		rc = store_own_end(s, own, rc);
	} while (store_own_retry(s, own, rc, &attempt));
	return rc;
}

void store_dacc_clear(struct dacc *a)
{
	free(a->key);
	free(a->access);
	free(a->physical);
	free(a->aliases);
	free(a->name);
	free(a->grp);
	memset(a, 0, sizeof(*a));
}

void store_dacc_free(struct dacc *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_dacc_clear(&v[i]);
	free(v);
}

int store_dacc_physical(struct store *s, const char *sys, const char *physical, struct dacc *a)
{
	struct db_stmt *st = store_prepare(s, "SELECT key, access, physical, aliases, name, grp"
					    " FROM dir_accounts WHERE system = ?1 AND physical = ?2"
					    " ORDER BY key LIMIT 1");
	int rc;

	memset(a, 0, sizeof(*a));
	if (st == NULL)
		return STORE_ERR;
	bind(st, 1, sys);
	bind(st, 2, physical);
	rc = db_step(st);
	if (rc == DB_ROW)
		*a = (struct dacc){col(st, 0), col(st, 1), col(st, 2), col(st, 3), col(st, 4), col(st, 5)};
	db_reset(st);
	if (rc == DB_ROW)
		return STORE_OK;
	return rc == DB_DONE ? STORE_NOTFOUND : store_fail(s, "directory sync account");
}

int store_dacc_group(struct store *s, const char *dn, char **list_r)
{
	struct db_stmt *st = store_prepare(
		s, store_sql(s,
			     "SELECT DISTINCT access FROM dir_accounts WHERE access <> '' AND"
			     " (lower(grp) = lower(?1) OR lower(substr(grp, -length(?1) - 1)) ="
			     " lower(',' || ?1)) ORDER BY access",
			     /* SQLite's lower() and negative substr(): ASCII only under
			      * the C collation, right() */
			     "SELECT DISTINCT access FROM dir_accounts WHERE access <> '' AND"
			     " (lower(grp COLLATE \"C\") = lower(CAST(?1 AS TEXT) COLLATE \"C\") OR"
			     " lower(right(grp, length(?1) + 1) COLLATE \"C\") ="
			     " lower((',' || ?1) COLLATE \"C\")) ORDER BY access"));

	return st ? store_list_of(s, st, dn, list_r) : STORE_ERR;
}

/* --- directory writes --- */

int store_dir_put(struct store *s, const char *access, const char *system, const char *physical,
		  const char *const *aliases, size_t n, const char *name, long long now)
{
	struct db_stmt *st = store_prepare(
		s, "INSERT INTO directory(access, system, physical, name, updated)"
		   " VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(access) DO UPDATE SET system = ?2,"
		   " physical = ?3, name = ?4, updated = ?5");
	int own, rc, attempt = 0;

	if (st == NULL)
		return STORE_ERR;
	do {
		if (store_own_begin(s, &own) < 0)
			return STORE_ERR;
		bind(st, 1, access);
		bind(st, 2, system);
		bind(st, 3, physical);
		bind(st, 4, name);
		db_bind_int64(st, 5, now);
		rc = store_run(s, st, "store directory entry");
		if (rc == STORE_OK)
			rc = store_put_aliases(s, access, aliases, n);
		rc = store_own_end(s, own, rc);
	} while (store_own_retry(s, own, rc, &attempt));
	return rc;
}

int store_dir_remove(struct store *s, const char *access)
{
	static const char *const sql[] = {
		"DELETE FROM aliases WHERE access = ?1",
		"DELETE FROM formers WHERE access = ?1",
		"DELETE FROM directory WHERE access = ?1",
	};
	int own, rc, attempt = 0;

	do {
		if (store_own_begin(s, &own) < 0)
			return STORE_ERR;
		rc = STORE_OK;
		for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]) && rc == STORE_OK; i++) {
			struct db_stmt *st = store_prepare(s, sql[i]);

			if (st == NULL) {
				rc = STORE_ERR;
				break;
			}
			bind(st, 1, access);
			rc = store_run(s, st, "remove directory entry");
		}
		rc = store_own_end(s, own, rc);
	} while (store_own_retry(s, own, rc, &attempt));
	return rc;
}

int store_dir_name(struct store *s, const char *access, char **name_r)
{
	struct db_stmt *st = store_prepare(s, "SELECT name FROM directory WHERE access = ?1");

	return st ? store_list_of(s, st, access, name_r) : STORE_ERR;
}

int store_dir_each_named(struct store *s, store_dir_named_fn fn, void *ctx)
{
	struct db_stmt *st = store_prepare(s, "SELECT access, system, name FROM directory"
					    " ORDER BY access");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	while ((rc = db_step(st)) == DB_ROW) {
		const char *a = db_column_text(st, 0);
		const char *sys = db_column_text(st, 1);
		const char *name = db_column_text(st, 2);

		if (fn(ctx, a ? a : "", sys ? sys : "", name ? name : "") != 0) {
			rc = DB_DONE;
			break;
		}
	}
	db_reset(st);
	return rc == DB_DONE ? STORE_OK : store_fail(s, "directory list");
}

/* --- dir_contacts --- */

static void read_dcontact(struct db_stmt *st, void *el)
{
	*(struct dcontact *)el = (struct dcontact){col(st, 0), col(st, 1), col(st, 2), col(st, 3),
						   (int)db_column_int64(st, 4)};
}

static void free_dcontact(void *v, size_t n)
{
	store_dcontact_free(v, n);
}

int store_dcontact_load(struct store *s, const char *sys, struct dcontact **v_r, size_t *n_r)
{
	struct db_stmt *st = store_prepare(s, "SELECT address, key, name, reason, state"
					    " FROM dir_contacts WHERE system = ?1 ORDER BY address");

	return load(s, st, sys, sizeof(**v_r), read_dcontact, free_dcontact, (void **)v_r, n_r);
}

int store_dcontact_put(struct store *s, const char *sys, const struct dcontact *c,
		       long long now)
{
	struct db_stmt *st = store_prepare(s, "INSERT INTO dir_contacts(system, address,"
					    " key, name, state, reason, updated)"
					    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)"
					    " ON CONFLICT(system, address) DO UPDATE SET key = ?3,"
					    " name = ?4, state = ?5, reason = ?6, updated = ?7");

	if (st == NULL)
		return STORE_ERR;
	bind(st, 1, sys);
	bind(st, 2, c->address);
	bind(st, 3, c->key);
	bind(st, 4, c->name);
	db_bind_int64(st, 5, c->state);
	bind(st, 6, c->reason);
	db_bind_int64(st, 7, now);
	return store_run(s, st, "store downward contact");
}

int store_dcontact_del(struct store *s, const char *sys, const char *address)
{
	struct db_stmt *st =
		store_prepare(s, "DELETE FROM dir_contacts WHERE system = ?1 AND address = ?2");

	if (st == NULL)
		return STORE_ERR;
	bind(st, 1, sys);
	bind(st, 2, address);
	return store_run(s, st, "remove downward contact");
}

int store_dcontact_apply(struct store *s, const char *sys, const struct dcontact *put, size_t n,
			 const char *const *del, size_t m, long long now)
{
	int own, rc, attempt = 0;

	if (n + m == 0)
		return STORE_OK;
	do {
		if (store_own_begin(s, &own) < 0)
			return STORE_ERR;
		rc = STORE_OK;
		for (size_t i = 0; i < n && rc == STORE_OK; i++)
			rc = store_dcontact_put(s, sys, &put[i], now);
		for (size_t i = 0; i < m && rc == STORE_OK; i++)
			rc = store_dcontact_del(s, sys, del[i]);
		rc = store_own_end(s, own, rc);
	} while (store_own_retry(s, own, rc, &attempt));
	return rc;
}

int store_dcontact_state(struct store *s, const char *sys, const char *address, int *state_r)
{
	struct db_stmt *st = store_prepare(
		s, "SELECT state FROM dir_contacts WHERE system = ?1 AND address = ?2");
	int rc;

	if (st == NULL)
		return STORE_ERR;
	bind(st, 1, sys);
	bind(st, 2, address);
	rc = db_step(st);
	if (rc == DB_ROW)
		*state_r = (int)db_column_int64(st, 0);
	db_reset(st);
	if (rc == DB_ROW)
		return STORE_OK;
	return rc == DB_DONE ? STORE_NOTFOUND : store_fail(s, "downward contact");
}

void store_dcontact_free(struct dcontact *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].address);
		free(v[i].key);
		free(v[i].name);
		free(v[i].reason);
	}
	free(v);
}

/* --- dir_conflicts --- */

int store_dconflict_put(struct store *s, const char *address, const char *systems,
			const char *detail, long long now)
{
	struct db_stmt *st = store_prepare(s, "INSERT INTO dir_conflicts(address,"
					    " systems, detail, seen) VALUES(?1, ?2, ?3, ?4)"
					    " ON CONFLICT(address) DO UPDATE SET"
					    " systems = ?2, detail = ?3, seen = ?4");

	if (st == NULL)
		return STORE_ERR;
	bind(st, 1, address);
	bind(st, 2, systems);
	bind(st, 3, detail);
	db_bind_int64(st, 4, now);
	return store_run(s, st, "store directory conflict");
}

int store_dconflict_clear(struct store *s, const char *sys)
{
	struct db_stmt *st = store_prepare(
		s, "DELETE FROM dir_conflicts WHERE " STORE_WORD_IN("?1", "systems"));

	if (st == NULL)
		return STORE_ERR;
	bind(st, 1, sys);
	return store_run(s, st, "clear directory conflicts");
}

int store_dconflict_get(struct store *s, const char *address, char **systems_r)
{
	struct db_stmt *st = store_prepare(s, "SELECT systems FROM dir_conflicts WHERE address = ?1");

	return st ? store_list_of(s, st, address, systems_r) : STORE_ERR;
}
