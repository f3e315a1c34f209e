#!/usr/bin/env bash
# A drain that always fails (postqueue exits 1) ends the hold and is
# retried with back-off, the attempts counting on across the holds, until
# the request is failed after max_retries with the drain's reason and the
# address is no longer held: mail flows to the old mailbox. (The E8 hold
# once started the count afresh: "attempt 1" for ever, the address held
# and lifted every cycle.) Postfix is a fake here.
set -u
B=$(readlink -f "${FEDMIG_BUILD:-build}")
SPM=$B/spm/fedmig-spm CTL=$B/spm/fedmigctl
[ -x "$SPM" ] && [ -x "$CTL" ] || { echo "build first"; exit 77; }
T=$(mktemp -d /tmp/spm_drain_retries.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
chmod 0777 "$T"
fail=0
bad() { echo "FAIL: $*"; fail=1; }

mkdir -p "$T/pf" "$T/run"
for c in postsuper postkick; do printf '#!/bin/sh\nexit 0\n' >"$T/pf/$c"; chmod +x "$T/pf/$c"; done
printf '#!/bin/sh\necho "postqueue: fatal: no queue" >&2\nexit 1\n' >"$T/pf/postqueue"
chmod +x "$T/pf/postqueue"
: >"$T/s1passwd"; : >"$T/s2passwd"
cat >"$T/fedmig.conf" <<CONF
state_database = $T/fedmig.db
run_directory = $T/run
fedmig_user = nobody
federated_domains = example.org
postfix_command_directory = $T/pf
milter_status_socket = unix:$T/none.sock
release_sweep_period = 1s
switch_grace = 10ms
retry_backoff = 100ms
max_retries = 2
systems = s1 s2
s1_domain = s1.example.org
s1_driver = dovecot
s1_passwd_file = $T/s1passwd
s2_domain = s2.example.org
s2_driver = dovecot
s2_passwd_file = $T/s2passwd
scenarios = nocopy
default_scenario = nocopy
nocopy_copy_data = no
CONF
printf 'access,system,physical,aliases\nalice@example.org,s1,alice@s1.example.org,\n' >"$T/dir.csv"
echo "alice@s1.example.org:{PLAIN}x::::::" >>"$T/s1passwd"
"$CTL" -c "$T/fedmig.conf" directory import "$T/dir.csv" >/dev/null || { echo "import failed"; exit 1; }
printf 'alice@example.org,s2,,nocopy\n' >"$T/b.csv"
"$CTL" -c "$T/fedmig.conf" import "$T/b.csv" >/dev/null || { echo "request import failed"; exit 1; }
chmod 0666 "$T"/fedmig.db* "$T"/s1passwd "$T"/s2passwd
chmod 0777 "$T"
state() { "$CTL" -c "$T/fedmig.conf" --json show alice@example.org | grep -o '"state":[0-9]*'; }

# --once until the request is failed; back-off 0.1, 0.2, 0.4 s: a few runs.
for _ in $(seq 20); do
	timeout 60 "$SPM" -c "$T/fedmig.conf" -f --once >>"$T/spm.log" 2>&1 ||
		{ bad "fedmig-spm --once failed"; tail -n 5 "$T/spm.log"; break; }
	[ "$(state)" = '"state":22' ] && break
	sleep 0.3
done
[ "$(state)" = '"state":22' ] || { bad "request not failed after max_retries: $(state)"; tail -n 8 "$T/spm.log"; }
n=$(grep -c 'E8 hold ended' "$T/spm.log")
[ "$n" = 2 ] || bad "$n holds ended, want max_retries = 2 before the failure"
grep -q 'attempt 2, retry' "$T/spm.log" || bad "the attempts did not count on across the holds"
grep -q 'request=1 failed at E8 switch: drain: postqueue or postsuper failed' "$T/spm.log" ||
	{ bad "no failure with the drain's reason"; tail -n 5 "$T/spm.log"; }
"$CTL" -c "$T/fedmig.conf" show alice@example.org | grep -q 'drain: postqueue or postsuper failed' ||
	bad "the failed request does not show the drain's reason"
"$CTL" -c "$T/fedmig.conf" directory show alice@example.org | grep -q 'state: *normal' ||
	bad "address still held after the request failed"
"$CTL" -c "$T/fedmig.conf" directory show alice@example.org | grep -q 's1' ||
	bad "address no longer leads to the old system"

# Failed is final: more runs hold nothing again.
timeout 60 "$SPM" -c "$T/fedmig.conf" -f --once >"$T/again.log" 2>&1 || bad "run after the failure failed"
grep -q 'E8 hold' "$T/again.log" && bad "the failed request was held again"

[ $fail = 0 ] && echo "PASS spm_drain_retries"
exit $fail
