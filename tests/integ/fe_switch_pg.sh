#!/bin/bash
# tests/integ/fe_switch_lab.sh with the state database on PostgreSQL: two
# labs' Postfix front ends, each with its fedmig-milter, fedmig-policyd and
# fedmig-frontend, fedmig-spm and fedmigctl, all on one private PostgreSQL
# 15 (tests/lab/pg), mail flowing into both while 20 addresses switch;
# every message exactly once, never at S1 after its switch, nothing left
# on hold on either front end. The password reaches every program through
# libpq's PGPASSFILE (see spm_switch_pg.sh). Never skips. Under 2 minutes.
set -u

# shellcheck source=tests/lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lab/lib.sh"
# shellcheck source=tests/integ/lib_pg.sh
. "$ROOT/tests/integ/lib_pg.sh"
FAILED=0
fail() { echo "FAIL fe_switch_pg: $*"; FAILED=1; }
pg_test_tmp fe-switch-pg
START=$SECONDS

"$PG" start "$TMP/pg" >/dev/null || { fail "tests/lab/pg start"; exit 1; }
# shellcheck source=/dev/null
. "$TMP/pg/pg.env"
(umask 077 && printf '127.0.0.1:%s:fedmig:fedmig:%s\n' "$PG_PORT" "$(cat "$PG_PASSWORD_FILE")" \
	>"$TMP/pgpass")
chown fedmig "$TMP/pgpass" || fail "chown fedmig $TMP/pgpass"

echo "fe_switch_pg: $((SECONDS - START))s: fe_switch_lab on $PG_URL"
LAB_STATE_DATABASE=$PG_URL PGPASSFILE=$TMP/pgpass SPM_LAB_FRONTENDS=1 "$ROOT/tests/integ/spm_switch_lab.sh" ||
	fail "fe_switch_lab on PostgreSQL"

n=$(PGPASSFILE=$TMP/pg/pgpass.server "$PSQL" -X -At -h 127.0.0.1 -p "$PG_PORT" -U fedmig \
	-d fedmig -c "SELECT count(*) FROM requests WHERE switch_at > 0 AND release_at > 0" 2>&1)
[ "$n" = "${SPM_LAB_ADDRESSES:-20}" ] || fail "switched requests on the server: '$n'"

"$PG" stop "$TMP/pg" || fail "tests/lab/pg stop"
elapsed=$((SECONDS - START))
echo "fe_switch_pg: ${elapsed}s"
[ "$elapsed" -lt 120 ] || fail "took ${elapsed}s (limit 120)"
[ "$FAILED" = 0 ] && echo "PASS fe_switch_pg"
exit "$FAILED"
