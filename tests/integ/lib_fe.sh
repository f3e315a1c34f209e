# shellcheck shell=bash
# Sourced by spm_switch_lab.sh when fe_switch_lab.sh runs it (not a test
# itself): the lab's Postfix becomes the registered front end "a" (its
# fedmig-milter records held mail under frontend_name = a, its
# fedmig-frontend drains and releases it), and a second front end "b",
# whose fake queue stays empty, must answer every drain too. The pilot
# then drains and releases only through the front ends' orders.
#
#   fe_lab_setup    after pilot_prepare: the above; 1 on failure
#   fe_lab_check    both front ends carried out drain orders, a released
#                   the held mail; 1 and the reason otherwise
# Both front ends are stopped by PID at exit, before the lab.

fe_lab_setup() {
	local c
	echo "frontend_name = a" >>"$FEDMIG_CONF"
	"$REPO/tests/lab/lab" restart-daemon "$LAB" milter >/dev/null || return 1
	$CTL frontend add a && $CTL frontend add b || return 1
	mkdir -p "$LAB/fb/pf"
	for c in postqueue postsuper postkick; do
		printf '#!/bin/sh\nexit 0\n' >"$LAB/fb/pf/$c" && chmod 755 "$LAB/fb/pf/$c" || return 1
	done
	sed -e '/^postfix_command_directory *=/d' -e 's/^frontend_name = a$/frontend_name = b/' \
		"$FEDMIG_CONF" >"$LAB/fb.conf"
	echo "postfix_command_directory = $LAB/fb/pf" >>"$LAB/fb.conf"
	trap 'fe_lab_stop; _pilot_lab_cleanup' EXIT
	_pilot_bg fedmig-frontend "$B/spm/fedmig-frontend" "$LAB"
	setsid "$B/spm/fedmig-frontend" -c "$LAB/fb.conf" -f </dev/null \
		>>"$LAB/log/fedmig-frontend-b.log" 2>&1 &
	echo $! >"$LAB/run/fedmig-frontend-b.pid"
}

fe_lab_stop() {
	local f pid
	_pilot_signal fedmig-frontend "$LAB" TERM
	f="$LAB/run/fedmig-frontend-b.pid"
	pid=$(cat "$f" 2>/dev/null) && [ -n "$pid" ] && kill "$pid" 2>/dev/null
	rm -f "$f"
	return 0
}

fe_lab_check() {
	local a="$LAB/log/fedmig-frontend.log" b="$LAB/log/fedmig-frontend-b.log" n
	grep -q "drain order .* done: drained" "$a" || { echo "front end a drained nothing"; return 1; }
	grep -q "drain order .* done: drained" "$b" || { echo "front end b drained nothing"; return 1; }
	n=$(grep -c ": released$" "$a")
	echo "front end a released $n held messages"
	grep -q "drain ordered from every front end" "$LAB/log/fedmig-spm.log" ||
		{ echo "the pilot did not drain through the front ends"; return 1; }
}
