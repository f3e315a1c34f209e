"""The federation of federation.py on a private PostgreSQL store, with
two of everything that may run twice (issue 18), for zero_loss.py --pg.

- the store: the lab's state_database is LAB_STATE_DATABASE (a
  postgresql:// URL of a tests/lab/pg server in LAB_PG_DIR, its password
  in PGPASSFILE: tests/integ/lib_pg.sh's pg_lab_test sets all three);
  the test reads it with psql (PgDb), never through fedmig;
- two Postfix front ends: the lab's ("a") and a second lab's ("b", as
  tests/integ/lib_fe.sh sets it up: its Postfix delivers to the first
  lab's S1 and S2), each with its fedmig-milter, fedmig-policyd and
  fedmig-frontend, mail flowing into both;
- two fedmig-spm, the first leading, the second --standby (its own
  run_directory), and two fedmig-smd workers w1 and w2 with a short
  smd_lease.

A supervisor thread restarts whatever of these exits (a pilot always as
--standby: it leads again only if no one else does), as systemd would,
except what the test stopped supervising (the smd worker it kills for
good). Every exit it saw is in supervisor_log.
"""
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time

import e2e
import fedlab
from federation import LAB, Federation, say

PG = os.path.join(os.path.dirname(LAB), "pg")
LEASE = "10s"


class Row(dict):
    """A result row by column name or by index, as sqlite3.Row."""

    def __getitem__(self, k):
        return list(self.values())[k] if isinstance(k, int) else dict.__getitem__(self, k)


class PgDb:
    """Just what Federation asks of its sqlite3 connection (execute with
    integer ? parameters, fetchall, fetchone, close), through psql."""

    def __init__(self, url):
        self.url = url
        self.rows = []

    def execute(self, sql, params=()):
        # The test restarts the server: a connection refused is tried again.
        names, rows = fedlab.pg_rows(self.url, sql, tuple(int(p) for p in params), retry_s=30)
        self.rows = [Row(zip(names, row)) for row in rows]
        return self

    def fetchall(self):
        return self.rows

    def fetchone(self):
        return self.rows[0] if self.rows else None

    def close(self):
        pass


class Flows:
    """Several e2e.Flow read as one (accepted, refused, tempfails, stop)."""

    def __init__(self, flows):
        self.flows = flows

    @property
    def accepted(self):
        out = {}
        for f in self.flows:
            out.update(f.accepted)
        return out

    @property
    def refused(self):
        return [r for f in self.flows for r in f.refused]

    @property
    def tempfails(self):
        return sum(f.tempfails for f in self.flows)

    def stop(self):
        for f in self.flows:
            f.stop()


class PgFederation(Federation):
    PROGS = {"spm": "spm/fedmig-spm", "smd": "smd/fedmig-smd", "frontend": "spm/fedmig-frontend"}

    def __init__(self, args, prefix):
        super().__init__(args, prefix)
        self.url = os.environ["LAB_STATE_DATABASE"]
        self.pg_dir = os.environ["LAB_PG_DIR"]
        self.lab_b = os.path.join(self.dir, "lab-b")
        self.env_b = None
        self.how = {}       # process key -> (program, conf, log, options)
        self.since = {}     # process key -> its log's size when it started
        self.supervised = set()
        self.supervisor_log = []
        self.stopping = threading.Event()
        self.sup_lock = threading.Lock()

    # --- setup ---------------------------------------------------------

    def start(self):
        super().start()
        if not self.url.startswith("postgresql://"):
            raise SystemExit("zero_loss --pg: LAB_STATE_DATABASE is not a postgresql:// URL")
        conf = self.env["FEDMIG_CONF"]
        with open(conf, "a") as f:
            f.write("frontend_name = a\nfrontend_poll_interval = 100ms\n")
        self.lab_cmd("restart-daemon", self.lab, "milter")
        # Front end b: a second lab whose Postfix delivers to this lab's
        # S1 and S2 (its own Dovecots stay unused), on the same store.
        os.mkdir(self.lab_b)
        os.chmod(self.lab_b, 0o755)
        with open(os.path.join(self.dir, "lab-b-start.log"), "w") as log:
            if subprocess.run([LAB, "start", self.lab_b, "--fedmig", "recommended"], stdout=log,
                              stderr=log, env=dict(os.environ, FEDMIG_BUILD=self.build)).returncode:
                raise SystemExit("zero_loss --pg: the second lab did not start, see %s" % log.name)
        self.env_b = fedlab.load_env(self.lab_b)
        pf_b = self.env_b["POSTFIX_CONFIG"]
        subprocess.run(["postconf", "-c", pf_b, "-e",
                        "transport_maps = inline:{ s1.example.org=lmtp:inet:127.0.0.1:%s, "
                        "s2.example.org=lmtp:inet:127.0.0.1:%s }" % (
                            self.env["S1_LMTP_PORT"], self.env["S2_LMTP_PORT"])], check=True)
        subprocess.run(["postfix", "-c", pf_b, "reload"], check=True, capture_output=True)
        with open(self.env_b["FEDMIG_CONF"]) as f:
            text = f.read()
        if "\nstate_database = %s\n" % self.url not in text:
            raise SystemExit("zero_loss --pg: the second lab is not on %s" % self.url)
        with open(self.env_b["FEDMIG_CONF"], "a") as f:
            f.write("frontend_name = b\nfrontend_poll_interval = 100ms\nrelease_sweep = 500ms\n"
                    "release_sweep_period = 60s\n")
        for d in ("milter", "policyd"):
            self.lab_cmd("restart-daemon", self.lab_b, d)
        say("   front end b: a second Postfix (SMTP 127.0.0.1:%s) with its fedmig-milter and "
            "fedmig-policyd, delivering to the same S1 and S2" % self.env_b["SMTP_PORT"])
        say("   the store: %s (PostgreSQL 15 in %s)" % (self.url, self.pg_dir))

    def lab_cmd(self, *args):
        r = subprocess.run([LAB] + list(args), capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit("zero_loss --pg: lab %s: %s" % (" ".join(args), r.stderr.strip()))

    def conf_copy(self, name, **keys):
        """The lab's fedmig.conf with KEYS set, as fedmig-NAME.conf."""
        with open(self.env["FEDMIG_CONF"]) as f:
            text = f.read()
        for k, v in keys.items():
            text, n = re.subn(r"(?m)^%s = .*$" % k, "%s = %s" % (k, v), text)
            if not n:
                text += "%s = %s\n" % (k, v)
        path = os.path.join(self.lab, "fedmig-%s.conf" % name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o644)
        return path

    def start_daemons(self):
        self.prepare_provisioning()
        self.ctl("frontend", "add", "a")
        self.ctl("frontend", "add", "b")
        conf, conf_b = self.env["FEDMIG_CONF"], self.env_b["FEDMIG_CONF"]
        run2 = os.path.join(self.lab, "run-spm2")
        os.mkdir(run2, 0o750)
        shutil.chown(run2, "fedmig", "postfix")
        self.setup("frontend-a", "frontend", conf, self.lab)
        self.setup("frontend-b", "frontend", conf_b, self.lab_b)
        self.setup("spm", "spm", conf, self.lab)
        self.setup("spm2", "spm", self.conf_copy("spm2", run_directory=run2), self.lab, "--standby")
        for w in ("w1", "w2"):
            self.setup("smd-" + w, "smd", self.conf_copy("smd-" + w, smd_worker_name=w,
                                                         smd_lease=LEASE), self.lab)
        for key in ("frontend-a", "frontend-b", "spm", "spm2", "smd-w1", "smd-w2"):
            self.spawn(key)
            if key == "spm" and not fedlab.wait_for(lambda: self.leader() == "spm", 20, 0.1):
                raise SystemExit("zero_loss --pg: the first fedmig-spm does not lead")
        self.supervised = set(self.how)
        threading.Thread(target=self.supervise, daemon=True).start()
        say("== fedmig-frontend a (pid %d) and b (pid %d); fedmig-spm leading (pid %d) and "
            "--standby (pid %d); fedmig-smd workers w1 (pid %d) and w2 (pid %d), smd_lease %s" % (
                tuple(self.procs[k].pid for k in ("frontend-a", "frontend-b", "spm", "spm2",
                                                  "smd-w1", "smd-w2")) + (LEASE,)))

    def setup(self, key, prog, conf, lab, *options):
        self.how[key] = (prog, conf, os.path.join(lab, "log", "fedmig-%s.log" % key), options)

    def spawn(self, key, options=None):
        prog, conf, log, opts = self.how[key]
        self.since[key] = os.path.getsize(log) if os.path.exists(log) else 0
        with open(log, "a") as f:
            self.procs[key] = subprocess.Popen(
                [os.path.join(self.build, self.PROGS[prog]), "-c", conf, "-f"]
                + list(opts if options is None else options), stdout=f, stderr=f)
        return self.procs[key].pid

    def logged(self, key, text):
        """TEXT in KEY's log since its current process started."""
        try:
            with open(self.how[key][2], "rb") as f:
                f.seek(self.since[key])
                return text.encode() in f.read()
        except OSError:
            return False

    def leader(self):
        """The key of the fedmig-spm that leads now, or None."""
        for key in ("spm", "spm2"):
            p = self.procs.get(key)
            if p and p.poll() is None and (self.logged(key, "this pilot (pid %d on " % p.pid)
                                     or self.logged(key, "taking over")):
                return key
        return None

    def supervise(self):
        """Restart what exits, half a second later; a pilot as --standby."""
        while not self.stopping.wait(0.2):
            with self.sup_lock:
                for key in sorted(self.supervised):
                    p = self.procs[key]
                    if p.poll() is None:
                        continue
                    time.sleep(0.5)
                    if self.stopping.is_set():
                        return
                    opts = ("--standby",) if key.startswith("spm") else None
                    pid = self.spawn(key, opts)
                    self.supervisor_log.append("fedmig-%s (pid %d) exited %d; restarted%s, pid %d"
                                               % (key, p.pid, p.returncode,
                                                  " as --standby" if opts else "", pid))

    def unsupervise(self, key):
        with self.sup_lock:
            self.supervised.discard(key)

    # --- the run -------------------------------------------------------

    def db(self):
        return PgDb(self.url)

    def mail_flow(self, addrs, multi, slow, pause):
        rate = self.args.rate / 2
        a = e2e.Flow(self.env, addrs, rate=rate, multi=multi, slow=slow, slow_pause=pause)
        env_b = dict(self.env, SMTP_PORT=self.env_b["SMTP_PORT"],
                     POSTFIX_CONFIG=self.env_b["POSTFIX_CONFIG"])
        b = e2e.Flow(env_b, addrs, rate=rate, multi=multi, slow=slow, slow_pause=pause, seed=2)
        return Flows([a.start(), b.start()])

    def front_ends(self):
        return [("a", self.env), ("b", self.env_b)]

    def restart_pg(self):
        t0 = time.monotonic()
        subprocess.run([PG, "restart", self.pg_dir], check=True, capture_output=True)
        return time.monotonic() - t0

    def log_digest(self):
        """(log, count, first two) of the fedmig logs' warning and error
        lines, both labs: what a passing run still had to say."""
        out = []
        for lab in (self.lab, self.lab_b):
            d = os.path.join(lab, "log")
            for name in sorted(os.listdir(d)):
                if not name.startswith("fedmig"):
                    continue
                with open(os.path.join(d, name), errors="replace") as f:
                    bad = [l.strip()[:220] for l in f if re.search(
                        r"(?i)\b(warning|error|fatal|panic)\b", l)]
                if bad:
                    out.append((os.path.relpath(os.path.join(d, name), self.dir), len(bad), bad[:2]))
        return out

    # --- teardown ------------------------------------------------------

    def stop(self, keep):
        self.stopping.set()
        with self.sup_lock:
            self.supervised.clear()
        save = os.environ.get("ZERO_LOSS_LOGS")  # a directory to keep the logs in
        if save:
            for lab in (self.lab, self.lab_b, self.pg_dir):
                if os.path.isdir(os.path.join(lab, "log")):
                    shutil.copytree(os.path.join(lab, "log"), os.path.join(
                        save, os.path.basename(lab) + "-log"), dirs_exist_ok=True)
                maillog = os.path.join(lab, "postfix", "maillog")
                if os.path.exists(maillog):
                    shutil.copy(maillog, os.path.join(save, os.path.basename(lab) + "-log"))
        if not keep and self.env_b:
            for p in self.procs.values():
                p.terminate()
            subprocess.run([LAB, "stop", self.lab_b], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        super().stop(keep)
