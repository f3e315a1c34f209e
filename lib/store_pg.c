/*
 * store_pg - the store's parts that only PostgreSQL needs (contract in
 * store_int.h): the collation check at open, and the retry of a
 * transaction the store owns after a temporary error.
 */
#include <stdio.h>
#include <string.h>

#include "store_int.h"
#include "xalloc.h"

/*
 * store_pg_collation_ok: ORDER BY must compare bytes, as on SQLite (listings,
 * keyset pages): the database's collation must be C (or C.UTF-8, the
 * same order for UTF-8 text). Anything else is refused at open, not
 * found later as a listing in another order.
 */
int store_pg_collation_ok(struct store *s, const char *path, char **err_r)
{
	struct db_stmt *st = store_prepare(s, "SELECT datcollate FROM pg_database "
					      "WHERE datname = current_database()");
	char coll[64] = "";
	int rc;

	if (st == NULL) {
		*err_r = xasprintf("%s: %s", path, store_errmsg(s));
		return -1;
	}
	rc = db_step(st);
	if (rc == DB_ROW)
		store_text(st, 0, coll, sizeof(coll));
	if (db_reset(st) < 0 || rc != DB_ROW) {
		store_fail(s, "read the database's collation");
		*err_r = xasprintf("%s: %s", path, store_errmsg(s));
		return -1;
	}
	if (strcmp(coll, "C") != 0 && strcmp(coll, "POSIX") != 0 && strcmp(coll, "C.UTF-8") != 0 &&
	    strcmp(coll, "C.utf8") != 0) {
		*err_r = xasprintf("%s: the database's collation is %s; fedmig needs C (CREATE "
				   "DATABASE ... LC_COLLATE 'C' TEMPLATE template0)",
				   path, coll);
		return -1;
	}
	return 0;
}
