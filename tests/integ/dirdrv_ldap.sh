#!/usr/bin/env bash
# The ldap directory driver against real slapd servers of the test's own
# (127.0.0.1, a private tree, stopped by PID): 1,000 accounts listed by
# paged search and by syncrepl (full, then only the changes after adds,
# a modify and deletes, with the cookie), contacts put, updated, listed
# and deleted, DIR_EXISTS for a hand-made contact, and DRV_TEMP (never a
# short listing) for a stopped server and a listing cut by a size limit.
# Driven through tests/dirdrv_cli (exit status = the driver's code).
set -u
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/../lab/lib.sh"
NAME=dirdrv_ldap
CLI=$B/tests/dirdrv_cli
[ -x "$CLI" ] || { echo "FAIL $NAME: $CLI not built"; exit 1; }
[ -x /usr/sbin/slapd ] && command -v slapadd >/dev/null ||
	{ echo "FAIL $NAME: slapd and slapadd needed (apt-get install slapd ldap-utils)"; exit 1; }
T=$(mktemp -d /tmp/dirdrv_ldap.XXXXXX) || exit 1
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null; done
	sleep 0.3
	[ "${KEEP:-0}" = 1 ] || rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL $NAME: $*"; KEEP=1; exit 1; }

# slapd_start DIR SUFFIX PORT SYNCPROV SIZELIMIT: a private slapd (cn=config
# from slapadd -n0, mdb in DIR/db, rootdn cn=admin,SUFFIX password in
# DIR/pw), LDIF DIR/data.ldif loaded offline first when it exists.
slapd_start() {
	local d=$1 suffix=$2 port=$3 sp=$4 limit=$5 mods="olcModuleLoad: back_mdb" tls="" urls
	urls="ldap://127.0.0.1:$port/"
	if [ -f "$d/cert.pem" ]; then
		tls="olcTLSCertificateFile: $d/cert.pem
olcTLSCertificateKeyFile: $d/key.pem"
		urls="$urls ldaps://127.0.0.1:$6/"
	fi
	mkdir -p "$d/slapd.d" "$d/db"
	head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$d/pw"
	chmod 600 "$d/pw"
	[ "$sp" = 1 ] && mods="$mods
olcModuleLoad: syncprov"
	cat >"$d/config.ldif" <<LDIF
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $d/slapd.pid
$tls

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
$mods

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file:///etc/ldap/schema/cosine.ldif
include: file:///etc/ldap/schema/inetorgperson.ldif
include: file:///etc/ldap/schema/nis.ldif

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: $limit

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: $suffix
olcRootDN: cn=admin,$suffix
olcRootPW: $(cat "$d/pw")
olcDbDirectory: $d/db
olcDbMaxSize: 2147483648
olcDbIndex: objectClass,entryUUID,entryCSN,mail eq
olcSizeLimit: $limit
LDIF
	[ "$sp" = 1 ] && cat >>"$d/config.ldif" <<LDIF

dn: olcOverlay={0}syncprov,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcSyncProvConfig
olcOverlay: {0}syncprov
olcSpSessionlog: 10000
LDIF
	slapadd -q -n0 -F "$d/slapd.d" -l "$d/config.ldif" >"$d/slapadd.log" 2>&1 ||
		fail "slapadd -n0: $(tail -3 "$d/slapadd.log")"
	if [ -f "$d/data.ldif" ]; then
		slapadd -q -n1 -F "$d/slapd.d" -l "$d/data.ldif" >>"$d/slapadd.log" 2>&1 ||
			fail "slapadd -n1: $(tail -3 "$d/slapadd.log")"
	fi
	/usr/sbin/slapd -h "$urls" -F "$d/slapd.d" >"$d/slapd.log" 2>&1 ||
		fail "slapd did not start: $(tail -3 "$d/slapd.log")"
	PIDS+=("$d/slapd.pid")
	for _ in $(seq 50); do
		ldapsearch -x -H "ldap://127.0.0.1:$port/" -b "" -s base >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "slapd on port $port does not answer"
}

# data_ldif SUFFIX N: the base, ou=people with N accounts, ou=fedmig.
data_ldif() {
	python3 - "$1" "$2" <<'PY'
import sys
suffix, n = sys.argv[1], int(sys.argv[2])
dc = suffix.split(",")[0].split("=")[1]
out = [f"dn: {suffix}\nobjectClass: dcObject\nobjectClass: organization\ndc: {dc}\no: {dc}\n",
       f"dn: ou=people,{suffix}\nobjectClass: organizationalUnit\nou: people\n",
       f"dn: ou=fedmig,{suffix}\nobjectClass: organizationalUnit\nou: fedmig\n"]
for i in range(n):
    out.append(f"dn: uid=u{i},ou=people,{suffix}\nobjectClass: inetOrgPerson\nuid: u{i}\n"
               f"cn: User {i}\nsn: {i}\ndisplayName: User Number {i}\nmail: u{i}@example.org\n"
               f"mail: u{i}.alias@example.org\n")
print("\n".join(out))
PY
}

read -r P1 P2 P3 <<<"$("$LAB" ports 3)" || fail "no free ports"
S1=dc=s1,dc=example,dc=org
S2=dc=s2,dc=example,dc=org
mkdir -p "$T/s1" "$T/s2"
# s1 speaks TLS (StartTLS and ldaps on P3) with a certificate of a test CA.
(
	cd "$T/s1" || exit 1
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
		-subj "/CN=dirdrv test CA" &&
	openssl req -newkey rsa:2048 -nodes -keyout key.pem -out cert.csr -subj "/CN=127.0.0.1" &&
	printf 'subjectAltName=IP:127.0.0.1\n' >ext &&
	openssl x509 -req -in cert.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
		-extfile ext -out cert.pem
) >"$T/openssl.log" 2>&1 || fail "test certificates: $(tail -3 "$T/openssl.log")"
data_ldif "$S1" 1000 >"$T/s1/data.ldif"
data_ldif "$S2" 1000 >"$T/s2/data.ldif"
slapd_start "$T/s1" "$S1" "$P1" 0 unlimited "$P3"  # no syncprov: paged search
slapd_start "$T/s2" "$S2" "$P2" 1 500         # syncprov, 500 for anonymous
printf 'ldap_password = %s\n' "$(cat "$T/s1/pw")" >"$T/s1/cred"
printf 'ldap_password = %s\n' "$(cat "$T/s2/pw")" >"$T/s2/cred"
chmod 600 "$T/s1/cred" "$T/s2/cred"
cat >"$T/fedmig.conf" <<CONF
federated_domains = example.org
systems = s1 s2 s2anon s1tls s1s
s1tls_domain = s1.example.org
s1tls_driver = none
s1tls_directory = ldap
s1tls_ldap_uri = ldap://127.0.0.1:$P1/
s1tls_ldap_starttls = yes
s1tls_ldap_base = $S1
s1s_domain = s1.example.org
s1s_driver = none
s1s_directory = ldap
s1s_ldap_uri = ldaps://127.0.0.1:$P3/
s1s_ldap_tls_ca_file = $T/s1/ca.pem
s1s_ldap_base = $S1
s1_domain = s1.example.org
s1_driver = none
s1_directory = ldap
s1_ldap_uri = ldap://127.0.0.1:$P1/
s1_ldap_starttls = yes
s1_ldap_tls_ca_file = $T/s1/ca.pem
s1_ldap_bind_dn = cn=admin,$S1
s1_credentials = $T/s1/cred
s1_ldap_base = $S1
s1_ldap_contact_base = ou=fedmig,$S1
s1_ldap_timeout = 5s
s2_domain = s2.example.org
s2_driver = none
s2_directory = ldap
s2_ldap_uri = ldap://127.0.0.1:$P2/
s2_ldap_bind_dn = cn=admin,$S2
s2_credentials = $T/s2/cred
s2_ldap_base = $S2
s2_ldap_contact_base = ou=fedmig,$S2
s2_ldap_timeout = 5s
s2anon_domain = s2.example.org
s2anon_driver = none
s2anon_directory = ldap
s2anon_ldap_uri = ldap://127.0.0.1:$P2/
s2anon_ldap_base = $S2
s2anon_ldap_sync = full
s2anon_ldap_timeout = 5s
CONF
cli() { "$CLI" "$T/fedmig.conf" "$@"; }
lmod() { # lmod SYS: ldapmodify as that server's rootdn, LDIF on stdin
	local d=$T/$1 port suffix
	if [ "$1" = s1 ]; then port=$P1 suffix=$S1; else port=$P2 suffix=$S2; fi
	ldapmodify -x -H "ldap://127.0.0.1:$port/" -D "cn=admin,$suffix" -y "$d/pw" >/dev/null
}

# --- full listing by paged search (s1 has no syncprov) ---
out=$(cli s1 list) || fail "s1 list: exit $?"
[ "$(grep -c '^acc ' <<<"$out")" = 1000 ] || fail "s1: $(grep -c '^acc ' <<<"$out") accounts, not 1000"
grep -q '^incremental 0$' <<<"$out" || fail "s1: a paged listing is not full"
grep -q '^cookie' <<<"$out" && fail "s1: a cookie without syncprov"
grep -qP "^acc [0-9a-f-]{36}\tu5@example.org\t\tu5.alias@example.org\tUser Number 5\tou=people,$S1$" <<<"$out" ||
	fail "s1: u5 not mapped: $(grep -P '\tu5@' <<<"$out")"
echo "s1 paged listing over StartTLS: 1000 accounts"
[ "$(cli s1s list | grep -c '^acc ')" = 1000 ] || fail "s1 over ldaps: not 1000 accounts"
cli s1tls list >/dev/null 2>"$T/err" && fail "StartTLS with a certificate nobody vouches for"
echo "ldaps listing: 1000 accounts; an unverified certificate refused: $(cat "$T/err")"

# --- syncrepl: full, then only the changes (s2 has syncprov) ---
out=$(cli s2 list) || fail "s2 list: exit $?"
[ "$(grep -c '^acc ' <<<"$out")" = 1000 ] || fail "s2 syncrepl: not 1000 accounts"
grep -q '^incremental 0$' <<<"$out" || fail "s2: the first syncrepl listing is not full"
cookie=$(sed -n 's/^cookie //p' <<<"$out")
[ -n "$cookie" ] || fail "s2: no cookie"
uuid2=$(grep -P "\tu2@example.org\t" <<<"$out" | cut -f1 | cut -c5-)
uuid3=$(grep -P "\tu3@example.org\t" <<<"$out" | cut -f1 | cut -c5-)
lmod s2 <<LDIF || fail "ldapmodify on s2"
dn: uid=new1,ou=people,$S2
changetype: add
objectClass: inetOrgPerson
uid: new1
cn: New One
sn: One
mail: new1@example.org

dn: uid=u1,ou=people,$S2
changetype: modify
replace: displayName
displayName: Renamed One

dn: uid=u2,ou=people,$S2
changetype: delete

dn: uid=u3,ou=people,$S2
changetype: delete
LDIF
out=$(cli s2 list "$cookie") || fail "s2 incremental list: exit $?"
grep -q '^incremental 1$' <<<"$out" || fail "s2: the listing after the cookie is not incremental: $(head -3 <<<"$out")"
[ "$(grep -c '^acc ' <<<"$out")" = 2 ] || fail "s2 incremental: $(grep -c '^acc ' <<<"$out") changed accounts, not 2"
grep -qP "\tnew1@example.org\t\t\tNew One\t" <<<"$out" || fail "s2: the added account is missing"
grep -qP "\tu1@example.org\t.*\tRenamed One\t" <<<"$out" || fail "s2: the modified account is missing"
for u in "$uuid2" "$uuid3"; do grep -qx "gone $u" <<<"$out" || fail "s2: deletion of $u not listed: $out"; done
cookie2=$(sed -n 's/^cookie //p' <<<"$out")
[ -n "$cookie2" ] && [ "$cookie2" != "$cookie" ] || fail "s2: no new cookie"
out=$(cli s2 list "$cookie2") || fail "s2 list with the new cookie"
[ "$(grep -c '^acc \|^gone ' <<<"$out")" = 0 ] || fail "s2: changes after nothing changed: $out"
out=$(cli s2 list "rid=000,csn=20000101000000.000000Z#000000#000#000000") || fail "s2 old cookie: exit $?"
[ "$(grep -c '^acc ' <<<"$out")" = 999 ] || fail "s2: an unusable cookie did not give a full listing ($(grep -c '^acc ' <<<"$out"))"
echo "s2 syncrepl: full 1000, then 2 changed and 2 gone with the cookie"

# --- contacts ---
cli s1 put x@example.org "X Person" || fail "put: exit $?"
cli s1 put x@example.org "X Renamed" || fail "put again: exit $?"
cli s1 put y@example.org "" || fail "put without a name: exit $?"
out=$(cli s1 contacts) || fail "contacts: exit $?"
grep -qP "^contact x@example.org\tX Renamed\tmail=x@example.org,ou=fedmig,$S1$" <<<"$out" || fail "contacts: $out"
grep -qP "^contact y@example.org\t\t" <<<"$out" || fail "contacts: the nameless contact: $out"
[ "$(cli s1 list | grep -c '^acc ')" = 1000 ] || fail "s1: contacts listed as accounts"
cli s1 del y@example.org || fail "del: exit $?"
cli s1 del y@example.org || fail "del of a gone contact: exit $?"
[ "$(cli s1 contacts | grep -c '^contact ')" = 1 ] || fail "del did not delete"
cli s1 put u7.alias@example.org "Not Me" 2>"$T/err"
rc=$?
[ $rc = 3 ] || fail "put of an account's address: exit $rc, not 3 (DIR_EXISTS)"
lmod s1 <<LDIF || fail "ldapmodify on s1"
dn: cn=Hand Made,ou=people,$S1
changetype: add
objectClass: inetOrgPerson
cn: Hand Made
sn: Made
mail: hand@example.org
LDIF
cli s1 put hand@example.org "Hand" 2>"$T/err"
rc=$?
[ $rc = 3 ] || fail "put over a hand-made contact: exit $rc, not 3"
grep -q "cn=Hand Made" "$T/err" || fail "DIR_EXISTS does not name the entry: $(cat "$T/err")"
cli s1 put 'a*)(mail=*@example.org' "X" 2>/dev/null && fail "a hostile address was put"
echo "contacts: put, update, list, delete; DIR_EXISTS for an account and a hand-made contact"

# --- never a short listing ---
cli s2anon list >/dev/null 2>"$T/err"
rc=$?
[ $rc = 1 ] || fail "a listing cut by the size limit: exit $rc, not 1 (DRV_TEMP)"
grep -qi "size limit" "$T/err" || fail "size limit not said: $(cat "$T/err")"
kill "$(cat "$T/s1/slapd.pid")"
for _ in $(seq 50); do [ -f "$T/s1/slapd.pid" ] || break; sleep 0.1; done
cli s1 list >/dev/null 2>"$T/err"
rc=$?
[ $rc = 1 ] || fail "a stopped server: exit $rc, not 1 (DRV_TEMP)"
echo "DRV_TEMP for a size-limited listing and a stopped server: $(cat "$T/err")"
echo "PASS $NAME"
