# shellcheck shell=bash
# Sourced by the directory sync tests (tests/integ/dir_*.sh; not a test
# itself), after lib_pilot.sh: a lab whose systems S1 and S2 each have
# their own slapd (S1 with syncprov, so its listings are incremental; S2
# without, so its listings are full paged searches), and the checks the
# tests share. See tests/lab/README.md "LDAP".
#
#   dir_lab NAME [LINE...]     pilot_lab NAME with "lab start --ldap", the
#                              LINEs appended to fedmig.conf, S2's files
#                              writable by fedmig (pilot_prepare); fail=0
#   bad MESSAGE...             one failed check: "not ok: MESSAGE", fail=1
#   dsync [ARG...]             fedmigctl directory sync ARG... as fedmig_user
#                              (as fedmig-spm runs it: the LDAP credentials
#                              are its own 0600 files); its output in
#                              $LAB/dsync.N.out and .err, exit code in
#                              DSYNC_RC, the output's path in DSYNC_OUT
#   dir_rows FILE              the CSV lines of a sync's output
#                              (system,direction,action,address,detail), sorted,
#                              without the per-system summary lines
#   dir_field ADDRESS N        field N of ADDRESS's line in "directory list"
#                              (2 system, 3 physical, 5 aliases); "" if none
#   dir_count SYSTEM           directory entries owned by SYSTEM
#   contacts SYS               the mail of every entry under SYS's contact
#                              base (ou=fedmig), sorted, one a line
#   contact_name SYS ADDRESS   that contact's displayName (cn if none)
#   ldap_account SYS LP [NAME [ALIAS...]]
#                              an account in SYS's slapd only (no mailbox)
#   ldap_del SYS DN_PREFIX...  delete "DN_PREFIX,SYS's base" entries
#   ldap_mod SYS               LDIF (changetype lines included) on stdin
#   wait_until SECONDS CMD...  poll CMD every 0.5 s; 1 when it never held

export LDAPNOINIT=1

dir_lab() {
	local name=$1
	shift
	PILOT_LAB_ARGS=--ldap pilot_lab "$name"
	[ $# = 0 ] || printf '%s\n' "$@" >>"$FEDMIG_CONF"
	pilot_prepare "$LAB"
	fail=0
	DSYNC_N=0
}

# shellcheck disable=SC2034  # fail: read by the sourcing test
bad() {
	echo "not ok: $*"
	fail=1
}

dsync() {
	DSYNC_N=$((DSYNC_N + 1))
	DSYNC_OUT=$LAB/dsync.$DSYNC_N.out
	DSYNC_RC=0
	# shellcheck disable=SC2086  # CTL is "fedmigctl -c CONF"
	setpriv --reuid=fedmig --regid=fedmig --init-groups $CTL directory sync "$@" \
		>"$DSYNC_OUT" 2>"$LAB/dsync.$DSYNC_N.err" || DSYNC_RC=$?
	echo "# dsync $* -> exit $DSYNC_RC" >>"$LAB/dsync.log"
	cat "$DSYNC_OUT" "$LAB/dsync.$DSYNC_N.err" >>"$LAB/dsync.log"
	return 0
}

dir_rows() {
	grep -E '^[a-z0-9_]+,(up|down),[a-z]+,' "$1" | grep -Ev '^[^,]+,[^,]+,summary,' | sort || true
}

dir_field() {
	# shellcheck disable=SC2086
	$CTL directory list 2>/dev/null | awk -v a="$1" -v n="$2" '$1 == a { print $n; exit }'
}

dir_count() {
	# shellcheck disable=SC2086
	$CTL directory list 2>/dev/null | awk -v s="$1" 'NR > 1 && $2 == s' | wc -l
}

# _ldap_var SYS WHAT: the lab.env value LDAP_SYS_WHAT ("" for the URI).
_ldap_var() {
	local v
	v=LDAP_$(tr '[:lower:]' '[:upper:]' <<<"$1")${2:+_$2}
	printf '%s\n' "${!v}"
}

contacts() {
	ldapsearch -x -LLL -o ldif-wrap=no -H "$(_ldap_var "$1")" -D "$(_ldap_var "$1" ADMIN_DN)" \
		-y "$(_ldap_var "$1" ADMIN_PWFILE)" -b "$(_ldap_var "$1" CONTACTS)" -s one \
		'(objectClass=*)' mail 2>/dev/null | awk '/^mail: / { print tolower($2) }' | sort
}

contact_name() {
	ldapsearch -x -LLL -o ldif-wrap=no -H "$(_ldap_var "$1")" -D "$(_ldap_var "$1" ADMIN_DN)" \
		-y "$(_ldap_var "$1" ADMIN_PWFILE)" -b "$(_ldap_var "$1" CONTACTS)" -s one \
		"(mail=$2)" displayName cn 2>/dev/null |
		awk -F': ' '/^displayName: / { d = $2 } /^cn: / && c == "" { c = $2 }
			END { print (d != "" ? d : c) }'
}

ldap_account() {
	"$REPO/tests/lab/lab" ldapuser "$LAB" "$@" >/dev/null
}

ldap_del() {
	local sys=$1 base p
	shift
	base=$(_ldap_var "$sys" BASE)
	for p in "$@"; do printf '%s,%s\n' "$p" "$base"; done |
		"$REPO/tests/lab/lab" ldif "$LAB" "$sys" delete >/dev/null
}

ldap_mod() {
	"$REPO/tests/lab/lab" ldif "$LAB" "$1" modify >/dev/null
}

wait_until() {
	local secs=$1 deadline
	shift
	deadline=$((SECONDS + secs))
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.5
	done
}
