# shellcheck shell=bash
# The tests that start a private PostgreSQL (tests/lab/pg): a temporary
# directory the server's user can reach, and a trap that stops the server
# by PID, checks that it is gone, and keeps the directory of a failed run
# (of every run with KEEP=1, as the lab keeps its own).
#
#   pg_test_tmp NAME   TMP=/tmp/fedmig-NAME.XXXXXX (0711), PG, PSQL, and
#                      the EXIT trap; the caller sets FAILED=0 first and
#                      FAILED=1 on a failure. The server: "$PG" start "$TMP/pg".
#   pg_lab_start       "$PG" start "$TMP/pg", its pg.env sourced, and
#                      $TMP/pgpass: libpq's password file for the lab's
#                      programs (PGPASSFILE), 0600, owned by fedmig (the
#                      daemons' user; root's fedmigctl reads it too)
#   pg_lab_test NAME SCRIPT SQL WANT [LIMIT]
#                      a whole test: SCRIPT (a lab test) with the lab's
#                      state_database on a fresh server (the server's
#                      directory in LAB_PG_DIR, for a test that restarts
#                      it), then SQL's answer there must be WANT (so the
#                      run is known to have used it); PASS/FAIL NAME,
#                      under LIMIT seconds (120), exits

PG=$ROOT/tests/lab/pg
PSQL=${LAB_PG_BIN:-/usr/lib/postgresql/15/bin}/psql

pg_test_tmp() {
	PG_TEST_NAME=$1
	[ -x "$PSQL" ] || { echo "FAIL ${PG_TEST_NAME//-/_}: no $PSQL (apt-get install postgresql-15)"; exit 1; }
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/fedmig-$PG_TEST_NAME.XXXXXX") || exit 1
	chmod 0711 "$TMP"
	trap pg_test_finish EXIT
}

pg_test_finish() {
	"$PG" stop "$TMP/pg"
	if pgrep -f -- "$TMP/pg/data" >/dev/null; then
		echo "FAIL ${PG_TEST_NAME//-/_}: a postgres of $TMP/pg still runs"
		FAILED=1
	fi
	if [ "$FAILED" = 0 ] && [ -z "${KEEP:-}" ]; then rm -rf "$TMP"; else echo "kept: $TMP"; [ "$FAILED" = 0 ] || exit 1; fi
}

pg_lab_start() {
	"$PG" start "$TMP/pg" >/dev/null || return 1
	# shellcheck source=/dev/null
	. "$TMP/pg/pg.env"
	# Any database of the server (bench/scale makes a second one).
	(umask 077 && printf '127.0.0.1:%s:*:fedmig:%s\n' "$PG_PORT" "$(cat "$PG_PASSWORD_FILE")" \
		>"$TMP/pgpass")
	chown fedmig "$TMP/pgpass"
}

pg_lab_test() {
	local name=$1 script=$2 sql=$3 want=$4 limit=${5:-120} start=$SECONDS n
	FAILED=0
	fail() { echo "FAIL ${PG_TEST_NAME//-/_}: $*"; FAILED=1; }
	pg_test_tmp "${name//_/-}"
	pg_lab_start || { fail "tests/lab/pg start"; exit 1; }
	echo "$name: $((SECONDS - start))s: $(basename "$script" .sh) on $PG_URL"
	LAB_STATE_DATABASE=$PG_URL PGPASSFILE=$TMP/pgpass LAB_PG_DIR=$TMP/pg "$script" ||
		fail "$(basename "$script" .sh) on PostgreSQL"
	n=$(PGPASSFILE=$TMP/pg/pgpass.server "$PSQL" -X -At -h 127.0.0.1 -p "$PG_PORT" -U fedmig \
		-d fedmig -c "$sql" 2>&1)
	[ "$n" = "$want" ] || fail "on the server, $sql: '$n', want '$want'"
	"$PG" stop "$TMP/pg" || fail "tests/lab/pg stop"
	echo "$name: $((SECONDS - start))s"
	[ $((SECONDS - start)) -lt "$limit" ] || fail "took $((SECONDS - start))s (limit $limit)"
	[ "$FAILED" = 0 ] && echo "PASS $name"
	exit "$FAILED"
}
