# shellcheck shell=bash
# Sourced by the contacts-and-calendars tests (tests/integ/pim_*.sh) and
# bench/pim after tests/lab/lib.sh: a lab with a Radicale beside each
# Dovecot, fixtures on S1's, fedmig-smd's PIM sync, the checker, vdirsyncer.
#
#   pim_lab NAME            smd_lab NAME with LAB_PIM=yes (Radicale s1 and
#                           s2), alice and bob on both systems; sets PY
#                           (/usr/bin/python3: vobject), PIMLAB, CONF (the
#                           lab's fedmig.conf with $TMP/smd.db and the
#                           scenario "mig" with pim = yes; pim_conf redoes it)
#   pim_conf FILE LINE...   smd_conf FILE with the "mig" scenario and LINEs
#   pim_fixtures DIR ARG... pimlab.py gen (seed $PIM_SEED, random when
#                           unset: the seed is printed), output on stdout
#   pim_upload USER DIR     DIR's fixtures into S1's /USER@s1.example.org/,
#                           written into its store (pimlab.py --direct: a
#                           PUT costs Radicale a scan of the collection)
#   pim_check USER [ARG...] the checker, S1's /USER@s1.../ against S2's
#                           /USER@s2.../, output in $TMP/check.log
#   pim_smd OUT USER ARG... fedmig-smd -u USER@example.org --from s1 --to s2
#                           --pim-only ARG... with $CONF, output in OUT
#   pim_mark LOG            the number of lines in LOG now
#   pim_writes LOG FROM     PUT, DELETE, MKCOL, MKCALENDAR and PROPPATCH
#                           requests logged in Radicale's LOG after line FROM
#   pim_sum OUT KEY         the sum of KEY=N over OUT's "pim: KIND=NAME"
#                           per-collection lines (fedmig-smd -u's stdout)
#   pim_vdirsyncer DIR SRC-URL SRC-LOGIN DST-URL DST-LOGIN
#                           one-way vdirsyncer sync (discover, sync, then
#                           metasync when sync succeeded; the status is
#                           sync's) of every collection of the logins'
#                           own principals (vdirsyncer finds them with
#                           current-user-principal: as the master user it
#                           would sync the master's), password $USER_PASS;
#                           config and status in DIR, output in
#                           DIR/vdirsyncer.log

# RAD_S1, RAD_S2, S1_DOMAIN...: from the lab's lab.env (smd_lab).
# shellcheck disable=SC2153
PY=/usr/bin/python3
PIMLAB=$ROOT/tests/lab/pimlab.py

pim_lab() {
	LAB_PIM=yes smd_lab "$1"
	[ -n "${RAD_S1:-}" ] || fail "the lab started without its Radicale servers"
	local u s
	for u in alice bob; do
		for s in s1 s2; do "$LAB" adduser "$DIR" $s $u >/dev/null || fail "adduser $u $s"; done
	done
	export MASTER_USER MASTER_PASS
	CONF=$TMP/smd.conf
	pim_conf "$CONF"
}

pim_conf() {
	local file=$1
	shift
	smd_conf "$file" "scenarios = mig" "default_scenario = mig" "mig_pim = yes" "$@"
}

pim_fixtures() {
	local out=$1
	shift
	"$PY" "$PIMLAB" gen --out "$out" ${PIM_SEED:+--seed "$PIM_SEED"} "$@"
}

pim_upload() {
	"$PY" "$PIMLAB" upload --url "$RAD_S1" --owner "$1@$S1_DOMAIN" --fixtures "$2" \
		--store "$DIR/dav/s1/store" --threads 4 --direct
}

pim_check() {
	local user=$1
	shift
	"$PY" "$PIMLAB" check --src "$RAD_S1" --src-owner "$user@$S1_DOMAIN" --dst "$RAD_S2" \
		--dst-owner "$user@$S2_DOMAIN" "$@" >"$TMP/check.log" 2>&1
}

pim_smd() {
	local out=$1 user=$2
	shift 2
	"$SMD" -c "$CONF" -f -u "$user@example.org" --from s1 --to s2 --pim-only "$@" >"$out" 2>&1
}

pim_mark() {
	wc -l <"$1"
}

pim_writes() {
	tail -n +"$(($2 + 1))" "$1" | grep -cE '\] (PUT|DELETE|MKCOL|MKCALENDAR|PROPPATCH) request for'
}

pim_sum() {
	grep -E '^pim: [a-z]+=' "$1" | grep -v '^pim: collections=' |
		grep -oE "(^| )$2=[0-9]+" | awk -F= '{ n += $2 } END { print n + 0 }'
}

pim_vdirsyncer() {
	local d=$1 su=$2 sp=$3 du=$4 dp=$5 kind
	mkdir -p "$d/status"
	(umask 077 && printf '%s\n' "$USER_PASS" >"$d/pass")
	{
		printf '[general]\nstatus_path = "%s/status/"\n\n' "$d"
		for kind in card cal; do
			# CardDAV has no colour: asking for it fails metasync.
			local t=caldav meta='["displayname", "color"]'
			[ $kind = card ] && t=carddav meta='["displayname"]'
			cat <<EOF
[pair $kind]
a = "${kind}_src"
b = "${kind}_dst"
collections = ["from a"]
metadata = $meta
conflict_resolution = "a wins"

[storage ${kind}_src]
type = "$t"
url = "$su"
username = "$sp"
password.fetch = ["command", "cat", "$d/pass"]
read_only = true

[storage ${kind}_dst]
type = "$t"
url = "$du"
username = "$dp"
password.fetch = ["command", "cat", "$d/pass"]

EOF
		done
	} >"$d/config"
	# discover asks before it creates a collection on the target: yes.
	# The status is sync's; metasync (display names, colours) is logged.
	{ yes | vdirsyncer -c "$d/config" discover && vdirsyncer -c "$d/config" sync; } >"$d/vdirsyncer.log" 2>&1
	local rc=$?
	[ "$rc" != 0 ] || vdirsyncer -c "$d/config" metasync >>"$d/vdirsyncer.log" 2>&1
	return "$rc"
}
