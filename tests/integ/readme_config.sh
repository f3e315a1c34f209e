#!/usr/bin/env bash
# The README's first hour works as printed: its fedmig.conf block, scenario
# block and CSV blocks are taken verbatim and run through fedmigctl check,
# config -n, every daemon's -n and the dry-run imports; its main.cf block
# has no value with a "#" in it (Postfix has no end-of-line comments) and
# its transport table builds with postmap. Absolute paths in the
# fedmig.conf block are moved under a scratch root where the directories
# the README's "install -d" lines create are created; state_database and
# run_directory are appended (the README leaves them at their defaults).
set -u
B=$PWD/${FEDMIG_BUILD:-build}
CTL=$B/spm/fedmigctl
README=${README:-README}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL readme_config: $*"; exit 1; }

python3 - "$README" "$T" <<'PY' || fail "extracting the README's blocks"
import re, sys
readme, t = sys.argv[1], sys.argv[2]
# An indented block runs across blank lines; its paragraphs are the runs
# between them.
blocks, cur = [], []
for line in open(readme).read().splitlines():
    if line.startswith("    ") and line.strip():
        cur.append(line[4:])
    elif not line.strip() and cur:
        cur.append("")
    else:
        if cur:
            blocks.append(cur)
        cur = []
if cur:
    blocks.append(cur)

def block(first, whole=False):
    """The paragraph of an indented block starting with FIRST, or with
    WHOLE the block from there on."""
    found = []
    for b in blocks:
        for i, l in enumerate(b):
            if l.startswith(first) and (i == 0 or b[i - 1] == ""):
                rest = b[i:]
                if not whole and "" in rest:
                    rest = rest[:rest.index("")]
                found.append([l for l in rest if l])
    if len(found) != 1:
        sys.exit("README: %d blocks start with %r" % (len(found), first))
    return found[0]

def write(name, lines):
    with open("%s/%s" % (t, name), "w") as f:
        f.write("".join(l + "\n" for l in lines))

write("conf.readme", block("federated_domains ="))
write("scenarios", block("scenarios ="))
write("users.csv", block("access,system,physical,aliases"))
write("batch.csv", block("address,target,planned,scenario"))
write("main.cf", block("# The access domain is a virtual alias domain", whole=True))
write("transport", block("s1.example.org "))
dirs = []
for b in blocks:
    for l in b:
        l = l.strip()
        if l.startswith("install -d "):
            dirs.append(l.split()[-1])
write("dirs", dirs)
# fedmig.conf has no end-of-line comments (as main.cf): anywhere in the
# README, "key = value  # note" would make the note part of the value.
for b in blocks:
    for l in b:
        if re.match(r"[a-z][a-z0-9_]* = [^#]*#", l.strip()):
            sys.exit("README: a comment after a value (fedmig.conf has none): " + l.strip())
PY

root=$T/root
while read -r d; do mkdir -p "$root$d"; done <"$T/dirs"
sed -E "s# /(etc|var|run)/# $root/\\1/#g" "$T/conf.readme" >"$T/fedmig.conf"
printf 'state_database = %s/fedmig.db\nrun_directory = %s/run\n' "$T" "$T" >>"$T/fedmig.conf"
ctl() { "$CTL" -c "$T/fedmig.conf" "$@"; }

ctl check >"$T/out" 2>&1 || fail "fedmigctl check refuses the README's fedmig.conf: $(cat "$T/out")"
for p in milter/fedmig-milter policyd/fedmig-policyd spm/fedmig-spm smd/fedmig-smd; do
	"$B/$p" -c "$T/fedmig.conf" -n >"$T/out" 2>&1 || fail "$p -n refuses it: $(cat "$T/out")"
done
ctl config -n >"$T/config-n" || fail "config -n"
diff -u "$T/fedmig.conf" "$T/config-n" >"$T/out" || fail "config -n is not the file as written: $(cat "$T/out")"

ctl directory import --dry-run "$T/users.csv" >"$T/out" 2>&1 || fail "directory import --dry-run: $(cat "$T/out")"
ctl directory import "$T/users.csv" >"$T/out" 2>&1 || fail "directory import: $(cat "$T/out")"
got=$(ctl directory lookup a.smith@example.org) || fail "directory lookup"
[ "$got" = "alice@s1.example.org" ] || fail "directory lookup a.smith@example.org: $got"

# The scenario example added to the file, then the batch.
cat "$T/scenarios" >>"$T/fedmig.conf"
ctl check >"$T/out" 2>&1 || fail "check with the README's scenarios: $(cat "$T/out")"
ctl import --dry-run "$T/batch.csv" >"$T/out" 2>&1 || fail "import --dry-run batch.csv: $(cat "$T/out")"

# Postfix's side, with a configuration of our own (never the host's).
if command -v postconf >/dev/null; then
	mkdir -p "$T/pf"
	cp "$T/main.cf" "$T/pf/main.cf"
	: >"$T/pf/master.cf"
	while read -r name; do
		v=$(postconf -c "$T/pf" -h "$name") || fail "postconf $name"
		case $v in *"#"*) fail "main.cf: $name = $v: Postfix has no end-of-line comments" ;; esac
	done < <(sed -nE 's/^([a-z_]+) *=.*/\1/p' "$T/main.cf")
	sed -nE 's/^([a-z0-9]+)_transport = (.*)/\2/p' "$T/conf.readme" | sort >"$T/want"
	awk '{print $2}' "$T/transport" | sort >"$T/have"
	diff -u "$T/want" "$T/have" >"$T/out" || fail "transport table vs NAME_transport: $(cat "$T/out")"
	postmap -c "$T/pf" "hash:$T/transport" || fail "postmap of the README's transport table"
	[ "$(postmap -c "$T/pf" -q s2.example.org "hash:$T/transport")" = "lmtp:inet:mail2.example.org:24" ] ||
		fail "transport lookup s2.example.org"
elif [ "${CI:-}" = true ]; then
	fail "postconf missing"
fi
echo "PASS readme_config"
