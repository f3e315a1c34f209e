#!/usr/bin/env bash
# A group switch whose drain fails (postqueue exits 1) ends the hold of
# the whole group: every member back to address-formed and retried with
# back-off, the group formed again, each retry one drain (one postqueue
# run) for all; after max_retries every member is failed with the
# drain's reason and none of its addresses is held. Postfix is a fake.
set -u
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/../lab/lib.sh"
SPM=$B/spm/fedmig-spm
[ -x "$SPM" ] && [ -x "$CTL" ] || { echo "build first"; exit 77; }
fakepf_tmp group_drain_fail

fakepf_tree "$T" || exit 1
printf '#!/bin/sh\necho run >>"%s/postqueue.runs"\necho "postqueue: fatal: no queue" >&2\nexit 1\n' \
	"$T" >"$T/pf/postqueue"
{
	fakepf_conf "$T"
	fakepf_systems "$T"
	fakepf_scenarios nocopy
	echo "max_retries = 2"
} >"$T/fedmig.conf"
fakepf_directory "$T" "" alice bob carol || { echo "import failed"; exit 1; }
printf 'alice@example.org,s2,,nocopy\nbob@example.org,s2,,nocopy\ncarol@example.org,s2,,nocopy\n' >"$T/b.csv"
"$CTL" -c "$T/fedmig.conf" import "$T/b.csv" >/dev/null || { echo "request import failed"; exit 1; }
fakepf_open "$T"
failed() { # the number of failed requests
	"$CTL" -c "$T/fedmig.conf" --json list | grep -o '"state":22' | wc -l
}

fakepf_spm_until "$T" 3 failed
[ "$(failed)" = 3 ] || { bad "not every member failed after max_retries"; tail -n 8 "$T/spm.log"; }
n=$(grep -c 'E8 hold ended' "$T/spm.log")
[ "$n" = 6 ] || bad "$n holds ended, want max_retries = 2 for each of the 3 members"
n=$(grep -c 'the hold of all its addresses ends' "$T/spm.log")
[ "$n" = 3 ] || bad "$n group drains failed, want 3 (2 retried, the last one failing)"
n=$(wc -l <"$T/postqueue.runs")
[ "$n" = 3 ] || bad "$n postqueue runs, want one per group drain: 3"
grep -q 'E8 hold .* (group 1 of 3)' "$T/spm.log" || bad "the hold does not name its group"
for u in alice bob carol; do
	grep -q "$u@example.org: request=[0-9]* failed at E8 switch: drain: postqueue or postsuper failed" \
		"$T/spm.log" || bad "$u: no failure with the drain's reason"
	"$CTL" -c "$T/fedmig.conf" directory show "$u@example.org" | grep -q 'state: *normal' ||
		bad "$u: address still held after the request failed"
done
[ $fail = 0 ] && echo "PASS group_drain_fail"
exit $fail
