#!/usr/bin/env bash
# fedmig-spm and fedmig-smd together against the real lab: users on S1
# with mail in folders (flags, keywords, old dates, a non-ASCII folder),
# mail flowing to them, a batch with copy_data = yes. Every request goes
# 6 switched -> 7 copying -> 8 copied -> 10 complete; the independent
# checker finds each S2 mailbox identical to its S1 mailbox (S2's INBOX
# may hold more: mail delivered after the switch); every accepted message
# is delivered once, none to S1 after its address's switch; fedmigctl
# show and report print the copy's progress.
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/integ/lib_pilot.sh
. "$REPO/tests/integ/lib_pilot.sh"
pilot_lab spm_copy_lab smd/fedmig-smd
N=${SPM_COPY_USERS:-4}
pilot_scenario copy yes
# shellcheck disable=SC2046 # c1 c2 ...: one word each
pilot_directory $(seq -f 'c%g' 1 "$N") || exit 1
pilot_prepare "$LAB"
sleep 1.1 # Dovecot notices a passwd-file change by its mtime (seconds)
pilot_start "$LAB" || exit 1
smd_start "$LAB" || exit 1

python3 - "$LAB" "$N" "$B" "$REPO" <<'PY'
import json, os, subprocess, sys, time
lab, n, build, repo = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
import e2e, fedlab
env = fedlab.load_env(lab)
ctl = [os.path.join(build, "spm", "fedmigctl"), "-c", env["FEDMIG_CONF"]]
users = ["c%d" % (i + 1) for i in range(n)]
addrs = ["%s@example.org" % u for u in users]
for k, u in enumerate(users):
    e2e.populate(env, "s1", u, 40 + 10 * k, seed=k)

def run(*args):
    return subprocess.run(ctl + list(args), check=True, capture_output=True, text=True).stdout

def states():
    return {r["address"]: r for r in json.loads(run("--json", "list"))}

flow = e2e.Flow(env, addrs, rate=10.0, multi=0.2, slow=0.05, slow_pause=2.0).start()
time.sleep(1.5)
with open(os.path.join(lab, "batch.csv"), "w") as f:
    for a in addrs:
        f.write("%s,s2,+1s,copy\n" % a)
run("import", os.path.join(lab, "batch.csv"))
# The copy's progress as fedmigctl shows it, caught while it runs.
progress = set()
def done():
    st = states()
    for a, r in st.items():
        if r["state_name"] in ("copying", "copied"):
            for line in run("show", a).splitlines():
                if line.strip().startswith("copy:"):
                    progress.add(line.strip())
    return all(r["state_name"] in ("complete", "failed") for r in st.values())
ok = fedlab.wait_for(done, 240, 0.3)
time.sleep(2.0)  # mail sent just after the last switch reaches S2
flow.stop()
reqs = states()
problems = []
if not ok:
    problems.append("not all complete within 240 s: %s" % {a: r["state_name"] for a, r in reqs.items()})
for a, r in reqs.items():
    if r["state_name"] != "complete":
        problems.append("%s is %s: %s" % (a, r["state_name"], r["reason"]))
    hist = run("show", a)
    for step in ("E9 switch", "E13 copy queued", "E15 copied", "E40 complete"):
        if step not in hist:
            problems.append("%s: no '%s' in its history" % (a, step))
    job = json.loads(run("--json", "show", a)).get("copy", {})
    if job.get("state") != "done" or job.get("messages_done", 0) < 40:
        problems.append("%s: show --json copy job: %s" % (a, job))
    last = [l for l in hist.splitlines() if l.strip().startswith("copy:")]
    if not last or "done" not in last[0]:
        problems.append("%s: show has no finished copy line: %s" % (a, last))
rep = run("report")
if "hold windows:" not in rep:
    problems.append("report without hold windows")
if not fedlab.wait_queue_empty(env, timeout=60):
    problems.append("queue not empty: %s" % fedlab.postqueue(env))
problems += e2e.copied_problems(env, "spm_copy_lab", flow, reqs, users)
print("copy progress seen while running: %d distinct lines, e.g. %s"
      % (len(progress), sorted(progress)[:1]))
for p in problems:
    print("problem:", p)
sys.exit(1 if problems else 0)
PY
rc=$?
pilot_hold_empty || rc=1
pilot_result spm_copy_lab $rc 15 "$LAB/log/fedmig-spm.log" "$LAB/log/fedmig-smd.log"
