#!/usr/bin/env bash
# fedmig-spm at start, said where the admin looks: a configuration whose
# driver keys are incomplete is refused naming the key (also by -n of every
# daemon and by fedmigctl check); --once while another fedmig-spm holds the
# lock exits 1 and says so on stderr, with its pid.
set -u
B=$PWD/${FEDMIG_BUILD:-build}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL spm_start_checks: $*"; exit 1; }

cat >"$T/bad.conf" <<CONF
state_database = $T/fedmig.db
run_directory = $T
systems = old new
old_domain = s1.example.org
new_domain = s2.example.org
new_driver = dovecot
CONF
for p in milter/fedmig-milter policyd/fedmig-policyd spm/fedmig-spm smd/fedmig-smd spm/fedmigctl; do
	arg=-n
	[ "$p" = spm/fedmigctl ] && arg=check
	"$B/$p" -c "$T/bad.conf" $arg >"$T/out" 2>&1 && fail "$p $arg accepted an incomplete driver configuration"
	grep -q "old_driver_command is not set" "$T/out" || fail "$p $arg: $(cat "$T/out")"
	grep -q "new_driver = dovecot needs new_passwd_file" "$T/out" || fail "$p $arg: $(cat "$T/out")"
done
"$B/spm/fedmig-spm" -c "$T/bad.conf" --once >"$T/out" 2>&1 && fail "fedmig-spm started with it"
grep -q "old_driver_command" "$T/out" || fail "fedmig-spm start: $(cat "$T/out")"

sed -e 's/^new_driver = dovecot/new_driver = none/' "$T/bad.conf" >"$T/good.conf"
echo "old_driver = none" >>"$T/good.conf"
for p in milter/fedmig-milter policyd/fedmig-policyd spm/fedmig-spm smd/fedmig-smd; do
	"$B/$p" -c "$T/good.conf" -n >"$T/out" 2>&1 || fail "$p -n refused a good file: $(cat "$T/out")"
done

# The lock as the running daemon holds it: flock'ed, our pid inside.
exec 9>"$T/fedmig-spm.lock"
flock -n 9 || fail "flock"
echo $$ >&9
"$B/spm/fedmig-spm" -c "$T/good.conf" --once >"$T/out" 2>"$T/err" && fail "--once ran beside another fedmig-spm"
grep -q "another fedmig-spm (pid $$) is running.*--once not needed" "$T/err" ||
	fail "--once said: $(cat "$T/err")"
exec 9>&-
echo "PASS spm_start_checks"
