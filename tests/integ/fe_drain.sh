#!/usr/bin/env bash
# Two Postfix front ends (issue 18): a real fedmig-spm and two
# fedmig-frontend processes, "a" and "b", each with its own fake Postfix
# (a queue in a state file, one "queue id recipient" per line). A switch
# holds A's deferred message and waits for B's message on its way; B's
# release worker is killed (kill -9) in the middle of the drain.
#   1. frontend_timeout_action = abort: the switch gives up (hold lifted,
#      A's message released), and completes once B is back.
#   2. frontend_timeout_action = wait: the switch keeps its hold and waits
#      for B, and completes once B is back.
# Nothing is left on hold on either front end, and the store has no held
# message not released.
set -u
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/../lab/lib.sh"
SPM=$B/spm/fedmig-spm
FE=$B/spm/fedmig-frontend
[ -x "$SPM" ] && [ -x "$FE" ] && [ -x "$CTL" ] || { echo "build first"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "FAIL fe_drain: needs root (fedmig-frontend drops to nobody)"; exit 1; }
spm_pid= fa_pid= fb_pid=
stop_all() {
	local p
	for p in $spm_pid $fa_pid $fb_pid; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
}
fakepf_tmp fe_drain stop_all

# fake_pf DIR: DIR/pf's postqueue lists DIR/queue; postsuper moves the
# ids it is given (-h: deferred -> hold, -r: hold -> gone) and logs.
fake_pf() {
	local d=$1
	fakepf_tree "$d" || exit 1
	: >"$d/queue"
	cat >"$d/pf/postqueue" <<EOF
#!/bin/sh
echo x >>"$d/pq.log"
while read -r q id rcpt; do
	[ -n "\$id" ] && [ "\$q" != gone ] || continue
	printf '{"queue_name": "%s", "queue_id": "%s", "arrival_time": 1, "message_size": 2000, "sender": "s@example.net", "recipients": [{"address": "%s", "delay_reason": "connect refused"}]}\n' "\$q" "\$id" "\$rcpt"
done <"$d/queue"
exit 0
EOF
	cat >"$d/pf/postsuper" <<EOF
#!/bin/sh
ids=\$(cat)
echo "postsuper \$* \$ids" >>"$d/postsuper.log"
case "\$*" in
*-h*) from=deferred to=hold ;;
*-r*) from=hold to=gone ;;
*) exit 0 ;;
esac
for id in \$ids; do
	awk -v id="\$id" -v f="\$from" -v t="\$to" '\$2 == id && \$1 == f { \$1 = t } { print }' \
		"$d/queue" >"$d/queue.new" && cat "$d/queue.new" >"$d/queue"
done
exit 0
EOF
	chmod 755 "$d/pf/postqueue" "$d/pf/postsuper"
	chmod 666 "$d/queue"
	chmod 777 "$d"
}

fakepf_tree "$T" || exit 1
fake_pf "$T/fa"
fake_pf "$T/fb"
conf() { # conf ACTION
	fakepf_conf "$T"
	fakepf_systems_conf "$T"
	fakepf_scenarios nocopy
	cat <<CONF
spm_poll_interval = 100ms
drain_timeout = 2s
frontend_timeout = 1s
frontend_timeout_action = $1
hold_max = 20s
max_retries = 30
frontend_poll_interval = 50ms
CONF
}
conf abort >"$T/fedmig.conf"
fakepf_systems "$T" >/dev/null
fakepf_directory "$T" "" alice bob carol || { echo "import failed"; exit 1; }
"$CTL" -c "$T/fedmig.conf" frontend add a && "$CTL" -c "$T/fedmig.conf" frontend add b ||
	{ echo "FAIL fe_drain: fedmigctl frontend add"; exit 1; }
"$CTL" -c "$T/fedmig.conf" frontend add b 2>/dev/null && bad "a second frontend add b was accepted"
"$CTL" -c "$T/fedmig.conf" frontend add "b;x" 2>/dev/null && bad "front end name b;x accepted"
for f in a b; do
	sed "s#^postfix_command_directory = .*#postfix_command_directory = $T/f$f/pf#" "$T/fedmig.conf" >"$T/f$f.conf"
	echo "frontend_name = $f" >>"$T/f$f.conf"
done
fakepf_open "$T"

start_fe() { # start_fe a|b
	"$FE" -c "$T/f$1.conf" -f >>"$T/f$1.log" 2>&1 &
	eval "f$1_pid=$!"
}
start_spm() {
	"$SPM" -c "$T/fedmig.conf" -f >>"$T/spm.log" 2>&1 &
	spm_pid=$!
}
state() { "$CTL" -c "$T/fedmig.conf" --json show "$1@example.org" | grep -o '"state":[0-9]*'; }
# until_ok SECONDS CMD...: CMD succeeds within SECONDS (0.1 s steps).
until_ok() {
	local n=$(($1 * 10))
	shift
	while [ $n -gt 0 ]; do "$@" && return 0; sleep 0.1; n=$((n - 1)); done
	return 1
}
is_state() { [ "$(state "$1")" = "\"state\":$2" ]; }
grep_log() { grep -q -- "$2" "$1" 2>/dev/null; }
no_hold() {
	grep -q '^hold ' "$T/fa/queue" "$T/fb/queue" && { bad "left on hold: $(grep -h '^hold ' "$T"/f?/queue)"; return; }
	local n
	n=$(sqlite3 "$T/fedmig.db" "SELECT count(*) FROM held_messages WHERE gone = 0 AND released_at = 0")
	[ "$n" = 0 ] || bad "$n held messages in the store never released"
}

# kill_b_mid_drain USER QA QB: a deferred message QA for USER on A, an
# active one QB on B; USER's request imported and fedmig-spm started; once
# A held QA (B is draining, waiting for QB), B is killed.
kill_b_mid_drain() {
	echo "deferred $2 $1@s1.example.org" >"$T/fa/queue"
	echo "active $3 $1@s1.example.org" >"$T/fb/queue"
	printf '%s@example.org,s2,,nocopy\n' "$1" >"$T/r.csv"
	"$CTL" -c "$T/fedmig.conf" import "$T/r.csv" >/dev/null || bad "$1's request import failed"
	start_spm
	until_ok 20 grep_log "$T/fa/postsuper.log" "-h - deferred $2" ||
		bad "front end a did not hold $1's deferred message"
	kill -9 "$fb_pid"
	wait "$fb_pid" 2>/dev/null
	fb_pid=
}
# b_back USER QB: B's delivery of QB finished while it was down; B comes
# back, and USER's switch completes.
b_back() {
	echo "gone $2 $1@s1.example.org" >"$T/fb/queue"
	start_fe b
	until_ok 40 is_state "$1" 10 ||
		{ bad "$1 not complete after b came back: $(state "$1")"; tail -n 8 "$T/spm.log"; }
}

start_fe a
start_fe b
# One process per name: a second "a" (-N a, b's configuration, as another
# host would run it) refuses to start while the first runs.
until_ok 10 grep_log "$T/fa.log" "front end a started" || bad "front end a did not start"
out=$(timeout 10 "$FE" -c "$T/fb.conf" -N a -f 2>&1)
rc=$?
[ "$rc" = 1 ] && grep -q "front end a runs already" <<<"$out" ||
	bad "a second fedmig-frontend named a: exit $rc, $(tail -n 2 <<<"$out")"
# --- 0. both answer: A holds carol's deferred message, the switch
# completes, A releases it; the hold window with two front ends. ---
echo "deferred 4jfGCY2ngVz1c6y0 carol@s1.example.org" >"$T/fa/queue"
printf 'carol@example.org,s2,,nocopy\n' >"$T/r.csv"
"$CTL" -c "$T/fedmig.conf" import "$T/r.csv" >/dev/null || bad "carol's request import failed"
start_spm
until_ok 20 is_state carol 10 || { bad "carol not complete: $(state carol)"; tail -n 8 "$T/spm.log"; }
until_ok 10 grep_log "$T/fa/postsuper.log" "-r - hold 4jfGCY2ngVz1c6y0" ||
	bad "front end a did not release carol's message after the switch"
no_hold
echo "fe_drain: $(grep -o 'carol@example.org: E9 release.*hold window [0-9.]* s' "$T/spm.log" |
	grep -o 'hold window [0-9.]* s') (two front ends, fake queues)"
kill "$spm_pid"
wait "$spm_pid" 2>/dev/null
# --- 1. abort ---
kill_b_mid_drain alice 4jfGCY2ngVz1c6y1 4jfGCY2ngVz1c6yB
until_ok 15 grep_log "$T/spm.log" "front end b did not answer within frontend_timeout" ||
	{ bad "the switch did not abort for the silent front end b"; tail -n 5 "$T/spm.log"; }
is_state alice 6 || is_state alice 10 && bad "alice switched while front end b was down"
until_ok 10 grep_log "$T/fa/postsuper.log" "-r - hold 4jfGCY2ngVz1c6y1" ||
	bad "after the abort, front end a did not release what it held"
b_back alice 4jfGCY2ngVz1c6yB
no_hold

# --- 2. wait ---
kill "$spm_pid"
wait "$spm_pid" 2>/dev/null
conf wait >"$T/fedmig.conf"
: >"$T/spm.log"
kill_b_mid_drain bob 4jfGCY2ngVz1c6y2 4jfGCY2ngVz1c6yC
until_ok 15 grep_log "$T/spm.log" "front end b does not answer: the switch waits" ||
	{ bad "the switch did not wait for the silent front end b"; tail -n 5 "$T/spm.log"; }
is_state bob 5 || bad "bob not held while the switch waits: $(state bob)"
grep -q "^hold 4jfGCY2ngVz1c6y2" "$T/fa/queue" || bad "a's message for bob not on hold while waiting"
b_back bob 4jfGCY2ngVz1c6yC
until_ok 10 grep_log "$T/fa/postsuper.log" "-r - hold 4jfGCY2ngVz1c6y2" ||
	bad "front end a did not release bob's message after the switch"
grep -q "attempt" <(grep bob "$T/spm.log") && bad "bob's switch was retried (it should have waited)"
no_hold
"$CTL" -c "$T/fedmig.conf" frontend list | grep -q "^a " || bad "frontend list does not show a"

[ $fail = 0 ] && echo "PASS fe_drain" || { tail -n 20 "$T/spm.log" "$T/fa.log" "$T/fb.log"; }
exit $fail
