"""The status page in a real browser, for tests/integ/status_page.sh.

statuslab.py LAB PORT OUTDIR migrate|bulk|watch: fedmig-apid on 127.0.0.1:PORT with the lab's
certificate, fedmig-spm and fedmig-smd running, viewers "ops" (secret in
LAB/viewer-ops) and "gone" (LAB/viewer-gone, removed), agent "ag1" with
its one-time code in LAB/agent-code. Checks the credentials, drives a
short migration while headless Debian chromium (selenium + chromedriver)
watches /status, compares the page and /status.json with fedmigctl
report --json and the store, parses /metrics strictly, then a batch of
10,000 addresses ("bulk"). "watch" is make demo's (DEMO_STATUS=1,
tests/e2e/status_demo.py): the page followed until LAB/status-stop, then
compared. Screenshots: OUTDIR/status-*.png. Exit 0 when all held.
"""
import base64
import hashlib
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import e2e
import fedlab
from prometheus_client.parser import text_string_to_metric_families
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

LAB, PORT, OUT = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ENV = fedlab.load_env(LAB)
BUILD = os.environ["FEDMIG_BUILD"]
CTL = [os.path.join(BUILD, "spm", "fedmigctl"), "-c", ENV["FEDMIG_CONF"]]
URL = "https://127.0.0.1:%d" % PORT
CA = ENV["TLS_CA"] if "TLS_CA" in ENV else os.environ["TLS_CA"]
SSL = ssl.create_default_context(cafile=CA)
USERS = ["st1", "st2", "st3"]
BULK = 10000
problems = []


def secret(name):
    with open(os.path.join(LAB, "viewer-" + name)) as f:
        return f.read().strip()


def basic(name, sec):
    return "Basic " + base64.b64encode(("%s:%s" % (name, sec)).encode()).decode()


OPS = basic("ops", secret("ops"))


def http(path, auth=None, data=None, headers=None):
    """(status, headers, body bytes) of PATH at apid."""
    req = urllib.request.Request(URL + path, data=data, headers=dict(headers or {}))
    if auth:
        req.add_header("Authorization", auth)
    try:
        with urllib.request.urlopen(req, context=SSL, timeout=20) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def ctl(*args):
    return subprocess.run(CTL + list(args), check=True, capture_output=True, text=True).stdout


def check(cond, what):
    if not cond:
        problems.append(what)
        print("problem:", what, flush=True)
    return cond


def credentials():
    """Viewers read, agents do not; no credential: 401."""
    st, hd, _ = http("/status")
    check(st == 401 and "Basic" in (hd.get("WWW-Authenticate") or ""), "no credential: %d" % st)
    check(http("/status", auth=OPS)[0] == 200, "the viewer was refused the page")
    check(http("/metrics", auth=OPS)[0] == 200, "the viewer was refused /metrics")
    bad = basic("ops", "0" * 64)
    check(http("/status.json", auth=bad)[0] == 401, "a wrong secret was not 401")
    check(http("/status", auth=basic("gone", secret("gone")))[0] == 401, "a removed viewer read the page")
    check(http("/status.json?page=-1", auth=OPS)[0] == 400, "a bad page number was not 400")
    with open(os.path.join(LAB, "agent-code")) as f:
        code = f.read().strip()
    vh = {"Fedmig-Agent-Version": "0.1", "Content-Type": "application/json"}
    st, _, body = http("/v1/enrol", data=json.dumps({"code": code}).encode(), headers=vh)
    token = json.loads(body).get("token", "") if st == 200 else ""
    check(len(token) == 64, "agent enrolment: %d %s" % (st, body[:200]))
    agent = "Bearer " + token
    for path in ("/status", "/status.json", "/metrics"):
        st = http(path, auth=agent)[0]
        check(st == 403, "an agent's token on %s: %d, not 403" % (path, st))
    st = http("/v1/poll", auth=OPS, data=b'{"slots":1,"wait":0}', headers=vh)[0]
    check(st in (401, 403), "the viewer on the agent API: %d" % st)
    check(http("/v1/poll", auth=agent, data=b'{"slots":1,"wait":0}', headers=vh)[0] == 200,
          "the agent was refused its own API")


def spki(pem):
    """The SPKI SHA-256 of the lab's server certificate, the one key
    chromium is told to trust (the test CA is in no NSS database)."""
    der = subprocess.run(["openssl", "x509", "-in", pem, "-pubkey", "-noout"], check=True,
                         capture_output=True).stdout
    key = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=der,
                         check=True, capture_output=True).stdout
    return base64.b64encode(hashlib.sha256(key).digest()).decode()


def browser(profile):
    o = webdriver.ChromeOptions()
    o.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1400,1100", "--user-data-dir=" + profile,
              "--ignore-certificate-errors-spki-list=" + spki(os.path.join(LAB, "tls", "server.pem"))):
        o.add_argument(a)
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
    d.execute_cdp_cmd("Network.enable", {})
    d.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Authorization": OPS}})
    return d


PAGE_JS = """
var t = function (id) { var e = document.getElementById(id); return e ? e.textContent : null; };
var st = {}, rows = [];
document.querySelectorAll("#states tbody tr").forEach(function (tr) {
    st[tr.cells[0].textContent] = +tr.cells[1].textContent; });
document.querySelectorAll("#addresses tbody tr").forEach(function (tr) {
    rows.push([tr.cells[0].textContent, tr.cells[1].textContent]); });
return {requests: t("n-requests"), hold: t("n-hold"), copied: t("n-copied"), held: t("n-held"),
        states: st, rows: rows, history: t("history")};
"""


def page(d):
    """What the page shows, read in one script (the DOM changes under us)."""
    return d.execute_script(PAGE_JS)


def text(d, id_):
    return page(d)[{"n-requests": "requests", "n-hold": "hold", "n-copied": "copied",
                    "n-held": "held"}[id_]]


def state_cells(d):
    return page(d)["states"]


def wait(d, cond, secs, what):
    def safe(_):
        try:
            return cond()
        except Exception:
            return False
    try:
        WebDriverWait(d, secs, poll_frequency=0.1).until(safe)
        return True
    except Exception:
        return check(False, "timed out: " + what)


def jsnum(x):
    """A number as the page's script prints it."""
    return "%d" % x if float(x) == int(x) else repr(float(x))


def store_sums():
    m = fedlab.store_query(ENV, "SELECT coalesce(sum(j.msgs_done), 0), coalesce(sum(j.bytes_done), 0)"
                           " FROM smd_jobs j JOIN requests r ON r.id = j.request_id WHERE j.kind = 0")[0]
    held = fedlab.store_query(ENV, "SELECT count(*) FROM held_messages WHERE gone = 0")[0][0]
    return m[0], m[1], held


def migrate(d):
    """A short migration watched live: the page must follow it unreloaded."""
    for k, u in enumerate(USERS):
        e2e.populate(ENV, "s1", u, 20 + 5 * k, seed=k)
    d.get(URL + "/status")
    wait(d, lambda: text(d, "n-requests") == "0", 20, "the empty page")
    d.save_screenshot(os.path.join(OUT, "status-empty.png"))
    with open(os.path.join(LAB, "batch.csv"), "w") as f:
        for u in USERS:
            f.write("%s@example.org,s2,+1s,copy\n" % u)
    ctl("import", os.path.join(LAB, "batch.csv"))
    wait(d, lambda: text(d, "n-requests") == str(len(USERS)), 15, "the page shows the new batch")
    seen = set()

    def done():
        p = page(d)
        seen.update(r[1] for r in p["rows"])
        return p["states"].get("complete") == len(USERS)
    t0 = time.time()
    wait(d, done, 90, "every request complete on the page")
    print("page followed the migration in %.1f s; states seen in its table: %s"
          % (time.time() - t0, sorted(seen)), flush=True)
    check(len(seen) >= 2, "the live view showed no state change: %s" % seen)
    d.save_screenshot(os.path.join(OUT, "status-migrated.png"))


def compare(d, click=True):
    """The page's and /status.json's numbers against fedmigctl's and the
    store's; CLICK: an address's history opens on a click."""
    rep = json.loads(ctl("--json", "report", "--addresses"))
    time.sleep(2.5)  # one more poll: the page shows the store as it is now
    check(text(d, "n-requests") == str(rep["requests"]), "requests: page %s, report %s"
          % (text(d, "n-requests"), rep["requests"]))
    check(state_cells(d) == rep["states"], "states: page %s, report %s" % (state_cells(d), rep["states"]))
    hw = rep["hold_windows"]
    want = " / ".join(jsnum(hw[k]) for k in ("p50_ms", "p99_ms", "max_ms"))
    check(text(d, "n-hold") == want, "hold windows: page %r, report %r" % (text(d, "n-hold"), want))
    st, _, body = http("/status.json", auth=OPS)
    js = json.loads(body)
    for k in ("count", "p50_ms", "p99_ms", "max_ms"):
        check(js["hold_windows"][k] == hw[k], "status.json hold %s %s, report %s" % (k, js["hold_windows"][k], hw[k]))
    rows = {r["address"]: r for r in js["addresses"]["rows"]}
    for a in rep["addresses"]:
        r = rows.get(a["address"], {})
        for k in ("state", "hold_ms", "copied", "verified"):
            check(r.get(k) == a[k], "%s %s: status.json %r, report %r" % (a["address"], k, r.get(k), a[k]))
    msgs, byts, held = store_sums()
    check(text(d, "n-copied").split(" / ")[0] == str(msgs), "messages copied: page %s, store %d"
          % (text(d, "n-copied"), msgs))
    check(js["copy"]["bytes_done"] == byts, "bytes: %s, store %d" % (js["copy"]["bytes_done"], byts))
    check(text(d, "n-held") == str(held), "held: page %s, store %d" % (text(d, "n-held"), held))
    if click:
        d.find_element(By.CSS_SELECTOR, "#addresses tbody tr").click()
        wait(d, lambda: "E40 complete" in page(d)["history"], 10,
             "an address's history on click")
        d.save_screenshot(os.path.join(OUT, "status-detail.png"))
    return rep, msgs, held


def watch(d):
    """make demo with DEMO_STATUS=1: the page watched until LAB/status-stop
    appears (the batch is done), a screenshot every 10 s, then compared."""
    d.get(URL + "/status")
    stop, shown, n, t0 = os.path.join(LAB, "status-stop"), set(), 0, time.time()
    while not os.path.exists(stop) and time.time() - t0 < 900:
        p = page(d)
        shown.add((p["requests"], p["states"].get("complete", 0)))
        if time.time() - t0 >= 10 * n:
            d.save_screenshot(os.path.join(OUT, "status-demo-%02d.png" % n))
            n += 1
        time.sleep(0.5)
    time.sleep(2.5)
    d.save_screenshot(os.path.join(OUT, "status-demo-end.png"))
    check(len(shown) > 2, "the page did not follow the demo: %s" % sorted(shown))
    print("status page: %d distinct (requests, complete) pairs shown live, %d screenshots in %s"
          % (len(shown), n + 1, OUT), flush=True)
    metrics(*compare(d, click=False))


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"'
                    r'(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*)?\})? '
                    r'(-?[0-9.]+(?:e[+-]?[0-9]+)?|\+Inf|-Inf|NaN)$')


def metrics(rep, msgs, held):
    """/metrics parsed strictly (ours: every line a comment, blank or a
    sample of a family with a TYPE; then prometheus_client's parser), and
    its values against the report and the store."""
    txt, vals, fams = strict_metrics()
    check("fedmig_hold_window_seconds" in fams and "fedmig_requests" in fams, "parser: %s" % sorted(fams))
    for name, n in rep["states"].items():
        check(vals.get('fedmig_requests{state="%s"}' % name) == n, "metric of %s" % name)
    check(vals.get("fedmig_hold_window_seconds_count") == rep["hold_windows"]["count"], "hold count")
    check(vals.get('fedmig_hold_window_seconds_bucket{le="+Inf"}') == rep["hold_windows"]["count"], "+Inf")
    check(vals.get("fedmig_copy_messages_done") == msgs, "copy messages %s vs %d" % (vals.get("fedmig_copy_messages_done"), msgs))
    check(vals.get("fedmig_held_messages") == held, "held messages")
    check(len(txt.split("\n")) > 30 and "fedmig_requests_attention" in vals, "metric families missing")


def strict_metrics():
    """GET /metrics, parsed strictly: ours (every line a comment, blank or a
    sample of a family with a TYPE), then prometheus_client's parser."""
    st, hd, body = http("/metrics", auth=OPS)
    check(st == 200 and (hd.get("Content-Type") or "").startswith("text/plain; version=0.0.4"),
          "/metrics: %d %s" % (st, hd.get("Content-Type")))
    txt = body.decode()
    types, vals = {}, {}
    for line in txt.split("\n"):
        if line == "" or line.startswith("# HELP "):
            continue
        m = re.match(r"^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$", line)
        if m:
            check(m.group(1) not in types, "TYPE twice: " + line)
            types[m.group(1)] = m.group(2)
            continue
        m = SAMPLE.match(line)
        if not check(m is not None, "not a comment, blank or sample: %r" % line):
            continue
        fam = m.group(1)
        if fam not in types:
            fam = re.sub(r"_(bucket|sum|count)$", "", fam)
        check(types.get(fam) is not None, "a sample without TYPE: %r" % line)
        vals[m.group(1) + (m.group(2) or "")] = float(m.group(4))
    fams = {f.name: f for f in text_string_to_metric_families(txt)}
    return txt, vals, fams


LOOKUPS = 5


def lookup_metrics():
    """Real socketmap lookups by Postfix's own client (postmap), then
    /metrics shows fedmig-policyd's lookup histogram: the count covers
    them, the buckets are cumulative up to +Inf = count, both parsers
    take it (policyd writes its file every 5 s: wait for it)."""
    table = "socketmap:unix:%s:virtual" % ENV["SOCKETMAP_SOCKET"]
    for u in USERS + ["nobody", "st1"]:
        r = subprocess.run(["postmap", "-c", ENV["POSTFIX_CONFIG"], "-q", u + "@example.org", table],
                           capture_output=True, text=True)
        check(r.returncode in (0, 1), "postmap -q %s: %d %s" % (u, r.returncode, r.stderr))
    key = 'fedmig_lookup_duration_seconds_count{kind="socketmap"}'
    t0 = time.time()
    while True:
        txt, vals, fams = strict_metrics()
        if vals.get(key, 0) >= LOOKUPS or time.time() - t0 > 20:
            break
        time.sleep(0.5)
    check(vals.get(key, 0) >= LOOKUPS, "lookups not in /metrics after %.0f s: %s" % (time.time() - t0, vals.get(key)))
    fam = fams.get("fedmig_lookup_duration_seconds")
    check(fam is not None and fam.type == "histogram", "no lookup histogram: %s" % sorted(fams))
    les = [v for k, v in vals.items() if k.startswith('fedmig_lookup_duration_seconds_bucket{kind="socketmap"')]
    check(les == sorted(les) and les and les[-1] == vals.get(key), "buckets not cumulative: %s" % les)
    check(vals.get('fedmig_lookup_duration_seconds_sum{kind="socketmap"}', -1) > 0, "lookup sum")
    check('fedmig_lookup_errors_total{kind="socketmap"}' in vals, "lookup errors")
    check(0 <= vals.get("fedmig_policyd_stats_age_seconds", -1) <= 60, "stats age")
    print("/metrics: %d socketmap lookups, %.6f s in all, in %.1f s" % (
        vals.get(key), vals.get('fedmig_lookup_duration_seconds_sum{kind="socketmap"}'),
        time.time() - t0), flush=True)


def bulk(d):
    """10,000 addresses in one batch: JSON size and time, the first screen."""
    n0 = len(USERS)
    with open(os.path.join(LAB, "bulk-dir.csv"), "w") as f:
        f.write("access,system,physical,aliases\n")
        for i in range(BULK):
            f.write("bulk%05d@example.org,s1,bulk%05d@s1.example.org,\n" % (i, i))
    with open(os.path.join(LAB, "bulk.csv"), "w") as f:
        for i in range(BULK):
            f.write("bulk%05d@example.org,s2,+1d\n" % i)
    t0 = time.time()
    ctl("directory", "import", os.path.join(LAB, "bulk-dir.csv"))
    ctl("import", os.path.join(LAB, "bulk.csv"))
    print("10,000 addresses imported in %.1f s" % (time.time() - t0), flush=True)
    batch = max(b["id"] for b in json.loads(http("/status.json", auth=OPS)[2])["batches"])
    last = json.loads(http("/status.json", auth=OPS)[2])["last_change_us"]
    for q in ("", "?batch=%d" % batch, "?batch=%d&search=bulk0999" % batch, "?since=%d" % last):
        t0 = time.time()
        st, _, body = http("/status.json" + q, auth=OPS)
        ms = (time.time() - t0) * 1000
        check(st == 200, "status.json%s: %d" % (q, st))
        print("GET /status.json%s: %d bytes in %.0f ms" % (q, len(body), ms), flush=True)
        check(ms < 10000, "status.json%s took %.0f ms" % (q, ms))
        if "since" in q:
            check(json.loads(body).get("unchanged") is True, "nothing changed, yet: %s" % body[:200])
    t0 = time.time()
    d.get(URL + "/status")
    ok = wait(d, lambda: page(d)["requests"] == str(BULK + n0) and len(page(d)["rows"]) == 100, 60,
              "the first screen with 10,000 more addresses")
    if ok:
        print("first screen rendered in %.2f s with %d requests" % (time.time() - t0, BULK + n0), flush=True)
    d.save_screenshot(os.path.join(OUT, "status-10k.png"))
    d.find_element(By.ID, "search").send_keys("bulk0999")
    # Generous: under ASan on a loaded CI machine the search's debounce,
    # fetch and render took over 15 s once; its time is printed, not judged.
    t0 = time.time()
    if wait(d, lambda: len(page(d)["rows"]) == 10, 60, "a server-side search among 10,000"):
        print("search among 10,000 shown in %.2f s" % (time.time() - t0), flush=True)
    d.save_screenshot(os.path.join(OUT, "status-10k-search.png"))


def main():
    """Phase "migrate" with the pilot running, "bulk" once it is stopped
    (it would otherwise start on 10,000 mailboxes)."""
    if sys.argv[4] == "migrate":
        credentials()
    profile = tempfile.mkdtemp(prefix="fedmig-chromium.")
    d = browser(profile)
    try:
        if sys.argv[4] == "migrate":
            migrate(d)
            metrics(*compare(d))
            lookup_metrics()
        elif sys.argv[4] == "watch":
            watch(d)
        else:
            bulk(d)
    finally:
        d.quit()
        shutil.rmtree(profile, ignore_errors=True)
    for p in problems:
        print("problem:", p)
    sys.exit(1 if problems else 0)


main()
