# shellcheck shell=bash
# Sourced by integration tests (tests/integ/; not a test itself): the
# set-ups they share, so that each script reads as what it does and
# checks. Sets ROOT (the repository), LAB (the lab command), B (the build
# directory: FEDMIG_BUILD, as for the lab, or ROOT/build), SMD and CTL
# (fedmigctl).
#
# A lab of the test's own in a private tree (smd_*.sh, milter_postfix.sh,
# policyd_postfix.sh):
#
#   postfix_lab NAME MODE   a daemon behind the lab's real Postfix: skip
#                           without root, the daemons, fedmigctl or
#                           Postfix/Dovecot; start the lab (--fedmig MODE)
#                           in $DIR below a private $TMP, kept for its logs
#                           and stopped at exit, and set lab.env's
#                           variables. The script defines fail() first.
#   smd_lab NAME [ON-EXIT]  skip without root, fail without fedmig-smd;
#                           a private $TMP (kept when a check failed,
#                           removed otherwise) with the lab in $DIR, its
#                           lab.env's variables set; ON-EXIT (a function)
#                           runs at exit before the lab stops; defines
#                           fail MESSAGE... ("FAIL NAME: ...", exit 1)
#   smd_conf FILE [LINE...] the lab's fedmig.conf with its own state
#                           database ($TMP/smd.db) and these lines added
#   smd_corpus USERS ARG... tests/smd/corpus.py fills S1 for USERS (as
#                           the master user), output on stdout
#   smd_check PAIR [ARG...] tests/smd/check.py compares SRC=DST (as the
#                           master user), output on stdout
#
# fedmig-spm against a fake Postfix (spm_crash.sh, spm_drain_retries.sh,
# spm_helper_death.sh, spm_privfiles.sh):
#
#   fakepf_tmp NAME [ON-EXIT]
#                           a private $T ("/tmp/NAME.XXXXXX", writable by
#                           all), removed at exit (kept with KEEP=1) after
#                           ON-EXIT (a function) ran; fail=0 and bad
#                           MESSAGE... ("FAIL: ...", fail=1) for the checks
#   fakepf_tree DIR         DIR/run, and DIR/pf with a postqueue,
#                           postsuper and postkick that succeed (a test
#                           replaces one to make it fail)
#   fakepf_conf DIR         on stdout, the lines every such configuration
#                           starts with: state and run directory in DIR,
#                           fedmig_user nobody, example.org federated,
#                           Postfix's commands from DIR/pf, no milter
#   fakepf_systems DIR      on stdout, a quick pilot (sweep 1 s, grace
#                           10 ms: no socketmap cache, back-off 100 ms) and two dovecot
#                           systems, s1 and s2, whose passwd-files
#                           DIR/s1passwd and DIR/s2passwd it creates empty
#   fakepf_scenarios NAME...
#                           on stdout, these scenarios, none copying data,
#                           the first the default
#   fakepf_directory DIR ALIAS USER...
#                           each USER@example.org on s1 as
#                           USER@s1.example.org (and USER.ALIAS@example.org
#                           unless ALIAS is empty), in S1's passwd-file
#                           (password x); imported into DIR/fedmig.conf's
#                           directory, 1 when that fails
#   fakepf_open DIR         DIR, its database and passwd-files writable by
#                           all: fedmig-spm drops to fedmig_user (nobody)
#   fakepf_partial DIR QID  spm_drain_partial's fake queue (deferred, then
#                           held for bob alone, then gone) and alice's
#                           request; DIR/on_hold_scan runs at each hold scan
#   fakepf_spm_until DIR WANT CMD...
#                           fedmig-spm --once (output to DIR/spm.log) up
#                           to 20 times, 0.3 s apart, until CMD prints
#                           WANT; a run that fails is "bad" and ends it
#
# fedmigctl on a private database, no daemon (ctl_addresses.sh,
# ctl_report.sh, directory_import.sh):
#
#   ctl_tmp NAME [LINE...]  a private $T (removed at exit) holding
#                           fedmig.conf: the database $T/fedmig.db,
#                           example.org federated, then the LINEs; defines
#                           fail MESSAGE... ("FAIL NAME: ...", exit 1) and
#                           ctl ARG... (fedmigctl -c $T/fedmig.conf ARG...)

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LAB=$ROOT/tests/lab/lab
B=$(readlink -m "${FEDMIG_BUILD:-$ROOT/build}")
SMD=$B/smd/fedmig-smd
CTL=$B/spm/fedmigctl

# sanitized BIN: BIN was built with ASan (make check SANITIZE=1), whose
# quarantine keeps freed memory resident: a test prints memory figures
# then rather than judging them.
sanitized() {
	ldd "$1" | grep -q libasan
}

# lab_fail NAME LINES MESSAGE FILE...: a postfix_lab test failed: says
# so, where its files are kept ($TMP) and the last LINES lines of each
# FILE; exits 1.
lab_fail() {
	local name=$1 lines=$2 msg=$3 f
	shift 3
	echo "FAIL $name: $msg"
	echo "$name: files kept in $TMP"
	for f in "$@"; do
		echo "--- $f"
		tail -n "$lines" "$f" 2>/dev/null
	done
	# Again last: a runner shows only a failed log's tail.
	echo "FAIL $name: $msg"
	exit 1
}

# postfix_lab NAME MODE LINES LOG...: the lab started with --fedmig MODE;
# fail MESSAGE (lab_fail) shows the last LINES lines of each LOG (below
# the lab's directory) and Postfix's maillog.
postfix_lab() {
	local name=$1 mode=$2 b
	LAB_FAIL_NAME=$1 LAB_FAIL_LINES=$3
	shift 3
	LAB_FAIL_LOGS=("$@" postfix/maillog)
	fail() { lab_fail "$LAB_FAIL_NAME" "$LAB_FAIL_LINES" "$*" "${LAB_FAIL_LOGS[@]/#/$DIR/}"; }
	export FEDMIG_BUILD=$B
	[ "$(id -u)" = 0 ] || { echo "SKIP $name: the lab needs root"; exit 77; }
	for b in "$B/policyd/fedmig-policyd" "$B/milter/fedmig-milter" "$CTL"; do
		[ -x "$b" ] || { echo "SKIP $name: $b not built"; exit 77; }
	done
	command -v postfix >/dev/null && command -v dovecot >/dev/null ||
		{ echo "SKIP $name: postfix and dovecot needed"; exit 77; }
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/fedmig-${name//_/-}.XXXXXX") || exit 1
	chmod 0755 "$TMP"
	DIR=$TMP/lab
	# finish: the lab stopped (the scripts call it before their PASS).
	finish() { "$LAB" stop "$DIR" >>"$TMP/stop.log" 2>&1 || true; }
	trap finish EXIT
	trap 'exit 1' INT TERM HUP
	"$LAB" start "$DIR" --fedmig "$mode" >"$TMP/start.log" 2>&1 ||
		fail "lab start: $(tail -n 3 "$TMP/start.log" | tr '\n' ' ')"
	# shellcheck source=/dev/null
	. "$DIR/lab.env"
}

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
	fail() {
		KEEP_TMP=1
		echo "FAIL $SMD_TEST: $*"
		echo "files kept in $TMP"
		exit 1
	}
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

# shellcheck disable=SC2034 # fail: the test's verdict, read by the test
# none_systems: the lines for two systems, s1 and s2, with the driver none.
none_systems() {
	cat <<CONF
systems = s1 s2
s1_domain = s1.example.org
s1_driver = none
s2_domain = s2.example.org
s2_driver = none
CONF
}

fakepf_tmp() {
	FAKEPF_ON_EXIT=${2:-:}
	T=$(mktemp -d "/tmp/$1.XXXXXX") || exit 1
	trap '"$FAKEPF_ON_EXIT"; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
	chmod 0777 "$T"
	fail=0
	bad() { echo "FAIL: $*"; fail=1; }
}

fakepf_tree() {
	local d=$1 c
	mkdir -p "$d/pf" "$d/run" || return 1
	for c in postqueue postsuper postkick; do
		printf '#!/bin/sh\nexit 0\n' >"$d/pf/$c" && chmod +x "$d/pf/$c" || return 1
	done
}

fakepf_conf() {
	cat <<CONF
state_database = $1/fedmig.db
run_directory = $1/run
fedmig_user = nobody
federated_domains = example.org
postfix_command_directory = $1/pf
milter_status_socket = unix:$1/none.sock
CONF
}

fakepf_systems() {
	: >"$1/s1passwd"
	: >"$1/s2passwd"
	fakepf_systems_conf "$1"
}

# fakepf_systems's lines alone: the passwd files are left as they are.
fakepf_systems_conf() {
	cat <<CONF
release_sweep_period = 1s
switch_grace = 10ms
socketmap_cache_time = 0
retry_backoff = 100ms
systems = s1 s2
s1_domain = s1.example.org
s1_driver = dovecot
s1_passwd_file = $1/s1passwd
s2_domain = s2.example.org
s2_driver = dovecot
s2_passwd_file = $1/s2passwd
CONF
}

fakepf_scenarios() {
	local s
	echo "scenarios = $*"
	echo "default_scenario = $1"
	for s in "$@"; do echo "${s}_copy_data = no"; done
}

fakepf_directory() {
	local d=$1 alias=$2 u
	shift 2
	printf 'access,system,physical,aliases\n' >"$d/dir.csv"
	for u in "$@"; do
		printf '%s@example.org,s1,%s@s1.example.org,%s\n' "$u" "$u" \
			"${alias:+$u.$alias@example.org}" >>"$d/dir.csv"
		echo "$u@s1.example.org:{PLAIN}x::::::" >>"$d/s1passwd"
	done
	"$CTL" -c "$d/fedmig.conf" directory import "$d/dir.csv" >/dev/null
}

fakepf_open() {
	chmod 0666 "$1"/fedmig.db* "$1"/s1passwd "$1"/s2passwd
	chmod 0777 "$1"
}

# fakepf_partial DIR QID: spm_drain_partial's world, shared with
# spm_sweep_store_err. A queue that is a state file, DIR/queue: QID is
# deferred for alice@s1 (switching) and bob@s2, then held for bob alone
# after postsuper -h, then gone after postsuper -r (DIR/postsuper.log has
# each call); alice's request is imported. An executable DIR/on_hold_scan
# runs at each postqueue while the message is in hold, before it is
# listed. Sets state(): alice's request state, '"state":N'.
fakepf_partial() {
	local d=$1 qid=$2
	fakepf_tree "$d" || return 1
	echo deferred >"$d/queue"
	cat >"$d/pf/postqueue" <<EOF
#!/bin/sh
case \$(cat "$d/queue") in
deferred) echo '{"queue_name": "deferred", "queue_id": "$qid", "arrival_time": 1, "message_size": 2000, "sender": "s@example.net", "recipients": [{"address": "alice@s1.example.org", "delay_reason": "connect refused"}, {"address": "bob@s2.example.org", "delay_reason": "connect refused"}]}' ;;
hold)
	if [ -x "$d/on_hold_scan" ]; then "$d/on_hold_scan" || exit 1; fi
	echo '{"queue_name": "hold", "queue_id": "$qid", "arrival_time": 1, "message_size": 2000, "sender": "s@example.net", "recipients": [{"address": "bob@s2.example.org", "delay_reason": "connect refused"}]}' ;;
esac
exit 0
EOF
	cat >"$d/pf/postsuper" <<EOF
#!/bin/sh
ids=\$(cat)
echo "postsuper \$* \$ids" >>"$d/postsuper.log"
case "\$*" in
*-h*) [ "\$ids" = "$qid" ] && echo hold >"$d/queue" ;;
*-r*) [ "\$ids" = "$qid" ] && echo gone >"$d/queue" ;;
esac
exit 0
EOF
	chmod 755 "$d/pf/postqueue" "$d/pf/postsuper"
	{
		fakepf_conf "$d"
		fakepf_systems "$d"
		fakepf_scenarios nocopy
	} >"$d/fedmig.conf"
	fakepf_directory "$d" "" alice || { echo "import failed"; return 1; }
	printf 'alice@example.org,s2,,nocopy\n' >"$d/b.csv"
	"$CTL" -c "$d/fedmig.conf" import "$d/b.csv" >/dev/null || { echo "request import failed"; return 1; }
	fakepf_open "$d"
	chmod 666 "$d/queue"
	FAKEPF_PARTIAL_CONF=$d/fedmig.conf
	state() { "$CTL" -c "$FAKEPF_PARTIAL_CONF" --json show alice@example.org | grep -o '"state":[0-9]*'; }
}

fakepf_spm_until() {
	local d=$1 want=$2 _
	shift 2
	for _ in $(seq 20); do
		timeout 60 "$B/spm/fedmig-spm" -c "$d/fedmig.conf" -f --once >>"$d/spm.log" 2>&1 ||
			{ bad "fedmig-spm --once failed"; tail -n 5 "$d/spm.log"; return; }
		[ "$("$@")" = "$want" ] && return
		sleep 0.3
	done
}

ctl_tmp() {
	CTL_TEST=$1
	shift
	T=$(mktemp -d) || exit 1
	trap 'rm -rf "$T"' EXIT
	fail() { echo "FAIL $CTL_TEST: $*"; exit 1; }
	ctl() { "$CTL" -c "$T/fedmig.conf" "$@"; }
	{
		echo "state_database = $T/fedmig.db"
		echo "federated_domains = example.org"
		printf '%s\n' "$@"
	} >"$T/fedmig.conf"
}
