#!/usr/bin/env bash
# The test machinery itself must not pass without testing: tests/run fails
# a run with a skipped test in CI (CI=true), and names skips otherwise;
# man_options fails when no program was built.
set -u
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL runner_self: $*"; exit 1; }

printf '#!/bin/sh\necho "SKIP: nothing here"\nexit 77\n' >"$T/skips.sh"
printf '#!/bin/sh\nexit 0\n' >"$T/passes.sh"
chmod +x "$T/skips.sh" "$T/passes.sh"
FEDMIG_BUILD=$T CI=true TESTS='' tests/run --integ "$T/skips.sh $T/passes.sh" >"$T/out" 2>&1 &&
	fail "a skip passed in CI: $(cat "$T/out")"
grep -q "FAIL: skips skipped in CI" "$T/out" || fail "CI run output: $(cat "$T/out")"
FEDMIG_BUILD=$T CI='' TESTS='' tests/run --integ "$T/skips.sh $T/passes.sh" >"$T/out" 2>&1 ||
	fail "a skip failed outside CI: $(cat "$T/out")"
grep -q "^skipped: skips$" "$T/out" || fail "skips not named: $(cat "$T/out")"

# A failure's own reason is repeated after the summary's "failed:" line,
# where a CI page cut in the middle still shows it.
printf '#!/bin/sh\necho start\nseq 1 40\necho "FAIL fails: the reason"\nexit 1\n' >"$T/fails.sh"
chmod +x "$T/fails.sh"
FEDMIG_BUILD=$T TESTS='' tests/run --integ "$T/fails.sh" >"$T/out" 2>&1 && fail "a failure passed"
sed -n '/^failed: fails$/,$p' "$T/out" | grep -q "^    fails: FAIL fails: the reason$" ||
	fail "the reason not repeated last: $(cat "$T/out")"

mkdir "$T/empty"
FEDMIG_BUILD=$T/empty tests/integ/man_options.sh >"$T/out" 2>&1 &&
	fail "man_options passed with no program built: $(cat "$T/out")"
grep -q "fedmigctl not built" "$T/out" || fail "man_options said: $(cat "$T/out")"
echo "PASS runner_self"
