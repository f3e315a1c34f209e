#!/bin/bash
# The store's unit tests on PostgreSQL: every test program that opens a
# store through tests/unit/testutil.h (tu_store_open) runs against a
# private PostgreSQL 15 (tests/lab/pg, its own port on 127.0.0.1, never
# the system cluster), one after the other: they share the database, and
# each test empties it first. Then the database is read with psql, so the
# run is known to have written there. Never skips: a missing piece is a
# failure. Under 3 minutes (a minute on a quiet machine).
#
# SQLite only, because they look into the database file or open the store
# by a path of their own: test_store's file tests (truncated in place,
# replaced or removed) and test_milter (its pool opens the path).
set -u

# shellcheck source=tests/lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lab/lib.sh"
# shellcheck source=tests/integ/lib_pg.sh
. "$ROOT/tests/integ/lib_pg.sh"
# name:checks on PostgreSQL (test_store: 2 file tests fewer, 1 lock test more).
TESTS="test_store:7 test_spm_store:9 test_store_agent:6 test_store_buffer:4 test_store_pim:3
	test_throttle:39 test_ws_store:5 test_status:40 test_dirsync:17 test_drv_buffer:11
	test_delim:30 test_fe_store:4 test_smd_lease:8 test_copy_engine:24 test_copy_tree:11"
FAILED=0
fail() { echo "FAIL store_pg: $*"; FAILED=1; }
for t in $TESTS; do
	[ -x "$B/tests/unit/${t%%:*}" ] || { echo "FAIL store_pg: $B/tests/unit/${t%%:*} not built (make unit)"; exit 1; }
done

pg_test_tmp store-pg
START=$SECONDS

echo "store_pg: tests/lab/pg start"
"$PG" start "$TMP/pg" >/dev/null || { fail "tests/lab/pg start"; exit 1; }
# shellcheck source=/dev/null
. "$TMP/pg/pg.env"
[ "$PG_PORT" != 5432 ] || fail "the lab server took the system port"

for t in $TESTS; do
	name=${t%%:*} want=${t##*:}
	echo "store_pg: $((SECONDS - START))s: $name"
	out=$(FEDMIG_TEST_STATE_DATABASE="$PG_URL" \
		FEDMIG_TEST_STATE_DATABASE_PASSWORD_FILE="$PG_PASSWORD_FILE" \
		CK_DEFAULT_TIMEOUT=60 "$B/tests/unit/$name" 2>&1)
	rc=$?
	summary=$(grep -o 'Checks: [0-9]*, Failures: [0-9]*, Errors: [0-9]*' <<<"$out")
	echo "  $name: $summary"
	if [ "$rc" != 0 ] || [ "$summary" != "Checks: $want, Failures: 0, Errors: 0" ]; then
		echo "$out" | grep -v '^fedmig\[' | sed "s/^/  $name: /" | tail -20
		fail "$name on PostgreSQL: exit $rc, '$summary' (want $want checks, all passed)"
	fi
done

# The last test's store is on the server, at the current schema version.
latest=$(sed -n 's/^[[:space:]]*{\([0-9][0-9]*\), .*/\1/p' "$ROOT/lib/store_schema.c" | tail -n 1)
v=$(PGPASSFILE=$TMP/pg/pgpass.server "$PSQL" -X -At -h 127.0.0.1 -p "$PG_PORT" -U fedmig \
	-d fedmig -c "SELECT max(version) FROM schema_version" 2>&1)
if [ -z "$latest" ] || [ "$v" != "$latest" ]; then
	fail "schema_version on the server: '$v', want '$latest'"
fi

"$PG" stop "$TMP/pg" || fail "tests/lab/pg stop"
elapsed=$((SECONDS - START))
echo "store_pg: ${elapsed}s"
[ "$elapsed" -lt 180 ] || fail "took ${elapsed}s (limit 180)"
[ "$FAILED" = 0 ] && echo "PASS store_pg"
exit "$FAILED"
