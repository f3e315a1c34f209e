"""A private federation on 127.0.0.1 migrating a batch while mail flows.

Used by `make demo` (tests/demo), the zero-loss test under faults
(tests/e2e/zero_loss.py) and bench/e2e. It starts the lab (a real Postfix
front end with fedmig-milter and fedmig-policyd wired in, Dovecot S1 and
S2), fedmig-spm and fedmig-smd; creates users on S1 with mail in folders;
imports the directory; sends a steady flow of mail; submits a batch; shows
progress once a second; and reports where every message went, counted by
Message-ID on both servers.

args (an argparse namespace or anything with these attributes): users,
messages, rate, start_in, spacing, timeout, and optionally stay (users in
the directory who are not migrated), slow, slow_pause, multi, extra_conf,
agent_users (the last N users live on the far site, s3, which only
fedmig-agent reaches: see agent_site.py), dirsync (each system keeps its
own directory, fedmig's is filled by `directory sync` instead of a CSV
import: see dirdemo.py), pim (contacts and calendars on a Radicale beside
each Dovecot move with the mail: see pim_demo.py), prestage (seconds
between two pre-stage passes: the batch is pre-staged from state 1 on and
the report gives each mailbox's catch-up; 0 or absent: no pre-stage),
ws_users (that many users on S1 have a desktop profile and a fedmig-agent
--workstation: see ws_demo.py; their scenario "desk" has local_data, the
far site's users keep "default").
"""
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "lab"))
import e2e  # noqa: E402
from agent_site import AgentSite  # noqa: E402
from dirdemo import DirDemo  # noqa: E402
import fedlab  # noqa: E402
import mailtrace  # noqa: E402
import pim_demo  # noqa: E402
from ws_demo import WsDemo  # noqa: E402

LAB = os.path.join(REPO, "tests", "lab", "lab")
STATE_NAMES = {0: "registered", 1: "target-created", 2: "checked", 3: "rechecked",
               4: "address-formed", 5: "held", 6: "switched", 7: "copying", 8: "copied",
               9: "local-done", 10: "complete", 13: "source-deleted", 20: "check-failed",
               21: "sync-mismatch", 22: "failed", 23: "cancelled", 24: "rolled-back"}
FINAL = {10, 13, 20, 21, 22, 23, 24}


def say(msg=""):
    print(msg, flush=True)


class Federation:
    def __init__(self, args, prefix="fedmig-demo."):
        self.args = args
        self.name = prefix.split("-", 1)[-1].rstrip(".")
        self.build = os.path.abspath(os.environ.get("FEDMIG_BUILD", os.path.join(REPO, "build")))
        self.dir = tempfile.mkdtemp(prefix=prefix)
        os.chmod(self.dir, 0o755)
        self.lab = os.path.join(self.dir, "lab")
        self.procs = {}
        self.batch_s = None
        self.results = {}
        self.env = None
        self.users = ["user%02d" % (i + 1) for i in range(args.users)]
        nfar = min(getattr(args, "agent_users", 0), args.users)
        self.far = set(self.users[args.users - nfar:])
        self.site = None
        near = [u for u in self.users if u not in self.far]
        nws = min(getattr(args, "ws_users", 0), len(near))
        self.ws_users = near[len(near) - nws:]
        self.ws = None
        self.pim = bool(getattr(args, "pim", False))
        self.pim_items = 0
        # Users in the directory who are not migrated: mail to them and to a
        # migrating user in one message must reach both, once.
        self.stay = ["stay%02d" % (i + 1) for i in range(getattr(args, "stay", 0))]
        self.dirdemo = DirDemo(self, LAB) if getattr(args, "dirsync", False) else None

    # --- setup ---------------------------------------------------------

    def ctl(self, *args, check=True):
        cmd = [os.path.join(self.build, "spm", "fedmigctl"), "-c", self.env["FEDMIG_CONF"]]
        r = subprocess.run(cmd + list(args), capture_output=True, text=True)
        if check and r.returncode != 0:
            raise SystemExit("%s: fedmigctl %s: %s" % (self.name, " ".join(args), r.stderr.strip()))
        return r.stdout

    def start(self):
        say("== starting a private federation in %s" % self.dir)
        log = open(os.path.join(self.dir, "lab-start.log"), "w")
        r = subprocess.run([LAB, "start", self.lab, "--fedmig", "recommended"]
                           + (["--ldap"] if self.dirdemo else [])
                           + (["--pim"] if self.pim else []), stdout=log,
                           stderr=log, env=dict(os.environ, FEDMIG_BUILD=self.build))
        if r.returncode != 0:
            raise SystemExit("demo: the lab did not start, see %s/lab-start.log" % self.dir)
        self.env = fedlab.load_env(self.lab)
        with open(self.env["FEDMIG_CONF"], "a") as f:
            f.write("\n# demo: a scenario that copies the data; quick timers for a demo\n"
                    "scenarios = default%s\n"
                    "spm_poll_interval = 200ms\nrelease_sweep = 500ms\n"
                    "release_sweep_period = 60s\nsmd_max_children = 2\n"
                    "smd_poll_interval = 1s\n" % (" desk" if self.ws_users else ""))
            f.write(getattr(self.args, "extra_conf", ""))
            scn = ["copy_data = yes"]
            if getattr(self.args, "prestage", 0):
                scn += ["prestage = yes", "prestage_interval = %ds" % self.args.prestage]
            if self.pim:
                scn.append(pim_demo.CONF.strip()[len("default_"):])
            f.write("".join("default_%s\n" % l for l in scn))
        if self.far or self.ws_users:
            self.site = AgentSite(self.lab, self.env, self.build)
            with open(self.env["FEDMIG_CONF"]) as f:
                text = f.read()
            if self.far:
                text = text.replace("\nsystems = s1 s2\n", "\nsystems = s1 s2 s3\n", 1)
            with open(self.env["FEDMIG_CONF"], "w") as f:
                f.write(text + self.site.fedmig_conf(bool(self.far)))
            if self.ws_users:
                self.ws = WsDemo(self.lab, self.env, self.build, self.ws_users)
                with open(self.env["FEDMIG_CONF"], "a") as f:
                    f.write(self.ws.fedmig_conf(scn))
        say("   Postfix (SMTP 127.0.0.1:%s) with fedmig-milter + fedmig-policyd socketmap"
            % self.env["SMTP_PORT"])
        say("   Dovecot S1 (IMAP :%s, LMTP :%s), Dovecot S2 (IMAP :%s, LMTP :%s)" % (
            self.env["S1_IMAP_PORT"], self.env["S1_LMTP_PORT"], self.env["S2_IMAP_PORT"],
            self.env["S2_LMTP_PORT"]))

    def create_users(self):
        say("== creating %d users on S1, %d messages each (folders, flags, keywords, dates)"
            % (len(self.users), self.args.messages))
        for u in self.users + self.stay:
            subprocess.run([LAB, "adduser", self.lab, self.system(u), u], check=True,
                           capture_output=True)
        time.sleep(1.1)  # Dovecot re-reads the passwd-file when its mtime (seconds) moves
        t0 = time.monotonic()
        self.populated = 0
        for u in self.users:
            folders = e2e.populate(self.far_env(u), self.system(u), u, self.args.messages)
            self.populated += sum(len(v) for v in folders.values())
        say("   %d messages in %.1f s" % (self.populated, time.monotonic() - t0))
        if self.pim:
            near = [u for u in self.users if u not in self.far]
            self.pim_items = pim_demo.populate(self.dir, self.lab, self.env, near)
            say("   %d contacts and events on S1's Radicale (%s): an address book and two "
                "calendars for each of %d users" % (self.pim_items, self.env["RAD_S1"], len(near)))
        if self.dirdemo:
            self.dirdemo.fill()
            return
        csv = os.path.join(self.dir, "directory.csv")
        with open(csv, "w") as f:
            f.write("access,system,physical,aliases\n")
            for u in self.users + self.stay:
                f.write("%s@example.org,%s,%s@%s.example.org,%s.alias@example.org\n" % (
                    u, self.system(u), u, self.system(u), u))
        say("   " + self.ctl("directory", "import", csv).strip())

    def start_daemons(self):
        self.prepare_provisioning()
        self.spawn("spm")
        self.spawn("smd")
        say("== fedmig-spm (pid %d) and fedmig-smd (pid %d) running" % (
            self.procs["spm"].pid, self.procs["smd"].pid))
        self.start_agents()

    def prepare_provisioning(self):
        # fedmig-spm runs as fedmig and provisions S2 (dovecot driver: the
        # passwd-file and the file of addresses S2 announces).
        passwd = self.env["S2_PASSWD"]
        open(passwd + ".addresses", "a").close()
        for p in (passwd, passwd + ".addresses"):
            shutil.chown(p, "fedmig", "dovecot")
            os.chmod(p, 0o640)
        for s in ("s1", "s2"):
            d = os.path.join(self.lab, s, "sieve")
            if os.path.isdir(d):
                shutil.chown(d, "fedmig")

    def start_agents(self):
        if self.site:
            apid, agent = self.site.start(self.ctl, bool(self.far))
        if self.far:
            say("== the far site (%s: %s): only fedmig-agent (pid %d) reads it, uploading to "
                "fedmig-apid (pid %d, https://127.0.0.1:%d)" % (
                    self.env["S3_DOMAIN"], " ".join(sorted(self.far)), agent, apid,
                    self.site.apid_port))
        if self.ws:
            pids = self.ws.start(self.ctl, self.site.apid_port)
            say("== desktop users %s: a Thunderbird profile each, and a fedmig-agent "
                "--workstation (pids %s)" % (" ".join(self.ws_users), " ".join(map(str, pids))))
            say("   checks the profile before the switch, then uploads its Local Folders and "
                "switches it to S2, through fedmig-apid (pid %d, https://127.0.0.1:%d)" % (
                    apid, self.site.apid_port))

    def system(self, user):
        return "s3" if user in self.far else "s1"

    def far_env(self, user):
        """The lab's env, where the far site's IMAP is S1's (populate)."""
        if user not in self.far:
            return self.env
        return dict(self.env, S3_IMAP_PORT=self.env["S1_IMAP_PORT"])

    def spawn(self, name):
        """Start fedmig-NAME (spm or smd) in the foreground, logging to the lab."""
        prog = {"spm": "spm/fedmig-spm", "smd": "smd/fedmig-smd"}[name]
        log = open(os.path.join(self.lab, "log", "fedmig-%s.log" % name), "a")
        self.procs[name] = subprocess.Popen(
            [os.path.join(self.build, prog), "-c", self.env["FEDMIG_CONF"], "-f"],
            stdout=log, stderr=log)
        log.close()
        return self.procs[name].pid

    # --- the run -------------------------------------------------------

    def submit(self):
        batch = os.path.join(self.dir, "batch.csv")
        now = time.time()
        # GROUP addresses planned at the same instant switch as one group.
        group = max(1, getattr(self.args, "group", 1))
        with open(batch, "w") as f:
            f.write("address,target,planned,scenario\n")
            for i, u in enumerate(self.users):
                at = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(
                    now + self.args.start_in + (i // group) * self.args.spacing))
                f.write("%s@example.org,s2,%s,%s\n" % (
                    u, at, "desk" if u in self.ws_users else "default"))
        out = self.ctl("import", batch).strip()
        say("== batch submitted: %s" % out)
        if group > 1:
            say("   switches planned from +%ds, groups of %d every %.1f s" % (
                self.args.start_in, group, self.args.spacing))
        else:
            say("   switches planned from +%ds, one every %.1f s" % (self.args.start_in,
                                                                      self.args.spacing))

    def db(self):
        con = sqlite3.connect("file:%s?mode=ro" % self.env["FEDMIG_DB"], uri=True, timeout=10)
        con.row_factory = sqlite3.Row
        return con

    def progress(self, flow):
        t0 = time.monotonic()
        last = ""
        while True:
            con = self.db()
            rows = con.execute("SELECT state, count(*) n FROM requests GROUP BY state").fetchall()
            jobs = con.execute("SELECT count(*) running, sum(msgs_done) m, sum(msgs_total) t, "
                               "sum(bytes_done) b FROM smd_jobs WHERE state = 1").fetchone()
            done_b = con.execute("SELECT coalesce(sum(bytes_done), 0) FROM smd_jobs").fetchone()[0]
            if self.ws:
                self.ws.nudge(con)
            con.close()
            held = sum(1 for m in fedlab.postqueue(self.env) if m.get("queue_name") == "hold")
            counts = {STATE_NAMES.get(r["state"], str(r["state"])): r["n"] for r in rows}
            total = sum(counts.values())
            final = sum(r["n"] for r in rows if r["state"] in FINAL)
            el = time.monotonic() - t0
            rate = done_b / el / 1e6 if el > 0 else 0
            copying = ""
            if jobs["running"]:
                pct = 100.0 * (jobs["m"] or 0) / jobs["t"] if jobs["t"] else 0
                copying = " | copying %d mailbox%s %.0f%%" % (
                    jobs["running"], "es" if jobs["running"] > 1 else "", pct)
            line = "[%5.1fs] %s | held msgs %d%s | copied %.1f MB (%.2f MB/s) | mail sent %d" % (
                el, " ".join("%s=%d" % kv for kv in sorted(counts.items())), held, copying,
                done_b / 1e6, rate, len(flow.accepted))
            if line != last:
                say(line)
                last = line
            if total and final == total:
                self.batch_s = el
                return counts
            if el > self.args.timeout:
                say("demo: the batch did not finish in %d s" % self.args.timeout)
                return counts
            time.sleep(1)

    def run(self, during=None, before_report=None):
        """The whole run; DURING(self), if given, is called right after the
        batch is submitted (to start faults), BEFORE_REPORT() once the batch
        is done, before the flow stops. Returns the exit status."""
        self.start()
        self.create_users()
        self.start_daemons()
        addrs = ["%s@example.org" % u for u in self.users + self.stay]
        addrs += ["%s.alias@example.org" % u for u in self.users[:3]]
        multi = getattr(self.args, "multi", 0.1)
        slow = getattr(self.args, "slow", 0.05)
        pause = getattr(self.args, "slow_pause", 2.0)
        flow = self.mail_flow(addrs, multi, slow, pause)
        say("== mail flowing: %.0f msg/s to all users (%d%% with two recipients, %d%% slow "
            "senders pausing %.0f s mid-DATA)" % (self.args.rate, multi * 100, slow * 100, pause))
        time.sleep(3)
        self.submit()
        if during:
            during(self)
        counts = self.progress(flow)
        if before_report:
            before_report()
        say("== batch finished; stopping the mail flow and waiting for the queue to drain")
        flow.stop()
        self.queues_left = {}
        for name, env in self.front_ends():
            if not fedlab.wait_queue_empty(env, 120):
                self.queues_left[name] = fedlab.postqueue(env)
                say("demo: the Postfix queue of front end %s did not drain: %s" % (
                    name, self.queues_left[name]))
        return self.report(flow, counts)

    def mail_flow(self, addrs, multi, slow, pause):
        """The started flow of mail into the front end(s)."""
        return e2e.Flow(self.env, addrs, rate=self.args.rate, multi=multi, slow=slow,
                        slow_pause=pause).start()

    def front_ends(self):
        """(name, lab env) of each Postfix front end."""
        return [("a", self.env)]

    # --- the report ----------------------------------------------------

    def switch_groups(self):
        """fedmig-spm's line per group switched: "N of M addresses switched ... in S s"."""
        try:
            with open(os.path.join(self.lab, "log", "fedmig-spm.log"), errors="replace") as f:
                lines = f.read().splitlines()
        except OSError:
            return []
        out = []
        for line in lines:
            m = re.search(r"group \d+: (\d+ of \d+) addresses switched, \d+ released, in ([0-9.]+) s",
                          line)
            if m:
                out.append("%s in %.0f ms" % (m.group(1), float(m.group(2)) * 1000))
        return out

    def report(self, flow, counts):
        con = self.db()
        reqs = con.execute("SELECT * FROM requests ORDER BY id").fetchall()
        mailboxes, ok_boxes, pim_synced = {}, 0, 0
        say()
        say("== report")
        say("%-22s %-10s %9s %8s %6s %10s %9s  %s" % ("ADDRESS", "STATE", "HOLD ms", "COPIED",
                                                         "PIM", "VERIFIED", "CATCH-UP",
                                                         "STATES (time after submission)"))

        for r in reqs:
            hist = con.execute("SELECT at, to_state FROM history WHERE request_id = ? ORDER BY id",
                               (r["id"],)).fetchall()
            # The copy after the switch (kind 0), not a pre-stage pass.
            job = con.execute("SELECT * FROM smd_jobs WHERE request_id = ? AND kind = 0",
                              (r["id"],)).fetchone()
            t0 = hist[0]["at"] if hist else 0
            states = " ".join("%d@%.1f" % (h["to_state"], (h["at"] - t0) / 1e6) for h in hist)
            hold = (r["release_at"] - r["hold_at"]) / 1000 if r["release_at"] else float("nan")
            verified = job is not None and job["state"] == 2
            copied = job["msgs_done"] if job else 0
            ok_boxes += r["state"] in (10, 13) and verified
            far = r["access"].split("@")[0] in self.far
            pim_items = pim_demo.job_items(job)
            pim_synced += pim_items
            catchup = "%.1f s" % (r["catchup_ms"] / 1e3) if r["catchup_ms"] >= 0 else "-"
            say("%-22s %-10s %9.1f %8d %6d %10s %9s  %s" % (r["access"] + (" *" if far else ""),
                                                              STATE_NAMES.get(r["state"]),
                                                              hold, copied, pim_items,
                                                              "yes" if verified else "NO",
                                                              catchup, states))
            if r["reason"]:
                say("%22s reason: %s" % ("", r["reason"]))
            mailboxes[r["access"]] = {"s1": r["source_physical"], "s2": r["target_physical"],
                                      "switched_at": r["switch_at"], "copied": verified}
        windows = sorted((r["release_at"] - r["hold_at"]) / 1000 for r in reqs if r["release_at"])
        catchups = sorted(r["catchup_ms"] / 1e3 for r in reqs if r["catchup_ms"] >= 0)
        passes = sum(r["prestage_passes"] for r in reqs)
        ws_lines = self.ws.report(con) if self.ws else []
        ws_done = self.ws.done(con) if self.ws else 0
        con.close()
        for u in self.stay:
            mailboxes["%s@example.org" % u] = {"s1": "%s@s1.example.org" % u, "s2": None,
                                               "switched_at": 0, "copied": False}
        for a in list(mailboxes):
            local = a.split("@")[0]
            mailboxes[local + ".alias@example.org"] = mailboxes[a]
        acct = e2e.account(self.env, flow.accepted, mailboxes)
        if self.far:
            say("* read by fedmig-agent on the far site (%s), which the federation cannot reach"
                % self.env["S3_DOMAIN"])
        if ws_lines:
            say()
            say("desktop users: checks before the switch (2, 3), then Local Folders uploaded, "
                "profile switched and tested (9), complete (10)")
            for line in ws_lines:
                say(line)
        say()
        if windows:
            say("hold window: p50 %.0f ms, p99 %.0f ms, max %.0f ms (%d switches)" % (
                windows[len(windows) // 2], windows[min(len(windows) - 1, int(len(windows) * 0.99))],
                windows[-1], len(windows)))
        groups = self.switch_groups()
        if groups:
            say("switched in %d groups: %s" % (len(groups), "; ".join(groups[:3])
                                                + ("; ..." if len(groups) > 3 else "")))
        if catchups:
            say("catch-up (switch to everything on the target): p50 %.1f s, p95 %.1f s, max %.1f s"
                " (%d mailboxes; %d pre-stage passes before the switches)" % (
                    catchups[len(catchups) // 2],
                    catchups[min(len(catchups) - 1, int(len(catchups) * 0.95))], catchups[-1],
                    len(catchups), passes))
        say("mailboxes: %d of %d complete and verified; %d populated messages copied" % (
            ok_boxes, len(reqs), self.populated))
        if self.ws:
            say("desktop users: %d of %d checked, uploaded, switched and complete" % (
                ws_done, len(self.ws_users)))
        if self.pim:
            say("contacts and calendars: %d of %d items synced and verified (PIM column)" % (
                pim_synced, self.pim_items))
        say("mail: %d messages sent (%d deliveries), %d delivered to S1 before the switch, "
            "%d delivered to S2, %d tempfailed and retried by the sender" % (
                acct["sent"], acct["deliveries_expected"], acct["s1_before_switch"], acct["s2"],
                flow.tempfails))
        say("      lost %d, duplicated %d, delivered to S1 after the switch %d, refused %d" % (
            len(acct["lost"]), len(acct["duplicated"]), len(acct["late_to_s1"]),
            len(flow.refused)))
        for kind in ("lost", "duplicated", "late_to_s1"):
            for msgid, rcpt in acct[kind][:10]:
                say("      %s: %s to %s" % (kind, msgid, rcpt))
        # The logs' story of each, so that a failure seen once in CI is
        # explained by its log alone.
        mailtrace.explain(self.env, acct["duplicated"] + acct["lost"] + acct["late_to_s1"])
        self.results = {"windows_ms": windows, "acct": acct, "requests": [dict(r) for r in reqs],
                        "verified": ok_boxes, "flow": flow}
        good = (not acct["lost"] and not acct["duplicated"] and not acct["late_to_s1"]
                and not flow.refused and ok_boxes == len(reqs) and len(reqs) == len(self.users)
                and (not self.pim or pim_synced == self.pim_items)
                and ws_done == len(self.ws_users))
        say("%s: %s" % (self.name, "PASS: every message delivered exactly once, every mailbox "
                        "verified" if good else "FAIL"))
        return 0 if good else 1

    # --- teardown ------------------------------------------------------

    def stop(self, keep):
        if self.ws and not keep:
            self.ws.stop()
        if self.site and not keep:
            self.site.stop()
        if keep:
            say()
            say("KEEP: everything is still running. To look at it:")
            say("  . %s/lab.env" % self.lab)
            say("  %s/spm/fedmigctl -c %s list" % (self.build, self.env["FEDMIG_CONF"]))
            say("  %s/spm/fedmigctl -c %s show user01@example.org" % (self.build,
                                                                      self.env["FEDMIG_CONF"]))
            say("  postqueue -c %s -p" % self.env["POSTFIX_CONFIG"])
            say("  IMAP: S1 127.0.0.1:%s, S2 127.0.0.1:%s (user01@s2.example.org / %s)" % (
                self.env["S1_IMAP_PORT"], self.env["S2_IMAP_PORT"], self.env["USER_PASS"]))
            say("  logs: %s/log/ and %s" % (self.lab, self.env["POSTFIX_MAILLOG"]))
            say("  stop: kill %s; %s stop %s" % (
                " ".join(str(p.pid) for p in self.procs.values()), LAB, self.lab))
            return
        for p in self.procs.values():
            p.terminate()
        for p in self.procs.values():
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        subprocess.run([LAB, "stop", self.lab], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        shutil.rmtree(self.dir, ignore_errors=True)
