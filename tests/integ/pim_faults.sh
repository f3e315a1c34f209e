#!/bin/bash
# Contacts and calendars under faults, between the lab's two Radicale
# servers: fedmig-smd --pim-only killed with SIGKILL mid-copy, then run
# again, leaves every item on the target once (no duplicate UID beyond the
# source's own) and the checker content; a stopped source Radicale fails
# the run and deletes nothing; a source collection emptied deletes nothing
# (and says so); deletions above pim_delete_threshold are held until
# --force-delete.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/lab/lib.sh
. "$ROOT/tests/lab/lib.sh"
# shellcheck source=tests/lab/pim_lib.sh
. "$ROOT/tests/lab/pim_lib.sh"
SMD_PID=
stop_smd() { [ -z "$SMD_PID" ] || kill -KILL "$SMD_PID" 2>/dev/null || true; }
pim_lab pim_faults stop_smd
pim_fixtures "$TMP/fx" --contacts "${PIM_CONTACTS:-150}" --events "${PIM_EVENTS:-60}" --photo-bytes 50000 >"$TMP/fx.log" 2>&1 ||
	fail "fixtures: $(tail -n 2 "$TMP/fx.log")"
head -n 1 "$TMP/fx.log"
pim_upload alice "$TMP/fx" >"$TMP/upload.log" 2>&1 || fail "upload: $(tail -n 3 "$TMP/upload.log")"
A1="alice@$S1_DOMAIN" A2="alice@$S2_DOMAIN"
per_uid() { "$PY" "$PIMLAB" dump --url "$1" --owner "$2" | awk -F'\t' '{ print $1 "/" $3 }' | sort | uniq -c; }
ncoll() { "$PY" "$PIMLAB" dump --url "$1" --owner "$2" | awk -F'\t' -v c="$3" '$1 == c' | wc -l; }
deletes() { tail -n +"$(($2 + 1))" "$1" | grep -c '\] DELETE request for'; }

# 1. kill -9 mid-copy, then a rerun: nothing twice
pim_conf "$CONF"
"$SMD" -c "$CONF" -f -u alice@example.org --from s1 --to s2 --pim-only >"$TMP/k1.out" 2>&1 &
SMD_PID=$!
for _ in $(seq 300); do
	n=$(grep -c '\] PUT request for' "$RAD_S2_LOG")
	[ "$n" -ge 60 ] && break
	kill -0 "$SMD_PID" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$SMD_PID" 2>/dev/null || fail "the copy ended before it could be killed ($n PUTs): $(tail -n 3 "$TMP/k1.out")"
kill -KILL "$SMD_PID"
wait "$SMD_PID" 2>/dev/null
SMD_PID=
echo "pim_faults: fedmig-smd killed after $n PUTs on S2"
pim_smd "$TMP/k2.out" alice || fail "rerun after kill -9 (exit $?): $(tail -n 5 "$TMP/k2.out")"
# no UID more often on the target than on the source (the checker below
# finds what is missing)
awk 'NR == FNR { src[$2] = $1; next } $1 > src[$2] + 0 { print $2 ": " $1 " on S2, " src[$2] + 0 " on S1" }' \
	<(per_uid "$RAD_S1" "$A1") <(per_uid "$RAD_S2" "$A2") >"$TMP/dups.txt"
[ ! -s "$TMP/dups.txt" ] || fail "duplicates after the rerun: $(head -n 3 "$TMP/dups.txt")"
pim_check alice --report "$TMP/k1.out" --report "$TMP/k2.out" ||
	fail "checker after kill -9: $(grep -m 5 DIFF "$TMP/check.log")"
echo "pim_faults: no duplicate after kill -9 and rerun"

# 2. the source's Radicale stopped: the run fails, nothing deleted
before=$("$PY" "$PIMLAB" dump --url "$RAD_S2" --owner "$A2" | wc -l)
m2=$(pim_mark "$RAD_S2_LOG")
rpid=$(cat "$DIR/run/radicale-s1.pid")
kill -TERM "$rpid" && for _ in $(seq 50); do kill -0 "$rpid" 2>/dev/null || break; sleep 0.1; done
pim_smd "$TMP/down.out" alice && fail "the run succeeded with the source's Radicale stopped"
[ "$(deletes "$RAD_S2_LOG" "$m2")" = 0 ] || fail "items deleted on S2 while S1 was down"
after=$("$PY" "$PIMLAB" dump --url "$RAD_S2" --owner "$A2" | wc -l)
[ "$after" = "$before" ] || fail "S2 held $before items before, $after after the failed run"
grep -q 'reason:' "$TMP/down.out" || fail "no reason given: $(tail -n 3 "$TMP/down.out")"
echo "pim_faults: source down: $(grep -m 1 'reason:' "$TMP/down.out")"
"$LAB" radicale "$DIR" s1 "$RAD_S1_PORT" >"$TMP/restart.log" 2>&1 || fail "Radicale s1 restart: $(tail -n 2 "$TMP/restart.log")"

# 3. a source collection emptied: nothing deleted, a warning
curl -s -o /dev/null -u "$MASTER_USER:$MASTER_PASS" -X DELETE "$RAD_S1$A1/contacts/" || fail "DELETE collection"
printf '<?xml version="1.0"?><d:mkcol xmlns:d="DAV:" xmlns:r="urn:ietf:params:xml:ns:carddav"><d:set><d:prop><d:resourcetype><d:collection/><r:addressbook/></d:resourcetype><d:displayname>Contacts de Zoë</d:displayname></d:prop></d:set></d:mkcol>' |
	curl -s -o /dev/null -w '%{http_code}' -u "$MASTER_USER:$MASTER_PASS" -X MKCOL \
		-H 'Content-Type: application/xml' --data-binary @- "$RAD_S1$A1/contacts/" | grep -q 201 ||
	fail "MKCOL an empty contacts collection"
m2=$(pim_mark "$RAD_S2_LOG")
pim_smd "$TMP/empty.out" alice
[ "$(deletes "$RAD_S2_LOG" "$m2")" = 0 ] || fail "the emptied source collection deleted items on S2"
[ "$(ncoll "$RAD_S2" "$A2" contacts)" -ge "${PIM_CONTACTS:-150}" ] || fail "contacts missing on S2 after the source was emptied"
grep -qi 'nothing deleted' "$TMP/empty.out" || fail "no warning for the emptied collection: $(grep -i contacts "$TMP/empty.out" | tail -n 3)"
echo "pim_faults: emptied source collection: nothing deleted"

# 4. deletions above pim_delete_threshold (10%): held, then --force-delete
total=$(ncoll "$RAD_S1" "$A1" calendar)
mapfile -t gone < <("$PY" "$PIMLAB" dump --url "$RAD_S1" --owner "$A1" |
	awk -F'\t' '$1 == "calendar" && $3 !~ /^dup-/ { print $3 }' | head -n $((total / 5)))
for u in "${gone[@]}"; do
	"$PY" "$PIMLAB" edit --url "$RAD_S1" --owner "$A1" --uid "$u" --delete >/dev/null || fail "delete $u on S1"
done
m2=$(pim_mark "$RAD_S2_LOG")
pim_smd "$TMP/held.out" alice
rc=$?
[ "$(deletes "$RAD_S2_LOG" "$m2")" = 0 ] || fail "${#gone[@]} of $total deleted without --force-delete"
grep -qi 'held' "$TMP/held.out" || fail "the run was not reported held (exit $rc): $(tail -n 3 "$TMP/held.out")"
pim_smd "$TMP/force.out" alice --force-delete || fail "--force-delete (exit $?): $(tail -n 5 "$TMP/force.out")"
d=$(deletes "$RAD_S2_LOG" "$m2")
[ "$d" = "${#gone[@]}" ] || fail "--force-delete deleted $d items, ${#gone[@]} were deleted on S1"
echo "PASS pim_faults"
