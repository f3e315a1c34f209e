#!/usr/bin/env bash
# The window between a switch's time and its commit, forced open on the
# real lab: fedmig-spm's switch transaction takes 1.5 s to commit (the
# test hook FEDMIG_SPM_SWITCH_COMMIT_DELAY_MS, as a group of hundreds on a
# loaded disk would). Inside that window a client sends MAIL FROM and
# RCPT (Postfix looks the recipient up before the commit: the old
# physical address), waits until the switch is committed, then sends the
# final dot. That message must not reach the old mailbox: it is held,
# then released to the new one, exactly once. Once for a switch of one
# (w1), once for a group of two (w2, w3; one message to both). Before
# the switch kept its hold until published, the milter let both go to S1
# (CI's late deliveries in group_switch).
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/integ/lib_pilot.sh
. "$REPO/tests/integ/lib_pilot.sh"
pilot_lab group_switch_window
pilot_scenario nocopy no "switch_grace = 200ms"
pilot_directory w1 w2 w3 || exit 1
pilot_prepare "$LAB"
sleep 1.1
pilot_start "$LAB" FEDMIG_SPM_SWITCH_COMMIT_DELAY_MS=1500 || exit 1

python3 - "$LAB" "$B" <<'PY'
import json, os, smtplib, subprocess, sys, time, types, uuid
lab, build = sys.argv[1], sys.argv[2]
import e2e, fedlab
env = fedlab.load_env(lab)
ctl = [os.path.join(build, "spm", "fedmigctl"), "-c", env["FEDMIG_CONF"]]
spm_log = os.path.join(lab, "log", "fedmig-spm.log")
problems, accepted = [], {}

def show(u):
    out = subprocess.run(ctl + ["--json", "show", u + "@example.org"], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)

HELD = 5  # lib/state.h

def state(u):
    """U's state as committed, read-only: fedmigctl would wait for the
    switch's write lock and tell the state after the commit."""
    return fedlab.store_query(env, "SELECT state FROM requests WHERE access = ?", u + "@example.org")[0][0]

def hook_logged(rid):
    with open(spm_log, errors="replace") as f:
        return ("request=%d: test hook: switch transaction" % rid) in f.read()

def window(users, first):
    """Import USERS due now; inside FIRST's switch commit window, MAIL
    FROM and RCPT to all of them; the final dot once they are switched."""
    path = os.path.join(lab, "b-%s.csv" % first)
    with open(path, "w") as f:
        f.writelines("%s@example.org,s2,now,nocopy\n" % u for u in users)
    subprocess.run(ctl + ["import", path], check=True, capture_output=True)
    rid = show(first)["id"]
    if not fedlab.wait_for(lambda: hook_logged(rid), 30, 0.02):
        problems.append("%s: the switch never reached its commit" % users)
        return
    msgid = "<window-%s@fedmig.test>" % uuid.uuid4().hex
    rcpts = ["%s@example.org" % u for u in users]
    smtp = smtplib.SMTP("127.0.0.1", int(env["SMTP_PORT"]), local_hostname="client.fedlab.test",
                        timeout=60)
    smtp.ehlo()
    smtp.mail("tester@fed.example.org")
    for a in rcpts:
        code, text = smtp.rcpt(a)
        if code != 250:
            problems.append("RCPT %s: %s %s" % (a, code, text))
    states = [state(u) for u in users]
    if states != [HELD] * len(users):
        problems.append("%s: RCPT not inside the window: %s" % (users, states))
    smtp.putcmd("data")
    smtp.getreply()
    smtp.sock.sendall(("From: <tester@fed.example.org>\r\nTo: %s\r\nMessage-ID: %s\r\n"
                       "Subject: in the switch's window\r\n\r\nbody\r\n"
                       % (", ".join(rcpts), msgid)).encode())
    if not fedlab.wait_for(lambda: all(state(u) != HELD for u in users), 30, 0.02):
        problems.append("%s: not switched" % users)
    smtp.sock.sendall(b".\r\n")
    code, text = smtp.getreply()
    smtp.quit()
    if code != 250:
        problems.append("%s: final dot: %s %s" % (users, code, text))
    else:
        accepted[msgid] = (rcpts, time.time())
    if not fedlab.wait_for(lambda: all(show(u)["state_name"] == "complete" for u in users),
                           30, 0.2):
        problems.append("%s: not complete: %s" % (users, [show(u)["state_name"] for u in users]))

window(["w1"], "w1")
window(["w2", "w3"], "w2")
if not fedlab.wait_queue_empty(env, timeout=30):
    problems.append("queue not empty: %s" % fedlab.postqueue(env))

# What flow_problems() reads of a Flow: these two messages.
flow = types.SimpleNamespace(accepted=accepted, refused=[], tempfails=0)
boxes = {"%s@example.org" % u: {"s1": "%s@%s" % (u, env["S1_DOMAIN"]),
                                "s2": "%s@%s" % (u, env["S2_DOMAIN"]),
                                "switched_at": show(u)["switch_at"], "copied": False}
         for u in ("w1", "w2", "w3")}
problems += e2e.flow_problems(env, "group_switch_window", flow, boxes)
with open(spm_log, errors="replace") as f:
    if " 2 of 2 addresses switched" not in f.read():
        problems.append("w2 and w3 did not switch as one group")
for p in problems:
    print("problem:", p)
sys.exit(1 if problems else 0)
PY
rc=$?
pilot_hold_empty || rc=1
pilot_result group_switch_window $rc 30 "$LAB/log/fedmig-spm.log"
