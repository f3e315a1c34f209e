#!/usr/bin/env bash
# One agent, 31 mailboxes at once, agent_max_migrators = 30: sampled every
# 0.2 s, never more than 30 tasks leased and never more than 30 migrators
# (processes below the guardian); at some moment 30 are leased while the
# 31st waits unleased; then the 31st is read too, and every request
# completes with its S2 mailbox identical to S1's (the checker, each).
# Small batches and a small apid_buffer_high keep each mailbox's lease
# held for a while (the agent waits for the data mover to free its buffer).
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/lab/agent_lib.sh
. "$REPO/tests/lab/agent_lib.sh"
# shellcheck disable=SC2046 # m01 m02 ...: one word each
agent_lab agent_many $(seq -f 'm%02g' 1 31)
LOGS=("$LAB/log/fedmig-apid.log" "$LAB/log/agent-a1.log" "$LAB/log/fedmig-smd.log")
echo "smd_max_children = 32" >>"$FEDMIG_CONF"
agent_apid_start "apid_batch_items = 5" "apid_buffer_high = 65536" ||
	pilot_result agent_many 1 10 "${LOGS[@]}"
agent_conf a1 "agent_max_migrators = 30"
agent_enrol a1 || pilot_result agent_many 1 10 "${LOGS[@]}"
alab corpus "$(seq -s, -f 'm%02g' 1 31)" 30 10 || exit 1
pilot_start "$LAB" || exit 1
smd_start "$LAB" || exit 1
t0=$SECONDS
# shellcheck disable=SC2046
alab submit $(seq -f 'm%02g' 1 31) || exit 1
# The tasks exist before the agent starts: it finds 31 at once.
alab wait 60 "SELECT count(*) = 31 FROM agent_tasks" || pilot_result agent_many 1 10 "${LOGS[@]}"
agent_start a1

python3 - "$LAB" "$B" "$REPO" "$(cat "$LAB/run/agent-a1.pid")" <<'PY'
import sys, time
sys.path.insert(0, sys.argv[3] + "/tests/lab")
import agentlab
lab = agentlab.AgentLab(*sys.argv[1:4])
guardian = int(sys.argv[4])
users = ["m%02d" % (i + 1) for i in range(31)]
most = {"leased": 0, "migrators": 0}
full_with_one_waiting = []
def tick():
    now = int(time.time() * 1000)
    rows = lab.query("SELECT CASE WHEN agent != '' AND lease_until >= ? AND phase < 3 THEN 1 ELSE 0 END,"
                     " phase FROM agent_tasks", now)
    leased = sum(1 for held, _ in rows if held)
    waiting = sum(1 for held, phase in rows if not held and phase == 0)
    migrators = len(agentlab.group_pids(guardian)) - 1
    most["leased"] = max(most["leased"], leased)
    most["migrators"] = max(most["migrators"], migrators)
    if leased == 30 and waiting:
        full_with_one_waiting.append(time.time())
problems = lab.finish(users, timeout=170, tick=tick)
print("agent_many: most leased at once %(leased)d, most migrators %(migrators)d" % most)
if most["leased"] > 30 or most["migrators"] > 30:
    problems.append("more than 30 at once: %s" % most)
if not full_with_one_waiting:
    problems.append("never saw 30 leased with the 31st waiting")
agentlab.verdict("agent_many", problems)
PY
rc=$?
echo "agent_many: took $((SECONDS - t0)) s"
pilot_result agent_many $rc 15 "${LOGS[@]}"
