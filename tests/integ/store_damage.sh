#!/bin/bash
# A damaged, shrunk or replaced database under live lookups: the database
# is truncated in place (part of it, then all of it), restored in place
# (cat > FILE, as cp or rsync --inplace do) and replaced (mv); meanwhile
# fedmig-policyd's socketmap and policy services and fedmig-milter answer
# without pause. While the file is damaged every answer must be a
# temporary failure (socketmap TEMP, policy defer_if_permit, milter 4xx),
# never a stale answer and never a crash (the SIGBUS of a mapped file);
# once the file is whole again the right answers must come back.
set -u

# shellcheck source=tests/lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lab/lib.sh"
POLICYD=$B/policyd/fedmig-policyd
MILTER=$B/milter/fedmig-milter
SCRIPTS=$ROOT/tests/milter

for t in miltertest sqlite3 python3; do
	command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
[ -x "$POLICYD" ] && [ -x "$MILTER" ] && [ -x "$CTL" ] || { echo "SKIP: not built"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (the daemons drop to fedmig)"; exit 77; }
id fedmig >/dev/null 2>&1 || { echo "SKIP: no fedmig user"; exit 77; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/fedmig-store-damage.XXXXXX") || exit 1
chmod 0755 "$TMP"
PIDS=()
finish() {
	touch "$TMP/STOP"
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
}
trap finish EXIT
FAILED=0
fail() { echo "FAIL: $*"; FAILED=1; }

DB=$TMP/fedmig.db
{
	cat <<EOC
state_database = $DB
fedmig_user = fedmig
socket_group = fedmig
socket_mode = 0660
milter_socket = unix:$TMP/milter.sock
milter_status_socket = unix:$TMP/status.sock
policy_socket = unix:$TMP/policy.sock
socketmap_socket = unix:$TMP/socketmap.sock
federated_domains = example.org
EOC
	none_systems
} >"$TMP/fedmig.conf"
"$CTL" -c "$TMP/fedmig.conf" check >"$TMP/ctl.log" 2>&1 || { cat "$TMP/ctl.log"; exit 1; }
now=$(date +%s%6N)
# Enough rows for the file to span many pages (the truncation cuts into
# pages the daemons have read before).
sqlite3 "$DB" "
INSERT INTO directory(access, system, physical, updated)
 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
 SELECT 'user' || i || '@example.org', 's1', 'user' || i || '@s1.example.org', $now FROM n;
INSERT INTO directory(access, system, physical, updated)
 VALUES ('carol@example.org', 's1', 'carol@s1.example.org', $now);
PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null || exit 1
cp "$DB" "$TMP/saved.db"
chown -R fedmig "$TMP"
echo "database: $(stat -c %s "$DB") bytes"

"$POLICYD" -c "$TMP/fedmig.conf" -f >"$TMP/policyd.log" 2>&1 &
PIDS+=($!); PPID_=$!
"$MILTER" -c "$TMP/fedmig.conf" -f >"$TMP/milter.log" 2>&1 &
PIDS+=($!); MPID=$!
for _ in $(seq 100); do
	[ -S "$TMP/socketmap.sock" ] && [ -S "$TMP/policy.sock" ] && [ -S "$TMP/milter.sock" ] && break
	sleep 0.05
done

# The socketmap and policy clients: one connection each, a lookup every
# 10 ms, each answer appended to a file as one letter: O (right answer),
# T (temporary failure), W (anything else: stale, wrong, NOTFOUND).
python3 - "$TMP" <<'PY' &
import os, random, socket, sys, time
tmp = sys.argv[1]
def conn(p):
    s = socket.socket(socket.AF_UNIX); s.connect(p); s.settimeout(5); return s
def ns(b): return str(len(b)).encode() + b":" + b + b","
def sm(s, key):
    s.sendall(ns(b"virtual " + key))
    buf = b""
    while not buf.endswith(b","):
        d = s.recv(4096)
        if not d: raise EOFError
        buf += d
    return buf.split(b":", 1)[1][:-1]
def pol(s, rcpt):
    s.sendall(b"request=smtpd_access_policy\nprotocol_state=RCPT\nrecipient=" + rcpt + b"\n\n")
    buf = b""
    while not buf.endswith(b"\n\n"):
        d = s.recv(4096)
        if not d: raise EOFError
        buf += d
    return buf.strip()
m = conn(tmp + "/socketmap.sock"); p = conn(tmp + "/policy.sock")
with open(tmp + "/sm.out", "a", buffering=1) as smo, open(tmp + "/pol.out", "a", buffering=1) as po:
    while not os.path.exists(tmp + "/STOP"):
        i = random.randint(1, 5000)
        try:
            a = sm(m, b"user%d@example.org" % i)
            smo.write("O\n" if a == b"OK user%d@s1.example.org" % i else
                      "T\n" if a.startswith(b"TEMP") else "W %s\n" % a)
        except Exception as e:
            smo.write("E %s\n" % e); m = conn(tmp + "/socketmap.sock")
        try:
            # an unknown recipient: rejected when the directory is read
            a = pol(p, b"nobody%d@example.org" % i)
            po.write("O\n" if a.startswith(b"action=550") or a.startswith(b"action=REJECT") else
                     "T\n" if b"defer_if_permit" in a or a.startswith(b"action=4") else "W %s\n" % a)
        except Exception as e:
            po.write("E %s\n" % e); p = conn(tmp + "/policy.sock")
        time.sleep(0.01)
PY
PIDS+=($!)
miltertest -s "$SCRIPTS/t-live.lua" -D "TESTDIR=$SCRIPTS" -D "SOCKET=unix:$TMP/milter.sock" \
	-D "STATUS=$TMP/status.sock" -D "DB=$DB" -D "OUT=$TMP/milter.out" -D "STOP=$TMP/STOP" \
	>"$TMP/miltertest.log" 2>&1 &
PIDS+=($!)

count() { cat "$TMP/$1.out" 2>/dev/null | wc -l; }
alive() {
	kill -0 $PPID_ 2>/dev/null || fail "$1: fedmig-policyd died ($(tail -n 2 "$TMP/policyd.log"))"
	kill -0 $MPID 2>/dev/null || fail "$1: fedmig-milter died ($(tail -n 2 "$TMP/milter.log"))"
}
mark() { for f in sm pol milter; do eval "at_$f=\$(count $f)"; done; }
# expect WHAT LETTER: every answer since the mark, past two in flight at
# the change, is LETTER, and there were at least 5 of them.
expect_ok() {
	for f in sm pol milter; do
		eval "from=\$((at_$f + 3))"
		tail -n +"$from" "$TMP/$f.out" >"$TMP/$f.since"
		got=$(sort "$TMP/$f.since" | uniq -c | tr -s ' \n' ' ')
		n=$(grep -c "^$2\$" "$TMP/$f.since")
		total=$(wc -l <"$TMP/$f.since")
		[ "$n" -ge 5 ] && [ "$n" = "$total" ] || { fail "$1: $f answers:$got(want only $2)"; return; }
	done
	echo "ok: $1:$(for f in sm pol milter; do printf ' %s %s' $f "$(wc -l <"$TMP/$f.since")"; done) answers, all $2"
}
# phase WHAT LETTER: the change was just made. A damaged file must be
# answered T at once; a restored one O from 0.5 s on (the copy itself
# takes a moment, and a reopen is tried at most every 0.1 s).
phase() {
	[ "$2" = O ] && sleep 0.5
	mark
	sleep 1.5
	alive "$1"
	expect_ok "$1" "$2"
}

sleep 1
mark; sleep 1; expect_ok "healthy" O

truncate -s 16384 "$DB"
phase "truncated to 16384 bytes" T
cat "$TMP/saved.db" >"$DB"
phase "restored in place" O
truncate -s 0 "$DB"
phase "truncated to 0 bytes" T
cp "$TMP/saved.db" "$TMP/new.db" && chown fedmig "$TMP/new.db" && mv "$TMP/new.db" "$DB"
phase "replaced by mv" O
head -c 50000 /dev/urandom >"$DB"
phase "overwritten with garbage" T
cat "$TMP/saved.db" >"$DB"
phase "restored again" O
alive "end"
echo "answers: socketmap $(count sm), policy $(count pol), milter $(count milter)"
[ $FAILED = 0 ] && echo "PASS store_damage" || { echo "files kept in $TMP"; trap - EXIT; finish; }
exit $FAILED
