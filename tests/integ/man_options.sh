#!/usr/bin/env bash
# Every option a program's --help lists is documented in its man page
# (as .Fl x or .Fl -long), and every fedmigctl command word is in
# fedmigctl(1).
set -u
B=${FEDMIG_BUILD:-build}
bad=0 seen=0
for bin in "$B"/*/fedmig-* "$B"/spm/fedmigctl; do
	[ -x "$bin" ] || continue
	seen=$((seen + 1))
	p=$(basename "$bin")
	page=$(ls man/"$p".[0-9] 2>/dev/null | head -n 1)
	if [ -z "$page" ]; then
		echo "$p: no man page in man/"; bad=1; continue
	fi
	help=$("$bin" --help 2>&1) || { echo "$p: --help failed"; bad=1; continue; }
	for opt in $(printf '%s\n' "$help" | grep -oE '^ +(-[A-Za-z0-9]|--[a-z][a-z0-9-]*)' | tr -d ' ' | sort -u); do
		if ! grep -qE "^\.(Op |It |Fl |.* )?Fl ${opt#-}( |$)|Fl ${opt#-}\b" "$page"; then
			echo "$p: option $opt (in --help) is not in $page"; bad=1
		fi
	done
done
if [ -x "$B/spm/fedmigctl" ]; then
	for w in $("$B/spm/fedmigctl" help | grep -E '^  [a-z]' | awk '{print $1}' | sort -u); do
		grep -qE "^\.It Cm ($w|.*\b$w\b)" man/fedmigctl.1 || { echo "fedmigctl: command $w not in fedmigctl(1)"; bad=1; }
	done
fi
# No program built means nothing was checked: that is no pass.
for p in fedmig-milter fedmig-policyd fedmig-spm fedmig-smd fedmigctl; do
	ls "$B"/*/"$p" >/dev/null 2>&1 || { echo "man_options: $p not built in $B"; bad=1; }
done
[ $bad = 0 ] && echo "PASS man_options ($seen programs)"
exit $bad
