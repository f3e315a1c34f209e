"""End-to-end helpers for the demo, the zero-loss test and bench/e2e.

populate() fills mailboxes over IMAP; Flow sends a steady stream of mail
with unique Message-IDs (retrying 4xx like an MTA would); account() reads
both systems' Maildirs and counts, per message and recipient, where it
landed: lost, duplicated, or delivered to the old system after the
address's switch; copied_problems() adds the independent per-mailbox
checker after a copied batch. Pilot runs fedmigctl and starts fedmig-spm
for the tests that kill it; s1_lmtp() stops (with no delivery under way)
and starts S1's Dovecot.
Standard library only.
"""
import imaplib
import json
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lab"))
import fedlab  # noqa: E402
import mailtrace  # noqa: E402

FOLDERS = ["INBOX", "Sent", "Archive", "Archive/2019", "Donn&AOk-es", "Projects/A &- B"]
FLAGS = ["", "\\Seen", "\\Seen \\Answered", "\\Flagged", "\\Seen $Forwarded", "\\Seen Work Todo",
         "\\Draft"]


def _imap_name(folder):
    return '"%s"' % folder.replace("\\", "\\\\").replace('"', '\\"')


def populate(env, system, local, count, seed=0):
    """APPEND count messages to LOCAL's mailbox on SYSTEM, spread over a
    few folders (one with a non-ASCII name), with flags, keywords and old
    INTERNALDATEs. Returns {folder: [msgid, ...]}."""
    rnd = random.Random("%s/%s/%d" % (system, local, seed))
    conn = fedlab.imap_login(env, system, local)
    out = {}
    try:
        for f in FOLDERS:
            if f != "INBOX":
                conn.create(_imap_name(f))
                if rnd.random() < 0.8:
                    conn.subscribe(_imap_name(f))
        for i in range(count):
            folder = FOLDERS[0] if i % 3 == 0 else rnd.choice(FOLDERS)
            msgid = "<pop-%s-%s-%d@demo.fedmig>" % (system, local, i)
            size = rnd.choice([800, 2000, 6000, 20000]) if rnd.random() < 0.97 else 300000
            body = ("line %d of a message in %s\r\n" % (i, folder)) * (size // 40)
            msg = ("From: <someone%d@example.net>\r\nTo: <%s@example.org>\r\n"
                   "Subject: populated message %d\r\nMessage-ID: %s\r\n"
                   "Date: Mon, 1 Jan 2018 10:00:00 +0000\r\n\r\n%s" % (
                       i, local, i, msgid, body)).encode()
            when = time.time() - rnd.randint(86400, 86400 * 3650)
            flags = rnd.choice(FLAGS)
            typ, _ = conn.append(_imap_name(folder), "(%s)" % flags if flags else None,
                                 imaplib.Time2Internaldate(when), msg)
            if typ != "OK":
                raise RuntimeError("APPEND to %s failed" % folder)
            out.setdefault(folder, []).append(msgid)
    finally:
        conn.logout()
    return out


class Flow:
    """A steady stream of mail to access addresses, RATE messages a second,
    each with a unique Message-ID. A share has two recipients, a share is
    sent slowly (a pause mid-DATA). A 4xx is retried a second later, as a
    sending MTA would; a 5xx is recorded as refused (a bug in a test where
    every address exists). pause() waits until no message is being sent
    and sends no more until resume()."""

    def __init__(self, env, addrs, rate=20.0, multi=0.1, slow=0.0, slow_pause=3.0,
                 threads=4, seed=1):
        self.env, self.addrs, self.rate = env, list(addrs), rate
        self.multi, self.slow, self.slow_pause = multi, slow, slow_pause
        self.rnd = random.Random(seed)
        self.accepted = {}  # msgid -> (rcpts, accept_time)
        self.refused = []   # (msgid, rcpts, code, text)
        self.tempfails = 0
        self.lock = threading.Lock()
        self.stop_ev = threading.Event()
        self.go = threading.Event()  # cleared while paused
        self.go.set()
        self.idle = threading.Condition(self.lock)
        self.sending = 0
        self.threads = [threading.Thread(target=self._run, args=(i, threads), daemon=True)
                        for i in range(threads)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stop_ev.set()
        self.go.set()
        for t in self.threads:
            t.join()

    def pause(self, timeout=60):
        """No new message from now on; True once none is being sent (a
        slow one, a 4xx retried), False after TIMEOUT seconds."""
        self.go.clear()
        with self.idle:
            return self.idle.wait_for(lambda: self.sending == 0, timeout)

    def resume(self):
        self.go.set()

    def _run(self, idx, nthreads):
        interval = nthreads / self.rate
        nxt = time.monotonic() + idx * interval / nthreads
        while not self.stop_ev.is_set():
            delay = nxt - time.monotonic()
            if delay > 0 and self.stop_ev.wait(delay):
                break
            nxt += interval
            if not self.go.is_set():
                self.go.wait()
                nxt = max(nxt, time.monotonic())  # no burst to catch up
            with self.lock:
                if not self.go.is_set() or self.stop_ev.is_set():
                    continue  # paused again meanwhile: look again
                self.sending += 1
                rcpts = [self.rnd.choice(self.addrs)]
                if self.rnd.random() < self.multi:
                    other = self.rnd.choice(self.addrs)
                    if other != rcpts[0]:
                        rcpts.append(other)
                slow = self.rnd.random() < self.slow
            try:
                self._send(rcpts, slow)
            finally:
                with self.idle:
                    self.sending -= 1
                    self.idle.notify_all()

    def _send(self, rcpts, slow):
        msgid = "<flow-%s@demo.fedmig>" % uuid.uuid4().hex
        todo, first = list(rcpts), None
        for attempt in range(120):
            r = fedlab.send(self.env, todo, msgid=msgid, body_size=1500,
                            slow_pause=self.slow_pause if slow else 0.0)
            if r.accepted:
                # Recipients refused with a 4xx in an accepted message are
                # retried in a transaction of their own, as an MTA would.
                later = [a for a, c, _ in r.rcpts if 400 <= c < 500]
                with self.lock:
                    first = first or time.time()
                    self.accepted[msgid] = (rcpts, first)
                    for a, c, t in r.rcpts:
                        if c >= 500:
                            self.refused.append((msgid, [a], c, t))
                if not later:
                    return
                todo = later
            elif not (400 <= r.code < 500 or r.code == 0):
                with self.lock:
                    self.refused.append((msgid, todo, r.code, r.text))
                return
            with self.lock:
                self.tempfails += 1
            if self.stop_ev.wait(1.0):
                pass  # still finish this message: the sender owns it
        with self.lock:
            self.refused.append((msgid, todo, 0, "gave up after 120 tempfails"))


class Pilot:
    """fedmigctl and fedmig-spm of the lab in ENV, built in BUILD; the
    pilot's output goes to the lab's log/fedmig-spm.log."""

    def __init__(self, env, build, lab):
        self.conf = env["FEDMIG_CONF"]
        self.ctl = [os.path.join(build, "spm", "fedmigctl"), "-c", self.conf]
        self.spm = os.path.join(build, "spm", "fedmig-spm")
        self.log = open(os.path.join(lab, "log", "fedmig-spm.log"), "ab")

    def run(self, *args):
        """fedmigctl ARGS; its output (raises when it fails)."""
        return subprocess.run(self.ctl + list(args), check=True, capture_output=True,
                              text=True).stdout

    def show(self, addr):
        return json.loads(self.run("--json", "show", addr))

    def start(self, crash_after=None):
        """fedmig-spm -f in its own session; with CRASH_AFTER, the crash
        hook (FEDMIG_SPM_CRASH_AFTER) set."""
        e = dict(os.environ)
        e.pop("FEDMIG_SPM_CRASH_AFTER", None)
        if crash_after:
            e["FEDMIG_SPM_CRASH_AFTER"] = str(crash_after)
        return subprocess.Popen([self.spm, "-c", self.conf, "-f"], stdout=self.log,
                                stderr=self.log, env=e, start_new_session=True)


def _lmtp_up(env):
    try:
        socket.create_connection(("127.0.0.1", int(env["S1_LMTP_PORT"])), 0.5).close()
        return True
    except OSError:
        return False


_ON_THE_WAY = ("maildrop", "incoming", "active", "deferred")


def s1_lmtp(env, up, flow=None):
    """Start (UP) or stop S1's Dovecot; return once its LMTP answers, or
    no longer does. Stopping, it first waits (FLOW paused meanwhile) until
    Postfix delivers nothing: a Dovecot that stops during an LMTP
    transaction may store the message and still answer "421 Shutting
    down" (or close the connection) after the final dot; Postfix then
    delivers it again, a duplicate of the test's own making."""
    if up:
        subprocess.run(["dovecot", "-c", env["S1_DOVECOT_CONF"]], check=True)
        fedlab.wait_for(lambda: _lmtp_up(env), 10, 0.05)
        return
    if flow:
        flow.pause()
    try:
        # Deferred mail counts too: a queue run could start its delivery.
        fedlab.wait_for(lambda: not any(m["queue_name"] in _ON_THE_WAY
                                        for m in fedlab.postqueue(env)), 30, 0.05)
        subprocess.run(["doveadm", "-c", env["S1_DOVECOT_CONF"], "stop"], check=True)
        fedlab.wait_for(lambda: not _lmtp_up(env), 10, 0.05)
    finally:
        if flow:
            flow.resume()


_MAILDIR_TIME = re.compile(r"^(\d+)\.M(\d+)P")


def deliveries(env, system):
    """{physical: {msgid: [delivery time in µs, ...]}} from the Maildir
    file names (Dovecot names a file SECONDS.MMICROSECONDS P... when it
    saves it). Every folder counts."""
    root = env["%s_MAIL_ROOT" % system.upper()]
    out = {}
    if not os.path.isdir(root):
        return out
    for domain in os.listdir(root):
        for local in os.listdir(os.path.join(root, domain)):
            md = os.path.join(root, domain, local, "Maildir")
            if not os.path.isdir(md):
                continue
            per = out.setdefault("%s@%s" % (local, domain), {})
            dirs = [md] + [os.path.join(md, d) for d in os.listdir(md)
                           if d.startswith(".") and os.path.isdir(os.path.join(md, d))]
            for d in dirs:
                for sub in ("new", "cur"):
                    p = os.path.join(d, sub)
                    if not os.path.isdir(p):
                        continue
                    for n in os.listdir(p):
                        m = _MAILDIR_TIME.match(n)
                        t = int(m.group(1)) * 1000000 + int(m.group(2)) if m else 0
                        try:
                            mid = fedlab._message_id(os.path.join(p, n))
                        except FileNotFoundError:
                            continue
                        per.setdefault(mid, []).append(t)
    return out


def account(env, accepted, mailboxes):
    """Where did each accepted message go, per recipient?

    mailboxes: {access: {"s1": physical on S1, "s2": physical on S2 or None,
    "switched_at": µs or 0, "copied": bool}}. Returns a dict of counts and
    the lists of problems."""
    d1, d2 = deliveries(env, "s1"), deliveries(env, "s2")
    res = {"sent": len(accepted), "deliveries_expected": 0, "s1_before_switch": 0,
           "s2": 0, "lost": [], "duplicated": [], "late_to_s1": []}
    for msgid, (rcpts, _) in accepted.items():
        for rcpt in set(rcpts):
            mb = mailboxes[rcpt]
            res["deliveries_expected"] += 1
            t1 = d1.get(mb["s1"], {}).get(msgid, [])
            t2 = d2.get(mb["s2"], {}).get(msgid, []) if mb.get("s2") else []
            sw = mb.get("switched_at") or 0
            late = [t for t in t1 if sw and t > sw]
            if late:
                res["late_to_s1"].append((msgid, rcpt))
            res["s1_before_switch"] += len(t1) - len(late)
            if mb.get("copied"):
                # S2 holds everything: what was delivered there and the
                # copy of what S1 had.
                n_final = len(t2)
                res["s2"] += max(len(t2) - len(t1), 0)
                twice_s1 = len(t1) > 1
            else:
                n_final = len(t1) + len(t2)
                res["s2"] += len(t2)
                twice_s1 = False
            if n_final == 0:
                res["lost"].append((msgid, rcpt))
            elif n_final > 1 or twice_s1:  # once per message and recipient
                res["duplicated"].append((msgid, rcpt))
    return res


def flow_problems(env, name, flow, mailboxes):
    """account() over FLOW's accepted mail, printed as one line headed
    NAME, and the logs' story of each message lost, duplicated or late
    (mailtrace.explain); returns its problems (lost, duplicated, late to
    S1, refused) as lines for the test to report."""
    acc = account(env, flow.accepted, mailboxes)
    print("%s: sent=%d deliveries=%d lost=%d dup=%d late=%d refused=%d tempfails=%d"
          % (name, acc["sent"], acc["deliveries_expected"], len(acc["lost"]),
             len(acc["duplicated"]), len(acc["late_to_s1"]), len(flow.refused), flow.tempfails))
    problems = ["%s: %s" % (k, acc[k][:5]) for k in ("lost", "duplicated", "late_to_s1")
                if acc[k]]
    # The story of each such message from the lab's logs: a failure seen
    # once in CI must be explainable from its log alone.
    mailtrace.explain(env, acc["duplicated"] + acc["lost"] + acc["late_to_s1"])
    if flow.refused:
        problems.append("refused: %s" % flow.refused[:3])
    return problems


def copied_problems(env, name, flow, reqs, users):
    """After a batch of USERS (USER@example.org, all copied to S2; REQS
    their requests as `fedmigctl --json list` gives them, by address):
    flow_problems() over FLOW, then the independent checker
    (tests/smd/check.py) on each pair: S2 holds its S1 mailbox exactly
    (folders, subscriptions, bytes, flags, INTERNALDATE), INBOX may hold
    more. Returns the problems as lines."""
    mailboxes = {"%s@example.org" % u: {
        "s1": "%s@%s" % (u, env["S1_DOMAIN"]), "s2": "%s@%s" % (u, env["S2_DOMAIN"]),
        "switched_at": reqs["%s@example.org" % u]["switch_at"], "copied": True} for u in users}
    problems = flow_problems(env, name, flow, mailboxes)
    check = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "smd",
                         "check.py")
    for u in users:
        c = subprocess.run([sys.executable, check, "--src-port", env["S1_IMAP_PORT"],
                            "--dst-port", env["S2_IMAP_PORT"],
                            "--login-fmt", "{user}*" + env["MASTER_USER"],
                            "--password", env["MASTER_PASS"],
                            "--pair", "%s@%s=%s@%s" % (u, env["S1_DOMAIN"], u, env["S2_DOMAIN"]),
                            "--allow-extra", "INBOX"], capture_output=True, text=True)
        if c.returncode != 0:
            problems.append("checker %s: %s" % (u, (c.stdout + c.stderr).strip().splitlines()[:5]))
    return problems
