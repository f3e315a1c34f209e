#!/usr/bin/env bash
# Pre-staging in the pilot against the real lab (fedmig-spm, fedmig-smd,
# Postfix, two Dovecots): a batch with prestage = yes, a short
# prestage_interval and the planned instant ~30 s ahead, and one request
# without pre-stage beside them; mail flows to every address before,
# during and after the switch. Each pre-staged request has at least two
# "P1 pre-stage" passes in its history before its switch, no pre-stage job
# left queued after it, and a catch-up (switch to copy done) in fedmigctl
# show and report (per mailbox, p50/p95/max); the one without has none of
# the passes and the whole copy as its catch-up. At the end every accepted
# message is on S2 exactly once per recipient, none left on S1 unread by
# the copy, none delivered to S1 after the switch (e2e.account), and the
# independent checker finds each S2 mailbox holding its S1 mailbox. A
# fifth pre-staged request, cancelled after its first pass, is cancelled
# with no pre-stage pass left queued.
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/integ/lib_pilot.sh
. "$REPO/tests/integ/lib_pilot.sh"
pilot_lab prestage_pilot smd/fedmig-smd
# pilot_scenario's timers, with two scenarios (it writes one).
cat >>"$FEDMIG_CONF" <<'CONF'
scenarios = pre plain
default_scenario = plain
pre_copy_data = yes
pre_prestage = yes
pre_prestage_interval = 3s
plain_copy_data = yes
spm_poll_interval = 200ms
release_sweep = 500ms
release_sweep_period = 30s
smd_poll_interval = 300ms
smd_retry_delay = 1s
CONF
pilot_directory p1 p2 p3 n1 x1 || exit 1
pilot_prepare "$LAB"
sleep 1.1 # Dovecot notices a passwd-file change by its mtime (seconds)
pilot_start "$LAB" || exit 1
smd_start "$LAB" || exit 1

python3 - "$LAB" "$B" "$REPO" <<'PY'
import json, os, re, subprocess, sys, time
lab, build, repo = sys.argv[1], sys.argv[2], sys.argv[3]
import e2e, fedlab
env = fedlab.load_env(lab)
ctl = [os.path.join(build, "spm", "fedmigctl"), "-c", env["FEDMIG_CONF"]]
users = ["p1", "p2", "p3", "n1"]
addrs = ["%s@example.org" % u for u in users]
pre = addrs[:3]
for k, u in enumerate(users + ["x1"]):
    e2e.populate(env, "s1", u, 40 + 10 * k, seed=k)

def run(*args):
    return subprocess.run(ctl + list(args), check=True, capture_output=True, text=True).stdout

def states():
    return {r["address"]: r for r in json.loads(run("--json", "list"))}

flow = e2e.Flow(env, addrs, rate=8.0, multi=0.2, slow=0.05, slow_pause=2.0).start()
time.sleep(1.5)
with open(os.path.join(lab, "batch.csv"), "w") as f:
    for a in addrs:
        f.write("%s,s2,+30s,%s\n" % (a, "pre" if a in pre else "plain"))
    f.write("x1@example.org,s2,+60s,pre\n")
t0 = time.time()
run("import", os.path.join(lab, "batch.csv"))
# While pre-staging, show lists the passes.
seen_show = set()
cancelled = []
def done():
    st = states()
    if not cancelled and "pass 1:" in run("show", "x1@example.org"):
        run("cancel", "x1@example.org")
        cancelled.append(time.time())
    for a in pre:
        if st[a]["state"] < 5:
            for line in run("show", a).splitlines():
                if line.strip().startswith("pre-stage:"):
                    seen_show.add(a)
    return all(r["state_name"] in ("complete", "failed", "cancelled") for r in st.values())
ok = fedlab.wait_for(done, 100, 0.5)
time.sleep(2.0)  # mail sent just after the last switch reaches S2
flow.stop()
reqs = states()
problems = []
x = json.loads(run("--json", "show", "x1@example.org"))
if not cancelled or x["state_name"] != "cancelled" or x["prestage"].get("state") == "queued":
    problems.append("x1 cancelled while pre-staging: %s %s" % (x["state_name"], x["prestage"]))
reqs.pop("x1@example.org", None)
if not ok:
    problems.append("not all complete within 100 s: %s" % {a: r["state_name"] for a, r in reqs.items()})
catchup = {}
for a, r in reqs.items():
    if r["state_name"] != "complete":
        problems.append("%s is %s: %s" % (a, r["state_name"], r["reason"]))
    hist = run("show", a)
    js = json.loads(run("--json", "show", a))
    catchup[a] = js.get("catchup_ms")
    if catchup[a] is None or "catch-up:" not in hist:
        problems.append("%s: no catch-up in show: %s" % (a, js.get("catchup_ms")))
    hl = [l for l in hist.splitlines() if "P1 pre-stage" in l]
    if a not in pre:
        if hl or js["prestage"]["passes"] != 0 or "the whole copy" not in hist:
            problems.append("%s (no pre-stage) has passes: %s" % (a, hl[:2]))
        continue
    before = [l for l in hl if re.search(r"pass \d+: \d+ messages", l)
              and hist.index(l) < hist.index("E9 switch")]
    if len(before) < 2:
        problems.append("%s: %d pre-stage passes before the switch: %s" % (a, len(before), hl))
    if js["prestage"]["passes"] < 2 or js["prestage"].get("state") == "queued":
        problems.append("%s: show --json prestage %s" % (a, js["prestage"]))
    if "E4 address-formed" not in hist or "prestage_wait_max" in hist:
        problems.append("%s: E4 after a timed-out wait" % a)
for a in pre:
    if a not in seen_show:
        problems.append("%s: show never listed pre-stage passes while pre-staging" % a)
rep = run("report")
m = re.search(r"catch-up: (\d+) mailboxes, p50 ([\d.]+) s, p95 ([\d.]+) s, max ([\d.]+) s", rep)
if not m or int(m.group(1)) != len(addrs) or "x1@" in rep:
    problems.append("report without the batch's catch-up: %s" % rep)
for a in addrs:
    if not re.search(r"^\s+%s\s+[\d.]+ s" % re.escape(a), rep, re.M):
        problems.append("report has no catch-up line for %s" % a)
rj = json.loads(run("--json", "report"))
if rj.get("catchup", {}).get("count") != len(addrs) or len(rj.get("catchups", [])) != len(addrs):
    problems.append("report --json catch-up: %s %s" % (rj.get("catchup"), rj.get("catchups")))
if not fedlab.wait_queue_empty(env, timeout=60):
    problems.append("queue not empty: %s" % fedlab.postqueue(env))
problems += e2e.copied_problems(env, "prestage_pilot", flow, reqs, users)
print("catch-up ms: %s; run %.0f s" % (catchup, time.time() - t0))
for p in problems:
    print("problem:", p)
sys.exit(1 if problems else 0)
PY
rc=$?
pilot_hold_empty || rc=1
pilot_result prestage_pilot $rc 20 "$LAB/log/fedmig-spm.log" "$LAB/log/fedmig-smd.log"
