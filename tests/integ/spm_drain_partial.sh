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

fakepf_tree "$T" || exit 1
QID=4jfGCY2ngVz1c6yT
echo deferred >"$T/queue"
# postqueue -j: the message as the state file says; postsuper logs what it
# was given (ids on stdin) and moves the state on.
cat >"$T/pf/postqueue" <<EOF
#!/bin/sh
case \$(cat "$T/queue") in
deferred) echo '{"queue_name": "deferred", "queue_id": "$QID", "arrival_time": 1, "message_size": 2000, "sender": "s@example.net", "recipients": [{"address": "alice@s1.example.org", "delay_reason": "connect refused"}, {"address": "bob@s2.example.org", "delay_reason": "connect refused"}]}' ;;
hold) echo '{"queue_name": "hold", "queue_id": "$QID", "arrival_time": 1, "message_size": 2000, "sender": "s@example.net", "recipients": [{"address": "bob@s2.example.org", "delay_reason": "connect refused"}]}' ;;
esac
exit 0
EOF
cat >"$T/pf/postsuper" <<EOF
#!/bin/sh
ids=\$(cat)
echo "postsuper \$* \$ids" >>"$T/postsuper.log"
case "\$*" in
*-h*) [ "\$ids" = "$QID" ] && echo hold >"$T/queue" ;;
*-r*) [ "\$ids" = "$QID" ] && echo gone >"$T/queue" ;;
esac
exit 0
EOF
chmod 755 "$T/pf/postqueue" "$T/pf/postsuper"
{
	fakepf_conf "$T"
	fakepf_systems "$T"
	fakepf_scenarios nocopy
} >"$T/fedmig.conf"
fakepf_directory "$T" "" alice || { echo "import failed"; exit 1; }
printf 'alice@example.org,s2,,nocopy\n' >"$T/b.csv"
"$CTL" -c "$T/fedmig.conf" import "$T/b.csv" >/dev/null || { echo "request import failed"; exit 1; }
fakepf_open "$T"
chmod 666 "$T/queue"
state() { "$CTL" -c "$T/fedmig.conf" --json show alice@example.org | grep -o '"state":[0-9]*'; }

fakepf_spm_until "$T" '"state":10' state
[ "$(state)" = '"state":10' ] || { bad "request not complete: $(state)"; tail -n 8 "$T/spm.log"; }
grep -q -- "-h - deferred $QID" "$T/postsuper.log" 2>/dev/null ||
	{ bad "the deferred message was not held"; cat "$T/postsuper.log" 2>/dev/null; }
grep -q -- "-r - hold $QID" "$T/postsuper.log" 2>/dev/null ||
	{ bad "the message left in hold for bob was never released"; tail -n 8 "$T/spm.log"; }
[ "$(cat "$T/queue")" = gone ] || bad "the message is still in $(cat "$T/queue")"

[ $fail = 0 ] && echo "PASS spm_drain_partial"
exit $fail
