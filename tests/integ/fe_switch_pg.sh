#!/bin/bash
# tests/integ/fe_switch_lab.sh with the state database on PostgreSQL: two
# labs' Postfix front ends, each with its fedmig-milter, fedmig-policyd and
# fedmig-frontend, fedmig-spm and fedmigctl, all on one private PostgreSQL
# 15 (tests/lab/pg), mail flowing into both while 20 addresses switch;
# every message exactly once, never at S1 after its switch, nothing left
# on hold on either front end. The password reaches every program through
# libpq's PGPASSFILE (see spm_switch_pg.sh). Never skips. About a minute
# alone; 3 minutes at most (two labs and a server: beside zero_loss on a
# CI machine, ci29 took 154 s).
set -u

# shellcheck source=tests/lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lab/lib.sh"
# shellcheck source=tests/integ/lib_pg.sh
. "$ROOT/tests/integ/lib_pg.sh"
pg_lab_test fe_switch_pg "$ROOT/tests/integ/fe_switch_lab.sh" \
	"SELECT count(*) FROM requests WHERE switch_at > 0 AND release_at > 0" "${SPM_LAB_ADDRESSES:-20}" 180
