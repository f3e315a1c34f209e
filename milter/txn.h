/*
 * txn - the milter's open SMTP transactions, and the status socket that
 * tells fedmig-spm about them.
 *
 * A transaction is open from its MAIL FROM until its end of message,
 * abort or connection close. fedmig-spm's release sweeps must go on until
 * no transaction begun before a switch is still open (DESIGN.md "The
 * switch, exactly", step 5): a client may send RCPT before the switch and
 * its final dot long after, and only the milter sees that transaction;
 * Postfix's queue shows nothing of it until the final dot.
 *
 * Contract: the registry is process-wide and thread-safe (libmilter runs
 * one thread per connection). A struct txn is embedded in the caller's
 * message context: registering never allocates, so it cannot fail.
 * txn_begin_at() stamps T->mail_us with the given start (µs) and adds T;
 * txn_end() removes it and is a no-op when T is not registered (so every
 * cleanup path may call it). txn_oldest() reports the smallest mail_us
 * (0 when none is open) and the count.
 *
 * txn_status_line() writes the one-line answer of the status socket
 * (lib/mstatus.h) into BUF (SIZE >= TXN_STATUS_MAX) and returns its
 * length.
 *
 * status_start() serves that line to every connection on the listening
 * socket LFD (from daemon_listen) from a thread of its own, with every
 * signal blocked in it so libmilter's signal thread gets SIGTERM; -1 with
 * *err_r (caller frees) if the thread cannot start. status_stop() ends
 * the thread and waits for it; it does not close LFD.
 */
#ifndef FEDMIG_MILTER_TXN_H
#define FEDMIG_MILTER_TXN_H

#include <stddef.h>

#include "mstatus.h"

#define TXN_STATUS_MAX MSTATUS_MAX

struct txn {
	long long mail_us;
	struct txn *prev, *next;
	int linked;
};

/* The milter passes the time of the connection's last synchronous reply. */
void txn_begin_at(struct txn *t, long long mail_us);
void txn_end(struct txn *t);
void txn_oldest(long long *oldest_r, size_t *count_r);
size_t txn_status_line(char *buf, size_t size);

int status_start(int lfd, char **err_r);
void status_stop(void);

#endif
