#!/bin/bash
# Smoke test of the lab itself (tests/lab): real Postfix delivers over LMTP
# to two real Dovecots, IMAP (plain and verified TLS, user and master
# user), postqueue/postsuper on the lab instance, and a clean stop that
# leaves no process behind. Prints "PASS lab_smoke" or "FAIL lab_smoke: why".
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_TOOLS=$(cd "$HERE/../lab" && pwd)
LAB=$LAB_TOOLS/lab

TMP=$(mktemp -d "${TMPDIR:-/tmp}/fedmig-lab-smoke.XXXXXX") || { echo "FAIL lab_smoke: mktemp"; exit 1; }
chmod 0755 "$TMP"  # the lab below must be reachable by postfix, vmail and fedmig
DIR=$TMP/lab

# Always stop the lab, whatever happened; on failure keep the tree.
finish() {
	"$LAB" stop "$DIR" >>"$TMP/stop.log" 2>&1 || true
}
trap finish EXIT
trap 'fail "interrupted"' INT TERM HUP

fail() {
	echo "FAIL lab_smoke: $*"
	echo "lab_smoke: files kept in $TMP"
	exit 1
}

# LAB_SMOKE_FEDMIG=recommended|full runs the same checks with the fedmig
# daemons wired in (mail to physical addresses must flow unchanged).
"$LAB" start "$DIR" --fedmig "${LAB_SMOKE_FEDMIG:-none}" >"$TMP/start.log" 2>&1 || fail "lab start: $(tail -n 3 "$TMP/start.log" | tr '\n' ' ')"
# shellcheck source=/dev/null
. "$DIR/lab.env"

for u in "s1 alice" "s2 bob" "s1 lab-hold"; do
	# shellcheck disable=SC2086  # "system localpart"
	"$LAB" adduser "$DIR" $u >>"$TMP/adduser.log" 2>&1 || fail "adduser $u"
done

doveadm -c "$S1_DOVECOT_CONF" user '*' 2>&1 | grep -qx "alice@$S1_DOMAIN" ||
	fail "doveadm user '*' on S1 does not list alice"
doveadm -c "$S2_DOVECOT_CONF" user "bob@$S2_DOMAIN" >/dev/null 2>&1 ||
	fail "doveadm user on S2 does not know bob"

python3 - "$DIR" "$LAB_TOOLS" >"$TMP/check.log" 2>&1 <<'EOF' || fail "$(tail -n 1 "$TMP/check.log")"
import imaplib, ssl, subprocess, sys
sys.path.insert(0, sys.argv[2])
import fedlab

env = fedlab.load_env(sys.argv[1])
cfg = env["POSTFIX_CONFIG"]


def check(cond, why):
    if not cond:
        print(why)
        sys.exit(1)


def delivered(system, addr, msgid):
    return msgid in fedlab.maildir_msgids(env, system).get(addr, [])


alice, bob, held = "alice@s1.example.org", "bob@s2.example.org", env["LAB_HOLD_RCPT"]

# Delivery SMTP -> Postfix -> LMTP -> Dovecot -> Maildir, to the right system.
r1 = fedlab.send(env, [alice])
r2 = fedlab.send(env, [bob], slow_pause=0.5)
check(r1.accepted and r1.queue_id, "send to alice: %s" % (r1,))
check(r2.accepted and r2.queue_id, "send to bob: %s" % (r2,))
check(fedlab.wait_for(lambda: delivered("s1", alice, r1.msgid), 20), "alice's message not in S1 Maildir")
check(fedlab.wait_for(lambda: delivered("s2", bob, r2.msgid), 20), "bob's message not in S2 Maildir")
check(not any(r1.msgid in ids for ids in fedlab.maildir_msgids(env, "s2").values()), "alice's message on S2")
check(not any(r2.msgid in ids for ids in fedlab.maildir_msgids(env, "s1").values()), "bob's message on S1")
check(fedlab.maillog(env, r"%s: to=<%s>.*status=sent" % (r1.queue_id, alice)),
      "no status=sent line for %s in %s" % (r1.queue_id, env["POSTFIX_MAILLOG"]))

# IMAP as the user and as the master user, plain and TLS verified against the lab CA.
for system, user, msgid in (("s1", alice, r1.msgid), ("s2", bob, r2.msgid)):
    for tls in (False, True):
        for master in (False, True):
            what = "%s %s tls=%s master=%s" % (system, user, tls, master)
            try:
                c = fedlab.imap_login(env, system, user, master=master, tls=tls)
            except (imaplib.IMAP4.error, OSError) as e:
                check(False, "IMAP login %s: %s" % (what, e))
            typ, _ = c.select("INBOX", readonly=True)
            check(typ == "OK", "SELECT INBOX %s" % what)
            typ, data = c.search(None, "HEADER", "Message-ID", msgid)
            check(typ == "OK" and data[0].split(), "message not found over IMAP %s" % what)
            typ, caps = c.capability()
            for cap in (b"UIDPLUS", b"SPECIAL-USE", b"MULTIAPPEND", b"LITERAL+"):
                check(cap in caps[0].split(), "capability %s missing %s" % (cap.decode(), what))
            c.logout()

for bad in (lambda: fedlab.imap_login(env, "s1", alice, master=False, password="wrong"),
            lambda: fedlab.imap_login(env, "s1", "nobody", master=True)):
    try:
        bad().logout()
        check(False, "a bad IMAP login succeeded")
    except imaplib.IMAP4.error:
        pass
# Verification must be real: the system CA store does not know the lab CA.
try:
    imaplib.IMAP4_SSL("127.0.0.1", int(env["S1_IMAPS_PORT"]),
                      ssl_context=ssl.create_default_context(), timeout=10).logout()
    check(False, "TLS handshake succeeded without the lab CA")
except ssl.SSLCertVerificationError:
    pass

# postqueue -j and postsuper on the lab's instance, with mail Postfix holds.
h1 = fedlab.send(env, [held])
h2 = fedlab.send(env, [held])
check(h1.accepted and h2.accepted, "send to %s: %s %s" % (held, h1, h2))
q = {m["queue_id"]: m for m in fedlab.postqueue(env)}
for h in (h1, h2):
    check(h.queue_id in q and q[h.queue_id]["queue_name"] == "hold",
          "postqueue -j does not show %s in hold: %s" % (h.queue_id, q))
    check(q[h.queue_id]["recipients"][0]["address"] == held, "postqueue -j recipient of %s" % h.queue_id)
subprocess.run(["postsuper", "-c", cfg, "-d", h2.queue_id], check=True, capture_output=True)
subprocess.run(["postsuper", "-c", cfg, "-H", h1.queue_id], check=True, capture_output=True)
subprocess.run(["postqueue", "-c", cfg, "-f"], check=True, capture_output=True)
check(fedlab.wait_for(lambda: delivered("s1", held, h1.msgid), 20), "released message not delivered")
check(fedlab.wait_queue_empty(env, 20), "queue not empty: %s" % fedlab.postqueue(env))
check(not delivered("s1", held, h2.msgid), "deleted message was delivered")
print("ok")
EOF

# PID plus start time, so that a PID reused meanwhile (say by a second lab)
# is not mistaken for a survivor.
proc_start() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '$1 != "Z" {print $20}'; }
mapfile -t PIDS < <("$LAB" pids "$DIR")
[ "${#PIDS[@]}" -ge 10 ] || fail "expected Postfix and Dovecot processes, found ${#PIDS[@]}: ${PIDS[*]}"
declare -A START=()
for pid in "${PIDS[@]}"; do START[$pid]=$(proc_start "$pid"); done
"$LAB" stop "$DIR" >>"$TMP/stop.log" 2>&1 || fail "lab stop: $(tail -n 2 "$TMP/stop.log" | tr '\n' ' ')"
"$LAB" stop "$DIR" >>"$TMP/stop.log" 2>&1 || fail "second lab stop failed"
for pid in "${PIDS[@]}"; do
	# Zombies (PID 1 may never reap them) yield no start time: not running.
	if [ -n "${START[$pid]}" ] && [ "$(proc_start "$pid")" = "${START[$pid]}" ]; then
		fail "process $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline")) still runs after stop"
	fi
done

trap - EXIT
rm -rf "$TMP"
echo "PASS lab_smoke"
