#!/usr/bin/env bash
# The status page for real: the lab (Postfix, Dovecot), fedmig-spm,
# fedmig-smd and fedmig-apid with the lab's certificate; a viewer and an
# agent; a short migration of three mailboxes watched by headless Debian
# chromium (selenium + chromedriver) on /status: the live view follows it
# without a reload, the numbers shown equal fedmigctl report --json's and
# the store's, an address's history opens on a click; /metrics parsed
# strictly and checked against the report and the store, and after real
# socketmap lookups (Postfix's postmap -q) fedmig-policyd's lookup
# latency histogram there with a count that covers them; the refusals
# (no credential 401, a wrong or removed viewer 401, an agent's token on
# the pages 403, a viewer on the agent API refused); then 10,000 more
# addresses: /status.json's size and time, the browser's first screen and
# a search. Screenshots: $FEDMIG_BUILD/test-logs/status-*.png.
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/lab/agent_lib.sh
. "$REPO/tests/lab/agent_lib.sh"
pilot_lab status_page smd/fedmig-smd spm/fedmig-apid
trap _agent_lab_cleanup EXIT
read -r APID_PORT < <("$REPO/tests/lab/lab" ports 1)
pilot_scenario copy yes "apid_spool_directory = $LAB/apid-spool"
pilot_directory st1 st2 st3 || { echo "FAIL status_page: directory import"; exit 1; }
pilot_prepare "$LAB"
OUT=$B/test-logs
mkdir -p "$OUT"
rm -f "$OUT"/status-*.png
$CTL viewer add ops >"$LAB/viewer-ops" || { echo "FAIL status_page: viewer add"; exit 1; }
if ! $CTL viewer add gone >"$LAB/viewer-gone" || ! $CTL viewer remove gone; then
	echo "FAIL status_page: viewer add and remove"
	exit 1
fi
$CTL viewer list | grep -q '^ops ' || { echo "FAIL status_page: viewer list: $($CTL viewer list)"; exit 1; }
$CTL agent add ag1 >"$LAB/agent-code" || { echo "FAIL status_page: agent add"; exit 1; }
sleep 1.1 # Dovecot notices a passwd-file change by its mtime (seconds)
agent_apid_start || { echo "FAIL status_page: fedmig-apid"; exit 1; }
pilot_start "$LAB" || exit 1
smd_start "$LAB" || exit 1

# Debian's python3 has selenium and prometheus_client (.ci/deps), whatever
# python3 comes first on PATH.
/usr/bin/python3 "$REPO/tests/lab/statuslab.py" "$LAB" "$APID_PORT" "$OUT" migrate
rc=$?
# fedmigctl top --once: the same numbers in a terminal, from the store.
top=$($CTL top --once) || rc=1
grep -qE '^requests 3  complete 3  switched 3 ' <<<"$top" || { echo "top: $top"; rc=1; }
grep -q '^hold windows: 3 switches' <<<"$top" || { echo "top: $top"; rc=1; }
# The pilot would start on the 10,000 mailboxes of the next phase.
pilot_stop_all "$LAB"
/usr/bin/python3 "$REPO/tests/lab/statuslab.py" "$LAB" "$APID_PORT" "$OUT" bulk || rc=1
grep -q "$(cat "$LAB/viewer-ops")" "$LAB/log/fedmig-apid.log" && { echo "a secret in apid's log"; rc=1; }
ls "$OUT"/status-*.png
pilot_result status_page $rc 20 "$LAB/log/fedmig-apid.log" "$LAB/log/fedmig-spm.log"
