# shellcheck shell=bash
# Sourced by the fedmig-smd lab tests (tests/integ/smd_*.sh; not a test
# itself): the start every one of them shares, so that each script reads
# as what it copies and checks. The script sets ROOT (the repository) and
# FEDMIG_BUILD may name the build directory, as for the lab.
#
#   smd_lab NAME [ON-EXIT]  skip without root, fail without fedmig-smd;
#                           a private $TMP (kept when a check failed,
#                           removed otherwise) with the lab in $DIR, its
#                           lab.env's variables set; ON-EXIT (a function)
#                           runs at exit before the lab stops. Sets LAB
#                           (the lab command), B (the build), SMD, and
#                           fail MESSAGE... ("FAIL NAME: ...", exit 1)
#   smd_conf FILE [LINE...] the lab's fedmig.conf with its own state
#                           database ($TMP/smd.db) and these lines added
#   smd_corpus USERS ARG... tests/smd/corpus.py fills S1 for USERS (as
#                           the master user), output on stdout
#   smd_check PAIR [ARG...] tests/smd/check.py compares SRC=DST (as the
#                           master user), output on stdout

LAB=$ROOT/tests/lab/lab
B=$(readlink -m "${FEDMIG_BUILD:-$ROOT/build}")
SMD=$B/smd/fedmig-smd

smd_lab() {
	SMD_TEST=$1
	SMD_ON_EXIT=${2:-:}
	[ "$(id -u)" = 0 ] || { echo "SKIP $SMD_TEST: needs root (the lab)"; exit 77; }
	[ -x "$SMD" ] || { echo "FAIL $SMD_TEST: $SMD not built"; exit 1; }
	TMP=$(mktemp -d "/tmp/fedmig-${SMD_TEST//_/-}.XXXXXX")
	chmod 0755 "$TMP"
	DIR=$TMP/lab
	KEEP_TMP=
	trap _smd_lab_finish EXIT
	"$LAB" start "$DIR" >"$TMP/start.log" 2>&1 || fail "lab start"
	# shellcheck source=/dev/null
	. "$DIR/lab.env"
	# fedmig-smd drops to fedmig's user and writes its database here.
	chown root:fedmig "$TMP" && chmod 0775 "$TMP"
}

# The tree is kept when a check failed (fail says where), removed otherwise.
_smd_lab_finish() {
	"$SMD_ON_EXIT"
	"$LAB" stop "$DIR" >>"$TMP/stop.log" 2>&1 || true
	[ -n "$KEEP_TMP" ] || rm -rf "$TMP"
}

fail() {
	KEEP_TMP=1
	echo "FAIL $SMD_TEST: $*"
	echo "files kept in $TMP"
	exit 1
}

smd_conf() {
	local file=$1
	shift
	{
		grep -v '^state_database' "$DIR/fedmig.conf"
		echo "state_database = $TMP/smd.db"
		[ $# = 0 ] || printf '%s\n' "$@"
	} >"$file"
}

smd_corpus() {
	local users=$1
	shift
	python3 "$ROOT/tests/smd/corpus.py" --port "$S1_IMAP_PORT" --login-fmt "{user}*$MASTER_USER" \
		--password "$MASTER_PASS" --users "$users" "$@"
}

smd_check() {
	local pair=$1
	shift
	python3 "$ROOT/tests/smd/check.py" --src-port "$S1_IMAP_PORT" --dst-port "$S2_IMAP_PORT" \
		--login-fmt "{user}*$MASTER_USER" --password "$MASTER_PASS" --pair "$pair" "$@"
}
