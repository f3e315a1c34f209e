# .ci/packages's checks and steps (sourced; T, pids, say, die from it).
# The daemons run with the package's paths: fedmig.conf in /etc/fedmig,
# the database in /var/lib/fedmig, the sockets in /run/fedmig; Postfix's
# commands are faked and the dovecot driver's files are in $T.

mode_is() { # PATH MODE OWNER GROUP
	local got
	got=$(stat -c '%a %U %G' "$1" 2>/dev/null) || die "$1 is missing"
	[ "$got" = "$2 $3 $4" ] || die "$1 is $got, not $2 $3 $4"
}

UNITS="fedmig-milter.service fedmig-policyd.service fedmig-spm.service fedmig-spm-once.service
fedmig-spm-once.timer fedmig-smd.service fedmig-apid.service fedmig-agent.service"

check_installed() {
	local u
	getent passwd fedmig | grep -q ':/usr/sbin/nologin$' || die "no fedmig system user (nologin)"
	id -nG fedmig | grep -qw postfix || die "the fedmig user is not in group postfix"
	mode_is /var/lib/fedmig 750 fedmig fedmig
	mode_is /run/fedmig 750 fedmig postfix
	mode_is /var/lib/fedmig-agent 750 fedmig fedmig
	mode_is /var/lib/fedmig-agent/spool 750 fedmig fedmig
	mode_is /etc/fedmig/fedmig.conf 644 root root
	for u in $UNITS; do [ -f "/lib/systemd/system/$u" ] || die "unit $u is not installed"; done
	/usr/sbin/fedmig-policyd -n || die "fedmig-policyd -n refuses /etc/fedmig/fedmig.conf"
}

unit_exec() { # UNIT: its ExecStart line
	sed -n 's/^ExecStart=//p' "/lib/systemd/system/$1"
}

start_unit() { # UNIT [ENV=V...]: its ExecStart line in the background, -f: stderr
	local u=$1 cmd
	shift
	cmd=$(unit_exec "$u")
	# shellcheck disable=SC2086 # the unit's words, as systemd splits them
	env "$@" $cmd -f >"$T/$u.log" 2>&1 &
	pids="$pids $!"
}

wait_for() { # WHAT TEST...: up to 10 s
	local what=$1 i u
	shift
	for i in $(seq 100); do "$@" 2>/dev/null && return 0; sleep 0.1; done
	for u in $UNITS; do [ -s "$T/$u.log" ] && { echo "--- $u"; tail -n 20 "$T/$u.log"; }; done
	die "$what"
}

stop_daemons() {
	local p
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	pids=""
}

# sockmap ADDRESS: the socketmap's answer, asked as Postfix (user postfix)
sockmap() { # /usr/bin/python3: Debian's, which user postfix can run
	setpriv --reuid=postfix --regid=postfix --init-groups /usr/bin/python3 -c '
import socket, sys
q = ("virtual " + sys.argv[1]).encode()
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect("/run/fedmig/socketmap.sock")
s.sendall(b"%d:%s," % (len(q), q))
d = b""
while not d.endswith(b","):
    c = s.recv(4096)
    if not c:
        break
    d += c
print(d.partition(b":")[2][:-1].decode())
' "$1"
}

test_ca() { # a CA and apid's certificate for 127.0.0.1, in $T
	(cd "$T" && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
		-subj /CN=fedmig-packages-ca &&
		openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj /CN=localhost &&
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >ext &&
		openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem \
			-days 2 -extfile ext) >"$T/openssl.log" 2>&1 || die "test CA: $(cat "$T/openssl.log")"
	chmod 0600 "$T/srv.key"
}

write_conf() {
	local c
	mkdir "$T/pf" "$T/dv"
	for c in postqueue postsuper postkick; do printf '#!/bin/sh\nexit 0\n' >"$T/pf/$c"; done
	chmod 0755 "$T/pf"/*
	echo 'alice@s1.example.org:{PLAIN}x::::::' >"$T/dv/s1passwd"
	: >"$T/dv/s2passwd"
	chown -R fedmig:fedmig "$T/dv"
	test_ca
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	{
		echo "# .ci/packages: a private federation in the package's paths"
		echo "federated_domains = example.org"
		echo "postfix_command_directory = $T/pf"
		echo "systems = s1 s2"
		echo "s1_domain = s1.example.org"
		echo "s1_driver = dovecot"
		echo "s1_passwd_file = $T/dv/s1passwd"
		echo "s2_domain = s2.example.org"
		echo "s2_driver = dovecot"
		echo "s2_passwd_file = $T/dv/s2passwd"
		echo "scenarios = nocopy"
		echo "default_scenario = nocopy"
		echo "nocopy_copy_data = no"
		echo "release_sweep_period = 1s"
		echo "switch_grace = 10ms"
		echo "retry_backoff = 100ms"
		echo "apid_listen = 127.0.0.1:$port"
		echo "apid_tls_cert = $T/srv.pem"
		echo "apid_tls_key = $T/srv.key"
		echo "agent_server_url = https://127.0.0.1:$port"
		echo "agent_ca_file = $T/ca.pem"
	} >/etc/fedmig/fedmig.conf
	cp /etc/fedmig/fedmig.conf "$T/fedmig.conf"
	fedmigctl check >/dev/null || die "fedmigctl check"
	mode_is /var/lib/fedmig/fedmig.db 640 fedmig fedmig
	printf 'access,system,physical,aliases\nalice@example.org,s1,alice@s1.example.org,\n' >"$T/dir.csv"
	fedmigctl directory import "$T/dir.csv" >/dev/null || die "fedmigctl directory import"
}

notify_listen() { # PATH: wait (10 s) for one sd_notify datagram there; into $T/notify.out
	python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)
s.settimeout(10)
try:
    print(s.recv(4096).decode())
except socket.timeout:
    print("timeout")
' "$1" >"$T/notify.out" &
	notify_pid=$!
	wait_for "notify socket" test -S "$1"
}

run_daemons() {
	local code p
	notify_listen "$T/notify"
	start_unit fedmig-policyd.service NOTIFY_SOCKET="$T/notify"
	wait "$notify_pid"
	[ "$(cat "$T/notify.out")" = READY=1 ] || die "fedmig-policyd's sd_notify: $(cat "$T/notify.out")"
	wait_for "fedmig-policyd: no socketmap socket" test -S /run/fedmig/socketmap.sock
	mode_is /run/fedmig/socketmap.sock 660 fedmig postfix
	start_unit fedmig-milter.service
	wait_for "fedmig-milter: no socket" test -S /run/fedmig/milter.sock
	start_unit fedmig-smd.service
	start_unit fedmig-apid.service
	wait_for "fedmig-apid: not listening on $port" \
		python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)"
	code=$(fedmigctl agent add packages-test) || die "fedmigctl agent add"
	fedmig-agent --enrol "$code" >"$T/enrol.log" 2>&1 || die "fedmig-agent --enrol: $(cat "$T/enrol.log")"
	mode_is /var/lib/fedmig-agent/token 600 fedmig fedmig
	sleep 1
	for p in $pids; do
		kill -0 "$p" 2>/dev/null || die "a daemon died: $(tail -n 5 "$T"/*.service.log)"
	done
	say "running from their units' ExecStart: policyd (READY=1), milter, smd, apid; agent enrolled"
}

short_migration() {
	local a
	a=$(sockmap alice@example.org)
	[ "$a" = "OK alice@s1.example.org" ] || die "socketmap before the migration: '$a'"
	printf 'alice@example.org,s2,,nocopy\n' >"$T/b.csv"
	fedmigctl import "$T/b.csv" >/dev/null || die "fedmigctl import"
	# shellcheck disable=SC2046 # the unit's words
	$(unit_exec fedmig-spm-once.service) -f >"$T/spm-once.log" 2>&1 ||
		die "fedmig-spm --once: $(tail -n 20 "$T/spm-once.log")"
	fedmigctl --json show alice@example.org | grep -q '"state":10' ||
		die "alice is not complete after fedmig-spm --once: $(fedmigctl show alice@example.org)"
	a=$(sockmap alice@example.org)
	[ "$a" = "OK alice@s2.example.org" ] || die "socketmap after the migration: '$a'"
	say "short migration: alice@example.org moved s1 -> s2, the socketmap follows"
}

after_upgrade() {
	local a
	mode_is /var/lib/fedmig-agent/token 600 fedmig fedmig
	start_unit fedmig-policyd.service
	wait_for "fedmig-policyd after the upgrade" test -S /run/fedmig/socketmap.sock
	a=$(sockmap alice@example.org)
	[ "$a" = "OK alice@s2.example.org" ] || die "socketmap after the upgrade: '$a'"
	stop_daemons
}

check_purged() {
	local p left
	for p in fedmig fedmig-agent; do
		case "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" in
		"" | *not-installed*) ;;
		*) die "$p is still known to dpkg after the purge" ;;
		esac
	done
	for p in /var/lib/fedmig /var/lib/fedmig-agent /run/fedmig /etc/fedmig \
		/usr/lib/tmpfiles.d/fedmig.conf /usr/sbin/fedmigctl; do
		[ ! -e "$p" ] || die "$p is left after the purge"
	done
	left=$(find /lib/systemd/system /etc/systemd/system /var/lib/systemd/deb-systemd-helper-enabled \
		/var/lib/systemd/deb-systemd-helper-masked -name '*fedmig*' 2>/dev/null || true)
	[ -z "$left" ] || die "left after the purge: $left"
}
