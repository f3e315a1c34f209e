"""The far site of the demo's federation: a third source system, s3, whose
mailboxes the federation cannot reach itself (its s3_imap is a port
nothing listens on, s3_access = agent). fedmig-agent, beside it, reads
them from S1's Dovecot (which serves s3.example.org in the lab) and
uploads them to fedmig-apid over HTTPS (the lab's CA, made at start);
fedmig-smd copies them from the data buffer to S2 like any other.

    site = AgentSite(lab_dir, env, build)
    conf_text = site.fedmig_conf()     # appended to fedmig.conf
    site.start(ctl)                    # after the directory import
    site.stop()
"""
import os
import shutil
import signal
import socket
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LAB = os.path.join(os.path.dirname(HERE), "lab", "lab")


def free_ports(n):
    out = subprocess.run([LAB, "ports", str(n)], check=True, capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


class AgentSite:
    def __init__(self, lab, env, build, name="far"):
        self.lab, self.env, self.build, self.name = lab, env, build, name
        self.apid_port, self.closed = free_ports(2)
        self.dir = os.path.join(lab, "agent-" + name)
        self.procs = {}

    def fedmig_conf(self, far=True):
        """fedmig.conf's lines for s3 (FAR; s3 in "systems" is the
        caller's) and fedmig-apid."""
        e, lab = self.env, self.lab
        return (("\n# the far site: s3 is read by fedmig-agent only\n"
                 "s3_domain = %s\ns3_transport = lmtp:inet:127.0.0.1:%s\n"
                 "s3_imap = imap://127.0.0.1:%d\ns3_access = agent\ns3_driver = dovecot\n"
                 "s3_passwd_file = %s\ns3_credentials = %s/secrets\n" % (
                     e["S3_DOMAIN"], e["S1_LMTP_PORT"], self.closed, e["S1_PASSWD"], lab)
                 if far else "\n# fedmig-apid, for the agents\n") +
                "apid_listen = 127.0.0.1:%d\napid_tls_cert = %s/tls/server.pem\n"
                "apid_tls_key = %s/tls/server.key\napid_spool_directory = %s/apid-spool\n"
                "apid_poll_timeout = 10s\n" % (self.apid_port, lab, lab, lab))

    def agent_conf(self):
        e = self.env
        os.makedirs(os.path.join(self.dir, "spool"), mode=0o700, exist_ok=True)
        os.chmod(self.dir, 0o700)
        secrets = os.path.join(self.dir, "secrets")
        shutil.copyfile(os.path.join(self.lab, "secrets"), secrets)
        os.chmod(secrets, 0o600)
        # The agent runs as fedmig_user: it owns its token, spool and secrets.
        for d, _, files in os.walk(self.dir):
            for x in [d] + [os.path.join(d, f) for f in files]:
                shutil.chown(x, "fedmig")
        path = os.path.join(self.dir, "agent.conf")
        with open(path, "w") as f:
            f.write("# fedmig-agent %s, beside the far site\n"
                    "agent_server_url = https://127.0.0.1:%d\nagent_ca_file = %s\ntls_ca_file = %s\n"
                    "agent_token_file = %s/token\nagent_spool_directory = %s/spool\n"
                    "agent_heartbeat = 2s\nagent_max_migrators = 4\n"
                    "systems = s3\ns3_domain = %s\ns3_imap = imap://127.0.0.1:%s\n"
                    "s3_credentials = %s\n" % (
                        self.name, self.apid_port, e["TLS_CA"], e["TLS_CA"], self.dir, self.dir,
                        e["S3_DOMAIN"], e["S1_IMAP_PORT"], secrets))
        return path

    def spawn(self, key, argv, log_name):
        log = open(os.path.join(self.lab, "log", log_name + ".log"), "a")
        self.procs[key] = subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                           start_new_session=True)
        log.close()
        return self.procs[key].pid

    def wait_port(self, port, timeout=10):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                return True
            except OSError:
                time.sleep(0.1)
        return False

    def start(self, ctl, far=True):
        """fedmig-apid, then (FAR) one agent enrolled with a fresh code.
        CTL(*args) runs fedmigctl and returns its output. The PIDs (the
        agent's None without FAR), or SystemExit."""
        apid = self.spawn("apid", [os.path.join(self.build, "spm", "fedmig-apid"), "-c",
                                   self.env["FEDMIG_CONF"], "-f"], "fedmig-apid")
        if not self.wait_port(self.apid_port):
            raise SystemExit("demo: fedmig-apid does not listen on %d (see %s/log/fedmig-apid.log)"
                             % (self.apid_port, self.lab))
        if not far:
            return apid, None
        conf = self.agent_conf()
        agent_bin = os.path.join(self.build, "agent", "fedmig-agent")
        code = ctl("agent", "add", self.name).strip()
        with open(os.path.join(self.lab, "log", "agent-%s.log" % self.name), "a") as log:
            r = subprocess.run([agent_bin, "-c", conf, "-f", "--enrol", code], stdout=log,
                               stderr=log, stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise SystemExit("demo: fedmig-agent --enrol failed (see %s/log/agent-%s.log)"
                             % (self.lab, self.name))
        agent = self.spawn("agent", [agent_bin, "-c", conf, "-f"], "agent-" + self.name)
        return apid, agent

    def stop(self):
        stop_groups(self.procs.values())


def stop_groups(procs):
    """SIGTERM to the process group of each of PROCS (Popen objects started
    in a session of their own), SIGKILL to those still there after 10 s."""
    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except OSError:
            pass
    for p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
