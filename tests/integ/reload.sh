#!/usr/bin/env bash
# SIGHUP reloads the configuration (lib/server.h):
# - fedmig-policyd: unknown_recipient_action changed from reject to pass
#   is answered at once; a changed policy_socket is logged as "needs a
#   restart" and the old socket serves on; an invalid file is logged
#   (FILE:LINE:) and the old configuration keeps serving; 50 reloads leak
#   no descriptor (and nothing at all under SANITIZE=1: LeakSanitizer at
#   the SIGTERM).
# - fedmig-spm: a scenario added to the file is unknown until the SIGHUP
#   (a request naming it fails) and known after it (a request naming it
#   completes); an invalid file, or one failing the start checks, is
#   logged and the running one stays.
# - fedmig-smd's master: a reload logged, smd_max_children as "needs a
#   restart", an invalid file logged; it stops cleanly after.
# Needs root (both bind or fork their helper as root, then drop).
set -u
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/../lab/lib.sh"
B=$(readlink -f "${FEDMIG_BUILD:-build}")
POLICYD=$B/policyd/fedmig-policyd SPM=$B/spm/fedmig-spm SMD=$B/smd/fedmig-smd CTL=$B/spm/fedmigctl
[ -x "$POLICYD" ] && [ -x "$SPM" ] && [ -x "$SMD" ] && [ -x "$CTL" ] || { echo "SKIP reload: build first"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIP reload: needs root"; exit 77; }
id fedmig >/dev/null 2>&1 || { echo "SKIP reload: no fedmig user"; exit 77; }
T=$(mktemp -d /tmp/fedmig-reload.XXXXXX) || exit 1
chmod 0777 "$T"
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
}
trap cleanup EXIT
fail() {
	echo "FAIL reload: $*"
	echo "reload: files kept in $T"
	for l in "$T"/*.log; do echo "--- $l"; tail -n 20 "$l"; done
	exit 1
}
# wait_for FILE REGEX: up to 10 s for a line matching REGEX.
wait_for() {
	for _ in $(seq 100); do
		grep -qE "$2" "$1" && return 0
		sleep 0.1
	done
	return 1
}

# stop_clean PID NAME: SIGTERM, exit 0, no sanitizer report in NAME.log.
stop_clean() {
	kill -TERM "$1"
	wait "$1"
	rc=$?
	[ $rc = 0 ] || fail "$2 exited $rc after SIGTERM"
	grep -qE "AddressSanitizer|LeakSanitizer|runtime error" "$T/$2.log" && fail "$2: sanitizer report"
	PIDS=()
}

# --- fedmig-policyd ---
pconf() { # extra-lines [policy-socket]
	{
		cat <<CONF
state_database = $T/fedmig.db
fedmig_user = fedmig
socket_group = fedmig
socket_mode = 0660
federated_domains = example.org
policy_socket = unix:$T/${2:-policy}.sock
socketmap_socket = unix:$T/socketmap.sock
CONF
		none_systems
		echo "$1"
	} >"$T/policyd.conf"
}
pconf ""
printf 'access,system,physical,aliases\nalice@example.org,s1,alice@s1.example.org,\n' >"$T/dir.csv"
"$CTL" -c "$T/policyd.conf" directory import "$T/dir.csv" >"$T/ctl.log" 2>&1 || fail "directory import"
chmod 0666 "$T"/fedmig.db*
"$POLICYD" -c "$T/policyd.conf" -f -v >"$T/policyd.log" 2>&1 &
PPID_=$!
PIDS+=($PPID_)
for _ in $(seq 100); do [ -S "$T/policy.sock" ] && break; sleep 0.05; done
[ -S "$T/policy.sock" ] || fail "policyd did not create its socket"

ask() { # recipient: the action policyd answers
	python3 - "$T/policy.sock" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(("request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=192.0.2.1\n"
           "client_name=client.test\nsender=s@remote.test\nrecipient=%s\n\n" % sys.argv[2]).encode())
buf = b""
while not buf.endswith(b"\n\n"):
    d = s.recv(4096)
    if not d:
        break
    buf += d
print(buf.decode().split("\n")[0])
PY
}
nfds() { ls "/proc/$PPID_/fd" | wc -l; }

ask nobody@example.org | grep -q '^action=550' || fail "policyd: unknown recipient not rejected at start"
ask alice@example.org | grep -q '^action=DUNNO' || fail "policyd: known recipient not passed"

# A reloadable key, and one that needs a restart.
pconf "unknown_recipient_action = pass" other
kill -HUP $PPID_
wait_for "$T/policyd.log" "reload: configuration .* in effect" || fail "policyd: no reload logged"
grep -q "reload: policy_socket changed: that needs a restart" "$T/policyd.log" ||
	fail "policyd: the changed socket not logged as needing a restart"
ask nobody@example.org | grep -q '^action=DUNNO' || fail "policyd: unknown_recipient_action = pass not in effect"
[ -S "$T/other.sock" ] && fail "policyd: bound the new socket without a restart"

# An invalid file: logged as at start, the running configuration serves on.
pconf "unknown_recipient_action = pass
no_such_key = 1"
kill -HUP $PPID_
wait_for "$T/policyd.log" "reload: $T/policyd.conf:[0-9]+: .*no_such_key" ||
	fail "policyd: the invalid file's error not logged as FILE:LINE"
wait_for "$T/policyd.log" "is not valid; the running configuration stays" || fail "policyd: no 'stays' line"
kill -0 $PPID_ 2>/dev/null || fail "policyd died on an invalid file"
ask nobody@example.org | grep -q '^action=DUNNO' || fail "policyd: lost its configuration on an invalid file"

# 50 reloads, alternating the two answers: no descriptor kept.
before=$(nfds)
for i in $(seq 50); do
	if [ $((i % 2)) = 1 ]; then pconf ""; else pconf "unknown_recipient_action = pass"; fi
	n=$(grep -c "reload: configuration .* in effect" "$T/policyd.log")
	kill -HUP $PPID_
	for _ in $(seq 100); do
		[ "$(grep -c "reload: configuration .* in effect" "$T/policyd.log")" -gt "$n" ] && break
		sleep 0.02
	done
done
ask nobody@example.org | grep -q '^action=DUNNO' || fail "policyd: not the last reload's answer"
after=$(nfds)
[ "$after" -le "$before" ] || fail "policyd: $before descriptors before 50 reloads, $after after"
echo "reload: policyd fds before=$before after=$after, rss=$(awk '/VmRSS/{print $2}' /proc/$PPID_/status) kB"
stop_clean $PPID_ policyd

# --- fedmig-spm ---
# Its own tree (database, run directory, fake Postfix commands, passwd
# files), apart from fedmig-policyd's database.
S=$T/spm
fakepf_tree "$S" && chmod 0777 "$S" || fail "spm: the fake Postfix commands"
: >"$S/s1passwd"
: >"$S/s2passwd"
sconf() { # file extra-lines
	{
		fakepf_conf "$S"
		fakepf_systems_conf "$S"
		cat <<CONF
spm_poll_interval = 200ms
default_scenario = nocopy
nocopy_copy_data = no
$2
CONF
	} >"$1"
}
sconf "$T/spm.conf" "scenarios = nocopy"
sconf "$T/ctl.conf" "scenarios = nocopy later
later_copy_data = no"
{
	echo "access,system,physical,aliases"
	for u in alice bob carol; do echo "$u@example.org,s1,$u@s1.example.org,"; done
} >"$T/dir.csv"
for u in alice bob carol; do echo "$u@s1.example.org:{PLAIN}x::::::" >>"$S/s1passwd"; done
"$CTL" -c "$T/ctl.conf" directory import "$T/dir.csv" >>"$T/ctl.log" 2>&1 || fail "spm: directory import"
chmod 0666 "$S"/fedmig.db* "$S"/s1passwd "$S"/s2passwd
state() { "$CTL" -c "$T/ctl.conf" --json show "$1@example.org" | grep -o '"state":[0-9]*'; }
request() { # user: a request to s2 with the scenario "later"
	printf '%s@example.org,s2,,later\n' "$1" >"$T/req.csv"
	"$CTL" -c "$T/ctl.conf" import "$T/req.csv" >>"$T/ctl.log" 2>&1 || fail "spm: request import for $1"
}
# wait_state user state: up to 30 s.
wait_state() {
	for _ in $(seq 300); do
		[ "$(state "$1")" = "\"state\":$2" ] && return 0
		sleep 0.1
	done
	return 1
}

"$SPM" -c "$T/spm.conf" -f >"$T/spm.log" 2>&1 &
SPID=$!
PIDS+=($SPID)
wait_for "$T/spm.log" "started: poll every" || fail "spm did not start"

# Before the SIGHUP the scenario is unknown to the pilot.
request bob
wait_for "$T/spm.log" "unknown scenario" || fail "spm: a request with a scenario not yet loaded did not fail"

sconf "$T/spm.conf" "scenarios = nocopy later
later_copy_data = no"
kill -HUP $SPID
wait_for "$T/spm.log" "reload: configuration .* in effect" || fail "spm: no reload logged"
request alice
wait_state alice 10 || fail "spm: the request with the reloaded scenario did not complete: $(state alice)"

# An invalid file: logged, the running configuration (with "later") stays.
sconf "$T/spm.conf" "scenarios = nocopy later
later_copy_data = maybe"
kill -HUP $SPID
wait_for "$T/spm.log" "reload: $T/spm.conf:[0-9]+: .*later_copy_data" ||
	fail "spm: the invalid file's error not logged as FILE:LINE"
wait_for "$T/spm.log" "is not valid; the running configuration stays" || fail "spm: no 'stays' line"
# A file that parses but fails the start checks (fedmig-spm -n): refused.
sconf "$T/spm.conf" "scenarios = nocopy later
later_copy_data = no"
sed -i '/^s2_passwd_file/d' "$T/spm.conf"
kill -HUP $SPID
wait_for "$T/spm.log" "reload: .*s2_passwd_file" || fail "spm: the failed check not logged"
wait_for "$T/spm.log" "refused; the running configuration stays" || fail "spm: no 'refused' line"
request carol
wait_state carol 10 || fail "spm: stopped serving after an invalid file: $(state carol)"
stop_clean $SPID spm

# --- fedmig-smd's master (an empty queue: its log says what it took) ---
sconf "$T/smd.conf" "scenarios = nocopy
smd_poll_interval = 200ms"
"$SMD" -c "$T/smd.conf" -f -v >"$T/smd.log" 2>&1 &
MPID=$!
PIDS+=($MPID)
wait_for "$T/smd.log" "daemon started" || fail "smd did not start"
sconf "$T/smd.conf" "scenarios = nocopy
smd_poll_interval = 300ms
smd_max_children = 7"
kill -HUP $MPID
wait_for "$T/smd.log" "reload: configuration .* in effect" || fail "smd: no reload logged"
grep -q "reload: smd_max_children changed: that needs a restart" "$T/smd.log" ||
	fail "smd: smd_max_children not logged as needing a restart"
echo "smd_poll_interval = soon" >>"$T/smd.conf"
kill -HUP $MPID
wait_for "$T/smd.log" "reload: $T/smd.conf:[0-9]+: .*smd_poll_interval" ||
	fail "smd: the invalid file's error not logged as FILE:LINE"
kill -0 $MPID 2>/dev/null || fail "smd died on an invalid file"
stop_clean $MPID smd
grep -q "terminating on signal 15: mailboxes done=0 failed=0 stopped=0" "$T/smd.log" ||
	fail "smd: no terminating line"
rm -rf "$T"
echo "PASS reload"
