#!/bin/bash
# At most one process copies a mailbox (fedmig-smd(8), "One copier per
# mailbox"), found by a soak test that killed processes at random:
# 1. the master is killed with KILL while its child is mid-copy and is
#    restarted at once: the old child must die with its master (it kept
#    copying beside the new master's child, duplicating messages), the job
#    is recovered and finished once, the target has each message once;
# 2. fedmig-smd --once started beside the daemon while it copies a job
#    must not copy that job too (its start-up recovery put the running
#    job back in the queue);
# 3. -u on a mailbox the daemon is copying is refused.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/lab/lib.sh
. "$ROOT/tests/lab/lib.sh"
PIDS=
kill_pids() {
	local p
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
}
smd_lab smd_recover kill_pids
"$LAB" adduser "$DIR" s1 src >/dev/null || fail adduser
for u in d1 d2; do "$LAB" adduser "$DIR" s2 $u >/dev/null || fail adduser; done
sleep 1.1
# Large enough, with one message per APPEND, that a child is still copying
# seconds after it started.
smd_corpus "src@$S1_DOMAIN" --messages 600 --avg-kb 8 \
	>"$TMP/corpus.log" 2>&1 || fail "corpus: $(tail -n 1 "$TMP/corpus.log")"
CONF=$TMP/smd.conf
smd_conf "$CONF" "smd_batch = 1" "smd_lane_messages = 200" "smd_poll_interval = 200ms" \
	"smd_retry_delay = 1s"
check() { # DSTLOCAL
	smd_check "src@$S1_DOMAIN=$1@$S2_DOMAIN" >"$TMP/check-$1.log" 2>&1
}
# The database exists (schema) before the jobs are inserted.
"$SMD" -c "$CONF" -f --once >"$TMP/init.log" 2>&1 || fail "init: $(tail -n 2 "$TMP/init.log")"
enqueue() { # ID DSTLOCAL
	python3 - "$TMP/smd.db" "$1" "src@$S1_DOMAIN" "$2@$S2_DOMAIN" <<'PY' || fail "enqueue $1"
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
now = int(time.time() * 1e6)
db.execute("INSERT INTO smd_jobs(request_id, access, src_system, src_physical, dst_system,"
           " dst_physical, next_at, created, updated) VALUES(?, 'src@example.org', 's1', ?, 's2',"
           " ?, ?, ?, ?)", (int(sys.argv[2]), sys.argv[3], sys.argv[4], now, now, now))
db.commit()
PY
	chown fedmig "$TMP/smd.db" "$TMP"/smd.db-* 2>/dev/null
}
# msgs_done ID: the job's progress in messages.
msgs_done() {
	python3 -c "import sqlite3,sys; r=sqlite3.connect(sys.argv[1]).execute('SELECT msgs_done, state FROM smd_jobs WHERE request_id=?', (int(sys.argv[2]),)).fetchone(); print(r[0] if r and r[1] == 1 else -1)" "$TMP/smd.db" "$1"
}
# job_state ID: the job's state (1 running, 2 done: lib/store_smd.h).
job_state() {
	python3 -c "import sqlite3,sys; r=sqlite3.connect(sys.argv[1]).execute('SELECT state FROM smd_jobs WHERE request_id=?', (int(sys.argv[2]),)).fetchone(); print(r[0] if r else -1)" "$TMP/smd.db" "$1"
}
wait_copying() { # ID: until the job is running with some messages done
	for _ in $(seq 300); do
		n=$(msgs_done "$1")
		[ "$n" -gt 0 ] 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
alive() { # PID: running (a zombie is dead)
	[ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"
}
wait_log() { # FILE PATTERN
	for _ in $(seq 600); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# 1. KILL the master mid-copy, restart it at once.
enqueue 1 d1
"$SMD" -c "$CONF" -f >"$TMP/m1.log" 2>&1 &
M1=$!
PIDS="$PIDS $M1"
wait_copying 1 || fail "1: the job did not start: $(tail -n 3 "$TMP/m1.log")"
C1=$(sed -n 's/.*request=1: child pid=\([0-9]*\).*/\1/p' "$TMP/m1.log" | head -n 1)
[ -n "$C1" ] || fail "1: no child pid logged"
kill -9 "$M1"
wait "$M1" 2>/dev/null
"$SMD" -c "$CONF" -f >"$TMP/m2.log" 2>&1 &
M2=$!
PIDS="$PIDS $M2 $C1"
wait_log "$TMP/m2.log" 'request=1: child pid=' || fail "1: the restarted master did not start the job: $(tail -n 3 "$TMP/m2.log")"
alive "$C1" && fail "1: the killed master's child pid=$C1 still copies while the new master's child starts"
wait_log "$TMP/m2.log" 'request=1: copied' || fail "1: not copied: $(tail -n 3 "$TMP/m2.log")"
sleep 0.5
n=$(cat "$TMP/m1.log" "$TMP/m2.log" | grep -c 'request=1: copied')
[ "$n" = 1 ] || fail "1: request 1 copied $n times: $(grep -h 'request=1: copied' "$TMP/m1.log" "$TMP/m2.log")"
check d1 || fail "1: target differs: $(head -3 "$TMP/check-d1.log")"

# 2. --once beside the daemon (M2, still running) while it copies job 2.
enqueue 2 d2
wait_copying 2 || fail "2: the daemon did not start job 2: $(tail -n 3 "$TMP/m2.log")"
"$SMD" -c "$CONF" -f --once >"$TMP/once.log" 2>&1 || fail "2: --once failed: $(tail -n 2 "$TMP/once.log")"
grep -q 'request=2: child pid=' "$TMP/once.log" &&
	fail "2: --once copied job 2 beside the daemon: $(grep 'request=2' "$TMP/once.log" | head -n 3)"
# 3. -u on the mailbox the daemon copies: refused, nothing copied.
"$SMD" -c "$CONF" -f -u src --from s1 --to s2 --src-user "src@$S1_DOMAIN" --dst-user "d2@$S2_DOMAIN" \
	>"$TMP/direct.log" 2>&1 && fail "3: -u copied a mailbox the daemon is copying"
grep -q 'copied=[1-9]' "$TMP/direct.log" && fail "3: -u appended beside the daemon: $(tail -n 1 "$TMP/direct.log")"
# Still the daemon's: running, or done by it already (under ASan it can
# finish while --once and -u run); never queued again or failed. That it
# was copied once is counted below.
case $(job_state 2) in
1 | 2) ;;
*) fail "2: job 2 is neither running nor done in the daemon (state $(job_state 2): changed by --once or -u)" ;;
esac
wait_log "$TMP/m2.log" 'request=2: copied' || fail "2: not copied: $(tail -n 3 "$TMP/m2.log")"
sleep 0.5
n=$(cat "$TMP/m2.log" "$TMP/once.log" | grep -c 'request=2: copied')
[ "$n" = 1 ] || fail "2: request 2 copied $n times"
check d2 || fail "2: target differs: $(head -3 "$TMP/check-d2.log")"
kill -TERM "$M2"
wait "$M2"
echo "PASS smd_recover (master killed mid-copy and restarted; --once and -u beside the daemon)"
