#!/usr/bin/env bash
# Several pilots, one leads (issue 18; fedmig-spm(8), "Several pilots"):
# against the real lab, with mail flowing, a leading fedmig-spm and a
# second one started with --standby beside it (the same state database,
# its own run directory: the pidfile is per host). A third one without
# --standby (--once) is refused: another leads. The leader switches one
# address, then is killed with KILL right after the hold of the next; the
# standby takes over within seconds, resumes that request from its last
# committed step and completes it and a third. Every accepted message is
# delivered exactly once, none to S1 after its switch, nothing left on
# hold. Under 2 minutes.
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/integ/lib_pilot.sh
. "$REPO/tests/integ/lib_pilot.sh"
pilot_lab spm_standby
# The pilots this test starts, by the pid each wrote into its lock file,
# if it is still a fedmig-spm (the python part may have died first).
standby_cleanup() {
	local d p
	for d in run run2; do
		p=$(cat "$LAB/$d/fedmig-spm.lock" 2>/dev/null) || continue
		grep -q fedmig-spm "/proc/$p/cmdline" 2>/dev/null && kill -9 "$p"
	done
	_pilot_lab_cleanup
}
trap standby_cleanup EXIT
pilot_scenario nocopy no
pilot_directory -a k1 k2 k3 other || exit 1
pilot_prepare "$LAB"
for n in 2 3; do
	sed "s#^run_directory = .*#run_directory = $LAB/run$n#" "$FEDMIG_CONF" >"$LAB/fedmig$n.conf"
done
sleep 1.1

python3 - "$LAB" "$B" "$REPO" <<'PY'
import os, signal, subprocess, sys, time
lab, build, repo = sys.argv[1], sys.argv[2], sys.argv[3]
import e2e, fedlab
env = fedlab.load_env(lab)
pilot = e2e.Pilot(env, build, lab)
run, show, start = pilot.run, pilot.show, pilot.start
spm = os.path.join(build, "spm", "fedmig-spm")
problems = []
logpath = os.path.join(lab, "log", "fedmig-spm.log")
sbpath = os.path.join(lab, "log", "fedmig-spm-standby.log")

def logged(path, text, since=0):
    try:
        with open(path, "rb") as f:
            f.seek(since)
            return text.encode() in f.read()
    except OSError:
        return False

addrs = ["%s@example.org" % u for u in ("k1", "k2", "k3", "other")] + \
        ["k1.alias@example.org", "k2.alias@example.org"]
flow = e2e.Flow(env, addrs, rate=20.0, multi=0.3, slow=0.05, slow_pause=2.0).start()
leader = start()
if not fedlab.wait_for(lambda: logged(logpath, "this pilot (pid %d on " % leader.pid), 20, 0.1):
    problems.append("the first pilot does not say it leads")
sblog = open(sbpath, "ab")
standby = subprocess.Popen([spm, "-c", os.path.join(lab, "fedmig2.conf"), "-f", "--standby"],
                           stdout=sblog, stderr=sblog, start_new_session=True)
if not fedlab.wait_for(lambda: logged(sbpath, "standing by"), 20, 0.1):
    problems.append("the second pilot does not stand by")
third = subprocess.run([spm, "-c", os.path.join(lab, "fedmig3.conf"), "-f", "--once"],
                       capture_output=True, text=True, timeout=30)
if third.returncode == 0 or "another fedmig-spm leads" not in third.stderr:
    problems.append("a third pilot was not refused: exit %d: %s"
                    % (third.returncode, third.stderr.strip()[-300:]))

run("submit", "k1@example.org", "--to", "s2")
if not fedlab.wait_for(lambda: show("k1@example.org")["state_name"] == "complete", 60, 0.2):
    problems.append("k1 not complete under the first leader: %s" % show("k1@example.org"))
if logged(sbpath, "taking over"):
    problems.append("the standby took over while the leader lived")

# KILL the leader right after k2's hold (its step committed).
size = os.path.getsize(logpath)
run("submit", "k2@example.org", "--to", "s2")
fedlab.wait_for(lambda: logged(logpath, "k2@example.org: E8 hold", size), 30, 0.005)
os.kill(leader.pid, signal.SIGKILL); leader.wait()
killed = time.monotonic()
state = show("k2@example.org")["state_name"]
if not fedlab.wait_for(lambda: logged(sbpath, "taking over"), 15, 0.05):
    problems.append("the standby did not take over")
took = time.monotonic() - killed
print("spm_standby: leader killed at k2's state %s; the standby took over after %.1f s"
      % (state, took))
if took > 5.0:
    problems.append("take-over took %.1f s (want under 5)" % took)
run("submit", "k3@example.org", "--to", "s2")
for a in ("k2@example.org", "k3@example.org"):
    if not fedlab.wait_for(lambda: show(a)["state_name"] == "complete", 60, 0.2):
        problems.append("%s not complete under the new leader: %s" % (a, show(a)))
time.sleep(2.0)
flow.stop()
if not fedlab.wait_queue_empty(env, timeout=60):
    problems.append("queue not empty: %s" % fedlab.postqueue(env))
standby.send_signal(signal.SIGTERM)
standby.wait(30)

reqs = {u: show(u + "@example.org") for u in ("k1", "k2", "k3")}
mailboxes = {}
for a in addrs:
    u = a.split("@")[0].split(".")[0]
    r = reqs.get(u)
    mailboxes[a] = {"s1": "%s@%s" % (u, env["S1_DOMAIN"]),
                    "s2": "%s@%s" % (u, env["S2_DOMAIN"]) if r else None,
                    "switched_at": r["switch_at"] if r else 0, "copied": False}
problems += e2e.flow_problems(env, "spm_standby", flow, mailboxes)
for p_ in problems:
    print("problem:", p_)
sys.exit(1 if problems else 0)
PY
rc=$?
pilot_hold_empty || rc=1
pilot_result spm_standby $rc 30 "$LAB/log/fedmig-spm.log" "$LAB/log/fedmig-spm-standby.log"
