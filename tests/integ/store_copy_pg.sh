#!/bin/bash
# fedmigctl store copy: a SQLite store into an empty PostgreSQL one (a
# private PostgreSQL 15, tests/lab/pg). The SQLite store gets what a real
# site has (a directory with aliases, a batch of requests, an agent, a
# front end, a viewer) and, in every table still empty, rows of every
# column type: 64-bit integers, text with quotes, backslashes, tabs,
# newlines and UTF-8, blobs with NUL bytes. After the copy every table
# reads the same on both backends, value for value, fedmigctl lists the
# same, and a new request gets a new id. Refused, leaving the target
# empty: a missing file, a link, a table or a value fedmig never writes
# (text in an integer column, a real number), a running pilot, a target
# that is not empty or not PostgreSQL. Never skips. Under 60 s.
set -u
# shellcheck source=tests/lab/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lab/lib.sh"
# shellcheck source=tests/integ/lib_pg.sh
. "$ROOT/tests/integ/lib_pg.sh"
FAILED=0
fail() { echo "FAIL store_copy_pg: $*"; FAILED=1; }
pg_test_tmp store-copy
START=$SECONDS
pg_lab_start || { fail "tests/lab/pg start"; exit 1; }
export PGPASSFILE=$TMP/pgpass
for b in sqlite pg; do
	{
		[ $b = sqlite ] && echo "state_database = $TMP/old.db"
		[ $b = pg ] && echo "state_database = $PG_URL"
		echo "federated_domains = example.org"
		echo "systems = s1 s2"
		echo "s1_domain = s1.example.org"
		echo "s2_domain = s2.example.org"
	} >"$TMP/$b.conf"
done
old() { "$CTL" -c "$TMP/sqlite.conf" "$@"; }
new() { "$CTL" -c "$TMP/pg.conf" "$@"; }
step() { echo "store_copy_pg: $((SECONDS - START))s: $*"; }
pgq() { "$PSQL" -X -At -h 127.0.0.1 -p "$PG_PORT" -U fedmig -d fedmig -c "$1"; }

step "a SQLite store with what a site has"
# What a site has after a while on one host.
python3 - "$TMP" <<'PY'
import sys
t = sys.argv[1]
with open(t + "/dir.csv", "w") as f:
    f.write("access,system,physical,aliases\n")
    for i in range(200):
        f.write(f'user{i}@example.org,s1,user{i}@s1.example.org,"al{i}@example.org"\n')
with open(t + "/batch.csv", "w") as f:
    for i in range(50):
        f.write(f"user{i}@example.org,s2,2030-01-01 22:00,\n")
PY
old directory import "$TMP/dir.csv" >/dev/null || fail "directory import"
old import "$TMP/batch.csv" >/dev/null || fail "import"
old agent add a1 >/dev/null || fail "agent add"
old frontend add mx1 || fail "frontend add"
old viewer add v1 >/dev/null || fail "viewer add"
# Rows of every type in each table still empty (the schema's own types).
python3 - "$TMP/old.db" <<'PY' || fail "synthetic rows"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                   " AND name NOT LIKE 'sqlite_%' AND name <> 'schema_version'")]
for t in tables:
    if db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]:
        continue
    cols = db.execute(f'PRAGMA table_info("{t}")').fetchall()
    for row in range(3):
        vals = []
        for c in cols:
            ty = c[2].upper()
            if "INT" in ty:
                vals.append(9007199254740993 + row * 100 + c[0])  # 2^53 + 1: no double
            elif "BLOB" in ty:
                vals.append(bytes([0, 255, row, c[0]]) + b"\x00end")
            else:
                vals.append(f"{t}.{c[1]} {row} 'q' \"dq\" \\b\ttab\nnl é ü 漢")
        db.execute(f'INSERT INTO "{t}" VALUES({",".join("?" * len(cols))})', vals)
db.commit()
PY
chown fedmig "$TMP/old.db"

step "refusals"
# --- refusals: the target stays empty ---
empty_target() {
	local n
	n=$(pgq "SELECT count(*) FROM directory" 2>/dev/null) || n=err
	[ "$n" = 0 ] || [ "$n" = err ] || fail "$1: the target is not empty ($n directory rows)"
}
refused() { # WANT LABEL CONF ARGS...: store copy fails, stderr has WANT
	local want=$1 label=$2 conf=$3 out
	shift 3
	if out=$("$CTL" -c "$conf" store copy "$@" 2>&1); then
		fail "$label: accepted: $out"
	fi
	case "$out" in *"$want"*) echo "store_copy_pg: refused ($label): $out" ;;
	*) fail "$label: '$out', want '$want'" ;; esac
	empty_target "$label"
}
refused "not a postgresql:// URL" "a SQLite target" "$TMP/sqlite.conf" "$TMP/old.db"
refused "No such file" "a missing file" "$TMP/pg.conf" "$TMP/none.db"
ln -s "$TMP/old.db" "$TMP/link.db"
refused "a link is refused" "a link" "$TMP/pg.conf" "$TMP/link.db"
bad() { # NAME SQL: a copy of old.db changed by SQL
	cp "$TMP/old.db" "$TMP/$1.db" && chown fedmig "$TMP/$1.db"
	python3 -c 'import sqlite3, sys; d = sqlite3.connect(sys.argv[1]); d.executescript(sys.argv[2]); d.commit()' \
		"$TMP/$1.db" "$2" || fail "making $1.db"
}
bad text "UPDATE requests SET state = 'two' WHERE id = (SELECT max(id) FROM requests)"
refused "table requests, row 50" "text in an integer column" "$TMP/pg.conf" "$TMP/text.db"
bad real "UPDATE directory SET held_since = 1.5 WHERE access = 'user7@example.org'"
refused "a real number" "a real number" "$TMP/pg.conf" "$TMP/real.db"
bad extra 'CREATE TABLE "x""; DROP TABLE requests; --"(a INTEGER)'
refused "the source has a table the target has not" "an unknown table" "$TMP/pg.conf" "$TMP/extra.db"
[ "$(pgq "SELECT count(*) FROM requests")" = 0 ] || fail "requests is gone on the target"
# A pilot leading on the file (its lock, lib/db_lock.c) must be stopped first.
touch "$TMP/old.db.pilot-lock"
python3 -c 'import fcntl, sys, time
f = open(sys.argv[1])
fcntl.flock(f, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(30)' "$TMP/old.db.pilot-lock" >"$TMP/locker.out" &
LOCKER=$!
for _ in $(seq 50); do grep -q locked "$TMP/locker.out" && break; sleep 0.1; done
refused "fedmig-spm is running" "a running pilot" "$TMP/pg.conf" "$TMP/old.db"
kill "$LOCKER"
wait "$LOCKER" 2>/dev/null

step "the copy"
# --- the copy ---
t0=$SECONDS
out=$(new store copy "$TMP/old.db" 2>&1) || fail "store copy: $out"
echo "$out" | sed 's/^/  /'
echo "store_copy_pg: copied in $((SECONDS - t0)) s"
[ "$(stat -c %U "$TMP/old.db")" = fedmig ] || fail "old.db changed owner"
[ -e "$TMP/old.db-wal" ] && [ "$(stat -c %U "$TMP/old.db-wal")" != fedmig ] && fail "root left old.db-wal"
rows=$(python3 -c 'import sqlite3, sys
d = sqlite3.connect(sys.argv[1])
ts = [r[0] for r in d.execute("SELECT name FROM sqlite_master WHERE type = '"'table'"' AND name NOT LIKE '"'sqlite_%'"' AND name <> '"'schema_version'"'")]
print(sum(d.execute("SELECT count(*) FROM \"%s\"" % t).fetchone()[0] for t in ts))' "$TMP/old.db")
case "$out" in *"copied $rows rows from"*) ;; *) fail "copied: want $rows rows: $out" ;; esac

# Every table, value for value: SQLite's values against PostgreSQL's COPY
# text (NULL \N, bytea \x..., escapes undone).
python3 - "$TMP/old.db" "$PSQL" "$PG_PORT" <<'PY' || fail "the tables differ"
import sqlite3, subprocess, sys
db = sqlite3.connect(sys.argv[1])
def pg(sql):
    return subprocess.run([sys.argv[2], "-X", "-At", "-h", "127.0.0.1", "-p", sys.argv[3],
                           "-U", "fedmig", "-d", "fedmig", "-c", sql],
                          check=True, capture_output=True).stdout.decode()
def unescape(f):
    if f == "\\N":
        return None
    out, i = [], 0
    esc = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "\\": "\\"}
    while i < len(f):
        if f[i] == "\\" and i + 1 < len(f):
            out.append(esc.get(f[i + 1], f[i + 1])); i += 2
        else:
            out.append(f[i]); i += 1
    return "".join(out)
cols = {}
for line in pg("SELECT table_name, column_name, data_type FROM information_schema.columns"
               " WHERE table_schema = current_schema() AND table_name <> 'schema_version'"
               " ORDER BY table_name, ordinal_position").splitlines():
    t, c, ty = line.split("|")
    cols.setdefault(t, []).append((c, ty))
bad = 0
for t, cs in sorted(cols.items()):
    names = ",".join('"%s"' % c for c, _ in cs)
    mine = []
    for r in db.execute('SELECT %s FROM "%s"' % (names, t)):
        row = []
        for (c, ty), v in zip(cs, r):
            if v is None:
                row.append(None)
            elif ty == "bytea":
                row.append("\\x" + (v if isinstance(v, bytes) else v.encode()).hex())
            else:
                row.append(str(v))
        mine.append(tuple(row))
    out = subprocess.run([sys.argv[2], "-X", "-h", "127.0.0.1", "-p", sys.argv[3], "-U", "fedmig",
                          "-d", "fedmig", "-c", 'COPY (SELECT %s FROM "%s") TO STDOUT' % (names, t)],
                         check=True, capture_output=True).stdout.decode()
    theirs = [tuple(unescape(f) for f in line.split("\t")) for line in out.split("\n") if line != ""]
    key = lambda r: tuple("" if v is None else v for v in r)
    if sorted(mine, key=key) != sorted(theirs, key=key):
        print("store_copy_pg: table %s differs: %d rows here, %d there" % (t, len(mine), len(theirs)))
        bad = 1
print("store_copy_pg: %d tables compared value for value" % len(cols))
sys.exit(bad)
PY
step "fedmigctl on both"
for cmd in "list" "directory list" "agent list" "frontend list" "report"; do
	# shellcheck disable=SC2086 # the words of the command
	a=$(old $cmd 2>&1) b=$(new $cmd 2>&1)
	[ "$a" = "$b" ] || fail "fedmigctl $cmd differs: $(diff <(echo "$a") <(echo "$b") | head -n 4)"
done
[ "$(new directory lookup al7@example.org)" = user7@s1.example.org ] || fail "lookup of an alias"
# A second copy: the target is not empty any more.
refused_nonempty() {
	local out
	if out=$(new store copy "$TMP/old.db" 2>&1); then fail "a second copy was accepted"; fi
	case "$out" in *"the target is not empty"*) ;; *) fail "a second copy: $out" ;; esac
}
refused_nonempty
# New rows get new ids: the identity sequences were moved past the copy.
max=$(pgq "SELECT max(id) FROM requests")
new submit user199@example.org --to s2 >/dev/null || fail "submit on the copy"
id=$(pgq "SELECT id FROM requests WHERE access = 'user199@example.org'")
[ -n "$id" ] && [ "$id" -gt "$max" ] || fail "the new request's id $id is not above $max"
echo "store_copy_pg: $((SECONDS - START))s"
[ "$FAILED" = 0 ] && echo "PASS store_copy_pg ($rows rows of a SQLite store on PostgreSQL, value for value; 8 refusals left the target empty)"
exit "$FAILED"
