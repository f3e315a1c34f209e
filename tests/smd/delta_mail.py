#!/usr/bin/env python3
"""Changes a mailbox over IMAP between fedmig-smd's delta passes, and dumps
it, for tests/integ/delta_lab.sh (python imaplib: nothing shared with
fedmig-smd). Every message has a Message-ID <mN@delta.test>.

  delta_mail.py PORT LOGIN PASSWORD ACTION [ARG...]

ACTION: seed SEED | add FOLDER N... | flags FOLDER N +|-|=(FLAGS) |
expunge FOLDER N... | move FROM TO N | create FOLDER | rename FROM TO |
delete FOLDER | subscribe FOLDER | unsubscribe FOLDER | dump
dump prints one line per message: folder, Message-ID, sorted flags
(without \\Recent), and a line per subscription; exit 1 when a Message-ID
is present twice in the mailbox.
"""
import imaplib
import random
import re
import sys

KEYWORDS = ["$Label1", "$Work", "Todo", "\\Seen", "\\Flagged", "\\Answered"]


def msg(n):
    return (b"From: sender%d@example.net\r\nTo: u@example.org\r\nSubject: delta %d\r\n"
            b"Message-ID: <m%d@delta.test>\r\n\r\nbody %d\r\n" % (n, n, n, n)) + b"x" * (n * 37 % 900)


def add(c, folder, n, rnd=None):
    fl = " ".join(sorted(set(rnd.sample(KEYWORDS, rnd.randint(0, 3))))) if rnd else ""
    typ, _ = c.append(folder, "(%s)" % fl, imaplib.Time2Internaldate(1500000000 + n * 3600), msg(n))
    assert typ == "OK", (folder, n)


def uid_of(c, folder, n):
    c.select(folder)
    typ, data = c.uid("SEARCH", None, "HEADER", "Message-ID", "<m%d@delta.test>" % n)
    uids = data[0].split()
    assert typ == "OK" and len(uids) == 1, (folder, n, data)
    return uids[0].decode()


def dump(c):
    typ, boxes = c.list()
    seen = {}
    for b in boxes:
        name = re.match(rb'^\(([^)]*)\) (?:"[^"]*"|NIL) (.*)$', b).group(2).decode().strip('"')
        if b"\\Noselect" in b:
            continue
        c.select('"%s"' % name, readonly=True)
        typ, data = c.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
        for d in data:
            if not isinstance(d, tuple):
                continue
            mid = re.search(rb"<(m\d+)@delta.test>", d[1]).group(1).decode()
            fl = re.search(rb"FLAGS \(([^)]*)\)", d[0]).group(1).decode().split()
            fl = " ".join(sorted(f for f in fl if f != "\\Recent"))
            print("%s %s %s" % (name, mid, fl))
            seen[mid] = seen.get(mid, 0) + 1
    typ, subs = c.lsub()
    for s in sorted(subs):
        if s:
            print("subscribed %s" % s.decode().split(' ', 2)[2].strip('"'))
    dup = [m for m, k in seen.items() if k > 1]
    if dup:
        print("duplicate %s" % " ".join(sorted(dup)), file=sys.stderr)
        return 1
    return 0


def main():
    port, login, pw, action, args = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
    c = imaplib.IMAP4("127.0.0.1", port)
    c.login(login, pw)
    rc = 0
    if action == "seed":
        rnd = random.Random(int(args[0]))
        c.create("Work")
        c.subscribe("Work")
        for n in range(1, 31):
            add(c, "INBOX", n, rnd)
        for n in range(31, 41):
            add(c, "Work", n, rnd)
    elif action == "add":
        for n in args[1:]:
            add(c, args[0], int(n))
    elif action == "flags":
        uid = uid_of(c, args[0], int(args[1]))
        op = {"+": "+FLAGS", "-": "-FLAGS", "=": "FLAGS"}[args[2][0]]
        typ, _ = c.uid("STORE", uid, op, args[2][1:])
        assert typ == "OK"
    elif action == "expunge":
        for n in args[1:]:
            uid = uid_of(c, args[0], int(n))
            c.uid("STORE", uid, "+FLAGS.SILENT", "(\\Deleted)")
            c.uid("EXPUNGE", uid)
    elif action == "move":
        uid = uid_of(c, args[0], int(args[2]))
        typ, _ = c.uid("MOVE", uid, args[1])
        assert typ == "OK"
    elif action == "create":
        c.create(args[0])
        c.subscribe(args[0])
    elif action in ("rename", "delete", "subscribe", "unsubscribe"):
        typ, data = getattr(c, action)(*args)
        assert typ == "OK", (action, args, data)
    elif action == "dump":
        rc = dump(c)
    c.logout()
    return rc


if __name__ == "__main__":
    sys.exit(main())
