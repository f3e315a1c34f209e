/* lib/db.h's pure parts: the ?N -> $N rewriter and the URL parser, on
 * ordinary and hostile input. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckmain.h"
#include "db.h"

static const struct {
	const char *in;
	const char *want; /* NULL: refused */
	int nparams;
} rewrites[] = {
	{"SELECT 1", "SELECT 1", 0},
	{"SELECT ?1, ?2 WHERE a = ?1", "SELECT $1, $2 WHERE a = $1", 2},
	{"SELECT '?1', ?1", "SELECT '?1', $1", 1},
	{"SELECT 'it''s ?2', ?1", "SELECT 'it''s ?2', $1", 1},
	{"SELECT \"a?1\"\"b\" FROM t WHERE x=?1", "SELECT \"a?1\"\"b\" FROM t WHERE x=$1", 1},
	{"SELECT ?1 -- ?2 'x\nFROM t", "SELECT $1 -- ?2 'x\nFROM t", 1},
	{"SELECT /* ?2 ' */ ?1", "SELECT /* ?2 ' */ $1", 1},
	{"SELECT ?10,?9,?8,?7,?6,?5,?4,?3,?2,?1", "SELECT $10,$9,$8,$7,$6,$5,$4,$3,$2,$1", 10},
	{"SELECT ?99", NULL, 0},   /* ?1..?98 missing */
	{"SELECT ?100", NULL, 0},
	{"SELECT ?0", NULL, 0},
	{"SELECT ?", NULL, 0},
	{"SELECT ?01", NULL, 0},
	{"SELECT ?2", NULL, 0},
	{"SELECT 'open", NULL, 0},
	{"SELECT \"open", NULL, 0},
	{"SELECT /* open", NULL, 0},
	{"SELECT $1", NULL, 0},
	{"SELECT $$x$$", NULL, 0},
	{"SELECT E'\\'' , ?1", NULL, 0},
	{"SELECT e'x'", NULL, 0},
	{"SELECT type'x', ?1", "SELECT type'x', $1", 1},
	{"SELECT 'a\\', ?1", "SELECT 'a\\', $1", 1},
	{"SELECT \\", NULL, 0},
	{"", "", 0},
};

START_TEST(test_rewrite)
{
	const char *err = NULL;
	int n = -1;
	char *out = db_rewrite_params(rewrites[_i].in, &n, &err);

	if (rewrites[_i].want == NULL) {
		ck_assert_msg(out == NULL, "%s: accepted as %s", rewrites[_i].in, out);
		ck_assert_ptr_nonnull(err);
		return;
	}
	ck_assert_msg(out != NULL, "%s: %s", rewrites[_i].in, err);
	ck_assert_str_eq(out, rewrites[_i].want);
	ck_assert_int_eq(n, rewrites[_i].nparams);
	free(out);
}
END_TEST

static const struct {
	const char *url;
	const char *want; /* "user|host|port|db", or a word of the error */
} urls[] = {
	{"postgresql://fedmig@127.0.0.1:5433/fedmig", "fedmig|127.0.0.1|5433|fedmig"},
	{"postgres://db.example.org/fed_mig", "|db.example.org||fed_mig"},
	{"postgresql://u@[::1]:6000/d", "u|::1|6000|d"},
	{"postgresql://u@[::1]/d", "u|::1||d"},
	{"postgresql://u:pw@h/d", "password"},
	{"postgresql://u:@h/d", "password"},
	{"postgresql://h/d?sslmode=disable", "parameters"},
	{"postgresql://h/d#x", "parameters"},
	{"postgresql://h/d%20x", "escapes"},
	{"postgresql://h", "no database"},
	{"postgresql://h/", "database name"},
	{"postgresql://h/a/b", "database name"},
	{"postgresql://h/d b", "database name"},
	{"postgresql://h:0/d", "port"},
	{"postgresql://h:65536/d", "port"},
	{"postgresql://h:99999999999999999999/d", "port"},
	{"postgresql://h:/d", "port"},
	{"postgresql://h:5x/d", "port"},
	{"postgresql://h:-1/d", "port"},
	{"postgresql://[::1/d", "IPv6"},
	{"postgresql://[::1]x/d", "IPv6"},
	{"postgresql://[g::1]/d", "host"},
	{"postgresql:///d", "host"},
	{"postgresql://h_x/d", "host"},
	{"postgresql://h x/d", "host"},
	{"postgresql://a@b@h/d", "host"},
	{"postgresql://@h/d", "user"},
	{"postgresql://u'x@h/d", "user"},
	{"postgresql://h/d'; DROP TABLE x", "database name"},
	{"postgresql://h/host=evil", "database name"},
	{"postgresql://u@h/dbname=x sslmode=disable", "database name"},
	{"http://h/d", "postgresql://"},
	{"postgresql://h/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "database"},
};

START_TEST(test_url)
{
	struct db_url u;
	char err[256] = "", got[512];
	int rc = db_url_parse(urls[_i].url, &u, err, sizeof(err));

	if (strchr(urls[_i].want, '|') != NULL) {
		ck_assert_msg(rc == 0, "%s: %s", urls[_i].url, err);
		snprintf(got, sizeof(got), "%s|%s|%s|%s", u.user, u.host, u.port, u.dbname);
		ck_assert_str_eq(got, urls[_i].want);
		return;
	}
	ck_assert_msg(rc < 0, "%s: accepted", urls[_i].url);
	ck_assert_msg(strstr(err, urls[_i].want) != NULL, "%s: '%s' lacks '%s'", urls[_i].url, err,
		      urls[_i].want);
	ck_assert_msg(strstr(err, "pw") == NULL, "the error repeats the password: %s", err);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {CK_LOOP(test_rewrite, rewrites), CK_LOOP(test_url, urls)};

	return ck_run(CK_SUITE("db_sql", "parse", 0, tests));
}
