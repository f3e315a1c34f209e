"""Helpers for the agent tests and bench/agent (a lab set up by
tests/lab/agent_lib.sh's agent_lab). Standard library only.

    lab = agentlab.AgentLab(lab_dir, build, repo)
    lab.corpus(["c1", "c2"], messages=40, big_mb=5)
    lab.submit(["c1", "c2"])
    problems = lab.finish(["c1", "c2"], timeout=150)

or from a shell (agent_lib.sh's alab):

    agentlab.py LAB corpus USERS MESSAGES AVG_KB [BIG_MB]
    agentlab.py LAB submit USER...
    agentlab.py LAB wait TIMEOUT SQL     until SQL's first value is not 0
                                         (:now_ms in SQL: now, in ms)
    agentlab.py LAB sql SQL              its rows, as sqlite3 prints them

The SQL runs on the lab's store, SQLite or PostgreSQL
(fedlab.store_query), so an agent test runs on either backend.
    agentlab.py LAB finish TIMEOUT USER...   exit 1 with the problems

AgentLab.finish waits until every request is final, then says what is
wrong: a request not complete, or an S2 mailbox that differs from its S1
mailbox per tests/smd/check.py (folders, subscriptions, and per folder the
multiset of (SHA-256 of the bytes, flags, INTERNALDATE): a message lost or
duplicated is a difference). S2's INBOX may hold more (mail delivered
after the switch).
"""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fedlab  # noqa: E402
import dropproxy  # noqa: E402


class AgentLab:
    def __init__(self, lab, build, repo):
        self.lab = lab
        self.build = build
        self.repo = repo
        self.env = fedlab.load_env(lab)
        self.seed = int(os.environ.get("AGENT_SEED", "0") or 0) or int(time.time()) % 100000

    # --- the federation ------------------------------------------------

    def ctl(self, *args, check=True):
        cmd = [os.path.join(self.build, "spm", "fedmigctl"), "-c", self.env["FEDMIG_CONF"]]
        r = subprocess.run(cmd + list(args), capture_output=True, text=True)
        if check and r.returncode != 0:
            raise RuntimeError("fedmigctl %s: %s" % (" ".join(args), r.stderr.strip()))
        return r.stdout

    def addr(self, user):
        return "%s@example.org" % user

    def submit(self, users, when="+1s"):
        path = os.path.join(self.lab, "batch-%s.csv" % users[0])
        with open(path, "w") as f:
            for u in users:
                f.write("%s,s2,%s,copy\n" % (self.addr(u), when))
        self.ctl("import", path)

    def states(self):
        return {r["address"]: r for r in json.loads(self.ctl("--json", "list"))}

    def final(self, users):
        st = self.states()
        return all(st.get(self.addr(u), {}).get("state_name") in
                   ("complete", "failed", "cancelled", "rolled-back") for u in users)

    def query(self, sql, *params):
        """fedlab.store_query() on this lab's store, either backend."""
        return fedlab.store_query(self.env, sql, *params)

    def items(self):
        return self.query("SELECT count(*) FROM agent_items")[0][0]

    def leased(self):
        """Tasks an agent holds now (a live lease, not done)."""
        now = int(time.time() * 1000)
        return self.query("SELECT count(*) FROM agent_tasks WHERE agent != '' AND "
                          "lease_until >= ? AND phase < 3", now)[0][0]

    # --- S1 and the checker --------------------------------------------

    def corpus(self, users, messages=30, avg_kb=20, big_mb=0):
        print("agent lab: corpus for %s, seed %d (AGENT_SEED=%d repeats it)"
              % (",".join(users), self.seed, self.seed), flush=True)
        cmd = [sys.executable, os.path.join(self.repo, "tests", "smd", "corpus.py"),
               "--port", self.env["S1_IMAP_PORT"], "--login-fmt",
               "{user}*" + self.env["MASTER_USER"], "--password", self.env["MASTER_PASS"],
               "--users", ",".join("%s@%s" % (u, self.env["S1_DOMAIN"]) for u in users),
               "--messages", str(messages), "--avg-kb", str(avg_kb), "--seed", str(self.seed),
               "--jobs", "2"]
        if big_mb:
            cmd += ["--big-mb", str(big_mb)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)

    def check(self, user):
        """The checker's differences for USER's S1 and S2 mailboxes ([]: same)."""
        e = self.env
        c = subprocess.run([sys.executable, os.path.join(self.repo, "tests", "smd", "check.py"),
                            "--src-port", e["S1_IMAP_PORT"], "--dst-port", e["S2_IMAP_PORT"],
                            "--login-fmt", "{user}*" + e["MASTER_USER"], "--password",
                            e["MASTER_PASS"], "--pair", "%s@%s=%s@%s" % (
                                user, e["S1_DOMAIN"], user, e["S2_DOMAIN"]),
                            "--allow-extra", "INBOX"], capture_output=True, text=True)
        if c.returncode == 0:
            return []
        return ["checker %s: %s" % (user, l) for l in (c.stdout + c.stderr).strip().splitlines()[:5]]

    def finish(self, users, timeout=150, tick=None):
        """Wait (calling tick() each 0.3 s) until every request is final;
        the problems found."""
        ok = fedlab.wait_for(lambda: (tick and tick()) or self.final(users), timeout, 0.3)
        problems = [] if ok else ["not all final within %d s" % timeout]
        st = self.states()
        for u in users:
            r = st.get(self.addr(u), {})
            if r.get("state_name") != "complete":
                problems.append("%s is %s: %s" % (u, r.get("state_name"), r.get("reason")))
            else:
                problems += self.check(u)
        return problems

    # --- processes -----------------------------------------------------

    def pidfile(self, name):
        try:
            with open(os.path.join(self.lab, "run", name + ".pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def agent_pgid(self, name):
        return self.pidfile("agent-" + name)

    def proxy(self, cmd):
        dropproxy.send(os.path.join(self.lab, "run", "dropproxy.ctl"), cmd)

    def log(self, name):
        try:
            with open(os.path.join(self.lab, "log", name + ".log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""


def status_kb(pid, field):
    """FIELD (VmRSS, VmHWM) of /proc/PID/status in kB, 0 if gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def group_pids(pgid):
    out = []
    for p in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/stat" % p) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            out.append(int(p))
    return out


class MemWatch:
    """Samples a process group's memory: the largest VmHWM of any of its
    processes (a migrator's peak is sampled while it lives) and the sum
    of VmRSS over time."""

    def __init__(self, pgid):
        self.pgid = pgid
        self.hwm_kb = 0
        self.rss = []

    def sample(self):
        if not self.pgid:
            return
        pids = group_pids(self.pgid)
        for p in pids:
            self.hwm_kb = max(self.hwm_kb, status_kb(p, "VmHWM"))
        if pids:
            self.rss.append(sum(status_kb(p, "VmRSS") for p in pids))


def verdict(name, problems):
    """Print each problem and exit 1, or exit 0 when there is none."""
    for p in problems:
        print("%s: problem: %s" % (name, p), flush=True)
    sys.exit(1 if problems else 0)


def main(argv):
    lab = AgentLab(argv[1], os.environ.get("FEDMIG_BUILD", os.path.join(
        os.path.dirname(os.path.dirname(HERE)), "build")), os.path.dirname(os.path.dirname(HERE)))
    cmd, args = argv[2], argv[3:]
    if cmd == "corpus":
        users = args[0].split(",")
        lab.corpus(users, int(args[1]), int(args[2]), int(args[3]) if len(args) > 3 else 0)
    elif cmd == "submit":
        lab.submit(args)
    elif cmd == "wait":
        # A comparison is 1 on SQLite, 't' on PostgreSQL; :now_ms, the
        # time of each look (no date function is common to both).
        ok = fedlab.wait_for(lambda: lab.query(args[1].replace(
            ":now_ms", str(int(time.time() * 1000))))[0][0] not in (0, None, "f"),
                             float(args[0]), 0.2)
        if not ok:
            print("agentlab: %s s without %s" % (args[0], args[1]), flush=True)
        return 0 if ok else 1
    elif cmd == "sql":  # as sqlite3 prints it, on either backend
        for row in lab.query(args[0]):
            print("|".join("" if v is None else str(v) for v in row))
    elif cmd == "finish":
        verdict("agentlab", lab.finish(args[1:], timeout=float(args[0])))
    else:
        print("agentlab: unknown command %s" % cmd, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
