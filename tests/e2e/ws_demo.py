"""The demo's desktop users: a few users on S1 whose scenario ("desk") has
workstation_checks and local_data. Each gets a fixture Thunderbird home
(tests/fixtures/ws/alice: mbox Local Folders; carol: maildir), copied into
the demo's temporary tree, HOME pointed there (never the real home), and
its own fedmig-agent --workstation, enrolled with a one-time code from
`fedmigctl agent add NAME --workstation ADDRESS`, talking to the far
site's fedmig-apid. Before the switch the agent checks the profile (states
2 and 3); after it, it uploads the Local Folders (fedmig-smd copies them
below "Local Folders" on S2), switches prefs.js to S2 and tests it (9),
and the request completes (10). See tests/integ/ws_flow.sh for the same
steps under test.

    ws = WsDemo(lab, env, build, users)
    conf_text = ws.fedmig_conf(default_lines)   # appended to fedmig.conf
    ws.start(ctl, apid_port)                    # after fedmig-apid listens
    ws.nudge(con)                               # once a second during the batch
    ws.report(con)                              # lines for the final report
    ws.stop()
"""
import glob
import os
import re
import shutil
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from agent_site import stop_groups  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(os.path.dirname(HERE), "fixtures", "ws")
# Fixture homes with Thunderbird closed: one mbox, one maildir Local Folders.
PROFILES = ("alice", "carol")
SCENARIO = "desk"


class WsDemo:
    def __init__(self, lab, env, build, users):
        self.lab, self.env, self.build = lab, env, build
        self.users = list(users)
        self.procs = {}
        self.seen = {}  # user: the request's state when its agent was last woken

    def profile(self, user):
        return PROFILES[self.users.index(user) % len(PROFILES)]

    def fedmig_conf(self, default_lines):
        """The "desk" scenario: DEFAULT_LINES (the demo's default_* keys,
        one "key = value" a line, without the "default_" prefix) plus the
        workstation steps, and what the agents rewrite in the profiles."""
        lines = ["%s_%s" % (SCENARIO, l) for l in default_lines]
        lines += ["%s_workstation_checks = yes" % SCENARIO, "%s_recheck_delay = 2s" % SCENARIO,
                  "%s_local_data = yes" % SCENARIO, "%s_workstation_retry = 3s" % SCENARIO,
                  "s1_client_imap = mail.old.example", "s1_client_hosts = pop.old.example",
                  "s1_client_smtp = smtp.old.example:587/starttls",
                  "s1_client_user = localpart", "s2_client_user = localpart",
                  "s2_client_imap = 127.0.0.1:%s/plain" % self.env["S2_IMAP_PORT"]]
        return ("\n# the desktop users: checks, Local Folders upload, profile switch\n"
                + "\n".join(lines) + "\n")

    def home(self, user):
        return os.path.join(self.lab, "agent-ws-" + user)

    def setup(self, user, apid_port):
        d = self.home(user)
        os.makedirs(os.path.join(d, "spool"), mode=0o700)
        os.chmod(d, 0o700)
        shutil.copytree(os.path.join(FIXTURES, self.profile(user)), os.path.join(d, "home"),
                        symlinks=True)
        self.rename(user, os.path.join(d, "home"))
        conf = os.path.join(d, "agent.conf")
        with open(conf, "w") as f:
            f.write("# fedmig-agent --workstation of %s (the demo)\n"
                    "agent_server_url = https://127.0.0.1:%d\nagent_ca_file = %s\n"
                    "agent_token_file = %s/token\nagent_spool_directory = %s/spool\n"
                    "agent_heartbeat = 1s\nagent_profile_dir = %s/home/.thunderbird\n" % (
                        user, apid_port, self.env["TLS_CA"], d, d, d))
        # The lab's desktop user is fedmig: the agent owns its home and spool.
        for top, dirs, files in os.walk(d):
            for x in [top] + [os.path.join(top, n) for n in dirs + files]:
                os.lchown(x, *_fedmig())
        return conf

    def rename(self, user, home):
        """The fixture's accounts log in as its owner (alice, carol); in the
        demo they are USER's: the agent matches the old system's accounts
        by their user name."""
        old = self.profile(user).encode()
        for prefs in glob.glob(os.path.join(home, ".thunderbird", "*", "prefs.js")):
            with open(prefs, "rb") as f:
                text = f.read()
            text = re.sub(rb'(\.user[Nn]ame", )"' + old + rb'"', rb'\1"' + user.encode() + rb'"',
                          text)
            with open(prefs, "wb") as f:
                f.write(text)

    def start(self, ctl, apid_port):
        """Per user: the home, a one-time code, the enrolment, the agent.
        CTL(*args) runs fedmigctl. Returns the PIDs, or SystemExit."""
        agent_bin = os.path.join(self.build, "agent", "fedmig-agent")
        for u in self.users:
            conf = self.setup(u, apid_port)
            env = dict(os.environ, HOME=os.path.join(self.home(u), "home"))
            code = ctl("agent", "add", "ws-" + u, "--workstation", "%s@example.org" % u).strip()
            logp = os.path.join(self.lab, "log", "agent-ws-%s.log" % u)
            with open(logp, "a") as log:
                r = subprocess.run([agent_bin, "-c", conf, "-f", "--enrol", code], stdout=log,
                                   stderr=log, stdin=subprocess.DEVNULL, env=env)
                if r.returncode != 0:
                    raise SystemExit("demo: fedmig-agent --workstation --enrol of %s failed "
                                     "(see %s)" % (u, logp))
                self.procs[u] = subprocess.Popen(
                    [agent_bin, "-c", conf, "-f", "-v", "--workstation"], stdout=log,
                    stderr=log, stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        return [p.pid for p in self.procs.values()]

    def nudge(self, con):
        """Wake (SIGUSR1: ask now) the agents whose request moved since the
        last call: an agent with nothing to do asks again only after the
        server's retry (up to 30 s), too long for a demo's timeline."""
        for u, p in self.procs.items():
            r = con.execute("SELECT state FROM requests WHERE access = ?",
                            ("%s@example.org" % u,)).fetchone()
            if r is None or self.seen.get(u) == r["state"]:
                continue
            self.seen[u] = r["state"]
            try:
                # Only once it blocks SIGUSR1: before, the signal would kill it.
                blk = [l.split()[1] for l in open("/proc/%d/status" % p.pid)
                       if l.startswith("SigBlk:")]
                if blk and int(blk[0], 16) & (1 << (signal.SIGUSR1 - 1)):
                    os.kill(p.pid, signal.SIGUSR1)
                else:
                    self.seen.pop(u)  # try again next time
            except (OSError, ValueError):
                pass

    def report(self, con):
        """Lines telling, per desktop user, the checks, the upload, the
        profile switch and test, and the last states."""
        out = []
        for u in self.users:
            r = con.execute("SELECT id, state FROM requests WHERE access = ?",
                            ("%s@example.org" % u,)).fetchone()
            if r is None:
                out.append("  %s@example.org: no request" % u)
                continue
            hist = con.execute("SELECT to_state, step, detail FROM history WHERE request_id = ?"
                               " ORDER BY id", (r["id"],)).fetchall()
            out.append("  %s@example.org (%s's desktop profile):" % (u, self.profile(u)))
            for h in hist:
                step = h["step"]
                # The pilot's E20/E23 repeat the agent's check reports: theirs only.
                if (step.startswith(("E20 checked", "E23", "E24", "E30", "E31", "E32", "E33"))
                        or h["to_state"] in (9, 10)):
                    out.append("    %-26s %s" % (step, h["detail"]))
            states = [h["to_state"] for h in hist]
            out.append("    states: %s" % " ".join(str(s) for s in _dedup(states)))
        return out

    def done(self, con):
        """The desktop users whose request went 2, 3, ..., 9, 10."""
        ok = 0
        for u in self.users:
            r = con.execute("SELECT id FROM requests WHERE access = ?",
                            ("%s@example.org" % u,)).fetchone()
            if r is None:
                continue
            states = _dedup([h[0] for h in con.execute(
                "SELECT to_state FROM history WHERE request_id = ? ORDER BY id", (r["id"],))])
            ok += all(s in states for s in (2, 3, 9)) and states[-2:] == [9, 10]
        return ok

    def stop(self):
        stop_groups(self.procs.values())


def _dedup(states):
    return [s for i, s in enumerate(states) if i == 0 or states[i - 1] != s]


def _fedmig():
    import pwd
    p = pwd.getpwnam("fedmig")
    return p.pw_uid, p.pw_gid
