#!/usr/bin/env python3
"""Independent checker for a mailbox copy: compares source and target over
IMAP (python imaplib, nothing shared with fedmig-smd) and prints every
difference in folders (selectable or \\Noselect), subscriptions, and per
folder the multiset of messages as (SHA-256 of BODY[], flags without
\\Recent, INTERNALDATE).

  check.py --src-port P --dst-port P --password PW --login-fmt '{user}*M'
           --pair SRCUSER=DSTUSER [--pair ...] [--allow-extra INBOX]

Exit 0 when identical, 1 with differences (one per line), 2 on error.
"""
import argparse
import collections
import hashlib
import imaplib
import re
import sys

LIST_RE = re.compile(rb'^\((?P<attrs>[^)]*)\) (?:"(?P<sep>[^"]*)"|NIL) (?P<name>.*)$')
SPECIAL = {b"\\sent", b"\\drafts", b"\\trash", b"\\junk", b"\\archive"}


def unquote(b):
    b = b.strip()
    if b.startswith(b'"') and b.endswith(b'"'):
        b = b[1:-1].replace(b'\\"', b'"').replace(b"\\\\", b"\\")
    return b.decode()


def listing(c, cmd):
    typ, data = c._simple_command(cmd, '""', '"*"')
    typ, data = c._untagged_response(typ, data, cmd)
    out = {}
    sep = "/"
    i = 0
    while i < len(data):
        d = data[i]
        if d is None:
            i += 1
            continue
        if isinstance(d, tuple):  # name as a literal
            head, lit = d
            m = LIST_RE.match(head.rsplit(b" ", 1)[0] + b" X")
            attrs = m.group("attrs").lower().split()
            name = lit.decode()
            i += 1
        else:
            m = LIST_RE.match(d)
            if not m:
                i += 1
                continue
            attrs = m.group("attrs").lower().split()
            name = unquote(m.group("name"))
        if m.group("sep"):
            sep = m.group("sep").decode()
        if name.upper() == "INBOX":
            name = "INBOX"
        out[name] = set(attrs)
        i += 1
    return out, sep


def messages(c, folder):
    typ, data = c.select('"%s"' % folder if folder != "INBOX" else "INBOX", readonly=True)
    if typ != "OK":
        raise RuntimeError("select %s: %s" % (folder, data))
    n = int(data[0])
    result = collections.Counter()
    for start in range(1, n + 1, 50):
        end = min(n, start + 49)
        typ, data = c.fetch("%d:%d" % (start, end), "(FLAGS INTERNALDATE BODY.PEEK[])")
        for d in data:
            if not isinstance(d, tuple):
                continue
            head, body = d
            fl = re.search(rb"FLAGS \(([^)]*)\)", head)
            dt = re.search(rb'INTERNALDATE "([^"]*)"', head)
            flags = tuple(sorted(f for f in (fl.group(1).decode().split() if fl else [])
                                 if f.lower() != "\\recent"))
            result[(hashlib.sha256(body).hexdigest(), flags, dt.group(1).decode() if dt else "")] += 1
    return result


def connect(host, port, login, pw):
    c = imaplib.IMAP4(host, port)
    c.login(login, pw)
    return c


def check_pair(a, su, du):
    diffs = []
    s = connect(a.host, a.src_port, a.login_fmt.format(user=su), a.password)
    d = connect(a.host, a.dst_port, a.login_fmt.format(user=du), a.password)
    sf, ssep = listing(s, "LIST")
    df, dsep = listing(d, "LIST")
    ss, _ = listing(s, "LSUB")
    ds, _ = listing(d, "LSUB")
    special_dst = {}
    for name, attrs in df.items():
        for x in attrs & SPECIAL:
            special_dst.setdefault(x, name)

    def target(name):
        if name == "INBOX":
            return name
        for x in sf.get(name, set()) & SPECIAL:
            if x in special_dst:
                return special_dst[x]
        return name.replace(ssep, dsep) if ssep != dsep else name

    mapped = {}
    for name, attrs in sf.items():
        t = target(name)
        mapped[t] = name
        noselect = bool(attrs & {b"\\noselect", b"\\nonexistent"})
        if t not in df:
            diffs.append("%s: folder %s missing on the target (as %s)" % (su, name, t))
            continue
        dnoselect = bool(df[t] & {b"\\noselect", b"\\nonexistent"})
        if noselect != dnoselect:
            diffs.append("%s: folder %s: \\Noselect %s on the source, %s on the target" %
                         (su, name, noselect, dnoselect))
    for t in df:
        if t not in mapped:
            diffs.append("%s: folder %s only on the target" % (du, t))
    want_subs = {target(n) for n in ss}
    if want_subs != set(ds):
        diffs.append("%s: subscriptions differ: source %s target %s" %
                     (su, sorted(want_subs), sorted(ds)))
    for name, attrs in sorted(sf.items()):
        if attrs & {b"\\noselect", b"\\nonexistent"}:
            continue
        t = target(name)
        if t not in df:
            continue
        sm, dm = messages(s, name), messages(d, t)
        extra = dm - sm
        missing = sm - dm
        for k, v in missing.items():
            diffs.append("%s: folder %s: %d x message sha256=%s flags=%s date=%s missing or "
                         "different on the target" % (su, name, v, k[0][:16], k[1], k[2]))
        if name not in a.allow_extra:
            for k, v in extra.items():
                diffs.append("%s: folder %s: %d x message sha256=%s flags=%s date=%s extra on "
                             "the target" % (du, t, v, k[0][:16], k[1], k[2]))
    s.logout()
    d.logout()
    return diffs


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--src-port", type=int, required=True)
    p.add_argument("--dst-port", type=int, required=True)
    p.add_argument("--login-fmt", default="{user}")
    p.add_argument("--password", required=True)
    p.add_argument("--pair", action="append", required=True)
    p.add_argument("--allow-extra", action="append", default=[])
    a = p.parse_args()
    diffs = []
    try:
        for pair in a.pair:
            su, du = pair.split("=", 1)
            diffs += check_pair(a, su, du)
    except Exception as e:  # noqa: BLE001 - report, do not trace
        print("check: error: %s" % e)
        return 2
    for x in diffs:
        print(x)
    print("check: %d differences" % len(diffs))
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
