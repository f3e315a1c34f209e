#!/bin/bash
# fedmig-policyd against a real store, spoken to over its unix sockets:
# policy answers (unknown, held with hold_action = defer, known), many
# requests per connection, 200 concurrent connections, a broken
# connection beside healthy ones, socketmap answers byte for byte,
# directory changes visible within a second, the socketmap's answer
# cache never keeping an answer read while held, a removed or replaced
# database answered with temporary failures, the connection limit (the
# longest idle connection makes room), idle timeout, and a clean SIGTERM (no leaks in a SANITIZE=1 build).
set -u

# shellcheck source=tests/lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lab/lib.sh"
POLICYD=$B/policyd/fedmig-policyd

[ -x "$POLICYD" ] || { echo "SKIP policyd_proto: $POLICYD not built"; exit 77; }
[ -x "$CTL" ] || { echo "SKIP policyd_proto: $CTL not built"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIP policyd_proto: needs root (binds, then drops to fedmig)"; exit 77; }
id fedmig >/dev/null 2>&1 || { echo "SKIP policyd_proto: no fedmig user"; exit 77; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/fedmig-policyd.XXXXXX") || exit 1
# fedmig reads the database and creates its -shm file beside it.
chmod 0755 "$TMP"
chown fedmig "$TMP"
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
}
trap cleanup EXIT
fail() {
	echo "FAIL policyd_proto: $*"
	echo "policyd_proto: files kept in $TMP"
	for l in "$TMP"/*.log; do echo "--- $l"; tail -n 20 "$l"; done
	exit 1
}

conf() { # name extra-lines
	cat >"$TMP/$1.conf" <<CONF
state_database = $TMP/fedmig.db
fedmig_user = fedmig
socket_group = fedmig
socket_mode = 0660
federated_domains = example.org, example.net
policy_socket = unix:$TMP/$1-policy.sock
socketmap_socket = unix:$TMP/$1-socketmap.sock
run_directory = $TMP/run-$1
systems = s1 s2
s1_domain = s1.test
s2_domain = s2.test
s1_driver = none
s2_driver = none
$2
CONF
}

start() { # name
	"$POLICYD" -c "$TMP/$1.conf" -f -v >>"$TMP/$1.log" 2>&1 &
	PIDS+=($!)
	eval "PID_$1=$!"
	for _ in $(seq 100); do
		[ -S "$TMP/$1-policy.sock" ] && [ -S "$TMP/$1-socketmap.sock" ] && return 0
		sleep 0.05
	done
	fail "$1 did not create its sockets"
}

conf main "hold_action = defer
policy_max_line = 512
policy_max_attributes = 30
policy_max_connections = 400"
conf small "policy_max_connections = 3
policy_idle_timeout = 2s"
mkdir -p "$TMP/run-main" "$TMP/run-small"
chown fedmig "$TMP/run-main" "$TMP/run-small"

# The daemon starts before the database exists: it must answer TEMP.
start main
start small

"$CTL" -c "$TMP/main.conf" check >"$TMP/ctl.log" 2>&1 || fail "fedmigctl check"
{
	echo "access,system,physical,aliases"
	echo "alice@example.org,s1,alice@s1.test,al@example.org ali@example.net"
	echo "bob@example.org,s2,bob@s2.test,"
	echo "held@example.org,s1,held@s1.test,"
	echo "\"\"\"john doe\"\"@example.org\",s1,\"\"\"john doe\"\"@s1.test\","
	for i in $(seq 1 300); do echo "user$i@example.org,s1,user$i@s1.test,"; done
} >"$TMP/dir.csv"
"$CTL" -c "$TMP/main.conf" directory import "$TMP/dir.csv" >>"$TMP/ctl.log" 2>&1 || fail "fedmigctl directory import"
"$CTL" -c "$TMP/main.conf" directory hold held@example.org >>"$TMP/ctl.log" 2>&1 || fail "fedmigctl directory hold"
chown fedmig "$TMP"/fedmig.db*

# Postfix's own client gets an empty configuration of ours: the host's
# /etc/postfix may be missing or anything at all.
mkdir -p "$TMP/postfix"
: >"$TMP/postfix/main.cf"
export TMP CTL
python3 - <<'PY' || fail "python checks (see above)"
import os, socket, sqlite3, subprocess, sys, threading, time

TMP = os.environ["TMP"]
CTL = os.environ["CTL"]
PSOCK = TMP + "/main-policy.sock"
MSOCK = TMP + "/main-socketmap.sock"
errors = []

def check(cond, what):
    if not cond:
        errors.append(what)
        print("not ok:", what, flush=True)

def conn(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    return s

def recv_until(s, end):
    buf = b""
    while not buf.endswith(end):
        d = s.recv(65536)
        if not d:
            break
        buf += d
    return buf

def policy_req(rcpt, state="RCPT", extra=20):
    lines = ["request=smtpd_access_policy", "protocol_state=" + state,
             "protocol_name=ESMTP", "client_address=192.0.2.1",
             "client_name=client.test", "sender=s@remote.test",
             "recipient=" + rcpt, "queue_id=", "instance=1.2.3"]
    lines += ["x_unknown_%d=%d" % (i, i) for i in range(extra - len(lines))]
    return ("\n".join(lines) + "\n\n").encode()

def ask(s, rcpt, state="RCPT"):
    s.sendall(policy_req(rcpt, state))
    return recv_until(s, b"\n\n").decode()

def ns(data):
    return b"%d:%s," % (len(data), data)

def sm(s, key, name=b"virtual"):
    s.sendall(ns(name + b" " + key))
    head = b""
    while not head.endswith(b":"):
        d = s.recv(1)
        if not d:
            return None
        head += d
    n = int(head[:-1])
    body = b""
    while len(body) < n + 1:
        d = s.recv(n + 1 - len(body))
        if not d:
            return None
        body += d
    return head + body

def wait_for(fn, want, secs):
    t0 = time.time()
    while time.time() - t0 < secs:
        got = fn()
        if got == want:
            return time.time() - t0
        time.sleep(0.05)
    return None

TEMP_POLICY = "action=defer_if_permit Service temporarily unavailable (directory unreadable)\n\n"
DUNNO = "action=DUNNO\n\n"

# 1. Before the store existed the answers were temporary; within a second
#    or two of its creation they are real.
s = conn(PSOCK)
check(wait_for(lambda: ask(s, "alice@example.org"), DUNNO, 3) is not None,
      "answers once the store appears")

# 2. Policy answers, many on one connection.
cases = [
    ("alice@example.org", DUNNO),
    ("Alice@EXAMPLE.org", DUNNO),
    ("al@example.org", DUNNO),
    ("ali@example.net", DUNNO),
    ('"john doe"@example.org', DUNNO),
    ("nobody@example.org",
     "action=550 5.1.1 User unknown\n\n"),
    ("nobody@example.net",
     "action=550 5.1.1 User unknown\n\n"),
    ("held@example.org",
     "action=450 4.2.0 Migration in progress, try again in a few seconds\n\n"),
    ("held@s1.test",
     "action=450 4.2.0 Migration in progress, try again in a few seconds\n\n"),
    ("alice@s1.test", DUNNO),
    ("someone@elsewhere.test", DUNNO),
]
for rcpt, want in cases:
    got = ask(s, rcpt)
    check(got == want, "policy %s: got %r want %r" % (rcpt, got, want))
check(ask(s, "nobody@example.org", "DATA") == DUNNO, "DATA state is DUNNO")
# Pipelined: 50 requests in one write, 50 answers in order.
s.sendall(b"".join(policy_req("nobody@example.org" if i % 2 else "bob@example.org")
                   for i in range(50)))
out = b""
while out.count(b"\n\n") < 50:
    d = s.recv(65536)
    if not d:
        break
    out += d
answers = out.decode().split("\n\n")[:50]
check(len(answers) == 50 and all(a.startswith("action=550") if i % 2 else a == "action=DUNNO"
                                 for i, a in enumerate(answers)), "pipelined answers in order")
# One byte at a time.
req = policy_req("nobody@example.org")
for b in req[:-1]:
    s.send(bytes([b]))
s.send(req[-1:])
check(recv_until(s, b"\n\n").startswith(b"action=550"), "request sent byte by byte")

# 3. 200 concurrent connections, each with several requests, while a few
#    broken clients come and go.
results = []
def worker(i):
    try:
        c = conn(PSOCK)
        ok = True
        for k in range(5):
            u = "user%d@example.org" % (1 + (i * 5 + k) % 300)
            ok = ok and ask(c, u) == DUNNO
            ok = ok and ask(c, "no%d@example.org" % i).startswith("action=550 5.1.1")
        c.close()
        results.append(ok)
    except Exception as e:
        print("worker", i, e)
        results.append(False)
def breaker(i):
    try:
        c = conn(PSOCK)
        c.sendall([b"no equals sign\n", b"a=b\0c\n", b"x=" + b"y" * 600 + b"\n",
                   b"".join(b"n%d=v\n" % k for k in range(40))][i % 4])
        c.recv(100)
        c.close()
    except Exception:
        pass
threads = [threading.Thread(target=worker, args=(i,)) for i in range(200)]
threads += [threading.Thread(target=breaker, args=(i,)) for i in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
check(len(results) == 200 and all(results), "200 concurrent clients: %d ok of %d" %
      (sum(results), len(results)))

# 4. A broken connection is closed, with answers to its earlier requests,
#    and the healthy one beside it goes on.
b = conn(PSOCK)
b.sendall(policy_req("nobody@example.org") + b"this line has no equals sign\n")
got = b""
while True:
    d = b.recv(4096)
    if not d:
        break
    got += d
check(got.startswith(b"action=550") and got.endswith(b"\n\n"),
      "answered then closed the broken connection: %r" % got)
check(ask(s, "alice@example.org") == DUNNO, "healthy connection unaffected")
for bad, why in [(b"x=" + b"y" * 600 + b"\n", "line too long"), (b"a=b\0\n", "NUL byte"),
                 (b"".join(b"n%d=v\n" % k for k in range(10000)), "too many attributes")]:
    c = conn(PSOCK)
    try:
        c.sendall(bad)
    except OSError:
        pass
    try:
        check(c.recv(100) == b"", "closed after %s" % why)
    except ConnectionResetError:
        pass
log = open(TMP + "/main.log").read()
for why in ["line too long", "NUL byte", "too many attributes", "line without '='"]:
    check(("close bad connection peer=unix:pid=" in log) and ("reason=" + why in log),
          "logged the bad connection: " + why)

# 5. socketmap, byte for byte, many requests on one connection.
m = conn(MSOCK)
for key, want in [(b"alice@example.org", b"16:OK alice@s1.test,"),
                  (b"ALICE@Example.Org", b"16:OK alice@s1.test,"),
                  (b"al@example.org", b"16:OK alice@s1.test,"),
                  (b"john doe@example.org", b'21:OK "john doe"@s1.test,'),
                  (b"nobody@example.org", b"9:NOTFOUND ,"),
                  (b"example.org", b"9:NOTFOUND ,"),
                  (b"@example.org", b"9:NOTFOUND ,"),
                  (b"alice@s1.test", b"9:NOTFOUND ,"),
                  (b"held@example.org", b"15:OK held@s1.test,")]:
    got = sm(m, key)
    check(got == want, "socketmap %r: got %r want %r" % (key, got, want))
check(sm(m, b"alice@example.org", b"aliases") == b"16:PERM unknown map,", "unknown map")
m.sendall(ns(b"virtual bob@example.org") + ns(b"virtual nobody@example.org"))
check(recv_until(m, b"NOTFOUND ,") == b"14:OK bob@s2.test,9:NOTFOUND ,", "pipelined socketmap")
for bad in [b"5:virtual alice@example.org,", b"-1:", b"01:x,", b"abc", b"99999999:",
            b"3:abcd,"]:
    c = conn(MSOCK)
    c.sendall(bad)
    try:
        check(c.recv(100) == b"", "socketmap closed after %r" % bad)
    except ConnectionResetError:
        pass
check(sm(m, b"bob@example.org") == b"14:OK bob@s2.test,", "socketmap connection unaffected")
p = subprocess.run(["postmap", "-c", TMP + "/postfix", "-q", "alice@example.org",
                    "socketmap:unix:%s:virtual" % MSOCK], capture_output=True, text=True)
check(p.stdout.strip() == "alice@s1.test", "postmap -q: %r %r" % (p.stdout, p.stderr))

# 6. Directory changes are visible within a second, without restart.
def sm_new():
    return sm(m, b"carol@example.org")
open(TMP + "/new.csv", "w").write("access,system,physical,aliases\n"
                                  "carol@example.org,s2,carol@s2.test,\n")
subprocess.run([CTL, "-c", TMP + "/main.conf", "directory", "import", TMP + "/new.csv"],
               check=True, capture_output=True)
t = wait_for(sm_new, b"16:OK carol@s2.test,", 1.0)
check(t is not None, "new entry visible within a second")
print("new entry visible after %.3f s" % (t or -1))
subprocess.run([CTL, "-c", TMP + "/main.conf", "directory", "unhold", "held@example.org"],
               check=True, capture_output=True)
check(wait_for(lambda: ask(s, "held@example.org"), DUNNO, 1.0) is not None,
      "unhold visible within a second")
subprocess.run([CTL, "-c", TMP + "/main.conf", "directory", "hold", "held@example.org"],
               check=True, capture_output=True)
check(wait_for(lambda: ask(s, "held@example.org")[:13], "action=450 4.", 1.0) is not None,
      "hold visible within a second")

# 6b. The socketmap's answer cache (socketmap_cache_time, 100ms): an
#     answer read while the address is held is never given again without
#     the store. After the pilot's grace (twice the cache time) no answer
#     kept from before the hold is left; the physical address is then
#     changed behind policyd's back, as a switch does, and must be seen
#     at once.
def set_physical(phys):
    db = sqlite3.connect(TMP + "/fedmig.db")
    db.execute("UPDATE directory SET physical = ? WHERE access = 'held@example.org'", (phys,))
    db.commit()
    db.close()
time.sleep(0.25)
check(sm(m, b"held@example.org") == b"15:OK held@s1.test,", "held: read from the store")
set_physical("held@s2.test")
got = sm(m, b"held@example.org")
check(got == b"15:OK held@s2.test,", "held: an answer read while held was kept: %r" % got)
set_physical("held@s1.test")
got = sm(m, b"held@example.org")
check(got == b"15:OK held@s1.test,", "held: an answer read while held was kept: %r" % got)

# 7. The database goes away: temporary failures, never NOTFOUND or 550;
#    it comes back: real answers again.
os.rename(TMP + "/fedmig.db", TMP + "/fedmig.db.away")
check(wait_for(lambda: sm(m, b"alice@example.org"), b"25:TEMP directory unreadable,", 2.5)
      is not None, "socketmap TEMP once the database is removed")
check(ask(s, "nobody@example.org") == TEMP_POLICY, "policy defer_if_permit without database")
check(ask(s, "someone@elsewhere.test") == TEMP_POLICY,
      "hold_action = defer: even other domains wait for the directory")
os.rename(TMP + "/fedmig.db.away", TMP + "/fedmig.db")
check(wait_for(lambda: sm(m, b"alice@example.org"), b"16:OK alice@s1.test,", 2.5)
      is not None, "answers again once the database is back")
# Replaced by garbage: the daemon notices the new file and fails safe.
os.rename(TMP + "/fedmig.db", TMP + "/fedmig.db.good")
open(TMP + "/fedmig.db", "w").write("this is not a database" * 100)
check(wait_for(lambda: sm(m, b"alice@example.org"), b"25:TEMP directory unreadable,", 2.5)
      is not None, "TEMP when the database is replaced by garbage")
os.rename(TMP + "/fedmig.db.good", TMP + "/fedmig.db")
check(wait_for(lambda: ask(s, "alice@example.org"), DUNNO, 2.5) is not None,
      "recovers when the good database is back")

# 8. Lookups stay fast: the store is queried on every request.
t0 = time.time()
for i in range(2000):
    ask(s, "user%d@example.org" % (1 + i % 300))
dt = time.time() - t0
print("2000 sequential policy requests: %.3f s (%.0f us each)" % (dt, dt / 2000 * 1e6))
check(dt < 4, "2000 lookups in under 4 s")

# 9. Idle connections are closed (small: policy_idle_timeout = 2s).
idle = conn(TMP + "/small-socketmap.sock")
time.sleep(3.2)
try:
    check(idle.recv(10) == b"", "idle connection closed")
except ConnectionResetError:
    pass

# 10. The connection limit (small: 3): a fourth client is served at once
#     and the connection idle longest (the first) is closed for it.
SP = TMP + "/small-policy.sock"
three = [conn(SP) for _ in range(3)]
for c in three:
    check(ask(c, "alice@example.org") == DUNNO, "small: served")
    time.sleep(0.05)
check(ask(three[2], "alice@example.org") == DUNNO, "small: third active again")
fourth = conn(SP)
fourth.settimeout(1)
fourth.sendall(policy_req("alice@example.org"))
check(recv_until(fourth, b"\n\n").decode() == DUNNO, "fourth served at once at the limit")
three[0].settimeout(2)
try:
    check(three[0].recv(10) == b"", "the longest idle connection was closed for the fourth")
except ConnectionResetError:
    pass
check(ask(three[2], "alice@example.org") == DUNNO, "the most recently active one lives on")

if errors:
    print("%d checks failed" % len(errors))
    sys.exit(1)
print("all checks passed")
PY

# SIGTERM: clean stop, exit 0, nothing leaked (SANITIZE=1 builds).
for n in main small; do
	eval "pid=\$PID_$n"
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
	[ "$rc" = 0 ] || fail "$n exited $rc after SIGTERM"
	grep -q "stopped" "$TMP/$n.log" || fail "$n did not log its stop"
	grep -qE "AddressSanitizer|LeakSanitizer|runtime error" "$TMP/$n.log" && fail "$n: sanitizer report"
done
PIDS=()
# The lookup statistics, written at exit: both kinds counted, the TEMP
# answers before the database existed among the errors, mode 0640.
st=$TMP/run-main/policyd.stats
[ -f "$st" ] && [ ! -L "$st" ] || fail "no $st"
[ "$(stat -c %a "$st")" = 640 ] || fail "$st mode $(stat -c %a "$st")"
for k in policy socketmap; do
	n=$(sed -n "s/^${k}_count \([0-9]*\)\$/\1/p" "$st")
	[ "${n:-0}" -gt 0 ] || fail "$st: no $k lookups counted: $(cat "$st")"
done
e=$(awk '/^(policy|socketmap)_errors / {e += $2} END {print e + 0}' "$st")
[ "$e" -gt 0 ] || fail "$st: the TEMP answers are not counted as errors"
grep -q "lookup statistics for /metrics not written" "$TMP/main.log" && fail "main: stats not written"
grep -q "policyd: reject rcpt=<nobody@example.org> client=client.test\[192.0.2.1\]" "$TMP/main.log" ||
	fail "no reject log line"
grep -q "policyd: defer rcpt=<held@example.org> request=" "$TMP/main.log" || fail "no defer log line"
# Postfix's repeated questions (section 5 asks some twice) were answered
# from the cache.
grep -qE "socketmap cache: [1-9][0-9]* answers of" "$TMP/main.log" || fail "no socketmap answer from the cache"
rm -rf "$TMP"
echo "PASS policyd_proto"
