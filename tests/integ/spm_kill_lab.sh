#!/usr/bin/env bash
# fedmig-spm dies in the middle of a switch while mail flows, against the
# real lab: for each point - right after the hold, after the drain (still
# held, not switched), right after the switch commit (before the release)
# - the pilot exits there like kill -9 (FEDMIG_SPM_CRASH_AFTER: _exit, no
# cleanup) and stays dead a few seconds while mail for the address piles
# up in the hold queue; then a real kill -9 timed on the "E8 hold" log
# line. Each time it is restarted and the switch completes. Afterwards
# every accepted message was delivered exactly once, none to S1 after its
# address's switch, and nothing is left in the hold queue.
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/integ/lib_pilot.sh
. "$REPO/tests/integ/lib_pilot.sh"
pilot_lab spm_kill_lab
pilot_scenario nocopy no
pilot_directory -a k1 k2 k3 k4 other || exit 1
pilot_prepare "$LAB"
sleep 1.1

python3 - "$LAB" "$B" "$REPO" <<'PY'
import json, os, signal, subprocess, sys, time
lab, build, repo = sys.argv[1], sys.argv[2], sys.argv[3]
import e2e, fedlab
env = fedlab.load_env(lab)
pilot = e2e.Pilot(env, build, lab)
run, show, start = pilot.run, pilot.show, pilot.start
problems = []

def held_in_queue():
    return sum(1 for m in fedlab.postqueue(env) if m.get("queue_name") == "hold")

addrs = ["%s@example.org" % u for u in ("k1", "k2", "k3", "k4", "other")] + \
        ["k1.alias@example.org", "k3.alias@example.org"]
flow = e2e.Flow(env, addrs, rate=20.0, multi=0.3, slow=0.05, slow_pause=2.0).start()
time.sleep(1.0)
# Steps of one request in a fresh daemon: E2 create 1, E2 redirect 2,
# E4 form 3, E4 unredirect 4, E8 hold 5, E8 drained 6, E9 switch 7.
rounds = [("k1", 5, "after the hold"), ("k2", 6, "after the drain"),
          ("k3", 7, "after the switch, before the release")]
for user, n, where in rounds:
    a = user + "@example.org"
    p = start(n)
    run("submit", a, "--to", "s2")
    try:
        rc = p.wait(60)
    except subprocess.TimeoutExpired:
        p.kill(); p.wait()
        problems.append("%s: the crash hook did not fire" % a); continue
    st = show(a)
    if rc != 99:
        problems.append("%s: exit %d, not the hook's 99" % (a, rc))
    # Dead for a while: mail for the address waits in the hold queue.
    time.sleep(3.0)
    print("%s: died %s (state %s), %d messages in the hold queue meanwhile"
          % (a, where, st["state_name"], held_in_queue()))
    p = start()
    ok = fedlab.wait_for(lambda: show(a)["state_name"] == "complete", 60, 0.2)
    p.send_signal(signal.SIGTERM); p.wait(30)
    if not ok:
        problems.append("%s: not complete after the restart: %s" % (a, show(a)))

# A real kill -9, timed on the hold's log line (the 0.2 s grace follows it).
a = "k4@example.org"
p = start()
logpath = os.path.join(lab, "log", "fedmig-spm.log")
size = os.path.getsize(logpath)
run("submit", a, "--to", "s2")
def hold_logged():
    with open(logpath, "rb") as f:
        f.seek(size)
        return b"k4@example.org: E8 hold" in f.read()
fedlab.wait_for(hold_logged, 30, 0.005)
os.kill(p.pid, signal.SIGKILL); p.wait()
st = show(a)
time.sleep(2.0)
print("%s: kill -9 at state %s, %d messages in the hold queue meanwhile"
      % (a, st["state_name"], held_in_queue()))
p = start()
if not fedlab.wait_for(lambda: show(a)["state_name"] == "complete", 60, 0.2):
    problems.append("%s: not complete after the restart: %s" % (a, show(a)))
time.sleep(2.0)
flow.stop()
if not fedlab.wait_queue_empty(env, timeout=60):
    problems.append("queue not empty: %s" % fedlab.postqueue(env))
p.send_signal(signal.SIGTERM); p.wait(30)

reqs = {}
for u in ("k1", "k2", "k3", "k4"):
    r = show(u + "@example.org")
    reqs[u] = r
mailboxes = {}
for a in addrs:
    u = a.split("@")[0].split(".")[0]
    r = reqs.get(u)
    mailboxes[a] = {"s1": "%s@%s" % (u, env["S1_DOMAIN"]),
                    "s2": "%s@%s" % (u, env["S2_DOMAIN"]) if r else None,
                    "switched_at": r["switch_at"] if r else 0, "copied": False}
problems += e2e.flow_problems(env, "spm_kill_lab", flow, mailboxes)
for u, r in reqs.items():
    print("%s: hold window %.3f s" % (u, (r["release_at"] - r["hold_at"]) / 1e6))
for p_ in problems:
    print("problem:", p_)
sys.exit(1 if problems else 0)
PY
rc=$?
pilot_hold_empty || rc=1
pilot_result spm_kill_lab $rc 20 "$LAB/log/fedmig-spm.log"
