#!/bin/bash
# fedmig-smd and keywords, against the lab's real Dovecots: a source
# message with 3,000 keywords (its FLAGS list is 24 KB) and a target
# folder that already knows 3,000 keywords (its PERMANENTFLAGS is 24 KB).
# Both once hit fixed 4 KB buffers: the first failed the mailbox on every
# retry, the second dropped every keyword of every copied message while
# the copy still said verified=yes. The copy must now be identical to the
# source (tests/smd/check.py compares flags and INTERNALDATE too) and the
# copy's own verification must have compared them. Then flags change on
# the source: a rerun must bring them over, not fail every time.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/lab/lib.sh
. "$ROOT/tests/lab/lib.sh"
smd_lab smd_flags
# kw: both at once; pf: only the target's long PERMANENTFLAGS (so that the
# second fault shows even where the first would fail the copy).
for u in kw pf; do
	"$LAB" adduser "$DIR" s1 $u >/dev/null || fail adduser
	"$LAB" adduser "$DIR" s2 $u >/dev/null || fail adduser
done
sleep 1.1

# imap.py SYSTEM-PORT USER ACTION: source messages, or target keywords.
cat >"$TMP/imap.py" <<'PY'
import imaplib, sys
port, user, pw, action = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
c = imaplib.IMAP4("127.0.0.1", port)
c.login(user, pw)
many = " ".join("kw%05d" % i for i in range(3000))
msg = b"From: a@example.org\r\nSubject: %d\r\n\r\nbody %d\r\n"
if action.startswith("source"):
    if action == "source-many":
        c.append("INBOX", "(\\Seen %s)" % many, imaplib.Time2Internaldate(1600000000), msg % (1, 1))
    for i, fl in enumerate(["(\\Flagged $Forwarded Work)", "(Todo)", "()"]):
        c.append("INBOX", fl, imaplib.Time2Internaldate(1500000000 + i), msg % (i + 2, i + 2))
elif action == "change":
    c.select("INBOX")
    c.store("1:*", "+FLAGS", "(Later \\Answered)")
    c.store("1", "-FLAGS", "(\\Flagged $Forwarded Work Todo)")
else:
    # Keywords stay defined in the folder after their message is gone.
    c.append("INBOX", "(%s)" % many, None, msg % (0, 0))
    c.select("INBOX")
    c.store("1:*", "+FLAGS.SILENT", "(\\Deleted)")
    c.expunge()
    typ, data = c.select("INBOX")
    pf = [r for r in c.untagged_responses.get("OK", []) if r.startswith(b"[PERMANENTFLAGS")]
    assert pf and len(pf[0]) > 4096 and data == [b"0"], (typ, data, pf and len(pf[0]))
c.logout()
PY
for u in kw pf; do
	src=source
	[ $u = kw ] && src=source-many
	python3 "$TMP/imap.py" "$S1_IMAP_PORT" "$u@$S1_DOMAIN*$MASTER_USER" "$MASTER_PASS" $src \
		>>"$TMP/imap.log" 2>&1 || fail "source: $(tail -n 1 "$TMP/imap.log")"
	python3 "$TMP/imap.py" "$S2_IMAP_PORT" "$u@$S2_DOMAIN*$MASTER_USER" "$MASTER_PASS" target \
		>>"$TMP/imap.log" 2>&1 || fail "target keywords: $(tail -n 1 "$TMP/imap.log")"
done

smd_conf "$TMP/smd.conf"
copy() { # USER
	"$SMD" -c "$TMP/smd.conf" -f -u "$1" --from s1 --to s2 --src-user "$1@$S1_DOMAIN" \
		--dst-user "$1@$S2_DOMAIN"
}
for u in pf kw; do
	t0=$(date +%s.%N)
	copy $u >"$TMP/$u.1" 2>&1 || fail "$u: copy failed: $(grep -E '^reason|result=' "$TMP/$u.1" | head -3)"
	t1=$(date +%s.%N)
	grep -q 'result=ok' "$TMP/$u.1" || fail "$u: no result=ok: $(tail -n 2 "$TMP/$u.1")"
	grep -q 'keyword=.*refused' "$TMP/$u.1" && fail "$u: keywords refused: $(grep -m1 refused "$TMP/$u.1")"
	smd_check "$u@$S1_DOMAIN=$u@$S2_DOMAIN" >"$TMP/check-$u.log" 2>&1 ||
		fail "$u: copy said ok but is not identical: $(head -3 "$TMP/check-$u.log")"
	# Flags changed on the source after the copy: the rerun brings them over
	# (UID STORE) and verifies the journalled messages' flags from a listing.
	python3 "$TMP/imap.py" "$S1_IMAP_PORT" "$u@$S1_DOMAIN*$MASTER_USER" "$MASTER_PASS" change \
		>>"$TMP/imap.log" 2>&1 || fail "change: $(tail -n 1 "$TMP/imap.log")"
	copy $u >"$TMP/$u.2" 2>&1 || fail "$u: rerun failed: $(grep -E '^reason|result=' "$TMP/$u.2" | head -3)"
	grep -q ' copied=0 ' "$TMP/$u.2" || fail "$u: rerun appended: $(tail -n 1 "$TMP/$u.2")"
	grep -q '^delta folder=INBOX .* flags=[1-9]' "$TMP/$u.2" || fail "$u: no flags brought over"
	smd_check "$u@$S1_DOMAIN=$u@$S2_DOMAIN" >"$TMP/check-$u.2.log" 2>&1 ||
		fail "$u: changed flags not brought over: $(head -3 "$TMP/check-$u.2.log")"
	secs=$(echo "$t1 - $t0" | bc)
done
printf 'PASS smd_flags (3,000 keywords both ways, %.2f s for that mailbox)\n' "$secs"
