"""Helpers for tests that run against a fedmig lab (tests/lab/lab).

Standard library only. Typical use:

    sys.path.insert(0, os.path.join(REPO, "tests", "lab"))
    import fedlab
    env = fedlab.load_env(lab_dir)
    r = fedlab.send(env, ["alice@s1.example.org"])
    assert r.accepted, r
    fedlab.wait_for(lambda: r.msgid in fedlab.maildir_msgids(env, "s1").get(
        "alice@s1.example.org", []), 10)
"""

import csv
import dataclasses
import email.utils
import imaplib
import io
import json
import os
import re
import smtplib
import sqlite3
import ssl
import subprocess
import threading
import time
import uuid

__all__ = [
    "load_env", "send", "SendResult", "maildir_msgids", "postqueue",
    "wait_queue_empty", "imap_login", "maillog", "wait_for", "SwitchTraffic",
    "state_database", "store_query", "pg_rows",
]


def load_env(lab_dir):
    """Read LAB_DIR/lab.env into a dict (values are strings)."""
    env = {}
    with open(os.path.join(lab_dir, "lab.env")) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                env[key] = value
    return env


def state_database(env):
    """The lab's state_database (a file, or a postgresql:// URL when the
    test runs on tests/lab/pg: tests/integ/on_pg.sh)."""
    db = None
    with open(env["FEDMIG_CONF"]) as f:
        for line in f:
            if line.startswith("state_database") and "=" in line:
                key, value = line.split("=", 1)
                if key.strip() == "state_database":
                    db = value.strip()
    if not db:
        raise SystemExit("%s: no state_database" % env["FEDMIG_CONF"])
    return db


def _sql_literal(v):
    if isinstance(v, bool) or not isinstance(v, (int, str)):
        raise TypeError("store_query: only int and str parameters, not %r" % (v,))
    return str(v) if isinstance(v, int) else "'" + v.replace("'", "''") + "'"


def pg_rows(url, sql, params=(), retry_s=0):
    """(column names, rows) of SQL (? for each of PARAMS, int or str) on
    the PostgreSQL at URL, through psql --csv and the caller's
    PGPASSFILE: integers as int, NULL as None (and so is ''), the rest as
    str. A connection psql cannot make (exit 2: a test restarting the
    server) is tried again for RETRY_S seconds. The parameters are a
    test's own values, so quoting them here is safe."""
    parts = sql.split("?")
    if len(parts) != len(params) + 1:
        raise TypeError("pg_rows: %d parameters for %d '?'" % (len(params), len(parts) - 1))
    text = parts[0] + "".join(_sql_literal(p) + rest for p, rest in zip(params, parts[1:]))
    psql = os.path.join(os.environ.get("LAB_PG_BIN", "/usr/lib/postgresql/15/bin"), "psql")
    deadline = time.monotonic() + retry_s
    while True:
        out = subprocess.run([psql, "-X", "-q", "--csv", "-v", "ON_ERROR_STOP=1", "-d", url,
                              "-c", text], capture_output=True, text=True, timeout=60)
        if out.returncode != 2 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if out.returncode != 0:
        raise RuntimeError("psql: %s: %s" % (text, out.stderr.strip()))

    def value(v):
        if v == "":
            return None
        return int(v) if re.fullmatch(r"-?[0-9]+", v) else v
    rows = list(csv.reader(io.StringIO(out.stdout)))
    return (rows[0] if rows else []), [tuple(map(value, r)) for r in rows[1:]]


def store_query(env, sql, *params):
    """Rows of SQL (? for each of PARAMS) on the lab's store, on either
    backend (pg_rows() on PostgreSQL), so that a test reading the store
    runs on both. Portable SQL only: a comparison's value differs (SQLite
    1, PostgreSQL true), so select CASE WHEN ... THEN 1 ELSE 0 END
    instead."""
    db = state_database(env)
    if not db.startswith("postgresql://"):
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()
    return pg_rows(db, sql, params)[1]


@dataclasses.dataclass
class SendResult:
    """Outcome of one SMTP transaction.

    accepted: the message was queued (250 after the final dot).
    code/text: the last reply that decided the outcome (the reply to the
    final dot, or the first failing MAIL/DATA reply, or the last RCPT reply
    when every recipient was refused; code 0 when the connection broke).
    rcpts: [(address, code, text)] for every RCPT TO.
    """
    accepted: bool
    code: int
    text: str
    queue_id: str = None
    msgid: str = None
    rcpts: list = dataclasses.field(default_factory=list)


_QUEUED = re.compile(r"queued as ([0-9A-Za-z]+)")


def _message(sender, rcpts, msgid, body_size, subject):
    headers = [
        "From: <%s>" % sender,
        "To: %s" % ", ".join("<%s>" % r for r in rcpts),
        "Subject: %s" % (subject or "fedmig lab " + msgid),
        "Date: %s" % email.utils.formatdate(localtime=False),
        "Message-ID: %s" % msgid,
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=us-ascii",
    ]
    # Lines that never start with "." need no dot-stuffing; the body is
    # body_size bytes give or take one line ending.
    line = "fedmig lab body line " + "x" * 51 + "\r\n"
    n, rest = divmod(max(body_size, 0), len(line))
    body = line * n + ("y" * max(rest - 2, 0) + "\r\n" if rest else "")
    return ("\r\n".join(headers) + "\r\n\r\n" + body).encode("ascii")


def send(env, rcpts, msgid=None, sender="tester@fed.example.org",
         body_size=1000, slow_pause=0.0, subject=None, timeout=60):
    """Send one message through the lab's Postfix and report what happened.

    With slow_pause > 0 the client sends RCPTs, DATA and half the body,
    sleeps slow_pause seconds and only then sends the rest and the final
    dot: a transaction that stays open across, say, a switch.
    """
    if isinstance(rcpts, str):
        rcpts = [rcpts]
    if msgid is None:
        msgid = "<%s@fedlab.test>" % uuid.uuid4().hex
    data = _message(sender, rcpts, msgid, body_size, subject)
    result = SendResult(False, 0, "", msgid=msgid)
    try:
        smtp = smtplib.SMTP("127.0.0.1", int(env["SMTP_PORT"]),
                            local_hostname="client.fedlab.test", timeout=timeout)
    except (OSError, smtplib.SMTPException) as e:
        result.text = "connect: %s" % e
        return result
    try:
        code, text = smtp.ehlo()
        if code != 250:
            result.code, result.text = code, _s(text)
            return result
        code, text = smtp.mail(sender)
        if code != 250:
            result.code, result.text = code, _s(text)
            return result
        for rcpt in rcpts:
            code, text = smtp.rcpt(rcpt)
            result.rcpts.append((rcpt, code, _s(text)))
        if not any(code in (250, 251) for _, code, _ in result.rcpts):
            _, result.code, result.text = result.rcpts[-1]
            return result
        smtp.putcmd("data")
        code, text = smtp.getreply()
        if code != 354:
            result.code, result.text = code, _s(text)
            return result
        payload = data + b".\r\n"
        if slow_pause > 0:
            half = len(data) // 2
            smtp.sock.sendall(payload[:half])
            time.sleep(slow_pause)
            smtp.sock.sendall(payload[half:])
        else:
            smtp.sock.sendall(payload)
        code, text = smtp.getreply()
        result.code, result.text = code, _s(text)
        result.accepted = code == 250
        m = _QUEUED.search(result.text)
        if m:
            result.queue_id = m.group(1)
        return result
    except smtplib.SMTPServerDisconnected as e:
        result.text = "disconnected: %s" % e
        return result
    except (OSError, smtplib.SMTPException) as e:
        result.text = "error: %s" % e
        return result
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def _s(text):
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)


def _message_id(path):
    """Message-ID header of a message file (headers only, unfolded)."""
    value = None
    with open(path, "rb") as f:
        for raw in f:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if not line:
                break
            if value is not None and line[:1] in (" ", "\t"):
                value += line.strip()
                continue
            if value is not None:
                break
            if line.lower().startswith("message-id:"):
                value = line.split(":", 1)[1].strip()
    return value


def inbox_deliveries(env, *systems):
    """Every message in the INBOXes of SYSTEMS, per Message-ID.

    Returns {msgid: [(system, localpart, mtime), ...]}, the systems in the
    order given: a Message-ID with more than one entry was delivered more
    than once."""
    out = {}
    for system in systems:
        root = env["%s_MAIL_ROOT" % system.upper()]
        for dom in os.listdir(root):
            for local in os.listdir(os.path.join(root, dom)):
                for sub in ("new", "cur"):
                    d = os.path.join(root, dom, local, "Maildir", sub)
                    if not os.path.isdir(d):
                        continue
                    for name in os.listdir(d):
                        p = os.path.join(d, name)
                        out.setdefault(_message_id(p), []).append(
                            (system, local, os.stat(p).st_mtime))
    return out


def maildir_msgids(env, system, by_folder=False):
    """Message-IDs on disk in one system, keyed by physical address.

    Reads new/ and cur/ of every Maildir++ folder below
    SN_MAIL_ROOT/DOMAIN/LOCALPART/Maildir. Returns
    {"alice@s1.example.org": [msgid, ...]}, or with by_folder=True
    {"alice@s1.example.org": {"INBOX": [...], "Sent": [...]}} (folder names
    use the system's separator). Messages without a Message-ID show as None.
    """
    root = env["%s_MAIL_ROOT" % system.upper()]
    sep = env.get("%s_SEPARATOR" % system.upper(), "/")
    out = {}
    if not os.path.isdir(root):
        return out
    for domain in sorted(os.listdir(root)):
        for local in sorted(os.listdir(os.path.join(root, domain))):
            maildir = os.path.join(root, domain, local, "Maildir")
            if not os.path.isdir(maildir):
                continue
            folders = {"INBOX": maildir}
            for name in os.listdir(maildir):
                if name.startswith(".") and name not in (".", ".."):
                    folders[name[1:].replace(".", sep)] = os.path.join(maildir, name)
            per = {}
            for folder, path in sorted(folders.items()):
                ids = []
                for sub in ("new", "cur"):
                    d = os.path.join(path, sub)
                    try:
                        names = sorted(os.listdir(d))
                    except FileNotFoundError:
                        continue
                    for n in names:
                        try:
                            ids.append(_message_id(os.path.join(d, n)))
                        except FileNotFoundError:
                            pass  # moved new/ -> cur/ meanwhile; seen there
                per[folder] = ids
            addr = "%s@%s" % (local, domain)
            out[addr] = per if by_folder else [i for ids in per.values() for i in ids]
    return out


def postqueue(env):
    """Messages in the lab's Postfix queue, as parsed `postqueue -j` lines."""
    out = subprocess.run(["postqueue", "-c", env["POSTFIX_CONFIG"], "-j"],
                         check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def wait_for(predicate, timeout, interval=0.1):
    """Poll predicate() until it returns a true value or timeout seconds
    pass; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def wait_queue_empty(env, timeout=30, ignore_hold=False):
    """True once the queue is empty (hold queue ignored if asked), False
    on timeout."""
    def empty():
        q = postqueue(env)
        if ignore_hold:
            q = [m for m in q if m.get("queue_name") != "hold"]
        return not q
    return bool(wait_for(empty, timeout, 0.2))


def imap_login(env, system, user, master=True, tls=False, password=None):
    """Logged-in imaplib connection to S1 or S2.

    user: a physical address or just its local part. master=True logs in
    as "user*MASTER_USER" with the master password; tls=True uses the
    imaps port and verifies the server against the lab CA (TLS_CA).
    """
    sysu = system.upper()
    if "@" not in user:
        user = "%s@%s" % (user, env["%s_DOMAIN" % sysu])
    if tls:
        ctx = ssl.create_default_context(cafile=env["TLS_CA"])
        conn = imaplib.IMAP4_SSL("127.0.0.1", int(env["%s_IMAPS_PORT" % sysu]),
                                 ssl_context=ctx, timeout=30)
    else:
        conn = imaplib.IMAP4("127.0.0.1", int(env["%s_IMAP_PORT" % sysu]), timeout=30)
    try:
        if master:
            conn.login("%s%s%s" % (user, env.get("MASTER_SEPARATOR", "*"),
                                   env["MASTER_USER"]),
                       password or env["MASTER_PASS"])
        else:
            conn.login(user, password or env["USER_PASS"])
    except Exception:
        conn.shutdown()
        raise
    return conn


def maillog(env, pattern=None):
    """Lines of the lab's Postfix log, optionally only those matching the
    regular expression pattern."""
    try:
        with open(env["POSTFIX_MAILLOG"], errors="replace") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return []
    if pattern is None:
        return lines
    rx = re.compile(pattern)
    return [line for line in lines if rx.search(line)]


class SwitchTraffic:
    """Mail flowing while fedmigctl (ctl: its argv) switches addresses.

    Senders and slow senders record each accepted Message-ID in sent
    (msgid -> user); a refusal other than 4xx, or a slow sender that is
    not accepted, goes to errors."""

    def __init__(self, env, ctl, lab):
        self.env, self.ctl, self.lab = env, ctl, lab
        self.sent = {}
        self.errors = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = []

    def _start(self, target, *args):
        t = threading.Thread(target=target, args=args)
        t.start()
        self.threads.append(t)

    def _sender(self, k, rcpt_of, pause):
        i = k
        while not self.stop.is_set():
            u, rcpt = rcpt_of(i)
            i += 3
            r = send(self.env, [rcpt])
            if r.accepted:
                with self.lock:
                    self.sent[r.msgid] = u
            elif r.code // 100 != 4:
                self.errors.append("%s rejected: %s %s" % (rcpt, r.code, r.text))
            time.sleep(pause)

    def _slow(self, u, rcpt):
        r = send(self.env, [rcpt], slow_pause=3.0)
        if r.accepted:
            with self.lock:
                self.sent[r.msgid] = u
        else:
            self.errors.append("slow sender to %s not accepted: %s %s"
                               % (rcpt, r.code, r.text))

    def senders(self, rcpt_of, pause):
        """Three senders; sender k sends to rcpt_of(i) -> (user, rcpt) for
        i = k, k+3, ... until finish()."""
        for k in range(3):
            self._start(self._sender, k, rcpt_of, pause)

    def slow(self, pairs):
        """One slow sender (3 s pauses) a (user, rcpt) pair."""
        for u, rcpt in pairs:
            self._start(self._slow, u, rcpt)

    def switch(self, users):
        """Import a batch switching every user@example.org to s2."""
        csv = os.path.join(self.lab, "batch.csv")
        with open(csv, "w") as f:
            for u in users:
                f.write("%s@example.org,s2,+1s,nocopy\n" % u)
        subprocess.run(self.ctl + ["import", csv], check=True,
                       stdout=subprocess.DEVNULL)

    def states(self):
        out = subprocess.run(self.ctl + ["--json", "list"], check=True,
                             capture_output=True, text=True).stdout
        return json.loads(out)

    def finish(self, timeout):
        """Wait up to timeout s for every request to complete, let mail
        flow 2 s more and stop the senders. Returns (ok, reqs, bad): ok,
        all completed in time; reqs, local part -> request; bad, the
        requests not complete."""
        ok = wait_for(lambda: all(r["state_name"] == "complete"
                                  for r in self.states()), timeout, 0.5)
        time.sleep(2.0)
        self.stop.set()
        for t in self.threads:
            t.join()
        reqs = {r["address"].split("@")[0]: r for r in self.states()}
        bad = [r for r in reqs.values() if r["state_name"] != "complete"]
        return ok, reqs, bad
