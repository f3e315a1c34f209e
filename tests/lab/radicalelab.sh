# shellcheck shell=bash
# tests/lab/lab's Radicale servers (lab radicale, lab start --pim): a
# CardDAV/CalDAV server beside each Dovecot, its files in DIR/dav/NAME,
# stopped by PID with the lab. Sourced by tests/lab/lab; its functions use
# the lab's helpers (die, read_pidfile, pid_is_ours, pid_alive).

RADICALE=${LAB_RADICALE:-/usr/bin/radicale}

# The users file: the master pair and every user of the lab's passwd-files
# with the lab's user password (plain: a throwaway lab).
radicale_users() {
	local dir=$1 f
	printf '%s:%s\n' "$MASTER_USER" "$MASTER_PASS"
	for f in "$dir/s1/passwd" "$dir/s2/passwd"; do
		[ -r "$f" ] || continue
		awk -F: -v p="$USER_PASS" 'NF > 1 { print $1 ":" p }' "$f"
	done
}

# DIR/dav/NAME: config, users, rights (the master user reads and writes
# everything, a user its own principal and collections), store. Requests
# are logged at info (LAB_RADICALE_LOG_LEVEL) so tests can count PUTs.
write_radicale() {
	local dir=$1 name=$2 port=$3 d=$1/dav/$2
	mkdir -p "$d/store"
	(umask 077 && radicale_users "$dir" >"$d/users")
	# The rule's user is a regular expression: the lab's is [a-z] only.
	[[ $MASTER_USER =~ ^[a-z]+$ ]] || die "master user '$MASTER_USER' is not [a-z]+"
	cat >"$d/rights" <<EOF
[master]
user: $MASTER_USER
collection: .*
permissions: RWrw
[root]
user: .+
collection:
permissions: R
[principal]
user: .+
collection: {user}
permissions: RW
[collections]
user: .+
collection: {user}/[^/]+
permissions: rw
EOF
	cat >"$d/config" <<EOF
# fedmig lab DAV server $name, written by tests/lab/lab.
[server]
hosts = 127.0.0.1:$port
max_connections = 32
[auth]
type = htpasswd
htpasswd_filename = $d/users
htpasswd_encryption = plain
delay = 0
[rights]
type = from_file
file = $d/rights
[storage]
filesystem_folder = $d/store
[web]
type = none
[logging]
level = ${LAB_RADICALE_LOG_LEVEL:-info}
mask_passwords = True
EOF
}

# Wait until the server answers HTTP at all (401 without credentials).
wait_http() {
	local name=$1 port=$2 pid=$3 logf=$4 deadline
	deadline=$((SECONDS + START_TIMEOUT))
	while :; do
		if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/"; then
			return 0
		fi
		if ! pid_alive "$pid"; then
			tail -n 20 "$logf" >&2 2>/dev/null || true
			die "$name exited at start (log: $logf)"
		fi
		[ "$SECONDS" -ge "$deadline" ] && die "$name did not answer on 127.0.0.1:$port within ${START_TIMEOUT}s"
		sleep 0.1
	done
}

start_radicale() {
	local dir=$1 name=$2 port=$3 pid logf=$1/log/radicale-$2.log
	[ -x "$RADICALE" ] || die "no $RADICALE (apt-get install radicale)"
	[[ $name =~ ^[a-z0-9][a-z0-9_-]*$ ]] || die "bad Radicale name: '$name'"
	[[ $port =~ ^[1-9][0-9]{1,4}$ ]] || die "bad port: '$port'"
	if pid=$(read_pidfile "$dir/run/radicale-$name.pid") && pid_is_ours "$pid" "$dir/dav/$name/config"; then
		die "radicale $name already runs (pid $pid)"
	fi
	write_radicale "$dir" "$name" "$port"
	mkdir -p "$dir/log" "$dir/run"
	setsid "$RADICALE" --config "$dir/dav/$name/config" </dev/null >>"$logf" 2>&1 9>&- &
	pid=$!
	echo "$pid" >"$dir/run/radicale-$name.pid"
	wait_http "radicale $name" "$port" "$pid" "$logf"
}

# lab radicale DIR NAME PORT: the credentials come from the started lab.
cmd_radicale() {
	local dir
	dir=$(abs_dir "${1:-}")
	[ -r "$dir/lab.env" ] || die "no started lab in $dir"
	MASTER_USER=$(sed -n 's/^MASTER_USER=//p' "$dir/lab.env")
	MASTER_PASS=$(sed -n 's/^MASTER_PASS=//p' "$dir/lab.env")
	USER_PASS=$(sed -n 's/^USER_PASS=//p' "$dir/lab.env")
	START_TIMEOUT=${LAB_START_TIMEOUT:-20}
	start_radicale "$dir" "$2" "$3"
	echo "radicale $2 up on http://127.0.0.1:$3/ (log $dir/log/radicale-$2.log)"
}

# A new lab user logs in to every Radicale of the lab at once (Radicale
# reads its htpasswd file at each login).
radicale_adduser() {
	local dir=$1 user=$2 pass=$3 f
	for f in "$dir"/dav/*/users; do
		[ -e "$f" ] || continue
		awk -F: -v u="$user" '$1 == u { f = 1 } END { exit !f }' "$f" || printf '%s:%s\n' "$user" "$pass" >>"$f"
	done
	return 0
}

# "radicale-NAME pid" for each Radicale of the lab (lab radicale, --pim).
radicale_top_pids() {
	local dir=$1 f name pid
	for f in "$dir"/run/radicale-*.pid; do
		[ -e "$f" ] || continue
		name=${f##*/radicale-}
		name=${name%.pid}
		if pid=$(read_pidfile "$f") && pid_is_ours "$pid" "$dir/dav/$name/config"; then
			echo "radicale-$name $pid"
		fi
	done
}

# --pim: each system's CardDAV and CalDAV server is its Radicale, reached
# as the master user of the systems' credentials file.
write_fedmig_pim() {
	cat >>"$1/fedmig.conf" <<EOF
s1_carddav = http://127.0.0.1:$RAD_S1_PORT/
s1_caldav = http://127.0.0.1:$RAD_S1_PORT/
s2_carddav = http://127.0.0.1:$RAD_S2_PORT/
s2_caldav = http://127.0.0.1:$RAD_S2_PORT/
EOF
}
