"""The demo's contacts and calendars (issue 15), for federation.py.

With args.pim, the lab starts a Radicale beside each Dovecot (lab start
--pim), the scenario copies contacts and calendars with the mail
(default_pim = yes), every user on S1 gets an address book and two
calendars of a few items (tests/lab/pimlab.py, under /usr/bin/python3:
vobject), and the report counts the items fedmig-smd synced per user
(smd_jobs.pim_items). The far site's users (s3, reached only by
fedmig-agent) have no DAV server: they have none.
"""
import os
import shutil
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
PIMLAB = os.path.join(os.path.dirname(HERE), "lab", "pimlab.py")
PY = "/usr/bin/python3"
RADICALE = "/usr/bin/radicale"


def available(build):
    """PIM in the demo: Radicale installed and a fedmig-smd that syncs it."""
    smd = os.path.join(build, "smd", "fedmig-smd")
    if not (os.access(RADICALE, os.X_OK) and os.access(PY, os.X_OK) and os.access(smd, os.X_OK)):
        return False
    r = subprocess.run([smd, "--help"], capture_output=True, text=True)
    return "--pim-only" in r.stdout + r.stderr


CONF = "default_pim = yes\n"


def populate(workdir, lab, env, users, contacts=12, events=8):
    """A few items per user, written into S1's Radicale store; returns the
    number of items."""
    total = 0
    for i, u in enumerate(users):
        fx = os.path.join(workdir, "pim-fixtures", u)
        subprocess.run([PY, PIMLAB, "gen", "--out", fx, "--seed", str(1000 + i), "--contacts",
                        str(contacts), "--events", str(events), "--photo-bytes", "30000",
                        "--no-dup"], check=True, capture_output=True)
        subprocess.run([PY, PIMLAB, "upload", "--direct", "--store",
                        os.path.join(lab, "dav", "s1", "store"), "--url", env["RAD_S1"],
                        "--owner", "%s@%s" % (u, env["S1_DOMAIN"]), "--fixtures", fx],
                       check=True, capture_output=True)
        total += sum(len([n for n in os.listdir(os.path.join(fx, c)) if not n.startswith(".")])
                     for c in os.listdir(fx))
        shutil.rmtree(fx, ignore_errors=True)
    return total


def job_items(job):
    """Items fedmig-smd synced for one request (0 without schema 7)."""
    if job is None or "pim_items" not in job.keys():
        return 0
    return job["pim_items"] or 0
