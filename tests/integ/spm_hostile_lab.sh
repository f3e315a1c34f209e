#!/usr/bin/env bash
# Hostile addresses against the lab's real Dovecot. The attack of the
# hardening issue: a physical address whose local part holds a
# passwd-file line, victim@s2.example.org:{plain}x::::::j, became, once
# its mailbox was created on S2, a passwd-file entry that let anyone
# LOGIN victim@s2.example.org x. Now the directory import refuses it
# unquoted (FILE:LINE, control bytes shown escaped, nothing imported);
# quoted, it is a valid RFC 5321 address, but the dovecot driver refuses
# to write it: the request fails with that reason, nothing reached S2's
# passwd-file, and the login with the injected password fails while a
# real user's works.
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/integ/lib_pilot.sh
. "$REPO/tests/integ/lib_pilot.sh"
pilot_lab spm_hostile_lab
fail() {
	echo "FAIL spm_hostile_lab: $*"
	tail -n 20 "$LAB/log/fedmig-spm.log" 2>/dev/null
	exit 1
}
cat >>"$FEDMIG_CONF" <<CONF
scenarios = nocopy
default_scenario = nocopy
nocopy_copy_data = no
spm_poll_interval = 200ms
CONF
# victim@s2.example.org has no mailbox: the attacker's line would be its
# only entry (with one, Dovecot takes the first line and the attack fails
# for that reason alone). control@s2.example.org shows logins work.
"$REPO/tests/lab/lab" adduser "$LAB" s2 control >/dev/null || fail "adduser"
attack='victim@s2.example.org:{plain}x::::::j'

# 1. Unquoted, and with a control byte: refused at import, line named.
{
	printf 'access,system,physical,aliases\n'
	printf 'j@example.org,s1,%s@s1.example.org,\n' "$attack"
	printf 'k@example.org,s1,k\033[2Jk@s1.example.org,\n'
	printf 'l@example.org,s1,l@s1.example.org,l\377@example.org\n'
} >"$LAB/bad.csv"
$CTL directory import "$LAB/bad.csv" >/dev/null 2>"$LAB/bad.err" && fail "bad.csv imported"
cat "$LAB/bad.err"
grep -qF "bad.csv:2: physical address \"$attack@s1.example.org\": unquoted local part is not an RFC 5321 dot-atom" \
	"$LAB/bad.err" || fail "line 2 not refused as it should: $(cat "$LAB/bad.err")"
grep -qF 'bad.csv:3: physical address "k\x1b[2Jk@s1.example.org": control character' "$LAB/bad.err" ||
	fail "line 3 not refused with the byte escaped: $(cat -v "$LAB/bad.err")"
grep -qF 'bad.csv:4: alias "l\xff@example.org": invalid UTF-8' "$LAB/bad.err" ||
	fail "line 4 not refused: $(cat -v "$LAB/bad.err")"
LC_ALL=C grep -q $'\033\|\377' "$LAB/bad.err" && fail "a raw control or invalid byte reached the terminal"
$CTL directory lookup j@example.org >/dev/null 2>&1 && fail "something of bad.csv was imported"

# 2. Quoted: a valid address, refused by the dovecot driver on S2.
# (CSV doubles the quotes of a quoted field: the field is "victim...j"@s1...)
printf 'access,system,physical,aliases\nj@example.org,s1,"""%s""@s1.example.org",\n' "$attack" >"$LAB/dir.csv"
$CTL directory import "$LAB/dir.csv" >/dev/null || fail "quoted import"
pilot_prepare "$LAB"
cp "$LAB/s2/passwd" "$LAB/passwd.before"
sleep 1.1
pilot_start "$LAB" || fail "start"
$CTL submit j@example.org --to s2 >/dev/null || fail "submit"
state() { $CTL --json show "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state_name"])'; }
for i in $(seq 150); do
	[ "$(state j@example.org)" = failed ] && break
	sleep 0.2
done
$CTL show j@example.org >"$LAB/j.show"
[ "$(state j@example.org)" = failed ] || fail "not failed: $(cat "$LAB/j.show")"
grep -qF "refusing physical address \"$attack@s2.example.org\" for the dovecot driver" "$LAB/j.show" ||
	fail "reason: $(cat "$LAB/j.show")"
grep -q "quoted local part" "$LAB/j.show" || fail "reason does not say why: $(cat "$LAB/j.show")"
cmp -s "$LAB/passwd.before" "$LAB/s2/passwd" || fail "S2's passwd-file changed: $(cat "$LAB/s2/passwd")"
grep -qF '{plain}x' "$LAB/s2/passwd" && fail "the injected password is in S2's passwd-file"
grep -qF 'j@example.org' "$LAB/s2/passwd.addresses" && fail "the access address was announced"

# 3. The login the attack aimed at fails; the victim's own works.
python3 - "$LAB" "$REPO" <<'PY' || fail "IMAP logins"
import imaplib, os, sys
sys.path.insert(0, os.path.join(sys.argv[2], "tests", "lab"))
import fedlab
env = fedlab.load_env(sys.argv[1])

def login(user, password):
    m = imaplib.IMAP4("127.0.0.1", int(env["S2_IMAP_PORT"]))
    try:
        m.login(user, password)
        return True
    except imaplib.IMAP4.error:
        return False
    finally:
        try:
            m.logout()
        except Exception:
            pass

if login("victim@s2.example.org", "x"):
    print("LOGIN victim@s2.example.org x succeeded"); sys.exit(1)
if not login("control@s2.example.org", env["USER_PASS"]):
    print("a real user's login fails: the check proves nothing"); sys.exit(1)
PY
echo "refused: $(grep 'reason:' "$LAB/j.show" | sed 's/^ *//')"
echo "PASS spm_hostile_lab"
