#!/usr/bin/env bash
# The workstation steps, server side (brief WS), with curl-like calls from
# Python standing in for a workstation agent: fedmig-apid, fedmig-spm and
# fedmig-smd against the lab's Dovecot and Postfix. w1: enrolled with
# "fedmigctl agent add NAME --workstation ADDRESS"; /v1/ws/next says
# check (state 1), then check again once recheck_delay passed (2 -> 3);
# after the switch, upload: the '@local' task is leased and filled through
# the ordinary poll/next/batch endpoints (two folders, one non-ASCII,
# flags and dates); the SMD_LOCAL job copies it below "Local Folders" on
# S2 (whose separator is '.', so the root's levels take it), compared
# byte for byte with flags and INTERNALDATE; then switch, a failed test
# (E32, no switch again before workstation_retry), a good test -> 9 ->
# 10, cleanup; fedmigctl show tells E20..E33. w2: its check fails ->
# check-failed, no copy job, next = none. A server agent's token gets 403
# on /v1/ws/*, w1's agent 404 on w2's request.
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
export LAB_S2_SEPARATOR=.
# shellcheck source=tests/lab/agent_lib.sh
. "$REPO/tests/lab/agent_lib.sh"
pilot_lab ws_api smd/fedmig-smd spm/fedmig-apid
trap _agent_lab_cleanup EXIT
read -r APID_PORT PROXY_PORT < <("$REPO/tests/lab/lab" ports 2)
pilot_scenario copy yes "copy_workstation_checks = yes" "copy_recheck_delay = 2s" \
	"copy_local_data = yes" "copy_complete_delay = 0" "copy_workstation_retry = 3s" \
	"apid_spool_directory = $LAB/apid-spool" "s2_client_imap = imap.s2.example.org" \
	"s2_client_smtp = smtp.s2.example.org:587/starttls" "s1_client_hosts = mail.old.example.org"
pilot_directory w1 w2 || { echo "FAIL ws_api: directory import"; exit 1; }
pilot_prepare "$LAB"
sleep 1.1
LOGS=("$LAB/log/fedmig-apid.log" "$LAB/log/fedmig-spm.log" "$LAB/log/fedmig-smd.log")
agent_apid_start || pilot_result ws_api 1 20 "${LOGS[@]}"
pilot_start "$LAB" || exit 1
smd_start "$LAB" || exit 1
for a in ws1:w1 ws2:w2; do
	$CTL agent add "${a%%:*}" --workstation "${a#*:}@example.org" >"$LAB/code-${a%%:*}" ||
		pilot_result ws_api 1 5 "${LOGS[@]}"
done
$CTL agent add srv >"$LAB/code-srv" || pilot_result ws_api 1 5 "${LOGS[@]}"
$CTL agent list | grep -qE '^ws1 .* workstation +- for w1@example.org$' ||
	{ echo "ws_api: agent list: $($CTL agent list)"; pilot_result ws_api 1 5 "${LOGS[@]}"; }
python3 "$REPO/tests/lab/wslab.py" "$LAB" "$B" "$REPO" "$APID_PORT" ||
	pilot_result ws_api 1 30 "${LOGS[@]}"
pilot_result ws_api 0 0
