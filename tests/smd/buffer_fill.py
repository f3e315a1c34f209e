#!/usr/bin/env python3
"""Fill the agent data buffer of a request by hand, as fedmig-apid would
(tests/integ/smd_buffer.sh): batch files under SPOOL/REQ/SEQ.batch, each
fsynced before its agent_batches and agent_items rows commit.

usage: buffer_fill.py DB SPOOL REQUEST MAILBOX MESSAGES PHASE"""
import hashlib, os, random, sqlite3, sys, time

db, spool, req, mailbox, n, phase = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
rnd = random.Random(req)
folders = [("INBOX", 1), ("Work", 1), ("Work/Sub", 0)]
c = sqlite3.connect(db)
c.execute("INSERT OR IGNORE INTO agent_tasks(request_id, src_system, mailbox, agent, phase, created, updated)"
          " VALUES(?, 's1', ?, 'lab-agent', ?, 0, 0)", (req, mailbox, phase))
for f, sub in folders:
    c.execute("INSERT OR IGNORE INTO agent_folders(request_id, folder, sep, attrs, subscribed, done)"
              " VALUES(?, ?, '/', 0, ?, 1)", (req, f, sub))
os.makedirs(f"{spool}/{req}", exist_ok=True)
seq = c.execute("SELECT coalesce(max(seq), 0) FROM agent_batches WHERE request_id = ?", (req,)).fetchone()[0]
flagsets = ["", "\\Seen", "\\Seen \\Flagged $label1", "\\Answered \\Seen", "$Forwarded"]
per = 250
done = 0
total_items = total_bytes = 0
while done < n:
    seq += 1
    f = folders[seq % len(folders)][0]
    uid = c.execute("SELECT coalesce(max(uid), 0) FROM agent_items WHERE request_id = ? AND folder = ?", (req, f)).fetchone()[0]
    k = min(per, n - done)
    rel = f"{req}/{seq}.batch"
    off = 0
    rows = []
    with open(f"{spool}/{rel}", "wb") as fp:
        for i in range(k):
            size = rnd.choice([800, 3000, 12000, 40000])
            body = (f"From: sender{i}@example.net\r\nTo: {mailbox}\r\nSubject: buffer {seq}.{i}\r\n"
                    f"Message-ID: <b{req}.{seq}.{i}@lab>\r\nDate: Mon, 1 Jun 2020 10:00:00 +0000\r\n\r\n").encode()
            line = (b"x" * 74 + b"\r\n")
            body += line * (size // 76) + b"end\r\n"
            fp.write(body)
            uid += 1
            date = "%02d-Jun-2020 %02d:%02d:%02d +0200" % (1 + i % 28, i % 24, i % 60, (i * 7) % 60)
            rows.append((req, f, uid, f"{seq}.{i}", flagsets[i % len(flagsets)], date, len(body),
                         hashlib.sha256(body).digest(), None, off))
            off += len(body)
            total_bytes += len(body)
        fp.flush(); os.fsync(fp.fileno())
    cur = c.execute("INSERT INTO agent_batches(request_id, seq, folder, path, items, duplicates, bytes, live, created)"
                    " VALUES(?, ?, ?, ?, ?, 0, ?, ?, 0)", (req, seq, f, rel, k, off, k))
    bid = cur.lastrowid
    c.executemany("INSERT INTO agent_items(request_id, folder, uid, src_key, flags, date, size, sha256, batch, offset)"
                  " VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [r[:8] + (bid, r[9]) for r in rows])
    c.execute("UPDATE agent_folders SET next_uid = ? WHERE request_id = ? AND folder = ?", (uid + 1, req, f))
    done += k
    total_items += k
c.execute("UPDATE agent_tasks SET items = items + ?, bytes = bytes + ? WHERE request_id = ?", (total_items, total_bytes, req))
c.commit()
print(f"filled request {req}: {total_items} items, {total_bytes} bytes")
