#!/bin/bash
# Contacts and calendars, one way, between the lab's two real Radicale
# servers: generated fixtures (tests/lab/pimlab.py: PIM_CONTACTS=250 and
# PIM_EVENTS=100 by default: Radicale scans a collection for the UID of
# each new item, so a copy's time grows with the square of its size; events:
# recurring events whose exceptions' RECURRENCE-ID is in another
# zone than the master, all-day, floating, TZID without VTIMEZONE, a
# duplicate UID, a 2 MB photo, vCard 3.0 and 4.0, non-ASCII everywhere) on
# S1 are copied by fedmig-smd --pim-only; the independent checker finds no
# difference but the normalisations fedmig reported; the duplicate UID is
# reported and both items copied (or the second rejected by Radicale, which
# refuses a UID it holds, and reported); the photo is shrunk to s2_dav_max_photo;
# a rerun writes nothing to either server (Radicale's request log); a
# target that wants vCard 3.0 (what a Radicale site should set) gets every
# card converted; a 4.0 target on Radicale 3.1, whose vobject cuts URI values
# at a comma, gets the damaged card rejected and reported, the rest copied.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/lab/lib.sh
. "$ROOT/tests/lab/lib.sh"
# shellcheck source=tests/lab/pim_lib.sh
. "$ROOT/tests/lab/pim_lib.sh"
pim_lab pim_copy
MAX_PHOTO=262144
pim_conf "$CONF" "s2_dav_max_photo = $MAX_PHOTO"

pim_fixtures "$TMP/fx" --contacts "${PIM_CONTACTS:-250}" --events "${PIM_EVENTS:-100}" >"$TMP/fx.log" 2>&1 || fail "fixtures: $(tail -n 2 "$TMP/fx.log")"
head -n 1 "$TMP/fx.log"
seed=$(sed -n 's/.*seed=\([0-9]*\).*/\1/p' "$TMP/fx.log")
pim_upload alice "$TMP/fx" >"$TMP/upload.log" 2>&1 || fail "upload: $(tail -n 3 "$TMP/upload.log")"
nsrc=$("$PY" "$PIMLAB" dump --url "$RAD_S1" --owner "alice@$S1_DOMAIN" | wc -l)
[ "$nsrc" -ge "$((${PIM_CONTACTS:-250} + ${PIM_EVENTS:-100}))" ] || fail "only $nsrc items on S1 after the upload"

# 1. the copy
t0=$(date +%s.%N)
pim_smd "$TMP/copy1.out" alice || fail "copy (exit $?): $(tail -n 5 "$TMP/copy1.out")"
t1=$(date +%s.%N)
grep -q 'pim: collections=3 ' "$TMP/copy1.out" || fail "no summary for 3 collections: $(grep 'pim:' "$TMP/copy1.out")"
grep 'pim: [a-z]*=' "$TMP/copy1.out" | grep -v ' verified=yes' | grep -v 'collections=' &&
	fail "a collection not verified"
created=$(pim_sum "$TMP/copy1.out" created) rejected=$(pim_sum "$TMP/copy1.out" rejected)
[ "$((created + rejected))" = "$nsrc" ] || fail "created=$created rejected=$rejected, the source holds $nsrc items"
grep -q "duplicate UID dup-$seed@fedmig.lab" "$TMP/copy1.out" || fail "the duplicate UID was not reported"
# Radicale refuses a second item with a UID it holds (409 no-uid-conflict):
# the only rejection allowed, reported with the server's answer.
[ "$rejected" = 0 ] || grep -q 'rejected .*/dup-[ab]\.ics: HTTP 409' "$TMP/copy1.out" ||
	fail "rejected=$rejected: $(grep -m 3 rejected "$TMP/copy1.out")"
grep -qF "$MASTER_PASS" "$TMP/copy1.out" && fail "the master password in the output"
pim_check alice --report "$TMP/copy1.out" || fail "checker: $(grep -m 8 DIFF "$TMP/check.log")"
tail -n 1 "$TMP/check.log"
fixes=$(pim_sum "$TMP/copy1.out" fixes)
[ "$fixes" -gt 0 ] || fail "no normalisation reported (VTIMEZONE, RECURRENCE-ID, PHOTO expected)"
echo "pim_copy: $nsrc items copied in $(echo "$t1 - $t0" | bc) s, $fixes normalisations reported"

# 2. rerun: nothing written on either side
m1=$(pim_mark "$RAD_S1_LOG") m2=$(pim_mark "$RAD_S2_LOG")
t0=$(date +%s.%N)
pim_smd "$TMP/copy2.out" alice || fail "rerun (exit $?): $(tail -n 5 "$TMP/copy2.out")"
t1=$(date +%s.%N)
w1=$(pim_writes "$RAD_S1_LOG" "$m1") w2=$(pim_writes "$RAD_S2_LOG" "$m2")
[ "$((w1 + w2))" = 0 ] || fail "the rerun wrote: $w1 requests to S1, $w2 to S2"
[ "$(($(pim_sum "$TMP/copy2.out" created) + $(pim_sum "$TMP/copy2.out" updated)))" = 0 ] || fail "the rerun counted writes: $(grep 'pim: collections' "$TMP/copy2.out")"
pim_check alice --report "$TMP/copy1.out" || fail "checker after the rerun: $(grep -m 5 DIFF "$TMP/check.log")"
echo "pim_copy: rerun wrote nothing, $(echo "$t1 - $t0" | bc) s"

# 3. the 2 MB photo: shrunk under the target's limit and reported
"$PY" "$PIMLAB" get --url "$RAD_S2" --path "/alice@$S2_DOMAIN/contacts/card-bigphoto-$seed.vcf" \
	>"$TMP/photo.vcf" || fail "the big photo's card is not on S2"
photo=$("$PY" -c 'import sys, vobject, base64
c = vobject.readOne(open(sys.argv[1]).read())
print(len(c.photo.value) if hasattr(c, "photo") else 0)' "$TMP/photo.vcf")
grep -qi "card-bigphoto-$seed.*photo" "$TMP/copy1.out" || fail "the shrunk photo was not reported"
# It decodes (a 16x16 JPEG padded with comment segments, like a photo
# heavy with metadata): shrunk, not dropped.
[ "$photo" -gt 0 ] || fail "the 2 MB photo was dropped, not shrunk: $(grep -m 1 -io "card-bigphoto-$seed.*" "$TMP/copy1.out")"
[ "$photo" -le "$MAX_PHOTO" ] || fail "the photo on S2 is $photo bytes (limit $MAX_PHOTO)"
echo "pim_copy: the 2 MB photo is $photo bytes on S2"

# 4. a Radicale target should take vCard 3.0 (or keep): bob's cards, 3.0
# and 4.0 on S1, converted to 3.0, each reported, nothing lost
mkdir -p "$TMP/fx30"
pim_fixtures "$TMP/fx30" --contacts 40 --events 0 --photo-bytes 4000 >/dev/null 2>&1 || fail "fixtures 3.0"
pim_upload bob "$TMP/fx30" >"$TMP/upload30.log" 2>&1 || fail "upload 3.0: $(tail -n 3 "$TMP/upload30.log")"
pim_conf "$CONF" "s2_dav_vcard = 3.0"
pim_smd "$TMP/copy30.out" bob || fail "copy to vCard 3.0 (exit $?): $(tail -n 5 "$TMP/copy30.out")"
pim_check bob --report "$TMP/copy30.out" || fail "checker (3.0): $(grep -m 5 DIFF "$TMP/check.log")"
n4=$("$PY" "$PIMLAB" get --url "$RAD_S2" --path "/bob@$S2_DOMAIN/contacts/" | grep -c '^VERSION:4.0')
[ "$n4" = 0 ] || fail "$n4 cards still 4.0 on a 3.0 target"
[ "$(pim_sum "$TMP/copy30.out" rejected)" = 0 ] || fail "rejected on a 3.0 target: $(grep -m 3 rejected "$TMP/copy30.out")"

# 5. a vCard 4.0 target on Radicale 3.1: vobject cuts a URI value at its
# first comma (data: photos, URLs with commas). The verification catches
# it: those items are rejected with a reason naming the property and the
# way out; the other items are copied and the run succeeds.
photo=$(printf '\xff\xd8\xff\xe0 a photo, 40 bytes of it, base64 of it....' | base64 -w0)
printf 'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:cut-by-radicale\r\nFN:Coupé\r\nN:Coupé;;;;\r\nPHOTO;ENCODING=b;TYPE=JPEG:%s\r\nURL:http://x.example/a,b\r\nEND:VCARD\r\n' \
	"$photo" >"$TMP/cut.vcf"
printf 'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:plain-for-4\r\nFN:Plain Four\r\nN:Four;Plain;;;\r\nEND:VCARD\r\n' >"$TMP/plain.vcf"
"$PY" "$PIMLAB" put --url "$RAD_S1" --path "/bob@$S1_DOMAIN/contacts/cut.vcf" --file "$TMP/cut.vcf" >/dev/null || fail "put cut.vcf"
"$PY" "$PIMLAB" put --url "$RAD_S1" --path "/bob@$S1_DOMAIN/contacts/plain.vcf" --file "$TMP/plain.vcf" >/dev/null || fail "put plain.vcf"
pim_conf "$CONF" "s2_dav_vcard = 4.0"
pim_smd "$TMP/copy40.out" bob || fail "copy to vCard 4.0 (exit $?): $(tail -n 5 "$TMP/copy40.out")"
[ "$(pim_sum "$TMP/copy40.out" rejected)" = 1 ] || fail "4.0: not one rejected: $(grep 'pim: ' "$TMP/copy40.out")"
grep -q 'rejected .*/cut\.vcf: the target server stored it altered (.*PHOTO.*); Radicale 3.1' "$TMP/copy40.out" ||
	fail "4.0: the damage is not reported: $(grep -m 3 -i 'rejected\|verif' "$TMP/copy40.out")"
[ "$(pim_sum "$TMP/copy40.out" created)" = 1 ] || fail "4.0: the plain card not created: $(grep 'pim: ' "$TMP/copy40.out")"
grep '^pim: addressbook=' "$TMP/copy40.out" | grep -v ' verified=yes' && fail "4.0: an address book not verified"
"$PY" "$PIMLAB" get --url "$RAD_S2" --path "/bob@$S2_DOMAIN/contacts/plain.vcf" | grep -q '^VERSION:4.0' ||
	fail "4.0: the plain card is not 4.0 on S2"
echo "pim_copy: a 4.0 target's damage reported: $(grep -m 1 -o 'rejected .*/cut\.vcf: [^;]*' "$TMP/copy40.out")"
echo "PASS pim_copy"
