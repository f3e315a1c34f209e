#!/usr/bin/env bash
# fedmigctl directory import against a real SQLite file: 100,000 rows,
# idempotent re-import, and a bad row on line 70,001 that is named and
# leaves the database exactly as it was.
set -eu
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/../lab/lib.sh"
ctl_tmp directory_import "systems = s1 s2" "s1_domain = s1.example.org" "s2_domain = s2.example.org"
python3 - "$T" <<'PY'
import sys
t = sys.argv[1]
with open(t + "/good.csv", "w") as f:
    f.write("access,system,physical,aliases\n")
    for i in range(100000):
        s = "s1" if i % 2 else "s2"
        f.write(f'user{i}@example.org,{s},user{i}@{s}.example.org,"alias{i}@example.org u.{i}@example.org"\n')
lines = open(t + "/good.csv").read().splitlines(True)
# line 70,001 (the header is line 1): an unknown system
lines[70000] = "user69999@example.org,s9,user69999@s1.example.org,\n"
open(t + "/bad.csv", "w").writelines(lines)
PY

out=$("$CTL" -c "$T/fedmig.conf" directory import "$T/good.csv") || fail "import: $out"
echo "$out"
case "$out" in *"100000 added"*) ;; *) fail "expected 100000 added: $out" ;; esac
[ "$("$CTL" -c "$T/fedmig.conf" directory lookup USER42@example.org)" = user42@s2.example.org ] ||
	fail "lookup of an access address"
[ "$("$CTL" -c "$T/fedmig.conf" directory lookup u.43@example.org)" = user43@s1.example.org ] ||
	fail "lookup of an alias"
if "$CTL" -c "$T/fedmig.conf" directory lookup nobody@example.org; then fail "unknown address found"; fi

out=$("$CTL" -c "$T/fedmig.conf" directory import "$T/good.csv") || fail "re-import: $out"
case "$out" in *"0 added, 0 updated, 100000 unchanged"*) ;; *) fail "re-import changed something: $out" ;; esac

before=$(sqlite3 "$T/fedmig.db" 'SELECT count(*), sum(length(access || system || physical)), max(updated) FROM directory')
if err=$("$CTL" -c "$T/fedmig.conf" directory import "$T/bad.csv" 2>&1); then fail "bad file accepted"; fi
echo "$err"
case "$err" in *"bad.csv:70001: unknown system \"s9\""*) ;; *) fail "line 70001 not named: $err" ;; esac
after=$(sqlite3 "$T/fedmig.db" 'SELECT count(*), sum(length(access || system || physical)), max(updated) FROM directory')
[ "$before" = "$after" ] || fail "database changed by a failed import"

# Every kind of bad row is reported, each with its line; nothing imported.
cat >"$T/many.csv" <<'CSV'
access,system,physical,aliases
good@example.org,s1,good@s1.example.org,
bad address,s1,x@s1.example.org,
dup@example.org,s1,dup@s1.example.org,
dup@example.org,s1,dup2@s1.example.org,
al@example.org,s1,al@s1.example.org,good@example.org
wrong@example.org,s1,wrong@s2.example.org,
short@example.org,s1
out@elsewhere.net,s1,out@s1.example.org,
user7@example.org,s1,user7@s1.example.org,
"x"y@example.org,s1,xy@s1.example.org,
CSV
printf 'nul@example.org,s1,n\0ul@s1.example.org,\n' >>"$T/many.csv"
if err=$("$CTL" -c "$T/fedmig.conf" directory import "$T/many.csv" 2>&1); then fail "many.csv accepted"; fi
echo "$err"
for want in "many.csv:3: access address \"bad address\"" "many.csv:5: access address dup@example.org already appears on line 4" \
	"many.csv:6: alias good@example.org already appears on line 2" "many.csv:7: physical address wrong@s2.example.org is not in s1's domain" \
	"many.csv:8: expected 4 fields" "many.csv:9: access address out@elsewhere.net is not in federated_domains" \
	"many.csv:11: text after a closing quote" "many.csv:12: NUL byte"; do
	case "$err" in *"$want"*) ;; *) fail "missing: $want" ;; esac
done
[ "$("$CTL" -c "$T/fedmig.conf" directory lookup good@example.org || true)" = "" ] || fail "partial import"
echo "PASS directory_import"
