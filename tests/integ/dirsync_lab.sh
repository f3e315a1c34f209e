#!/usr/bin/env bash
# The directory sync against the lab's Dovecot passwd-files (issue 16),
# S1 and S2 each with NAME_directory = passwd-file:
# - accounts added on either side reach the directory through
#   "fedmigctl directory sync"; an entry a CSV import made is adopted, not
#   duplicated; the dry run prints exactly what the real run then does;
# - each side's PASSWD.contacts lists the other side's users;
# - a switch flips the owner (E5 through S2's fresh sync) and fedmig-spm's
#   sync right after it takes the address out of S2's contacts; the
#   rollback puts it back;
# - a passwd-file that shrank by more than directory_shrink_limit deletes
#   nothing and warns (exit 1, "held");
# - fedmig-spm's schedule (directory_sync_interval) brings a new account
#   in without fedmigctl.
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/integ/lib_pilot.sh
. "$REPO/tests/integ/lib_pilot.sh"
pilot_lab dirsync_lab
pilot_scenario quick no "s1_directory = passwd-file" "s2_directory = passwd-file" \
	"quick_complete_delay = 1h" "directory_sync_interval = 0" "directory_shrink_limit = 50"
rc=0
fail() {
	echo "problem: $*"
	rc=1
}

# account SYS USER: a mailbox USER@SYS.example.org announcing USER@example.org.
account() {
	"$REPO/tests/lab/lab" adduser "$LAB" "$1" "$2" >/dev/null
	echo "$2@example.org $2@$1.example.org" >>"$LAB/$1/passwd.addresses"
}
for u in a1 a2 a3 a4; do account s1 $u; done
for u in b1 b2; do account s2 $u; done
printf 'access,system,physical,aliases\na1@example.org,s1,a1@s1.example.org,\n' >"$LAB/dir.csv"
$CTL directory import "$LAB/dir.csv" >/dev/null || fail "import"
pilot_prepare "$LAB"
# fedmig-spm (fedmig_user) rewrites the contacts files beside the passwd-files.
chown fedmig "$LAB/s1" "$LAB/s2"

# The dry run, then the real run: the same lines.
$CTL directory sync --dry-run >"$LAB/dry.out" 2>"$LAB/dry.err"
[ $? = 0 ] || fail "dry run: exit $? $(cat "$LAB/dry.out" "$LAB/dry.err")"
$CTL directory sync >"$LAB/real.out" 2>"$LAB/real.err" || fail "sync: $(cat "$LAB/real.err")"
grep -v '^# dry run' "$LAB/dry.out" | cmp -s - "$LAB/real.out" ||
	fail "dry run and real run differ: $(diff <(grep -v '^# dry run' "$LAB/dry.out") "$LAB/real.out")"
grep -q '^s1,up,add,a2@example.org,a2@s1.example.org$' "$LAB/real.out" || fail "a2 not added: $(cat "$LAB/real.out")"
grep -q '^s2,up,add,b1@example.org,' "$LAB/real.out" || fail "b1 not added"
grep -q ',up,add,a1@example.org,' "$LAB/real.out" && fail "a1 added again: $(cat "$LAB/real.out")"
[ "$($CTL directory list | grep -c '@example.org')" = 6 ] || fail "not 6 entries: $($CTL directory list)"
$CTL directory show b1@example.org | grep -q '^system: *s2' || fail "b1 not on s2"
grep -q "^b1@example.org	" "$LAB/s1/passwd.contacts" || fail "s1's contacts lack b1: $(cat "$LAB/s1/passwd.contacts")"
grep -q "^a3@example.org	" "$LAB/s2/passwd.contacts" || fail "s2's contacts lack a3"
grep -q "^a3@example.org" "$LAB/s1/passwd.contacts" && fail "s1 has its own a3 as a contact"
# A second run changes nothing.
$CTL directory sync >"$LAB/again.out" || fail "second sync"
grep -Eq ',(add|change|remove),' "$LAB/again.out" && fail "second sync changed: $(cat "$LAB/again.out")"
# An account added on S2 reaches the directory and S1's contacts.
account s2 b3
$CTL directory sync s2 >/dev/null || fail "sync s2"
$CTL directory show b3@example.org | grep -q '^system: *s2' || fail "b3 not in the directory"

# The switch of a2 to S2, then its rollback; fedmig-spm syncs both sides.
sleep 1.1
pilot_start "$LAB" || exit 1
$CTL submit a2@example.org --to s2 >/dev/null || fail "submit"
wait_for() { # SECONDS COMMAND...
	local n=$(($1 * 5))
	shift
	while [ $n -gt 0 ]; do
		"$@" && return 0
		sleep 0.2
		n=$((n - 1))
	done
	return 1
}
owner_is() { $CTL directory show a2@example.org | grep -q "^system: *$1"; }
in_contacts() { grep -q "^a2@example.org	" "$LAB/$1/passwd.contacts"; }
wait_for 30 owner_is s2 || fail "a2 not switched: $($CTL show a2@example.org)"
wait_for 15 eval '! in_contacts s2' || fail "a2 still a contact on s2 after the switch"
grep -q "a2@example.org: request=1 E5: s2's directory sync lists it" "$LAB/log/fedmig-spm.log" ||
	fail "E5 did not use the directory sync"
$CTL rollback a2@example.org >/dev/null || fail "rollback"
wait_for 30 owner_is s1 || fail "a2 not rolled back: $($CTL show a2@example.org)"
wait_for 15 in_contacts s2 || fail "a2 not a contact on s2 again: $(cat "$LAB/s2/passwd.contacts")"
$CTL directory show a2@example.org | grep -q '^contacts: *s2 yes' ||
	fail "show: $($CTL directory show a2@example.org)"

# A passwd-file that lost most of its users deletes nothing.
cp "$LAB/s1/passwd" "$LAB/passwd.s1"
grep -v '^a[234]@' "$LAB/passwd.s1" >"$LAB/s1/passwd"
$CTL directory sync s1 >"$LAB/shrink.out" 2>"$LAB/shrink.err"
st=$?
[ $st = 1 ] || fail "shrunken listing: exit $st, not 1"
grep -q '^s1,up,held,,' "$LAB/shrink.out" || fail "no held line: $(cat "$LAB/shrink.out")"
grep -q 'warning: directory sync s1 up: held' "$LAB/shrink.err" || fail "no warning: $(cat "$LAB/shrink.err")"
grep -q ',remove,' "$LAB/shrink.out" && fail "removed: $(cat "$LAB/shrink.out")"
$CTL directory show a3@example.org >/dev/null || fail "a3 deleted"
cat "$LAB/passwd.s1" >"$LAB/s1/passwd"

# The schedule: fedmig-spm syncs on its own.
pilot_kill "$LAB"
sed -i 's/^directory_sync_interval = 0$/directory_sync_interval = 1s/' "$FEDMIG_CONF"
account s2 b4
pilot_start "$LAB" || exit 1
wait_for 20 eval "$CTL directory show b4@example.org >/dev/null 2>&1" ||
	fail "the scheduled sync did not bring b4 in"
# A group batch: every address of example.org not on S2 yet, one batch.
out=$($CTL submit --group domain:example.org --to s2 --at +1h 2>&1) || fail "group: $out"
echo "$out" | grep -q '^batch 1: 4 requests (domain:example.org) from s1 to s2' || fail "group: $out"
[ "$($CTL list --batch 1 | grep -c '@example.org')" = 4 ] || fail "batch 1: $($CTL list --batch 1)"
$CTL submit --group domain:nosuch.example --to s2 >/dev/null 2>&1 && fail "empty group accepted"
pilot_result dirsync_lab $rc 30 "$LAB/log/fedmig-spm.log"
