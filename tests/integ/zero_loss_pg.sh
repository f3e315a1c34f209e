#!/bin/bash
# The zero-loss test under faults (tests/e2e/zero_loss.py --pg, the
# federation of tests/e2e/fed_pg.py) on a private PostgreSQL 15 store
# (tests/lab/pg), with two of everything that may run twice: two Postfix
# front ends (the lab's "a" and a second lab's "b", each with its
# fedmig-milter, fedmig-policyd and fedmig-frontend), mail flowing into
# both (slow senders, two-recipient mail); a leading fedmig-spm and a
# --standby one; two fedmig-smd workers (w1, w2, smd_lease 10s). 24
# mailboxes migrate while, at random moments from the seed: kill -9 of a
# fedmig-frontend (restarted), of the leading fedmig-spm (the standby
# takes over; the killed one comes back as the standby), of worker w1's
# master while it copies (not restarted: w2 takes its mailboxes over
# after the lease), a restart of the PostgreSQL server, kill -9 of front
# end a's milter and policyd, S2's LMTP unreachable for 30 s and S1's
# for 20 s on front end a (deferred mail), 40 forced queue runs. Then,
# counted by Message-ID on both servers: every message exactly once,
# none at S1 after its switch, both front ends' queues empty (nothing on
# hold), every request complete and its mailbox verified, and the
# server's own answer that it held them. The seed is printed first;
# ZERO_LOSS_SEED repeats a run; ZERO_LOSS_LOGS=DIR keeps both labs' and
# the server's logs in DIR. Never skips. Under 4 minutes.
set -u

# shellcheck source=tests/lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lab/lib.sh"
# shellcheck source=tests/integ/lib_pg.sh
. "$ROOT/tests/integ/lib_pg.sh"
export ZERO_LOSS_PG=1 ZERO_LOSS_USERS=24
pg_lab_test zero_loss_pg "$ROOT/tests/integ/zero_loss.sh" \
	"SELECT count(*) FROM requests WHERE state = 10 AND switch_at > 0 AND release_at > 0" \
	"$ZERO_LOSS_USERS" 240
