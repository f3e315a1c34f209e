#!/usr/bin/env bash
# Directory sync guards with two real slapd (issue 16): a stopped LDAP
# server, a killed one, a listing cut short by the server's size limit or
# by a connection cut mid-search (tests/lab/dropproxy.py between fedmig
# and S2's slapd) and a listing that shrank by half (full on S2, incremental on S1) delete
# nothing, in the directory or in the other system's contacts, and warn
# (exit 2 for a failed listing, 1 and a "held" line for a shrink);
# --force then applies the shrink.
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/integ/lib_pilot.sh
. "$REPO/tests/integ/lib_pilot.sh"
# shellcheck source=tests/integ/lib_dir.sh
. "$REPO/tests/integ/lib_dir.sh"
dir_lab dir_guards
L=$REPO/tests/lab/lab
N=10

for i in $(seq -f %02g 1 $N); do
	ldap_account s1 "a$i"
	ldap_account s2 "b$i"
done
dsync
[ "$DSYNC_RC" = 0 ] || bad "first sync exit $DSYNC_RC (want 0)"

# intact WHAT: both systems' accounts and contacts are all still there.
intact() {
	local n1 n2 c1 c2
	n1=$(dir_count s1) n2=$(dir_count s2) c1=$(contacts s1 | wc -l) c2=$(contacts s2 | wc -l)
	[ "$n1/$n2/$c1/$c2" = "$N/$N/$N/$N" ] ||
		bad "$1: directory s1=$n1 s2=$n2, contacts on S1=$c1 on S2=$c2 (want $N each)"
}
# failed WHAT SYS: the run exited 2 and its warning names SYS.
failed() {
	[ "$DSYNC_RC" = 2 ] || bad "$1: exit $DSYNC_RC (want 2: a listing failed)"
	grep -qw "$2" "$DSYNC_OUT" "${DSYNC_OUT%.out}.err" || bad "$1: no warning naming $2"
}
intact "first sync"

# ---- 1. S1's server stopped, then killed: nothing deleted anywhere.
# (S1's own contacts are read once it is back, before any sync.)
"$L" ldap-stop "$LAB" s1 >/dev/null
dsync
failed "S1 stopped" s1
"$L" ldap "$LAB" s1 >/dev/null
intact "S1 stopped"
"$L" ldap-stop "$LAB" s1 --kill >/dev/null
dsync
failed "S1 killed" s1
"$L" ldap "$LAB" s1 >/dev/null
intact "S1 killed"
dsync
[ "$DSYNC_RC" = 0 ] || bad "S1 back: exit $DSYNC_RC (want 0)"
intact "S1 back"

# ---- 2. S2's listing cut short by a size limit of half the accounts
# (fedmig binds as cn=fedmig, whom limits bind, unlike the rootdn).
size_limit() {
	printf 'dn: %s\nchangetype: modify\nreplace: olcSizeLimit\nolcSizeLimit: %s\n\n' \
		'olcDatabase={-1}frontend,cn=config' "$2" 'olcDatabase={1}mdb,cn=config' "$2" |
		"$L" ldif "$LAB" "$1" modify --config >/dev/null
}
size_limit s2 $((N / 2))
dsync
failed "S2 cut short" s2
intact "S2 cut short"
size_limit s2 unlimited

# ---- 2b. S2's connection cut mid-search: fedmig reaches S2 through a
# proxy that closes it once 1,500 bytes came back (past the bind and the
# root DSE, inside the entries: each is some 200 bytes).
PP=$("$L" ports 1)
PCTL=$LAB/run/dropproxy.ctl
python3 "$REPO/tests/lab/dropproxy.py" --listen "$PP" --to "$LDAP_S2_PORT" --control "$PCTL" \
	--log "$LAB/log/dropproxy.log" &
PROXY_PID=$!
trap 'kill "$PROXY_PID" 2>/dev/null; _pilot_lab_cleanup' EXIT
proxy() { python3 "$REPO/tests/lab/dropproxy.py" --send "$PCTL" "$*"; }
# shellcheck disable=SC2317  # called through wait_until
proxy_up() { ldapsearch -x -H "ldap://127.0.0.1:$PP/" -b '' -s base 1.1 >/dev/null 2>&1; }
wait_until 10 proxy_up || bad "dropproxy did not start on $PP"
sed -i "s|^s2_ldap_uri = .*|s2_ldap_uri = ldap://127.0.0.1:$PP/|" "$FEDMIG_CONF"
proxy drop-down 1500
sleep 0.2 # the proxy reads its control file every 50 ms
dsync
failed "S2 cut mid-search" s2
grep -q 'drop: ' "$LAB/log/dropproxy.log" || bad "S2 cut mid-search: the proxy cut nothing"
intact "S2 cut mid-search"
proxy stop
wait "$PROXY_PID" 2>/dev/null
sed -i "s|^s2_ldap_uri = .*|s2_ldap_uri = $LDAP_S2|" "$FEDMIG_CONF"

# ---- 3. S2's full listing shrinks by half: held, then --force applies it.
ldap_del s2 $(seq -f 'uid=b%02g,ou=people' 1 $((N / 2)))
dsync
[ "$DSYNC_RC" = 1 ] || bad "S2 shrank: exit $DSYNC_RC (want 1)"
grep -q '^s2,up,held' "$DSYNC_OUT" || bad "S2 shrank: no 's2,up,held' line"
intact "S2 shrank"
dsync --force
[ "$(dir_count s2)" = $((N / 2)) ] || bad "S2 forced: $(dir_count s2) entries of s2 (want $((N / 2)))"
[ "$(contacts s1 | wc -l)" = $((N / 2)) ] || bad "S2 forced: $(contacts s1 | wc -l) contacts on S1 (want $((N / 2)))"
[ "$(dir_count s1)" = $N ] || bad "S2 forced: s1 lost entries ($(dir_count s1))"

# ---- 4. S1's incremental listing deletes half: held, then --force.
ldap_del s1 $(seq -f 'uid=a%02g,ou=people' 1 $((N / 2)))
dsync
[ "$DSYNC_RC" = 1 ] || bad "S1 shrank: exit $DSYNC_RC (want 1)"
grep -q '^s1,up,held' "$DSYNC_OUT" || bad "S1 shrank: no 's1,up,held' line"
[ "$(dir_count s1)" = $N ] || bad "S1 shrank: $(dir_count s1) entries of s1 left (want $N)"
[ "$(contacts s2 | wc -l)" = $N ] || bad "S1 shrank: $(contacts s2 | wc -l) contacts on S2 (want $N)"
dsync --force
[ "$(dir_count s1)" = $((N / 2)) ] || bad "S1 forced: $(dir_count s1) entries of s1 (want $((N / 2)))"
[ "$(contacts s2 | wc -l)" = $((N / 2)) ] || bad "S1 forced: $(contacts s2 | wc -l) contacts on S2 (want $((N / 2)))"
dsync
[ "$DSYNC_RC" = 0 ] || bad "after --force: exit $DSYNC_RC (want 0)"

pilot_result dir_guards "$fail" 40 "$LAB/dsync.log"
