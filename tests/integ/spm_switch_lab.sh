#!/usr/bin/env bash
# fedmig-spm against the real lab (Postfix + fedmig-milter/policyd + Dovecot
# S1/S2): 20 addresses switched (no data copy) while a sender injects mail
# to all of them, plus slow senders whose DATA spans the switch. Afterwards
# every accepted message was delivered exactly once, to S1 before its
# address's switch or to S2 after it; nothing is left in the hold queue;
# every request is complete with its hold window recorded.
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
B=$(readlink -f "${FEDMIG_BUILD:-$REPO/build}")
export FEDMIG_BUILD=$B
[ "$(id -u)" = 0 ] || { echo "needs root (the lab)"; exit 77; }
for x in spm/fedmig-spm spm/fedmigctl milter/fedmig-milter policyd/fedmig-policyd; do
	[ -x "$B/$x" ] || { echo "no $B/$x"; exit 77; }
done
command -v postfix >/dev/null && command -v dovecot >/dev/null || { echo "no postfix/dovecot"; exit 77; }
LAB=$(mktemp -d /tmp/spm_lab.XXXXXX)
chmod 0755 "$LAB"
SPM_PID=
cleanup() {
	[ -n "$SPM_PID" ] && kill "$SPM_PID" 2>/dev/null && wait "$SPM_PID" 2>/dev/null
	"$REPO/tests/lab/lab" stop "$LAB" >/dev/null 2>&1
	[ -n "${KEEP:-}" ] || rm -rf "$LAB"
}
trap cleanup EXIT
"$REPO/tests/lab/lab" start "$LAB" --fedmig recommended >/dev/null || { echo "lab did not start"; exit 1; }
# shellcheck disable=SC1091
. "$LAB/lab.env"
N=${SPM_LAB_ADDRESSES:-20}
CTL="$B/spm/fedmigctl -c $FEDMIG_CONF"
cat >>"$FEDMIG_CONF" <<CONF
scenarios = nocopy
default_scenario = nocopy
nocopy_copy_data = no
spm_poll_interval = 200ms
release_sweep = 500ms
release_sweep_period = 30s
CONF
printf 'access,system,physical,aliases\n' >"$LAB/dir.csv"
for i in $(seq -f '%02g' 1 "$N"); do
	"$REPO/tests/lab/lab" adduser "$LAB" s1 "u$i" >/dev/null
	printf 'u%s@example.org,s1,u%s@s1.example.org,\n' "$i" "$i" >>"$LAB/dir.csv"
done
$CTL directory import "$LAB/dir.csv" >/dev/null || exit 1
# fedmig-spm runs as fedmig: it writes S2's passwd-file (dovecot driver).
touch "$S2_PASSWD.addresses"
chown fedmig:dovecot "$S2_PASSWD" "$S2_PASSWD.addresses"
chmod 0640 "$S2_PASSWD" "$S2_PASSWD.addresses"
for s in s1 s2; do [ -d "$LAB/$s/sieve" ] && chown fedmig "$LAB/$s/sieve"; done
"$B/spm/fedmig-spm" -c "$FEDMIG_CONF" -f >"$LAB/log/spm.log" 2>&1 &
SPM_PID=$!

python3 - "$LAB" "$N" "$B" <<'PY' || exit 1
import json, os, subprocess, sys, threading, time, uuid
lab, n, build = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(lab)), "..", "..", "tests", "lab"))
sys.path.insert(0, os.path.join(os.getcwd(), "tests", "lab"))
import fedlab
env = fedlab.load_env(lab)
ctl = [os.path.join(build, "spm", "fedmigctl"), "-c", env["FEDMIG_CONF"]]
users = ["u%02d" % (i + 1) for i in range(n)]
sent = {}          # msgid -> user
lock = threading.Lock()
stop = threading.Event()
errors = []

def sender(k):
    i = k
    while not stop.is_set():
        u = users[i % n]; i += 3
        r = fedlab.send(env, ["%s@example.org" % u])
        if r.accepted:
            with lock: sent[r.msgid] = u
        elif r.code // 100 != 4:
            errors.append("rejected: %s %s" % (r.code, r.text))
        time.sleep(0.01)

def slow(u):
    r = fedlab.send(env, ["%s@example.org" % u], slow_pause=3.0)
    if r.accepted:
        with lock: sent[r.msgid] = u
    else:
        errors.append("slow sender not accepted: %s %s" % (r.code, r.text))

threads = [threading.Thread(target=sender, args=(k,)) for k in range(3)]
for t in threads: t.start()
time.sleep(1.0)
# Slow senders start before the switch and finish after it.
slows = [threading.Thread(target=slow, args=(users[k],)) for k in (0, 5, n - 1)]
for t in slows: t.start()
csv = os.path.join(lab, "batch.csv")
with open(csv, "w") as f:
    for u in users:
        f.write("%s@example.org,s2,+1s,nocopy\n" % u)
subprocess.run(ctl + ["import", csv], check=True, stdout=subprocess.DEVNULL)

def states():
    out = subprocess.run(ctl + ["--json", "list"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)
ok = fedlab.wait_for(lambda: all(r["state_name"] == "complete" for r in states()), 60, 0.5)
time.sleep(2.0)
stop.set()
for t in threads + slows: t.join()
reqs = {r["address"].split("@")[0]: r for r in states()}
bad = [r for r in reqs.values() if r["state_name"] != "complete"]
if bad:
    print("not complete:", bad); sys.exit(1)
# Everything delivered, nothing left in hold.
if not fedlab.wait_queue_empty(env, timeout=30):
    print("queue not empty:", fedlab.postqueue(env)); sys.exit(1)

def deliveries(system):
    root = env["%s_MAIL_ROOT" % system.upper()]
    out = {}
    for dom in os.listdir(root):
        for local in os.listdir(os.path.join(root, dom)):
            for sub in ("new", "cur"):
                d = os.path.join(root, dom, local, "Maildir", sub)
                if not os.path.isdir(d): continue
                for name in os.listdir(d):
                    p = os.path.join(d, name)
                    mid = fedlab._message_id(p)
                    out.setdefault(mid, []).append((system, local, os.stat(p).st_mtime))
    return out
got = deliveries("s1")
for k, v in deliveries("s2").items(): got.setdefault(k, []).extend(v)
lost = dup = wrong = late = 0
for mid, u in sent.items():
    d = got.get(mid, [])
    if not d: lost += 1; continue
    if len(d) > 1: dup += 1; print("twice:", mid, d)
    system, local, mtime = d[0]
    if local != u: wrong += 1
    t = reqs[u]["switch_at"] / 1e6
    if system == "s1" and mtime > t + 0.05:
        late += 1; print("to S1 %.3f s after the switch: %s %s" % (mtime - t, u, mid))
windows = sorted((r["release_at"] - r["hold_at"]) / 1e3 for r in reqs.values())
print("messages accepted=%d lost=%d dup=%d wrong=%d s1_after_switch=%d; hold window p50=%.0f ms max=%.0f ms"
      % (len(sent), lost, dup, wrong, late, windows[len(windows) // 2], windows[-1]))
for e in errors[:5]: print(e)
sys.exit(1 if lost or dup or wrong or late or errors or not ok else 0)
PY
rc=$?
held=$(postqueue -c "$POSTFIX_CONFIG" -j | grep -c '"queue_name": *"hold"' || true)
[ "$held" = 0 ] || { echo "hold queue not empty: $held"; rc=1; }
[ $rc = 0 ] && echo "PASS spm_switch_lab" || { tail -n 20 "$LAB/log/spm.log"; }
exit $rc
