#!/bin/bash
# tests/integ/on_pg.sh SCRIPT: the lab test SCRIPT with the lab's
# state_database on a private PostgreSQL 15 (tests/lab/pg, its own port
# and directory, stopped by PID): every fedmig program the lab starts, and
# every fedmigctl the test runs, use the server (tests/integ/lib_pg.sh).
# Afterwards the server must hold the lab's directory, so the run is known
# to have used it. tests/run runs the tests of PG_TWINS (Makefile) this
# way in the SANITIZE=1 build, as NAME_pg, and on SQLite in the plain one:
# each runs on both backends in CI for the time of one run.
set -u
[ $# = 1 ] && [ -x "$1" ] || { echo "usage: tests/integ/on_pg.sh SCRIPT"; exit 2; }

# shellcheck source=tests/lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lab/lib.sh"
# shellcheck source=tests/integ/lib_pg.sh
. "$ROOT/tests/integ/lib_pg.sh"
pg_lab_test "$(basename "$1" .sh)_pg" "$1" "SELECT count(*) > 0 FROM directory" t 900
