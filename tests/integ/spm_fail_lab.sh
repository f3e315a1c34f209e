#!/usr/bin/env bash
# The off-line states against the real lab, with clear reasons in
# fedmigctl show: a target whose upward sync does not list the address
# ends in sync-mismatch with nothing held; a target whose exec driver keeps
# failing (exit 75, temporary) ends in failed after max_retries; mail for
# both addresses keeps reaching S1 (nothing held, nothing lost); retry
# puts a request back and it fails again the same way. Retries follow the
# scenario's NAME_retry_backoff.
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/integ/lib_pilot.sh
. "$REPO/tests/integ/lib_pilot.sh"
pilot_lab spm_fail_lab
fail() { echo "FAIL spm_fail_lab: $*"; tail -n 15 "$LAB/log/fedmig-spm.log"; exit 1; }
# Two more systems in front of S2's Dovecot, driven by site scripts:
# "mute" does everything but announces nothing; "broken" cannot create.
mkdir -p "$LAB/bin"
cat >"$LAB/bin/mute" <<'SH'
#!/bin/sh
# exec driver of a system whose upward directory sync lists nobody
exit 0
SH
cat >"$LAB/bin/broken" <<'SH'
#!/bin/sh
case $1 in
create) echo "provisioning API unavailable (HTTP 503)" >&2; exit 75 ;;
esac
exit 0
SH
chmod 0755 "$LAB/bin" "$LAB/bin/mute" "$LAB/bin/broken"
sed -i 's/^systems = .*/systems = s1 s2 mute broken/' "$FEDMIG_CONF"
cat >>"$FEDMIG_CONF" <<CONF
mute_domain = $S2_DOMAIN
mute_driver = exec
mute_driver_command = $LAB/bin/mute
broken_domain = $S2_DOMAIN
broken_driver = exec
broken_driver_command = $LAB/bin/broken
scenarios = nocopy
default_scenario = nocopy
nocopy_copy_data = no
spm_poll_interval = 200ms
max_retries = 2
# The scenario's backoff, not the global one: failed within seconds.
retry_backoff = 1h
nocopy_retry_backoff = 200ms
CONF
pilot_directory -a sm fa || fail "directory import"
# A batch naming an address twice is refused whole, the later line named.
printf 'sm@example.org,mute\nfa@example.org,broken\nSM@Example.org,mute\n' >"$LAB/dup.csv"
$CTL import "$LAB/dup.csv" >/dev/null 2>"$LAB/dup.err" && fail "a batch with a duplicate was imported"
grep -q "dup.csv:3: sm@example.org already on line 1" "$LAB/dup.err" || fail "duplicate: $(cat "$LAB/dup.err")"
pilot_prepare "$LAB"
sleep 1.1
pilot_start "$LAB" || fail "start"
$CTL submit sm@example.org --to mute >/dev/null || fail "submit sm"
$CTL submit fa@example.org --to broken >/dev/null || fail "submit fa"

state() { $CTL --json show "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state_name"])'; }
wait_state() { # ADDRESS STATE
	local i
	for i in $(seq 300); do
		[ "$(state "$1")" = "$2" ] && return 0
		sleep 0.2
	done
	return 1
}
wait_state sm@example.org sync-mismatch || fail "sm: $(state sm@example.org), not sync-mismatch"
wait_state fa@example.org failed || fail "fa: $(state fa@example.org), not failed"
$CTL show sm@example.org >"$LAB/sm.show"
$CTL show fa@example.org >"$LAB/fa.show"
grep -q 'reason: *target mute does not announce sm@example.org' "$LAB/sm.show" || fail "sm reason: $(cat "$LAB/sm.show")"
grep -q 'E7 sync-mismatch.*nothing held' "$LAB/sm.show" || fail "sm history: $(cat "$LAB/sm.show")"
grep -q 'E8 hold' "$LAB/sm.show" && fail "sm was held"
grep -q 'reason: .*exit 75.*HTTP 503\|reason: .*HTTP 503.*exit 75\|reason: .*HTTP 503' "$LAB/fa.show" || fail "fa reason: $(cat "$LAB/fa.show")"
[ "$(grep -c 'attempt [0-9]* failed' "$LAB/fa.show")" = 2 ] || fail "fa: not 2 retries before failing: $(cat "$LAB/fa.show")"
$CTL report | grep -q 'failures and retries' || fail "report lists no failures"
# Nothing held: mail for both (and their aliases) still reaches S1.
python3 - "$LAB" "$REPO" <<'PY' || fail "mail after the failures"
import os, sys, time
sys.path.insert(0, os.path.join(sys.argv[2], "tests", "lab"))
import fedlab
env = fedlab.load_env(sys.argv[1])
ids = []
for a in ("sm@example.org", "fa@example.org", "sm.alias@example.org", "fa.alias@example.org"):
    r = fedlab.send(env, [a])
    if not r.accepted:
        print("not accepted:", a, r.code, r.text); sys.exit(1)
    ids.append((a.split("@")[0].split(".")[0], r.msgid))
ok = fedlab.wait_for(lambda: all(m in fedlab.maildir_msgids(env, "s1").get("%s@%s" % (u, env["S1_DOMAIN"]), [])
                                 for u, m in ids), 30, 0.2)
sys.exit(0 if ok else 1)
PY
held=$(postqueue -c "$POSTFIX_CONFIG" -j | grep -c '"queue_name": *"hold"' || true)
[ "$held" = 0 ] || fail "hold queue not empty: $held"
# retry: back to the state it failed in, and the same end with the same reason.
$CTL retry fa@example.org >/dev/null || fail "retry"
sleep 0.5
wait_state fa@example.org failed || fail "fa after retry: $(state fa@example.org)"
[ "$($CTL show fa@example.org | grep -c 'retry ')" -ge 1 ] || fail "no retry in the history"
echo "sync-mismatch: $(grep 'reason:' "$LAB/sm.show" | sed 's/^ *//')"
echo "failed:        $(grep 'reason:' "$LAB/fa.show" | sed 's/^ *//')"
echo "PASS spm_fail_lab"
