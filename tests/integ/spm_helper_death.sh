#!/usr/bin/env bash
# The root helper killed (kill -9, as by a soak test or the OOM killer):
# fedmig-spm, unprivileged by then, cannot fork another, so it must say
# why and exit non-zero at once ("privileged helper exited (signal 9):
# restarting fedmig-spm"), daemon or --once, instead of failing every
# drain for ever; and the restart must resume from the store. Postfix is
# a fake here; needs root (the helper is forked only by root).
set -u
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/../lab/lib.sh"
SPM=$B/spm/fedmig-spm
[ -x "$SPM" ] && [ -x "$CTL" ] || { echo "build first"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "needs root"; exit 77; }
dpid=""
kill_daemon() { [ -n "$dpid" ] && kill -9 "$dpid" 2>/dev/null; }
fakepf_tmp spm_helper_death kill_daemon
MSG='privileged helper exited (signal 9): restarting fedmig-spm'

fakepf_tree "$T" || exit 1
{
	fakepf_conf "$T"
	fakepf_systems "$T"
	fakepf_scenarios nocopy
} >"$T/fedmig.conf"
fakepf_directory "$T" "" alice || { echo "import failed"; exit 1; }
fakepf_open "$T"
state() { "$CTL" -c "$T/fedmig.conf" --json show alice@example.org | grep -o '"state":[0-9]*'; }

# 1. The daemon, idle: its helper killed, it exits non-zero within seconds.
"$SPM" -c "$T/fedmig.conf" -f >"$T/daemon.log" 2>&1 &
dpid=$!
helper=""
for _ in $(seq 50); do
	helper=$(ps -o pid= --ppid $dpid | tr -d ' ' | head -1)
	[ -n "$helper" ] && grep -q started "$T/daemon.log" && break
	sleep 0.1
done
[ -n "$helper" ] || { bad "no helper under fedmig-spm $dpid"; cat "$T/daemon.log"; }
[ -n "$helper" ] && kill -9 "$helper"
exited=0
for _ in $(seq 50); do kill -0 $dpid 2>/dev/null || { exited=1; break; }; sleep 0.1; done
if [ $exited = 1 ]; then
	wait $dpid; rc=$?
	[ $rc != 0 ] || bad "daemon exited 0 after its helper died"
else
	bad "daemon still running 5 s after its helper was killed"; kill -9 $dpid; wait $dpid 2>/dev/null
fi
dpid=""
grep -qF "$MSG" "$T/daemon.log" || { bad "daemon: no \"$MSG\""; tail -n 5 "$T/daemon.log"; }

# 2. --once, the helper killed in the middle of the drain (the fake
#    postqueue kills its parent, the helper): exit non-zero, the message,
#    the request still held (the step is done again on restart).
printf 'alice@example.org,s2,,nocopy\n' >"$T/b.csv"
"$CTL" -c "$T/fedmig.conf" import "$T/b.csv" >/dev/null || { echo "request import failed"; exit 1; }
printf '#!/bin/sh\nkill -9 $PPID\nexit 0\n' >"$T/pf/postqueue"
timeout 30 "$SPM" -c "$T/fedmig.conf" -f --once >"$T/once.log" 2>&1
rc=$?
[ $rc != 0 ] && [ $rc != 124 ] || bad "--once: exit $rc after its helper died (want non-zero, in time)"
grep -qF "$MSG" "$T/once.log" || { bad "--once: no \"$MSG\""; tail -n 5 "$T/once.log"; }
grep -q 'E8 hold ended' "$T/once.log" && bad "--once: the hold was ended as a drain failure"
[ "$(state)" = '"state":5' ] || bad "--once: request not left held: $(state)"

# 3. The restart, with a helper that lives: resumes from the store.
printf '#!/bin/sh\nexit 0\n' >"$T/pf/postqueue"
timeout 60 "$SPM" -c "$T/fedmig.conf" -f --once >"$T/resume.log" 2>&1 ||
	{ bad "restart failed"; tail -n 5 "$T/resume.log"; }
[ "$(state)" = '"state":10' ] || { bad "restart did not complete the request: $(state)"; tail -n 5 "$T/resume.log"; }
"$CTL" -c "$T/fedmig.conf" directory show alice@example.org | grep -q 'state: *normal' ||
	bad "address still held after the restart"

[ $fail = 0 ] && echo "PASS spm_helper_death"
exit $fail
