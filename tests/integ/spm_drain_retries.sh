#!/usr/bin/env bash
# A drain that always fails (postqueue exits 1) ends the hold and is
# retried with back-off, the attempts counting on across the holds, until
# the request is failed after max_retries with the drain's reason and the
# address is no longer held: mail flows to the old mailbox. (The E8 hold
# once started the count afresh: "attempt 1" for ever, the address held
# and lifted every cycle.) Postfix is a fake here.
set -u
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/../lab/lib.sh"
SPM=$B/spm/fedmig-spm
[ -x "$SPM" ] && [ -x "$CTL" ] || { echo "build first"; exit 77; }
fakepf_tmp spm_drain_retries

fakepf_tree "$T" || exit 1
printf '#!/bin/sh\necho "postqueue: fatal: no queue" >&2\nexit 1\n' >"$T/pf/postqueue"
{
	fakepf_conf "$T"
	fakepf_systems "$T"
	fakepf_scenarios nocopy
	echo "max_retries = 2"
} >"$T/fedmig.conf"
fakepf_directory "$T" "" alice || { echo "import failed"; exit 1; }
printf 'alice@example.org,s2,,nocopy\n' >"$T/b.csv"
"$CTL" -c "$T/fedmig.conf" import "$T/b.csv" >/dev/null || { echo "request import failed"; exit 1; }
fakepf_open "$T"
state() { "$CTL" -c "$T/fedmig.conf" --json show alice@example.org | grep -o '"state":[0-9]*'; }

# --once until the request is failed; back-off 0.1, 0.2, 0.4 s: a few runs.
fakepf_spm_until "$T" '"state":22' state
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
