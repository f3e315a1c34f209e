"""make demo (unless DEMO_STATUS=0): headless Debian chromium watches
fedmig-apid's status page while the batch migrates (tests/lab/statuslab.py
watch), with screenshots in FEDMIG_BUILD/test-logs/status-demo-*.png, and
compares its numbers with fedmigctl report and the store at the end.

Needs fedmig-apid running in the demo (agent or desktop users) and
Debian's python3 with selenium (.ci/deps). DURING and BEFORE_REPORT are
Federation.run's hooks.
"""
import os
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class StatusWatch:
    @staticmethod
    def wanted(setting):
        if setting in ("0", "1"):
            return setting == "1"
        return all(os.access(p, os.X_OK) for p in ("/usr/bin/chromium", "/usr/bin/chromedriver")) \
            and os.path.exists("/usr/lib/python3/dist-packages/selenium")

    def __init__(self):
        self.proc = None
        self.fed = None

    def during(self, fed):
        self.fed = fed
        if not fed.site:
            print("demo: the status page needs fedmig-apid (agent or desktop users): no page watched")
            return
        with open(os.path.join(fed.lab, "viewer-ops"), "w") as f:
            f.write(fed.ctl("viewer", "add", "ops"))
        out = os.path.join(fed.build, "test-logs")
        os.makedirs(out, exist_ok=True)
        env = dict(os.environ, FEDMIG_BUILD=fed.build,
                   PYTHONPATH=os.pathsep.join([os.path.join(REPO, "tests", "e2e"),
                                               os.path.join(REPO, "tests", "lab")]))
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(REPO, "tests", "lab", "statuslab.py"), fed.lab,
             str(fed.site.apid_port), out, "watch"], env=env)
        print("== status page: https://127.0.0.1:%d/status (viewer ops, secret in %s/viewer-ops),"
              " watched by headless chromium" % (fed.site.apid_port, fed.lab))

    def before_report(self):
        if self.proc is None:
            return
        open(os.path.join(self.fed.lab, "status-stop"), "w").close()
        try:
            rc = self.proc.wait(120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        print("== status page %s" % ("agreed with fedmigctl report and the store" if rc == 0
                                      else "check FAILED (see above)"))
        self.rc = rc
