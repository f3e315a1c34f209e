/*
 * fake_imap - a small in-process IMAP server for the copy engine's unit
 * tests: a thread listening on 127.0.0.1 (port 0), serving one
 * connection at a time against an in-memory model (folders with
 * UIDVALIDITY and UIDNEXT, messages with bytes, flags and INTERNALDATE,
 * subscriptions). It speaks what the engine uses: CAPABILITY, LOGIN,
 * AUTHENTICATE PLAIN, LIST, LSUB, STATUS, CREATE, SUBSCRIBE, EXAMINE,
 * SELECT, UID FETCH, APPEND and MULTIAPPEND (LITERAL+), UID STORE, NOOP,
 * LOGOUT; with model->condstore or ->qresync RFC 7162 too (ENABLE,
 * HIGHESTMODSEQ, SELECT/EXAMINE (QRESYNC ...), MODSEQ, CHANGEDSINCE,
 * VANISHED: fake_imap_cs.c); and it misbehaves on demand (struct fake_faults).
 *
 * Contract: the model belongs to the server between fake_imap_start()
 * and fake_imap_stop() (which joins the thread and closes every socket);
 * the test reads or changes it only outside that window. A MULTIAPPEND
 * is all or nothing, as on a real server: a refused or cut command
 * leaves the folder as it was.
 */
#ifndef FEDMIG_TESTS_FAKE_IMAP_H
#define FEDMIG_TESTS_FAKE_IMAP_H

#include <signal.h>
#include <stddef.h>

struct fake_msg {
	unsigned uid;
	char *body;
	size_t len;
	char *flags; /* inside the parentheses, e.g. "\\Seen $Label1" */
	char date[40];
	unsigned long long modseq; /* RFC 7162: moves on every change */
};

/* An expunged message, for VANISHED (EARLIER). */
struct fake_gone {
	unsigned uid;
	unsigned long long modseq;
};

struct fake_folder {
	char *name;
	unsigned uidvalidity, uidnext;
	int subscribed;
	struct fake_msg *m;
	size_t n;
	unsigned long long modseq; /* HIGHESTMODSEQ */
	int nomodseq;		   /* answers [NOMODSEQ] */
	struct fake_gone *gone;
	size_t ngone;
};

struct fake_model {
	struct fake_folder *f;
	size_t nf;
	unsigned next_uidvalidity; /* for CREATE; 0: 1000 */
	int condstore, qresync;	   /* RFC 7162 offered (QRESYNC implies CONDSTORE) */
	int move;		   /* RFC 6851 MOVE offered */
	unsigned commands;	   /* commands served, all connections */
};

struct fake_faults {
	int no_uidplus;		 /* no UIDPLUS in CAPABILITY, no APPENDUID */
	int appenduid_missing;	 /* UIDPLUS offered, APPEND answered without APPENDUID */
	unsigned appenduid_uid_off; /* added to the UIDs APPENDUID names */
	unsigned appenduid_uv_off;  /* added to the UIDVALIDITY APPENDUID names */
	int append_no_at;	 /* the Nth APPEND command (from 1) is answered NO */
	long drop_after_bytes;	 /* > 0: cut the connection after so many APPEND literal bytes */
	const char *list_hides;	 /* a folder LIST "" "*" leaves out (a lagging listing) */
	volatile sig_atomic_t *stop; /* set just before the STOP_AT-th message body is sent */
	int stop_at;
	/* With it, *STOP is set only when that response goes out, together with
	 * its tagged OK, the next body's head and half that body in one write;
	 * the rest of that body 50 ms later. */
	int split_after_stop;
};

struct fake_folder *fake_folder_add(struct fake_model *m, const char *name, unsigned uidvalidity);
struct fake_folder *fake_folder_find(struct fake_model *m, const char *name);
/* fake_msg_add: a message with the next UID of F. */
struct fake_msg *fake_msg_add(struct fake_folder *f, const char *body, size_t len,
			      const char *flags, const char *date);
void fake_model_free(struct fake_model *m);
/* fake_msg_flags, fake_msg_expunge: change F's message UID (as another session would). */
void fake_msg_flags(struct fake_folder *f, unsigned uid, const char *flags);
void fake_msg_expunge(struct fake_folder *f, unsigned uid);
/* fake_imap_tree.c, as another session would: FROM renamed TO with its
 * children (-1: FROM missing or TO there), F deleted (pointers into m->f
 * move), UID moved to folder TO (a new UID there). */
int fake_folder_rename(struct fake_model *m, const char *from, const char *to);
void fake_folder_delete(struct fake_model *m, struct fake_folder *f);
void fake_msg_move(struct fake_folder *from, unsigned uid, struct fake_folder *to);

struct fake_imap;

/* fake_imap_start: serve M (with FAULTS, may be NULL); NULL on a socket error. */
struct fake_imap *fake_imap_start(struct fake_model *m, const struct fake_faults *faults);
/*
 * fake_imap_listen, fake_imap_serve: fake_imap_start in two halves, for a
 * test that forks a client: a fork while the server thread starts can
 * leave the child with a lock held for ever, so fork between the two
 * (connections wait in the backlog until the thread serves them).
 */
struct fake_imap *fake_imap_listen(struct fake_model *m, const struct fake_faults *faults);
int fake_imap_serve(struct fake_imap *s);
/* fake_imap_url: "imap://127.0.0.1:PORT". */
const char *fake_imap_url(const struct fake_imap *s);
void fake_imap_stop(struct fake_imap **s);

#endif
