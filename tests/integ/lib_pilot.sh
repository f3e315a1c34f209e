# shellcheck shell=bash
# Sourced by the fedmig-spm lab tests (not a test itself): start the pilot
# and the data mover on a lab started with "tests/lab/lab start DIR
# --fedmig ...", stop them by PID. The lab stops only its own daemons, so
# a test that sources this calls pilot_stop_all in its cleanup before
# "lab stop".
#
#   pilot_prepare DIR          S2's passwd files writable by fedmig_user
#   pilot_start DIR [ENV=V...] fedmig-spm -f, PID in DIR/run/fedmig-spm.pid
#   pilot_kill DIR [SIGNAL]    signal (default TERM) it and wait for it
#   smd_start DIR              fedmig-smd -f, PID in DIR/run/fedmig-smd.pid
#   pilot_stop_all DIR         both, by PID, if running
#   pilot_lab NAME [PROG...]   the common start of a test: skip without
#                              root, a program or Postfix/Dovecot; start
#                              the lab in a new $LAB (stopped and removed
#                              at exit, kept with KEEP=1); set $CTL and
#                              lab.env's variables; PYTHONPATH finds
#                              tests/e2e and tests/lab (e2e, fedlab);
#                              PILOT_LAB_ARGS: more "lab start" options
#   pilot_scenario NAME yes|no [LINE...]
#                              append to $FEDMIG_CONF: NAME the only and
#                              default scenario, copying data or not;
#                              fedmig-spm polling every 200 ms, releasing
#                              every 500 ms (a full sweep every 30 s); when
#                              it copies, fedmig-smd polling every 300 ms
#                              and retrying after 1 s; then the LINEs
#   pilot_directory [-a] USER...
#                              each USER a mailbox on S1 and a line of
#                              $LAB/dir.csv (USER@example.org on s1 as
#                              USER@s1.example.org; -a: with the alias
#                              USER.alias@example.org), imported; returns
#                              1 when the import fails
#   pilot_hold_empty           Postfix's hold queue is empty, or say how
#                              many are held and return 1
#   pilot_result NAME RC LINES LOG...
#                              "PASS NAME", or "FAIL NAME" and the last
#                              LINES of each LOG; exit RC
#
# The sourcing script sets REPO (the repository); B is the build directory
# (FEDMIG_BUILD, as for the lab, or REPO/build), exported as FEDMIG_BUILD.
B=$(readlink -f "${FEDMIG_BUILD:-$REPO/build}")
export FEDMIG_BUILD=$B

# pilot_prepare: fedmig-spm runs as fedmig_user and its dovecot driver
# writes the systems' passwd-file, the announced-addresses file and sieve
# scripts; Dovecot (group dovecot) still reads them.
pilot_prepare() {
	local dir=$1 s
	for s in s1 s2; do
		touch "$dir/$s/passwd.addresses"
		chown fedmig:dovecot "$dir/$s/passwd" "$dir/$s/passwd.addresses"
		chmod 0640 "$dir/$s/passwd" "$dir/$s/passwd.addresses"
		[ -d "$dir/$s/sieve" ] && chown fedmig "$dir/$s/sieve"
	done
	return 0
}

# _pilot_bg NAME BIN DIR [ENV=V...]: start BIN -c DIR/fedmig.conf -f in its
# own session, output appended to DIR/log/NAME.log.
_pilot_bg() {
	local name=$1 bin=$2 dir=$3
	shift 3
	[ -x "$bin" ] || { echo "no $bin" >&2; return 1; }
	env "$@" setsid "$bin" -c "$dir/fedmig.conf" -f </dev/null >>"$dir/log/$name.log" 2>&1 &
	echo $! >"$dir/run/$name.pid"
}

pilot_start() {
	local dir=$1
	shift
	_pilot_bg fedmig-spm "$FEDMIG_BUILD/spm/fedmig-spm" "$dir" "$@"
}

smd_start() {
	_pilot_bg fedmig-smd "$FEDMIG_BUILD/smd/fedmig-smd" "$1"
}

# _pilot_signal NAME DIR SIGNAL: signal the process of DIR/run/NAME.pid if it
# is still the one we started (its command line names DIR/fedmig.conf), and
# wait up to 20 s for it to go.
_pilot_signal() {
	local name=$1 dir=$2 sig=$3 pid i
	pid=$(cat "$dir/run/$name.pid" 2>/dev/null) || return 0
	[ -n "$pid" ] || return 0
	tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF "$dir/fedmig.conf" || return 0
	kill "-$sig" "$pid" 2>/dev/null
	for i in $(seq 200); do
		[ -d "/proc/$pid" ] && [ "$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -c1)" != Z ] || break
		sleep 0.1
	done
	rm -f "$dir/run/$name.pid"
}

pilot_kill() {
	_pilot_signal fedmig-spm "$1" "${2:-TERM}"
}

pilot_stop_all() {
	_pilot_signal fedmig-spm "$1" TERM
	_pilot_signal fedmig-smd "$1" TERM
	return 0
}

# pilot_lab NAME [PROG...]: see the top.
pilot_lab() {
	local name=$1 x
	shift
	[ "$(id -u)" = 0 ] || { echo "SKIP $name: needs root (the lab)"; exit 77; }
	for x in spm/fedmig-spm spm/fedmigctl milter/fedmig-milter policyd/fedmig-policyd "$@"; do
		[ -x "$B/$x" ] || { echo "SKIP $name: no $B/$x"; exit 77; }
	done
	command -v postfix >/dev/null && command -v dovecot >/dev/null ||
		{ echo "SKIP $name: no postfix/dovecot"; exit 77; }
	LAB=$(mktemp -d "/tmp/$name.XXXXXX")
	chmod 0755 "$LAB"
	trap _pilot_lab_cleanup EXIT
	# shellcheck disable=SC2086  # PILOT_LAB_ARGS: more lab start options (--ldap)
	"$REPO/tests/lab/lab" start "$LAB" --fedmig recommended ${PILOT_LAB_ARGS:-} >/dev/null ||
		{ echo "FAIL $name: lab did not start"; exit 1; }
	# shellcheck disable=SC1091
	. "$LAB/lab.env"
	CTL="$B/spm/fedmigctl -c $FEDMIG_CONF"
	export PYTHONPATH="$REPO/tests/e2e:$REPO/tests/lab${PYTHONPATH:+:$PYTHONPATH}"
}

_pilot_lab_cleanup() {
	pilot_stop_all "$LAB"
	"$REPO/tests/lab/lab" stop "$LAB" >/dev/null 2>&1
	[ -n "${KEEP:-}" ] || rm -rf "$LAB"
}

pilot_scenario() {
	local name=$1 data=$2
	shift 2
	{
		echo "scenarios = $name"
		echo "default_scenario = $name"
		echo "${name}_copy_data = $data"
		echo "spm_poll_interval = 200ms"
		echo "release_sweep = 500ms"
		echo "release_sweep_period = 30s"
		if [ "$data" = yes ]; then
			echo "smd_poll_interval = 300ms"
			echo "smd_retry_delay = 1s"
		fi
		[ $# = 0 ] || printf '%s\n' "$@"
	} >>"$FEDMIG_CONF"
}

pilot_directory() {
	local alias=0 u
	[ "$1" = -a ] && { alias=1; shift; }
	printf 'access,system,physical,aliases\n' >"$LAB/dir.csv"
	for u in "$@"; do
		"$REPO/tests/lab/lab" adduser "$LAB" s1 "$u" >/dev/null
		if [ $alias = 1 ]; then
			printf '%s@example.org,s1,%s@s1.example.org,%s.alias@example.org\n' "$u" "$u" "$u"
		else
			printf '%s@example.org,s1,%s@s1.example.org,\n' "$u" "$u"
		fi >>"$LAB/dir.csv"
	done
	$CTL directory import "$LAB/dir.csv" >/dev/null
}

pilot_hold_empty() {
	local held
	held=$(postqueue -c "$POSTFIX_CONFIG" -j | grep -c '"queue_name": *"hold"' || true)
	[ "$held" = 0 ] || { echo "hold queue not empty: $held"; return 1; }
}

pilot_result() {
	local name=$1 rc=$2 lines=$3
	shift 3
	if [ "$rc" = 0 ]; then
		echo "PASS $name"
	else
		echo "FAIL $name"
		tail -n "$lines" "$@"
	fi
	exit "$rc"
}
