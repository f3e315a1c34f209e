#!/usr/bin/env bash
# The workstation steps end to end with the real fedmig-agent --workstation
# (brief WA): fedmig-spm, fedmig-apid, fedmig-smd, the lab's Dovecot, and
# fixture homes copied into the lab (HOME set to them, never the real
# one). alice (Thunderbird closed, mbox Local Folders): the checks move
# her request through 2 and 3; after the switch the agent uploads the
# Local Folders as the "@local" task (killed with -9 in the middle, then
# started again), fedmig-smd copies them below "Local Folders" on S2,
# compared message by message with the mbox files by tests/lab/wsflow.py
# (its own mbox reader: bytes with CRLF, flags, dates; no duplicate);
# the agent switches prefs.js (equal to tests/fixtures/ws/golden/
# prefs.js.lab: only the intended keys change) and tests IMAP; then
# --rollback puts back the original bytes and is reported ("rollback by
# the user" in the history); the request completes and the cleanup
# removes the backup. carol (maildir Local Folders) goes through the same
# steps in the same run, her upload compared file by file with the
# maildir. dave (Thunderbird running): check-failed, nothing copied.
# fedmigctl show tells E20..E33.
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
export LAB_S2_SEPARATOR=.
# shellcheck source=tests/lab/agent_lib.sh
. "$REPO/tests/lab/agent_lib.sh"
pilot_lab ws_flow smd/fedmig-smd spm/fedmig-apid agent/fedmig-agent
trap _agent_lab_cleanup EXIT
read -r APID_PORT PROXY_PORT < <("$REPO/tests/lab/lab" ports 2)
pilot_scenario copy yes "copy_workstation_checks = yes" "copy_recheck_delay = 2s" \
	"copy_local_data = yes" "copy_complete_delay = 15s" "copy_workstation_retry = 3s" \
	"apid_spool_directory = $LAB/apid-spool" "s1_client_imap = mail.old.example" \
	"s1_client_hosts = pop.old.example" "s1_client_smtp = smtp.old.example:587/starttls" \
	"s1_client_user = localpart" "s2_client_user = localpart" \
	"s2_client_imap = 127.0.0.1:$S2_IMAP_PORT/plain"
pilot_directory alice carol dave || { echo "FAIL ws_flow: directory import"; exit 1; }
pilot_prepare "$LAB"
sleep 1.1
LOGS=("$LAB/log/fedmig-apid.log" "$LAB/log/fedmig-spm.log" "$LAB/log/fedmig-smd.log"
	"$LAB/log/agent-alice.log" "$LAB/log/agent-carol.log" "$LAB/log/agent-dave.log")
# Small batches: the upload lasts long enough to be killed in the middle.
agent_apid_start "apid_batch_items = 20" || pilot_result ws_flow 1 20 "${LOGS[@]}"
pilot_start "$LAB" || exit 1
smd_start "$LAB" || exit 1

# ws_home U: the fixture home of U in the lab, the agent's config and
# enrolment; the agent runs as fedmig (the lab's desktop user).
ws_home() {
	local u=$1 d=$LAB/agent-$1
	mkdir -p "$d/spool" && chmod 0700 "$d" "$d/spool"
	cp -a "$REPO/tests/fixtures/ws/$u" "$d/home"
	cat >"$d/agent.conf" <<CONF
# fedmig-agent --workstation of $u, written by tests/integ/ws_flow.sh
agent_server_url = https://127.0.0.1:$APID_PORT
agent_ca_file = $TLS_CA
agent_token_file = $d/token
agent_spool_directory = $d/spool
agent_heartbeat = 1s
agent_profile_dir = $d/home/.thunderbird
CONF
	chown -R fedmig "$d"
	$CTL agent add "ws-$u" --workstation "$u@example.org" >"$d/code" || return 1
	HOME=$d/home "$AGENT_BIN" -c "$d/agent.conf" -f --enrol "$(cat "$d/code")" \
		>>"$LAB/log/agent-$u.log" 2>&1 </dev/null
}
{ ws_home alice && ws_home carol && ws_home dave; } || pilot_result ws_flow 1 10 "${LOGS[@]}"
for u in alice carol dave; do HOME=$LAB/agent-$u/home agent_start "$u" --workstation; done
python3 "$REPO/tests/lab/wsflow.py" "$LAB" "$B" "$REPO" "$AGENT_BIN" ||
	pilot_result ws_flow 1 40 "${LOGS[@]}"
pilot_result ws_flow 0 0
