#!/bin/bash
# lib/db.h on both backends: the same test program (tests/unit/test_db.c)
# against SQLite and against a private PostgreSQL 15 (tests/lab/pg, its
# own port on 127.0.0.1, never the system cluster), with the server
# restarted in the middle of a connection's life. Then the database is
# read with psql, so the PostgreSQL run is known to have written there.
# Never skips: a missing piece is a failure. Under 60 s.
set -u

# shellcheck source=tests/lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lab/lib.sh"
# shellcheck source=tests/integ/lib_pg.sh
. "$ROOT/tests/integ/lib_pg.sh"
TEST_DB=$B/tests/unit/test_db
FAILED=0
fail() { echo "FAIL db_backends: $*"; FAILED=1; }
[ -x "$TEST_DB" ] || { echo "FAIL db_backends: $TEST_DB not built (make unit)"; exit 1; }
pg_test_tmp db-backends
START=$SECONDS

# run NAME [VAR=VALUE...]: test_db with these variables; its summary line.
run() {
	local name=$1 out
	echo "db_backends: $((SECONDS - START))s: test_db on $name"
	shift
	out=$(env "$@" CK_DEFAULT_TIMEOUT=60 "$TEST_DB" 2>&1)
	local rc=$?
	echo "$out" | sed "s/^/  $name: /"
	[ "$rc" = 0 ] || fail "test_db on $name exited $rc"
	SUMMARY=$(grep -o 'Checks: [0-9]*, Failures: [0-9]*, Errors: [0-9]*' <<<"$out")
}

run sqlite
[ "$SUMMARY" = "Checks: 8, Failures: 0, Errors: 0" ] || fail "sqlite: '$SUMMARY'"

echo "db_backends: $((SECONDS - START))s: tests/lab/pg start"
"$PG" start "$TMP/pg" >/dev/null || { fail "tests/lab/pg start"; exit 1; }
# shellcheck source=/dev/null
. "$TMP/pg/pg.env"
[ "$PG_PORT" != 5432 ] || fail "the lab server took the system port"
[ "$(stat -c %a "$PG_PASSWORD_FILE")" = 600 ] || fail "the password file is not 0600"
if pgrep -a postgres | grep -F -- "$TMP/pg/data" | grep -q "$(cat "$PG_PASSWORD_FILE")"; then
	fail "the password is on a command line"
fi
"$PG" start "$TMP/pg" 2>/dev/null && fail "a second start in the same DIR was accepted"

run postgresql FEDMIG_TEST_DB="$PG_URL" FEDMIG_TEST_DB_PASSWORD_FILE="$PG_PASSWORD_FILE" \
	FEDMIG_TEST_PG_DIR="$TMP/pg" FEDMIG_TEST_ROOT="$ROOT"
[ "$SUMMARY" = "Checks: 11, Failures: 0, Errors: 0" ] || fail "postgresql: '$SUMMARY'"

# What the last test committed after the restart is on the server.
v=$(PGPASSFILE=$TMP/pg/pgpass.server "$PSQL" -X -At -h 127.0.0.1 -p "$PG_PORT" -U fedmig \
	-d fedmig -c "SELECT v FROM t_kv WHERE k = 'n'" 2>&1)
[ "$v" = 10 ] || fail "t_kv.n on the server: '$v', want 10"

echo "db_backends: $((SECONDS - START))s: a wrong password"
# A wrong password: refused, and the error does not echo it.
(umask 077 && echo wrong-secret-42 >"$TMP/badpw")
out=$(FEDMIG_TEST_DB="$PG_URL" FEDMIG_TEST_DB_PASSWORD_FILE="$TMP/badpw" CK_RUN_CASE=db \
	CK_RUN_SUITE=db "$TEST_DB" 2>&1)
grep -q 'password authentication failed' <<<"$out" || fail "wrong password: $out"
grep -q 'wrong-secret-42' <<<"$out" && fail "the error repeats the password"

"$PG" stop "$TMP/pg" || fail "tests/lab/pg stop"
"$PG" stop "$TMP/pg" || fail "a second stop failed"
elapsed=$((SECONDS - START))
echo "db_backends: ${elapsed}s"
[ "$elapsed" -lt 60 ] || fail "took ${elapsed}s (limit 60)"
[ "$FAILED" = 0 ] && echo "PASS db_backends"
exit "$FAILED"
