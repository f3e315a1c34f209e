"""What happened to a message, from the lab's logs: the lines a test
prints when it finds a message delivered twice (or lost), so that a
failure seen once in CI can be explained from its log alone.

trace(env, msgid) follows a Message-ID to every Postfix queue ID it had
(cleanup's "message-id=" lines; pickup's "orig_id=" links a requeued
copy to the queue file it came from, "postsuper -r" gives it a new ID)
and returns, in order: every line of the lab's Postfix log naming one of
those IDs (smtpd, cleanup, pickup, qmgr, lmtp, postsuper), fedmig-spm's
and fedmig-milter's lines naming them, and both Dovecots' LMTP lines for
the Message-ID (each "saved mail" is one delivery). Standard library
only.
"""
import os
import re

_CLEANUP = re.compile(r"/cleanup\[\d+\]: ([0-9A-Za-z]+): message-id=(<[^>]*>)")
_PICKUP = re.compile(r"/pickup\[\d+\]: ([0-9A-Za-z]+): .*\borig_id=([0-9A-Za-z]+)")
# A deferral after the final dot: the server may have stored the message
# (Dovecot does when it stops: "421 Shutting down") and Postfix delivers
# it again.
_AFTER_DOT = ("message may be sent more than once", "(in reply to end of DATA command)")


def _lines(path):
    try:
        with open(path, errors="replace") as f:
            return f.read().splitlines()
    except OSError:
        return []


def queue_ids(maillog, msgid):
    """Every queue ID of MSGID in the MAILLOG lines, requeued copies
    (orig_id) included, in the order they first appear."""
    ids = [m.group(1) for m in map(_CLEANUP.search, maillog) if m and m.group(2) == msgid]
    links = [m.groups() for m in map(_PICKUP.search, maillog) if m]
    grown = True
    while grown:
        grown = False
        for new, old in links:
            for a, b in ((new, old), (old, new)):
                if a in ids and b not in ids:
                    ids.append(b)
                    grown = True
    return ids


def trace(env, msgid, rcpt=None, limit=80):
    """The log lines that tell MSGID's story (see the top), with
    fedmig-spm's steps for RCPT's request (hold, switch, release), at
    most LIMIT of each source, each source headed by its file name."""
    logdir = env.get("LOG_DIR", "")
    maillog = _lines(env.get("POSTFIX_MAILLOG", ""))
    ids = queue_ids(maillog, msgid)
    out = ["  %s: queue IDs %s" % (msgid, " ".join(ids) or "(none found in the maillog)")]
    sources = [(env.get("POSTFIX_MAILLOG", "maillog"), maillog, ids)]
    steps = ["%s: E" % rcpt] if rcpt else []
    for name, keys in (("fedmig-spm.log", ids + steps), ("fedmig-milter.log", ids)):
        path = os.path.join(logdir, name)
        sources.append((path, _lines(path), keys))
    for name in ("s1.log", "s2.log"):
        path = os.path.join(logdir, name)
        sources.append((path, _lines(path), ["msgid=" + msgid]))
    for path, lines, keys in sources:
        hits = [l for l in lines if keys and any(k in l for k in keys)]
        if not hits:
            continue
        out.append("  --- %s" % path)
        out += ["  " + l for l in hits[:limit]]
        if len(hits) > limit:
            out.append("  ... %d more" % (len(hits) - limit))
    if any("status=deferred" in l and any(a in l for a in _AFTER_DOT)
           for l in maillog if any(i in l for i in ids)):
        out.append("  note: a delivery of this message was deferred after its final dot: the "
                   "server may have stored it all the same, and Postfix delivered it again")
    return out


def explain(env, pairs, most=5):
    """Print trace() for the first MOST distinct Message-IDs of PAIRS
    ((msgid, recipient), as account() lists them)."""
    seen = []
    for msgid, rcpt in pairs:
        if msgid in seen or len(seen) >= most:
            continue
        seen.append(msgid)
        print("trace of %s (to %s):" % (msgid, rcpt))
        for line in trace(env, msgid, rcpt):
            print(line)
