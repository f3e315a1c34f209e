#!/usr/bin/env bash
# The whole agent path: fedmigctl -> fedmig-spm -> fedmig-apid ->
# fedmig-agent -> the data buffer -> fedmig-smd -> S2, for mailboxes on an
# S1 the federation cannot reach (s1_access = agent). Three mailboxes read
# by an agent over IMAP (folders, keywords, subscriptions, non-ASCII names,
# a 5 MB message), then one read by a second agent from the Maildir
# (s1_maildir), the first one stopped. Each request completes; the
# independent checker finds every S2 mailbox identical to its S1 mailbox;
# fedmigctl show names the agent while it copies; fedmigctl agent list
# shows both agents; no batch file is left once every request is complete.
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/lab/agent_lib.sh
. "$REPO/tests/lab/agent_lib.sh"
agent_lab agent_copy c1 c2 c3 m1
LOGS=("$LAB/log/fedmig-apid.log" "$LAB/log/agent-a1.log" "$LAB/log/agent-am.log" "$LAB/log/fedmig-smd.log")
agent_apid_start || pilot_result agent_copy 1 10 "${LOGS[@]}"
pilot_start "$LAB" || exit 1
smd_start "$LAB" || exit 1
agent_conf a1
# Dovecot's Maildirs belong to vmail: the Maildir reader runs as vmail.
agent_conf am "s1_maildir = $S1_MAIL_ROOT/%d/%u/Maildir" "fedmig_user = vmail"
{ agent_enrol a1 && agent_enrol am; } || pilot_result agent_copy 1 10 "${LOGS[@]}"
agent_start a1
t0=$SECONDS

python3 - "$LAB" "$B" "$REPO" <<'PY' || pilot_result agent_copy 1 15 "${LOGS[@]}"
import sys
sys.path.insert(0, sys.argv[3] + "/tests/lab")
import agentlab
lab = agentlab.AgentLab(*sys.argv[1:4])
lab.corpus(["c1"], messages=40, big_mb=5)
lab.corpus(["c2", "c3", "m1"], messages=40)
users = ["c1", "c2", "c3"]
lab.submit(users)
shown = set()
def tick():
    for u in users:
        if any(l.strip().startswith("agent") and "a1" in l
               for l in lab.ctl("show", lab.addr(u), check=False).splitlines()):
            shown.add(u)
problems = lab.finish(users, timeout=150, tick=tick)
if not shown:
    problems.append("fedmigctl show never named agent a1")
agentlab.verdict("agent_copy (IMAP)", problems)
PY
echo "agent_copy: the IMAP mailboxes took $((SECONDS - t0)) s; now the Maildir one"
agent_stop a1
agent_start am
t0=$SECONDS
python3 - "$LAB" "$B" "$REPO" <<'PY' || pilot_result agent_copy 1 15 "${LOGS[@]}"
import os, sys
sys.path.insert(0, sys.argv[3] + "/tests/lab")
import agentlab
lab = agentlab.AgentLab(*sys.argv[1:4])
lab.submit(["m1"])
problems = lab.finish(["m1"], timeout=120)
listing = lab.ctl("agent", "list")
for a in ("a1", "am"):
    if a not in listing:
        problems.append("fedmigctl agent list does not show %s: %r" % (a, listing))
left = lab.query("SELECT count(*) FROM agent_batches WHERE path != ''")[0][0]
files = [f for _, _, fs in os.walk(os.path.join(sys.argv[1], "apid-spool")) for f in fs]
if left or files:
    problems.append("buffer not freed: %d live batches, files %s" % (left, files[:5]))
agentlab.verdict("agent_copy (Maildir)", problems)
PY
echo "agent_copy: the Maildir mailbox took $((SECONDS - t0)) s"
pilot_hold_empty
pilot_result agent_copy $? 15 "${LOGS[@]}"
