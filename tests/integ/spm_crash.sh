#!/usr/bin/env bash
# fedmig-spm crash test (isync run-tests.pl): for N = 1, 2, ... run
# "fedmig-spm --once" with FEDMIG_SPM_CRASH_AFTER=N, resume it without the
# hook, and compare every request, its history steps, the directory and
# the driver's files with an uncrashed run; then run once more and check
# that nothing changes (idempotence). Postfix is a fake here (the real one
# is in spm_switch_lab.sh); the drivers' files are real.
set -u
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/../lab/lib.sh"
SPM=$B/spm/fedmig-spm
[ -x "$SPM" ] && [ -x "$CTL" ] || { echo "build first"; exit 77; }
fakepf_tmp spm_crash

setup() { # DIR: a fresh store with three requests, one of them a rollback later
	local d=$1
	fakepf_tree "$d" || exit 1
	{
		fakepf_conf "$d"
		fakepf_systems "$d"
		fakepf_scenarios nocopy del
		echo "del_delete_source = yes"
		echo "del_delete_delay = 0s"
	} >"$d/fedmig.conf"
	fakepf_directory "$d" x alice bob carol || exit 1
	printf 'alice@example.org,s2,,nocopy\nbob@example.org,s2,,del\ncarol@example.org,s2,,nocopy\n' >"$d/b.csv"
	"$CTL" -c "$d/fedmig.conf" import "$d/b.csv" >/dev/null || exit 1
	fakepf_open "$d"
}

# The observable result: requests, history steps (no times), directory, files.
snapshot() {
	local d=$1
	{
		for u in alice bob carol; do
			"$CTL" -c "$d/fedmig.conf" --json show $u@example.org |
				sed -E 's/"(planned_at|hold_at|switch_at|release_at)":[0-9]+/"\1":T/g'
			"$CTL" -c "$d/fedmig.conf" show $u@example.org | sed -n '/^history:/,$p' |
				awk '{ $1=""; $2=""; print }' | sed -E 's/hold window [0-9.]+ s/hold window W/'
			"$CTL" -c "$d/fedmig.conf" directory show $u@example.org 2>&1 | grep -v -i -E 'since|switched|at '
		done
		sed -E 's/\{PLAIN\}[0-9a-f]+/{PLAIN}P/' "$d/s1passwd" "$d/s2passwd"
		cat "$d/s2passwd.addresses" 2>/dev/null
	} | sed "s|$d|DIR|g"
}

run_spm() { # DIR [crash-after]
	if [ -n "${2:-}" ]; then
		FEDMIG_SPM_CRASH_AFTER=$2 "$SPM" -c "$1/fedmig.conf" -f --once >>"$1/spm.log" 2>&1
	else
		"$SPM" -c "$1/fedmig.conf" -f --once >>"$1/spm.log" 2>&1
	fi
}

setup "$T/ref"
run_spm "$T/ref" || { echo "reference run failed"; cat "$T/ref/spm.log"; exit 1; }
snapshot "$T/ref" >"$T/ref.snap"
grep -q '"state":13' "$T/ref.snap" && grep -c '"state":10' "$T/ref.snap" | grep -qx 2 ||
	{ echo "reference run did not end complete/source-deleted"; cat "$T/ref.snap"; exit 1; }

fail=0 n=1
while :; do
	d=$T/n$n
	setup "$d"
	run_spm "$d" $n
	rc=$?
	if [ $rc = 0 ]; then
		echo "N=$n: no crash: all steps covered"
		rm -rf "$d"
		break
	fi
	[ $rc = 99 ] || { echo "N=$n: exit $rc, not the hook's 99"; fail=1; break; }
	ok=1 # this N alone: "resumed: ok" only when every check of it passed
	run_spm "$d" || { echo "N=$n: resume failed:"; tail -n 5 "$d/spm.log"; ok=0; }
	snapshot "$d" >"$d.snap"
	if ! diff -u "$T/ref.snap" "$d.snap" >"$d.diff"; then
		echo "N=$n: resumed result differs from the uncrashed run:"; cat "$d.diff"; ok=0
	fi
	run_spm "$d" || { echo "N=$n: second resume failed:"; tail -n 5 "$d/spm.log"; ok=0; }
	snapshot "$d" >"$d.snap2"
	cmp -s "$d.snap" "$d.snap2" || { echo "N=$n: a second resume changed something"; diff -u "$d.snap" "$d.snap2"; ok=0; }
	step=$(grep -o 'exiting after step [0-9]* ([^)]*)' "$d/spm.log" | head -1 | sed 's/exiting after //')
	if [ $ok = 1 ]; then
		echo "N=$n: crashed at $step, resumed: ok"
	else
		echo "N=$n: crashed at $step, resumed: FAILED"; fail=1
	fi
	rm -rf "$d"
	n=$((n + 1))
	[ $n -gt 200 ] && { echo "too many steps"; fail=1; break; }
done
[ $fail = 0 ] && echo "PASS spm_crash ($((n - 1)) crash points)"
exit $fail
