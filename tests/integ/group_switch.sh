#!/usr/bin/env bash
# Group switches (switch_group_max) on the real lab, while mail flows
# (slow senders, a share of it with two recipients spread over the
# group's addresses, their aliases and one address outside the groups):
# a group of 2, then a group of 48 (GROUP=N: another size) whose old
# addresses also have deferred mail (S1's LMTP stopped while it was
# sent, queue runs forced while the group drains); fedmig-spm dies at a
# random step of the group's hold, drain, switch or release (the crash
# hook), then is killed -9 at a random moment after its restart, and
# restarted again. Afterwards, counted per Message-ID and recipient over
# both Dovecots' Maildirs: every message delivered exactly once, none to
# S1 after its address's switch; each request switched once, in a group
# (its history says so); nothing left in the hold queue. The seed is
# printed; SEED=N repeats a run.
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/integ/lib_pilot.sh
. "$REPO/tests/integ/lib_pilot.sh"
pilot_lab group_switch
SEED=${SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
GROUP=${GROUP:-48}
echo "group_switch: seed=$SEED group=$GROUP lab=$LAB${KEEP:+ (kept)}"
pilot_scenario nocopy no "drain_timeout = 30s" "hold_max = 60s" "switch_grace = 300ms"
# shellcheck disable=SC2046 # g1 g2 ...: one word each
pilot_directory -a $(seq -f 'g%g' 1 $((GROUP + 2))) out || exit 1
pilot_prepare "$LAB"
sleep 1.1

python3 - "$LAB" "$B" "$SEED" "$GROUP" <<'PY'
import json, os, random, signal, subprocess, sys, threading, time, uuid
lab, build, seed, group = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
import e2e, fedlab
env = fedlab.load_env(lab)
rnd = random.Random(seed)
pilot = e2e.Pilot(env, build, lab)
run, show, start = pilot.run, pilot.show, pilot.start
pcf = env["POSTFIX_CONFIG"]
problems = []

def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        p.wait(30)

def s1(up):
    e2e.s1_lmtp(env, up, flow)

def import_batch(users, name):
    path = os.path.join(lab, name + ".csv")
    with open(path, "w") as f:
        for u in users:
            f.write("%s@example.org,s2,now,nocopy\n" % u)
    run("import", path)

def all_complete(users):
    return all(show(u + "@example.org")["state_name"] == "complete" for u in users)

users2 = ["g1", "g2"]
usersN = ["g%d" % i for i in range(3, group + 3)]
everyone = users2 + usersN + ["out"]
addrs = ["%s@example.org" % u for u in everyone] + ["%s.alias@example.org" % u for u in everyone]
flow = e2e.Flow(env, addrs, rate=20.0, multi=0.3, slow=0.05, slow_pause=2.0, seed=seed).start()
time.sleep(1.0)

# A group of 2, undisturbed.
p = start()
import_batch(users2, "batch2")
if not fedlab.wait_for(lambda: all_complete(users2), 60, 0.2):
    problems.append("group of 2 not complete: %s" % [show(u + "@example.org") for u in users2])
stop(p)

# Deferred mail for the big group's old addresses (and "out").
sent = {}
s1(False)
for n in range(3 * 10):
    rcpts = list(dict.fromkeys([rnd.choice(usersN), rnd.choice(usersN + ["out"])]))
    rcpts = ["%s@example.org" % u for u in rcpts[:1 + (rnd.random() < 0.4)]]
    msgid = "<group-deferred-%s@fedmig.test>" % uuid.uuid4().hex
    r = fedlab.send(env, rcpts, msgid=msgid)
    if r.accepted:
        sent[msgid] = (rcpts, time.time())
    else:
        problems.append("not accepted: %s %s %s" % (rcpts, r.code, r.text))
if not fedlab.wait_for(lambda: sum(m["queue_name"] == "deferred"
                                   for m in fedlab.postqueue(env)) >= len(sent), 30, 0.1):
    problems.append("mail not deferred: %s" % fedlab.postqueue(env))
s1(True)

# Queue runs forced at random moments while the group holds and drains.
stop_ev = threading.Event()
def flusher():
    r = random.Random(seed + 1)
    while not stop_ev.wait(r.uniform(0.05, 0.6)):
        subprocess.run(["postqueue", "-c", pcf, "-f"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
fl = threading.Thread(target=flusher)
fl.start()

# Steps of a fresh daemon: 4 per request before the hold (E2 create, E2
# redirect, E4 form, E4 unredirect), then the group's: GROUP holds, GROUP
# drained, GROUP switches, GROUP releases.
crash_at = rnd.randint(4 * group + 1, 8 * group)
kill_after = rnd.uniform(0.0, 1.5)
print("group_switch: crash hook at step %d, kill -9 %.2f s after the restart"
      % (crash_at, kill_after))
p = start(crash_at)
import_batch(usersN, "batchN")
try:
    rc = p.wait(60)
except subprocess.TimeoutExpired:
    stop(p); rc = None
if rc != 99:
    problems.append("crash hook: exit %s, not 99" % rc)
states = {}
for u in usersN:
    states[show(u + "@example.org")["state_name"]] = states.get(
        show(u + "@example.org")["state_name"], 0) + 1
print("group_switch: died at step %d: %s" % (crash_at, states))
time.sleep(2.0)  # dead a while: mail piles up in the hold queue
p = start()
time.sleep(kill_after)
os.kill(p.pid, signal.SIGKILL); p.wait()
time.sleep(1.0)
p = start()
if not fedlab.wait_for(lambda: all_complete(usersN), 90, 0.3):
    problems.append("group not complete: %s" % [(u, show(u + "@example.org")["state_name"])
                                               for u in usersN if show(u + "@example.org")
                                               ["state_name"] != "complete"])
stop_ev.set(); fl.join()
time.sleep(2.0)
flow.stop()
if not fedlab.wait_queue_empty(env, timeout=60):
    problems.append("queue not empty: %s" % fedlab.postqueue(env))
stop(p)

reqs = {u: show(u + "@example.org") for u in users2 + usersN}
mailboxes = {}
for a in addrs + ["%s@example.org" % u for u in everyone]:
    u = a.split("@")[0].split(".")[0]
    r = reqs.get(u)
    mailboxes[a] = {"s1": "%s@%s" % (u, env["S1_DOMAIN"]),
                    "s2": "%s@%s" % (u, env["S2_DOMAIN"]) if r else None,
                    "switched_at": r["switch_at"] if r else 0, "copied": False}
flow.accepted.update(sent)
problems += e2e.flow_problems(env, "group_switch", flow, mailboxes)

# Each request switched exactly once, in a group; the hold windows.
windows = []
for u, r in reqs.items():
    rows = fedlab.store_query(env, "SELECT step, detail FROM history WHERE request_id = ? AND step IN "
                              "('E9 switch', 'E9 release')", r["id"])
    sw = [d for s, d in rows if s == "E9 switch"]
    if len(sw) != 1 or "(group " not in sw[0]:
        problems.append("%s: switch history %s" % (u, rows))
    windows.append((r["release_at"] - r["hold_at"]) / 1e6)
windows.sort()
text = open(os.path.join(lab, "log", "fedmig-spm.log"), errors="replace").read()
groups = [l for l in text.splitlines() if "addresses switched, " in l]
print("group_switch: %d groups logged: %s" % (len(groups), [l.split(": ", 1)[-1] for l in groups]))
if not any(" 2 of 2 addresses switched, 2 released" in l for l in groups):
    problems.append("the group of 2 is not in the log")
print("group_switch: hold window median %.3f s, max %.3f s (including the crash and kill)"
      % (windows[len(windows) // 2], windows[-1]))
for p_ in problems[:20]:
    print("problem:", p_)
sys.exit(1 if problems else 0)
PY
rc=$?
pilot_hold_empty || rc=1
pilot_result group_switch $rc 30 "$LAB/log/fedmig-spm.log"
