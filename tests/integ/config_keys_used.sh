#!/usr/bin/env bash
# Every key lib/config_keys.def declares is read somewhere in the programs'
# sources (its name as a string literal, as config_str(cfg, "name") and
# config_sys_str(cfg, sys, "suffix") take it), or is marked *_TODO there,
# which makes setting it an error. A key accepted, documented and read by
# nothing is a setting that silently does nothing (pim = yes copying no
# calendars). A *_TODO key that something reads has been implemented: drop
# the mark.
set -u
cd "${FEDMIG_SRC:-.}" || exit 1
def=lib/config_keys.def
srcs=$(ls lib/*.c milter/*.c policyd/*.c spm/*.c smd/*.c agent/*.c 2>/dev/null)
[ -n "$srcs" ] || { echo "config_keys_used: no sources found"; exit 1; }
bad=0 n=0
while read -r macro name; do
	n=$((n + 1))
	# shellcheck disable=SC2086
	if grep -qF "\"$name\"" $srcs; then used=1; else used=0; fi
	case "$macro:$used" in
	*_TODO:1) echo "config_keys_used: $name is read ($(grep -lF "\"$name\"" $srcs | tr '\n' ' ')) but marked $macro in $def"; bad=1 ;;
	*_TODO:0) ;;
	*:0) echo "config_keys_used: $name ($macro) is read by nothing: implement it or mark it ${macro}_TODO in $def"; bad=1 ;;
	esac
done < <(grep -oE '^(KEY|SYSKEY|SCNKEY)(_TODO)?\("[a-z0-9_]+"' "$def" | sed 's/("/ /; s/"$//')
[ "$n" -gt 50 ] || { echo "config_keys_used: only $n keys found in $def"; bad=1; }
[ $bad = 0 ] && echo "PASS config_keys_used ($n keys)"
exit $bad
