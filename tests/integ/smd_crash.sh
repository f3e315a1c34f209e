#!/bin/bash
# Crash test of fedmig-smd (isync's run-tests.pl habit): the child _exits
# after N acknowledged appends, before it journals them (the worst moment),
# or in the middle of message N's literal; the rerun must give a copy
# identical to the source with zero duplicates, and a further rerun must
# append nothing. Also a source UIDVALIDITY change: no duplicates.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/lab/lib.sh
. "$ROOT/tests/lab/lib.sh"
smd_lab smd_crash
"$LAB" adduser "$DIR" s1 src >/dev/null || fail adduser
# All users first: Dovecot re-reads the passwd-file when its mtime changes,
# and two changes within one second can look like one.
for mode in after mid; do for n in 1 2 5 13 29; do "$LAB" adduser "$DIR" s2 "c$mode$n" >/dev/null; done; done
"$LAB" adduser "$DIR" s2 uv >/dev/null
"$LAB" adduser "$DIR" s2 queue >/dev/null
sleep 1.1
smd_corpus "src@$S1_DOMAIN" --messages 40 --avg-kb 5 \
	>"$TMP/corpus.log" 2>&1 || fail "corpus"
# Two lanes (processes) per mailbox even for this small one: a crash
# in either lane must leave a journal the rerun resumes from.
smd_conf "$TMP/smd.conf" "smd_batch = 3" "smd_lane_messages = 10"
copy() { # DSTLOCAL [env...]
	local dst=$1
	shift
	env "$@" "$SMD" -c "$TMP/smd.conf" -f -u src --from s1 --to s2 --src-user "src@$S1_DOMAIN" \
		--dst-user "$dst@$S2_DOMAIN"
}
# rerun DSTLOCAL: copy at once after a crash. The crashed run's other lane
# gets its KILL from the kernel only as its parent dies (PR_SET_PDEATHSIG)
# and holds the mailbox lock until it is gone: a rerun refused for that
# ("another fedmig-smd is copying") within the first 3 s is tried again.
rerun() {
	local i
	for i in 1 2 3 4 5 6; do
		copy "$1" && return 0
		grep -q 'another fedmig-smd is copying' "$TMP/$1.2" 2>/dev/null || return 1
		sleep 0.5
	done
	return 1
}
check() {
	smd_check "src@$S1_DOMAIN=$1@$S2_DOMAIN" >"$TMP/check-$1.log" 2>&1
}

# counts FILE: the folder lines and the mailbox line of a run agree, and
# done (on the target, whoever put it there) is every source message:
# after a crash the rerun finds the dead run's appends on the target, and
# they must count as done, not be left out of the mailbox's total.
counts() {
	awk '
	function kv(a,   i, p) { for (i = 1; i <= NF; i++) { split($i, p, "="); a[p[1]] += p[2] } }
	/^folder=/ { kv(f) }
	/^mailbox=/ { kv(m) }
	END {
		bad = m["done"] != m["messages"] || m["messages"] == 0
		split("messages done copied found skipped", k, " ")
		for (i = 1; i <= 5; i++) if (f[k[i]] != m[k[i]]) bad = 1
		printf "folders: messages=%d done=%d copied=%d found=%d skipped=%d; ", \
			f["messages"], f["done"], f["copied"], f["found"], f["skipped"]
		printf "mailbox: messages=%d done=%d copied=%d found=%d skipped=%d\n", \
			m["messages"], m["done"], m["copied"], m["found"], m["skipped"]
		exit bad
	}' "$1"
}

# A crashed run's other lane may have a MULTIAPPEND in flight that Dovecot
# commits after the connection is gone; the rerun starts at once, so it is
# fedmig-smd's own wait for an interrupted folder (smd_settle) that keeps
# those messages from being copied twice.
runs=0 found_any=
for mode in AFTER MID; do
	for n in 1 2 5 13 29; do
		dst=c$(echo "$mode" | tr 'A-Z' 'a-z')$n
		copy "$dst" "FEDMIG_SMD_CRASH_$mode=$n" >"$TMP/$dst.1" 2>&1
		rc=$?
		[ $rc = 99 ] || [ $rc = 98 ] || fail "$mode=$n: the test hook did not fire (rc=$rc)"
		rerun "$dst" >"$TMP/$dst.2" 2>&1 || fail "$mode=$n: rerun failed: $(tail -n 2 "$TMP/$dst.2")"
		check "$dst" || fail "$mode=$n: not identical after the rerun: $(head -3 "$TMP/check-$dst.log")"
		c=$(counts "$TMP/$dst.2") || fail "$mode=$n: counts disagree after the rerun: $c"
		case $c in *"found=0 "*) ;; *) found_any=1 ;; esac
		copy "$dst" >"$TMP/$dst.3" 2>&1 || fail "$mode=$n: third run failed"
		grep -q ' copied=0 ' "$TMP/$dst.3" || fail "$mode=$n: third run appended: $(tail -n 1 "$TMP/$dst.3")"
		runs=$((runs + 1))
	done
done
[ -n "$found_any" ] || fail "no rerun found a crashed run's appends: the counts were not tested"
# The queue: the job's progress after a crash and a rerun reaches its total
# (messages the dead run appended count as done when the rerun finds them).
python3 - "$TMP/smd.db" "$S1_DOMAIN" "$S2_DOMAIN" <<'PY' || fail "enqueue"
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
now = int(time.time() * 1e6)
db.execute("INSERT INTO smd_jobs(request_id, access, src_system, src_physical, dst_system,"
           " dst_physical, next_at, created, updated) VALUES(9, 'src@example.org', 's1', ?, 's2', ?,"
           " ?, ?, ?)", ("src@" + sys.argv[2], "queue@" + sys.argv[3], now, now, now))
db.commit()
PY
chown fedmig "$TMP/smd.db" "$TMP"/smd.db-* 2>/dev/null
FEDMIG_SMD_CRASH_AFTER=7 "$SMD" -c "$TMP/smd.conf" -f --once >"$TMP/queue.1" 2>&1
python3 -c "import sqlite3,sys; db=sqlite3.connect(sys.argv[1]); db.execute('UPDATE smd_jobs SET next_at=0 WHERE request_id=9'); db.commit()" "$TMP/smd.db"
"$SMD" -c "$TMP/smd.conf" -f --once >"$TMP/queue.2" 2>&1 || fail "queue: rerun: $(tail -n 3 "$TMP/queue.2")"
grep -q 'request=9: copied .* found=[1-9]' "$TMP/queue.2" || fail "queue: the rerun found nothing: $(grep 'request=9: copied' "$TMP/queue.2")"
python3 - "$TMP/smd.db" <<'PY' || fail "queue: progress after crash and rerun: $(grep 'request=9: copied' "$TMP/queue.2")"
import sqlite3, sys
r = sqlite3.connect(sys.argv[1]).execute(
    "SELECT state, msgs_done, msgs_total, bytes_done, bytes_total, folders_done, folders_total"
    " FROM smd_jobs WHERE request_id = 9").fetchone()
print("smd_crash: progress after crash and rerun", r)
sys.exit(0 if r[0] == 2 and r[2] > 0 and r[1] == r[2] and r[3] == r[4] and r[5] == r[6] else 1)
PY
check queue || fail "queue: $(head -3 "$TMP/check-queue.log")"
# Source UIDVALIDITY change: recreate the source INBOX's index (doveadm
# force-resync would keep it), i.e. delete dovecot-uidlist, then rerun.
copy uv >"$TMP/uv.1" 2>&1 || fail "uidvalidity: first copy"
rm -f "$S1_MAIL_ROOT/$S1_DOMAIN/src/Maildir/dovecot-uidlist" "$S1_MAIL_ROOT/$S1_DOMAIN/src/Maildir/dovecot.index"*
doveadm -c "$S1_DOVECOT_CONF" force-resync -u "src@$S1_DOMAIN" INBOX >/dev/null 2>&1
copy uv >"$TMP/uv.2" 2>&1 || fail "uidvalidity: rerun: $(tail -n 2 "$TMP/uv.2")"
grep -q 'folder=INBOX .* copied=0 ' "$TMP/uv.2" || fail "uidvalidity: INBOX copied again: $(grep folder=INBOX "$TMP/uv.2")"
check uv || fail "uidvalidity: $(head -3 "$TMP/check-uv.log")"
echo "PASS smd_crash ($runs crash points, UIDVALIDITY change)"
