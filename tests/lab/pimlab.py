#!/usr/bin/python3
"""Contacts and calendars for the lab: fixtures, uploader, checker.

Runs under /usr/bin/python3 (Debian's, which has vobject, Radicale's own
dependency, for the checker: pimcheck.py), never the python3 of PATH. Commands:

  pimlab.py gen --out DIR [--seed N] [--contacts N] [--events N]
      fixtures in DIR/COLLECTION/*.vcf|*.ics plus DIR/COLLECTION/.meta
      (kind, displayname, colour, description); prints the seed.
  pimlab.py upload --url URL --owner ADDRESS --fixtures DIR [--threads N]
      creates /ADDRESS/ and each collection (MKCOL/MKCALENDAR with its
      properties), PUTs every item (kept-alive connections, N threads);
      with --direct --store DIR, writes them into Radicale's store instead.
  pimlab.py check --src URL --src-owner A --dst URL --dst-owner B [--report FILE...]
      the independent checker: both sides read (PROPFIND + multiget),
      parsed with vobject, compared item by item semantically. A
      difference is expected only when fedmig's report (FILE: its output
      or log) names the item's UID with the normalisation that explains it
      (vCard version made 3.0/4.0, PHOTO shrunk/dropped, VTIMEZONE added,
      RECURRENCE-ID put in the master's zone). Every other difference is
      printed; exit 1 when there is one.
  pimlab.py dump --url URL --owner A    one line per item: collection, href, UID, etag
  pimlab.py edit --url URL --owner A --uid UID [--set NAME=VALUE] [--stamp T] [--delete]
      changes (or deletes) the item of UID under /A/, If-Match its etag
  pimlab.py put|delete|get --url URL --path PATH [--file F]
      one request (tests change one side by hand).

Credentials: --user/--password, default $MASTER_USER/$MASTER_PASS.
"""
import argparse
import base64
import http.client
import os
import queue
import random
import re
import sys
import threading
import urllib.parse
import xml.etree.ElementTree as ET
import zoneinfo
from datetime import datetime, timedelta

DAV = "DAV:"
CAL = "urn:ietf:params:xml:ns:caldav"
CARD = "urn:ietf:params:xml:ns:carddav"
APPLE = "http://apple.com/ns/ical/"
NS = {"d": DAV, "c": CAL, "r": CARD}

# A 16x16 baseline JPEG (Python's test image); padded with COM segments it
# becomes the 2 MB photo libgd can still decode and shrink.
JPEG16 = base64.b64decode(
    "/9j/4AAQSkZJRgABAQEAAQABAAD/2wBDAAMCAgICAgMCAgIDAwMDBAYEBAQEBAgGBgUGCQgKCgkI"
    "CQkKDA8MCgsOCwkJDRENDg8QEBEQCgwSExIQEw8QEBD/2wBDAQMDAwQDBAgEBAgQCwkLEBAQEBAQ"
    "EBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBD/wAARCAAQABADASIA"
    "AhEBAxEB/8QAFgABAQEAAAAAAAAAAAAAAAAABwQF/8QAJBAAAQQBBAICAwAAAAAAAAAAAQIDBAYF"
    "BwgSExEiABQJMTL/xAAVAQEBAAAAAAAAAAAAAAAAAAAABv/EACMRAAECBQMFAAAAAAAAAAAAAAEC"
    "EQMEBQYhABIxFRZhgeH/2gAMAwEAAhEDEQA/ABSm0mobc8HmExLUlRzzEWPkJWW+ulrsaUVAseUg"
    "slSlH9LKuPryIKuWPZdskzXmm3fX5m2nF4GlVxx/HOpx4ks51+MiU/Iaad7UcUo4tILoS4kqcWke"
    "zS0hO/HvuRp0rO6hWnWO1UisZVuFi4GFeyEpmGepa5S5SWVPuciFKRFLgSrwetnyPIB+Vb4N9mKh"
    "QMzo5po9XLdDs9d6ZVix2VEhiL9kuNPxw2gEKcDQ/rs8AuA8VAe0vdl7VOYn+27flGAUgmITjbhS"
    "mCg3BYlyeWDkMolvw4KOp1KM6iCNvngZHwetf//Z")

FIRST = ["Zoë", "Jürgen", "Ælfrida", "Ōtani", "Søren", "Françoise", "Иван", "Αλέξης", "李", "José",
         "Ana", "Bob", "Dvořák", "Łukasz", "Nuño", "Çağla", "Ðorđe", "Eiríkur", "Märta", "Ümit"]
LAST = ["Müller", "O'Brien", "Šťastný", "van der Berg", "Ñúñez", "Þórsdóttir", "Петров", "Παπαδόπουλος",
        "山田", "Żółć", "Lefèvre", "García-Márquez", "Smith", "Øster", "Ağaoğlu"]
PLACES = ["Café Zürich", "Salle Hébert, 2ᵉ étage", "Østerbro; room 3", "会議室 A", "Ρόδος, Greece",
          "Room \"5\", Building B", "Kraków \\ main hall"]
ZONES = ["Europe/Paris", "America/New_York", "Asia/Tokyo", "Europe/Berlin", "Australia/Sydney"]


def crlf(lines):
    return "".join(fold(ln) + "\r\n" for ln in lines)


def fold(line):
    """RFC 5545/6350 folding at 75 octets, never inside a UTF-8 sequence."""
    raw = line.encode("utf-8")
    if len(raw) <= 75:
        return line
    out, cur, limit = [], b"", 75
    for ch in line:
        b = ch.encode("utf-8")
        if len(cur) + len(b) > limit:
            out.append(cur.decode("utf-8"))
            cur, limit = b"", 74
        cur += b
    out.append(cur.decode("utf-8"))
    return "\r\n ".join(out)


def esc(text):
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def qp(text):
    """Quoted-printable for vCard 2.1 (short values: no soft breaks)."""
    return "".join(c if (32 < ord(c) < 127 and c not in "=;:") else
                   "".join("=%02X" % b for b in c.encode("utf-8")) for c in text)


# ---------------------------------------------------------------- fixtures

def big_jpeg(size):
    """JPEG16 padded to SIZE bytes with COM segments (decodable)."""
    body, pad, rnd = JPEG16[2:], bytearray(), random.Random(7)
    while len(pad) + len(JPEG16) + 4 < size:
        n = min(65533, size - len(JPEG16) - len(pad) - 4)
        pad += b"\xff\xfe" + (n + 2).to_bytes(2, "big") + bytes(rnd.getrandbits(8) for _ in range(n))
    return JPEG16[:2] + bytes(pad) + body


def vcard(rnd, i, version):
    fn, ln = rnd.choice(FIRST), rnd.choice(LAST)
    uid = "card-%05d-%s" % (i, rnd.getrandbits(32))
    name = "%s %s" % (fn, ln)
    mail = "user%d@exämple.org" % i if i % 7 == 0 else "user%d@example.org" % i
    note = "Met at %s;\nlikes \"quotes\", commas, and back\\slashes — ünïcødé ✓" % rnd.choice(PLACES)
    if version == "2.1":
        return uid, crlf(["BEGIN:VCARD", "VERSION:2.1", "UID:" + uid,
                          "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:%s;%s;;;" % (qp(ln), qp(fn)),
                          "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:" + qp(name),
                          "TEL;HOME;VOICE:+33 1 23 45 %02d %02d" % (i % 100, (i // 100) % 100),
                          "TEL;CELL:+49 170 %07d" % i, "EMAIL;INTERNET;PREF:" + mail,
                          "PHOTO;ENCODING=BASE64;JPEG:" + base64.b64encode(JPEG16).decode(),
                          "END:VCARD"])
    lines = ["BEGIN:VCARD", "VERSION:" + version, "UID:" + uid, "N:%s;%s;;;" % (esc(ln), esc(fn)),
             "FN:" + esc(name), "ORG:%s;Département %d" % (esc(rnd.choice(LAST)), i % 9),
             "item1.EMAIL;TYPE=%s:%s" % ("work" if version == "4.0" else "INTERNET,WORK", mail),
             "item1.X-ABLabel:Büro", "NOTE:" + esc(note),
             "ADR;TYPE=%s:;;%s;Montréal;QC;H2X 1Y4;Canada" % ("home" if version == "4.0" else "HOME",
                                                             esc(rnd.choice(PLACES))),
             "TEL;TYPE=%s:+1-514-555-%04d" % ("cell" if version == "4.0" else "CELL", i % 10000),
             "CATEGORIES:Famille,Über\\,comma", "BDAY:19%02d-%02d-%02d" % (50 + i % 50, 1 + i % 12, 1 + i % 28)]
    if i % 50 == 3:
        if version == "4.0":
            lines.append("PHOTO:data:image/jpeg;base64," + base64.b64encode(JPEG16).decode())
        else:
            lines.append("PHOTO;ENCODING=b;TYPE=JPEG:" + base64.b64encode(JPEG16).decode())
    return uid, crlf(lines + ["REV:20240102T030405Z", "END:VCARD"])


VTZ = {
    "Europe/Paris": ["BEGIN:VTIMEZONE", "TZID:Europe/Paris", "BEGIN:DAYLIGHT", "TZOFFSETFROM:+0100",
                     "TZOFFSETTO:+0200", "TZNAME:CEST", "DTSTART:19700329T020000",
                     "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", "END:DAYLIGHT", "BEGIN:STANDARD",
                     "TZOFFSETFROM:+0200", "TZOFFSETTO:+0100", "TZNAME:CET", "DTSTART:19701025T030000",
                     "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", "END:STANDARD", "END:VTIMEZONE"],
    "America/New_York": ["BEGIN:VTIMEZONE", "TZID:America/New_York", "BEGIN:DAYLIGHT",
                         "TZOFFSETFROM:-0500", "TZOFFSETTO:-0400", "TZNAME:EDT",
                         "DTSTART:19700308T020000", "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU",
                         "END:DAYLIGHT", "BEGIN:STANDARD", "TZOFFSETFROM:-0400", "TZOFFSETTO:-0500",
                         "TZNAME:EST", "DTSTART:19701101T020000",
                         "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU", "END:STANDARD", "END:VTIMEZONE"],
}


def ical(lines):
    return crlf(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//fedmig lab//pimlab//EN"] + lines +
                ["END:VCALENDAR"])


def ev_common(rnd, i, uid):
    return ["UID:" + uid, "DTSTAMP:20240101T000000Z", "SUMMARY:" + esc("Réunion n°%d — %s" % (
        i, rnd.choice(PLACES))), "LOCATION:" + esc(rnd.choice(PLACES)),
        "DESCRIPTION:" + esc("Ordre du jour:\n1. café ☕\n2. 予算; budget, etc.")]


def event(rnd, i, base):
    """One calendar object resource; kind cycles through the spec's cases."""
    uid = "ev-%05d-%s@fedmig.lab" % (i, rnd.getrandbits(32))
    start = base + timedelta(days=i % 300, hours=8 + i % 9)
    st = start.strftime("%Y%m%dT%H%M%S")
    en = (start + timedelta(hours=1)).strftime("%Y%m%dT%H%M%S")
    kind = i % 6
    c = ev_common(rnd, i, uid)
    if kind == 0:  # recurring, Paris, exceptions whose RECURRENCE-ID is in New York's zone
        paris, ny = zoneinfo.ZoneInfo("Europe/Paris"), zoneinfo.ZoneInfo("America/New_York")
        master = ["BEGIN:VEVENT"] + c + ["DTSTART;TZID=Europe/Paris:" + st,
                                         "DTEND;TZID=Europe/Paris:" + en,
                                         "RRULE:FREQ=WEEKLY;COUNT=10",
                                         "ORGANIZER;CN=\"Zoë Müller\":mailto:zoe@example.org",
                                         "ATTENDEE;CN=Jürgen;PARTSTAT=ACCEPTED:mailto:j@example.org",
                                         "END:VEVENT"]
        ex = []
        for k in (2, 5):
            occ = start + timedelta(weeks=k)
            rid = occ.replace(tzinfo=paris).astimezone(ny).strftime("%Y%m%dT%H%M%S")
            moved = (occ + timedelta(hours=2)).strftime("%Y%m%dT%H%M%S")
            ex += ["BEGIN:VEVENT", "UID:" + uid, "DTSTAMP:20240101T000000Z",
                   "RECURRENCE-ID;TZID=America/New_York:" + rid,
                   "SUMMARY:" + esc("Déplacée (exception %d)" % k),
                   "DTSTART;TZID=Europe/Paris:" + moved,
                   "DTEND;TZID=Europe/Paris:" + (occ + timedelta(hours=3)).strftime("%Y%m%dT%H%M%S"),
                   "END:VEVENT"]
        return uid, ical(VTZ["Europe/Paris"] + VTZ["America/New_York"] + master + ex)
    if kind == 1:  # all-day
        d = start.strftime("%Y%m%d")
        d2 = (start + timedelta(days=1)).strftime("%Y%m%d")
        return uid, ical(["BEGIN:VEVENT"] + c + ["DTSTART;VALUE=DATE:" + d, "DTEND;VALUE=DATE:" + d2,
                                                "TRANSP:TRANSPARENT", "END:VEVENT"])
    if kind == 2:  # floating
        return uid, ical(["BEGIN:VEVENT"] + c + ["DTSTART:" + st, "DTEND:" + en, "END:VEVENT"])
    if kind == 3:  # TZID without its VTIMEZONE
        z = rnd.choice(ZONES)
        return uid, ical(["BEGIN:VEVENT"] + c + ["DTSTART;TZID=%s:%s" % (z, st),
                                                "DTEND;TZID=%s:%s" % (z, en), "END:VEVENT"])
    if kind == 4:  # UTC, with an alarm
        return uid, ical(["BEGIN:VEVENT"] + c + ["DTSTART:%sZ" % st, "DURATION:PT45M",
                                                "BEGIN:VALARM", "ACTION:DISPLAY",
                                                "DESCRIPTION:Rappel ⏰", "TRIGGER:-PT15M",
                                                "END:VALARM", "END:VEVENT"])
    return uid, ical(VTZ["Europe/Paris"] + ["BEGIN:VEVENT"] + c + [  # zoned, attendees
        "DTSTART;TZID=Europe/Paris:" + st, "DTEND;TZID=Europe/Paris:" + en,
        "ORGANIZER;CN=\"Ōtani, Shō\":mailto:otani@example.org",
        "ATTENDEE;ROLE=REQ-PARTICIPANT;CN=\"Søren\";RSVP=TRUE:mailto:soren@example.org",
        "LAST-MODIFIED:20240102T030405Z", "END:VEVENT"])


COLLECTIONS = [  # name, kind, displayname, colour, description
    ("contacts", "card", "Contacts de Zoë", "", "Carnet d'adresses — personnel"),
    ("calendar", "cal", "Agenda principal ✓", "#3A87ADFF", "Réunions, congés, etc."),
    ("travail", "cal", "Travail — équipe", "#E0A030FF", "Calendrier partagé 2ᵉ étage"),
]


def gen(args):
    seed = args.seed if args.seed is not None else random.randrange(1 << 31)
    print("pimlab: fixtures seed=%d contacts=%d events=%d" % (seed, args.contacts, args.events))
    rnd = random.Random(seed)
    for name, kind, disp, colour, desc in COLLECTIONS:
        os.makedirs(os.path.join(args.out, name), exist_ok=True)
        with open(os.path.join(args.out, name, ".meta"), "w", encoding="utf-8") as f:
            f.write("%s\n%s\n%s\n%s\n" % (kind, disp, colour, desc))
    # Radicale (vobject 0.9) cannot store a vCard 2.1 (PUT answers 400, and
    # a 2.1 file put in its store breaks the collection's listing): 2.1
    # cards only with --v21, for a source that is not Radicale.
    versions = ["3.0"] * 6 + ["4.0"] * 3 + (["2.1"] if args.v21 else ["3.0"])
    for i in range(args.contacts):
        uid, text = vcard(rnd, i, versions[i % len(versions)])
        write_item(args.out, "contacts", "%s.vcf" % uid, text)
    if args.contacts:
        uid = "card-bigphoto-%d" % seed
        text = crlf(["BEGIN:VCARD", "VERSION:3.0", "UID:" + uid, "N:Grand;Photo;;;",
                     "FN:Photo Grand-Format", "PHOTO;ENCODING=b;TYPE=JPEG:" +
                     base64.b64encode(big_jpeg(args.photo_bytes)).decode(), "END:VCARD"])
        write_item(args.out, "contacts", uid + ".vcf", text)
    base = datetime(2025, 1, 6)
    for i in range(args.events):
        uid, text = event(rnd, i, base)
        write_item(args.out, "calendar" if i % 4 else "travail", uid.replace("@", "_") + ".ics", text)
    if args.events and not args.no_dup:  # the same UID twice in one collection, two hrefs
        uid, text = event(random.Random(seed + 1), 2, base)
        dup = "dup-%d@fedmig.lab" % seed
        text = text.replace("UID:" + uid, "UID:" + dup)
        write_item(args.out, "calendar", "dup-a.ics", text)
        write_item(args.out, "calendar", "dup-b.ics", text.replace("Réunion", "Doublon"))
    return 0


def write_item(out, coll, name, text):
    with open(os.path.join(out, coll, name), "w", encoding="utf-8", newline="") as f:
        f.write(text)


# ---------------------------------------------------------------- HTTP

class Dav:
    """A small WebDAV client, one kept-alive connection per thread."""

    def __init__(self, url, user, password):
        u = urllib.parse.urlsplit(url)
        self.host, self.port, self.base = u.hostname, u.port or 80, u.path.rstrip("/")
        tok = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
        self.auth = "Basic " + tok
        self.local = threading.local()

    def req(self, method, path, body=None, headers=None):
        h = {"Authorization": self.auth}
        h.update(headers or {})
        if isinstance(body, str):
            body = body.encode("utf-8")
        for attempt in (0, 1):
            conn = getattr(self.local, "conn", None)
            if conn is None:
                conn = self.local.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                conn.request(method, self.base + path, body=body, headers=h)
                r = conn.getresponse()
                return r.status, r.read(), r.headers
            except (http.client.HTTPException, OSError):
                conn.close()
                self.local.conn = None
                if attempt:
                    raise

    def propfind(self, path, depth, props):
        body = ('<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:" '
                'xmlns:c="%s" xmlns:r="%s" xmlns:a="%s"><d:prop>%s</d:prop></d:propfind>'
                % (CAL, CARD, APPLE, props))
        st, data, _ = self.req("PROPFIND", path, body, {"Depth": str(depth),
                                                        "Content-Type": "application/xml"})
        if st == 404:
            return None
        if st != 207:
            raise RuntimeError("PROPFIND %s: HTTP %d" % (path, st))
        return ET.fromstring(data)


def href_path(href):
    return urllib.parse.unquote(urllib.parse.urlsplit(href).path)


def quote_path(path):
    return urllib.parse.quote(path, safe="/@:+,;=!$&'()*")


def store_direct(args):
    """The fixtures written straight into Radicale's filesystem store, as
    Radicale lays it out (collection-root/OWNER/COLL/, .Radicale.props):
    an upload through HTTP costs Radicale a scan of the collection per
    PUT (its UID check), minutes for a few thousand items on a busy
    machine. Radicale reads, caches and serves them like its own."""
    import json
    home = os.path.join(args.store, "collection-root", args.owner)
    n = 0
    for coll in sorted(os.listdir(args.fixtures)):
        d = os.path.join(args.fixtures, coll)
        with open(os.path.join(d, ".meta"), encoding="utf-8") as f:
            kind, disp, colour, desc = (f.read().split("\n") + ["", "", "", ""])[:4]
        props = {"tag": "VCALENDAR", "D:displayname": disp, "C:calendar-description": desc}
        if colour:
            props["ICAL:calendar-color"] = colour
        if kind == "card":
            props = {"tag": "VADDRESSBOOK", "D:displayname": disp, "CR:addressbook-description": desc}
        os.makedirs(os.path.join(home, coll), exist_ok=True)
        with open(os.path.join(home, coll, ".Radicale.props"), "w", encoding="utf-8") as f:
            json.dump(props, f)
        for name in sorted(os.listdir(d)):
            if not name.startswith("."):
                with open(os.path.join(d, name), "rb") as src, \
                        open(os.path.join(home, coll, name), "wb") as dst:
                    dst.write(src.read())
                n += 1
    print("pimlab: wrote %d items into %s" % (n, home))
    return 0


def upload(args):
    if args.direct:
        return store_direct(args)
    dav = Dav(args.url, args.user, args.password)
    home = "/%s/" % args.owner
    st, body, _ = dav.req("MKCOL", quote_path(home))
    if st not in (201, 405):
        raise SystemExit("pimlab: MKCOL %s: HTTP %d %s" % (home, st, body[:200]))
    jobs = []
    for coll in sorted(os.listdir(args.fixtures)):
        d = os.path.join(args.fixtures, coll)
        with open(os.path.join(d, ".meta"), encoding="utf-8") as f:
            kind, disp, colour, desc = (f.read().split("\n") + ["", "", "", ""])[:4]
        make_collection(dav, home + coll + "/", kind, disp, colour, desc)
        for name in sorted(os.listdir(d)):
            if not name.startswith("."):
                jobs.append((home + coll + "/" + name, os.path.join(d, name), kind))
    errors = run_threads(args.threads, jobs, lambda j: put_file(dav, *j, store=args.store))
    for e in errors:
        print("pimlab: upload: " + e, file=sys.stderr)
    print("pimlab: uploaded %d items to %s%s, %d refused" % (len(jobs) - len(errors), args.url.rstrip("/"),
                                                           home, len(errors)))
    return 1 if errors and not args.allow_refused else 0


def make_collection(dav, path, kind, disp, colour, desc):
    x = ET.SubElement
    if kind == "cal":
        root = ET.Element("{%s}mkcalendar" % CAL)
        prop = x(x(root, "{%s}set" % DAV), "{%s}prop" % DAV)
        x(prop, "{%s}displayname" % DAV).text = disp
        if colour:
            x(prop, "{%s}calendar-color" % APPLE).text = colour
        x(prop, "{%s}calendar-description" % CAL).text = desc
        method = "MKCALENDAR"
    else:
        root = ET.Element("{%s}mkcol" % DAV)
        prop = x(x(root, "{%s}set" % DAV), "{%s}prop" % DAV)
        rt = x(prop, "{%s}resourcetype" % DAV)
        x(rt, "{%s}collection" % DAV)
        x(rt, "{%s}addressbook" % CARD)
        x(prop, "{%s}displayname" % DAV).text = disp
        x(prop, "{%s}addressbook-description" % CARD).text = desc
        method = "MKCOL"
    st, body, _ = dav.req(method, quote_path(path), ET.tostring(root, encoding="utf-8"),
                          {"Content-Type": "application/xml"})
    if st not in (201, 405):
        raise SystemExit("pimlab: %s %s: HTTP %d %s" % (method, path, st, body[:200]))


def put_file(dav, path, file, kind, store=None):
    with open(file, "rb") as f:
        data = f.read()
    ctype = "text/calendar" if kind == "cal" else "text/vcard"
    st, body, _ = dav.req("PUT", quote_path(path), data, {"Content-Type": ctype + "; charset=utf-8"})
    if st == 409 and store and b"no-uid-conflict" in body:
        with open(os.path.join(store, "collection-root", path.lstrip("/")), "wb") as f:
            f.write(data)
        return None
    if st not in (201, 204):
        return "PUT %s: HTTP %d %s" % (path, st, body[:160].decode("utf-8", "replace").strip())
    return None


def run_threads(n, jobs, fn):
    q, errors, lock = queue.Queue(), [], threading.Lock()
    for j in jobs:
        q.put(j)

    def work():
        while True:
            try:
                j = q.get_nowait()
            except queue.Empty:
                return
            try:
                e = fn(j)
            except Exception as ex:  # noqa: BLE001 - a failed request is reported, not fatal
                e = "%r: %s" % (j[0], ex)
            if e:
                with lock:
                    errors.append(e)
    ts = [threading.Thread(target=work) for _ in range(max(1, n))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return errors


# ---------------------------------------------------------------- reading a side

def collections(dav, owner):
    """{name: (kind, displayname, colour, description, path)} of /OWNER/."""
    root = dav.propfind(quote_path("/%s/" % owner), 1,
                        "<d:resourcetype/><d:displayname/><a:calendar-color/>"
                        "<c:calendar-description/><r:addressbook-description/>")
    out = {}
    if root is None:
        return out
    for resp in root.findall("d:response", NS):
        path = href_path(resp.findtext("d:href", "", NS))
        rt = resp.find(".//d:resourcetype", NS)
        if rt is None:
            continue
        kind = "cal" if rt.find("c:calendar", NS) is not None else (
            "card" if rt.find("r:addressbook", NS) is not None else None)
        if kind is None:
            continue
        name = path.rstrip("/").rsplit("/", 1)[-1]
        out[name] = (kind, resp.findtext(".//d:displayname", "", NS),
                     resp.findtext(".//{%s}calendar-color" % APPLE, "", NS),
                     resp.findtext(".//c:calendar-description", "", NS) or
                     resp.findtext(".//r:addressbook-description", "", NS), path)
    return out


def items(dav, path, kind):
    """[(href, etag, text)] of one collection, read by multiget."""
    root = dav.propfind(quote_path(path), 1, "<d:getetag/>")
    hrefs = [resp.findtext("d:href", "", NS) for resp in root.findall("d:response", NS)]
    hrefs = [h for h in hrefs if href_path(h).rstrip("/") != path.rstrip("/")]
    out = []
    for i in range(0, len(hrefs), 500):
        out += multiget(dav, path, kind, hrefs[i:i + 500])
    return out


def multiget(dav, path, kind, hrefs):
    if not hrefs:
        return []
    ns, tag, data = (CAL, "calendar-multiget", "calendar-data") if kind == "cal" else (
        CARD, "addressbook-multiget", "address-data")
    body = ('<?xml version="1.0" encoding="utf-8"?><x:%s xmlns:d="DAV:" xmlns:x="%s"><d:prop>'
            '<d:getetag/><x:%s/></d:prop>%s</x:%s>' % (
                tag, ns, data, "".join("<d:href>%s</d:href>" % h.replace("&", "&amp;") for h in hrefs),
                tag))
    st, resp, _ = dav.req("REPORT", quote_path(path), body, {"Depth": "1",
                                                             "Content-Type": "application/xml"})
    if st != 207:
        raise RuntimeError("REPORT %s: HTTP %d" % (path, st))
    out = []
    for r in ET.fromstring(resp).findall("d:response", NS):
        text = r.findtext(".//{%s}%s" % (ns, data), None)
        if text is not None:
            out.append((href_path(r.findtext("d:href", "", NS)), r.findtext(".//d:getetag", "", NS),
                        text))
    return out


def read_side(url, owner, user, password):
    dav = Dav(url, user, password)
    side = {}
    for name, meta in collections(dav, owner).items():
        side[name] = (meta, items(dav, meta[4], meta[0]))
    return side


def dump(args):
    for name, (meta, its) in sorted(read_side(args.url, args.owner, args.user, args.password).items()):
        for href, etag, text in sorted(its):
            print("%s\t%s\t%s\t%s" % (name, href, uid_of(text), etag))
    return 0


def uid_of(text):
    m = re.search(r"^UID[;:](?:[^:\r\n]*:)?(.*?)\r?$", unfold(text), re.M)
    return m.group(1).strip() if m else ""


def unfold(text):
    return re.sub(r"\r?\n[ \t]", "", text)


# ---------------------------------------------------------------- changing one side

def find_uid(dav, owner, uid):
    for name, meta in collections(dav, owner).items():
        for href, etag, text in items(dav, meta[4], meta[0]):
            if uid_of(text) == uid:
                return href, etag, text
    raise SystemExit("pimlab: no item with UID %s under /%s/" % (uid, owner))


def edit(args):
    """Sets NAME:VALUE in the item of UID (the first component holding
    NAME, or its first component), with REV / LAST-MODIFIED = --stamp."""
    dav = Dav(args.url, args.user, args.password)
    href, etag, text = find_uid(dav, args.owner, args.uid)
    if args.delete:
        st, body, _ = dav.req("DELETE", quote_path(href), None, {"If-Match": etag})
        print("%d %s" % (st, href))
        return 0 if st in (200, 204) else 1
    lines = unfold(text).replace("\r\n", "\n").split("\n")
    name, value = args.set.split("=", 1)
    stamp_prop = "REV" if lines[0].upper() == "BEGIN:VCARD" else "LAST-MODIFIED"
    for prop, val in ((name, value), (stamp_prop, args.stamp)):
        if not val:
            continue
        idx = [i for i, ln in enumerate(lines) if re.match(prop + "[;:]", ln, re.I)]
        if idx:
            lines[idx[0]] = "%s:%s" % (prop, val)
        else:
            at = 1 if stamp_prop == "REV" else next(
                i for i, ln in enumerate(lines) if ln.upper() == "BEGIN:VEVENT") + 1
            lines.insert(at + 1, "%s:%s" % (prop, val))
    body = crlf([ln for ln in lines if ln])
    ctype = "text/vcard" if stamp_prop == "REV" else "text/calendar"
    st, resp, _ = dav.req("PUT", quote_path(href), body, {"If-Match": etag, "Content-Type": ctype})
    print("%d %s" % (st, href))
    return 0 if st in (201, 204) else 1


# ---------------------------------------------------------------- one request

def one(args):
    dav = Dav(args.url, args.user, args.password)
    body = open(args.file, "rb").read() if args.file else None
    hdr = {}
    if args.method == "put":
        hdr["Content-Type"] = "text/calendar" if args.path.endswith(".ics") else "text/vcard"
    st, data, _ = dav.req(args.method.upper(), quote_path(args.path), body, hdr)
    sys.stdout.write(data.decode("utf-8", "replace") if args.method == "get" else "%d\n" % st)
    return 0 if 200 <= st < 300 else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--user", default=os.environ.get("MASTER_USER", "fedmigmaster"))
    ap.add_argument("--password", default=os.environ.get("MASTER_PASS", ""))
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("--out", required=True)
    g.add_argument("--seed", type=int)
    g.add_argument("--contacts", type=int, default=500)
    g.add_argument("--events", type=int, default=200)
    g.add_argument("--photo-bytes", type=int, default=2 * 1024 * 1024)
    g.add_argument("--v21", action="store_true")
    g.add_argument("--no-dup", action="store_true", help="no duplicate UID (vdirsyncer aborts "
                   "a collection that has one)")
    u = sub.add_parser("upload")
    u.add_argument("--url", required=True)
    u.add_argument("--owner", required=True)
    u.add_argument("--fixtures", required=True)
    u.add_argument("--threads", type=int, default=4)
    u.add_argument("--allow-refused", action="store_true")
    u.add_argument("--direct", action="store_true", help="write into --store, not through HTTP")
    u.add_argument("--store", help="Radicale's filesystem_folder: an item the server refuses "
                   "as a UID conflict is written there directly (a duplicate UID, which "
                   "other servers accept)")
    c = sub.add_parser("check")
    for k in ("--src", "--src-owner", "--dst", "--dst-owner"):
        c.add_argument(k, required=True)
    c.add_argument("--report", action="append")
    c.add_argument("--allow-extra", action="store_true")
    d = sub.add_parser("dump")
    d.add_argument("--url", required=True)
    d.add_argument("--owner", required=True)
    e = sub.add_parser("edit")
    e.add_argument("--url", required=True)
    e.add_argument("--owner", required=True)
    e.add_argument("--uid", required=True)
    e.add_argument("--set", default="", help="NAME=VALUE")
    e.add_argument("--stamp", default="", help="REV / LAST-MODIFIED, e.g. 20300101T000000Z")
    e.add_argument("--delete", action="store_true")
    for m in ("put", "delete", "get"):
        o = sub.add_parser(m)
        o.add_argument("--url", required=True)
        o.add_argument("--path", required=True)
        o.add_argument("--file")
        o.set_defaults(method=m)
    args = ap.parse_args()
    if args.cmd == "check":
        import pimcheck
        return pimcheck.check(args)
    fn = {"gen": gen, "upload": upload, "dump": dump, "edit": edit}.get(args.cmd, one)
    return fn(args)


if __name__ == "__main__":
    sys.exit(main())
