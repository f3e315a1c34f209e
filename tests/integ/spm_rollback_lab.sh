#!/usr/bin/env bash
# Rollback under load against the real lab, with copy_data: two populated
# addresses are switched to S2 while mail flows (their copy waits: no
# fedmig-smd yet), mail reaches S2 for a few seconds, then the batch is
# rolled back. fedmig-spm switches the directory back, cancels the copy
# that never started and queues the copy back; fedmig-smd then copies the
# mail S2 received since the switch back to S1. Afterwards every accepted
# message is in its S1 mailbox exactly once (nothing lost, nothing twice),
# mail accepted after the rollback went to S1 and never to S2, nothing is
# left in the hold queue, the directory points at S1 again, and S2's
# .addresses file no longer announces the access addresses.
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/integ/lib_pilot.sh
. "$REPO/tests/integ/lib_pilot.sh"
pilot_lab spm_rollback_lab smd/fedmig-smd
pilot_scenario copy yes
pilot_directory b1 b2 stay || exit 1
pilot_prepare "$LAB"
sleep 1.1
pilot_start "$LAB" || exit 1

python3 - "$LAB" "$B" "$REPO" <<'PY'
import json, os, subprocess, sys, time
lab, build, repo = sys.argv[1], sys.argv[2], sys.argv[3]
import e2e, fedlab
env = fedlab.load_env(lab)
ctl = [os.path.join(build, "spm", "fedmigctl"), "-c", env["FEDMIG_CONF"]]
users = ["b1", "b2"]
addrs = ["%s@example.org" % u for u in users]
for k, u in enumerate(users):
    e2e.populate(env, "s1", u, 20, seed=k)
problems = []

def run(*args):
    return subprocess.run(ctl + list(args), check=True, capture_output=True, text=True).stdout

def show(a):
    return json.loads(run("--json", "show", a))

flow = e2e.Flow(env, addrs + ["stay@example.org"], rate=15.0, multi=0.3, slow=0.05,
                slow_pause=2.0).start()
time.sleep(1.0)
with open(os.path.join(lab, "batch.csv"), "w") as f:
    for a in addrs:
        f.write("%s,s2,now,copy\n" % a)
run("import", os.path.join(lab, "batch.csv"))
if not fedlab.wait_for(lambda: all(show(a)["state_name"] == "copying" for a in addrs), 60, 0.2):
    print("FAIL: not copying: %s" % [show(a) for a in addrs]); sys.exit(1)
switched = {a: show(a)["switch_at"] for a in addrs}
time.sleep(4.0)  # mail reaches S2
run("rollback", "--batch", "1")
# The pilot switches back, cancels the forward copy, queues the copy back.
if not fedlab.wait_for(lambda: all("copy back:" in run("show", a) for a in addrs), 60, 0.2):
    problems.append("no copy back queued: %s" % run("show", addrs[0]))
subprocess.run(["bash", "-c", '. "$0/tests/integ/lib_pilot.sh"; smd_start "$1"', repo, lab],
               check=True)
ok = fedlab.wait_for(lambda: all(show(a)["state_name"] == "rolled-back" for a in addrs), 120, 0.3)
t_rb = time.time()
if not ok:
    problems.append("not rolled back: %s" % {a: (show(a)["state_name"], show(a)["reason"]) for a in addrs})
time.sleep(3.0)  # mail after the rollback
flow.stop()
if not fedlab.wait_queue_empty(env, timeout=60):
    problems.append("queue not empty: %s" % fedlab.postqueue(env))
for a in addrs:
    # The rollback's switch is the latest switch: the fast release sweeps
    # key off it (requests.switch_at), not off the forward switch.
    sa = show(a)["switch_at"]
    if not sa > switched[a]:
        problems.append("%s: switch_at %s not moved to the rollback's switch (forward %s)"
                        % (a, sa, switched[a]))
    text = run("show", a)
    for step in ("rollback switch", "copied back", "copy back: done"):
        if step not in text:
            problems.append("%s: no '%s' in show:\n%s" % (a, step, text))
    if "cancelled by the rollback" not in text:
        problems.append("%s: the forward copy was not cancelled" % a)
    d = run("directory", "show", a)
    if "%s@%s" % (a.split("@")[0], env["S1_DOMAIN"]) not in d or "system:    s1" not in d:
        problems.append("%s: directory does not point at S1:\n%s" % (a, d))

d1, d2 = e2e.deliveries(env, "s1"), e2e.deliveries(env, "s2")
lost = dup = after_to_s2 = back = 0
for msgid, (rcpts, at) in flow.accepted.items():
    for rcpt in set(rcpts):
        u = rcpt.split("@")[0]
        n1 = len(d1.get("%s@%s" % (u, env["S1_DOMAIN"]), {}).get(msgid, []))
        n2 = len(d2.get("%s@%s" % (u, env["S2_DOMAIN"]), {}).get(msgid, []))
        if n1 == 0:
            lost += 1; problems.append("lost on S1: %s %s (S2 has %d)" % (msgid, rcpt, n2))
        elif n1 > 1:
            dup += 1; problems.append("%d times on S1: %s %s" % (n1, msgid, rcpt))
        if n2 and at > t_rb + 1.0:
            after_to_s2 += 1; problems.append("to S2 after the rollback: %s %s" % (msgid, rcpt))
        if n2 and n1 == 1:
            back += 1
if back == 0:
    problems.append("no mail reached S2 between the switch and the rollback: nothing tested")
print("spm_rollback_lab: sent=%d lost=%d dup=%d to_s2_after_rollback=%d copied_back=%d tempfails=%d"
      % (len(flow.accepted), lost, dup, after_to_s2, back, flow.tempfails))
if flow.refused:
    problems.append("refused: %s" % flow.refused[:3])
for p_ in problems[:20]:
    print("problem:", p_)
sys.exit(1 if problems else 0)
PY
rc=$?
pilot_hold_empty || rc=1
# S2 announces the rolled-back addresses no more (form undone), and the
# unswitched one never was: an upward sync would claim them for S2.
for u in b1 b2 stay; do
	if grep -q "^$u@example.org " "$LAB/s2/passwd.addresses"; then
		echo "S2 still announces $u@example.org: $(cat "$LAB/s2/passwd.addresses")"
		rc=1
	fi
done
pilot_result spm_rollback_lab $rc 20 "$LAB/log/fedmig-spm.log" "$LAB/log/fedmig-smd.log"
