#!/bin/bash
# tests/integ/smd_workers.sh on a lab PostgreSQL (tests/lab/pg): two copy
# workers claiming with SKIP LOCKED, the server restarted while both
# copy, one worker killed with KILL, the other finishing its mailboxes
# after the lease; every message exactly once. Never skips. Under 2
# minutes.
SMD_WORKERS_PG=1 exec "$(dirname "${BASH_SOURCE[0]}")/smd_workers.sh"
