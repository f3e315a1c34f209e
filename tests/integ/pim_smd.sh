#!/bin/bash
# fedmig-smd -u --pim-only between two real Radicale servers of its own
# (no Postfix or Dovecot): address books and calendars with non-ASCII
# names and items are copied and verified (one too large for the target
# rejected with its 413); a rerun writes nothing; an
# item killed mid-way (the table lost) is adopted, not written twice; a
# target item changed behind the table's back gives a 412, re-read and
# reported as a conflict, not a failure; a stopped source deletes nothing;
# a source emptied past pim_delete_threshold deletes nothing (held, exit 3)
# until --force-delete; two-way, a target's change reaches the source.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B=$(readlink -m "${FEDMIG_BUILD:-$ROOT/build}")
SMD=$B/smd/fedmig-smd
RADICALE=/usr/bin/radicale
[ -x "$SMD" ] || { echo "FAIL pim_smd: $SMD not built"; exit 1; }
[ -x "$RADICALE" ] || { echo "FAIL pim_smd: radicale not installed"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "FAIL pim_smd: needs root (fedmig-smd drops to fedmig)"; exit 1; }

TMP=$(mktemp -d /tmp/fedmig-pim-smd.XXXXXX) || exit 1
chmod 0755 "$TMP"
PIDS=()
KEEP=
finish() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	[ -n "$KEEP" ] || rm -rf "$TMP"
}
trap finish EXIT
trap 'exit 1' INT TERM HUP
fail() {
	KEEP=1
	echo "FAIL pim_smd: $*"
	echo "files kept in $TMP"
	exit 1
}

# Two free loopback ports, chosen by the kernel.
read -r P1 P2 < <(/usr/bin/python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')

# radicale N PORT MAX: a Radicale in $TMP/rN, master user fedmig, request
# bodies up to MAX bytes.
radicale() {
	local d=$TMP/r$1
	mkdir -p "$d/store"
	printf '[server]\nhosts = 127.0.0.1:%s\nmax_content_length = %s\n[auth]\ntype = htpasswd\nhtpasswd_filename = %s/users\nhtpasswd_encryption = plain\n[rights]\ntype = from_file\nfile = %s/rights\n[storage]\nfilesystem_folder = %s/store\n[logging]\nlevel = info\n' \
		"$2" "$3" "$d" "$d" "$d" >"$d/config"
	echo "fedmig:$PASS" >"$d/users"
	printf '[master]\nuser: fedmig\ncollection: .*\npermissions: RWrw\n\n[root]\nuser: .+\ncollection:\npermissions: R\n' >"$d/rights"
	"$RADICALE" -C "$d/config" >"$d/log" 2>&1 &
	PIDS+=($!)
	eval "R$1_PID=$!"
}
PASS=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
radicale 1 "$P1" 100000000
radicale 2 "$P2" 200000
for p in $P1 $P2; do
	for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$p/" && break; sleep 0.1; done
done

S=http://127.0.0.1:$P1/alice@s1.example.org
T=http://127.0.0.1:$P2/alice@s2.example.org
req() { # METHOD URL [CURL ARG...]: prints the HTTP status
	local m=$1 u=$2
	shift 2
	curl -s -o /dev/null -w '%{http_code}' -u "fedmig:$PASS" -X "$m" "$u" "$@"
}
put() { # URL FILE TYPE
	req PUT "$1" -H "Content-Type: $3" --data-binary @"$2"
}
count() { # URL: items in the collection
	curl -s -u "fedmig:$PASS" -X PROPFIND -H 'Depth: 1' "$1" | grep -o '<href>[^<]*\.\(vcf\|ics\)</href>' | wc -l
}

[ "$(req MKCOL "$S/")" = 201 ] || fail "MKCOL principal"
[ "$(req MKCOL "$S/book/" -H 'Content-Type: application/xml' --data '<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype><D:displayname>Carnet d'"'"'adresses é</D:displayname></D:prop></D:set></D:mkcol>')" = 201 ] || fail "MKCOL book"
[ "$(req MKCALENDAR "$S/work/" -H 'Content-Type: application/xml' --data '<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:I="http://apple.com/ns/ical/"><D:set><D:prop><D:displayname>Travail</D:displayname><I:calendar-color>#00ff00</I:calendar-color></D:prop></D:set></C:mkcalendar>')" = 201 ] || fail "MKCALENDAR"
for i in $(seq 1 40); do
	printf 'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:c-%d\r\nFN:Zoë Ünïcode %d\r\nN:Ünïcode;Zoë;;;\r\nEMAIL;TYPE=INTERNET:z%d@example.org\r\nEND:VCARD\r\n' "$i" "$i" "$i" >"$TMP/c.vcf"
	[ "$(put "$S/book/c-$i.vcf" "$TMP/c.vcf" text/vcard)" = 201 ] || fail "PUT card $i"
done
# one contact too large for the target (413 there): rejected, the run goes on
{ printf 'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:c-big\r\nFN:Big\r\nNOTE:'; head -c 300000 /dev/zero | tr '\0' x; printf '\r\nEND:VCARD\r\n'; } >"$TMP/big.vcf"
[ "$(put "$S/book/c-big.vcf" "$TMP/big.vcf" text/vcard)" = 201 ] || fail "PUT big card"
for i in $(seq 1 10); do
	printf 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:e-%d\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:202601%02dT100000Z\r\nDTEND:202601%02dT110000Z\r\nSUMMARY:Réunion %d\r\nRRULE:FREQ=WEEKLY;COUNT=3\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n' "$i" "$i" "$i" "$i" >"$TMP/e.ics"
	[ "$(put "$S/work/e-$i.ics" "$TMP/e.ics" text/calendar)" = 201 ] || fail "PUT event $i"
done

install -m 0600 -o fedmig /dev/null "$TMP/cred"
printf 'master_user = fedmig\nmaster_password = %s\n' "$PASS" >"$TMP/cred"
chown fedmig "$TMP"
cat >"$TMP/fedmig.conf" <<CONF
state_database = $TMP/fedmig.db
run_directory = $TMP
systems = s1 s2
s1_domain = s1.example.org
s1_driver = none
s1_credentials = $TMP/cred
s1_carddav = http://127.0.0.1:$P1/
s1_caldav = http://127.0.0.1:$P1/
s2_domain = s2.example.org
s2_driver = none
s2_credentials = $TMP/cred
s2_carddav = http://127.0.0.1:$P2/
s2_caldav = http://127.0.0.1:$P2/
pim_requests = 8
CONF
smd() { # RUN-NAME ARG...: fedmig-smd -u alice --pim-only; its status
	local n=$1
	shift
	"$SMD" -c "$TMP/fedmig.conf" -f -u alice@example.org -F s1 -T s2 --pim-only "$@" \
		>"$TMP/$n.out" 2>"$TMP/$n.err"
}
total() { tail -n 5 "$TMP/$1.out" | grep '^pim: collections='; }

# 1. copy
smd copy1 || fail "copy: $(cat "$TMP/copy1.out" "$TMP/copy1.err" | tail -n 5)"
grep -q 'addressbook=Carnet d.adresses é created=40 .* rejected=1 .* verified=yes' "$TMP/copy1.out" || fail "book: $(cat "$TMP/copy1.out")"
grep -q 'rejected /alice@s2.example.org/book/c-big.vcf: HTTP 413' "$TMP/copy1.err" || fail "413 not reported: $(grep -i reject "$TMP/copy1.err")"
grep -q 'calendar=Travail created=10 .* verified=yes' "$TMP/copy1.out" || fail "calendar: $(cat "$TMP/copy1.out")"
[ "$(count "$T/book/")" = 40 ] && [ "$(count "$T/work/")" = 10 ] || fail "target counts"
curl -s -u "fedmig:$PASS" -X PROPFIND -H 'Depth: 0' "$T/work/" | grep -q '#00ff00' || fail "colour not copied"
grep -qF "$PASS" "$TMP/copy1.out" "$TMP/copy1.err" && fail "password in the output"
echo "pim_smd: copied: $(total copy1)"

# 2. rerun: nothing written
smd copy2 || fail "rerun: $(tail -n 3 "$TMP/copy2.out")"
total copy2 | grep -q ' writes=0 ' || fail "rerun wrote: $(total copy2)"

# 3. a run killed after its PUTs, before its table: adopted, not written twice
sqlite3 "$TMP/fedmig.db" "DELETE FROM pim_items WHERE src_coll LIKE '%/book/'; UPDATE pim_collections SET src_token = '', dst_token = ''" || fail "sqlite3"
smd adopt || fail "adopt: $(tail -n 3 "$TMP/adopt.out")"
# (only the rejected item is tried again: the table that said so is gone)
total adopt | grep -q ' created=0 updated=0 .* rejected=1 .* writes=1 ' || fail "adoption wrote: $(total adopt)"
[ "$(count "$T/book/")" = 40 ] || fail "duplicates after adoption"

# 4. a 412: the target changed after the token the table holds
printf 'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:c-2\r\nFN:Changed on the target\r\nEND:VCARD\r\n' >"$TMP/t.vcf"
[ "$(put "$T/book/c-2.vcf" "$TMP/t.vcf" text/vcard)" = 201 ] || fail "PUT target"
tok=$(curl -s -u "fedmig:$PASS" -X REPORT "$T/book/" -H 'Content-Type: application/xml' --data '<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>' | grep -o '<sync-token>[^<]*' | sed 's/<sync-token>//')
[ -n "$tok" ] || fail "no sync token"
sqlite3 "$TMP/fedmig.db" "UPDATE pim_collections SET dst_token = '$tok' WHERE src_href LIKE '%/book/'"
printf 'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:c-2\r\nFN:Changed on the source\r\nEND:VCARD\r\n' >"$TMP/s.vcf"
[ "$(put "$S/book/c-2.vcf" "$TMP/s.vcf" text/vcard)" = 201 ] || fail "PUT source"
smd p412 || fail "412 failed the run: $(tail -n 3 "$TMP/p412.out")"
grep -q 'conflict=1' "$TMP/p412.out" || fail "412 not a conflict: $(cat "$TMP/p412.out")"
grep -q '412' "$TMP/p412.err" || fail "412 not logged"
curl -s -u "fedmig:$PASS" "$T/book/c-2.vcf" | grep -q 'Changed on the target' || fail "target's change overwritten"

# 5. a stopped source deletes nothing
kill "$R1_PID"
wait "$R1_PID" 2>/dev/null
smd down && fail "a run without its source succeeded"
grep -q '^reason: .*listing failed, nothing deleted\|^reason: discovery' "$TMP/down.out" || fail "reason: $(cat "$TMP/down.out")"
[ "$(count "$T/book/")" = 40 ] || fail "items deleted with the source down"
"$RADICALE" -C "$TMP/r1/config" >>"$TMP/r1/log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$P1/" && break; sleep 0.1; done

# 6. the source emptied: held (exit 3), nothing deleted, until --force-delete
for i in $(seq 1 40); do req DELETE "$S/book/c-$i.vcf" >/dev/null; done
smd held
[ $? = 3 ] || fail "emptied source: not held: $(cat "$TMP/held.out")"
[ "$(count "$T/book/")" = 40 ] || fail "items deleted past the threshold"
smd forced --force-delete || fail "--force-delete: $(tail -n 3 "$TMP/forced.out")"
# c-2 changed on the target: kept (a conflict), the 39 others deleted
[ "$(count "$T/book/")" = 1 ] || fail "after --force-delete: $(count "$T/book/") left"

# 7. two-way: an event changed on the target goes to the source; a rerun
# writes nothing
sed -e 's/SUMMARY:Réunion 10/SUMMARY:Déplacée sur la cible/' -e 's/UID:e-10/UID:e-3/' "$TMP/e.ics" >"$TMP/e3.ics"
[ "$(put "$T/work/e-3.ics" "$TMP/e3.ics" text/calendar)" = 201 ] || fail "PUT target event"
smd twoway --two-way || fail "two-way: $(tail -n 3 "$TMP/twoway.out")"
curl -s -u "fedmig:$PASS" "$S/work/e-3.ics" | grep -q 'Déplacée sur la cible' || fail "target's change not on the source"
smd twoway2 --two-way || fail "two-way rerun: $(tail -n 3 "$TMP/twoway2.out")"
total twoway2 | grep -q ' writes=0 ' || fail "two-way rerun wrote: $(total twoway2)"
echo "PASS pim_smd"
