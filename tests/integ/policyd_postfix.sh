#!/bin/bash
# fedmig-policyd behind the REAL Postfix of the lab (tests/lab/lab,
# --fedmig full: socketmap in virtual_alias_maps, check_policy_service at
# RCPT): postmap -q through the socketmap, 550 5.1.1 for an unknown
# federated recipient, 450 for a held one with hold_action = defer, mail
# to a known one delivered to its physical mailbox, kill -9 of the daemon
# turns answers into 4xx (nothing bounces), and a restart lets mail flow.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/lab/lib.sh
. "$ROOT/tests/lab/lib.sh"

postfix_lab policyd_postfix full 20 log/fedmig-policyd.log
for u in alice held; do
	"$LAB" adduser "$DIR" s1 $u >>"$TMP/adduser.log" 2>&1 || fail "adduser $u"
done
cat >"$TMP/dir.csv" <<CSV
access,system,physical,aliases
alice@$ACCESS_DOMAIN,s1,alice@$S1_DOMAIN,
held@$ACCESS_DOMAIN,s1,held@$S1_DOMAIN,
CSV
"$CTL" -c "$FEDMIG_CONF" directory import "$TMP/dir.csv" >"$TMP/ctl.log" 2>&1 || fail "directory import: $(cat "$TMP/ctl.log")"

# The socketmap through Postfix's own client.
got=$(postmap -c "$POSTFIX_CONFIG" -q "alice@$ACCESS_DOMAIN" "socketmap:unix:$SOCKETMAP_SOCKET:virtual") ||
	fail "postmap -q alice: nothing"
[ "$got" = "alice@$S1_DOMAIN" ] || fail "postmap -q alice: $got"
postmap -c "$POSTFIX_CONFIG" -q "nobody@$ACCESS_DOMAIN" "socketmap:unix:$SOCKETMAP_SOCKET:virtual" &&
	fail "postmap -q nobody found something"

# hold_action = defer needs the policy service to say so.
echo "hold_action = defer" >>"$FEDMIG_CONF"
"$LAB" restart-daemon "$DIR" policyd >>"$TMP/restart.log" 2>&1 || fail "restart policyd"
"$CTL" -c "$FEDMIG_CONF" directory hold "held@$ACCESS_DOMAIN" >>"$TMP/ctl.log" 2>&1 || fail "hold"

export DIR LAB
python3 - <<'PY' || fail "SMTP checks (see above)"
import os, signal, subprocess, sys, time
sys.path.insert(0, os.path.join(os.environ["LAB"].rsplit("/", 1)[0]))
import fedlab

env = fedlab.load_env(os.environ["DIR"])
A, S1 = env["ACCESS_DOMAIN"], env["S1_DOMAIN"]
errors = []
def check(cond, what):
    if not cond:
        errors.append(what)
        print("not ok:", what, flush=True)

r = fedlab.send(env, ["nobody@" + A])
print("unknown:", r.rcpts)
check(r.rcpts and r.rcpts[0][1] == 550 and r.rcpts[0][2] ==
      "5.1.1 <nobody@%s>: Recipient address rejected: User unknown" % A,
      "unknown federated recipient: 550 5.1.1")

r = fedlab.send(env, ["held@" + A])
print("held:", r.rcpts)
check(r.rcpts and r.rcpts[0][1] == 450 and r.rcpts[0][2] ==
      "4.2.0 <held@%s>: Recipient address rejected: Migration in progress, try again in a "
      "few seconds" % A, "held recipient: 450 4.2.0")

r = fedlab.send(env, ["alice@" + A])
check(r.accepted, "known recipient accepted: %r" % (r,))
check(fedlab.wait_for(lambda: r.msgid in fedlab.maildir_msgids(env, "s1").get(
    "alice@" + S1, []), 15), "delivered to alice@" + S1)

# kill -9: Postfix must answer 4xx, never 5xx, and bounce nothing.
pid = int(open(os.path.join(env["LAB_DIR"], "run", "fedmig-policyd.pid")).read())
os.kill(pid, signal.SIGKILL)
time.sleep(0.3)
r = fedlab.send(env, ["alice@" + A])
print("policyd down:", r.code, r.text, r.rcpts)
check(not r.accepted and r.rcpts and 400 <= r.rcpts[0][1] < 500,
      "4xx while fedmig-policyd is down: %r" % (r.rcpts,))
r2 = fedlab.send(env, ["nobody@" + A])
check(not r2.accepted and r2.rcpts and 400 <= r2.rcpts[0][1] < 500,
      "unknown recipient deferred, not rejected, while down: %r" % (r2.rcpts,))

subprocess.run([env["LAB_SCRIPT"], "restart-daemon", env["LAB_DIR"], "policyd"], check=True,
               capture_output=True)
# smtpd may hold a dead policy connection for a moment: allow a retry.
ok = fedlab.wait_for(lambda: fedlab.send(env, ["alice@" + A]), 10, 0.5)
check(ok and ok.accepted, "mail flows after the restart: %r" % (ok,))
check(ok and fedlab.wait_for(lambda: ok.msgid in fedlab.maildir_msgids(env, "s1").get(
    "alice@" + S1, []), 15), "delivered after the restart")
bounces = fedlab.maillog(env, "status=bounced")
check(not bounces, "nothing bounced: %r" % (bounces,))
if errors:
    sys.exit(1)
print("all checks passed")
PY
grep -q "policyd: reject rcpt=<nobody@$ACCESS_DOMAIN>" "$DIR/log/fedmig-policyd.log" || fail "no reject log line"
grep -q "policyd: defer rcpt=<held@$ACCESS_DOMAIN>" "$DIR/log/fedmig-policyd.log" || fail "no defer log line"
finish
trap - EXIT
echo "PASS policyd_postfix"
rm -rf "$TMP"
