#!/usr/bin/env bash
# The drain against deferred mail and forced queue runs, on the real lab.
# Each round: S1's Dovecot (its LMTP) is stopped, mail for a few
# addresses (some with a second recipient that stays on S1) is accepted
# and deferred with the old physical address, S1 comes back and the
# addresses' switch is ordered; meanwhile
# queue runs are forced at random moments ("postqueue -f", "postqueue -i
# ID", in bursts timed on each address's drain), so qmgr moves deferred
# mail to active while the drain looks at it and holds it. Afterwards, counted per Message-ID and recipient over both
# Dovecots' Maildirs: every message delivered exactly once, never to S1
# at or after its address's switch time (from the store), nothing left in
# the hold queue. The seed is printed; SEED=N repeats a run, ROUNDS=N
# makes it longer.
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/integ/lib_pilot.sh
. "$REPO/tests/integ/lib_pilot.sh"
pilot_lab spm_drain_lab
SEED=${SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
ROUNDS=${ROUNDS:-6}
PER=3 # addresses switched per round
echo "spm_drain_lab: seed=$SEED rounds=$ROUNDS"
# A known grace (switch_grace): the test times its forced deliveries on
# the drain.
pilot_scenario nocopy no "drain_timeout = 30s" "hold_max = 60s" "switch_grace = 1s"
# shellcheck disable=SC2046 # d1 d2 ...: one word each
pilot_directory $(seq -f 'd%g' 1 $((ROUNDS * PER))) dstay || exit 1
pilot_prepare "$LAB"
sleep 1.1
pilot_start "$LAB" || exit 1

python3 - "$LAB" "$B" "$REPO" "$SEED" "$ROUNDS" "$PER" <<'PY'
import json, os, random, subprocess, sys, threading, time, uuid
lab, build, repo = sys.argv[1], sys.argv[2], sys.argv[3]
seed, rounds, per = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
import e2e, fedlab
env = fedlab.load_env(lab)
rnd = random.Random(seed)
ctl = [os.path.join(build, "spm", "fedmigctl"), "-c", env["FEDMIG_CONF"]]
pcf = env["POSTFIX_CONFIG"]
problems = []
sent = {}  # msgid -> [access address, ...]
flushes = 0

def run(*args):
    return subprocess.run(ctl + list(args), check=True, capture_output=True, text=True).stdout

def show(a):
    return json.loads(run("--json", "show", a))

def s1(up):
    e2e.s1_lmtp(env, up)  # LMTP answers (or not) before we go on

def db_hold_at(a):
    rows = fedlab.store_query(env, "SELECT hold_at FROM requests WHERE access = ? ORDER BY id DESC LIMIT 1", a)
    return rows[0][0] if rows else 0

def burster(stop, addrs, ids_of):
    """At each address's drain (its hold + switch_grace), forced queue
    runs: "postqueue -i" of its deferred mail, now and then "postqueue
    -f", again and again from a random instant around the drain's first
    queue scan."""
    global flushes
    r = random.Random(rnd.random())
    for a in addrs:
        if not fedlab.wait_for(lambda: db_hold_at(a) or stop.is_set(), 60, 0.01) or stop.is_set():
            return
        t0 = db_hold_at(a) / 1e6 + 1.0 + r.uniform(-0.06, 0.02)
        while time.time() < t0:
            time.sleep(0.002)
        t_end = t0 + r.uniform(0.05, 0.25)
        while time.time() < t_end and ids_of[a]:
            if r.random() < 0.15:
                cmd = ["postqueue", "-c", pcf, "-f"]  # everything, as an admin would
            else:
                cmd = ["postqueue", "-c", pcf, "-i", r.choice(ids_of[a])]
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            flushes += 1

for k in range(rounds):
    addrs = ["d%d@example.org" % (k * per + i + 1) for i in range(per)]
    s1(False)
    ids, ids_of = [], {a: [] for a in addrs}
    for n in range(6 * per):
        rcpts = [rnd.choice(addrs)]
        if rnd.random() < 0.3:
            rcpts.append(rnd.choice(addrs + ["dstay@example.org"]))
        rcpts = list(dict.fromkeys(rcpts))
        msgid = "<drain-%d-%s@fedmig.test>" % (k, uuid.uuid4().hex)
        r = fedlab.send(env, rcpts, msgid=msgid)
        if not r.accepted:
            problems.append("not accepted: %s %s %s" % (rcpts, r.code, r.text))
            continue
        sent[msgid] = rcpts
        ids.append(r.queue_id)
        for a in rcpts:
            if a in ids_of:
                ids_of[a].append(r.queue_id)
    # The mail is deferred (S1 refuses connections) with the old address.
    if not fedlab.wait_for(lambda: sum(m["queue_name"] == "deferred"
                                       for m in fedlab.postqueue(env)) >= len(ids), 30, 0.1):
        problems.append("round %d: mail not deferred: %s" % (k, fedlab.postqueue(env)))
    # S1 answers again; its mail stays deferred until a queue run (every
    # 10 s in the lab) or a forced one.
    s1(True)
    stop = threading.Event()
    threads = [threading.Thread(target=burster, args=(stop, addrs, ids_of))]
    for t in threads:
        t.start()
    with open(os.path.join(lab, "batch%d.csv" % k), "w") as f:
        for a in addrs:
            f.write("%s,s2,now,nocopy\n" % a)
    run("import", os.path.join(lab, "batch%d.csv" % k))
    ok = fedlab.wait_for(lambda: all(show(a)["state_name"] == "complete" for a in addrs), 90, 0.2)
    stop.set()
    for t in threads:
        t.join()
    if not ok:
        problems.append("round %d: not complete: %s" % (k, [(a, show(a)["state_name"],
                                                             show(a)["reason"]) for a in addrs]))
    if not fedlab.wait_queue_empty(env, timeout=60):
        problems.append("round %d: queue not empty: %s" % (k, fedlab.postqueue(env)))

switch_at = {}
for k in range(rounds * per):
    a = "d%d@example.org" % (k + 1)
    switch_at[a] = show(a)["switch_at"]
d1, d2 = e2e.deliveries(env, "s1"), e2e.deliveries(env, "s2")
lost = dup = late = to_s1 = to_s2 = 0
for msgid, rcpts in sent.items():
    for a in rcpts:
        u = a.split("@")[0]
        t1 = d1.get("%s@%s" % (u, env["S1_DOMAIN"]), {}).get(msgid, [])
        t2 = d2.get("%s@%s" % (u, env["S2_DOMAIN"]), {}).get(msgid, [])
        to_s1 += len(t1); to_s2 += len(t2)
        if len(t1) + len(t2) == 0:
            lost += 1; problems.append("lost: %s %s" % (msgid, a))
        elif len(t1) + len(t2) > 1:
            dup += 1; problems.append("delivered %d times (S1 %d, S2 %d): %s %s"
                                      % (len(t1) + len(t2), len(t1), len(t2), msgid, a))
        if a in switch_at:
            for t in t1:
                if t >= switch_at[a]:
                    late += 1
                    problems.append("to S1 %.3f s after the switch: %s %s"
                                    % ((t - switch_at[a]) / 1e6, msgid, a))
log = open(os.path.join(lab, "log", "fedmig-spm.log"), errors="replace").read()
held = sum(int(l.split(" moved ")[1].split()[0]) for l in log.splitlines()
           if " deferred messages for " in l and " to hold" in l)
moved = sum(int(l.split("request=")[1].split()[1]) for l in log.splitlines()
            if "left the deferred queue before" in l)
print("spm_drain_lab: seed=%d rounds=%d messages=%d deliveries S1=%d S2=%d lost=%d dup=%d "
      "s1_after_switch=%d flushes=%d held_by_drain=%d moved_before_hold=%d"
      % (seed, rounds, len(sent), to_s1, to_s2, lost, dup, late, flushes, held, moved))
for p_ in problems[:20]:
    print("problem:", p_)
sys.exit(1 if problems else 0)
PY
rc=$?
pilot_hold_empty || rc=1
[ $rc = 0 ] || grep -E "from active|No such file" "$POSTFIX_MAILLOG" | tail -n 5
pilot_result spm_drain_lab $rc 30 "$LAB/log/fedmig-spm.log"
