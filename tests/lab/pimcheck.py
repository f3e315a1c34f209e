"""The independent checker of tests/lab/pimlab.py (pimlab.py check).

Both sides are read over WebDAV (pimlab.read_side), every item parsed with
vobject, reduced to a canonical tree (content lines unfolded, parameters
sorted, values unescaped, dates as instants, photos as the digest of
their bytes, PRODID/DTSTAMP/REV/LAST-MODIFIED ignored, a VTIMEZONE by its
TZID), and compared item by item, matched by UID. A difference is
expected only when a normalisation explains it and fedmig's report names
the item with it; an item is expected missing when fedmig reported the
target rejected it.
"""
import base64
import hashlib
import re
import urllib.parse
import zoneinfo
from datetime import datetime, timezone

import vobject

import pimlab
from pimlab import uid_of

IGNORED = {"PRODID", "DTSTAMP", "REV", "LAST-MODIFIED"}
DATE_PROPS = {"DTSTART", "DTEND", "DUE", "RECURRENCE-ID", "EXDATE", "RDATE"}
VCARD_TYPE_WORDS = {"HOME", "WORK", "CELL", "VOICE", "FAX", "PAGER", "INTERNET", "PREF", "JPEG",
                    "PNG", "GIF", "MSG", "VIDEO", "BBS", "MODEM", "CAR", "ISDN", "PCS", "X400",
                    "POSTAL", "PARCEL", "DOM", "INTL", "TEXT"}


def unescape(v):
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), v)


def params_of(line):
    """{NAME: sorted values}, vCard 2.1's bare TYPE words made TYPE=."""
    out = {}
    for k, vals in line.params.items():
        k = k.upper()
        for v in vals:
            for part in str(v).split(","):
                if k != "TYPE" and part.upper() in VCARD_TYPE_WORDS and not str(v).strip():
                    k2, part = "TYPE", k
                else:
                    k2 = k
                out.setdefault(k2, set()).add(part.strip().strip('"').upper() if k2 == "TYPE"
                                              else part.strip())
    return {k: tuple(sorted(v)) for k, v in out.items()}


def photo_key(line, value):
    """PHOTO as the digest of its bytes, whatever the encoding (3.0 b, 4.0 data:, 2.1 BASE64)."""
    v = value.strip()
    if v.startswith("data:"):
        v = v.split(",", 1)[-1]
    try:
        data = base64.b64decode(re.sub(r"\s", "", v), validate=False)
    except ValueError:
        data = v.encode()
    return "photo:%d:%s" % (len(data), hashlib.sha256(data).hexdigest()[:16])


def instant(value, tzid):
    """A date-time as UTC when its zone is known, floating/date as is."""
    v = value.strip()
    try:
        if v.endswith("Z"):
            return datetime.strptime(v, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc).isoformat()
        if "T" in v and tzid:
            d = datetime.strptime(v, "%Y%m%dT%H%M%S").replace(tzinfo=zoneinfo.ZoneInfo(tzid))
            return d.astimezone(timezone.utc).isoformat()
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        pass
    return v


def canon_line(line):
    """(strict, loose) forms of one content line; loose ignores the
    representation a version conversion or zone change may alter."""
    name = line.name.upper()
    group = (line.group or "").upper()
    raw = line.value if isinstance(line.value, str) else str(line.value)
    p = params_of(line)
    enc = "".join(p.get("ENCODING", ())).upper()
    if "QUOTED-PRINTABLE" in enc:
        raw = bytes_qp(raw, "".join(p.get("CHARSET", ())) or "utf-8")
    for drop in ("CHARSET", "ENCODING"):
        p.pop(drop, None)
    if name == "PHOTO" or name == "LOGO":
        p.pop("VALUE", None)
        p.pop("TYPE", None)
        p.pop("MEDIATYPE", None)
        v = photo_key(line, raw)
    elif name in DATE_PROPS:
        tz = "".join(p.get("TZID", ()))
        v = ",".join(instant(x, tz) for x in raw.split(","))
        return (group, name, tuple(sorted(p.items())), raw), (group, name, v)
    else:
        v = unescape(raw)
    loose_p = tuple(sorted((k, tuple(x.lower() for x in vals)) for k, vals in p.items()
                           if k not in ("TYPE", "PREF", "VALUE")))
    return (group, name, tuple(sorted(p.items())), v), (group, name, loose_p, v)


def bytes_qp(value, charset):
    import quopri
    try:
        return quopri.decodestring(value.encode("latin-1", "replace")).decode(charset, "replace")
    except LookupError:
        return value


def canon_component(comp):
    """(strict, loose) canonical trees of a vobject component."""
    strict, loose, subs_s, subs_l = [], [], [], []
    for child in comp.getChildren():
        if isinstance(child, vobject.base.Component):
            s, lo = canon_component(child)
            subs_s.append(s)
            subs_l.append(lo)
            continue
        n = child.name.upper()
        if n in IGNORED or n.startswith("X-RADICALE"):
            continue
        s, lo = canon_line(child)
        strict.append(s)
        loose.append(lo)
    name = comp.name.upper()
    if name == "VTIMEZONE":
        # Radicale (vobject) rebuilds a VTIMEZONE's rules from its own zone
        # data when it stores an event, differently from one PUT to the
        # next: a zone is compared by its TZID.
        tzid = tuple(x for x in strict if x[1] == "TZID")
        return (name, tzid, ()), (name, tuple(x for x in loose if x[1] == "TZID"), ())
    return ((name, tuple(sorted(strict, key=repr)), tuple(sorted(subs_s, key=repr))),
            (name, tuple(sorted(loose, key=repr)), tuple(sorted(subs_l, key=repr))))


def parse(text):
    return vobject.readOne(text, transform=False, allowQP=True)


def explain(src, dst):
    """Normalisation kinds that can explain SRC != DST, or None when none can."""
    (ss, sl), (ds, dl) = canon_component(src), canon_component(dst)
    if ss == ds:
        return set()
    kinds = set()
    if src.name.upper() == "VCARD":
        sv, dv = version(sl), version(dl)
        if sv != dv:
            kinds.add("version")
        sp, dp = [x for x in sl[1] if x[1] == "PHOTO"], [x for x in dl[1] if x[1] == "PHOTO"]
        if sp != dp:
            kinds.add("photo")
        rest = lambda t: tuple(x for x in t[1] if x[1] not in ("PHOTO", "VERSION"))  # noqa: E731
        if rest(sl) != rest(dl):
            return None
        return kinds
    s_tz = [c for c in sl[2] if c[0] == "VTIMEZONE"]
    d_tz = [c for c in dl[2] if c[0] == "VTIMEZONE"]
    if s_tz != d_tz:
        if not set(s_tz) <= set(d_tz):
            return None
        kinds.add("vtimezone")
    s_ev = tuple(c for c in ss[2] if c[0] != "VTIMEZONE")
    d_ev = tuple(c for c in ds[2] if c[0] != "VTIMEZONE")
    if s_ev != d_ev:
        if tuple(c for c in sl[2] if c[0] != "VTIMEZONE") != tuple(c for c in dl[2] if c[0] != "VTIMEZONE"):
            return None
        kinds.add("recurrence-id")
    if sl[1] != dl[1]:
        return None
    return kinds


def version(loose):
    return [x[3] for x in loose[1] if x[1] == "VERSION"]


FIX_WORDS = {"version": ("made 3.0", "made 4.0", "vcard 2.1", "vcard 3.0", "vcard 4.0"),
             "photo": ("photo",), "vtimezone": ("vtimezone",), "recurrence-id": ("recurrence-id",)}


def reported_rejected(files):
    """Last segments of the hrefs fedmig reported as rejected by the
    target (a 4xx other than 412: the item is expected missing there)."""
    out = set()
    for f in files:
        with open(f, encoding="utf-8", errors="replace") as fh:
            for m in re.finditer(r"rejected (\S+): HTTP [0-9]+", fh.read()):
                out.add(urllib.parse.unquote(m.group(1)).rsplit("/", 1)[-1])
    return out


def reported_fixes(files):
    """{UID or href's last segment: lower-cased text of every report line
    naming it} (fedmig-smd logs an item's normalisations with its href)."""
    out = {}
    for f in files:
        with open(f, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                low = line.lower()
                if not any(w in low for ws in FIX_WORDS.values() for w in ws):
                    continue
                for m in re.finditer(r"[A-Za-z0-9/][A-Za-z0-9@._+%/-]*-[A-Za-z0-9@._+%-]+", line):
                    tok = urllib.parse.unquote(m.group(0)).rstrip(".:")
                    out.setdefault(tok, []).append(low)
                    out.setdefault(tok.rsplit("/", 1)[-1], []).append(low)
    return {k: " ".join(v) for k, v in out.items()}


def check(args):
    src = pimlab.read_side(args.src, args.src_owner, args.user, args.password)
    dst = pimlab.read_side(args.dst, args.dst_owner, args.user, args.password)
    fixes = reported_fixes(args.report or [])
    fixes[" rejected"] = reported_rejected(args.report or [])
    problems, expected, n = [], 0, 0
    for name in sorted(set(src) | set(dst)):
        if name not in dst:
            problems.append("collection %s: missing on the target" % name)
            continue
        if name not in src:
            if not args.allow_extra:
                problems.append("collection %s: only on the target" % name)
            continue
        (smeta, sitems), (dmeta, ditems) = src[name], dst[name]
        for i, what in ((0, "kind"), (1, "displayname"), (2, "colour"), (3, "description")):
            if smeta[i] != dmeta[i] and not (i == 2 and smeta[i].upper()[:7] == dmeta[i].upper()[:7]):
                problems.append("collection %s: %s %r on the source, %r on the target"
                                % (name, what, smeta[i], dmeta[i]))
        e, k = compare_items(name, sitems, ditems, fixes, problems, args.allow_extra)
        expected, n = expected + e, n + k
    for p in problems:
        print("DIFF " + p)
    print("pimcheck: %d collections, %d items compared, %d expected normalisations, %d unexpected differences"
          % (len(src), n, expected, len(problems)))
    return 1 if problems else 0


def by_uid(its):
    out = {}
    for href, etag, text in its:
        out.setdefault(uid_of(text), []).append((href, text))
    return out


def compare_items(coll, sitems, ditems, fixes, problems, allow_extra):
    s, d = by_uid(sitems), by_uid(ditems)
    expected = 0
    for uid in sorted(set(s) | set(d)):
        where = "%s/%s" % (coll, uid)
        if uid not in d:
            gone = [x for x in s[uid] if x[0].rsplit("/", 1)[-1] in fixes.get(" rejected", ())]
            if len(gone) == len(s[uid]):
                print("expected: %s: rejected by the target, as reported" % where)
                continue
            problems.append("%s: missing on the target (%d on the source)" % (where, len(s[uid])))
            continue
        if uid not in s:
            if not allow_extra:
                problems.append("%s: only on the target (%s)" % (where, d[uid][0][0]))
            continue
        rejected = [x for x in s[uid] if x[0].rsplit("/", 1)[-1] in fixes.get(" rejected", ())]
        if rejected and len(s[uid]) - len(rejected) == len(d[uid]):
            print("expected: %s: %d item(s) rejected by the target, as reported" % (where, len(rejected)))
            s[uid] = [x for x in s[uid] if x not in rejected]
        if len(s[uid]) != len(d[uid]):
            problems.append("%s: %d items on the source, %d on the target" % (where, len(s[uid]), len(d[uid])))
            continue
        left = [parse(t) for _, t in d[uid]]
        for href, text in s[uid]:
            why = fixes.get(uid, "") + " " + fixes.get(href.rsplit("/", 1)[-1], "")
            e = match_one(where, href, parse(text), left, why, problems)
            expected += e
    return expected, sum(len(v) for v in s.values())


def match_one(where, href, sv, left, fixtext, problems):
    """Pairs SV with the best of LEFT (removed); 1 when an expected
    normalisation explains the difference."""
    best, kinds = None, None
    for i, dv in enumerate(left):
        k = explain(sv, dv)
        if k is not None and (kinds is None or len(k) < len(kinds)):
            best, kinds = i, k
    if best is None:
        problems.append("%s (%s): content differs: %s" % (where, href, first_diff(sv, left[0])))
        left.pop(0)
        return 0
    left.pop(best)
    if not kinds:
        return 0
    unreported = [k for k in kinds if not any(w in fixtext for w in FIX_WORDS[k])]
    if unreported:
        problems.append("%s (%s): %s changed but fedmig reported no such normalisation"
                        % (where, href, ", ".join(sorted(unreported))))
        return 0
    return 1


def first_diff(a, b):
    (sa, _), (sb, _) = canon_component(a), canon_component(b)
    la, lb = set(flat(sa)), set(flat(sb))
    only_a, only_b = sorted(la - lb, key=repr)[:2], sorted(lb - la, key=repr)[:2]
    return "source only %s; target only %s" % (short(only_a), short(only_b))


def flat(tree, path=""):
    name, lines, subs = tree
    for ln in lines:
        yield (path + name,) + tuple(ln)
    for s in subs:
        yield from flat(s, path + name + "/")


def short(x):
    t = repr(x)
    return t if len(t) < 300 else t[:300] + "..."
