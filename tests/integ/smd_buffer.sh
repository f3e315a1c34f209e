#!/bin/bash
# fedmig-smd reading an agent's data buffer (s1_access = agent), filled by
# hand as fedmig-apid would, against the lab's real Dovecot S2: -u copies
# N messages (bytes, flags, dates checked over IMAP, doveadm counts them),
# frees the buffer (rows and files), a rerun copies nothing; the daemon
# (--once) copies a queued job in passes while more items arrive, with one
# attempt; a copy back to the agent's system is refused.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/lab/lib.sh
. "$ROOT/tests/lab/lib.sh"
N=${N:-2000}
smd_lab smd_buffer
"$LAB" adduser "$DIR" s2 alice >/dev/null && "$LAB" adduser "$DIR" s2 bob >/dev/null || fail adduser
sleep 1.1
SPOOL=$TMP/spool
mkdir -p "$SPOOL" && chown fedmig "$SPOOL" && chmod 0700 "$SPOOL"
CONF=$TMP/smd.conf
smd_conf "$CONF" "s1_access = agent" "apid_spool_directory = $SPOOL"
# the schema: a first run (no task yet) creates the database
"$SMD" -c "$CONF" -f -u alice@example.org --from s1 --to s2 >"$TMP/none.out" 2>&1 && fail "copied without a task"
grep -q "no agent task reads this mailbox" "$TMP/none.out" || fail "no clear reason: $(tail -2 "$TMP/none.out")"
python3 "$ROOT/tests/smd/buffer_fill.py" "$TMP/smd.db" "$SPOOL" 1 "alice@$S1_DOMAIN" "$N" 3 || fail fill
chown -R fedmig "$SPOOL"
t0=$(date +%s.%N)
/usr/bin/time -f %M -o "$TMP/rss" "$SMD" -c "$CONF" -f -u alice@example.org --from s1 --to s2 >"$TMP/copy1.out" 2>"$TMP/copy1.err" || fail "copy: $(tail -3 "$TMP/copy1.out" "$TMP/copy1.err")"
t1=$(date +%s.%N)
echo "pass over $N buffered messages: $(echo "$t1 - $t0" | bc) s, peak RSS $(tail -1 "$TMP/rss") kB: $(tail -1 "$TMP/copy1.out")"
python3 "$ROOT/tests/smd/buffer_verify.py" "$TMP/smd.db" 1 "$S2_IMAP_PORT" "alice@$S2_DOMAIN*$MASTER_USER" "$MASTER_PASS" || fail verify
n=$(doveadm -c "$S2_DOVECOT_CONF" search -u "alice@$S2_DOMAIN" all | wc -l)
[ "$n" = "$N" ] || fail "doveadm: $n messages on S2"
echo "doveadm: $n messages for alice on S2"
left=$(sqlite3 "$TMP/smd.db" "SELECT count(*) FROM agent_items WHERE freed = 0")
files=$(find "$SPOOL/1" -name '*.batch' | wc -l)
[ "$left" = 0 ] && [ "$files" = 0 ] || fail "buffer not freed: $left items, $files files"
echo "buffer freed: 0 items, 0 files"
# rerun: nothing
"$SMD" -c "$CONF" -f -u alice@example.org --from s1 --to s2 >"$TMP/copy2.out" 2>&1 || fail "rerun: $(tail -2 "$TMP/copy2.out")"
grep -q ' copied=0 ' "$TMP/copy2.out" || fail "rerun copied: $(tail -1 "$TMP/copy2.out")"
echo "rerun (nothing new): $(grep -o '^mailbox=.* seconds=[0-9.]*' "$TMP/copy2.out" | grep -o 'seconds=.*')"
# the daemon's way: a queued job, the agent still uploading (phase 2), then done
python3 "$ROOT/tests/smd/buffer_fill.py" "$TMP/smd.db" "$SPOOL" 2 "bob@$S1_DOMAIN" 300 2 >/dev/null || fail fill2
chown -R fedmig "$SPOOL"
sqlite3 "$TMP/smd.db" "INSERT INTO smd_jobs(request_id, kind, access, src_system, src_physical, dst_system, dst_physical, next_at, created, updated) VALUES(2, 0, 'bob@example.org', 's1', 'bob@$S1_DOMAIN', 's2', 'bob@$S2_DOMAIN', 0, 0, 0)"
( sleep 3; python3 "$ROOT/tests/smd/buffer_fill.py" "$TMP/smd.db" "$SPOOL" 2 "bob@$S1_DOMAIN" 100 2 >/dev/null; chown -R fedmig "$SPOOL"; sqlite3 "$TMP/smd.db" "UPDATE agent_tasks SET phase = 3 WHERE request_id = 2" ) &
"$SMD" -c "$CONF" -f --once >"$TMP/daemon.out" 2>&1 || fail "daemon: $(tail -3 "$TMP/daemon.out")"
wait
st=$(sqlite3 "$TMP/smd.db" "SELECT state || ' ' || attempts FROM smd_jobs WHERE request_id = 2")
[ "$st" = "2 1" ] || fail "job state/attempts: $st; $(grep -v " folder=" "$TMP/daemon.out" | tail -5)"
python3 "$ROOT/tests/smd/buffer_verify.py" "$TMP/smd.db" 2 "$S2_IMAP_PORT" "bob@$S2_DOMAIN*$MASTER_USER" "$MASTER_PASS" || fail verify2
grep -c "data buffer: items=" "$TMP/daemon.out" | sed 's/^/daemon: freeing passes: /'
# fedmigctl show: the agent's part
sqlite3 "$TMP/smd.db" "INSERT INTO requests(id, access, target_system, scenario, planned_at, state, next_at, created, updated, source_system, source_physical) VALUES(2, 'bob@example.org', 's2', 'default', 0, 8, 0, 0, 0, 's1', 'bob@$S1_DOMAIN')"
"$CTL" -c "$CONF" show bob@example.org >"$TMP/show.out" 2>&1
grep -q "agent: *lab-agent.*, phase done, uploaded 400 messages .*, 0 bytes waiting in the buffer, folders 3/3 done" "$TMP/show.out" ||
	fail "fedmigctl show: $(cat "$TMP/show.out")"
# a copy back to the agent's system is refused
sqlite3 "$TMP/smd.db" "INSERT INTO smd_jobs(request_id, kind, access, src_system, src_physical, dst_system, dst_physical, next_at, created, updated) VALUES(2, 1, 'bob@example.org', 's2', 'bob@$S2_DOMAIN', 's1', 'bob@$S1_DOMAIN', 0, 0, 0)"
"$SMD" -c "$CONF" -f --once >"$TMP/back.out" 2>&1
r=$(sqlite3 "$TMP/smd.db" "SELECT state || ' ' || reason FROM smd_jobs WHERE request_id = 2 AND kind = 1")
case $r in "3 "*"reads only"*) echo "copy back refused: $r" ;; *) fail "copy back: $r" ;; esac
echo "smd_buffer: ok"
