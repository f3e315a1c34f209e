#!/usr/bin/env bash
# A deferred message for two addresses, one of them switching: the drain
# holds it, but the switching address's delivery (a queue run under way)
# lands between the drain's scan and "postsuper -h", so the message sits in
# hold for the other address alone. It must still be released when the
# switch ends. (The drain once recognised a held message only by a
# recipient it drains, forgot this one, and it stayed in hold for ever:
# zero_loss, seed 344825857, two messages lost.) Postfix is a fake here
# whose queue is a state file: deferred, then hold with one recipient
# left, then requeued.
set -u
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/../lab/lib.sh"
SPM=$B/spm/fedmig-spm
[ -x "$SPM" ] && [ -x "$CTL" ] || { echo "build first"; exit 77; }
fakepf_tmp spm_drain_partial

QID=4jfGCY2ngVz1c6yT
fakepf_partial "$T" "$QID" || exit 1

fakepf_spm_until "$T" '"state":10' state
[ "$(state)" = '"state":10' ] || { bad "request not complete: $(state)"; tail -n 8 "$T/spm.log"; }
grep -q -- "-h - deferred $QID" "$T/postsuper.log" 2>/dev/null ||
	{ bad "the deferred message was not held"; cat "$T/postsuper.log" 2>/dev/null; }
grep -q -- "-r - hold $QID" "$T/postsuper.log" 2>/dev/null ||
	{ bad "the message left in hold for bob was never released"; tail -n 8 "$T/spm.log"; }
[ "$(cat "$T/queue")" = gone ] || bad "the message is still in $(cat "$T/queue")"

[ $fail = 0 ] && echo "PASS spm_drain_partial"
exit $fail
