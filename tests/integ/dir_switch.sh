#!/usr/bin/env bash
# Directory sync across a batch, with two real slapd, fedmig-spm and the
# lab's Postfix and Dovecots (issue 16): the directory is filled by a sync
# (no CSV); "submit --group ou:DN" makes one batch of exactly the accounts
# below that OU; while it runs, mail between S1 and S2 users (both ways,
# migrating users included) is delivered exactly once, counted per
# Message-ID in both systems' INBOXes; right after each switch the switched
# addresses stop being contacts on S2, and once S1's directory drops them
# they are contacts there; a rollback flips them back at once.
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/integ/lib_pilot.sh
. "$REPO/tests/integ/lib_pilot.sh"
# shellcheck source=tests/integ/lib_dir.sh
. "$REPO/tests/integ/lib_dir.sh"
dir_lab dir_switch
# No scheduled sync: what follows a switch or a rollback is the hook's work.
# The requests stay switched (short of complete) so that one can be rolled back.
pilot_scenario nocopy no "directory_sync_interval = 0" "nocopy_complete_delay = 10m"
L=$REPO/tests/lab/lab
S1BASE=$LDAP_S1_BASE
PO=ou=po1,ou=people,$S1BASE

printf 'dn: %s\nobjectClass: organizationalUnit\nou: po1\n' "$PO" | "$L" ldif "$LAB" s1 add >/dev/null
for u in u1 u2 u3; do LAB_LDAP_OU=ou=po1 "$L" adduser "$LAB" s1 "$u" >/dev/null; done
"$L" adduser "$LAB" s1 u4 >/dev/null
for u in v1 v2; do "$L" adduser "$LAB" s2 "$u" >/dev/null; done
sleep 1.1 # Dovecot re-reads a passwd-file whose mtime (seconds) moved

dsync
[ "$DSYNC_RC" = 0 ] || bad "first sync exit $DSYNC_RC (want 0)"
[ "$(contacts s1 | tr '\n' ' ')" = "v1@example.org v2@example.org " ] || bad "S1's contacts: $(contacts s1 | tr '\n' ' ')"
[ "$(contacts s2 | wc -l)" = 4 ] || bad "S2's contacts: $(contacts s2 | tr '\n' ' ')"

pilot_start "$LAB" || exit 1
python3 - "$LAB" "$B" "$PO" <<'PY' || fail=1
import json, os, re, subprocess, sys, threading, time
import fedlab
lab, build, po = sys.argv[1:4]
env = fedlab.load_env(lab)
ctl = [os.path.join(build, "spm", "fedmigctl"), "-c", env["FEDMIG_CONF"]]
# S1 -> S2 and S2 -> S1, migrating users (u1-u3) on both ends.
pairs = [("u4", "v1"), ("v1", "u1"), ("u2", "v2"), ("v2", "u3"), ("u1", "v1"), ("v1", "u4")]
sent, errors, stop = {}, [], threading.Event()

def sender(k):
    i = k
    while not stop.is_set():
        frm, to = pairs[i % len(pairs)]
        i += 2
        r = fedlab.send(env, ["%s@example.org" % to], sender="%s@example.org" % frm)
        if r.accepted:
            sent[r.msgid] = to
        elif r.code // 100 != 4:
            errors.append("%s -> %s: %s %s" % (frm, to, r.code, r.text))
        time.sleep(0.02)

threads = [threading.Thread(target=sender, args=(k,)) for k in range(2)]
for t in threads:
    t.start()
time.sleep(1.0)
out = subprocess.run(ctl + ["submit", "--group", "ou:" + po, "--to", "s2", "--at", "+1s"],
                     capture_output=True, text=True)
m = re.search(r"\d+", out.stdout)
ok = out.returncode == 0 and m
if not ok:
    errors.append("submit --group: exit %d: %s %s" % (out.returncode, out.stdout, out.stderr))

def reqs():
    r = subprocess.run(ctl + ["--json", "list"], capture_output=True, text=True, check=True)
    return json.loads(r.stdout)

if ok:
    batch = int(m.group(0))
    got = sorted(r["address"] for r in reqs() if r.get("batch") == batch)
    if got != ["u%d@example.org" % i for i in (1, 2, 3)]:
        errors.append("batch %d holds %s, want u1-u3 (the OU's accounts)" % (batch, got))
    # Switched and released (complete_delay keeps them from complete).
    done = fedlab.wait_for(lambda: all(r["state_name"] == "switched" and r.get("release_at")
                                       for r in reqs()), 60, 0.5)
    if not done:
        errors.append("not switched: %s" % [(r["address"], r["state_name"]) for r in reqs()])
time.sleep(2.0)
stop.set()
for t in threads:
    t.join()
if not fedlab.wait_queue_empty(env, timeout=30):
    errors.append("queue not empty: %s" % fedlab.postqueue(env))
deliv = fedlab.inbox_deliveries(env, "s1", "s2")
lost = dup = wrong = 0
for mid, to in sent.items():
    d = deliv.get(mid, [])
    if not d:
        lost += 1
    elif len(d) > 1:
        dup += 1
        errors.append("twice: %s %s" % (mid, d))
    elif d[0][1] != to or (to[0] == "v" and d[0][0] != "s2") or (to == "u4" and d[0][0] != "s1"):
        wrong += 1
        errors.append("wrong mailbox: %s for %s: %s" % (mid, to, d))
print("internal mail during the batch: sent=%d lost=%d dup=%d wrong=%d" % (len(sent), lost, dup, wrong))
for e in errors[:10]:
    print(e)
sys.exit(1 if errors or lost or dup or wrong or len(sent) < 20 else 0)
PY

# Right after the switches the switched addresses are no contacts on S2.
# shellcheck disable=SC2317  # called through wait_until
only_u4() { [ "$(contacts s2 | tr '\n' ' ')" = "u4@example.org " ]; }
wait_until 15 only_u4 || bad "after the switches, S2's contacts: $(contacts s2 | tr '\n' ' ')"
for u in u1 u2 u3; do
	[ "$(dir_field "$u@example.org" 2)" = s2 ] || bad "$u@example.org owned by '$(dir_field "$u@example.org" 2)' after its switch"
done
# S1's administrator removes the moved accounts (3 of 4: past the shrink
# guard, hence --force); the sync makes them contacts on S1.
ldap_del s1 uid=u1,ou=po1,ou=people uid=u2,ou=po1,ou=people uid=u3,ou=po1,ou=people
dsync --force
[ "$DSYNC_RC" = 0 ] || bad "sync after S1's cleanup: exit $DSYNC_RC (want 0)"
want=$(printf '%s@example.org\n' u1 u2 u3 v1 v2)
[ "$(contacts s1)" = "$want" ] || bad "S1's contacts after the batch: $(contacts s1 | tr '\n' ' ')"
for u in u1 u2 u3; do
	[ "$(dir_field "$u@example.org" 2)" = s2 ] || bad "$u@example.org lost its owner s2 after S1's cleanup"
done

# A rollback: u3 goes back to S1; its contacts follow at once.
# shellcheck disable=SC2086
$CTL rollback u3@example.org >/dev/null || bad "rollback u3 refused"
# shellcheck disable=SC2317
rolled() { [ "$(dir_field u3@example.org 2)" = s1 ] && ! contacts s1 | grep -qx u3@example.org &&
	contacts s2 | grep -qx u3@example.org; }
wait_until 30 rolled || bad "after the rollback: owner '$(dir_field u3@example.org 2)', S1's contacts: $(contacts s1 | tr '\n' ' '), S2's: $(contacts s2 | tr '\n' ' ')"

pilot_hold_empty || fail=1
pilot_result dir_switch "$fail" 40 "$LAB/log/fedmig-spm.log" "$LAB/dsync.log"
