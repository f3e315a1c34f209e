#!/bin/bash
# Several copy workers on one queue (issue 18; fedmig-smd(8), "Several
# copy workers"): two fedmig-smd daemons with their own smd_worker_name
# share one state database (SQLite, one host) and the lab's Dovecots.
# Four mailboxes: each worker claims two (never the same one: one live
# lease per mailbox). Worker w1 is killed with KILL mid-copy; its children
# die with it; w2 leaves w1's jobs alone while their leases are live, takes
# them over once expired, resumes them from the journal and finishes
# them. The independent checker finds every message exactly once on the
# target. Under 2 minutes.
#
# SMD_WORKERS_PG=1 (tests/integ/smd_workers_pg.sh): the same on a lab
# PostgreSQL (tests/lab/pg) with its password file: the workers claim
# with SKIP LOCKED, no mailbox lock file, and the server is restarted
# after the takeover, while w2 copies (every connection dropped): it
# carries on, a copy the restart interrupted is copied again from its
# journal, and still every message arrives exactly once. A second
# fedmig-smd under w2's name refuses to run (the name's session lock),
# and w2 takes the lock again after the restart.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/lab/lib.sh
. "$ROOT/tests/lab/lib.sh"
PG_MODE=${SMD_WORKERS_PG:-}
NAME=smd_workers${PG_MODE:+_pg}
PIDS=
kill_pids() {
	local p
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	[ -z "$PG_MODE" ] || "$ROOT/tests/lab/pg" stop "$TMP/pg"
}
smd_lab "$NAME" kill_pids
START=$SECONDS
USERS=
for i in 1 2 3 4; do
	"$LAB" adduser "$DIR" s1 "src$i" >/dev/null || fail adduser
	"$LAB" adduser "$DIR" s2 "dst$i" >/dev/null || fail adduser
	USERS="$USERS${USERS:+,}src$i@$S1_DOMAIN"
done
sleep 1.1
# One message per APPEND: a child is still copying seconds after it started.
smd_corpus "$USERS" --messages 600 --avg-kb 4 >"$TMP/corpus.log" 2>&1 ||
	fail "corpus: $(tail -n 1 "$TMP/corpus.log")"
DB_CONF=()
if [ -n "$PG_MODE" ]; then
	PSQL=${LAB_PG_BIN:-/usr/lib/postgresql/15/bin}/psql
	"$ROOT/tests/lab/pg" start "$TMP/pg" >"$TMP/pg.log" 2>&1 || fail "tests/lab/pg start: $(tail -n 2 "$TMP/pg.log")"
	# shellcheck source=/dev/null
	. "$TMP/pg/pg.env"
	install -m 0600 -o fedmig "$PG_PASSWORD_FILE" "$TMP/pg.password"
	DB_CONF=("state_database_password_file = $TMP/pg.password")
fi
for w in w1 w2; do
	smd_conf "$TMP/$w.conf" "smd_batch = 1" "smd_lanes = 1" "smd_max_children = 2" \
		"smd_poll_interval = 200ms" "smd_retry_delay = 1s" "smd_lease = 3s" \
		"smd_worker_name = $w" "${DB_CONF[@]}"
	[ -z "$PG_MODE" ] || sed -i "s#^state_database = .*#state_database = $PG_URL#" "$TMP/$w.conf"
done
"$SMD" -c "$TMP/w1.conf" -f --once >"$TMP/init.log" 2>&1 || fail "init: $(tail -n 2 "$TMP/init.log")"
if [ -n "$PG_MODE" ]; then
	q() { PGPASSFILE=$TMP/pg/pgpass.server "$PSQL" -X -At -F ' ' -h 127.0.0.1 -p "$PG_PORT" -U fedmig -d fedmig -c "$1"; }
	now=$(date +%s%6N)
	for i in 1 2 3 4; do
		q "INSERT INTO smd_jobs(request_id, access, src_system, src_physical, dst_system, dst_physical, next_at, created, updated) VALUES($i, 'src$i@example.org', 's1', 'src$i@$S1_DOMAIN', 's2', 'dst$i@$S2_DOMAIN', $now, $now, $now)" >/dev/null || fail enqueue
	done
	[ -e "$TMP/smd.db.smd-lock" ] && fail "a mailbox lock file beside a file state database on PostgreSQL"
else
python3 - "$TMP/smd.db" "$S1_DOMAIN" "$S2_DOMAIN" <<'PY' || fail enqueue
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
now = int(time.time() * 1e6)
for i in range(1, 5):
    db.execute("INSERT INTO smd_jobs(request_id, access, src_system, src_physical, dst_system,"
               " dst_physical, next_at, created, updated) VALUES(?, ?, 's1', ?, 's2', ?, ?, ?, ?)",
               (i, "src%d@example.org" % i, "src%d@%s" % (i, sys.argv[2]),
                "dst%d@%s" % (i, sys.argv[3]), now, now, now))
db.commit()
PY
chown fedmig "$TMP/smd.db" "$TMP"/smd.db-* 2>/dev/null
q() { python3 -c "import sqlite3,sys; print('\n'.join(' '.join(map(str, r)) for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2])))" "$TMP/smd.db" "$1"; }
fi
wait_for() { # SECONDS COMMAND...: until COMMAND succeeds
	local n=$(($1 * 10))
	shift
	for _ in $(seq "$n"); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
# Progress is written per folder: a large first folder took msgs_done
# past a third at once, and w1 copied all four mailboxes before a look
# found two under 200 (ci30, under ASan). Any point between the first
# folder and the last message is mid-copy.
copying() { # WORKER N: N jobs of WORKER running, started and not done
	[ "$(q "SELECT count(*) FROM smd_jobs WHERE state = 1 AND worker = '$1' AND msgs_done > 0 AND msgs_done < msgs_total")" = "$2" ]
}

"$SMD" -c "$TMP/w1.conf" -f >"$TMP/w1.log" 2>&1 &
W1=$!
PIDS="$PIDS $W1"
wait_for 30 copying w1 2 || fail "w1 is not copying two mailboxes: $(tail -n 3 "$TMP/w1.log")"
# Killed at once, mid-copy: killed only once w2 ran, w1 finished both
# copies first under ASan (w2's start is slow there) and had nothing
# left to take over. Two claimers at once are test_smd_lease's (both
# backends); here w2 claims beside two live leases of a dead worker.
W1_JOBS=$(q "SELECT request_id FROM smd_jobs WHERE worker = 'w1' AND state = 1 ORDER BY 1" | tr '\n' ' ')
KIDS=$(pgrep -P "$W1" | tr '\n' ' ')
kill -9 "$W1"
wait "$W1" 2>/dev/null
KILLED=$SECONDS
[ "$(wc -w <<<"$W1_JOBS")" = 2 ] || fail "w1 held $W1_JOBS when killed, want two mailboxes"
sleep 0.5
for k in $KIDS; do
	[ -r "/proc/$k/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$k/status" &&
		fail "w1's child $k outlived its master"
done
"$SMD" -c "$TMP/w2.conf" -f >"$TMP/w2.log" 2>&1 &
W2=$!
PIDS="$PIDS $W2"
running() { [ "$(q "SELECT count(*) FROM smd_jobs WHERE state = 1 AND worker = '$1'")" = "$2" ]; }
wait_for 30 running w2 2 || fail "w2 is not copying the other two: $(tail -n 3 "$TMP/w2.log")"
# Live leases (3 s, renewed each 1 s until the kill): w2 must not take
# w1's jobs before they expire.
[ "$(grep -c 'taken over' "$TMP/w2.log")" -gt 0 ] && [ $((SECONDS - KILLED)) -lt 3 ] &&
	fail "w2 took w1's jobs while their leases were live"
if [ -n "$PG_MODE" ]; then
	# One process per name: a second w2 (--once beside the daemon) would
	# take w2's running jobs back at its start. It must refuse to run.
	"$SMD" -c "$TMP/w2.conf" -f --once >"$TMP/w2-again.log" 2>&1 &&
		fail "a second fedmig-smd under w2's name ran: $(tail -n 2 "$TMP/w2-again.log")"
	grep -q 'copy worker w2 runs already' "$TMP/w2-again.log" ||
		fail "a second w2 did not say why it stopped: $(tail -n 2 "$TMP/w2-again.log")"
	grep -q 'taken over from worker w2' "$TMP/w2.log" "$TMP/w2-again.log" &&
		fail "w2's jobs were taken from it by a second w2"
fi
taken() { [ "$(grep -c 'taken over from worker w1' "$TMP/w2.log")" -ge 2 ]; }
wait_for 60 taken || fail "w2 did not take over w1's jobs ($W1_JOBS): $(tail -n 5 "$TMP/w2.log")"
if [ -n "$PG_MODE" ]; then
	# Every connection dropped while w2 copies w1's mailboxes and its own:
	# it carries on (after the takeover, so that the restart's failed
	# attempts cannot race the takeover this test checks above).
	t0=$SECONDS
	"$ROOT/tests/lab/pg" restart "$TMP/pg" >>"$TMP/pg.log" 2>&1 || fail "tests/lab/pg restart: $(tail -n 2 "$TMP/pg.log")"
	echo "$NAME: PostgreSQL restarted in $((SECONDS - t0))s while w2 copied"
	kill -0 "$W2" 2>/dev/null || fail "w2 died with the database restart: $(tail -n 3 "$TMP/w2.log")"
	# The restart dropped the name's lock with the connection: w2 takes
	# it again at its next renewal (each second here).
	relocked() { grep -q "copy worker w2: the database connection was lost and the name's lock with it; taken again" "$TMP/w2.log"; }
	wait_for 20 relocked || fail "w2 did not take its name's lock again after the restart"
fi
done4() { [ "$(q "SELECT count(*) FROM smd_jobs WHERE state = 2")" = 4 ]; }
wait_for 90 done4 || fail "not every job is done: $(q 'SELECT request_id, state, worker, reason FROM smd_jobs')"
for j in $W1_JOBS; do
	grep -q "request=$j: taken over from worker w1" "$TMP/w2.log" ||
		fail "request $j was w1's and not taken over by w2"
done
# Each job claimed once by its first worker, and w1's once more by w2.
# The others are w2's, or w1's finished before the kill: under ASan w1
# may copy its first two before a look finds them under way, and is then
# killed in its next two (san29: '1 w1' for requests 1 and 2).
for j in 1 2 3 4; do
	want="1 w2"
	case " $W1_JOBS " in *" $j "*) want="2 w2" ;; esac
	got=$(q "SELECT attempts, worker FROM smd_jobs WHERE request_id = $j")
	[ "$want" = "1 w2" ] && [ "$got" = "1 w1" ] && continue
	# On PostgreSQL a job the restart interrupted was claimed again.
	[ -n "$PG_MODE" ] && [ "${got#* }" = w2 ] && [ "${got%% *}" -ge "${want%% *}" ] && continue
	[ "$got" = "$want" ] || fail "request $j: attempts and worker '$got', want '$want'"
done
for i in 1 2 3 4; do
	smd_check "src$i@$S1_DOMAIN=dst$i@$S2_DOMAIN" >"$TMP/check-$i.log" 2>&1 ||
		fail "mailbox $i: the target differs: $(head -n 3 "$TMP/check-$i.log")"
done
kill -TERM "$W2"
wait "$W2"
elapsed=$((SECONDS - START))
echo "$NAME: ${elapsed}s"
[ "$elapsed" -lt 120 ] || fail "took ${elapsed}s (limit 120)"
if [ -n "$PG_MODE" ]; then
	[ -e "$TMP/smd.db.smd-lock" ] && fail "a mailbox lock file was made beside the state_database path"
	grep -h 'temporary database error\|cannot be renewed\|copy failed' "$TMP/w1.log" "$TMP/w2.log" | head -n 5
	echo "PASS $NAME (two workers on PostgreSQL, one killed mid-copy: its mailboxes finished by the other after the lease, the server restarted under it, every message once)"
else
	echo "PASS smd_workers (two workers, one killed mid-copy: its mailboxes finished by the other after the lease, every message once)"
fi
