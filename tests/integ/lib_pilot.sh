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
#                              lab.env's variables
#
# FEDMIG_BUILD names the build directory (as for the lab).

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

# pilot_lab NAME [PROG...]: see the top. REPO and B must be set.
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
	"$REPO/tests/lab/lab" start "$LAB" --fedmig recommended >/dev/null ||
		{ echo "FAIL $name: lab did not start"; exit 1; }
	# shellcheck disable=SC1091
	. "$LAB/lab.env"
	CTL="$B/spm/fedmigctl -c $FEDMIG_CONF"
}

_pilot_lab_cleanup() {
	pilot_stop_all "$LAB"
	"$REPO/tests/lab/lab" stop "$LAB" >/dev/null 2>&1
	[ -n "${KEEP:-}" ] || rm -rf "$LAB"
}
