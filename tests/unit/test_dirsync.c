/* The directory sync engine (spm/dirsync.h) against a fake driver
 * (fake_dirdrv.c, records from memory): upward add, change, remove,
 * conflicts, adoption of CSV-imported entries, the shrink guards (full,
 * incremental, downward), failed listings, --force, downward add, update
 * and delete, DIR_EXISTS reported once, live requests, dry run == real. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckmain.h"
#include "dirsync.h"
#include "driver.h"
#include "fake_dirdrv.h"
#include "state.h"
#include "store_dir.h"
#include "store_int.h"
#include "store_req.h"
#include "testutil.h"

static char dir[] = "/tmp/test_dirsync_XXXXXX";
static struct config *cfg;
static struct store *s;

static void setup(void)
{
	char db[300], *err = NULL;

	snprintf(db, sizeof(db), "%s/t.db", dir);
	tu_rm_db(db);
	cfg = tu_config("state_database = %s\nrun_directory = %s\n"
			"federated_domains = example.org\nsystems = s1 s2\n"
			"s1_domain = s1.example.org\ns2_domain = s2.example.org\n"
			"s1_driver = none\ns2_driver = none\n"
			"s1_directory = passwd-file\ns2_directory = passwd-file\n",
			db, dir);
	s = tu_store_open(db, STORE_RDWR, 1000, &err);
	ck_assert_msg(s != NULL, "%s", err);
	fake_dir_reset();
}

static void teardown(void)
{
	store_close(&s);
	config_unref(&cfg);
}

/* run: one sync; its exit status, its output in *OUT_R (caller frees). */
static int run(int dry, int force, const char *only, char **out_r)
{
	struct dirsync_opts o = {.dry_run = dry, .force = force, .up = 1, .down = 1};
	struct dirsync_report rep;
	const char *v[1] = {only};
	size_t len;
	char *buf = NULL;
	FILE *fp = open_memstream(&buf, &len);

	if (only) {
		o.systems = v;
		o.nsystems = 1;
	}
	ck_assert_int_eq(dirsync_run(cfg, s, &o, fp, &rep), 0);
	fclose(fp);
	if (out_r)
		*out_r = buf;
	else
		free(buf);
	return dirsync_exit(&rep);
}

static int has(const char *out, const char *line)
{
	return strstr(out, line) != NULL;
}

static const char *owner(const char *addr, struct dir_entry *e)
{
	return store_dir_lookup(s, addr, e) == STORE_OK ? e->system : NULL;
}

static long long entries(void)
{
	long long n;

	ck_assert_int_eq(store_dir_count(s, &n), STORE_OK);
	return n;
}

/* many: N accounts uNN on SYS (uNN@example.org -> uNN@SYS.example.org). */
static void many(const char *sys, int n)
{
	for (int i = 0; i < n; i++) {
		char key[16], a[64], p[64];

		snprintf(key, sizeof(key), "%s-u%02d", sys, i);
		snprintf(a, sizeof(a), "%s-u%02d@example.org", sys, i);
		snprintf(p, sizeof(p), "%s-u%02d@%s.example.org", sys, i, sys);
		fake_acc(sys, key, a, p, "", "");
	}
}

START_TEST(test_add_change_remove)
{
	struct dir_entry e;
	char *out, *aliases;

	many("s1", 20);
	fake_acc("s1", "ann", "ann@example.org", "", "", "Ann");
	ck_assert_int_eq(run(0, 0, NULL, &out), 0);
	ck_assert_msg(has(out, "s1,up,add,ann@example.org,ann@s1.example.org\n"), "%s", out);
	ck_assert_str_eq(owner("ann@example.org", &e), "s1");
	ck_assert_str_eq(e.physical, "ann@s1.example.org"); /* derived */
	ck_assert_int_eq(entries(), 21);
	free(out);
	/* An alias and a new name: one change. */
	fake_acc("s1", "ann", "ann@example.org", "", "a.n@example.org", "Ann N");
	ck_assert_int_eq(run(0, 0, NULL, &out), 0);
	ck_assert_msg(has(out, "s1,up,change,ann@example.org,"), "%s", out);
	ck_assert_int_eq(store_dir_aliases(s, "ann@example.org", &aliases), STORE_OK);
	ck_assert_str_eq(aliases, "a.n@example.org");
	free(aliases);
	free(out);
	/* The same again: nothing. */
	ck_assert_int_eq(run(0, 0, NULL, &out), 0);
	ck_assert_msg(!has(out, ",up,change,") && !has(out, ",up,add,"), "%s", out);
	free(out);
	/* One of 21 gone (under 5 %): removed, with its alias. */
	fake_acc_drop("s1", "ann");
	ck_assert_int_eq(run(0, 0, NULL, &out), 0);
	ck_assert_msg(has(out, "s1,up,remove,ann@example.org,"), "%s", out);
	ck_assert_ptr_null(owner("ann@example.org", &e));
	ck_assert_ptr_null(owner("a.n@example.org", &e));
	free(out);
}
END_TEST

START_TEST(test_shrink_full)
{
	struct dir_entry e;
	char *out;

	many("s1", 20);
	ck_assert_int_eq(run(0, 0, NULL, NULL), 0);
	fake_dir[0].nacc = 10; /* half the listing gone */
	fake_acc("s1", "new", "new@example.org", "new@s1.example.org", "", "");
	ck_assert_int_eq(run(0, 0, NULL, &out), 1);
	ck_assert_msg(has(out, "s1,up,held,,"), "%s", out);
	ck_assert_msg(has(out, "s1,up,held,s1-u15@example.org,"), "%s", out);
	ck_assert_msg(!has(out, ",up,remove,"), "%s", out);
	ck_assert_msg(has(out, "s1,up,add,new@example.org,"), "additions still apply: %s", out);
	ck_assert_msg(has(out, "s1,up,summary,held,"), "%s", out);
	ck_assert_int_eq(entries(), 21);
	free(out);
	/* Held again next time: the last good listing was kept. */
	ck_assert_int_eq(run(0, 0, NULL, NULL), 1);
	ck_assert_int_eq(entries(), 21);
	/* --force applies the deletions. */
	ck_assert_int_eq(run(0, 1, NULL, &out), 0);
	ck_assert_msg(has(out, "s1,up,remove,s1-u15@example.org,"), "%s", out);
	ck_assert_ptr_null(owner("s1-u15@example.org", &e));
	ck_assert_int_eq(entries(), 11);
	free(out);
}
END_TEST

START_TEST(test_shrink_incremental)
{
	struct sys_sync ss;
	char *out;

	many("s1", 20);
	snprintf(fake_dir[0].cookie, sizeof(fake_dir[0].cookie), "c1");
	ck_assert_int_eq(run(0, 0, NULL, NULL), 0);
	/* An incremental listing: one change, two deletions (10 %). */
	fake_dir[0].incremental = 1;
	fake_dir[0].nacc = 0;
	fake_acc("s1", "s1-u03", "s1-u03@example.org", "s1-u03@s1.example.org", "", "Three");
	snprintf(fake_dir[0].gone[0], 64, "s1-u01");
	snprintf(fake_dir[0].gone[1], 64, "s1-u02");
	fake_dir[0].ngone = 2;
	snprintf(fake_dir[0].cookie, sizeof(fake_dir[0].cookie), "c2");
	ck_assert_int_eq(run(0, 0, NULL, &out), 1);
	ck_assert_str_eq(fake_dir[0].got_cookie, "c1");
	ck_assert_msg(has(out, "s1,up,held,s1-u01@example.org,"), "%s", out);
	ck_assert_msg(has(out, "s1,up,change,s1-u03@example.org,"), "%s", out);
	ck_assert_int_eq(entries(), 20);
	ck_assert_int_eq(store_sys_sync_get(s, "s1", &ss), STORE_OK);
	ck_assert_str_eq(ss.cookie, "c1"); /* the deletions come again */
	ck_assert_str_eq(ss.status, "held");
	store_sys_sync_free(&ss);
	free(out);
	ck_assert_int_eq(run(0, 1, NULL, &out), 0);
	ck_assert_msg(has(out, "s1,up,remove,s1-u02@example.org,"), "%s", out);
	ck_assert_int_eq(entries(), 18);
	ck_assert_int_eq(store_sys_sync_get(s, "s1", &ss), STORE_OK);
	ck_assert_str_eq(ss.cookie, "c2");
	ck_assert_int_eq(ss.accounts, 18);
	store_sys_sync_free(&ss);
	free(out);
}
END_TEST

START_TEST(test_failed_listing)
{
	struct sys_sync ss;
	char *out;

	many("s1", 3);
	ck_assert_int_eq(run(0, 0, NULL, NULL), 0);
	ck_assert_int_eq(store_sys_sync_get(s, "s1", &ss), STORE_OK);
	long long good = ss.last_sync;

	store_sys_sync_free(&ss);
	fake_dir[0].nacc = 0;
	fake_dir[0].list_rc = DRV_TEMP;
	ck_assert_int_eq(run(0, 1, NULL, &out), 2); /* even with --force */
	ck_assert_msg(has(out, "s1,up,failed,,"), "%s", out);
	ck_assert_msg(has(out, "s1,up,summary,failed,"), "%s", out);
	ck_assert_int_eq(entries(), 3);
	ck_assert_int_eq(store_sys_sync_get(s, "s1", &ss), STORE_OK);
	ck_assert_int_eq(ss.last_sync, good);
	ck_assert_str_eq(ss.status, "failed");
	store_sys_sync_free(&ss);
	free(out);
}
END_TEST

START_TEST(test_conflict)
{
	struct dir_entry e;
	char *out, *sys;

	fake_acc("s1", "x1", "x@example.org", "x@s1.example.org", "", "");
	fake_acc("s2", "x2", "x@example.org", "x@s2.example.org", "", "");
	fake_acc("s2", "y2", "y@example.org", "y@s2.example.org", "", "");
	ck_assert_int_eq(run(0, 0, "s2", NULL), 0); /* s2 first: x owned by s2 */
	ck_assert_str_eq(owner("x@example.org", &e), "s2");
	ck_assert_int_eq(run(0, 0, NULL, &out), 1);
	ck_assert_msg(has(out, "s1,up,conflict,x@example.org,listed by s1"), "%s", out);
	ck_assert_msg(has(out, "s2,up,conflict,x@example.org,"), "%s", out);
	ck_assert_str_eq(owner("x@example.org", &e), "s2"); /* nothing changed */
	ck_assert_str_eq(e.physical, "x@s2.example.org");
	ck_assert_int_eq(store_dconflict_get(s, "x@example.org", &sys), STORE_OK);
	ck_assert_msg(strstr(sys, "s1") && strstr(sys, "s2"), "%s", sys);
	free(sys);
	free(out);
	/* An alias claimed by another system is a conflict too. */
	fake_acc_drop("s1", "x1");
	fake_acc("s1", "z1", "z@example.org", "z@s1.example.org", "y@example.org", "");
	ck_assert_int_eq(run(0, 0, NULL, &out), 1);
	ck_assert_msg(has(out, "s1,up,conflict,y@example.org,"), "%s", out);
	ck_assert_ptr_null(owner("z@example.org", &e));
	free(out);
}
END_TEST

/* A conflict changes nothing downward: the contact s2 had for Ann stays
 * while s2 also lists her address (reported), and comes back to normal
 * when it stops. */
START_TEST(test_conflict_keeps_contact)
{
	char *out;

	fake_acc("s1", "ann", "ann@example.org", "", "", "Ann");
	fake_acc("s2", "bob", "bob@example.org", "", "", "Bob");
	many("s2", 30); /* one account gone is no shrink */
	ck_assert_int_eq(run(0, 0, NULL, NULL), 0);
	ck_assert_int_eq(fake_contact_has("s2", "ann@example.org", NULL), 1);
	fake_acc("s2", "ann2", "ann@example.org", "", "", "Ann Two");
	ck_assert_int_eq(run(0, 0, NULL, &out), 1);
	ck_assert_msg(has(out, "s2,up,conflict,ann@example.org,"), "%s", out);
	ck_assert_msg(has(out, "s2,down,conflict,ann@example.org,"), "%s", out);
	ck_assert_msg(!has(out, "s2,down,remove,ann@example.org"), "%s", out);
	ck_assert_int_eq(fake_contact_has("s2", "ann@example.org", NULL), 1);
	free(out);
	ck_assert_int_eq(run(0, 0, NULL, &out), 1); /* still standing: still kept */
	ck_assert_int_eq(fake_contact_has("s2", "ann@example.org", NULL), 1);
	free(out);
	fake_acc_drop("s2", "ann2");
	ck_assert_msg(run(0, 0, NULL, &out) == 0 && !has(out, ",conflict,"), "%s", out);
	ck_assert_int_eq(fake_contact_has("s2", "ann@example.org", NULL), 1);
	free(out);
}
END_TEST

/* The run in which the owner stops listing a conflicting address reports
 * no conflict: s1 is compared with s2's listing of this run, and the
 * address becomes s1's. */
START_TEST(test_conflict_cleared)
{
	struct dir_entry e;
	char *out, *sys;

	fake_acc("s1", "x1", "x@example.org", "x@s1.example.org", "", "");
	fake_acc("s2", "x2", "x@example.org", "x@s2.example.org", "", "");
	many("s2", 30);
	ck_assert_int_eq(run(0, 0, "s2", NULL), 0);
	ck_assert_int_eq(run(0, 0, NULL, &out), 1);
	ck_assert_msg(has(out, "s1,up,conflict,x@example.org,"), "%s", out);
	free(out);
	fake_acc_drop("s2", "x2");
	ck_assert_int_eq(run(1, 0, NULL, &out), 0); /* the dry run says the same */
	ck_assert_msg(!has(out, ",conflict,"), "%s", out);
	free(out);
	ck_assert_int_eq(run(0, 0, NULL, &out), 0);
	ck_assert_msg(!has(out, ",conflict,"), "%s", out);
	ck_assert_msg(has(out, "s1,up,change,x@example.org,"), "%s", out);
	ck_assert_str_eq(owner("x@example.org", &e), "s1");
	ck_assert_str_eq(e.physical, "x@s1.example.org");
	ck_assert_int_eq(store_dconflict_get(s, "x@example.org", &sys), STORE_OK);
	ck_assert_str_eq(sys, ""); /* cleared */
	free(sys);
	free(out);
}
END_TEST

/* seen_now: how many of SYS's stored accounts the last run wrote. */
static int seen_now(const char *sys)
{
	struct db_stmt *st = db_prepare(store_dbh(s), "SELECT count(*) FROM dir_accounts WHERE"
						       " system = ?1 AND seen = (SELECT max(seen)"
						       " FROM dir_accounts)");
	int n;

	ck_assert_ptr_nonnull(st);
	db_bind_text(st, 1, sys);
	ck_assert_int_eq(db_step(st), DB_ROW);
	n = (int)db_column_int64(st, 0);
	ck_assert_int_eq(db_reset(st), DB_DONE);
	return n;
}

/* An incremental listing costs its changes: the accounts it leaves alone
 * are not written again; one deletion and one change apply; an unchanged
 * account in a conflict is judged again (the other side cleared it). */
START_TEST(test_incremental_cost)
{
	struct dir_entry e;
	struct sys_sync ss;
	char *out;

	many("s1", 40);
	fake_acc("s1", "x1", "x@example.org", "x@s1.example.org", "", "");
	fake_acc("s2", "x2", "x@example.org", "x@s2.example.org", "", "");
	many("s2", 30);
	ck_assert_int_eq(run(0, 0, "s2", NULL), 0);
	snprintf(fake_dir[0].cookie, sizeof(fake_dir[0].cookie), "c1");
	ck_assert_int_eq(run(0, 0, NULL, NULL), 1); /* x: a conflict */
	ck_assert_int_eq(seen_now("s1"), 41);
	fake_dir[0].incremental = 1;
	fake_dir[0].nacc = 0;
	fake_acc("s1", "s1-u03", "s1-u03@example.org", "s1-u03@s1.example.org", "", "Three");
	snprintf(fake_dir[0].gone[0], 64, "s1-u01");
	fake_dir[0].ngone = 1;
	fake_acc_drop("s2", "x2");
	ck_assert_int_eq(run(0, 0, NULL, &out), 0);
	ck_assert_msg(has(out, "s1,up,change,s1-u03@example.org,"), "%s", out);
	ck_assert_msg(has(out, "s1,up,remove,s1-u01@example.org,"), "%s", out);
	ck_assert_msg(has(out, "s1,up,change,x@example.org,\"owner s2 -> s1"), "%s", out);
	ck_assert_msg(!has(out, ",conflict,"), "%s", out);
	ck_assert_str_eq(owner("x@example.org", &e), "s1");
	ck_assert_int_eq(seen_now("s1"), 2); /* s1-u03 and x1 */
	ck_assert_int_eq(store_sys_sync_get(s, "s1", &ss), STORE_OK);
	ck_assert_int_eq(ss.accounts, 40);
	store_sys_sync_free(&ss);
	free(out);
}
END_TEST

/* Both listings incremental: the conflict s1's pass finds is not erased
 * by s2's pass (nothing changed on s2), so s1's contact for x stays; the
 * next run, with no change on either side, still reports it. */
START_TEST(test_conflict_incremental)
{
	char *out, *sys;

	many("s1", 30);
	many("s2", 30);
	fake_acc("s2", "x2", "x@example.org", "x@s2.example.org", "", "X");
	snprintf(fake_dir[0].cookie, sizeof(fake_dir[0].cookie), "c1");
	snprintf(fake_dir[1].cookie, sizeof(fake_dir[1].cookie), "c1");
	ck_assert_int_eq(run(0, 0, NULL, NULL), 0);
	ck_assert_int_eq(fake_contact_has("s1", "x@example.org", NULL), 1);
	fake_dir[0].incremental = fake_dir[1].incremental = 1;
	fake_dir[0].nacc = fake_dir[1].nacc = 0;
	fake_acc("s1", "x1", "x@example.org", "x@s1.example.org", "", "");
	ck_assert_int_eq(run(0, 0, NULL, &out), 1);
	ck_assert_msg(has(out, "s1,up,conflict,x@example.org,"), "%s", out);
	ck_assert_msg(!has(out, "s1,down,remove,x@example.org"), "%s", out);
	ck_assert_int_eq(fake_contact_has("s1", "x@example.org", NULL), 1);
	ck_assert_int_eq(store_dconflict_get(s, "x@example.org", &sys), STORE_OK);
	ck_assert_msg(strstr(sys, "s1") && strstr(sys, "s2"), "%s", sys);
	free(sys);
	free(out);
	fake_dir[0].nacc = 0;
	ck_assert_int_eq(run(0, 0, NULL, &out), 1);
	ck_assert_msg(has(out, "s1,up,conflict,x@example.org,"), "%s", out);
	ck_assert_int_eq(fake_contact_has("s1", "x@example.org", NULL), 1);
	free(out);
}
END_TEST

static void import_row(const char *access, const char *sys, const char *phys)
{
	struct dir_row row = {access, sys, phys, NULL, 0, 2};
	struct dir_import_result res;

	ck_assert_int_eq(store_dir_import(s, &row, 1, 0, &res, NULL, NULL), STORE_OK);
}

START_TEST(test_adoption)
{
	struct dir_entry e;
	char *out, *name;

	import_row("bob@example.org", "s1", "bob@s1.example.org");
	fake_acc("s1", "bob", "bob@example.org", "bob@s1.example.org", "", "Bob");
	ck_assert_int_eq(run(0, 0, NULL, &out), 0);
	ck_assert_msg(has(out, "s1,up,change,bob@example.org,adopted; name '' -> 'Bob'"), "%s", out);
	ck_assert_msg(!has(out, ",up,add,"), "%s", out);
	ck_assert_int_eq(entries(), 1);
	ck_assert_str_eq(owner("bob@example.org", &e), "s1");
	ck_assert_int_eq(store_dir_name(s, "bob@example.org", &name), STORE_OK);
	ck_assert_str_eq(name, "Bob");
	free(name);
	free(out);
}
END_TEST

/* live: a request moving ACCESS from s1 to s2, switched. */
static void live(const char *access)
{
	struct req r;

	memset(&r, 0, sizeof(r));
	snprintf(r.access, sizeof(r.access), "%s", access);
	snprintf(r.target_system, sizeof(r.target_system), "s2");
	snprintf(r.scenario, sizeof(r.scenario), "default");
	ck_assert_int_eq(store_req_add(s, &r, 1, "t"), STORE_OK);
	snprintf(r.source_system, sizeof(r.source_system), "s1");
	r.state = ST_SWITCHED;
	r.updated = 2;
	ck_assert_int_eq(store_req_set(s, &r, ST_REGISTERED, "test", ""), STORE_OK);
}

START_TEST(test_live_request)
{
	struct dir_entry e;
	char *out;

	many("s1", 30);
	fake_acc("s1", "mo", "mo@example.org", "mo@s1.example.org", "", "");
	ck_assert_int_eq(run(0, 0, NULL, NULL), 0);
	live("mo@example.org");
	/* The target announces it (E4), the source stops listing it. */
	fake_acc("s2", "mo", "mo@example.org", "mo@s2.example.org", "", "");
	fake_acc_drop("s1", "mo");
	ck_assert_int_eq(run(0, 0, NULL, &out), 0);
	ck_assert_msg(!has(out, ",conflict,") && !has(out, "up,remove,mo@"), "%s", out);
	ck_assert_str_eq(owner("mo@example.org", &e), "s1"); /* the switch moves it */
	free(out);
}
END_TEST

START_TEST(test_down)
{
	const char *name;
	char *out;

	many("s1", 20);
	fake_acc("s1", "ann", "ann@example.org", "", "", "Ann");
	fake_acc("s2", "bob", "bob@example.org", "", "", "Bob");
	ck_assert_int_eq(run(0, 0, NULL, &out), 0);
	ck_assert_msg(has(out, "s2,down,add,ann@example.org,name 'Ann'"), "%s", out);
	ck_assert_msg(has(out, "s1,down,add,bob@example.org,"), "%s", out);
	ck_assert_int_eq(fake_contact_has("s2", "ann@example.org", &name), 1);
	ck_assert_str_eq(name, "Ann");
	ck_assert_int_eq(fake_contact_has("s1", "ann@example.org", NULL), 0); /* its own */
	ck_assert_uint_eq(fake_dir[1].ncontacts, 21);
	free(out);
	/* A new name is an update. */
	fake_acc("s1", "ann", "ann@example.org", "", "", "Ann B");
	ck_assert_int_eq(run(0, 0, NULL, &out), 0);
	ck_assert_msg(has(out, "s2,down,change,ann@example.org,"), "%s", out);
	ck_assert_int_eq(fake_contact_has("s2", "ann@example.org", &name), 1);
	ck_assert_str_eq(name, "Ann B");
	free(out);
	/* Ann leaves s1: her contact on s2 goes. */
	fake_acc_drop("s1", "ann");
	ck_assert_int_eq(run(0, 0, NULL, &out), 0);
	ck_assert_msg(has(out, "s2,down,remove,ann@example.org,gone"), "%s", out);
	ck_assert_int_eq(fake_contact_has("s2", "ann@example.org", NULL), 0);
	free(out);
	/* Half of s1 leaves, forced upward: downward, s2's contacts are held. */
	fake_dir[0].nacc = 10;
	ck_assert_int_eq(run(0, 0, NULL, NULL), 1);
	ck_assert_int_eq(entries(), 21); /* up held */
	struct dirsync_opts up = {.force = 1, .up = 1};
	struct dirsync_report rep;

	ck_assert_int_eq(dirsync_run(cfg, s, &up, NULL, &rep), 0);
	ck_assert_int_eq(entries(), 11);
	ck_assert_int_eq(run(0, 0, NULL, &out), 1);
	ck_assert_msg(has(out, "s2,down,held,,"), "%s", out);
	ck_assert_uint_eq(fake_dir[1].ncontacts, 20);
	free(out);
	ck_assert_int_eq(run(0, 1, NULL, &out), 0);
	ck_assert_uint_eq(fake_dir[1].ncontacts, 10);
	free(out);
}
END_TEST

START_TEST(test_exists_once)
{
	char *out;
	int state;

	fake_acc("s1", "ann", "ann@example.org", "", "", "Ann");
	snprintf(fake_dir[1].exists, sizeof(fake_dir[1].exists), "ann@example.org");
	ck_assert_int_eq(run(0, 0, NULL, &out), 0);
	ck_assert_msg(has(out, "s2,down,exists,ann@example.org,"), "%s", out);
	ck_assert_int_eq(fake_dir[1].puts, 1);
	ck_assert_int_eq(store_dcontact_state(s, "s2", "ann@example.org", &state), STORE_OK);
	ck_assert_int_eq(state, 1);
	free(out);
	ck_assert_int_eq(run(0, 0, NULL, &out), 0);
	ck_assert_msg(!has(out, "ann@example.org"), "reported again: %s", out);
	ck_assert_int_eq(fake_dir[1].puts, 1); /* not tried again */
	free(out);
}
END_TEST

START_TEST(test_switch_flip)
{
	struct dir_entry e;
	char *out;

	many("s1", 30);
	fake_acc("s1", "ann", "ann@example.org", "", "", "Ann");
	fake_acc("s2", "bob", "bob@example.org", "", "", "Bob");
	ck_assert_int_eq(run(0, 0, NULL, NULL), 0);
	ck_assert_int_eq(fake_contact_has("s2", "ann@example.org", NULL), 1);
	/* The switch: the owner flips, s2 forms her, s1 stops listing her. */
	ck_assert_int_eq(store_dir_switch(s, "ann@example.org", "s2", "ann@s2.example.org", 0, 5),
			 STORE_OK);
	fake_acc_drop("s1", "ann");
	fake_acc("s2", "ann", "ann@example.org", "", "", "Ann");
	ck_assert_msg(run(0, 0, NULL, &out) == 0, "%s", out);
	ck_assert_msg(has(out, "s2,down,remove,ann@example.org,lives here now"), "%s", out);
	free(out);
	ck_assert_str_eq(owner("ann@example.org", &e), "s2");
	ck_assert_int_eq(fake_contact_has("s2", "ann@example.org", NULL), 0);
	ck_assert_int_eq(fake_contact_has("s1", "ann@example.org", NULL), 1);
}
END_TEST

START_TEST(test_dry_run_equals_real)
{
	char *dry, *real, *again;
	long long n;

	many("s1", 20);
	fake_acc("s2", "x2", "s1-u01@example.org", "x@s2.example.org", "", "");
	import_row("bob@example.org", "s1", "bob@s1.example.org");
	fake_acc("s1", "bob", "bob@example.org", "bob@s1.example.org", "", "Bob");
	ck_assert_int_eq(run(1, 0, NULL, &dry), 1);
	ck_assert_int_eq(entries(), 1); /* nothing written */
	ck_assert_int_eq(fake_dir[0].puts + fake_dir[1].puts, 0);
	ck_assert_int_eq(run(1, 0, NULL, &again), 1);
	ck_assert_str_eq(dry, again);
	ck_assert_int_eq(run(0, 0, NULL, &real), 1);
	ck_assert_str_eq(dry, real);
	n = entries();
	ck_assert_int_gt(n, 1);
	free(dry);
	free(real);
	free(again);
	/* And a shrink, dry then real. */
	fake_dir[0].nacc = 5;
	ck_assert_int_eq(run(1, 1, NULL, &dry), 1);
	ck_assert_int_eq(entries(), n);
	ck_assert_int_eq(run(0, 1, NULL, &real), 1);
	ck_assert_str_eq(dry, real);
	free(dry);
	free(real);
}
END_TEST

START_TEST(test_group)
{
	char *list;

	fake_acc("s1", "a", "a@example.org", "", "", "");
	fake_acc("s1", "b", "b@example.org", "", "", "");
	fake_acc("s1", "c", "c@example.org", "", "", "");
	snprintf(fake_dir[0].acc[0].group, 128, "ou=PO1,dc=s1,dc=example,dc=org");
	snprintf(fake_dir[0].acc[1].group, 128, "ou=desk,ou=po1,dc=s1,dc=example,dc=org");
	snprintf(fake_dir[0].acc[2].group, 128, "ou=po10,dc=s1,dc=example,dc=org");
	ck_assert_int_eq(run(0, 0, NULL, NULL), 0);
	ck_assert_int_eq(store_dacc_group(s, "ou=po1,dc=s1,dc=example,dc=org", &list), STORE_OK);
	ck_assert_str_eq(list, "a@example.org b@example.org");
	free(list);
}
END_TEST

/* E5 through the target's fresh sync: its listing must have the access
 * address and every alias the directory has, on the target mailbox. */
START_TEST(test_announces)
{
	struct req r;
	const char *al[1] = {"m.o@example.org"};

	ck_assert_int_eq(store_dir_put(s, "mo@example.org", "s1", "mo@s1.example.org", al, 1, "",
				       1), STORE_OK);
	memset(&r, 0, sizeof(r));
	snprintf(r.access, sizeof(r.access), "mo@example.org");
	snprintf(r.target_system, sizeof(r.target_system), "s2");
	snprintf(r.target_physical, sizeof(r.target_physical), "mo@s2.example.org");
	ck_assert_int_eq(dirsync_announces(cfg, s, &r), 0); /* not listed */
	fake_acc("s2", "mo", "mo@example.org", "mo@s2.example.org", "", "");
	ck_assert_int_eq(dirsync_announces(cfg, s, &r), 0); /* no alias */
	fake_acc("s2", "mo", "mo@example.org", "mo@s2.example.org", "m.o@example.org", "");
	ck_assert_int_eq(dirsync_announces(cfg, s, &r), 1);
	fake_dir[1].list_rc = DRV_TEMP;
	ck_assert_int_eq(dirsync_announces(cfg, s, &r), 0); /* the driver decides */
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_TEST(test_add_change_remove), CK_TEST(test_shrink_full),
		CK_TEST(test_shrink_incremental), CK_TEST(test_failed_listing),
		CK_TEST(test_conflict), CK_TEST(test_conflict_keeps_contact),
		CK_TEST(test_conflict_cleared), CK_TEST(test_incremental_cost),
		CK_TEST(test_conflict_incremental),
		CK_TEST(test_adoption), CK_TEST(test_live_request),
		CK_TEST(test_down), CK_TEST(test_exists_once), CK_TEST(test_switch_flip),
		CK_TEST(test_dry_run_equals_real), CK_TEST(test_group), CK_TEST(test_announces),
	};
	Suite *suite = suite_create("dirsync");
	TCase *tc = CK_TCASE(suite, "core", 30, tests);

	tcase_add_checked_fixture(tc, setup, teardown);
	return tu_run_in_tmpdir(suite, dir);
}
