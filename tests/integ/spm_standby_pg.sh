#!/bin/bash
# tests/integ/spm_standby.sh with the state database on a lab PostgreSQL
# (tests/lab/pg): the leading pilot holds the advisory lock, a second one
# stands by, a third is refused; the leader is killed with KILL right
# after a hold, its connection (and lock) dies with it, the standby takes
# over and every request completes, every message delivered exactly once.
# The requests are then read on the server with psql, so the run is known
# to have used it. Never skips. Under 2 minutes.
set -u

# shellcheck source=tests/lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lab/lib.sh"
# shellcheck source=tests/integ/lib_pg.sh
. "$ROOT/tests/integ/lib_pg.sh"
FAILED=0
fail() { echo "FAIL spm_standby_pg: $*"; FAILED=1; }
pg_test_tmp spm-standby-pg
START=$SECONDS

pg_lab_start || { fail "tests/lab/pg start"; exit 1; }
echo "spm_standby_pg: $((SECONDS - START))s: spm_standby on $PG_URL"
LAB_STATE_DATABASE=$PG_URL PGPASSFILE=$TMP/pgpass "$ROOT/tests/integ/spm_standby.sh" ||
	fail "spm_standby on PostgreSQL"

n=$(PGPASSFILE=$TMP/pg/pgpass.server "$PSQL" -X -At -h 127.0.0.1 -p "$PG_PORT" -U fedmig \
	-d fedmig -c "SELECT count(*) FROM requests WHERE state = 10" 2>&1)
[ "$n" = 3 ] || fail "complete requests on the server (state 10): '$n', want 3"
elapsed=$((SECONDS - START))
echo "spm_standby_pg: ${elapsed}s"
[ "$elapsed" -lt 120 ] || fail "took ${elapsed}s (limit 120)"
[ "$FAILED" = 0 ] && echo "PASS spm_standby_pg"
exit "$FAILED"
