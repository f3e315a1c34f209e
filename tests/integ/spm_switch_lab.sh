#!/usr/bin/env bash
# fedmig-spm against the real lab (Postfix + fedmig-milter/policyd + Dovecot
# S1/S2): 20 addresses switched (no data copy) while a sender injects mail
# to all of them, plus slow senders whose DATA spans the switch. Afterwards
# every accepted message was delivered exactly once, to S1 before its
# address's switch or to S2 after it; nothing is left in the hold queue;
# every request is complete with its hold window recorded.
# bench/scale runs it larger: SPM_LAB_ADDRESSES (20), SPM_LAB_FINISH (60 s
# for every request to complete).
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/integ/lib_pilot.sh
. "$REPO/tests/integ/lib_pilot.sh"
pilot_lab spm_switch_lab
N=${SPM_LAB_ADDRESSES:-20}
# A drain that times out (its front end's Postfix too slow to deliver
# what it accepted before the hold, as on a CI machine running other labs
# beside this one) lifts the hold and retries: after 1 s here, not the
# default 30 s, which would outlast the time the test gives the switches.
pilot_scenario nocopy no "retry_backoff = 1s"
# shellcheck disable=SC2046 # u01 u02 ...: one word each
pilot_directory $(seq -f 'u%02g' 1 "$N") || exit 1
# fedmig-spm runs as fedmig: it writes S2's passwd-file (dovecot driver).
pilot_prepare "$LAB"
# fe_switch_lab.sh: the same switches through two registered front ends.
if [ -n "${SPM_LAB_FRONTENDS:-}" ]; then
	# shellcheck source=tests/integ/lib_fe.sh
	. "$REPO/tests/integ/lib_fe.sh"
	fe_lab_setup || { echo "FAIL fe_switch_lab: front end set-up"; exit 1; }
fi
pilot_start "$LAB" || exit 1

python3 - "$LAB" "$N" "$B" <<'PY' || exit 1
import os, sys, time
lab, n, build = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(lab)), "..", "..", "tests", "lab"))
sys.path.insert(0, os.path.join(os.getcwd(), "tests", "lab"))
import fedlab
env = fedlab.load_env(lab)
ctl = [os.path.join(build, "spm", "fedmigctl"), "-c", env["FEDMIG_CONF"]]
users = ["u%02d" % (i + 1) for i in range(n)]
traffic = fedlab.SwitchTraffic(env, ctl, lab)
traffic.senders(lambda i: (users[i % n], "%s@example.org" % users[i % n]), 0.01)
# fe_switch_lab with a second lab Postfix (lib_fe.sh): mail into both.
env_b = dict(env, SMTP_PORT=os.environ["FE_SMTP_PORT_B"], POSTFIX_CONFIG=os.environ["FE_POSTFIX_B"]) \
    if os.environ.get("FE_SMTP_PORT_B") else None
traffic_b = fedlab.SwitchTraffic(env_b, ctl, lab) if env_b else None
if traffic_b:
    traffic_b.senders(lambda i: (users[(i + 1) % n], "%s@example.org" % users[(i + 1) % n]), 0.01)
time.sleep(1.0)
# Slow senders start before the switch and finish after it.
traffic.slow((users[k], "%s@example.org" % users[k]) for k in (0, 5, n - 1))
if traffic_b:
    traffic_b.slow((users[k], "%s@example.org" % users[k]) for k in (2, 7))
traffic.switch(users)
ok, reqs, bad = traffic.finish(int(os.environ.get("SPM_LAB_FINISH", "60")))  # bench/scale: more
sent, errors = traffic.sent, traffic.errors
if traffic_b:
    traffic_b.finish(5)
    sent.update(traffic_b.sent)
    errors += traffic_b.errors
if bad:
    print("not complete:", bad); sys.exit(1)
# Everything delivered, nothing left in hold.
for e in [env] + ([env_b] if env_b else []):
    if not fedlab.wait_queue_empty(e, timeout=30):
        print("queue not empty:", fedlab.postqueue(e)); sys.exit(1)

got = fedlab.inbox_deliveries(env, "s1", "s2")
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
span = (max(r["release_at"] for r in reqs.values()) - min(r["hold_at"] for r in reqs.values())) / 1e6
print("messages accepted=%d lost=%d dup=%d wrong=%d s1_after_switch=%d; hold window p50=%.0f ms "
      "p99=%.0f ms max=%.0f ms; %d switches in %.2f s"
      % (len(sent), lost, dup, wrong, late, windows[len(windows) // 2],
         windows[min(len(windows) - 1, int(len(windows) * 0.99))], windows[-1], len(reqs), span))
for e in errors[:5]: print(e)
sys.exit(1 if lost or dup or wrong or late or errors or not ok else 0)
PY
rc=$?
echo "switch attempts failed and retried: $(grep -c 'retry in' "$LAB/log/fedmig-spm.log")"
pilot_hold_empty || rc=1
[ -z "${SPM_LAB_FRONTENDS:-}" ] || fe_lab_check || rc=1
name=spm_switch_lab
[ -z "${SPM_LAB_FRONTENDS:-}" ] || name=fe_switch_lab
pilot_result $name $rc 20 "$LAB/log/fedmig-spm.log"
