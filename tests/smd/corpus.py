#!/usr/bin/env python3
"""Generate a test corpus on an IMAP server (fedmig-smd tests and bench).

Per mailbox: INBOX, Sent, Drafts, Trash, Junk, Archive with year
subfolders, non-ASCII names (modified UTF-7), a name with '&', a
three-level path under a parent that is only a path (\\Noselect), an empty
folder, unsubscribed folders; messages of mixed sizes (plain, multipart
with 8-bit text and base64 or raw 8-bit attachments), flags, keywords,
INTERNALDATEs over ten years in assorted zones, exact duplicates within
and across folders, reused Message-IDs, messages without Message-ID.

  corpus.py --host H --port P --login-fmt '{user}*MASTER' --password PW
            --users alice,bob --messages 500 [--avg-kb 50] [--big-mb 50]
            [--seed N] [--jobs 2]
"""
import argparse
import concurrent.futures
import imaplib
import random
import sys
import time

FOLDERS = [
    # (name as sent to the server (modified UTF-7), subscribed, weight)
    ("INBOX", True, 30),
    ("Sent", True, 15),
    ("Drafts", True, 3),
    ("Trash", True, 5),
    ("Junk", False, 2),
    ("Archive", True, 5),
    ("Archive/2015", False, 8),
    ("Archive/2016", True, 8),
    ("Donn&AOk-es", True, 6),          # Données
    ("&ZeVnLIqe-", True, 4),           # 日本語
    ("R&AOk-sum&AOk- &- notes", True, 4),  # Résumé & notes
    ("Projects/Alpha/Specs", True, 10),  # Projects and Projects/Alpha: \Noselect
    ("Empty", False, 0),
]
KEYWORDS = ["$Forwarded", "$MDNSent", "Work", "Todo", "$label1"]
ZONES = ["+0000", "+0100", "+0200", "-0500", "-0800", "+0530", "+0900", "-0330"]
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def internaldate(rnd):
    t = rnd.randint(int(time.time()) - 10 * 365 * 86400, int(time.time()) - 3600)
    tm = time.gmtime(t)
    return '"%02d-%s-%04d %02d:%02d:%02d %s"' % (
        tm.tm_mday, MONTHS[tm.tm_mon - 1], tm.tm_year, tm.tm_hour, tm.tm_min, tm.tm_sec,
        rnd.choice(ZONES))


def text_lines(rnd, nbytes, eight_bit=False):
    words = ["mail", "migration", "federation", "report", "budget", "meeting", "draft",
             "attached", "please", "review", "thanks", "regards", "schedule", "server"]
    if eight_bit:
        words += ["réunion", "données", "Grüße", "日本語", "café", "naïve"]
    out, size = [], 0
    while size < nbytes:
        line = " ".join(rnd.choice(words) for _ in range(rnd.randint(5, 12)))
        out.append(line)
        size += len(line.encode()) + 2
    return "\r\n".join(out).encode()


def b64_block(rnd, nbytes):
    import base64
    raw = rnd.randbytes(nbytes * 3 // 4)
    enc = base64.b64encode(raw)
    return b"\r\n".join(enc[i:i + 76] for i in range(0, len(enc), 76))


def raw_8bit(rnd, nbytes):
    # Every byte value but NUL, CR and LF, in CRLF lines: "binary" content
    # IMAP can carry in a plain literal.
    vals = bytes(b for b in range(1, 256) if b not in (10, 13))
    lines = []
    while nbytes > 0:
        n = min(nbytes, rnd.randint(40, 200))
        lines.append(bytes(rnd.choice(vals) for _ in range(n)))
        nbytes -= n + 2
    return b"\r\n".join(lines)


def message(rnd, user, i, size, with_mid=True, mid=None):
    hdr = [
        b"Return-Path: <sender%d@example.net>" % rnd.randint(1, 50),
        b"From: Sender <sender@example.net>",
        ("To: %s" % user).encode(),
        ("Subject: test %d r\xe9sum\xe9" % i).encode("latin-1") if rnd.random() < 0.05
        else ("Subject: test message %d" % i).encode(),
        b"Date: Mon, 1 Jan 2018 10:00:00 +0000",
    ]
    if with_mid:
        hdr.append(("Message-ID: <%s@corpus.example>" % (mid or "%s.%d.%d" % (
            user.split("@")[0], i, rnd.randint(0, 1 << 30)))).encode())
    hdr.append(b"MIME-Version: 1.0")
    kind = rnd.random()
    if size < 30000 or kind < 0.5:
        hdr.append(b"Content-Type: text/plain; charset=utf-8")
        hdr.append(b"Content-Transfer-Encoding: 8bit")
        body = text_lines(rnd, size, eight_bit=rnd.random() < 0.3)
    else:
        boundary = b"b%d" % rnd.randint(0, 1 << 40)
        hdr.append(b'Content-Type: multipart/mixed; boundary="' + boundary + b'"')
        text = text_lines(rnd, 500, eight_bit=True)
        if rnd.random() < 0.7:
            att_hdr = b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64"
            att = b64_block(rnd, size)
        else:
            att_hdr = b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: 8bit"
            att = raw_8bit(rnd, size)
        body = (b"--" + boundary + b"\r\nContent-Type: text/plain; charset=utf-8\r\n"
                b"Content-Transfer-Encoding: 8bit\r\n\r\n" + text + b"\r\n--" + boundary +
                b"\r\n" + att_hdr + b"\r\n\r\n" + att + b"\r\n--" + boundary + b"--")
    return b"\r\n".join(hdr) + b"\r\n\r\n" + body + b"\r\n"


def pick_size(rnd, avg_kb):
    r = rnd.random()
    scale = avg_kb / 50.0
    if r < 0.94:
        return int(rnd.randint(2000, 20000) * scale) + 200
    if r < 0.9995:
        return int(rnd.randint(100000, 1000000) * scale) + 200
    return int(rnd.randint(10, 14) * 1024 * 1024 * scale)


def flags(rnd):
    f = []
    for name, p in (("\\Seen", 0.7), ("\\Answered", 0.2), ("\\Flagged", 0.1), ("\\Draft", 0.03)):
        if rnd.random() < p:
            f.append(name)
    for k in KEYWORDS:
        if rnd.random() < 0.08:
            f.append(k)
    return "(" + " ".join(f) + ")"


def connect(a, user):
    c = imaplib.IMAP4(a.host, a.port)
    c.login(a.login_fmt.format(user=user), a.password)
    return c


def fill(a, user, seed):
    rnd = random.Random(seed)
    c = connect(a, user)
    names = [f[0] for f in FOLDERS]
    for name, subscribed, _ in FOLDERS:
        q = '"%s"' % name
        if name != "INBOX":
            typ, data = c.create(q)
            if typ != "OK" and b"exists" not in b" ".join(data).lower():
                sys.exit("create %s: %s" % (name, data))
        if subscribed:
            c.subscribe(q)
        else:
            c.unsubscribe(q)
    weights = [f[2] for f in FOLDERS]
    made = []  # (folder, flags, date, bytes) for duplicates
    n = 0
    for i in range(a.messages):
        folder = rnd.choices(names, weights)[0]
        r = rnd.random()
        if made and r < 0.015:
            # exact duplicate in another folder (or the same)
            _, fl, dt, msg = rnd.choice(made)
            if rnd.random() < 0.33:
                folder = made[-1][0]
        elif made and r < 0.02:
            # a reused Message-ID with different content
            fl, dt = flags(rnd), internaldate(rnd)
            msg = message(rnd, user, i, pick_size(rnd, a.avg_kb), mid="reused.%d" % (i % 7))
        else:
            fl, dt = flags(rnd), internaldate(rnd)
            msg = message(rnd, user, i, pick_size(rnd, a.avg_kb), with_mid=rnd.random() > 0.01)
        typ, data = c.append(folder if folder == "INBOX" else '"%s"' % folder, fl, dt, msg)
        if typ != "OK":
            sys.exit("append to %s: %s" % (folder, data))
        made.append((folder, fl, dt, msg))
        if len(made) > 50:
            made.pop(0)
        n += 1
    # an exact duplicate within one folder, always
    if made:
        folder, fl, dt, msg = made[-1]
        c.append(folder if folder == "INBOX" else '"%s"' % folder, fl, dt, msg)
        c.append(folder if folder == "INBOX" else '"%s"' % folder, fl, dt, msg)
        # and one without Message-ID, twice
        msg = message(rnd, user, -1, 3000, with_mid=False)
        c.append("INBOX", "(\\Seen)", internaldate(rnd), msg)
        c.append("INBOX", "(\\Seen)", internaldate(rnd), msg)
        n += 4
    if a.big_mb:
        big = message(rnd, user, -2, 0)
        body = b64_block(rnd, a.big_mb * 1024 * 1024)
        big = (b"From: big@example.net\r\nTo: %s\r\nSubject: big\r\nMessage-ID: <big.%d@corpus>\r\n"
               b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
               % (user.encode(), seed)) + body + b"\r\n"
        c.append("Archive", "(\\Seen $Forwarded)", internaldate(rnd), big)
        n += 1
    c.logout()
    return n


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--login-fmt", default="{user}")
    p.add_argument("--password", required=True)
    p.add_argument("--users", required=True)
    p.add_argument("--messages", type=int, default=500)
    p.add_argument("--avg-kb", type=float, default=50)
    p.add_argument("--big-mb", type=int, default=0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--jobs", type=int, default=2)
    a = p.parse_args()
    users = a.users.split(",")
    with concurrent.futures.ThreadPoolExecutor(a.jobs) as ex:
        counts = list(ex.map(lambda iu: fill(a, iu[1], a.seed * 1000 + iu[0]), enumerate(users)))
    print("corpus: %d mailboxes, %d messages" % (len(users), sum(counts)))


if __name__ == "__main__":
    main()
