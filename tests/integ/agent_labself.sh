#!/usr/bin/env bash
# The agent tests' own tools, without any fedmig program: the test CA
# ("lab tls": a server certificate for 127.0.0.1 that verifies against its
# CA and not against a second, untrusted CA) and the dropping proxy
# (tests/lab/dropproxy.py: bytes pass both ways; "drop" cuts every
# connection; "drop-up N" / "drop-down N" cut one after N bytes;
# "drop-reply N" cuts the reply to a request of N bytes or more; "rate N"
# paces the uploads).
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d /tmp/agent-labself.XXXXXX) || exit 1
PROXY=
trap '[ -z "$PROXY" ] || kill "$PROXY" 2>/dev/null; rm -rf "$T"' EXIT
fail() { echo "FAIL agent_labself: $*"; exit 1; }

"$REPO/tests/lab/lab" tls "$T/ca" >/dev/null 2>&1 || fail "lab tls"
"$REPO/tests/lab/lab" tls "$T/rogue" >/dev/null 2>&1 || fail "lab tls (rogue)"
openssl verify -CAfile "$T/ca/ca.pem" -verify_ip 127.0.0.1 "$T/ca/server.pem" >/dev/null 2>&1 ||
	fail "the server certificate does not verify against its CA"
openssl verify -CAfile "$T/ca/ca.pem" "$T/rogue/server.pem" >/dev/null 2>&1 &&
	fail "the untrusted CA's certificate verifies"

read -r P Q < <("$REPO/tests/lab/lab" ports 2) || fail "lab ports"
python3 "$REPO/tests/lab/dropproxy.py" --listen "$P" --to "$Q" --control "$T/ctl" --log "$T/proxy.log" &
PROXY=$!
python3 - "$P" "$Q" "$T/ctl" "$REPO/tests/lab" <<'PY' || fail "proxy: $(tail -n 5 "$T/proxy.log")"
import socket, sys, threading, time
p, q, ctl = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
sys.path.insert(0, sys.argv[4])
import dropproxy

def echo_server():
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", q))
    ls.listen(8)
    while True:
        c, _ = ls.accept()
        threading.Thread(target=echo, args=(c,), daemon=True).start()

def echo(c):
    while True:
        try:
            b = c.recv(65536)
        except OSError:
            return
        if not b:
            return
        try:
            c.sendall(b)
        except OSError:
            return

threading.Thread(target=echo_server, daemon=True).start()

def connect():
    for _ in range(50):
        try:
            s = socket.create_connection(("127.0.0.1", p), timeout=5)
            return s
        except OSError:
            time.sleep(0.1)
    sys.exit("proxy does not listen")

def roundtrip(s, n):
    s.sendall(b"x" * n)
    got = 0
    while got < n:
        b = s.recv(65536)
        if not b:
            return got
        got += len(b)
    return got

def cut(s):
    try:
        s.settimeout(5)
        return s.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False

s = connect()
assert roundtrip(s, 100000) == 100000, "bytes lost through the proxy"
dropproxy.send(ctl, "drop")
assert cut(s), "drop did not cut the connection"
def cut_after(s, cmd, n):
    """Bytes of an N-byte round trip through S once CMD is armed."""
    dropproxy.send(ctl, cmd)
    time.sleep(0.3)
    try:
        return roundtrip(s, n)
    except (ConnectionResetError, BrokenPipeError):
        return 0

s = connect()
n = cut_after(s, "drop-up 5000", 20000)
assert n <= 5000, "drop-up 5000 let %d bytes through" % n
s = connect()
assert roundtrip(s, 1000) == 1000, "a fresh connection after drop-up fails"
n = cut_after(s, "drop-down 500", 2000)
assert n <= 500, "drop-down 500 let %d bytes back" % n
# drop-reply: a small exchange passes, the reply to a large request is cut.
s = connect()
dropproxy.send(ctl, "drop-reply 50000")
time.sleep(0.3)
assert roundtrip(s, 100) == 100, "drop-reply cut a small exchange"
s.sendall(b"y" * 60000)
time.sleep(0.5)
assert cut(s), "drop-reply 50000 did not cut the reply to 60000 bytes"
# rate: 200 kB at 400 kB/s take about half a second.
s = connect()
dropproxy.send(ctl, "rate 400000")
time.sleep(0.3)
t = time.monotonic()
assert roundtrip(s, 200000) == 200000, "bytes lost at a limited rate"
took = time.monotonic() - t
assert 0.3 < took < 3, "rate 400000: 200000 bytes took %.2f s" % took
dropproxy.send(ctl, "stop")
PY
wait "$PROXY" 2>/dev/null
PROXY=
grep -q 'drop: 1 connections on command' "$T/proxy.log" || fail "no drop line in the proxy's log"
echo "PASS agent_labself"
