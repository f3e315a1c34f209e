# shellcheck shell=bash
# Sourced by the agent tests (agent_*.sh) and bench/agent: a lab whose S1
# only agents can read.
#
#   agent_lab NAME [USER...]   pilot_lab NAME (also needing fedmig-smd,
#                              fedmig-apid, fedmig-agent); a copying
#                              scenario; S1 read by agents (s1_access =
#                              agent; the federation's s1_imap is a port
#                              nothing listens on); fedmig-apid on a free
#                              port ($APID_PORT) with the lab's certificate
#                              (the lab's CA made at start, $TLS_CA); an
#                              untrusted CA in $LAB/rogue; each USER on S1
#                              and in the directory; nothing started.
#                              Every daemon, agent and proxy is stopped at
#                              exit, before the lab.
#   agent_apid_start [LINE...] fedmig-apid -f (LINEs replace the apid_*
#                              keys they name first); waits for its port
#   agent_apid_stop [SIGNAL]   signal it (TERM) and wait for it to go
#   agent_conf NAME [LINE...]  $LAB/agent-NAME/agent.conf: the API at
#                              $APID_PORT (or $PROXY_PORT once a proxy
#                              runs), the lab CA, its token and spool
#                              files there, S1 read over IMAP as the
#                              master user; a LINE replaces the default
#                              of its key; the directory belongs to its
#                              fedmig_user (fedmig unless a LINE says)
#   agent_enrol NAME [ARG...]  fedmigctl agent add NAME, then
#                              fedmig-agent --enrol CODE ARG...; the code
#                              in $LAB/agent-NAME/code; 1 on failure
#   agent_start NAME [ARG...]  fedmig-agent -f -v in its own process group
#                              ($LAB/run/agent-NAME.pid), log
#                              $LAB/log/agent-NAME.log
#   agent_signal NAME SIGNAL   the signal to its whole process group (the
#                              guardian and its migrators)
#   agent_stop NAME            TERM, then KILL after 10 s, the group
#   alab CMD ARG...            tests/lab/agentlab.py LAB CMD ARG...
#   agent_proxy_start          tests/lab/dropproxy.py on $PROXY_PORT in
#                              front of apid; control file $PROXY_CTL,
#                              log $LAB/log/dropproxy.log
#   agent_proxy CMD            a command to it (drop, drop-up N, ...)
#
# The sourcing script sets REPO (the repository); this file sources
# tests/integ/lib_pilot.sh, whose functions it builds on.

# shellcheck source=tests/integ/lib_pilot.sh
. "$REPO/tests/integ/lib_pilot.sh"
AGENT_BIN=$B/agent/fedmig-agent
APID_BIN=$B/spm/fedmig-apid
AGENT_NAMES=()
PROXY_PID=

agent_lab() {
	local name=$1 closed
	shift
	pilot_lab "$name" smd/fedmig-smd spm/fedmig-apid agent/fedmig-agent
	trap _agent_lab_cleanup EXIT
	read -r APID_PORT PROXY_PORT closed < <("$REPO/tests/lab/lab" ports 3)
	PROXY_CTL=$LAB/run/dropproxy.ctl
	"$REPO/tests/lab/lab" tls "$LAB/rogue" >/dev/null 2>&1 || { echo "FAIL $name: lab tls"; exit 1; }
	# The federation cannot read S1 itself: only an agent beside it can.
	sed -i "s|^s1_imap = .*|s1_imap = imap://127.0.0.1:$closed|" "$FEDMIG_CONF"
	pilot_scenario copy yes "s1_access = agent" "apid_spool_directory = $LAB/apid-spool"
	[ $# = 0 ] || pilot_directory "$@" || { echo "FAIL $name: directory import"; exit 1; }
	pilot_prepare "$LAB"
	sleep 1.1 # Dovecot notices a passwd-file change by its mtime (seconds)
}

_agent_lab_cleanup() {
	local a
	for a in "${AGENT_NAMES[@]}"; do agent_stop "$a"; done
	[ -z "$PROXY_PID" ] || kill "$PROXY_PID" 2>/dev/null
	_pilot_signal fedmig-apid "$LAB" TERM
	_pilot_lab_cleanup
}

# _first_wins: stdin's lines of configuration, each key's first line only
# (a test's LINE before the lab's default).
_first_wins() {
	awk 'NF && !seen[$1]++'
}

# _agent_apid_keys [LINE...]: apid's keys for the lab, the LINEs first.
_agent_apid_keys() {
	{
		printf '%s\n' "$@"
		cat <<CONF
apid_listen = 127.0.0.1:$APID_PORT
apid_tls_cert = $LAB/tls/server.pem
apid_tls_key = $LAB/tls/server.key
apid_poll_timeout = 5s
apid_lease = 5s
CONF
	} | _first_wins
}

agent_apid_start() {
	grep -v '^apid_\(listen\|tls_\|poll_timeout\|lease\|min_agent\|max_agent\|buffer_high\|batch_\|max_message\|enrol_\|cancel_\)' \
		"$FEDMIG_CONF" >"$LAB/fedmig.conf.new"
	_agent_apid_keys "$@" >>"$LAB/fedmig.conf.new"
	chmod 0644 "$LAB/fedmig.conf.new"
	mv "$LAB/fedmig.conf.new" "$FEDMIG_CONF"
	_pilot_bg fedmig-apid "$APID_BIN" "$LAB" || return 1
	for _ in $(seq 100); do
		# A whole handshake: a bare connect would make apid log an error.
		openssl s_client -connect "127.0.0.1:$APID_PORT" -CAfile "$TLS_CA" -verify_return_error \
			</dev/null >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "fedmig-apid does not listen on $APID_PORT" >&2
	return 1
}

agent_apid_stop() {
	_pilot_signal fedmig-apid "$LAB" "${1:-TERM}"
}

agent_conf() {
	local name=$1 d=$LAB/agent-$1 port=$APID_PORT user
	shift
	[ -z "$PROXY_PID" ] || port=$PROXY_PORT
	# The agent runs as fedmig_user: it owns the token, reads the source.
	user=$(printf '%s\n' "$@" | sed -n 's/^fedmig_user = //p')
	mkdir -p "$d/spool" && chmod 0700 "$d" "$d/spool"
	install -m 0600 "$LAB/secrets" "$d/secrets"
	chown -R "${user:-fedmig}" "$d"
	echo "# fedmig-agent $name beside S1, written by tests/lab/agent_lib.sh" >"$d/agent.conf"
	{
		[ $# = 0 ] || printf '%s\n' "$@"
		cat <<CONF
agent_server_url = https://127.0.0.1:$port
agent_ca_file = $TLS_CA
tls_ca_file = $TLS_CA
agent_token_file = $d/token
agent_spool_directory = $d/spool
agent_heartbeat = 1s
systems = s1
s1_domain = $S1_DOMAIN
s1_imap = imap://127.0.0.1:$S1_IMAP_PORT
s1_credentials = $d/secrets
CONF
	} | _first_wins >>"$d/agent.conf"
}

agent_enrol() {
	local name=$1 d=$LAB/agent-$1
	shift
	$CTL agent add "$name" >"$d/code" 2>>"$LAB/log/agent-$name.log" || return 1
	"$AGENT_BIN" -c "$d/agent.conf" -f --enrol "$(cat "$d/code")" "$@" \
		>>"$LAB/log/agent-$name.log" 2>&1 </dev/null
}

agent_start() {
	local name=$1
	shift
	setsid "$AGENT_BIN" -c "$LAB/agent-$name/agent.conf" -f -v "$@" </dev/null \
		>>"$LAB/log/agent-$name.log" 2>&1 &
	echo $! >"$LAB/run/agent-$name.pid"
	AGENT_NAMES+=("$name")
}

# _agent_pgid NAME: the process group of the agent we started, if it lives.
_agent_pgid() {
	local pid
	pid=$(cat "$LAB/run/agent-$1.pid" 2>/dev/null) || return 1
	[ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
	tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF "$LAB/agent-$1/agent.conf" || return 1
	echo "$pid"
}

agent_signal() {
	local pgid
	pgid=$(_agent_pgid "$1") || return 0
	kill "-$2" -- "-$pgid" 2>/dev/null
	return 0
}

agent_stop() {
	local pgid
	pgid=$(_agent_pgid "$1") || return 0
	kill -CONT -- "-$pgid" 2>/dev/null
	kill -TERM -- "-$pgid" 2>/dev/null
	for _ in $(seq 100); do
		pgrep -g "$pgid" >/dev/null || break
		sleep 0.1
	done
	kill -KILL -- "-$pgid" 2>/dev/null
	wait "$pgid" 2>/dev/null
	rm -f "$LAB/run/agent-$1.pid"
	return 0
}

agent_proxy_start() {
	python3 "$REPO/tests/lab/dropproxy.py" --listen "$PROXY_PORT" --to "$APID_PORT" \
		--control "$PROXY_CTL" --log "$LAB/log/dropproxy.log" &
	PROXY_PID=$!
}

# alab ARG...: tests/lab/agentlab.py's commands on this lab.
alab() {
	python3 "$REPO/tests/lab/agentlab.py" "$LAB" "$@"
}

# agent_proxy CMD: a command to the dropping proxy (see dropproxy.py).
agent_proxy() {
	python3 "$REPO/tests/lab/dropproxy.py" --send "$PROXY_CTL" "$*"
}
