#!/usr/bin/env python3
"""A TCP proxy that drops connections on command (the agent fault tests).

  dropproxy.py --listen PORT --to PORT --control FILE [--log FILE]

Listens on 127.0.0.1:PORT and forwards every connection to 127.0.0.1:PORT
(TLS passes through untouched). Commands are lines written to the control
file (the proxy reads and removes it about every 50 ms; write it to a temp
name and rename, or use `dropproxy.py --send FILE CMD`):

  drop                 close every current connection now (both sides)
  drop-up N            close each connection once N more bytes went
                       client -> server (mid-upload)
  drop-down N          the same for server -> client (a reply lost after
                       the server acted on the request)
  drop-reply N         close the first connection that answers after its
                       client sent at least N bytes since the last answer:
                       the server got a whole upload, its reply is lost
  rate N               at most N bytes a second client -> server, over all
                       connections (0: no limit), so that uploads last
  pass                 cancel a pending drop-up/drop-down/drop-reply
  stop                 exit

Each drop is logged ("drop: ..."), and every second a status line while
anything moved ("conns=C up=B down=B"), so a test can wait for an upload
in flight. A pending drop-up/drop-down applies to connections opened
later too, and is spent by the first connection it closes.
"""
import argparse
import os
import selectors
import socket
import sys
import time


class Proxy:
    def __init__(self, listen, to, control, log):
        self.to = to
        self.control = control
        self.log = log
        self.sel = selectors.DefaultSelector()
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", listen))
        self.lsock.listen(64)
        self.lsock.setblocking(False)
        self.sel.register(self.lsock, selectors.EVENT_READ, None)
        self.peer = {}       # socket -> the other socket
        self.up = set()      # client-side sockets (bytes read there go up)
        self.budget = {}     # "up"/"down" -> bytes left before a drop
        self.asked = {}      # client socket -> bytes sent up since the last answer
        self.reply_after = None
        self.rate = 0        # bytes/s up, 0 unlimited
        self.up_next = 0.0   # when the next upstream read may happen
        self.moved = [0, 0]
        self.running = True

    def say(self, msg):
        self.log.write("%.3f %s\n" % (time.time(), msg))
        self.log.flush()

    def accept(self):
        try:
            c, _ = self.lsock.accept()
        except OSError:
            return
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.connect(("127.0.0.1", self.to))
        except OSError as e:
            self.say("connect upstream: %s" % e)
            c.close()
            s.close()
            return
        for x in (c, s):
            x.setblocking(False)
            self.sel.register(x, selectors.EVENT_READ, None)
        self.peer[c], self.peer[s] = s, c
        self.up.add(c)

    def close_pair(self, sock, why=None):
        other = self.peer.pop(sock, None)
        for x in (sock, other):
            if x is None:
                continue
            self.peer.pop(x, None)
            self.up.discard(x)
            self.asked.pop(x, None)
            try:
                self.sel.unregister(x)
            except (KeyError, ValueError):
                pass
            # RST rather than FIN: the peer sees the connection cut.
            try:
                x.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
            except OSError:
                pass
            x.close()
        if why:
            self.say("drop: %s" % why)

    def forward(self, sock):
        direction = "up" if sock in self.up else "down"
        if direction == "up" and self.rate:
            # A short sleep holds every connection: fine for a test's pacing.
            time.sleep(max(0.0, self.up_next - time.monotonic()))
        try:
            data = sock.recv(16384 if self.rate and direction == "up" else 65536)
        except OSError:
            data = b""
        if not data:
            self.close_pair(sock)
            return
        if direction == "up" and self.rate:
            self.up_next = max(self.up_next, time.monotonic()) + len(data) / self.rate
        if self.reply_cut(sock, direction, len(data)):
            return
        left = self.budget.get(direction)
        if left is not None and len(data) >= left:
            data = data[:left]
            del self.budget[direction]
            self.send_all(self.peer[sock], data)
            self.close_pair(sock, "%s after its byte budget" % direction)
            return
        if left is not None:
            self.budget[direction] = left - len(data)
        self.moved[0 if direction == "up" else 1] += len(data)
        self.send_all(self.peer[sock], data)

    def reply_cut(self, sock, direction, n):
        """Count a request's bytes; cut its reply if drop-reply says so."""
        client = sock if direction == "up" else self.peer[sock]
        if direction == "up":
            self.asked[client] = self.asked.get(client, 0) + n
            return False
        asked = self.asked.pop(client, 0)
        if self.reply_after is None or asked < self.reply_after:
            return False
        self.reply_after = None
        self.close_pair(sock, "a reply after a %d-byte request" % asked)
        return True

    def send_all(self, sock, data):
        # The peer is slow at worst; a blocking send keeps the proxy simple.
        sock.setblocking(True)
        try:
            sock.sendall(data)
        except OSError:
            pass
        sock.setblocking(False)

    def command(self, line):
        words = line.split()
        if not words:
            return
        if words[0] == "drop":
            n = len([s for s in self.peer if s in self.up])
            for s in list(self.up):
                self.close_pair(s)
            self.say("drop: %d connections on command" % n)
        elif words[0] in ("drop-up", "drop-down") and len(words) == 2 and words[1].isdigit():
            self.budget[words[0][5:]] = int(words[1])
            self.say("armed: %s" % line)
        elif words[0] == "drop-reply" and len(words) == 2 and words[1].isdigit():
            self.reply_after = int(words[1])
            self.say("armed: %s" % line)
        elif words[0] == "rate" and len(words) == 2 and words[1].isdigit():
            self.rate = int(words[1])
            self.say("rate: %s bytes/s up" % (words[1] if self.rate else "unlimited"))
        elif words[0] == "pass":
            self.budget.clear()
            self.reply_after = None
            self.say("disarmed")
        elif words[0] == "stop":
            self.running = False
        else:
            self.say("unknown command: %s" % line)

    def read_control(self):
        try:
            with open(self.control) as f:
                text = f.read()
            os.unlink(self.control)
        except OSError:
            return
        for line in text.splitlines():
            self.command(line.strip())

    def run(self):
        last = (0, 0)
        tick = time.monotonic()
        while self.running:
            for key, _ in self.sel.select(0.05):
                if key.fileobj is self.lsock:
                    self.accept()
                elif key.fileobj in self.peer:
                    self.forward(key.fileobj)
            self.read_control()
            if time.monotonic() - tick >= 1.0:
                tick = time.monotonic()
                if tuple(self.moved) != last:
                    last = tuple(self.moved)
                    self.say("conns=%d up=%d down=%d" % (len(self.up), last[0], last[1]))


def send(control, cmd):
    tmp = "%s.%d" % (control, os.getpid())
    with open(tmp, "w") as f:
        f.write(cmd + "\n")
    os.rename(tmp, control)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listen", type=int)
    ap.add_argument("--to", type=int)
    ap.add_argument("--control")
    ap.add_argument("--log")
    ap.add_argument("--send", nargs=2, metavar=("FILE", "CMD"))
    a = ap.parse_args()
    if a.send:
        send(*a.send)
        return 0
    if not (a.listen and a.to and a.control):
        ap.error("--listen, --to and --control are needed")
    log = open(a.log, "a") if a.log else sys.stderr
    p = Proxy(a.listen, a.to, a.control, log)
    p.say("listening on 127.0.0.1:%d, forwarding to 127.0.0.1:%d" % (a.listen, a.to))
    p.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
