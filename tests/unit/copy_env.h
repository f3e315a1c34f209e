/*
 * copy_env - what the copy engine's unit tests share (test_copy_engine.c,
 * test_copy_tree.c): mailbox models written as specs, two fake IMAP
 * servers (fake_imap.h) and a store per test, one run of copy_mailbox
 * (copy.h), plain or dying at a test hook in a child, and the delta
 * passes' helpers.
 *
 * Models are written as "INBOX#7=a0,b1|Work#9=c2": folders (with their
 * UIDVALIDITY, 1 when left out) and their messages in UID order; a letter
 * is a message body, the digit its flags (0 \Seen, 1 \Seen \Flagged
 * $Work, 2 none).
 */
#ifndef FEDMIG_TESTS_COPY_ENV_H
#define FEDMIG_TESTS_COPY_ENV_H

#include <signal.h>
#include <stddef.h>

#include "copy.h"
#include "fake_imap.h"
#include "store.h"

extern const char *const flagsets[];

struct env {
	struct fake_model src, dst;
	struct fake_imap *s, *d;
	char db[300];
	volatile sig_atomic_t stop;
	int timeout_ms; /* the engine's IMAP timeout */
	int switched;	/* copy_opts.switched: the delta rule */
	long crash_delta; /* copy_opts.crash_delta */
};

void body_of(char letter, char *out, size_t size);

void date_of(char letter, char *out, size_t size);

/* model_parse: SPEC into M (every folder subscribed). */
void model_parse(struct fake_model *m, const char *spec);

/* token: G as "a0" (letter and flags; '?' for a stranger). */
void token(const struct fake_msg *g, char out[3]);

/*
 * model_repr: M as a spec without UIDVALIDITY, folders by name, each
 * folder's messages sorted: after a failure the order of arrival is not
 * the source's, and what counts is which messages, how often.
 */
void model_repr(const struct fake_model *m, char *out, size_t size);

/*
 * env_start: the servers, the source stopping the run at its STOP_AT-th
 * body (0: never), with SPLIT the next body cut in two (fake_faults).
 */
void env_listen(struct env *e, const struct fake_faults *df, int stop_at, int split);

void env_serve(struct env *e);

void env_start(struct env *e, const struct fake_faults *df, int stop_at, int split);

void env_stop(struct env *e);

void opts_init(struct env *e, struct copy_opts *o, struct store *st, int batch);

struct store *store_at(const char *path);

/* run: one copy_mailbox against the running servers. */
int run(struct env *e, int batch, struct copy_result *r);

/*
 * run_crash: a copy in a child that dies at the test hook (CRASH_AFTER or
 * CRASH_MID). The servers are listening, not yet serving: they start
 * once the child is forked.
 */
void run_crash(struct env *e, int batch, long after, long mid);

/* flags_of: the flags of the message with LETTER's body in FOLDER, NULL when absent. */
const char *flags_of(struct fake_model *m, const char *folder, char letter);

/* count_of: how many messages of FOLDER have LETTER's body (duplicates). */
int count_of(struct fake_model *m, const char *folder, char letter);

void flags_is(struct fake_model *m, char letter, const char *want);

/* delta_pass: one run (crashing first at the N-th delta acknowledgement when N > 0). */
void delta_pass(struct env *e, long crash, struct copy_result *r);

void delta_env(struct env *e, const char *dir, const char *src);

void delta_done(struct env *e);

#endif
