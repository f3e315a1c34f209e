#!/usr/bin/env bash
# fedmig-apid refuses, and fedmig-agent gives up with a clear line, for: a
# wrong token, a revoked agent, a reused enrolment code, an agent version
# outside apid_min/max_agent_version, a server certificate from a CA the
# agent does not trust. A mailbox waits to be read all along; at the end
# nothing was taken (no row in agent_items or agent_batches), and no log
# holds a token or an enrolment code.
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/lab/agent_lib.sh
. "$REPO/tests/lab/agent_lib.sh"
agent_lab agent_refusals r1
agent_apid_start || pilot_result agent_refusals 1 10 "$LAB/log/fedmig-apid.log"
pilot_start "$LAB" || exit 1
smd_start "$LAB" || exit 1
APIDLOG=$LAB/log/fedmig-apid.log
rc=0
bad() { echo "agent_refusals: problem: $*"; rc=1; }

python3 - "$LAB" "$B" "$REPO" <<'PY' || bad "no task for r1"
import sys
sys.path.insert(0, sys.argv[3] + "/tests/lab")
import agentlab, fedlab
lab = agentlab.AgentLab(*sys.argv[1:4])
lab.corpus(["r1"], messages=10)
lab.submit(["r1"])
# The data mover creates the task once the request is switched.
sys.exit(0 if fedlab.wait_for(lambda: lab.query("SELECT count(*) FROM agent_tasks")[0][0], 60) else 1)
PY

# refused CASE NAME AGENT_PATTERN [ARG...]: fedmig-agent NAME (-f -v ARG...)
# exits within 30 s (2: refused); its log gains a line matching
# AGENT_PATTERN, apid's log a line naming the peer (127.0.0.1) since the
# case began. An untrusted server is not a refusal: the agent keeps trying
# (the certificate may be fixed), so it runs 10 s and must say why it fails.
refused() {
	local what=$1 name=$2 pat=$3 alog=$LAB/log/agent-$2.log a0 p0 st
	shift 3
	a0=$(stat -c %s "$alog" 2>/dev/null || echo 0)
	p0=$(stat -c %s "$APIDLOG")
	timeout "$([ "$what" = "untrusted CA" ] && echo 10 || echo 30)" \
		"$AGENT_BIN" -c "$LAB/agent-$name/agent.conf" -f -v "$@" </dev/null >>"$alog" 2>&1
	st=$?
	echo "agent_refusals: $what: fedmig-agent exit $st; agent: $(tail -c +$((a0 + 1)) "$alog" |
		grep -iE -m1 "$pat")"
	echo "agent_refusals: $what: apid: $(tail -c +$((p0 + 1)) "$APIDLOG" | grep -m1 -i '127\.0\.0\.1\|handshake\|TLS')"
	tail -c +$((a0 + 1)) "$alog" | grep -qiE "$pat" || bad "$what: no line /$pat/ in the agent's log"
	if [ "$what" = "untrusted CA" ]; then
		tail -c +$((p0 + 1)) "$APIDLOG" | grep -qi 'handshake\|TLS' || bad "$what: apid logged no failed handshake"
		return 0
	fi
	[ "$st" = 2 ] || bad "$what: the agent exited $st, not 2"
	tail -c +$((p0 + 1)) "$APIDLOG" | grep -q '127\.0\.0\.1' || bad "$what: no refusal line naming the peer in apid's log"
}

# A wrong token: 32 random bytes, as a real one.
agent_conf wrong
(umask 077 && openssl rand -hex 32 >"$LAB/agent-wrong/token")
chown fedmig "$LAB/agent-wrong/token"
refused "wrong token" wrong 'unauthori[sz]ed|token'

# A revoked agent.
agent_conf rv
agent_enrol rv || bad "enrolment of rv failed: $(tail -n 3 "$LAB/log/agent-rv.log")"
$CTL agent revoke rv >/dev/null || bad "fedmigctl agent revoke rv failed"
refused "revoked agent" rv 'unauthori[sz]ed|revoked|token'

# A reused enrolment code: the second use fails, the first token stands.
agent_conf once
agent_enrol once || bad "enrolment of once failed: $(tail -n 3 "$LAB/log/agent-once.log")"
agent_conf again
refused "reused code" again 'enrol|code' --enrol "$(cat "$LAB/agent-once/code")"
[ ! -s "$LAB/agent-again/token" ] || bad "a reused code gave a token"

# An agent version outside the range apid accepts.
agent_apid_stop
agent_apid_start "apid_min_agent_version = 9.0" "apid_max_agent_version = 9.9" ||
	bad "apid did not start with version 9.0-9.9"
refused "version out of range" once 'HTTP 403.*version|outside the range'
agent_apid_stop
agent_apid_start || bad "apid did not start again"

# A server certificate the agent's CA did not sign.
agent_conf rogue "agent_ca_file = $LAB/rogue/ca.pem" "s1_imap_starttls = no"
install -m 0600 -o fedmig "$LAB/agent-once/token" "$LAB/agent-rogue/token"
refused "untrusted CA" rogue "127.0.0.1:$APID_PORT.*(certif|verif|SSL|TLS)"

n=$(alab sql "SELECT (SELECT count(*) FROM agent_items) + (SELECT count(*) FROM agent_batches)")
[ "$n" = 0 ] || bad "data taken: $n rows in agent_items + agent_batches"
held=$(alab sql "SELECT count(*) FROM agent_tasks WHERE agent != ''")
echo "agent_refusals: tasks ever leased: $held, rows taken: $n"
for f in "$LAB"/agent-*/token "$LAB"/agent-*/code; do
	[ -s "$f" ] || continue
	! grep -rqF -- "$(cat "$f")" "$LAB/log" || bad "$f's secret appears in a log"
done
pilot_result agent_refusals $rc 10 "$APIDLOG"
