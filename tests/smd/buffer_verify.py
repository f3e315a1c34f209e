#!/usr/bin/env python3
"""Every buffer item of a request is on the target exactly once, with its
bytes, flags and INTERNALDATE (as an instant), read back over IMAP
(tests/integ/smd_buffer.sh).

usage: buffer_verify.py DB REQUEST IMAP_PORT LOGIN PASSWORD"""
import hashlib, imaplib, re, sqlite3, sys, collections, datetime
ts = lambda d: int(datetime.datetime.strptime(d.strip(), "%d-%b-%Y %H:%M:%S %z").timestamp())
db, req, port, login, pw = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
c = sqlite3.connect(db)
want = collections.Counter()
for f, flags, date, sha in c.execute("SELECT folder, flags, date, sha256 FROM agent_items WHERE request_id = ?", (req,)):
    want[(f, " ".join(sorted(flags.split())), ts(date), sha.hex())] += 1
im = imaplib.IMAP4("127.0.0.1", port); im.login(login, pw)
got = collections.Counter()
for f in sorted({k[0] for k in want}):
    typ, _ = im.select('"%s"' % f, readonly=True)
    assert typ == "OK", f
    typ, data = im.uid("FETCH", "1:*", "(FLAGS INTERNALDATE BODY.PEEK[])")
    for part in data:
        if not isinstance(part, tuple):
            continue
        meta = part[0].decode()
        fl = re.search(r"FLAGS \(([^)]*)\)", meta).group(1)
        fl = " ".join(sorted(x for x in fl.split() if x != "\\Recent"))
        d = re.search(r'INTERNALDATE "([^"]+)"', meta).group(1)
        got[(f, fl, ts(d), hashlib.sha256(part[1]).hexdigest())] += 1
im.logout()
w, g = want, got
if w != g:
    print("MISMATCH: missing", sum((w - g).values()), "extra", sum((g - w).values()))
    for k in list((w - g))[:3]: print(" missing", k)
    for k in list((g - w))[:3]: print(" extra", k)
    sys.exit(1)
print(f"verified: {sum(g.values())} messages identical (bytes, flags, dates)")
