/* testutil: see testutil.h. */
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "ckmain.h"
#include "testutil.h"

void tu_tmpdir(char *dir, size_t dirsz, const char *prefix, char *db, size_t dbsz)
{
	int n = snprintf(dir, dirsz, "/tmp/%s-XXXXXX", prefix);

	ck_assert_msg(n > 0 && (size_t)n < dirsz, "temporary directory name too long: %s", prefix);
	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp %s: %s", dir, strerror(errno));
	n = snprintf(db, dbsz, "%s/t.db", dir);
	ck_assert_msg(n > 0 && (size_t)n < dbsz, "database name too long: %s/t.db", dir);
}

/* nftw() stops at the first entry that cannot be removed and returns -1
 * with errno still saying why. */
static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if ((flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

int tu_rmtree(const char *dir)
{
	if (nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
		return errno == ENOENT ? 0 : -1;
	return 0;
}

struct store *tu_store_fresh(const char *dir)
{
	char path[256], *err = NULL;
	struct store *s;

	snprintf(path, sizeof(path), "%s/t.db", dir);
	tu_rm_db(path);
	s = tu_store_open(path, STORE_RDWR, 1000, &err);
	ck_assert_msg(s != NULL, "%s", err ? err : "");
	return s;
}

void tu_store_sql(const char *dir, const char *q)
{
	char path[256];
	sqlite3 *db;

	if (tu_pg_url() != NULL) {
		tu_pg_sql(q);
		return;
	}
	snprintf(path, sizeof(path), "%s/t.db", dir);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_msg(sqlite3_exec(db, q, NULL, NULL, NULL) == SQLITE_OK, "%s: %s", q,
		      sqlite3_errmsg(db));
	sqlite3_close(db);
}

void tu_rm_db(const char *path)
{
	static const char *const sfx[] = {"-wal", "-shm"};
	char x[4096];
	size_t i;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		if (snprintf(x, sizeof(x), "%s%s", path, sfx[i]) < (int)sizeof(x))
			unlink(x);
	}
	unlink(path);
}

int tu_run_in_tmpdir(Suite *s, char *template)
{
	int rc;

	if (mkdtemp(template) == NULL) {
		fprintf(stderr, "mkdtemp %s: %m\n", template);
		return 1;
	}
	rc = ck_run(s);
	if (tu_rmtree(template) < 0) {
		fprintf(stderr, "cannot remove %s: %m\n", template);
		rc = 1;
	}
	return rc;
}

struct config *tu_config(const char *fmt, ...)
{
	char *text = NULL, *err = NULL;
	struct config *cfg;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	ck_assert_msg(n >= 0, "out of memory");
	cfg = config_parse(text, "test.conf", &err);
	ck_assert_msg(cfg != NULL, "%s", err ? err : "");
	free(text);
	return cfg;
}

int tu_feed_bytewise(tu_feed_fn *feed, void *parser, const char *in, size_t len, int more,
		     int done, int i, const char *name)
{
	int st = more;
	size_t k, used;

	for (k = 0; k < len; k++) {
		st = feed(parser, in + k, 1, &used);
		ck_assert_msg(used == 1, "case %d byte %zu: used %zu", i, k, used);
		if (st != more)
			break;
	}
	if (done)
		ck_assert_msg(k == len - 1, "case %d (%s): done at byte %zu of %zu", i, name, k,
			      len);
	return st;
}
