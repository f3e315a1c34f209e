# shellcheck shell=bash
# Sourced by spm_switch_lab.sh when fe_switch_lab.sh runs it (not a test
# itself): two Postfix front ends on one shared store. The lab's Postfix
# is front end "a" (its fedmig-milter records held mail under
# frontend_name = a); a second lab in $LAB_B is front end "b": its
# Postfix delivers to the first lab's S1 and S2 (LMTP), its milter and
# policyd read the first lab's store. Each has its fedmig-frontend; the
# pilot drains and releases only through their orders.
#
#   fe_lab_setup    after pilot_prepare: the above, FE_SMTP_PORT_B and
#                   FE_POSTFIX_B exported for the traffic; 1 on failure
#   fe_lab_check    both front ends carried out drain orders; 1 and the
#                   reason otherwise
# Both front ends and the second lab are stopped by PID at exit.

fe_lab_setup() {
	local db
	echo "frontend_name = a" >>"$FEDMIG_CONF"
	"$REPO/tests/lab/lab" restart-daemon "$LAB" milter >/dev/null || return 1
	$CTL frontend add a && $CTL frontend add b || return 1
	LAB_B=$(mktemp -d "/tmp/fe_lab_b.XXXXXX") || return 1
	chmod 0755 "$LAB_B"
	trap 'fe_lab_stop; _pilot_lab_cleanup' EXIT
	"$REPO/tests/lab/lab" start "$LAB_B" --fedmig recommended >/dev/null || return 1
	postconf -c "$LAB_B/postfix" -e "transport_maps = inline:{ s1.example.org=lmtp:inet:127.0.0.1:$S1_LMTP_PORT, s2.example.org=lmtp:inet:127.0.0.1:$S2_LMTP_PORT }" ||
		return 1
	postfix -c "$LAB_B/postfix" reload >/dev/null 2>&1 || return 1
	# The first lab's store, a file or a postgresql:// URL (fe_switch_pg).
	db=$(sed -n 's/^state_database = //p' "$FEDMIG_CONF" | tail -n 1)
	sed -i "s#^state_database = .*#state_database = $db#" "$LAB_B/fedmig.conf"
	echo "frontend_name = b" >>"$LAB_B/fedmig.conf"
	"$REPO/tests/lab/lab" restart-daemon "$LAB_B" milter >/dev/null &&
		"$REPO/tests/lab/lab" restart-daemon "$LAB_B" policyd >/dev/null || return 1
	FE_SMTP_PORT_B=$(. "$LAB_B/lab.env" && echo "$SMTP_PORT")
	FE_POSTFIX_B=$LAB_B/postfix
	export FE_SMTP_PORT_B FE_POSTFIX_B
	_pilot_bg fedmig-frontend "$B/spm/fedmig-frontend" "$LAB"
	_pilot_bg fedmig-frontend "$B/spm/fedmig-frontend" "$LAB_B"
}

fe_lab_stop() {
	_pilot_signal fedmig-frontend "$LAB" TERM
	[ -n "${LAB_B:-}" ] || return 0
	_pilot_signal fedmig-frontend "$LAB_B" TERM
	"$REPO/tests/lab/lab" stop "$LAB_B" >/dev/null 2>&1
	[ -n "${KEEP:-}" ] || rm -rf "$LAB_B"
	return 0
}

fe_lab_check() {
	local f n
	for f in "$LAB/log/fedmig-frontend.log" "$LAB_B/log/fedmig-frontend.log"; do
		grep -q "drain order .* done: drained" "$f" || { echo "$f: drained nothing"; return 1; }
		n=$(grep -c ": released$" "$f")
		echo "$(grep -o 'front end [ab]' "$f" | head -n 1) released $n held messages"
	done
	grep -q "drain ordered from every front end" "$LAB/log/fedmig-spm.log" ||
		{ echo "the pilot did not drain through the front ends"; return 1; }
}
