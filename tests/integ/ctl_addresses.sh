#!/usr/bin/env bash
# fedmigctl against hostile addresses and spreadsheet CSV, on a private
# SQLite file (no lab): the directory import, the batch import and the
# commands taking an ADDRESS argument enforce one grammar (addr.h), name
# FILE:LINE, and show control bytes escaped, never raw; a CSV that starts
# with a UTF-8 byte order mark (Excel) imports like one without.
set -eu
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/../lab/lib.sh"
ctl_tmp ctl_addresses "systems = s1 s2" "s1_domain = s1.example.org" "s2_domain = s2.example.org"
# no_raw FILE: FILE holds no control byte but LF, and no invalid UTF-8.
no_raw() {
	LC_ALL=C grep -q $'[\001-\011\013-\037\177]' "$1" && fail "raw control byte in: $(cat -v "$1")"
	iconv -f UTF-8 -t UTF-8 "$1" >/dev/null 2>&1 || fail "invalid UTF-8 in: $(cat -v "$1")"
	return 0
}

# A BOM and CRLF line ends, as Excel saves "CSV UTF-8".
printf '\357\273\277access,system,physical,aliases\r\nann@example.org,s1,ann@s1.example.org,\r\n"""bo b""@example.org",s1,"""bo b""@s1.example.org",\r\n' >"$T/excel.csv"
out=$(ctl directory import "$T/excel.csv" 2>&1) || fail "BOM directory import: $out"
[ "$(ctl directory lookup ann@example.org)" = ann@s1.example.org ] || fail "lookup after the BOM import"
[ "$(ctl directory lookup '"bo b"@example.org')" = "bo b@s1.example.org" ] || fail "quoted lookup"
printf '\357\273\277address,target\r\nann@example.org,s2\r\n' >"$T/batch.csv"
out=$(ctl import "$T/batch.csv" --dry-run 2>&1) || fail "BOM batch import: $out"

# The batch import: the address's reason on its FILE:LINE, escaped.
printf 'ann@example.org,s2\nb:c@example.org,s2\nd\033]0;x\007@example.org,s2\ne\377@example.org,s2\n"f g"@example.org,s2\n' >"$T/bad.csv"
ctl import "$T/bad.csv" >/dev/null 2>"$T/bad.err" && fail "bad batch imported"
cat "$T/bad.err"
no_raw "$T/bad.err"
for want in 'bad.csv:2: address "b:c@example.org": unquoted local part is not an RFC 5321 dot-atom' \
	'bad.csv:3: address "d\x1b]0;x\x07@example.org": control character in address' \
	'bad.csv:4: address "e\xff@example.org": invalid UTF-8 in address' \
	'bad.csv:5: text after a closing quote'; do
	grep -qF "$want" "$T/bad.err" || fail "missing: $want"
done

# Arguments: the same grammar, the same escaping.
for cmd in "submit X --to s2" "show X" "directory lookup X" "directory show X" "directory hold X"; do
	for a in 'x y@example.org' $'x\ny@example.org' $'x\033[2J@example.org' $'x\377@example.org' \
		'x@example.org:{plain}x' 'x@ex_ample.org'; do
		# shellcheck disable=SC2086
		set -- ${cmd/X/ARG}
		args=()
		for w in "$@"; do [ "$w" = ARG ] && args+=("$a") || args+=("$w"); done
		if ctl "${args[@]}" >/dev/null 2>"$T/arg.err"; then fail "$cmd accepted $(printf %q "$a")"; fi
		no_raw "$T/arg.err"
		grep -q "^fedmigctl: .*: " "$T/arg.err" || fail "$cmd $(printf %q "$a"): $(cat -v "$T/arg.err")"
	done
done
ctl submit 'x y@example.org' --to s2 2>&1 | grep -qF 'fedmigctl: x y@example.org: unquoted local part is not an RFC 5321 dot-atom' ||
	fail "submit reason"
ctl directory lookup $'x\033[2J@example.org' 2>&1 | grep -qF 'fedmigctl: x\x1b[2J@example.org: control character' ||
	fail "escaped argument"
echo "PASS ctl_addresses"
