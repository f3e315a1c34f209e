#!/bin/bash
# tests/integ/spm_standby.sh with the state database on a lab PostgreSQL
# (tests/lab/pg): the leading pilot holds the advisory lock, a second one
# stands by, a third is refused; the leader is killed with KILL right
# after a hold, its connection (and lock) dies with it, the standby takes
# over and every request completes, every message delivered exactly once.
# Then the three requests are read complete (state 10) on the server with
# psql, so the run is known to have used it. Never skips. Under 2 minutes.
set -u

# shellcheck source=tests/lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lab/lib.sh"
# shellcheck source=tests/integ/lib_pg.sh
. "$ROOT/tests/integ/lib_pg.sh"
pg_lab_test spm_standby_pg "$ROOT/tests/integ/spm_standby.sh" \
	"SELECT count(*) FROM requests WHERE state = 10" 3
