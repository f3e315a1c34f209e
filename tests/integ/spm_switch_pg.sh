#!/bin/bash
# tests/integ/spm_switch_lab.sh with the state database on PostgreSQL:
# fedmig-spm, fedmig-milter, fedmig-policyd and fedmigctl of the real lab
# all on one private PostgreSQL 15 (tests/lab/pg), mail flowing while 20
# addresses switch; every message exactly once, never at S1 after its
# switch, nothing left on hold. The password reaches every program
# through libpq's PGPASSFILE, a 0600 file of the daemons' user (root's
# fedmigctl reads it too). Then the requests are read with psql, so the
# run is known to have used the server. Never skips. Under 2 minutes.
set -u

# shellcheck source=tests/lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lab/lib.sh"
# shellcheck source=tests/integ/lib_pg.sh
. "$ROOT/tests/integ/lib_pg.sh"
FAILED=0
fail() { echo "FAIL spm_switch_pg: $*"; FAILED=1; }
pg_test_tmp spm-switch-pg
START=$SECONDS

pg_lab_start || { fail "tests/lab/pg start"; exit 1; }

echo "spm_switch_pg: $((SECONDS - START))s: spm_switch_lab on $PG_URL"
LAB_STATE_DATABASE=$PG_URL PGPASSFILE=$TMP/pgpass "$ROOT/tests/integ/spm_switch_lab.sh" ||
	fail "spm_switch_lab on PostgreSQL"

n=$(PGPASSFILE=$TMP/pg/pgpass.server "$PSQL" -X -At -h 127.0.0.1 -p "$PG_PORT" -U fedmig \
	-d fedmig -c "SELECT count(*) FROM requests WHERE switch_at > 0 AND release_at > 0" 2>&1)
[ "$n" = "${SPM_LAB_ADDRESSES:-20}" ] || fail "switched requests on the server: '$n'"

"$PG" stop "$TMP/pg" || fail "tests/lab/pg stop"
elapsed=$((SECONDS - START))
echo "spm_switch_pg: ${elapsed}s"
[ "$elapsed" -lt 120 ] || fail "took ${elapsed}s (limit 120)"
[ "$FAILED" = 0 ] && echo "PASS spm_switch_pg"
exit "$FAILED"
