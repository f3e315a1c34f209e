"""The directory part of `make demo` (issue 16): no CSV.

Each system keeps its own directory: S1 and S2 a private slapd each (the
lab's --ldap; S1 with syncprov), the far site (s3) a site script run by the
exec driver (s3_directory = exec). DirDemo.fill() completes what the
lab's adduser made (S1's users get an alias, a few colleagues are created
native to S2, the far site's users are listed by its script) and fills fedmig's
directory with `fedmigctl directory sync`; after the batch,
DirDemo.address_books() retires the moved accounts from S1's directory as
S1's administrator would, syncs again (--force: S1's listing shrank past
the guard, which the demo shows first) and prints both address books:
each must list every user of the other side.
"""
import os
import shutil
import subprocess

# The far site's directory as a site script: records on stdout (exec
# driver: KEY TAB ACCESS TAB PHYSICAL TAB ALIASES TAB NAME, then "."), its
# contacts in a file next to it.
S3_SCRIPT = r"""#!/bin/sh
# The far site's directory (fedmig demo): s3_directory = exec.
set -eu
d=$(dirname "$0")
c=$d/contacts
tab=$(printf '\t')
case "${1:-}" in
list) cat "$d/accounts"; echo . ;;
contacts) if [ -f "$c" ]; then cat "$c"; fi; echo . ;;
contact-put)
	{ grep -v -F "$tab$2$tab" "$c" 2>/dev/null || true; printf '%s\t%s\t%s\n' "$2" "$2" "$3"; } >"$c.tmp"
	mv "$c.tmp" "$c" ;;
contact-del)
	{ grep -v -F "$tab$2$tab" "$c" 2>/dev/null || true; } >"$c.tmp"
	mv "$c.tmp" "$c" ;;
*) echo "usage: $0 list|contacts|contact-put ADDRESS NAME|contact-del ADDRESS" >&2; exit 64 ;;
esac
"""


def say(msg=""):
    print(msg, flush=True)


class DirDemo:
    def __init__(self, fed, lab_script, colleagues=3):
        self.fed = fed
        self.lab_script = lab_script
        self.colleagues = ["colleague%02d" % (i + 1) for i in range(colleagues)]
        self.syncs = 0

    # --- helpers -------------------------------------------------------

    def ldap(self, sys_, op, ldif):
        subprocess.run([self.lab_script, "ldif", self.fed.lab, sys_, op], input=ldif, text=True,
                       check=True, capture_output=True)

    def sync(self, *args):
        """fedmigctl directory sync ARGS as fedmig_user (as fedmig-spm runs
        it); returns (exit code, CSV rows, other lines)."""
        self.syncs += 1
        cmd = ["setpriv", "--reuid=fedmig", "--regid=fedmig", "--init-groups",
               os.path.join(self.fed.build, "spm", "fedmigctl"), "-c", self.fed.env["FEDMIG_CONF"],
               "directory", "sync"] + list(args)
        r = subprocess.run(cmd, capture_output=True, text=True)
        with open(os.path.join(self.fed.dir, "dirsync.%d.out" % self.syncs), "w") as f:
            f.write(r.stdout + r.stderr)
        rows = [x.split(",", 4) for x in r.stdout.splitlines() if x.count(",") >= 3
                and x.split(",")[1] in ("up", "down")]
        other = [x for x in (r.stdout + r.stderr).splitlines() if x and x.count(",") < 3]
        return r.returncode, rows, other

    def show_sync(self, what, rc, rows, other):
        counts = {}
        for r in rows:
            if r[2] == "summary":
                continue
            key = "%s %s %s" % (r[0], r[1], r[2])
            counts[key] = counts.get(key, 0) + 1
        say("   %s: exit %d; %s" % (what, rc, ", ".join("%s %d" % kv for kv in sorted(counts.items()))
                                     or "no change"))
        for line in other[:8]:
            say("      " + line)

    def contacts(self, sys_):
        """{address: name} of the entries under SYS's contact base."""
        e = self.fed.env
        up = sys_.upper()
        r = subprocess.run(["ldapsearch", "-x", "-LLL", "-o", "ldif-wrap=no", "-H", e["LDAP_" + up],
                            "-D", e["LDAP_%s_BIND_DN" % up], "-y", e["LDAP_%s_BIND_PWFILE" % up],
                            "-b", e["LDAP_%s_CONTACTS" % up], "-s", "one", "(objectClass=*)",
                            "mail", "displayName"], capture_output=True, text=True,
                           env=dict(os.environ, LDAPNOINIT="1"))
        out, cur = {}, None
        for line in r.stdout.splitlines():
            if line.startswith("mail: "):
                cur = line[6:].lower()
                out.setdefault(cur, "")
            elif line.startswith("displayName: ") and cur:
                out[cur] = line[13:]
            elif not line:
                cur = None
        return out

    # --- before the batch ----------------------------------------------

    def s3_directory(self):
        """The far site's exec directory: its script, its accounts."""
        d = os.path.join(self.fed.lab, "s3-directory")
        os.makedirs(d, exist_ok=True)
        script = os.path.join(d, "directory")
        with open(script, "w") as f:
            f.write(S3_SCRIPT)
        os.chmod(script, 0o755)
        dom = self.fed.env["S3_DOMAIN"]
        with open(os.path.join(d, "accounts"), "w") as f:
            for u in sorted(self.fed.far):
                f.write("%s\t%s@example.org\t%s@%s\t%s.alias@example.org\tUser %s\n"
                        % (u, u, u, dom, u, u))
        for x in (d, script, os.path.join(d, "accounts")):
            shutil.chown(x, "fedmig")
        return "s3_directory = exec\ns3_directory_command = %s\n" % script

    def fill(self):
        fed, e = self.fed, self.fed.env
        # The lab's adduser already gave S1's users their uid= entry there.
        for u in self.colleagues:
            subprocess.run([self.lab_script, "adduser", fed.lab, "s2", u], check=True,
                           capture_output=True)
        ldif = "".join("dn: uid=%s,%s\nchangetype: modify\nadd: mailLocalAddress\n"
                       "mailLocalAddress: %s.alias@example.org\n\n" % (u, e["LDAP_S1_PEOPLE"], u)
                       for u in fed.users + fed.stay if u not in fed.far)
        self.ldap("s1", "modify", ldif)
        conf = "\n# demo: each system's own directory, synced (no CSV)\n"
        if fed.far:
            conf += self.s3_directory()
        with open(e["FEDMIG_CONF"], "a") as f:
            f.write(conf)
        say("   directories: S1 slapd %s (syncprov: incremental), S2 slapd %s (full listings)%s"
            % (e["LDAP_S1"], e["LDAP_S2"], ", the far site a script (exec driver)"
               if fed.far else ""))
        say("   %d users on S1, %d colleagues native to S2 (%s ...)" % (
            len(fed.users) + len(fed.stay) - len(fed.far), len(self.colleagues),
            self.colleagues[0]))
        rc, rows, other = self.sync()
        self.show_sync("fedmigctl directory sync", rc, rows, other)
        if rc != 0:
            raise SystemExit("demo: the first directory sync failed (exit %d): see %s/dirsync.1.out"
                             % (rc, fed.dir))
        n = len(fed.ctl("directory", "list").splitlines()) - 1
        say("   the directory holds %d entries, each owned by the system that lists it" % n)

    # --- after the batch -----------------------------------------------

    def address_books(self):
        """Retire the moved accounts from S1's directory, sync, and show
        both address books. Returns 0 when each lists every user of the
        other side."""
        fed, e = self.fed, self.fed.env
        moved = [u for u in fed.users if u not in fed.far]
        say()
        say("== S1's administrator retires the %d moved accounts from S1's directory" % len(moved))
        self.ldap("s1", "delete", "".join("uid=%s,%s\n" % (u, e["LDAP_S1_PEOPLE"]) for u in moved))
        rc, rows, other = self.sync()
        self.show_sync("fedmigctl directory sync", rc, rows, other)
        if rc == 1:
            say("   (S1's listing shrank past directory_shrink_limit: nothing deleted until "
                "the administrator confirms)")
            rc, rows, other = self.sync("--force")
            self.show_sync("fedmigctl directory sync --force", rc, rows, other)
        books = {s: self.contacts(s) for s in ("s1", "s2")}
        want = {"s1": {"%s@example.org" % u for u in fed.users + self.colleagues},
                "s2": {"%s@example.org" % u for u in fed.stay}}
        good = rc == 0
        for s, other_side in (("s1", "S2"), ("s2", "S1")):
            book = books[s]
            missing = sorted(want[s] - set(book))
            say("== %s's address book (ou=fedmig): %d entries for users on %s" % (
                s.upper(), len(book), other_side))
            for a in sorted(book)[:6]:
                say("   %-28s %s" % (a, book[a]))
            if len(book) > 6:
                say("   ... and %d more" % (len(book) - 6))
            if missing:
                say("   MISSING: %s" % " ".join(missing))
                good = False
        say("directory: %s" % ("PASS: each side's address book lists the users of the other"
                               if good else "FAIL"))
        return 0 if good else 1
