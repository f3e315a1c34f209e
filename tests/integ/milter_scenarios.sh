#!/bin/bash
# fedmig-milter against miltertest (the MTA side of the milter protocol):
# held recipient, normal recipient, switched after / before MAIL FROM, one
# held among several, the status socket, and an unreadable directory
# (removed, garbage, unreadable file) that must tempfail, then recovery.
# The real binary runs as in production: it binds as root, drops to an
# unprivileged user and logs to stderr (-f -v). Exit 0 pass, 1 fail, 77 skip.
set -u

# shellcheck source=tests/lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lab/lib.sh"
MILTER=$B/milter/fedmig-milter
SCRIPTS=$ROOT/tests/milter

for t in miltertest sqlite3 python3; do
	command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
[ -x "$MILTER" ] || { echo "SKIP: $MILTER not built"; exit 77; }
[ -x "$CTL" ] || { echo "SKIP: $CTL not built (it creates the database)"; exit 77; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/fedmig-milter-test.XXXXXX") || exit 1
chmod 0755 "$TMP"
PID=
RUN_AS=$(id -un)
if [ "$(id -u)" = 0 ]; then
	# The milter refuses to run as root: give it a user of its own.
	if id -u fedmig >/dev/null 2>&1; then RUN_AS=fedmig; else RUN_AS=nobody; fi
fi
GROUP=$(id -gn "$RUN_AS")

finish() {
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -TERM "$PID" 2>/dev/null
		sleep 1
		kill -KILL "$PID" 2>/dev/null
	fi
}
trap finish EXIT
trap 'exit 1' INT TERM HUP

FAILED=0
fail() {
	echo "FAIL: $*"
	FAILED=1
}

DB=$TMP/fedmig.db
LOG=$TMP/milter.log
SOCK=$TMP/milter.sock
STATUS=$TMP/status.sock
cat >"$TMP/fedmig.conf" <<EOC
state_database = $DB
fedmig_user = $RUN_AS
socket_group = $GROUP
socket_mode = 0660
milter_socket = unix:$SOCK
milter_status_socket = unix:$STATUS
federated_domains = example.org
systems = s1 s2
s1_domain = s1.example.org
s2_domain = s2.example.org
s1_driver = none
s2_driver = none
EOC
"$CTL" -c "$TMP/fedmig.conf" check >"$TMP/ctl.log" 2>&1 || { cat "$TMP/ctl.log"; exit 1; }
now=$(date +%s%6N)
hour=3600000000
# alice: held by request 42 (store_dir_hold). bob: switched by the test
# itself, mid-transaction. carol: never migrated. dave: switched an hour
# ago by request 44, his old address forwarding (store_dir_switch).
sqlite3 "$DB" "
INSERT INTO directory(access, system, physical, held, held_since, switched_at, request_id, updated) VALUES
 ('alice@example.org', 's1', 'alice@s1.example.org', 1, $now, 0, 42, $now),
 ('bob@example.org', 's1', 'bob@s1.example.org', 0, 0, 0, 0, $now),
 ('carol@example.org', 's1', 'carol@s1.example.org', 0, 0, 0, 0, $now),
 ('dave@example.org', 's2', 'dave@s2.example.org', 0, 0, $((now - hour)), 44, $now);
INSERT INTO formers(physical, access, since) VALUES ('dave@s1.example.org', 'dave@example.org', $((now - hour)));
" || exit 1
chown -R "$RUN_AS" "$TMP"

start_milter() {
	"$MILTER" -c "$TMP/fedmig.conf" -f -v >>"$LOG" 2>&1 &
	PID=$!
	for _ in $(seq 100); do
		[ -S "$SOCK" ] && [ -S "$STATUS" ] && grep -q "listening on" "$LOG" && return 0
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "fedmig-milter did not start:"
	cat "$LOG"
	exit 1
}

stop_milter() {
	local rc
	kill -TERM "$PID"
	wait "$PID"
	rc=$?
	PID=
	[ "$rc" = 0 ] || fail "fedmig-milter exited with $rc after SIGTERM"
	grep -q "stopped" "$LOG" || fail "no 'stopped' line after SIGTERM"
}

scenario() { # name
	if miltertest -s "$SCRIPTS/t-$1.lua" -D "TESTDIR=$SCRIPTS" -D "SOCKET=unix:$SOCK" \
		-D "STATUS=$STATUS" -D "DB=$DB" >"$TMP/t-$1.out" 2>&1; then
		echo "ok: $1"
	else
		fail "scenario $1: $(grep -m1 FAIL "$TMP/t-$1.out" || tail -n 3 "$TMP/t-$1.out")"
	fi
}

logged() { grep -qE "$1" "$LOG" || fail "no log line matching: $1"; }
row() { sqlite3 -cmd '.timeout 5000' "$DB" "$1"; }

start_milter
stat -c '%a %U %G' "$SOCK" | grep -qx "660 $RUN_AS $GROUP" ||
	fail "milter socket: $(stat -c '%a %U %G' "$SOCK"), want 660 $RUN_AS $GROUP"
ps -o user= -p "$PID" | grep -qx "$RUN_AS" || fail "milter runs as $(ps -o user= -p "$PID"), not $RUN_AS"

scenario held
scenario pass
scenario switched
scenario multi
scenario status

logged "8D1E01: hold rcpt=<alice@example.org> request=42 reason=held$"
logged "8D1E04: hold rcpt=<alice@s1.example.org> request=42 reason=held$"
logged "8D1E03: hold rcpt=<bob@example.org> request=43 reason=switched$"
logged "8D1E02: hold rcpt=<alice@example.org> request=42 reason=held$"
logged "9A5501: pass rcpt=<carol@example.org>$"
logged "5BEF01: pass rcpt=<bob@example.org>$"
logged "NOQUEUE: tempfail reason=\"no queue ID"
grep -qE "(9A55|5BEF|AB0D|5A75)[0-9A-F]*: hold" "$LOG" && fail "a message that must pass was held"
[ "$(grep -c ': hold ' "$LOG")" = 4 ] || fail "expected 4 hold lines: $(grep ': hold ' "$LOG")"

[ "$(row "SELECT request_id, recipients FROM held_messages WHERE queue_id='8D1E01'")" = "42|alice@example.org" ] ||
	fail "held_messages 8D1E01: $(row "SELECT * FROM held_messages WHERE queue_id='8D1E01'")"
[ "$(row "SELECT request_id, recipients FROM held_messages WHERE queue_id='8D1E03'")" = $'43|carol@example.org\tbob@example.org' ] ||
	fail "held_messages 8D1E03: $(row "SELECT * FROM held_messages WHERE queue_id='8D1E03'")"
[ "$(row "SELECT request_id, recipients FROM held_messages WHERE queue_id='8D1E02'")" = $'42|carol@example.org\talice@example.org\tx@elsewhere.net' ] ||
	fail "held_messages 8D1E02: $(row "SELECT * FROM held_messages WHERE queue_id='8D1E02'")"
[ "$(row "SELECT count(*) FROM held_messages")" = 4 ] ||
	fail "held_messages: $(row "SELECT queue_id FROM held_messages")"
held_at=$(row "SELECT held_at FROM held_messages WHERE queue_id='8D1E01'")
[ "$held_at" -ge "$now" ] 2>/dev/null || fail "held_at $held_at before the test began ($now)"

# The directory cannot be read: removed, replaced by garbage, unreadable.
mv "$DB" "$TMP/saved.db"
rm -f "$DB-wal" "$DB-shm"
scenario tempfail
[ -e "$DB" ] && fail "the milter created a database"
logged "7E3901: tempfail reason=\"state database .*No such file"
head -c 100000 /dev/urandom >"$DB"
chown "$RUN_AS" "$DB"
scenario tempfail
logged "7E3901: tempfail reason=\".*not a database"
rm -f "$DB"
cp "$TMP/saved.db" "$DB"
chown "$RUN_AS" "$DB"
chmod 000 "$DB"
if [ "$RUN_AS" != root ]; then
	scenario tempfail
fi
# Restored: mail flows again, with no restart.
chmod 0640 "$DB"
scenario multi
[ "$(grep -c '7E3901: tempfail' "$LOG")" -ge 3 ] || fail "expected 3 tempfail scenarios"

stop_milter
[ -e "$SOCK" ] && fail "milter socket left behind"
[ -e "$STATUS" ] && fail "status socket left behind"
grep -E "ERROR|AddressSanitizer|LeakSanitizer|runtime error" "$LOG" && fail "sanitizer report in the log"

if [ "$FAILED" = 0 ]; then
	echo "PASS milter_scenarios"
	rm -rf "$TMP"
	exit 0
fi
echo "--- milter log ($LOG)"
cat "$LOG"
echo "files kept in $TMP"
exit 1
