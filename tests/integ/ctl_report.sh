#!/usr/bin/env bash
# What fedmigctl shows about requests the pilot is waiting on: "list" and
# "report" give the copy's last failure while fedmig-smd retries it (the
# request itself keeps no reason then), and "report --addresses" prints the
# per-address table (ADDRESS STATE HOLD ms COPIED VERIFIED STATES).
# The requests are put in the wanted states directly in the database, as
# the pilot and fedmig-smd would leave them.
set -u
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/../lab/lib.sh"
ctl_tmp ctl_report "systems = old new" \
	"old_domain = s1.example.org" "old_driver = none" \
	"new_domain = s2.example.org" "new_driver = none"
ctl check >/dev/null || fail "check"
printf 'access,system,physical,aliases\nalice@example.org,old,alice@s1.example.org,\nbob@example.org,old,bob@s1.example.org,\n' >"$T/dir.csv"
ctl directory import "$T/dir.csv" >/dev/null || fail "directory import"
printf 'address,target\nalice@example.org,new\nbob@example.org,new\n' >"$T/batch.csv"
ctl import "$T/batch.csv" >/dev/null || fail "import"

python3 - "$T/fedmig.db" <<'PY' || fail "preparing the database"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
(c,) = db.execute("SELECT created FROM requests WHERE access = ?", ("alice@example.org",)).fetchone()
s = 1000000
# alice: switched with a 207.0 ms hold, copying, the copy failed 3 times.
db.execute("UPDATE requests SET state = 7, hold_at = ?, release_at = ?, switch_at = ? "
           "WHERE access = ?", (c + 9 * s, c + 9 * s + 207000, c + 9 * s + 100000, "alice@example.org"))
(rid,) = db.execute("SELECT id FROM requests WHERE access = ?", ("alice@example.org",)).fetchone()
for at, frm, to, step in [(c + s // 5, 0, 1, "E2 target-created"), (c + 9 * s, 1, 4, "E4 formed"),
                          (c + 9 * s + 300000, 4, 7, "E9 switch")]:
    db.execute("INSERT INTO history(request_id, at, from_state, to_state, step) VALUES (?,?,?,?,?)",
               (rid, at, frm, to, step))
db.execute("INSERT INTO smd_jobs(request_id, access, src_system, src_physical, dst_system, "
           "dst_physical, state, attempts, next_at, msgs_done, reason, created, updated) "
           "VALUES (?,?,?,?,?,?,0,3,?,?,?,?,?)",
           (rid, "alice@example.org", "old", "alice@s1.example.org", "new", "alice@s2.example.org",
            c + 60 * s, 12, "LOGIN alice@s1.example.org: authentication failed", c, c))
db.commit()
PY

ctl list >"$T/list" || fail "list"
grep -E '^[0-9]+ +alice@example.org +new +copying .*copy attempt 3 failed, retrying: LOGIN alice@s1.example.org: authentication failed$' "$T/list" >/dev/null ||
	fail "list shows no copy failure: $(cat "$T/list")"
ctl report >"$T/report" || fail "report"
grep -q 'alice@example.org .*copy attempt 3 failed, retrying: LOGIN' "$T/report" ||
	fail "report shows no copy failure: $(cat "$T/report")"
grep -q 'ADDRESS' "$T/report" && fail "report without --addresses printed the table"

ctl report --batch 1 --addresses >"$T/addr" || fail "report --addresses"
grep -qE '^ADDRESS +STATE +HOLD ms +COPIED +VERIFIED +STATES' "$T/addr" || fail "no header: $(cat "$T/addr")"
grep -qE '^alice@example.org +copying +207\.0 +12 +no +0@0\.0 1@0\.2 4@9\.0 7@9\.3$' "$T/addr" ||
	fail "alice's line: $(cat "$T/addr")"
grep -qE '^bob@example.org +registered +- +- +- +0@0\.0$' "$T/addr" || fail "bob's line: $(cat "$T/addr")"
ctl --json report --addresses >"$T/json" 2>&1 || ctl report --addresses --json >"$T/json" || fail "report --json"
python3 - "$T/json" <<'PY' || fail "report --addresses --json: $(cat "$T/json")"
import json, sys
r = json.load(open(sys.argv[1]))
a = {x["address"]: x for x in r["addresses"]}
assert a["alice@example.org"]["hold_ms"] == 207.0, a
assert a["alice@example.org"]["copied"] == 12 and a["alice@example.org"]["verified"] is False, a
assert [s["state"] for s in a["alice@example.org"]["states"]] == [0, 1, 4, 7], a
assert a["bob@example.org"]["hold_ms"] is None, a
PY
echo "PASS ctl_report"
