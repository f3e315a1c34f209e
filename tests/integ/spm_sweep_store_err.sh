#!/usr/bin/env bash
# The release sweep releases a held message only on a clear "not held"
# from the store: while the directory cannot be read, a message waits in
# hold, and it is released by the first sweep after the store is back.
# (A store error once counted as "not held": the message would have been
# released while its address might still be held.) Postfix is a fake
# whose queue is a state file, as in spm_drain_partial: a deferred message
# for alice, who switches, and bob, who does not; the drain holds it. At
# the first scan of the hold queue the fake postqueue renames the aliases
# table, which every lookup of a physical address reads, so the sweep's
# lookups fail; then the test puts it back.
set -u
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/../lab/lib.sh"
SPM=$B/spm/fedmig-spm
[ -x "$SPM" ] && [ -x "$CTL" ] || { echo "build first"; exit 77; }
fakepf_tmp spm_sweep_store_err

QID=4jfGCY2ngVz1c6yT
sql() { python3 -c 'import sqlite3, sys; d = sqlite3.connect(sys.argv[1]); d.execute(sys.argv[2]); d.commit()' "$T/fedmig.db" "$1"; }
fakepf_partial "$T" "$QID" || exit 1
# At the first scan of the hold queue the aliases table goes away; each
# scan until the test mends it is counted.
cat >"$T/on_hold_scan" <<EOF
#!/bin/sh
if [ ! -e "$T/broken" ]; then
	python3 -c 'import sqlite3, sys; d = sqlite3.connect(sys.argv[1]); d.execute("ALTER TABLE aliases RENAME TO aliases_away"); d.commit()' "$T/fedmig.db" || exit 1
	: >"$T/broken"
fi
[ -e "$T/mended" ] || echo scan >>"$T/broken"
exit 0
EOF
chmod 755 "$T/on_hold_scan"

# Switched while the directory's aliases are away: the sweeps of this
# run cannot tell whether bob is held.
fakepf_spm_until "$T" '"state":10' state
[ "$(state)" = '"state":10' ] || { bad "request not complete: $(state)"; tail -n 8 "$T/spm.log"; }
grep -q -- "-h - deferred $QID" "$T/postsuper.log" 2>/dev/null ||
	{ bad "the deferred message was not held"; cat "$T/postsuper.log" 2>/dev/null; }
scans=$(grep -c scan "$T/broken" 2>/dev/null)
[ "${scans:-0}" -ge 2 ] || bad "the hold queue was scanned ${scans:-0} times with the store broken, want 2 or more"
grep -q -- "-r" "$T/postsuper.log" &&
	{ bad "released while the store could not say whether its address was held"; cat "$T/postsuper.log"; }
[ "$(cat "$T/queue")" = hold ] || bad "the message is in $(cat "$T/queue"), want hold"
[ $fail = 0 ] && echo "sweeps with the store broken: $scans scans, nothing released"

# The store back: the next run's sweep releases it.
sql "ALTER TABLE aliases_away RENAME TO aliases"
: >"$T/mended"
timeout 60 "$SPM" -c "$T/fedmig.conf" -f --once >>"$T/spm.log" 2>&1 || bad "fedmig-spm --once failed"
grep -q -- "-r - hold $QID" "$T/postsuper.log" 2>/dev/null ||
	{ bad "not released once the store was back"; tail -n 8 "$T/spm.log"; }
[ "$(cat "$T/queue")" = gone ] || bad "the message is still in $(cat "$T/queue")"

[ $fail = 0 ] && echo "PASS spm_sweep_store_err"
exit $fail
