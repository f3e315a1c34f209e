#!/usr/bin/env python3
"""A misbehaving IMAP server for tests/integ/smd_hostile.sh: a proxy on
127.0.0.1 in front of a real Dovecot that breaks the protocol in one chosen
way, so fedmig-smd meets the fault at a real point of a real copy (and the
real server behind it shows whether anything partial was left).

  hostile_proxy.py --upstream PORT --port-file FILE --mode MODE

Modes (server to client unless noted):
  greeting      garbage instead of the greeting
  login-no      NO to AUTHENTICATE/LOGIN
  select-no     NO to the first SELECT or EXAMINE
  select-bad    BAD to the first SELECT or EXAMINE
  append-no     NO to the first APPEND (the server did store it)
  append-bad    BAD to the first APPEND (likewise)
  no-appenduid  APPEND completions without [APPENDUID ...]
  mid-literal   close the connection halfway through the 3rd BODY[] literal
  lie-long      the 3rd BODY[] literal announces 7 bytes more than it has
  lie-short     the 3rd BODY[] literal announces 7 bytes less than it has
  long-line     a 3 MB response line before the first LIST answer
  nul-line      a response line with a NUL byte before the first LIST answer
  drop-append   (client to server) close after 100 KB of APPEND data
  slow          pass everything, 25 ms per 16 KB from the server
  drop-keyword  FETCH responses lose their first keyword (a target that
                silently drops one: only verification can tell)
  hide-lsub      LSUB answers list nothing (the target "loses" subscriptions:
                the final check of folders and subscriptions must fail)
  starttls-inject  answer STARTTLS itself with "OK Begin TLS" and an
                injected "* OK" in the same write, as a man in the middle
                would (the client must refuse, not parse it)
"""
import argparse
import re
import socket
import sys
import threading
import time

CMD_RE = re.compile(rb'(?:^|\n)(A\d+) (UID [A-Z]+|[A-Z]+)', re.I)
LIT_RE = re.compile(rb'\{(\d+)\+?\}\r?\n$')


class Conn:
    def __init__(self, client, upstream, mode):
        self.c = client
        self.s = socket.create_connection(("127.0.0.1", upstream))
        self.mode = mode
        self.tags = {}          # tag -> command verb, from the client's stream
        self.lock = threading.Lock()
        self.done = False
        self.first = {}         # mode events that fire once
        self.bodies = 0
        self.append_bytes = 0

    def close(self):
        self.done = True
        for sk in (self.c, self.s):
            try:
                sk.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sk.close()

    def once(self, what):
        if what in self.first:
            return False
        self.first[what] = True
        return True

    # ---------------------------------------------------------- client -> server
    def c2s(self):
        try:
            while not self.done:
                d = self.c.recv(65536)
                if not d:
                    break
                with self.lock:
                    for m in CMD_RE.finditer(d):
                        self.tags[m.group(1)] = m.group(2).upper()
                if self.mode == "starttls-inject":
                    m = re.search(rb"(A\d+) STARTTLS\r\n", d, re.I)
                    if m:
                        self.send(m.group(1) + b" OK Begin TLS negotiation now\r\n"
                                  b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected\r\n")
                        time.sleep(3)
                        break
                if self.mode == "drop-append":
                    if b" APPEND " in d or self.append_bytes:
                        self.append_bytes += len(d)
                    if self.append_bytes > 100_000:
                        self.s.sendall(d[: len(d) // 2])
                        self.close()
                        return
                self.s.sendall(d)
        except OSError:
            pass
        if not self.done:
            self.close()

    # ---------------------------------------------------------- server -> client
    def send(self, b):
        self.c.sendall(b)

    def drop_keyword(self, ln):
        """drop-keyword: a FETCH response's FLAGS without their first keyword."""
        m = re.match(rb"(\* \d+ FETCH .*?FLAGS \()([^)]*)(\).*)$", ln, re.S)
        if self.mode != "drop-keyword" or not m:
            return ln
        flags = m.group(2).split()
        kw = [f for f in flags if not f.startswith(b"\\")]
        if kw:
            flags.remove(kw[0])
        return m.group(1) + b" ".join(flags) + m.group(3)

    def line(self, ln):
        """One server line (with its CRLF); returns bytes to send, or None to close."""
        mode = self.mode
        ln = self.drop_keyword(ln)
        if mode == "hide-lsub" and ln.startswith(b"* LSUB "):
            return b""
        if mode == "greeting" and self.once("greeting"):
            return b"\x16\x03garbage, not IMAP\r\n"
        if ln.startswith(b"* LIST") and mode in ("long-line", "nul-line") and self.once("list"):
            if mode == "long-line":
                return b"* OK " + b"x" * (3 << 20) + b"\r\n" + ln
            return b"* OK a NUL \x00 here\r\n" + ln
        m = re.match(rb"(A\d+) (OK|NO|BAD)", ln)
        if m:
            with self.lock:
                verb = self.tags.get(m.group(1), b"")
            tag = m.group(1)
            if mode == "login-no" and verb in (b"AUTHENTICATE", b"LOGIN"):
                return tag + b" NO [AUTHENTICATIONFAILED] hostile: refused\r\n"
            if mode in ("select-no", "select-bad") and verb in (b"SELECT", b"EXAMINE") \
                    and self.once("select"):
                word = b"NO [NONEXISTENT]" if mode == "select-no" else b"BAD"
                return tag + b" " + word + b" hostile: no such folder\r\n"
            if mode in ("append-no", "append-bad") and verb == b"APPEND" and self.once("append"):
                word = b"NO [OVERQUOTA]" if mode == "append-no" else b"BAD"
                return tag + b" " + word + b" hostile: refused after storing\r\n"
            if mode == "no-appenduid" and verb == b"APPEND":
                return re.sub(rb"\[APPENDUID [^\]]*\] ?", b"", ln)
        return ln

    def s2c(self):
        buf = b""
        lit = 0          # literal bytes still to pass
        cut = -1         # mid-literal: close after this many more bytes
        try:
            while not self.done:
                d = self.s.recv(16384)
                if not d:
                    break
                if self.mode == "slow":
                    time.sleep(0.025)
                buf += d
                while buf:
                    if lit:
                        n = min(lit, len(buf))
                        if cut >= 0 and n >= cut:
                            self.send(buf[:cut])
                            self.close()
                            return
                        if cut >= 0:
                            cut -= n
                        self.send(buf[:n])
                        buf = buf[n:]
                        lit -= n
                        continue
                    i = buf.find(b"\n")
                    if i < 0:
                        break
                    ln, buf = buf[: i + 1], buf[i + 1:]
                    m = LIT_RE.search(ln)
                    if m:
                        size = int(m.group(1))
                        if b"BODY[]" in ln:
                            self.bodies += 1
                            if self.bodies == 3 and self.mode == "mid-literal":
                                cut = size // 2
                            elif self.bodies == 3 and self.mode in ("lie-long", "lie-short"):
                                fake = size + 7 if self.mode == "lie-long" else max(size - 7, 0)
                                ln = ln[: m.start()] + b"{%d}\r\n" % fake
                        lit = size
                        self.send(self.drop_keyword(ln))
                        continue
                    out = self.line(ln)
                    if out is None:
                        self.close()
                        return
                    self.send(out)
        except OSError:
            pass
        if not self.done:
            self.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", type=int, required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--mode", required=True)
    a = ap.parse_args()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    with open(a.port_file + ".tmp", "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    import os
    os.rename(a.port_file + ".tmp", a.port_file)
    while True:
        c, _ = ls.accept()
        conn = Conn(c, a.upstream, a.mode)
        threading.Thread(target=conn.c2s, daemon=True).start()
        threading.Thread(target=conn.s2c, daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
