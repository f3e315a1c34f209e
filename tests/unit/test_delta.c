/*
 * The delta pass (delta.h) and its commands (delta_cmd.h) against the
 * fake server with CONDSTORE and QRESYNC (fake_imap_cs.c): an unchanged
 * folder costs one round trip (counted by the pass and by the server),
 * changes (flags, new, expunged) come back right in each mode, a
 * recreated folder is seen, the known-UIDs set is compact.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckmain.h"
#include "delta.h"
#include "delta_cmd.h"
#include "fake_imap.h"
#include "imap.h"

static struct imap_conn *login(struct fake_imap *srv)
{
	struct imap_opts o = {fake_imap_url(srv), IMAP_TLS_NONE, 0, NULL, 5000};
	char *err = NULL;
	struct imap_conn *c = imap_connect(&o, &err);

	ck_assert_msg(c != NULL, "connect: %s", err ? err : "");
	ck_assert_int_eq(imap_login(c, "u", NULL, NULL, "p"), 0);
	return c;
}

/* model: INBOX (UIDVALIDITY 7) with messages 1..3, modseqs 1..3. */
static struct fake_folder *model(struct fake_model *m, int condstore, int qresync)
{
	struct fake_folder *f = fake_folder_add(m, "INBOX", 7);

	m->condstore = condstore;
	m->qresync = qresync;
	fake_msg_add(f, "a\r\n", 3, "\\Seen", "01-Feb-2021 10:00:00 +0000");
	fake_msg_add(f, "b\r\n", 3, "", "01-Feb-2021 10:00:01 +0000");
	fake_msg_add(f, "c\r\n", 3, "$Work", "01-Feb-2021 10:00:02 +0000");
	return f;
}

/* change: message 2 flagged, 3 expunged, 4 new. */
static void change(struct fake_folder *f)
{
	fake_msg_flags(f, 2, "\\Flagged");
	fake_msg_expunge(f, 3);
	fake_msg_add(f, "d\r\n", 3, "", "01-Feb-2021 10:00:03 +0000");
}

static const uint32_t journal[] = {1, 2, 3};
static const char *const jflags[] = {"\\Seen", "", "$Work"};

/* pass: one session: log in, ENABLE when offered, one pass; the commands served. */
static unsigned pass(struct fake_model *m, const struct delta_base *b, struct delta_pass *r)
{
	unsigned before = m->commands;
	struct fake_imap *srv = fake_imap_start(m, NULL);
	struct imap_conn *c = login(srv);
	int q = delta_enable(c);

	ck_assert_int_eq(q, m->qresync ? 1 : 0);
	ck_assert_msg(delta_run(c, "INBOX", b, q, r) == 0, "pass: %s", r->err);
	imap_close(&c);
	fake_imap_stop(&srv);
	return m->commands - before;
}

/* expect_changes: what change() did, seen by the pass. */
static void expect_changes(const struct delta_pass *r)
{
	ck_assert(!r->unchanged && !r->uidvalidity_changed);
	ck_assert_uint_eq(r->nadded, 1);
	ck_assert_uint_eq(r->added[0].uid, 4);
	ck_assert_uint_eq(r->nvanished, 1);
	ck_assert_uint_eq(r->vanished[0], 3);
	ck_assert_uint_eq(r->nchanged, 1);
	ck_assert_uint_eq(r->changed[0].uid, 2);
	ck_assert_str_eq(r->changed[0].flags, "\\Flagged");
}

START_TEST(test_qresync)
{
	struct fake_model m = {0};
	struct fake_folder *f = model(&m, 1, 1);
	struct delta_base b = {7, 3, journal, 3, NULL};
	struct delta_pass r;

	/* Unchanged: one round trip for the folder (LOGIN, CAPABILITY and
	 * ENABLE are the session's). */
	ck_assert_uint_eq(pass(&m, &b, &r), 4);
	ck_assert_uint_eq(r.round_trips, 1);
	ck_assert_int_eq(r.mode, DELTA_MODE_QRESYNC);
	ck_assert(r.unchanged && r.nadded == 0 && r.nchanged == 0 && r.nvanished == 0);
	ck_assert_uint_eq(r.highestmodseq, 3);
	delta_pass_free(&r);
	/* Changed: still one round trip, the answers inside the EXAMINE. */
	change(f);
	ck_assert_uint_eq(pass(&m, &b, &r), 4);
	ck_assert_uint_eq(r.round_trips, 1);
	expect_changes(&r);
	ck_assert_uint_eq(r.highestmodseq, 6);
	ck_assert(r.changed[0].modseq == 4 && r.added[0].modseq == 6);
	delta_pass_free(&r);
	/* From the new mark: unchanged again. */
	b.highestmodseq = 6;
	ck_assert_uint_eq(pass(&m, &b, &r), 4);
	ck_assert(r.unchanged && r.round_trips == 1);
	delta_pass_free(&r);
	fake_model_free(&m);
}
END_TEST

START_TEST(test_condstore)
{
	struct fake_model m = {0};
	struct fake_folder *f = model(&m, 1, 0);
	struct delta_base b = {7, 3, journal, 3, NULL};
	struct delta_pass r;

	ck_assert_uint_eq(pass(&m, &b, &r), 3); /* no ENABLE offered */
	ck_assert(r.mode == DELTA_MODE_CONDSTORE && r.unchanged && r.round_trips == 1);
	delta_pass_free(&r);
	change(f);
	ck_assert_uint_eq(pass(&m, &b, &r), 4);
	ck_assert_uint_eq(r.round_trips, 2);
	expect_changes(&r);
	ck_assert_uint_eq(r.highestmodseq, 6);
	delta_pass_free(&r);
	fake_model_free(&m);
}
END_TEST

/* Without mod-sequences: a listing compared with the journal's flags. */
START_TEST(test_full)
{
	struct fake_model m = {0};
	struct fake_folder *f = model(&m, 0, 0);
	struct delta_base b = {7, 0, journal, 3, jflags};
	struct delta_pass r;

	ck_assert_uint_eq(pass(&m, &b, &r), 4);
	ck_assert(r.mode == DELTA_MODE_FULL && !r.unchanged && r.round_trips == 2);
	ck_assert(r.nadded == 0 && r.nchanged == 0 && r.nvanished == 0 && !r.flags_unknown);
	delta_pass_free(&r);
	change(f);
	pass(&m, &b, &r);
	expect_changes(&r);
	delta_pass_free(&r);
	/* The journal today has no flags: every present message is a candidate. */
	b.flags = NULL;
	pass(&m, &b, &r);
	ck_assert(r.flags_unknown && r.nchanged == 2 && r.nvanished == 1 && r.nadded == 1);
	delta_pass_free(&r);
	fake_model_free(&m);
}
END_TEST

/* QRESYNC offered, but the journal has no mod-sequence yet, or the folder none. */
START_TEST(test_fallbacks)
{
	struct fake_model m = {0};
	struct fake_folder *f = model(&m, 1, 1);
	struct delta_base b = {7, 0, journal, 3, jflags};
	struct delta_pass r;

	pass(&m, &b, &r);
	ck_assert(r.mode == DELTA_MODE_FULL && r.round_trips == 2 && r.highestmodseq == 3);
	ck_assert(r.nadded == 0 && r.nchanged == 0 && r.nvanished == 0);
	delta_pass_free(&r);
	f->nomodseq = 1;
	change(f);
	b.highestmodseq = 3;
	pass(&m, &b, &r);
	ck_assert(r.mode == DELTA_MODE_FULL && r.round_trips == 2 && r.highestmodseq == 0);
	expect_changes(&r);
	delta_pass_free(&r);
	fake_model_free(&m);
}
END_TEST

/* The folder was deleted and created again: the journal is void, one round trip. */
START_TEST(test_recreated)
{
	struct fake_model m = {0};

	model(&m, 1, 1);
	struct delta_base b = {6, 3, journal, 3, NULL};
	struct delta_pass r;

	pass(&m, &b, &r);
	ck_assert(r.uidvalidity_changed && r.uidvalidity == 7 && r.round_trips == 1);
	ck_assert(r.nadded == 0 && r.nvanished == 0);
	delta_pass_free(&r);
	fake_model_free(&m);
}
END_TEST

/* Two folders on one session: the second EXAMINE's [CLOSED] separates them. */
START_TEST(test_two_folders)
{
	struct fake_model m = {0};
	struct fake_folder *w, *f;

	model(&m, 1, 1);
	w = fake_folder_add(&m, "Work", 9); /* moves the folders: find INBOX after */
	f = fake_folder_find(&m, "INBOX");
	struct delta_base b = {7, 3, journal, 3, NULL}, bw = {9, 1, journal, 1, NULL};
	struct delta_pass r;

	fake_msg_add(w, "w\r\n", 3, "", "01-Feb-2021 10:00:00 +0000");
	change(f);
	struct fake_imap *srv = fake_imap_start(&m, NULL);
	struct imap_conn *c = login(srv);

	ck_assert_int_eq(delta_enable(c), 1);
	ck_assert_int_eq(delta_run(c, "INBOX", &b, 1, &r), 0);
	expect_changes(&r);
	delta_pass_free(&r);
	ck_assert_int_eq(delta_run(c, "Work", &bw, 1, &r), 0);
	ck_assert(r.unchanged && r.round_trips == 1 && r.uidvalidity == 9);
	delta_pass_free(&r);
	ck_assert_int_eq(delta_run(c, "Nonesuch", &bw, 1, &r), -1);
	ck_assert_ptr_nonnull(strstr(r.err, "EXAMINE: NO"));
	delta_pass_free(&r);
	imap_close(&c);
	fake_imap_stop(&srv);
	fake_model_free(&m);
}
END_TEST

/* UID FETCH 1:* (FLAGS) (CHANGEDSINCE n VANISHED), through the collector. */
START_TEST(test_changedsince)
{
	struct fake_model m = {0};
	struct fake_folder *f = model(&m, 1, 1);
	struct delta_seen s = {0};
	struct imap_handler h;
	enum imap_status st;

	change(f);
	struct fake_imap *srv = fake_imap_start(&m, NULL);
	struct imap_conn *c = login(srv);

	ck_assert_int_eq(delta_enable(c), 1);
	delta_seen_handler(&s, &h);
	imap_set_handler(c, &h);
	ck_assert_int_eq(imap_wait(c, delta_cmd_select(c, "INBOX", 1, 1, NULL), &st, NULL), 0);
	ck_assert(st == IMAP_OK && s.highestmodseq == 6 && s.uidvalidity == 7);
	delta_seen_reset(&s);
	ck_assert_int_eq(imap_wait(c, delta_cmd_fetch(c, 3, 1, 0), &st, NULL), 0);
	ck_assert_int_eq(st, IMAP_OK);
	delta_seen_done(&s);
	ck_assert_uint_eq(s.nf, 2);
	ck_assert(s.f[0].uid == 2 && s.f[0].modseq == 4 && s.f[1].uid == 4);
	ck_assert(s.ngone == 1 && s.gone[0].lo == 3 && s.gone[0].hi == 3);
	imap_set_handler(c, NULL);
	delta_seen_free(&s);
	imap_close(&c);
	fake_imap_stop(&srv);
	fake_model_free(&m);
}
END_TEST

/*
 * Known-UIDs restrict what a QRESYNC EXAMINE reports to those UIDs (RFC
 * 7162 3.2.5; Dovecot does so): the new message 4 is not in the answer.
 * This is why delta_run sends none.
 */
START_TEST(test_known_uids)
{
	struct fake_model m = {0};
	struct fake_folder *f = model(&m, 1, 1);
	struct delta_seen s = {0};
	struct delta_qresync q = {7, 3, "1:3"};
	struct imap_handler h;
	enum imap_status st;

	change(f);
	struct fake_imap *srv = fake_imap_start(&m, NULL);
	struct imap_conn *c = login(srv);

	ck_assert_int_eq(delta_enable(c), 1);
	delta_seen_handler(&s, &h);
	imap_set_handler(c, &h);
	ck_assert_int_eq(imap_wait(c, delta_cmd_select(c, "INBOX", 1, 1, &q), &st, NULL), 0);
	ck_assert_int_eq(st, IMAP_OK);
	delta_seen_done(&s);
	ck_assert(s.nf == 1 && s.f[0].uid == 2 && s.ngone == 1 && s.gone[0].lo == 3);
	delta_seen_reset(&s);
	q.known_uids = NULL;
	ck_assert_int_eq(imap_wait(c, delta_cmd_select(c, "INBOX", 1, 1, &q), &st, NULL), 0);
	delta_seen_done(&s);
	ck_assert(s.nf == 2 && s.f[1].uid == 4);
	imap_set_handler(c, NULL);
	delta_seen_free(&s);
	imap_close(&c);
	fake_imap_stop(&srv);
	fake_model_free(&m);
}
END_TEST

/* STATUS for a whole mailbox in one round trip: which folders moved. */
START_TEST(test_moved)
{
	struct fake_model m = {0};
	struct fake_folder *f;
	char names[300][16];
	struct delta_mark mk[300];
	unsigned rt;
	char *err = NULL;

	model(&m, 1, 1);
	for (int i = 1; i < 300; i++) {
		snprintf(names[i], sizeof(names[i]), "F%d", i);
		fake_folder_add(&m, names[i], 100 + (unsigned)i);
	}
	f = fake_folder_find(&m, "INBOX");
	change(f);
	fake_msg_add(fake_folder_find(&m, "F3"), "x\r\n", 3, "", "01-Feb-2021 10:00:00 +0000");
	mk[0] = (struct delta_mark){"INBOX", 7, 3, -1, 0, 0};
	for (int i = 1; i < 300; i++)
		mk[i] = (struct delta_mark){names[i], 100 + (unsigned)i, 0, -1, 0, 0};
	mk[1].highestmodseq = 0;      /* never recorded: moved */
	mk[2].uidvalidity = 1;	      /* recreated: moved */
	mk[299].folder = "Nonesuch";  /* refused: moved */
	mk[3].highestmodseq = 1;      /* F3 as recorded: not moved; F4.. unknown: moved */
	struct fake_imap *srv = fake_imap_start(&m, NULL);
	struct imap_conn *c = login(srv);

	ck_assert_int_eq(delta_moved(c, mk, 300, &rt, &err), 0);
	ck_assert_uint_eq(rt, 2); /* 300 folders: two batches */
	ck_assert(mk[0].moved == 1 && mk[1].moved == 1 && mk[2].moved == 1 && mk[299].moved == 1);
	ck_assert(mk[3].moved == 0 && mk[4].moved == 1 && mk[298].moved == 1);
	/* Unchanged against the new mark. */
	mk[0].highestmodseq = 6;
	ck_assert_int_eq(delta_moved(c, mk, 1, &rt, &err), 0);
	ck_assert(rt == 1 && mk[0].moved == 0);
	imap_close(&c);
	fake_imap_stop(&srv);
	/* Without CONDSTORE: all moved, nothing sent. */
	m.condstore = m.qresync = 0;
	srv = fake_imap_start(&m, NULL);
	c = login(srv);
	ck_assert_int_eq(delta_moved(c, mk, 1, &rt, &err), 0);
	ck_assert(rt == 0 && mk[0].moved == 1);
	imap_close(&c);
	fake_imap_stop(&srv);
	fake_model_free(&m);
}
END_TEST

/* The collector on hostile answers: fed one response at a time. */
static int feed(struct delta_seen *s, const char *text)
{
	struct imap_event ev;
	int rc;

	imap_event_parse(text, strlen(text), &ev);
	rc = delta_seen_event(s, &ev);
	imap_event_free(&ev);
	return rc;
}

START_TEST(test_collector_hostile)
{
	struct delta_seen s = {0};

	s.need_uid = 1;
	ck_assert_int_eq(feed(&s, "* 1 FETCH (UID 5 FLAGS (\\Recent \\Seen) MODSEQ (9))"), 0);
	ck_assert_str_eq(s.f[0].flags, "\\Seen"); /* \Recent is the session's: dropped */
	ck_assert_int_eq(feed(&s, "* VANISHED (EARLIER) 7:9,3"), 0);
	ck_assert_int_eq(feed(&s, "* OK [HIGHESTMODSEQ 12] x"), 0);
	ck_assert(s.nf == 1 && s.ngone == 2 && s.highestmodseq == 12);
	/* [CLOSED]: all that came before was the previous mailbox's. */
	ck_assert_int_eq(feed(&s, "* OK [CLOSED] x"), 0);
	ck_assert(s.nf == 0 && s.ngone == 0 && s.highestmodseq == 0);
	ck_assert_int_eq(feed(&s, "* 1 FETCH (FLAGS (\\Seen))"), -1);
	ck_assert_ptr_nonnull(strstr(s.err, "without UID"));
	s.err[0] = '\0';
	ck_assert_int_eq(feed(&s, "* 1 FETCH (UID 4294967296 FLAGS ())"), -1);
	s.err[0] = '\0';
	ck_assert_int_eq(feed(&s, "* VANISHED 0:5"), -1);
	s.err[0] = '\0';
	ck_assert_int_eq(feed(&s, "* 1 FETCH (UID 5 MODSEQ (0))"), -1);
	ck_assert_ptr_nonnull(strstr(s.err, "MODSEQ"));
	s.err[0] = '\0';
	/* Unasked, harmless: ignored. */
	ck_assert_int_eq(feed(&s, "* 3 EXPUNGE"), 0);
	ck_assert_int_eq(feed(&s, "* OK [HIGHESTMODSEQ 0] x"), 0);
	ck_assert_int_eq(feed(&s, "* LIST () \"/\" x"), 0);
	ck_assert(s.highestmodseq == 0 && s.err[0] == '\0');
	/* Without mod-sequences an unsolicited FETCH without UID is dropped. */
	s.need_uid = 0;
	ck_assert_int_eq(feed(&s, "* 1 FETCH (FLAGS (\\Seen))"), 0);
	ck_assert_uint_eq(s.nf, 0);
	delta_seen_free(&s);
}
END_TEST

START_TEST(test_uidset)
{
	static const uint32_t u[] = {1, 2, 3, 5, 7, 8, 4294967295u};
	char *s = delta_uidset(u, 7, 100);

	ck_assert_str_eq(s, "1:3,5,7:8,4294967295");
	free(s);
	ck_assert_ptr_null(delta_uidset(u, 7, 10));
	ck_assert_ptr_null(delta_uidset(u, 0, 100));
	s = delta_uidset(u, 1, 100);
	ck_assert_str_eq(s, "1");
	free(s);
}
END_TEST

int main(void)
{
	const struct ck_test tests[] = {
		CK_TEST(test_qresync),	   CK_TEST(test_condstore),    CK_TEST(test_full),
		CK_TEST(test_fallbacks),   CK_TEST(test_recreated),    CK_TEST(test_two_folders),
		CK_TEST(test_changedsince), CK_TEST(test_uidset), CK_TEST(test_collector_hostile),
		CK_TEST(test_known_uids),  CK_TEST(test_moved),
	};

	return ck_run(CK_SUITE("delta", "core", 30, tests));
}
