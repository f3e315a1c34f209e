/* tu_store: the store tests on either backend (testutil.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckmain.h"
#include "db.h"
#include "store_int.h"
#include "testutil.h"

const char *tu_pg_url(void)
{
	const char *u = getenv("FEDMIG_TEST_STATE_DATABASE");

	return u != NULL && db_is_url(u) ? u : NULL;
}

static const char *pg_password_file(void)
{
	return getenv("FEDMIG_TEST_STATE_DATABASE_PASSWORD_FILE");
}

void tu_pg_sql(const char *q)
{
	struct db_opts o = { .busy_ms = 5000, .password_file = pg_password_file() };
	char *err = NULL;
	struct db *db = db_open(tu_pg_url(), &o, &err);

	ck_assert_msg(db != NULL, "%s", err ? err : "");
	ck_assert_msg(db_exec(db, q) == DB_DONE, "%s: %s", q, db_errmsg(db));
	db_close(&db);
}

/* pg_fresh: an empty database, the store's schema dropped; PATH marks it
 * made (created only now, so a failure leaves no marker). */
static void pg_fresh(const char *path)
{
	int fd;

	tu_pg_sql("SET client_min_messages = warning;"
		  "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_msg(fd >= 0, "create %s: %s", path, strerror(errno));
	close(fd);
}

struct store *tu_store_open(const char *path, enum store_mode mode, int busy_ms, char **err_r)
{
	const char *url = tu_pg_url();

	if (url == NULL)
		return store_open(path, mode, busy_ms, err_r);
	if (access(path, F_OK) < 0) {
		if (mode != STORE_RDWR) {
			*err_r = strdup("no database (its marker file is missing)");
			return NULL;
		}
		pg_fresh(path);
	}
	return store_open_pw(url, mode, busy_ms, pg_password_file(), err_r);
}

void tu_exec(struct store *s, const char *q)
{
	ck_assert_msg(db_exec(store_dbh(s), q) == DB_DONE, "%s: %s", q,
		      db_errmsg(store_dbh(s)));
}
