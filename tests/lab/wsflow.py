"""The checks of tests/integ/ws_flow.sh: the real workstation agent against
the lab. Standard library only; the mbox reader here is this file's own
(Thunderbird's rule: a "From " line with a date, at the start or after an
empty line, the empty line before it being the separator), not the
agent's code.

    wsflow.py LAB BUILD REPO AGENT_BIN
"""
import base64
import calendar
import imaplib
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import agentlab  # noqa: E402
import fedlab  # noqa: E402

FROM_RE = re.compile(rb"^From \S+ +(Mon|Tue|Wed|Thu|Fri|Sat|Sun) "
                     rb"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d{1,2} "
                     rb"\d{1,2}:\d\d(:\d\d)? \d{4}( [+-]\d{4})?\r?\n?$")
PROFILE = "home/.thunderbird/abcd1234.default-release"
CAROL = "home/.thunderbird/k3v9xq2m.default-esr"
BULK = 1000
T0 = time.monotonic()


def mutf7(s):
    """S in IMAP's modified UTF-7."""
    out, buf = [], []
    for ch in s + "\0":
        if ch != "\0" and not 0x20 <= ord(ch) < 0x7f:
            buf.append(ch)
            continue
        if buf:
            b = base64.b64encode("".join(buf).encode("utf-16-be")).decode()
            out.append("&" + b.rstrip("=").replace("/", ",") + "-")
            buf = []
        if ch != "\0":
            out.append("&-" if ch == "&" else ch)
    return "".join(out)


def mbox_messages(data):
    """[(bytes as IMAP gives them, system flags, From-line time or None)],
    deleted messages (X-Mozilla-Status 0x8) left out."""
    lines = [l for l in re.split(rb"(?<=\n)", data) if l]
    if lines and lines[-1] in (b"\n", b"\r\n"):
        lines.pop()  # the separator after the last message
    starts = [i for i, l in enumerate(lines) if FROM_RE.match(l) and
              (i == 0 or lines[i - 1] in (b"\n", b"\r\n"))]
    out = []
    for k, s in enumerate(starts):
        end = starts[k + 1] - 1 if k + 1 < len(starts) else len(lines)
        msg = b"".join(lines[s + 1:end])
        head = msg.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
        m = re.search(rb"^X-Mozilla-Status: ([0-9a-fA-F]{4})", head, re.M)
        st = int(m.group(1), 16) if m else 0
        if st & 8:
            continue
        flags = sorted(f for b, f in ((1, "\\Seen"), (2, "\\Answered"), (4, "\\Flagged"))
                       if st & b)
        when = None
        parts = lines[s].decode("ascii", "replace").split()
        try:
            when = calendar.timegm(time.strptime(" ".join(parts[2:7]), "%a %b %d %H:%M:%S %Y"))
        except ValueError:
            pass
        out.append((re.sub(rb"(?<!\r)\n", b"\r\n", msg), flags, when))
    return out


def maildir_messages(folder):
    """[(bytes as IMAP gives them, system flags, file time)] of the maildir
    FOLDER (cur/ and new/; tmp/ and dot files are no messages), deleted
    messages left out; flags from X-Mozilla-Status, as Thunderbird keeps
    them there."""
    out = []
    for sub in ("cur", "new"):
        d = os.path.join(folder, sub)
        for f in sorted(os.listdir(d)) if os.path.isdir(d) else []:
            path = os.path.join(d, f)
            if f.startswith(".") or not os.path.isfile(path):
                continue
            msg = open(path, "rb").read()
            head = msg.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
            m = re.search(rb"^X-Mozilla-Status: ([0-9a-fA-F]{4})", head, re.M)
            st = int(m.group(1), 16) if m else 0
            if st & 8:
                continue
            flags = sorted(f for b, f in ((1, "\\Seen"), (2, "\\Answered"),
                                          (4, "\\Flagged")) if st & b)
            out.append((re.sub(rb"(?<!\r)\n", b"\r\n", msg), flags,
                        int(os.stat(path).st_mtime)))
    return out


def maildir_folders(root):
    """{folder name: maildir path} of a maildir Local Folders tree."""
    res = {}
    for d, dirs, files in os.walk(root):
        if os.path.isdir(os.path.join(d, "cur")):
            dirs[:] = [x for x in dirs if x not in ("cur", "new", "tmp")]
            rel = os.path.relpath(d, root)
            res["/".join(re.sub(r"\.sbd$", "", p) for p in rel.split(os.sep))] = d
    return res


def local_folders(root):
    """{folder name: mbox path} of an mbox Local Folders tree."""
    res = {}
    for d, dirs, files in os.walk(root):
        rel = os.path.relpath(d, root)
        prefix = "" if rel == "." else "/".join(p[:-4] for p in rel.split(os.sep)) + "/"
        for f in files:
            if not re.search(r"\.(msf|dat|html|json)$", f):
                res[prefix + f] = os.path.join(d, f)
    return res


def s2_folder(env, user, box):
    """[(bytes, system flags, INTERNALDATE as a time)] of BOX on S2, or None."""
    m = imaplib.IMAP4("127.0.0.1", int(env["S2_IMAP_PORT"]))
    m.login("%s@%s*%s" % (user, env["S2_DOMAIN"], env["MASTER_USER"]), env["MASTER_PASS"])
    try:
        typ, n = m.select('"%s"' % box, readonly=True)
        if typ != "OK":
            return None
        if int(n[0]) == 0:
            return []
        typ, data = m.fetch("1:*", "(FLAGS INTERNALDATE BODY.PEEK[])")
        got = []
        for part in data:
            if isinstance(part, tuple):
                meta = part[0].decode()
                flags = meta.split("FLAGS (")[1].split(")")[0].split()
                when = time.mktime(imaplib.Internaldate2tuple(part[0])) - time.timezone
                got.append((part[1], sorted(f for f in flags if f in (
                    "\\Seen", "\\Answered", "\\Flagged", "\\Deleted")), when))
        return got
    finally:
        m.logout()


def check_upload(lab, home, problems, user="alice", maildir=False):
    """Every folder's messages on S2 exactly once: bytes, flags, dates."""
    root = os.path.join(home, "Mail", "Local Folders")
    for name, path in sorted((maildir_folders if maildir else local_folders)(root).items()):
        want = maildir_messages(path) if maildir else mbox_messages(open(path, "rb").read())
        name = re.sub(r"^(?i:inbox)(?=/|$)", "INBOX", name)  # IMAP's INBOX
        box = "Local Folders." + mutf7(name).replace("/", ".")
        got = s2_folder(lab.env, user, box)
        if got is None:
            if want:
                problems.append("S2 has no folder %s" % box)
            continue
        if sorted(g[:2] for g in got) != sorted(w[:2] for w in want):
            problems.append("%s of %s: %d messages on S2, %d in the %s, or bytes/flags differ"
                            % (box, user, len(got), len(want), "maildir" if maildir else "mbox"))
        wd = sorted(w[2] for w in want if w[2] is not None)
        gd = sorted(g[2] for g in got)
        if any(d not in gd for d in wd):
            problems.append("%s of %s: dates differ: %s not in %s" % (box, user, wd[:3], gd[:3]))
    print("ws_flow: %s's Local Folders on S2 compared with the %s" % (
        user, "maildir files" if maildir else "mbox files"), flush=True)


def bulk(home):
    """A large folder, so that the upload is long enough to be killed."""
    path = os.path.join(home, "Mail", "Local Folders", "Bulk")
    body = b"".join(b"line %04d of a bulk message, to make it weigh about 4 KB\n" % i
                    for i in range(70))
    with open(path, "wb") as f:
        for i in range(BULK):
            f.write(b"From - Tue Dec  1 10:00:00 2026\nX-Mozilla-Status: 0001\n"
                    b"Subject: bulk %d\nMessage-ID: <bulk%d@ws.example>\n\n%s\n" % (i, i, body))
    os.chown(path, *_fedmig())


def _fedmig():
    import pwd
    p = pwd.getpwnam("fedmig")
    return p.pw_uid, p.pw_gid


class Agent:
    def __init__(self, lab, agent_bin, user):
        self.lab, self.bin, self.user = lab, agent_bin, user
        self.d = os.path.join(lab.lab, "agent-" + user)
        self.pidfile = os.path.join(lab.lab, "run", "agent-%s.pid" % user)

    def env(self):
        return dict(os.environ, HOME=os.path.join(self.d, "home"))

    def start(self):
        log = open(os.path.join(self.lab.lab, "log", "agent-%s.log" % self.user), "ab")
        p = subprocess.Popen(["setsid", self.bin, "-c", os.path.join(self.d, "agent.conf"), "-f",
                              "-v", "--workstation"], stdin=subprocess.DEVNULL, stdout=log,
                             stderr=log, env=self.env())
        with open(self.pidfile, "w") as f:
            f.write("%d\n" % p.pid)
        self.proc = p

    def signal(self, sig):
        pid = int(open(self.pidfile).read())
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            pass
        fedlab.wait_for(lambda: not os.path.exists("/proc/%d" % pid) or
                        open("/proc/%d/stat" % pid).read().split()[2] == "Z", 20, 0.1)
        if getattr(self, "proc", None):
            self.proc.wait()

    def run(self, *args):
        return subprocess.run([self.bin, "-c", os.path.join(self.d, "agent.conf"), "-f"] +
                              list(args), capture_output=True, text=True, env=self.env())


def state(lab, user):
    """USER's request's state; the agents are woken (SIGUSR1: ask now) each
    time, so that the test does not wait out the server's retry_ms."""
    for u in ("alice", "carol", "dave"):
        try:
            pid = int(open(os.path.join(lab.lab, "run", "agent-%s.pid" % u)).read())
            # Only once it blocks SIGUSR1: before, the signal would kill it.
            blk = [l.split()[1] for l in open("/proc/%d/status" % pid)
                   if l.startswith("SigBlk:")]
            if blk and int(blk[0], 16) & (1 << (signal.SIGUSR1 - 1)):
                os.kill(pid, signal.SIGUSR1)
        except (OSError, ValueError, TypeError):
            pass
    return lab.states().get(lab.addr(user), {}).get("state_name")


def upload_killed(lab, alice, problems):
    """kill -9 of the agent while it uploads, then a restart."""
    log = os.path.join(lab.lab, "log", "agent-alice.log")
    if not fedlab.wait_for(lambda: re.search(r"batch (1\d|[2-9]\d):", open(log).read()) or
                           (state(lab, "alice") and None), 90, 0.2):
        problems.append("the upload never started (states %s)" % state(lab, "alice"))
        return
    alice.signal(signal.SIGKILL)
    print("ws_flow: agent killed with -9 in the upload", flush=True)
    time.sleep(1)
    alice.start()


def run(lab, agent_bin, problems):
    alice = Agent(lab, agent_bin, "alice")
    profile = os.path.join(alice.d, PROFILE)
    original = open(os.path.join(profile, "prefs.js"), "rb").read()
    bulk(os.path.join(profile))
    seen = set()
    lab.submit(["alice", "carol", "dave"])
    upload_killed(lab, alice, problems)
    print("ws_flow: %s at %.0f s" % (state(lab, "alice"), time.monotonic() - T0), flush=True)
    if not fedlab.wait_for(lambda: seen.add(state(lab, "alice")) or
                           state(lab, "alice") in ("local-done", "complete", "failed"), 110, 0.2):
        problems.append("alice never reached local-done: %s" % state(lab, "alice"))
        return
    print("ws_flow: %s at %.0f s" % (state(lab, "alice"), time.monotonic() - T0), flush=True)
    check_upload(lab, profile, problems)
    golden = open(os.path.join(lab.repo, "tests/fixtures/ws/golden/prefs.js.lab"), "rb").read()
    golden = golden.replace(b"@PORT@", lab.env["S2_IMAP_PORT"].encode())
    if open(os.path.join(profile, "prefs.js"), "rb").read() != golden:
        problems.append("prefs.js after the switch differs from golden/prefs.js.lab")
    alice.signal(signal.SIGTERM)
    r = alice.run("--workstation", "--rollback")
    if r.returncode != 0 or open(os.path.join(profile, "prefs.js"), "rb").read() != original:
        problems.append("--rollback: exit %d, %s; prefs.js %s the original" % (
            r.returncode, r.stderr.strip(),
            "is" if open(os.path.join(profile, "prefs.js"), "rb").read() == original
            else "is NOT"))
    alice.start()
    if not fedlab.wait_for(lambda: state(lab, "alice") == "complete" and not os.path.exists(
            os.path.join(profile, "prefs.js.fedmig-orig")), 60, 0.3):
        problems.append("no complete and cleanup: %s" % state(lab, "alice"))
    print("ws_flow: %s at %.0f s" % (state(lab, "alice"), time.monotonic() - T0), flush=True)
    carol_checks(lab, agent_bin, problems)
    dave_checks(lab, problems)
    show = lab.ctl("show", lab.addr("alice"))
    for e in ("E20", "E22", "E23", "rechecked", "E30 upload", "E30 profile switched",
              "E31 test ok", "rollback by the user", "E33", "local-done", "complete"):
        if e not in show:
            problems.append("fedmigctl show alice lacks %s" % e)
    if problems:
        print(show)


def carol_checks(lab, agent_bin, problems):
    """carol's maildir Local Folders, uploaded in the same run as alice's."""
    carol = Agent(lab, agent_bin, "carol")
    if not fedlab.wait_for(lambda: state(lab, "carol") in ("local-done", "complete", "failed"),
                           60, 0.3) or state(lab, "carol") == "failed":
        problems.append("carol never reached local-done: %s" % state(lab, "carol"))
        return
    check_upload(lab, os.path.join(carol.d, CAROL), problems, "carol", maildir=True)


def dave_checks(lab, problems):
    st = lab.states().get(lab.addr("dave"), {})
    if st.get("state_name") != "check-failed" or "running" not in (st.get("reason") or ""):
        problems.append("dave is %s (%s), not check-failed because Thunderbird runs"
                        % (st.get("state_name"), st.get("reason")))
    rid = st.get("id")
    if rid and lab.query("SELECT count(*) FROM smd_jobs WHERE request_id = ?", rid)[0][0]:
        problems.append("dave's check failed, yet a copy job was queued")


def main(argv):
    lab = agentlab.AgentLab(argv[1], argv[2], argv[3])
    problems = []
    try:
        run(lab, argv[4], problems)
    except (RuntimeError, OSError, KeyError, imaplib.IMAP4.error) as e:
        problems.append("%s: %s" % (type(e).__name__, e))
    agentlab.verdict("ws_flow", problems)


if __name__ == "__main__":
    main(sys.argv)
