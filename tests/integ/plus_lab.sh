#!/usr/bin/env bash
# Plus addresses through the real lab (Postfix + fedmig-milter/policyd +
# fedmig-spm + Dovecot S1/S2) with recipient_delimiter = + in both
# Postfix's main.cf and fedmig.conf.
#
# 1. Plain delivery: alice+tag@example.org is accepted and lands in
#    alice's S1 mailbox as alice+tag@s1.example.org (Postfix sends the
#    socketmap the whole address and would refuse it as "User unknown in
#    virtual alias table" if fedmig did not split it); nobody+tag is still
#    refused.
# 2. A switch with +tag mail flowing: senders write to uNN+tag@example.org,
#    uNN+tag@s1.example.org (the old physical address with an extension)
#    and uNN@example.org while every uNN switches to S2, and slow senders
#    hold a +tag transaction open across the switch. Afterwards each
#    accepted Message-ID was delivered exactly once, to the right mailbox,
#    never to S1 after its address's switch; nothing is left in the queue
#    or on hold; and the milter held +tag mail (the slow senders').
# 3. The drain: with S1 unreachable, mail for carol+tag (queued as
#    carol+tag@s1.example.org) waits in the deferred queue when carol
#    switches; fedmig-spm must move it to hold and release it after the
#    switch, so that it reaches S2, not S1 once S1 is back.
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=lib_pilot.sh
. "$REPO/tests/integ/lib_pilot.sh"
pilot_lab plus_lab
fail() { echo "FAIL plus_lab: $*"; exit 1; }

N=${PLUS_LAB_ADDRESSES:-6}
# drain_timeout: the machine may be loaded: let a backed-up queue drain
# rather than fail.
pilot_scenario nocopy no "recipient_delimiter = +" "drain_timeout = 60s"
# The lab's private Postfix only (-c): never the host's.
postconf -c "$POSTFIX_CONFIG" -e "recipient_delimiter = +" || fail "postconf"
postfix -c "$POSTFIX_CONFIG" reload >/dev/null 2>&1 || fail "postfix reload"
for d in policyd milter; do
	"$REPO/tests/lab/lab" restart-daemon "$LAB" "$d" >/dev/null || fail "restart $d"
done

# shellcheck disable=SC2046 # u01 u02 ...: one word each
pilot_directory alice carol $(seq -f 'u%02g' 1 "$N") || fail "directory import"
pilot_prepare "$LAB"
pilot_start "$LAB"

python3 - "$LAB" "$N" "$B" "$REPO" <<'PY' || exit 1
import os, re, subprocess, sys, time
lab, n, build, repo = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
sys.path.insert(0, os.path.join(repo, "tests", "lab"))
import fedlab
env = fedlab.load_env(lab)
ctl = [os.path.join(build, "spm", "fedmigctl"), "-c", env["FEDMIG_CONF"]]

def fail(msg):
    print("FAIL plus_lab:", msg); sys.exit(1)

def deliveries(*systems):
    return fedlab.inbox_deliveries(env, *systems)

# --- 1. plain delivery ---
r = fedlab.send(env, ["alice+tag@example.org"])
if not r.accepted:
    fail("alice+tag@example.org refused: %s %s" % (r.code, r.text))
if not fedlab.wait_for(lambda: r.msgid in deliveries("s1"), 20, 0.2):
    fail("alice+tag@example.org not delivered to S1: %s" % fedlab.postqueue(env))
got = deliveries("s1")[r.msgid]
if [(s, l) for s, l, _ in got] != [("s1", "alice")]:
    fail("alice+tag@example.org delivered as %s" % got)
if not fedlab.wait_for(lambda: fedlab.maillog(
        env, r"to=<alice\+tag@s1\.example\.org>, orig_to=<alice\+tag@example\.org>.*status=sent"),
        10, 0.2):
    fail("no delivery to=<alice+tag@s1.example.org> orig_to=<alice+tag@example.org> in the maillog")
r = fedlab.send(env, ["nobody+tag@example.org"])
if r.accepted or r.code != 550:
    fail("nobody+tag@example.org: %s %s, want 550" % (r.code, r.text))

# --- 2. a switch with +tag mail flowing ---
users = ["u%02d" % (i + 1) for i in range(n)]
forms = ["%s+tag@example.org", "%s+tag@s1.example.org", "%s@example.org"]
traffic = fedlab.SwitchTraffic(env, ctl, lab)
traffic.senders(lambda i: (users[i % n], forms[i % len(forms)] % users[i % n]), 0.03)
time.sleep(1.0)
# Slow senders start before the switch and finish after it: rule 4.
traffic.slow((users[k], forms[k % 2] % users[k]) for k in range(n))
traffic.switch(users)
ok, reqs, bad = traffic.finish(180)
sent, errors = traffic.sent, traffic.errors
if not ok or bad:
    fail("not complete: %s" % bad)
if not fedlab.wait_queue_empty(env, timeout=30):
    fail("queue not empty: %s" % fedlab.postqueue(env))
got = deliveries("s1", "s2")
lost = dup = wrong = late = 0
for mid, u in sent.items():
    d = got.get(mid, [])
    if not d:
        lost += 1; print("lost:", u, mid); continue
    if len(d) > 1: dup += 1; print("twice:", mid, d)
    system, local, mtime = d[0]
    if local != u: wrong += 1; print("wrong mailbox:", u, mid, d)
    t = reqs[u]["switch_at"] / 1e6
    if system == "s1" and mtime > t + 0.05:
        late += 1; print("to S1 %.3f s after the switch: %s %s" % (mtime - t, u, mid))
milter_log = open(os.path.join(lab, "log", "fedmig-milter.log"), errors="replace").read()
held_tag = len(re.findall(r": hold rcpt=<u\d+\+tag@", milter_log))
print("messages accepted=%d lost=%d dup=%d wrong=%d s1_after_switch=%d +tag_held=%d"
      % (len(sent), lost, dup, wrong, late, held_tag))
for e in errors[:5]: print(e)
if held_tag == 0:
    print("no +tag message was held by the milter")
if lost or dup or wrong or late or errors or held_tag == 0:
    sys.exit(1)

# --- 3. the drain: deferred carol+tag@s1 mail goes to S2 ---
pc = ["postconf", "-c", env["POSTFIX_CONFIG"]]
def postfix_set(value):
    subprocess.run(pc + ["-e", "transport_maps=" + value], check=True)
    subprocess.run(["postfix", "-c", env["POSTFIX_CONFIG"], "reload"], check=True,
                   capture_output=True)
transport = subprocess.run(pc + ["-h", "transport_maps"], check=True, capture_output=True,
                           text=True).stdout.strip()
# Port 1 on loopback refuses: mail for S1 is deferred, S2 still works.
postfix_set(re.sub(r"(s1\.example\.org\s*=\s*lmtp:inet:127\.0\.0\.1:)\d+", r"\g<1>1",
                   transport))
mids = []
for rcpt in ("carol+tag@example.org", "carol+tag@s1.example.org", "carol@example.org"):
    r = fedlab.send(env, [rcpt])
    if not r.accepted:
        fail("%s refused: %s %s" % (rcpt, r.code, r.text))
    mids.append(r.msgid)
if not fedlab.wait_for(lambda: len([m for m in fedlab.postqueue(env)
                                    if m["queue_name"] == "deferred"]) == 3, 20, 0.2):
    fail("carol's mail not deferred: %s" % fedlab.postqueue(env))
with open(os.path.join(lab, "carol.csv"), "w") as f:
    f.write("carol@example.org,s2,+1s,nocopy\n")
subprocess.run(ctl + ["import", os.path.join(lab, "carol.csv")], check=True,
               stdout=subprocess.DEVNULL)
ok = fedlab.wait_for(lambda: [r for r in traffic.states() if r["address"] == "carol@example.org"
                              and r["state_name"] == "complete"], 120, 0.5)
if not ok:
    fail("carol's request not complete: %s" % traffic.states())
def carol_in_s2():
    got = deliveries("s2")
    return all([(s, l) for s, l, _ in got.get(m, [])] == [("s2", "carol")] for m in mids)
delivered = fedlab.wait_for(carol_in_s2, 20, 0.2)
# S1 back: whatever still waits for it would go there now.
postfix_set(transport)
subprocess.run(["postqueue", "-c", env["POSTFIX_CONFIG"], "-f"], check=True)
time.sleep(2.0)
if not fedlab.wait_queue_empty(env, timeout=20):
    print("queue not empty:", fedlab.postqueue(env))
    delivered = False
got = deliveries("s1", "s2")
for m in mids:
    print("carol:", m, [(s, l) for s, l, _ in got.get(m, [])])
if not delivered or not carol_in_s2():
    fail("carol's deferred mail did not reach S2 exactly once")
PY
rc=$?
pilot_hold_empty || rc=1
pilot_result plus_lab $rc 20 "$LAB/log/fedmig-spm.log"
