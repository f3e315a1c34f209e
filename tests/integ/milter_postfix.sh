#!/bin/bash
# fedmig-milter behind the REAL Postfix of the lab (tests/lab/lab
# --fedmig recommended: milter on a unix socket, socketmap for
# virtual_alias_maps): a held address's mail waits in the hold queue and
# its queue ID is recorded; after the switch (access and old physical ->
# new physical) and a release of exactly that ID (postsuper -r, postkick)
# it is delivered once, to S2; one held recipient holds the whole message
# and after release each recipient gets one copy; a slow client whose RCPT
# comes before the switch and whose final dot comes after is quarantined
# by rule 4 and delivered once to S2; kill -9 of the milter turns mail
# away with 4xx (nothing accepted unchecked) and a restart lets it flow.
# Exit 0 pass, 1 fail, 77 skip.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/lab/lib.sh
. "$ROOT/tests/lab/lib.sh"

postfix_lab milter_postfix recommended 30 log/fedmig-milter.log
for u in alice bob carol erin; do
	for s in s1 s2; do
		"$LAB" adduser "$DIR" $s $u >>"$TMP/adduser.log" 2>&1 || fail "adduser $s $u"
	done
done
cat >"$TMP/dir.csv" <<CSV
access,system,physical,aliases
alice@$ACCESS_DOMAIN,s1,alice@$S1_DOMAIN,
bob@$ACCESS_DOMAIN,s1,bob@$S1_DOMAIN,
carol@$ACCESS_DOMAIN,s1,carol@$S1_DOMAIN,
erin@$ACCESS_DOMAIN,s1,erin@$S1_DOMAIN,
CSV
"$CTL" -c "$FEDMIG_CONF" directory import "$TMP/dir.csv" >"$TMP/import.log" 2>&1 ||
	fail "directory import: $(cat "$TMP/import.log")"

python3 - "$DIR" "$ROOT/tests/lab" "$CTL" >"$TMP/check.log" 2>&1 <<'PY' || fail "$(tail -n 5 "$TMP/check.log")"
import os, re, signal, subprocess, sys, threading, time
sys.path.insert(0, sys.argv[2])
import fedlab

lab_dir, ctl = sys.argv[1], sys.argv[3]
env = fedlab.load_env(lab_dir)
cfg = env["POSTFIX_CONFIG"]
A, S1, S2 = env["ACCESS_DOMAIN"], env["S1_DOMAIN"], env["S2_DOMAIN"]
milter_log = os.path.join(lab_dir, "log", "fedmig-milter.log")


def check(cond, why):
    if not cond:
        print("FAIL:", why)
        sys.exit(1)


def fedmigctl(*args):
    r = subprocess.run([ctl, "-c", env["FEDMIG_CONF"]] + list(args), capture_output=True, text=True)
    check(r.returncode == 0, "fedmigctl %s: %s%s" % (" ".join(args), r.stdout, r.stderr))


def copies(system, addr, msgid):
    return fedlab.maildir_msgids(env, system).get(addr, []).count(msgid)


def anywhere(msgid):
    return sum(ids.count(msgid) for s in ("s1", "s2")
               for ids in fedlab.maildir_msgids(env, s).values())


def in_hold(qid):
    return any(m["queue_id"] == qid and m["queue_name"] == "hold" for m in fedlab.postqueue(env))


def held_row(qid):
    rows = fedlab.store_query(env, "SELECT recipients FROM held_messages WHERE queue_id = ?", qid)
    return rows[0] if rows else None


def milter_logged(pattern):
    with open(milter_log, errors="replace") as f:
        return re.search(pattern, f.read(), re.M) is not None


def release(qid):
    """What fedmig-spm's release does for one recorded queue ID."""
    subprocess.run(["postsuper", "-c", cfg, "-r", qid], check=True, capture_output=True)
    # postkick dies of SIGPIPE when pickup has read the request and closed
    # before postkick's trailing null byte (a delivered kick): what
    # fedmig-spm counts as done. Anything else: again, as fedmig-spm does.
    for _ in range(3):
        r = subprocess.run(["postkick", "-c", cfg, "public", "pickup", "W"], capture_output=True)
        if r.returncode in (0, -signal.SIGPIPE):
            return
        time.sleep(0.1)
    sys.exit("postkick failed three times: %d %s" % (r.returncode, r.stderr))


def delivered_once(system, addr, msgid, other, other_addr, timeout=20):
    check(fedlab.wait_for(lambda: copies(system, addr, msgid) >= 1, timeout),
          "%s not delivered to %s on %s" % (msgid, addr, system))
    time.sleep(0.5)
    check(copies(system, addr, msgid) == 1, "%s: %d copies for %s" % (msgid, copies(system, addr, msgid), addr))
    check(copies(other, other_addr, msgid) == 0, "%s also delivered to %s on %s" % (msgid, other_addr, other))


# 1. Nothing held: delivered to the physical address on S1.
r = fedlab.send(env, ["alice@" + A])
check(r.accepted, "plain send: %s" % (r,))
delivered_once("s1", "alice@" + S1, r.msgid, "s2", "alice@" + S2)
check(held_row(r.queue_id) is None, "a message that passed was recorded as held")

# 2. alice held: the message waits in the hold queue, its ID recorded.
fedmigctl("directory", "hold", "alice@" + A)
r = fedlab.send(env, ["alice@" + A])
check(r.accepted and r.queue_id, "send to held alice: %s" % (r,))
check(fedlab.wait_for(lambda: in_hold(r.queue_id), 10), "%s not in the hold queue: %s" % (r.queue_id, fedlab.postqueue(env)))
check(held_row(r.queue_id) == ("alice@" + A,), "held_messages row for %s: %s" % (r.queue_id, held_row(r.queue_id)))
check(milter_logged(r"%s: hold rcpt=<alice@%s> request=\d+ reason=held$" % (r.queue_id, re.escape(A))), "no hold line")
time.sleep(1)
check(anywhere(r.msgid) == 0, "held message delivered")
# 3. Switch (access and old physical -> S2), release exactly that ID.
fedmigctl("directory", "switch", "alice@" + A, "s2", "alice@" + S2)
release(r.queue_id)
delivered_once("s2", "alice@" + S2, r.msgid, "s1", "alice@" + S1)
# After the switch, new mail goes straight to S2 without a hold.
r = fedlab.send(env, ["alice@" + A])
check(r.accepted, "send after switch: %s" % (r,))
delivered_once("s2", "alice@" + S2, r.msgid, "s1", "alice@" + S1)
check(held_row(r.queue_id) is None, "mail after the switch was held")

# 4. Two recipients, one held: the whole message waits; after the release
# each gets exactly one copy.
fedmigctl("directory", "hold", "bob@" + A)
r = fedlab.send(env, ["carol@" + A, "bob@" + A])
check(r.accepted, "send to carol+bob: %s" % (r,))
check(fedlab.wait_for(lambda: in_hold(r.queue_id), 10), "carol+bob message not held")
check(held_row(r.queue_id) == ("carol@%s\tbob@%s" % (A, A),), "held row: %s" % (held_row(r.queue_id),))
time.sleep(1)
check(anywhere(r.msgid) == 0, "part of a held message was delivered")
fedmigctl("directory", "switch", "bob@" + A, "s2", "bob@" + S2)
release(r.queue_id)
delivered_once("s1", "carol@" + S1, r.msgid, "s2", "carol@" + S2)
delivered_once("s2", "bob@" + S2, r.msgid, "s1", "bob@" + S1)

# 5. A slow client: RCPT before the switch, final dot after. Cleanup has
# rewritten erin to her S1 address; rule 4 quarantines it.
box = {}
t = threading.Thread(target=lambda: box.update(r=fedlab.send(env, ["erin@" + A], slow_pause=3)))
t.start()
time.sleep(1)
fedmigctl("directory", "hold", "erin@" + A)
fedmigctl("directory", "switch", "erin@" + A, "s2", "erin@" + S2)
t.join()
r = box["r"]
check(r.accepted and r.queue_id, "slow send: %s" % (r,))
check(fedlab.wait_for(lambda: in_hold(r.queue_id), 10), "straggler not held: %s" % fedlab.postqueue(env))
check(milter_logged(r"%s: hold rcpt=<erin@%s> request=\d+ reason=switched$" % (r.queue_id, re.escape(A))),
      "no reason=switched line for %s" % r.queue_id)
q = [m for m in fedlab.postqueue(env) if m["queue_id"] == r.queue_id][0]
check([x["address"] for x in q["recipients"]] == ["erin@" + S1],
      "straggler's recorded recipient: %s (cleanup should have written the old address)" % q["recipients"])
release(r.queue_id)
delivered_once("s2", "erin@" + S2, r.msgid, "s1", "erin@" + S1)

# 6. kill -9 of the milter: 4xx, nothing accepted unchecked; restart: flows.
with open(os.path.join(lab_dir, "run", "fedmig-milter.pid")) as f:
    pid = int(f.read())
os.kill(pid, signal.SIGKILL)
time.sleep(0.5)
r = fedlab.send(env, ["carol@" + A])
check(not r.accepted and 400 <= r.code < 500, "milter down: want 4xx, got %s" % (r,))
check(not any(m for m in fedlab.postqueue(env) if m.get("queue_name") != "hold"), "mail queued while the milter was down")
subprocess.run([env["LAB_SCRIPT"], "restart-daemon", lab_dir, "milter"], check=True, capture_output=True)
r = fedlab.send(env, ["carol@" + A])
check(r.accepted, "after restart: %s" % (r,))
delivered_once("s1", "carol@" + S1, r.msgid, "s2", "carol@" + S2)

check(fedlab.wait_queue_empty(env, 20), "queue not empty: %s" % fedlab.postqueue(env))
print("ok")
PY
trap - EXIT
finish
rm -rf "$TMP"
echo "PASS milter_postfix"
