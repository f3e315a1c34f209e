"""tests/integ/ws_api.sh's Python side: a workstation agent played by
hand against fedmig-apid (standard library only).

    wslab.py LAB BUILD REPO APID_PORT    exit 1 with the problems
"""
import hashlib
import imaplib
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import agentlab  # noqa: E402
import fedlab  # noqa: E402

VERSION = "0.1"


def mutf7(s):
    """IMAP's modified UTF-7 (RFC 3501 5.1.3), as a source driver gives names."""
    out, run = [], []

    def flush():
        if run:
            import base64
            b = base64.b64encode("".join(run).encode("utf-16-be")).decode().rstrip("=")
            out.append("&" + b.replace("/", ",") + "-")
            run.clear()
    for c in s:
        if 0x20 <= ord(c) <= 0x7e:
            flush()
            out.append("&-" if c == "&" else c)
        else:
            run.append(c)
    flush()
    return "".join(out)


class Api:
    def __init__(self, port, ca):
        self.base = "https://127.0.0.1:%s" % port
        self.ctx = ssl.create_default_context(cafile=ca)

    def call(self, method, path, body=None, token=None, raw=None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Fedmig-Agent-Version", VERSION)
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=30) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def enrol(self, code):
        st, b = self.call("POST", "/v1/enrol", {"code": code})
        if st != 200:
            raise RuntimeError("enrol: %s %s" % (st, b))
        return b["token"]


class Ws:
    """One workstation agent."""

    def __init__(self, api, token):
        self.api, self.token = api, token

    def next(self):
        st, b = self.api.call("POST", "/v1/ws/next", {"version": VERSION}, self.token)
        if st != 200:
            raise RuntimeError("ws/next: %s %s" % (st, b))
        return b

    def report(self, req, step, ok, **kw):
        body = dict(version=VERSION, request=req, step=step, ok=ok, **kw)
        return self.api.call("POST", "/v1/ws/report", body, self.token)

    def wait_step(self, step, timeout):
        last = {}

        def ask():
            nonlocal last
            last = self.next()
            return last["step"] == step
        if not fedlab.wait_for(ask, timeout, 0.3):
            raise RuntimeError("ws/next never said %s in %d s: %s" % (step, timeout, last))
        return last


MESSAGES = {
    "Inbox": [(b"From: a@old.example\r\nSubject: one\r\n\r\nbody one\r\n", "\\Seen",
               "01-Jan-2020 10:00:00 +0000"),
              (b"From: b@old.example\r\nSubject: two\r\n\r\nbody two\r\n", "\\Seen \\Flagged",
               "02-Feb-2021 11:30:00 +0100")],
    "Archives/\u00c9t\u00e9 2020": [(b"From: c@old.example\r\nSubject: \xc3\xa9t\xc3\xa9\r\n\r\n"
                                   b"caf\xc3\xa9\r\n", "\\Answered $label1",
                                   "15-Jul-2020 08:00:00 +0200")],
}


def batch(items):
    out = b""
    for i, (data, flags, date) in enumerate(items):
        head = {"src": "m%d" % (i + 1), "flags": flags, "date": date, "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest()}
        out += json.dumps(head).encode() + b"\n" + data
    return out


def upload(api, token, req, problems):
    """Lease the '@local' task and fill it as an agent's migrator does."""
    st, b = api.call("POST", "/v1/poll", {"slots": 1, "wait": 5}, token)
    tasks = b.get("tasks", []) if st == 200 else []
    if not tasks or tasks[0]["task"] != req or tasks[0]["system"] != "@local":
        problems.append("poll gave %s %s, not the '@local' task of %d" % (st, b, req))
        return
    seq, result = 0, None
    for _ in range(20):
        st, a = api.call("POST", "/v1/tasks/%d/next" % req, {"seq": seq, "result": result}, token)
        if st != 200:
            problems.append("next: %s %s" % (st, a))
            return
        seq, act, result = a["seq"], a["action"], None
        if act == "test":
            result = {"ok": True}
        elif act == "list":
            result = {"folders": [{"name": mutf7(n), "sep": "/", "attrs": 0, "subscribed": True}
                                  for n in MESSAGES] +
                      [{"name": "Archives", "sep": "/", "attrs": 2, "subscribed": False}]}
        elif act == "get-items":
            name = [n for n in MESSAGES if mutf7(n) == a["folder"]][0]
            body = batch(MESSAGES[name])
            st, r = api.call("PUT", "/v1/tasks/%d/batches/%d" % (req, seq), token=token, raw=body)
            if st != 200:
                problems.append("batch %s: %s %s" % (name, st, r))
                return
            result = {"count": len(MESSAGES[name]), "cursor": "end", "more": False}
        elif act == "done":
            return
        else:
            problems.append("unexpected action %s" % a)
            return
    problems.append("the task never said done")


def check_s2(env, user, problems):
    """Local Folders.* on S2 holds exactly MESSAGES (bytes, flags, dates)."""
    m = imaplib.IMAP4("127.0.0.1", int(env["S2_IMAP_PORT"]))
    m.login("%s@%s*%s" % (user, env["S2_DOMAIN"], env["MASTER_USER"]), env["MASTER_PASS"])
    for name, items in MESSAGES.items():
        box = "Local Folders." + mutf7(name).replace("/", ".")
        typ, _ = m.select('"%s"' % box, readonly=True)
        if typ != "OK":
            problems.append("S2 has no folder %s" % box)
            continue
        typ, data = m.fetch("1:*", "(FLAGS INTERNALDATE BODY.PEEK[])")
        got = []
        for part in data:
            if isinstance(part, tuple):
                meta = part[0].decode()
                flags = meta.split("FLAGS (")[1].split(")")[0].split()
                date = meta.split('INTERNALDATE "')[1].split('"')[0]
                got.append((part[1], sorted(f for f in flags if f != "\\Recent"), date))
        want = [(d, sorted(f.split()), imaplib.Time2Internaldate(
            imaplib.Internaldate2tuple(('INTERNALDATE "%s"' % t).encode())).strip('"'))
            for d, f, t in items]
        if sorted(x[:2] for x in got) != sorted(x[:2] for x in want):
            problems.append("%s: bytes/flags differ: got %r want %r" % (box, got, want))
        gd = sorted(imaplib.Internaldate2tuple(('INTERNALDATE "%s"' % g[2]).encode()) for g in got)
        wd = sorted(imaplib.Internaldate2tuple(('INTERNALDATE "%s"' % t).encode())
                    for _, _, t in items)
        if gd != wd:
            problems.append("%s: dates differ: %r %r" % (box, gd, wd))
    m.logout()


def state(lab, user):
    return lab.states().get(lab.addr(user), {}).get("state_name")


def run(lab, api, problems):
    tok = {n: api.enrol(open(os.path.join(lab.lab, "code-" + n)).read().strip())
           for n in ("ws1", "ws2", "srv")}
    w1, w2 = Ws(api, tok["ws1"]), Ws(api, tok["ws2"])
    st, b = api.call("POST", "/v1/ws/next", {"version": VERSION}, tok["srv"])
    if st != 403:
        problems.append("a server agent's ws/next: %s %s, not 403" % (st, b))
    if w1.next()["step"] != "none":
        problems.append("ws/next before any request is not none")
    lab.submit(["w1", "w2"])
    a = w1.wait_step("check", 30)
    req1 = a["request"]
    if a["new"]["imap_host"] != "imap.s2.example.org" or a["new"]["smtp_port"] != 587 or \
            "mail.old.example.org" not in a["old"]["imap_hosts"]:
        problems.append("client settings: %s" % a)
    b2 = w2.wait_step("check", 30)
    st, _ = w1.report(b2["request"], "check", True)
    if st != 404:
        problems.append("ws1's report on w2's request: %s, not 404" % st)
    st, _ = w1.report(req1, "check", True, detail="x" * 401)
    if st != 400:
        problems.append("an overlong detail: %s, not 400" % st)
    w1.report(req1, "check", True, profile="default", local_format="mbox", local_folders=2,
              local_messages=3, local_bytes=300)
    w2.report(b2["request"], "check", False, detail="Thunderbird is running")
    fedlab.wait_for(lambda: state(lab, "w1") == "checked", 20, 0.2)
    a = w1.next()
    if a["step"] != "none" or not 1000 <= a["retry_ms"] <= 60000:
        problems.append("ws/next right after the first check: %s" % a)
    w1.wait_step("check", 10)
    w1.report(req1, "check", True, profile="default", local_format="mbox")
    w1.wait_step("upload", 60)
    if state(lab, "w2") != "check-failed" or w2.next()["step"] != "none":
        problems.append("w2 is %s, next %s" % (state(lab, "w2"), w2.next()))
    if lab.query("SELECT count(*) FROM smd_jobs WHERE request_id = ?", b2["request"])[0][0]:
        problems.append("w2's check failed, yet a copy job was queued")
    upload(api, tok["ws1"], req1, problems)
    w1.wait_step("switch", 60)
    check_s2(lab.env, "w1", problems)
    w1.report(req1, "switch", True, changed=4, profile="default")
    w1.report(req1, "test", False, detail="IMAP login refused")
    w1.report(req1, "repair", True, detail="old profile restored")
    if w1.next()["step"] != "none":
        problems.append("switch answered again before workstation_retry")
    w1.wait_step("switch", 10)
    w1.report(req1, "switch", True, changed=4)
    w1.report(req1, "test", True)
    w1.wait_step("cleanup", 30)
    w1.report(req1, "cleanup", True)
    if w1.next()["step"] != "none":
        problems.append("cleanup asked again after it was reported")
    show = lab.ctl("show", lab.addr("w1"))
    for e in ("E20", "E22", "E23", "E30 upload counted", "E30 profile switched", "E31 test ok",
              "E31 test failed", "E32", "E33", "local-done", "complete", "local data:"):
        if e not in show:
            problems.append("fedmigctl show w1 lacks %s" % e)
    if problems:
        print(show)


def main(argv):
    lab = agentlab.AgentLab(argv[1], argv[2], argv[3])
    api = Api(argv[4], lab.env["TLS_CA"])
    problems = []
    try:
        run(lab, api, problems)
    except (RuntimeError, OSError, KeyError) as e:
        problems.append(str(e))
    agentlab.verdict("ws_api", problems)


if __name__ == "__main__":
    main(sys.argv)
