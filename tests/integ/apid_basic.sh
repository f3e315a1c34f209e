#!/usr/bin/env bash
# fedmig-apid for real: a test CA made here, the daemon on 127.0.0.1 with
# TLS, curl --cacert as the agent. Enrolment (one use), long polls (empty
# after the wait, answered within about a second when a task appears), the
# action chain test -> list -> get-items -> done, uploads (a bad sha256
# stores nothing; the same upload twice stores once; the same items under
# a new seq are duplicates), a 50 MB item with apid's memory flat, wrong
# tokens, versions, revocation, cancel, the spool sweep at start, the
# buffer of a cancelled request removed, and a
# SIGTERM answering a waiting poll.
set -u
# shellcheck source=tests/lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lab/lib.sh"
APID=$B/spm/fedmig-apid
for t in curl openssl sqlite3 python3; do
	command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
[ -x "$APID" ] && [ -x "$CTL" ] || { echo "SKIP: not built"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (apid drops to fedmig)"; exit 77; }
id fedmig >/dev/null 2>&1 || { echo "SKIP: no fedmig user"; exit 77; }

T=$(mktemp -d "${TMPDIR:-/tmp}/fedmig-apid.XXXXXX") || exit 1
chmod 0755 "$T"
PID=
finish() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$T"
}
trap finish EXIT
fail() {
	echo "FAIL apid_basic: $*"
	echo "--- apid log"
	tail -n 30 "$T/apid.log"
	trap - EXIT
	[ -n "$PID" ] && kill "$PID" 2>/dev/null
	echo "files kept in $T"
	exit 1
}

cd "$T" || exit 1
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=apid-test-ca 2>/dev/null &&
	openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj /CN=localhost 2>/dev/null &&
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >ext &&
	openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 \
		-extfile ext 2>/dev/null || fail "test CA"
chmod 600 srv.key
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir db
cat >fedmig.conf <<EOF
state_database = $T/db/fedmig.db
federated_domains = example.org
systems = s1 s2
s1_domain = s1.example.org
s2_domain = s2.example.org
s1_driver = none
s2_driver = none
s1_access = agent
apid_listen = 127.0.0.1:$PORT
apid_tls_cert = $T/srv.pem
apid_tls_key = $T/srv.key
apid_spool_directory = $T/db/spool
apid_poll_timeout = 3s
apid_batch_bytes = 1048576
apid_buffer_high = 1048576
EOF
ctl() { "$CTL" -c "$T/fedmig.conf" "$@"; }
db() { sqlite3 "$T/db/fedmig.db" "$@"; }
ctl check >/dev/null || fail "fedmigctl check"
CODE=$(ctl agent add agent1) || fail "agent add"
[ ${#CODE} = 32 ] || fail "code $CODE is not 32 base32 characters"
ctl agent add agent1 2>/dev/null && fail "a duplicate name was accepted"
ctl agent add 'bad name' 2>/dev/null && fail "a bad name was accepted"
# An agent may be limited to systems an agent reads (the grant's filter
# itself: test_store_agent).
ctl agent add far s2 2>ctl.err && fail "an agent for a system read over IMAP was accepted"
grep -q "s2 is not a system of \$systems read by an agent" ctl.err || fail "agent add s2: $(cat ctl.err)"
ctl agent add near s1 >/dev/null || fail "agent add near s1"
ctl agent show near | grep -q '^systems: *s1$' || fail "agent show near: $(ctl agent show near)"
ctl agent show agent1 | grep -q '^systems: *all read by an agent$' || fail "agent show agent1"
chown -R fedmig: db

start() {
	"$APID" -f -c "$T/fedmig.conf" 2>>"$T/apid.log" &
	PID=$!
	for _ in $(seq 50); do
		grep -q "started: listening" "$T/apid.log" && return 0
		sleep 0.1
	done
	fail "apid did not start"
}
start
U=https://127.0.0.1:$PORT
# c ARGS...: curl as the agent; the body, then " HTTP<status>".
c() { curl -sS --cacert "$T/ca.pem" -H 'Fedmig-Agent-Version: 0.1' -H 'Content-Type: application/json' \
	"$@" -w ' HTTP%{http_code}\n'; }
# expect PATTERN OUTPUT: OUTPUT matches the grep -E PATTERN.
expect() { printf '%s' "$2" | grep -qE "$1" || fail "want /$1/, got: $2"; }
seq_of() { printf '%s' "$1" | sed -n 's/.*"seq":\([0-9]*\).*/\1/p'; }
now() { date +%s%N; }

out=$(c -d "{\"code\":\"$CODE\"}" $U/v1/enrol)
expect '"agent":"agent1".*HTTP200' "$out"
TOKEN=$(printf '%s' "$out" | sed -n 's/.*"token":"\([0-9a-f]*\)".*/\1/p')
[ ${#TOKEN} = 64 ] || fail "token: $out"
expect '"error":"enrol".*HTTP403' "$(c -d "{\"code\":\"$CODE\"}" $U/v1/enrol)"
db "SELECT count(*) FROM agents WHERE token_hash IS NOT NULL AND code_hash IS NULL" | grep -qx 1 ||
	fail "the code's hash was not cleared"
grep -q "$TOKEN\|$CODE" "$T/apid.log" && fail "a token or code in the log"
A="Authorization: Bearer $TOKEN"

# Long polls.
t0=$(now)
expect '^\{"tasks":\[\]\} HTTP200' "$(c -H "$A" -d '{"slots":2,"wait":1}' $U/v1/poll)"
ms=$((($(now) - t0) / 1000000))
[ $ms -ge 900 ] && [ $ms -lt 3000 ] || fail "an empty poll of 1 s took $ms ms"
task() { db "INSERT INTO agent_tasks(request_id, src_system, mailbox, created, updated) VALUES($1, 's1', '$2', strftime('%s'), strftime('%s'))"; }
(sleep 0.5 && task 7 alice@s1.example.org) &
t0=$(now)
out=$(c -H "$A" -d '{"slots":2,"wait":30}' $U/v1/poll)
ms=$((($(now) - t0) / 1000000))
expect '"task":7,"system":"s1","mailbox":"alice@s1.example.org","lease_ms":60000' "$out"
[ $ms -lt 2500 ] || fail "a poll took $ms ms to see a new task"
echo "poll answered ${ms} ms after it was sent, the task inserted at 500 ms"

# The action chain.
n() { c -H "$A" -d "$2" "$U/v1/tasks/$1/next"; }
out=$(n 7 '{"seq":0}')
expect '"action":"test"' "$out"
S=$(seq_of "$out")
out=$(n 7 "{\"seq\":$S,\"result\":{\"ok\":true}}")
expect '"action":"list"' "$out"
S=$(seq_of "$out")
expect '"action":"list"' "$(n 7 "{\"seq\":$((S - 1)),\"result\":{\"ok\":true}}")"
expect '"error":"lease".*HTTP409' "$(n 7 "{\"seq\":$((S - 2))}")"
expect '"error":"bad-request".*HTTP400' "$(n 7 "{\"seq\":$S,\"result\":{\"folders\":[{\"name\":\"a\\nb\"}]}}")"
out=$(n 7 "{\"seq\":$S,\"result\":{\"folders\":[{\"name\":\"INBOX\",\"sep\":\"/\",\"attrs\":0,\"subscribed\":true},{\"name\":\"Gone\",\"sep\":\"/\",\"attrs\":3,\"subscribed\":true},{\"name\":\"Sent\",\"sep\":\"/\",\"attrs\":16}]}}")
expect '"action":"get-items","folder":"INBOX","cursor":"","max_items":1000,"max_bytes":1048576' "$out"
S=$(seq_of "$out")

# Uploads.
: >b1
for i in 1 2 3; do
	printf 'Subject: m%d\r\n\r\nbody %d\r\n' $i $i >msg
	printf '{"src":"1.%d","flags":"\\\\Seen $label1","date":"01-Jan-2020 10:00:00 +0000","size":%d,"sha256":"%s"}\n' \
		$i "$(stat -c %s msg)" "$(sha256sum msg | cut -d' ' -f1)" >>b1
	cat msg >>b1
done
python3 -c '
d = open("b1", "rb").read()
i = d.rindex(b"\"sha256\":\"") + 10
open("bad", "wb").write(d[:i] + (b"0" if d[i:i + 1] != b"0" else b"1") + d[i + 1:])'
put() { c -X PUT -H "$A" -H 'Content-Type: application/octet-stream' --data-binary "@$2" "$U/v1/tasks/$1/batches/$3"; }
expect '"error":"bad-request","message":"item 3: sha256 does not match.*HTTP400' "$(put 7 bad $S)"
[ "$(db 'SELECT count(*) FROM agent_batches') $(db 'SELECT count(*) FROM agent_items')" = "0 0" ] ||
	fail "a refused batch left rows"
[ -z "$(ls db/spool/7)" ] || fail "a refused batch left files: $(ls db/spool/7)"
expect '^\{"items":3,"duplicates":0,"bytes":69\} HTTP200' "$(put 7 b1 $S)"
expect '^\{"items":3,"duplicates":0,"bytes":69\} HTTP200' "$(put 7 b1 $S)"
[ "$(db 'SELECT count(*) FROM agent_items')" = 3 ] || fail "the repeated upload stored twice"
[ "$(db "SELECT group_concat(uid || ':' || offset, ' ') FROM agent_items")" = "1:0 2:23 3:46" ] ||
	fail "uids/offsets: $(db 'SELECT uid, offset FROM agent_items')"
[ "$(stat -c %s "db/spool/7/$S.batch")" = 69 ] || fail "the batch file is not the 69 message bytes"
expect '"error":"bad-request".*HTTP400' "$(n 7 "{\"seq\":$S,\"result\":{\"count\":2,\"cursor\":\"c3\",\"more\":true}}")"
out=$(n 7 "{\"seq\":$S,\"result\":{\"count\":3,\"cursor\":\"c3\",\"more\":true}}")
expect '"action":"get-items","folder":"INBOX","cursor":"c3"' "$out"
S=$(seq_of "$out")
expect '"error":"lease".*HTTP409' "$(n 7 "{\"seq\":$S,\"result\":{\"count\":3,\"cursor\":\"c4\",\"more\":false}}")"
expect '^\{"items":0,"duplicates":3,"bytes":0\} HTTP200' "$(put 7 b1 $S)"
[ -e "db/spool/7/$S.batch" ] && fail "a batch of duplicates only was kept"
out=$(n 7 "{\"seq\":$S,\"result\":{\"count\":3,\"cursor\":\"c4\",\"more\":false}}")
expect '"action":"get-items","folder":"Sent"' "$out"
S=$(seq_of "$out")
expect '"action":"done"' "$(n 7 "{\"seq\":$S,\"result\":{\"count\":0,\"cursor\":\"\",\"more\":false}}")"
[ "$(db 'SELECT phase, items, bytes FROM agent_tasks WHERE request_id = 7')" = "3|3|69" ] ||
	fail "task 7: $(db 'SELECT * FROM agent_tasks WHERE request_id = 7')"

# A 50 MB message: streamed, apid's memory stays flat.
task 8 bob@s1.example.org
expect '"task":8' "$(c -H "$A" -d '{"slots":1,"wait":5}' $U/v1/poll)"
S=$(seq_of "$(n 8 '{"seq":0}')")
S=$(seq_of "$(n 8 "{\"seq\":$S,\"result\":{\"ok\":true}}")")
S=$(seq_of "$(n 8 "{\"seq\":$S,\"result\":{\"folders\":[{\"name\":\"INBOX\",\"sep\":\"/\"}]}}")")
head -c 39321600 /dev/urandom | base64 -w 76 >big.msg
printf '{"src":"1.100","flags":"","date":"02-Feb-2021 11:00:00 +0100","size":%d,"sha256":"%s"}\n' \
	"$(stat -c %s big.msg)" "$(sha256sum big.msg | cut -d' ' -f1)" >big
cat big.msg >>big
t0=$(now)
expect '"items":1,"duplicates":0' "$(put 8 big $S)"
ms=$((($(now) - t0) / 1000000))
hwm=$(awk '/VmHWM/ {print $2}' /proc/$PID/status)
mb=$(($(stat -c %s big) / 1048576))
echo "upload of one ${mb} MB item: $ms ms ($((mb * 1000 / (ms + 1))) MB/s); apid VmHWM ${hwm} kB"
# ASan's quarantine and shadow memory make RSS meaningless there.
if ! sanitized "$APID"; then
	[ "$hwm" -lt 40000 ] || fail "apid's peak RSS $hwm kB with a ${mb} MB item"
fi
cmp -s big.msg <(tail -c +$(($(head -n 1 big | wc -c) + 1)) big) || fail "test script: big body"
cmp -s big.msg "db/spool/8/$S.batch" || fail "the stored batch differs from the message"

# Backpressure: above apid_buffer_high the agent waits until the data
# mover frees what it copied.
out=$(n 8 "{\"seq\":$S,\"result\":{\"count\":1,\"cursor\":\"c1\",\"more\":true}}")
expect '"action":"wait","ms":5000' "$out"
S=$(seq_of "$out")
expect '"action":"wait"' "$(n 8 "{\"seq\":$S}")"
S=$((S + 1))
db "UPDATE agent_items SET freed = 1 WHERE request_id = 8"
out=$(n 8 "{\"seq\":$S}")
expect '"action":"get-items","folder":"INBOX","cursor":"c1"' "$out"
S=$(seq_of "$out")

# A reload changes the accepted versions.
sed -i 's/^apid_batch_bytes/apid_max_agent_version = 0.2\napid_batch_bytes/' fedmig.conf
kill -HUP $PID
for _ in $(seq 50); do grep -q "reloaded" apid.log && break; sleep 0.1; done
expect 'Fedmig-Accepted: 0.1-0.2' "$(curl -sS --cacert ca.pem -H 'Fedmig-Agent-Version: 0.2' -H "$A" -d '{"slots":0,"wait":0}' -D - $U/v1/poll)"

# Heartbeat, cancel.
out=$(c -H "$A" -d '{"health":"ok","detail":"imap up","slots":3,"tasks":[7,8,99]}' $U/v1/heartbeat)
expect '"task":7,"lease":"lost".*"task":8,"lease":"ok","deadline_ms":60000.*"task":99,"lease":"lost"' "$out"
db "INSERT INTO requests(id, access, target_system, scenario, planned_at, state, next_at, created, updated) VALUES(8, 'bob@example.org', 's2', 'default', 0, 23, 0, 0, 0)"
expect '"task":8,"lease":"cancel","deadline_ms":[1-9]' "$(c -H "$A" -d '{"health":"ok","tasks":[8]}' $U/v1/heartbeat)"
expect '"action":"cancel","deadline_ms":[1-9]' "$(n 8 "{\"seq\":$S}")"
ctl show bob@example.org | grep -qE '^  agent: +agent1, phase cancelled, uploaded 1 messages [0-9]+ bytes, [0-9]+ bytes waiting in the buffer, folders 0/1 done' ||
	fail "show: $(ctl show bob@example.org)"
ctl --json show bob@example.org | grep -q '"agent":{"agent":"agent1","phase":"cancelled","items":1' ||
	fail "show --json: $(ctl --json show bob@example.org)"
ctl agent list | grep -qE '^agent1 +enrolled +0.1 .*ok$' || fail "agent list: $(ctl agent list)"
ctl --json agent show agent1 | grep -q '"health":"ok","created"' || fail "agent show --json: $(ctl --json agent show agent1)"

# Refusals.
expect '"error":"unauthorized".*HTTP401' "$(c -H "Authorization: Bearer $(printf '%064d' 0)" -d '{"slots":1}' $U/v1/poll)"
expect '"error":"unauthorized".*HTTP401' "$(c -d '{"slots":1}' $U/v1/poll)"
out=$(curl -sS --cacert ca.pem -H 'Fedmig-Agent-Version: 9.9' -H "$A" -d '{"slots":1}' -D - $U/v1/poll)
expect 'Fedmig-Accepted: 0.1-0.2' "$out"
expect '"error":"version"' "$out"
expect '"error":"version".*HTTP403' "$(curl -sS --cacert ca.pem -H "$A" -d '{"slots":1}' -w ' HTTP%{http_code}' $U/v1/poll)"
expect '"error":"bad-request".*HTTP400' "$(c -H "$A" -d '{"slots":300}' $U/v1/poll)"
expect 'HTTP404' "$(c -H "$A" -d '{}' $U/v1/nothing)"
grep -q "refused peer=127.0.0.1 agent=agent1 status=400" apid.log || fail "no refusal logged"
ctl agent revoke agent1 >/dev/null || fail "revoke"
expect '"error":"unauthorized".*HTTP401' "$(c -H "$A" -d '{"slots":1}' $U/v1/poll)"

# SIGTERM answers a waiting poll and stops; a restart sweeps the spool.
CODE=$(ctl agent add agent2)
TOKEN=$(c -d "{\"code\":\"$CODE\"}" $U/v1/enrol | sed -n 's/.*"token":"\([0-9a-f]*\)".*/\1/p')
c -H "Authorization: Bearer $TOKEN" -d '{"slots":1,"wait":30}' $U/v1/poll >poll.out &
CURL=$!
sleep 0.5
t0=$(now)
kill -TERM $PID
wait $PID
rc=$?
PID=
wait $CURL
ms=$((($(now) - t0) / 1000000))
[ $rc = 0 ] && [ $ms -lt 3000 ] || fail "SIGTERM: exit $rc after $ms ms"
expect '^\{"tasks":\[\]\} HTTP200' "$(cat poll.out)"
touch db/spool/7/99.tmp db/spool/7/98.batch
chown fedmig: db/spool/7/99.tmp db/spool/7/98.batch
start
sleep 0.3
[ -e db/spool/7/99.tmp ] || [ -e db/spool/7/98.batch ] && fail "the sweep left stray files: $(ls db/spool/7)"
ls db/spool/7/*.batch >/dev/null 2>&1 || fail "the sweep removed a live batch"
# Request 8 was cancelled and its agent revoked: its buffer goes within a tick.
# (The log line comes after the files are gone.)
for _ in $(seq 50); do grep -q "buffers of ended requests" apid.log && break; sleep 0.1; done
ls db/spool/8/*.batch >/dev/null 2>&1 && fail "the buffer of cancelled request 8 was kept: $(ls db/spool/8)"
[ "$(db "SELECT count(*) FROM agent_items WHERE request_id = 8 AND freed = 0")" = 0 ] ||
	fail "request 8's items are not freed"
grep -q "buffers of ended requests: items=[0-9]* freed, batch files=[1-9]" apid.log ||
	fail "the freeing of request 8's buffer was not logged"
ls db/spool/7/*.batch >/dev/null 2>&1 || fail "request 7's buffer (no request row) was removed"
kill -TERM $PID
wait $PID || fail "apid exited $? on SIGTERM"
PID=
grep -E 'Sanitizer|runtime error' apid.log && fail "sanitizer reports"
echo "PASS apid_basic"
