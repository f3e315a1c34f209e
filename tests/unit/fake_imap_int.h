/*
 * fake_imap_int - what the pieces of the fake IMAP server share:
 * fake_imap.c (the session, RFC 3501) and fake_imap_cs.c (CONDSTORE and
 * QRESYNC, RFC 7162). Tests include fake_imap.h only.
 */
#ifndef FEDMIG_TESTS_FAKE_IMAP_INT_H
#define FEDMIG_TESTS_FAKE_IMAP_INT_H

#include <pthread.h>
#include <stddef.h>

#include "fake_imap.h"

struct fake_imap {
	struct fake_model *m;
	struct fake_faults fl;
	int lfd, wake[2];
	char url[64];
	pthread_t th;
	int running;
	int append_cmds, bodies;
};

struct conn {
	struct fake_imap *s;
	int fd;
	char buf[16384];
	size_t len, off;
	long lit_bytes; /* APPEND literal bytes read on this connection */
	struct fake_folder *sel;
	char line[8192];
	int holding; /* output held back (split_after_stop) */
	char *held;
	size_t nheld;
	int qresync; /* ENABLE QRESYNC was sent */
};

/* say, say_raw: to the client (or to the held output). */
void say(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void say_raw(struct conn *c, const char *d, size_t n);
/* in_set: UID in the set "a:b,c,d:*" (MAX stands for "*"). */
int in_set(const char *set, unsigned uid, unsigned max);
/* astring: a quoted string or an atom at *P into OUT (no literals). */
int astring(const char **p, char *out, size_t size);

/* fake_imap_cs.c: RFC 7162. */
/* cs_caps: the capability words the model offers beyond RFC 3501 ("" or " CONDSTORE ..."). */
const char *cs_caps(const struct fake_model *m);
void cs_enable(struct conn *c, const char *tag);
/*
 * cs_select: after SELECT/EXAMINE of F answered its RFC 3501 lines, ARGS
 * the rest of the command after the name: HIGHESTMODSEQ or NOMODSEQ, and
 * with QRESYNC the VANISHED (EARLIER) and FETCH answers. -1: answer BAD.
 */
int cs_select(struct conn *c, struct fake_folder *f, const char *args);
/*
 * cs_fetch_mods: the modifiers of a UID FETCH ("(CHANGEDSINCE n
 * [VANISHED])" after the items): *SINCE_R (0: none); with VANISHED, the
 * VANISHED (EARLIER) answer goes out now. -1: answer BAD.
 */
int cs_fetch_mods(struct conn *c, const char *set, const char *items, unsigned long long *since_r);
/* cs_touch: a message's flags changed: its mod-sequence moves. */
void cs_touch(struct fake_folder *f, struct fake_msg *m);
/* fake_msg_flags_add: UID STORE +FLAGS: ADD's flags to M's (a space list). */
void fake_msg_flags_add(struct fake_folder *f, struct fake_msg *m, const char *add);
/* fake_uid_expunge: UID EXPUNGE SET: its messages marked \Deleted go. */
void fake_uid_expunge(struct fake_folder *f, const char *set);

/* fake_imap_tree.c: RENAME, DELETE, UNSUBSCRIBE, UID MOVE and UID COPY; 1 when VERB was one. */
int tree_command(struct conn *c, const char *tag, const char *verb, const char *args);

#endif
