#!/bin/bash
# fedmig-smd against a hostile IMAP server: tests/smd/hostile_proxy.py sits
# in front of the lab's real Dovecot, as the source or as the target, and
# breaks the protocol in one way per run (garbage greeting, NO/BAD to
# LOGIN/SELECT/APPEND, disconnect mid-literal, a literal size that lies,
# an over-long line, a NUL, APPENDUID missing, the target dropping in the
# middle of an APPEND, a target that silently drops a keyword or every
# subscription, a response injected behind STARTTLS's OK). Each time the
# copy must fail that mailbox with a clear reason (exit 1 and a "reason:"
# line, never a signal), and a rerun against the real servers must resume
# and give a copy identical to the source: nothing partial and nothing
# duplicated was left on the target.
# SMD_HOSTILE_ONLY="mode ..." runs only those faults and skips the queue
# part (to show an older build failing one of them).
# Then the queue: SIGTERM stops a child gracefully (progress recorded,
# the rerun completes it), and smd_child_timeout kills a stuck child.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/lab/lib.sh
. "$ROOT/tests/lab/lib.sh"
PROXY_PID=
stop_proxy() {
	if [ -n "$PROXY_PID" ]; then
		kill "$PROXY_PID" 2>/dev/null
		wait "$PROXY_PID" 2>/dev/null
		PROXY_PID=
	fi
}
smd_lab smd_hostile stop_proxy
"$LAB" adduser "$DIR" s1 src >/dev/null || fail adduser
# (side mode reason-pattern): what each fault must be reported as.
SCENARIOS=(
	"src greeting greeting|not IMAP|unexpected response"
	"src login-no AUTHENTICATE|refused"
	"src select-no EXAMINE .*hostile: no such folder"
	"src select-bad EXAMINE .*hostile: no such folder"
	"src mid-literal connection closed|closed in the middle"
	"src lie-long malformed|unexpected|timeout|unknown tag|bad tagged"
	"src lie-short malformed|unexpected|bad tagged"
	"src long-line too long|longer"
	"src nul-line NUL"
	"dst greeting greeting|not IMAP|unexpected response"
	"dst login-no AUTHENTICATE|refused"
	"dst select-no SELECT .*hostile: no such folder"
	"dst append-no APPEND to .*hostile: refused after storing"
	"dst append-bad APPEND to .*hostile: refused after storing"
	"dst no-appenduid no APPENDUID"
	"dst drop-append connection closed|Connection reset|Broken pipe|write"
	"dst drop-keyword flags differ .*missing on the target: [^ ;]"
	"dst hide-lsub subscription=.* not subscribed on the target"
	"src starttls-inject STARTTLS: the server sent data after its OK, before the TLS handshake"
	"dst starttls-inject STARTTLS: the server sent data after its OK, before the TLS handshake"
)
i=0
for sc in "${SCENARIOS[@]}"; do
	i=$((i + 1))
	"$LAB" adduser "$DIR" s2 "h$i" >/dev/null || fail adduser
done
for u in term tmo; do "$LAB" adduser "$DIR" s2 "$u" >/dev/null || fail adduser; done
"$LAB" adduser "$DIR" s1 big >/dev/null || fail adduser
sleep 1.1 # Dovecot re-reads a passwd-file only when its mtime (seconds) changes
smd_corpus "src@$S1_DOMAIN" --messages 30 --avg-kb 20 >"$TMP/corpus.log" 2>&1 || fail "corpus"
smd_corpus "big@$S1_DOMAIN" --messages 150 --avg-kb 40 >>"$TMP/corpus.log" 2>&1 || fail "corpus"

# The proxy reads plain IMAP: no STARTTLS on either side in this test.
smd_conf "$TMP/smd.conf" "s1_imap_starttls = no" "s2_imap_starttls = no" \
	"smd_io_timeout = 3s" "smd_batch = 5"
copy() { # CONF SRC DSTLOCAL
	"$SMD" -c "$1" -f -u "$2" --from s1 --to s2 --src-user "$2@$S1_DOMAIN" --dst-user "$3@$S2_DOMAIN"
}
check() { # SRC DST
	smd_check "$1@$S1_DOMAIN=$2@$S2_DOMAIN" >"$TMP/check-$2.log" 2>&1
}
start_proxy() { # UPSTREAM_PORT MODE
	rm -f "$TMP/proxy.port"
	python3 "$ROOT/tests/smd/hostile_proxy.py" --upstream "$1" --port-file "$TMP/proxy.port" \
		--mode "$2" >>"$TMP/proxy.log" 2>&1 &
	PROXY_PID=$!
	for _ in $(seq 50); do [ -s "$TMP/proxy.port" ] && break; sleep 0.1; done
	[ -s "$TMP/proxy.port" ] || fail "proxy did not start"
	PROXY_PORT=$(cat "$TMP/proxy.port")
}

i=0
for sc in "${SCENARIOS[@]}"; do
	i=$((i + 1))
	read -r side mode want <<<"$sc"
	dst=h$i
	case " ${SMD_HOSTILE_ONLY:-$mode} " in *" $mode "*) ;; *) continue ;; esac
	if [ "$side" = src ]; then up=$S1_IMAP_PORT sys=s1; else up=$S2_IMAP_PORT sys=s2; fi
	start_proxy "$up" "$mode"
	tls=no
	[ "$mode" = starttls-inject ] && tls=yes
	sed -e "s|^${sys}_imap = .*|${sys}_imap = imap://127.0.0.1:$PROXY_PORT|" \
		-e "s|^${sys}_imap_starttls = .*|${sys}_imap_starttls = $tls|" "$TMP/smd.conf" >"$TMP/proxy.conf"
	copy "$TMP/proxy.conf" src "$dst" >"$TMP/$dst.1" 2>&1
	rc=$?
	stop_proxy
	[ $rc = 1 ] || fail "$side $mode: exit status $rc, not 1: $(tail -n 3 "$TMP/$dst.1")"
	grep -q 'result=failed' "$TMP/$dst.1" || fail "$side $mode: no result=failed: $(tail -n 3 "$TMP/$dst.1")"
	reason=$(sed -n 's/^reason: //p' "$TMP/$dst.1" | head -1)
	[ -n "$reason" ] || fail "$side $mode: no reason: $(tail -n 3 "$TMP/$dst.1")"
	grep -Eq "$want" <<<"$reason" || fail "$side $mode: unclear reason: $reason"
	printf '%-4s %-13s -> %s\n' "$side" "$mode" "$reason" >>"$TMP/reasons"
	copy "$TMP/smd.conf" src "$dst" >"$TMP/$dst.2" 2>&1 ||
		fail "$side $mode: rerun failed: $(tail -n 2 "$TMP/$dst.2")"
	check src "$dst" || fail "$side $mode: not identical after the rerun: $(head -3 "$TMP/check-$dst.log")"
done

if [ -n "${SMD_HOSTILE_ONLY:-}" ]; then
	echo "PASS smd_hostile (only: $SMD_HOSTILE_ONLY)"
	exit 0
fi

# The queue: one job, fedmig-smd --once as cron would run it.
enqueue() { # REQUEST_ID DSTLOCAL
	python3 - "$TMP/smd.db" "$1" "$2" "$S1_DOMAIN" "$S2_DOMAIN" <<'PY' || fail "enqueue"
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
now = int(time.time() * 1e6)
db.execute("INSERT INTO smd_jobs(request_id, access, src_system, src_physical, dst_system,"
           " dst_physical, next_at, created, updated) VALUES(?, ?, 's1', ?, 's2', ?, ?, ?, ?)",
           (int(sys.argv[2]), "big@example.org", "big@" + sys.argv[4],
            sys.argv[3] + "@" + sys.argv[5], now, now, now))
db.commit()
PY
	chown fedmig "$TMP/smd.db" "$TMP"/smd.db-* 2>/dev/null
}
job() { # REQUEST_ID -> "state|error"
	python3 -c "import sqlite3,sys; r=sqlite3.connect(sys.argv[1]).execute('SELECT state, reason FROM smd_jobs WHERE request_id=?', (int(sys.argv[2]),)).fetchone(); print('%s|%s' % r)" "$TMP/smd.db" "$1"
}
due_now() { # REQUEST_ID: make a job due again (the retry delay is minutes)
	python3 -c "import sqlite3,sys; db=sqlite3.connect(sys.argv[1]); db.execute('UPDATE smd_jobs SET next_at=0 WHERE request_id=?', (int(sys.argv[2]),)); db.commit()" "$TMP/smd.db" "$1"
}

# SIGTERM: a slow source, the master is told to stop mid-copy; two lanes,
# so the child must pass the stop on to its second lane.
start_proxy "$S1_IMAP_PORT" slow
{
	sed "s|^s1_imap = .*|s1_imap = imap://127.0.0.1:$PROXY_PORT|" "$TMP/smd.conf"
	echo "smd_lane_messages = 50"
} >"$TMP/slow.conf"
enqueue 7 term
"$SMD" -c "$TMP/slow.conf" -f --once >"$TMP/term.1" 2>&1 &
master=$!
for _ in $(seq 100); do grep -q 'folder=INBOX' "$TMP/term.1" && break; sleep 0.1; done
kill -TERM "$master"
t0=$(date +%s)
wait "$master"
[ $(($(date +%s) - t0)) -le 10 ] || fail "SIGTERM: the master took over 10 s to stop"
stop_proxy
st=$(job 7)
case $st in *"stopped by SIGTERM"*) ;; *) fail "SIGTERM: job not recorded as stopped: $st" ;; esac
grep -q 'stopped, progress recorded' "$TMP/term.1" || fail "SIGTERM: no 'stopped' line: $(tail -n 3 "$TMP/term.1")"
# One line at start, one at stop (fedmig-smd(8), LOGGING).
grep -Eq 'daemon started -- version [0-9.]+, configuration .*slow.conf, smd_max_children=[0-9]+, once' "$TMP/term.1" ||
	fail "SIGTERM: no start line: $(head -n 3 "$TMP/term.1")"
grep -q 'terminating on signal 15: mailboxes done=0 failed=0 stopped=1' "$TMP/term.1" ||
	fail "SIGTERM: no stop line: $(tail -n 3 "$TMP/term.1")"
due_now 7
"$SMD" -c "$TMP/smd.conf" -f --once >"$TMP/term.2" 2>&1 || fail "SIGTERM: rerun: $(tail -n 3 "$TMP/term.2")"
case $(job 7) in 2\|*) ;; *) fail "SIGTERM: job not done after the rerun: $(job 7)" ;; esac
grep -q 'terminating: no mailbox due (--once): mailboxes done=1 failed=0 stopped=0' "$TMP/term.2" ||
	fail "rerun: no stop line: $(tail -n 3 "$TMP/term.2")"
check big term || fail "SIGTERM: not identical after the rerun: $(head -3 "$TMP/check-term.log")"

# smd_child_timeout: a slow source and a 1 s limit: the child is killed
# (and its second lane with it), the job keeps the reason, and a rerun
# without the limit completes it.
start_proxy "$S1_IMAP_PORT" slow
{
	sed "s|^s1_imap = .*|s1_imap = imap://127.0.0.1:$PROXY_PORT|" "$TMP/smd.conf"
	echo "smd_child_timeout = 1s"
	echo "smd_lane_messages = 50"
} >"$TMP/tmo.conf"
enqueue 8 tmo
timeout 60 "$SMD" -c "$TMP/tmo.conf" -f --once >"$TMP/tmo.1" 2>&1
stop_proxy
sleep 0.5
pgrep -f "$TMP/tmo.conf" >/dev/null && fail "timeout: a lane outlived its killed child"
case $(job 8) in *"killed after smd_child_timeout"*) ;; *) fail "timeout: job: $(job 8)" ;; esac
grep -q 'terminating: no mailbox due (--once): mailboxes done=0 failed=1' "$TMP/tmo.1" ||
	fail "timeout: no stop line: $(tail -n 3 "$TMP/tmo.1")"
due_now 8
"$SMD" -c "$TMP/smd.conf" -f --once >"$TMP/tmo.2" 2>&1 || fail "timeout: rerun: $(tail -n 3 "$TMP/tmo.2")"
case $(job 8) in 2\|*) ;; *) fail "timeout: job not done after the rerun: $(job 8)" ;; esac
check big tmo || fail "timeout: not identical after the rerun: $(head -3 "$TMP/check-tmo.log")"

echo "PASS smd_hostile (${#SCENARIOS[@]} faults, SIGTERM, smd_child_timeout)"
