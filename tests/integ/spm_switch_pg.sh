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
pg_lab_test spm_switch_pg "$ROOT/tests/integ/spm_switch_lab.sh" \
	"SELECT count(*) FROM requests WHERE switch_at > 0 AND release_at > 0" "${SPM_LAB_ADDRESSES:-20}"
