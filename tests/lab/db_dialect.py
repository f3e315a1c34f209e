#!/usr/bin/env python3
"""The SQLite-only constructs in the store's SQL (lib/store*.c), counted.

Usage: tests/lab/db_dialect.py [--list NAME] [FILE...]
       tests/lab/db_dialect.py --pg DIR   (DIR of a started tests/lab/pg)

Every C string literal of the files (adjacent literals and the string
macros they use joined into one), split at ';' into statements; a
statement is SQL when it starts with a SQL verb. Each check is a regular
expression over the statement with its quoted text removed, so a word in
a string literal never counts. Prints, per construct, the statements and
occurrences; --list NAME prints the statements of one construct. The
conversion onto lib/db.h (HACKING, "The store on PostgreSQL") follows this
list, and runs it again to show every count at 0 that must be.

--pg DIR tries the SQL on that server: the schema versions as the store
creates them there (each version's PostgreSQL text from
store_schema_pg.c, or its one text) in a fresh schema, then every other
statement through PREPARE (with ?N as $N), which checks tables, columns,
functions and parameter types without running anything. It prints each
statement PostgreSQL refuses, and why: today only the SQLite half of
store.c's store_sql() pair (sqlite_master), whose PostgreSQL half passes.
"""
import glob
import os
import re
import subprocess
import sys
import tempfile

# The store writes SQL keywords in capitals: a message is not SQL.
VERBS = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|PRAGMA|BEGIN|COMMIT|"
                   r"ROLLBACK|WITH|REPLACE|SAVEPOINT)\b")
DML = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b")

# name: (regex over the statement without its quoted text, API calls too?)
CHECKS = [
    ("INSERT OR IGNORE", r"\bINSERT\s+OR\s+IGNORE\b"),
    ("INSERT OR REPLACE / REPLACE INTO", r"\bINSERT\s+OR\s+REPLACE\b|^\s*REPLACE\s+INTO\b"),
    ("ON CONFLICT (upsert / do nothing)", r"\bON\s+CONFLICT\b"),
    ("excluded.col in an upsert", r"\bexcluded\."),
    ("AUTOINCREMENT", r"\bAUTOINCREMENT\b"),
    ("INTEGER PRIMARY KEY (rowid alias)", r"\bINTEGER\s+PRIMARY\s+KEY\b"),
    ("rowid / oid column", r"(?<!without )\b(rowid|_rowid_|oid)\b"),
    ("WITHOUT ROWID", r"\bWITHOUT\s+ROWID\b"),
    ("INTEGER column (32-bit on PostgreSQL)", r"\bINTEGER\b"),
    ("BLOB column", r"\bBLOB\b"),
    ("last_insert_rowid()", r"\blast_insert_rowid\s*\("),
    ("changes() / total_changes()", r"\b(total_)?changes\s*\("),
    ("PRAGMA", r"^\s*PRAGMA\b"),
    ("sqlite_master / sqlite_schema", r"\bsqlite_(master|schema|sequence)\b"),
    ("strftime()", r"\bstrftime\s*\("),
    ("date/time/datetime/julianday/unixepoch()",
     r"\b(datetime|julianday|unixepoch|date|time)\s*\("),
    ("|| concatenation", r"\|\|"),
    ("LIKE", r"\bLIKE\b"),
    ("GLOB", r"\bGLOB\b"),
    ("ESCAPE", r"\bESCAPE\b"),
    ("/ division", r"[^/*]/[^/*]"),
    ("% modulo", r"%(?![sd%])"),
    ("bit operators & | << >>", r"(?<![|&<>])(&|\|(?!\|)|<<|>>)(?![|&<>])"),
    ("TRUE / FALSE literals", r"\b(TRUE|FALSE)\b"),
    ("LIMIT -1", r"\bLIMIT\s+-\s*1\b"),
    ("LIMIT/OFFSET with a parameter", r"\b(LIMIT|OFFSET)\s+\?\d"),
    ("partial index (CREATE INDEX ... WHERE)", r"\bCREATE\s+(UNIQUE\s+)?INDEX\b.*\bWHERE\b"),
    ("CREATE ... IF NOT EXISTS", r"\bCREATE\s+.*\bIF\s+NOT\s+EXISTS\b"),
    ("DROP ... IF EXISTS", r"\bDROP\s+\w+\s+IF\s+EXISTS\b"),
    ("ALTER TABLE", r"\bALTER\s+TABLE\b"),
    ("group_concat()", r"\bgroup_concat\s*\("),
    ("ifnull()", r"\bifnull\s*\("),
    ("iif()", r"\biif\s*\("),
    ("scalar max(a, b) / min(a, b)", r"\b(max|min)\s*\([^()]*,[^()]*\)"),
    ("substr() / instr() / printf() / typeof()", r"\b(substr|instr|printf|typeof|hex|total)\s*\("),
    ("length()", r"\blength\s*\("),
    ("random()", r"\brandom\s*\("),
    ("COLLATE NOCASE", r"\bCOLLATE\s+NOCASE\b"),
    ("== comparison", r"=="),
    ("IS / IS NOT between values", r"\bIS\s+(NOT\s+)?(?!NULL\b)[?\w]"),
    ("UPDATE ... FROM (outside subqueries)", r"^\s*UPDATE\b[^()]*\bFROM\b"),
    ("DELETE/UPDATE ... LIMIT", r"^\s*(DELETE|UPDATE)\b.*\bLIMIT\b"),
    ("RETURNING", r"\bRETURNING\b"),
    ("parameter in a SELECT list or next to an operator (may need CAST on PostgreSQL)",
     r"(^\s*SELECT\s+[^;]*?\?\d[^;]*?\bFROM\b)|(\?\d+\s*(\|\||>>|<<|&|\+|-|\*|/)\s*)|"
     r"((\|\||>>|<<|&|\+|-|\*|/)\s*\?\d)|(\bCASE\s+WHEN\s+\?\d)|(\b(coalesce|max|min|ifnull)\s*\(\s*\?\d)|"
     r"(\?\d+\s+IS\b)"),
    ("bare ? or ?0 (db_prepare refuses)", r"\?(?![1-9])"),
    ("$ or E'' (db_prepare refuses)", r"\$|\bE''"),
    ("BEGIN IMMEDIATE / EXCLUSIVE", r"\bBEGIN\s+(IMMEDIATE|EXCLUSIVE|DEFERRED)\b"),
    ("SAVEPOINT", r"\bSAVEPOINT\b"),
]

API = [
    ("sqlite3_* calls", r"\bsqlite3_\w+\s*\("),
    ("sqlite3_last_insert_rowid", r"\bsqlite3_last_insert_rowid\s*\("),
    ("sqlite3_changes", r"\bsqlite3_(total_)?changes(64)?\s*\("),
    ("sqlite3_bind_blob / column_blob", r"\bsqlite3_(bind|column)_blob(64)?\s*\("),
    ("sqlite3_column_type", r"\bsqlite3_column_type\s*\("),
    ("sqlite3_exec", r"\bsqlite3_exec\s*\("),
    ("store_prepare", r"\bstore_prepare\s*\("),
]

LITERAL = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
DEFINE = re.compile(r'^#define\s+(\w+)\s+((?:\\\n\s*)?(?:"(?:[^"\\]|\\.)*"\s*(?:\\\n\s*)?)+)', re.M)
# Between two pieces of one string: blanks, newlines, comments, a macro.
GLUE = re.compile(r'^(\s|/\*.*?\*/)*$', re.S)


def unescape(s):
    return s.replace('\\"', '"').replace("\\n", "\n").replace("\\t", "\t").replace("\\\\", "\\")


# store_int.h's STORE_WORD_IN(W, LIST), expanded as the C preprocessor does.
WORD_IN = re.compile(r'STORE_WORD_IN\("([^"]*)", "([^"]*)"\)')


def strings_of(text, macros):
    """The file's strings, adjacent literals and macro names joined."""
    text = re.sub(r"//[^\n]*", "", text)
    text = WORD_IN.sub(lambda m: "\"replace(' ' || %s || ' ', ' ' || %s || ' ', '') <> ' ' || %s || ' '\""
                       % (m.group(2), m.group(1), m.group(2)), text)
    tokens = []
    for m in re.finditer(r'"(?:[^"\\\n]|\\.)*"|\b[A-Z][A-Z0-9_]+\b', text):
        tok = m.group(0)
        if tok.startswith('"'):
            tokens.append((m.start(), m.end(), unescape(tok[1:-1])))
        elif tok in macros:
            tokens.append((m.start(), m.end(), macros[tok]))
    out, cur, last_end = [], None, None
    for start, end, val in tokens:
        if cur is not None and GLUE.match(text[last_end:start]):
            cur += val
        else:
            if cur is not None:
                out.append(cur)
            cur = val
        last_end = end
    if cur is not None:
        out.append(cur)
    return out


def unquoted(sql):
    """SQL with '...' and "..." text replaced by '' (comments dropped)."""
    sql = re.sub(r"--[^\n]*|/\*.*?\*/", " ", sql, flags=re.S)
    return re.sub(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"", "''", sql)


def toplevel(sql):
    """SQL with every parenthesised part emptied (subqueries, calls)."""
    prev = None
    while prev != sql:
        prev, sql = sql, re.sub(r"\([^()]*\)", "()", sql)
    return sql


def skipped(sql):
    """1 when SQL uses ?N but not every ?1..?N (PostgreSQL cannot type it)."""
    used = {int(n) for n in re.findall(r"\?(\d+)", unquoted(sql))}
    return bool(used) and used != set(range(1, max(used) + 1))


def pg_schema(root, macros):
    """The schema versions as the store creates them on PostgreSQL: each
    version's PostgreSQL text (store_schema_pg.c) where it has one, its
    one text otherwise (store_schema.c), split into statements."""
    def literals(t):
        return "".join(macros.get(n, "") if n else unescape(x)
                       for x, n in re.findall(r'"((?:[^"\\\n]|\\.)*)"|\b([A-Z][A-Z0-9_]+)\b', t))
    src = open(os.path.join(root, "lib", "store_schema.c"), encoding="utf-8").read()
    pgsrc = open(os.path.join(root, "lib", "store_schema_pg.c"), encoding="utf-8").read()
    pgm = dict(macros)
    for m in DEFINE.finditer(pgsrc):
        pgm[m.group(1)] = "".join(unescape(x) for x in LITERAL.findall(m.group(2)))
    body = src[src.index("store_migrations[] = {"):]
    out = []
    for m in re.finditer(r'\{(\d+), ((?:"(?:[^"\\\n]|\\.)*"\s*|[A-Z_]+\s*)+)(?:, (store_pg_v\d+))?\},',
                         body):
        if m.group(3):
            pm = re.search(r"const char %s\[\] =\n(.*?);\n" % m.group(3), pgsrc, re.S)
            macros_save = dict(macros)
            macros.clear(); macros.update(pgm)
            text = literals(pm.group(1))
            macros.clear(); macros.update(macros_save)
        else:
            text = literals(m.group(2))
        out += [" ".join(x.split()) for x in text.split(";") if x.strip()]
    return out


def try_on_pg(pgdir, files, stmts, schema):
    """Each statement on the lab server; the refused ones, with the error."""
    env = dict(line.strip().split("=", 1) for line in open(os.path.join(pgdir, "pg.env")) if "=" in line)
    lines = ["SET client_min_messages = warning;", "DROP SCHEMA IF EXISTS dialect CASCADE;",
             "CREATE SCHEMA dialect;", "SET search_path = dialect;"]
    # The table the store creates before the versions (store.c, upgrade()).
    lines.append("CREATE TABLE schema_version(version BIGINT NOT NULL, upgraded BIGINT NOT NULL);")
    first = len(lines)
    for s in schema:
        lines.append(s + ";")
    schema_files = ("store_schema.c", "store_schema_pg.c")
    other = [st for st in stmts if st[0] not in schema_files and DML.match(st[1])]
    for f, s in other:
        if True:
            lines.append("PREPARE p AS " + re.sub(r"\?(\d+)", r"$\1", s) + "; DEALLOCATE p;")
    lines.append("DROP SCHEMA dialect CASCADE;")
    all_stmts = [("schema", x) for x in schema] + other
    for f, s in stmts:
        if f not in schema_files and not DML.match(s):
            print(f"{f}: not DML, written per backend: {s[:100]}")
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as t:
        t.write("\n".join(lines) + "\n")
    psql = os.environ.get("LAB_PG_BIN", "/usr/lib/postgresql/15/bin") + "/psql"
    run = subprocess.run([psql, "-X", "-q", "-h", "127.0.0.1", "-p", env["PG_PORT"], "-U", "fedmig",
                          "-d", "fedmig", "-v", "ON_ERROR_STOP=0", "-f", t.name],
                         env={"PGPASSFILE": os.path.join(pgdir, "pgpass.server"), "PATH": "/usr/bin:/bin"},
                         capture_output=True, text=True)
    if os.environ.get("DIALECT_DEBUG"):
        sys.stderr.write(run.stderr[:3000] + t.name + "\n")
    else:
        os.unlink(t.name)
    bad = {}
    for m in re.finditer(r"^psql:[^:]+:(\d+): ERROR:\s+(.*)$", run.stderr, re.M):
        bad.setdefault(int(m.group(1)), m.group(2))
    for line, err in sorted(bad.items()):
        i = line - 1 - first
        f, s = all_stmts[i] if 0 <= i < len(all_stmts) else ("?", lines[line - 1])
        print(f"{f}: {err}\n    {s[:300]}")
    print(f"{len(bad)} of {len(all_stmts)} statements refused by PostgreSQL")
    return 0


def main():
    args = sys.argv[1:]
    pgdir = None
    if args[:1] == ["--pg"]:
        pgdir, args = args[1], args[2:]
    listing = None
    if args[:1] == ["--list"]:
        listing, args = args[1], args[2:]
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    files = args or sorted(glob.glob(os.path.join(root, "lib", "store*.c")))
    macros, texts = {}, {}
    headers = sorted(glob.glob(os.path.join(root, "lib", "store*.h")))
    for f in files + headers:
        text = open(f, encoding="utf-8").read()
        if f in files:
            texts[f] = text
        for m in DEFINE.finditer(text):
            macros[m.group(1)] = "".join(unescape(x) for x in LITERAL.findall(m.group(2)))
    stmts = []
    for f in files:
        for s in strings_of(texts[f], macros):
            for part in s.split(";"):
                if VERBS.match(part) and ": %s" not in part:
                    stmts.append((os.path.basename(f), " ".join(part.split())))
    if pgdir is not None:
        return try_on_pg(pgdir, files, stmts, pg_schema(root, macros))
    print(f"{len(stmts)} SQL statements in {len(files)} files")
    for name, rx in CHECKS:
        r = re.compile(rx, re.I | re.S)
        view = toplevel if "outside subqueries" in name else unquoted
        hits = [(f, s) for f, s in stmts if r.search(view(unquoted(s)))]
        occ = sum(len(r.findall(unquoted(s))) for _, s in hits)
        if listing is not None:
            if listing.lower() in name.lower():
                for f, s in hits:
                    print(f"  {f}: {s}")
            continue
        print(f"{len(hits):5d} statements {occ:5d} times  {name}")
    gaps = [(f, s) for f, s in stmts if skipped(s)]
    if listing is not None and "skipped" in listing:
        for f, s in gaps:
            print(f"  {f}: {s}")
    if listing is None:
        print(f"{len(gaps):5d} statements             placeholder numbers skipped (db_prepare refuses)")
        for name, rx in API:
            n = sum(len(re.findall(rx, t)) for t in texts.values())
            print(f"{n:5d} calls                  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
