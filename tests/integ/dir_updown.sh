#!/usr/bin/env bash
# Directory sync with two real slapd (issue 16): accounts added, changed
# and removed on either side reach fedmig's directory (S1 incremental with
# syncprov, S2 full listings); each system gets a downward contact for
# every address the other owns, never one for its own accounts, and
# contacts follow renames and removals; an address two systems claim is a
# conflict that changes nothing and clears once one side drops it; the
# dry run writes nothing and the real run right after it does exactly the
# lines the dry run printed.
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/integ/lib_pilot.sh
. "$REPO/tests/integ/lib_pilot.sh"
# shellcheck source=tests/integ/lib_dir.sh
. "$REPO/tests/integ/lib_dir.sh"
# One removal out of four accounts is 25 %: within this limit, so the
# removals here are applied (dir_guards.sh checks the default 5 %).
dir_lab dir_updown "directory_shrink_limit = 40"
L=$REPO/tests/lab/lab

for u in alice bob erin frank; do "$L" adduser "$LAB" s1 "$u" >/dev/null; done
for u in carol dave gina hank; do "$L" adduser "$LAB" s2 "$u" >/dev/null; done
printf 'dn: uid=alice,%s\nchangetype: modify\nadd: mailLocalAddress\nmailLocalAddress: alice.a@example.org\n' \
	"$LDAP_S1_PEOPLE" | ldap_mod s1

# dry_then_real WHAT: a dry run, then the real run; same lines, same exit.
dry_then_real() {
	local what=$1 dry real n0 n1 drc
	n0=$($CTL directory list | wc -l)
	dsync --dry-run
	dry=$DSYNC_OUT drc=$DSYNC_RC
	n1=$($CTL directory list | wc -l)
	[ "$n0" = "$n1" ] || bad "$what: the dry run changed the directory ($n0 -> $n1 lines)"
	dsync
	real=$DSYNC_OUT
	[ "$drc" = "$DSYNC_RC" ] || bad "$what: dry run exit $drc, real run exit $DSYNC_RC"
	if ! diff <(dir_rows "$dry") <(dir_rows "$real") >"$LAB/dry.diff"; then
		bad "$what: the real run did not do what the dry run printed:"
		cat "$LAB/dry.diff"
	fi
	[ -n "$(dir_rows "$real")" ] || bad "$what: the sync printed no CSV line"
}

# ---- 1. the first sync fills the directory from both sides
dry_then_real "first sync"
[ "$DSYNC_RC" = 0 ] || bad "first sync exit $DSYNC_RC (want 0)"
for u in alice bob erin frank; do
	[ "$(dir_field "$u@example.org" 2)" = s1 ] || bad "$u@example.org not owned by s1"
	[ "$(dir_field "$u@example.org" 3)" = "$u@s1.example.org" ] || bad "$u: physical $(dir_field "$u@example.org" 3)"
done
for u in carol dave gina hank; do
	[ "$(dir_field "$u@example.org" 2)" = s2 ] || bad "$u@example.org not owned by s2"
done
dir_field alice@example.org 5 | grep -q 'alice.a@example.org' || bad "alice's alias did not reach the directory"
grep -q '^s1,up,add,alice@example.org' "$DSYNC_OUT" || bad "no 's1,up,add,alice@example.org' line"
grep -q '^s2,down,add,alice@example.org' "$DSYNC_OUT" || bad "no 's2,down,add,alice@example.org' line"

# Downward: each side lists the other's users, never its own.
want1=$(printf '%s@example.org\n' carol dave gina hank)
want2=$(printf '%s@example.org\n' alice bob erin frank)
[ "$(contacts s1)" = "$want1" ] || bad "S1's contacts: $(contacts s1 | tr '\n' ' ')"
[ "$(contacts s2)" = "$want2" ] || bad "S2's contacts: $(contacts s2 | tr '\n' ' ')"
[ "$(contact_name s2 bob@example.org)" = "User bob" ] || bad "bob's contact on S2 is named '$(contact_name s2 bob@example.org)'"
# directory show: the owner, its last sync, the name, the contact on S2.
$CTL directory show alice.a@example.org >"$LAB/show.out" 2>&1
grep -q '^owner: *s1, last sync [0-9]' "$LAB/show.out" || bad "directory show: no owner s1 with its last sync: $(cat "$LAB/show.out")"
grep -q '^name: *User alice' "$LAB/show.out" || bad "directory show: no name"
grep -q '^contacts: *s2 yes' "$LAB/show.out" || bad "directory show: no contact on s2"

# A second run with nothing changed does nothing.
dsync
[ "$DSYNC_RC" = 0 ] || bad "idle sync exit $DSYNC_RC"
[ -z "$(dir_rows "$DSYNC_OUT")" ] || bad "idle sync printed changes: $(dir_rows "$DSYNC_OUT" | tr '\n' ' ')"

# ---- 2. changes on both sides: an account added on S2, one renamed and
# given an alias on S1, one removed on each side.
"$L" adduser "$LAB" s2 ivan >/dev/null
printf 'dn: uid=bob,%s\nchangetype: modify\nreplace: displayName\ndisplayName: Robert Bob\n-\nadd: mailLocalAddress\nmailLocalAddress: bob.b@example.org\n' \
	"$LDAP_S1_PEOPLE" | ldap_mod s1
ldap_del s1 uid=frank,ou=people
ldap_del s2 uid=hank,ou=people
dry_then_real "changes"
[ "$DSYNC_RC" = 0 ] || bad "changes: exit $DSYNC_RC (want 0)"
[ "$(dir_field ivan@example.org 2)" = s2 ] || bad "ivan@example.org (added on S2) not owned by s2"
dir_field bob@example.org 5 | grep -q 'bob.b@example.org' || bad "bob's new alias did not reach the directory"
[ -z "$(dir_field frank@example.org 2)" ] || bad "frank@example.org (removed on S1) still in the directory"
[ -z "$(dir_field hank@example.org 2)" ] || bad "hank@example.org (removed on S2) still in the directory"
want1=$(printf '%s@example.org\n' carol dave gina ivan)
want2=$(printf '%s@example.org\n' alice bob erin)
[ "$(contacts s1)" = "$want1" ] || bad "S1's contacts after the changes: $(contacts s1 | tr '\n' ' ')"
[ "$(contacts s2)" = "$want2" ] || bad "S2's contacts after the changes: $(contacts s2 | tr '\n' ' ')"
[ "$(contact_name s2 bob@example.org)" = "Robert Bob" ] || bad "bob's contact on S2 not renamed: '$(contact_name s2 bob@example.org)'"

# ---- 3. S2 claims bob's address too: a conflict, reported, nothing changes.
printf 'dn: uid=bob2,%s\nobjectClass: inetOrgPerson\nuid: bob2\ncn: Other Bob\nsn: bob2\nmail: bob@example.org\n' \
	"$LDAP_S2_PEOPLE" | "$L" ldif "$LAB" s2 add >/dev/null
dsync
[ "$DSYNC_RC" = 1 ] || bad "conflict: exit $DSYNC_RC (want 1)"
grep -q ',conflict,bob@example.org' "$DSYNC_OUT" || bad "no conflict line for bob@example.org"
[ "$(dir_field bob@example.org 2)" = s1 ] || bad "conflict: bob@example.org now owned by '$(dir_field bob@example.org 2)'"
[ "$(dir_field bob@example.org 3)" = bob@s1.example.org ] || bad "conflict: bob's physical changed"
contacts s1 | grep -qx bob@example.org && bad "conflict: S1 got a contact for its own bob"
$CTL directory show bob@example.org | grep -q '^conflict: ' || bad "directory show: no conflict line for bob"
# S2 drops it: the conflict clears, S1 keeps bob. (S1's side may still see
# S2's previous listing in the run that lists S2 anew: the next run is clean.)
ldap_del s2 uid=bob2,ou=people
dsync
dsync
[ "$DSYNC_RC" = 0 ] || bad "after the conflict cleared: exit $DSYNC_RC (want 0)"
contacts s2 | grep -qx bob@example.org || bad "after the conflict cleared: no contact for bob on S2"
[ "$(dir_field bob@example.org 2)" = s1 ] || bad "bob@example.org lost after the conflict cleared"

pilot_result dir_updown "$fail" 40 "$LAB/dsync.log"
