#!/usr/bin/python3
# caldav_bench.py - the client half of tests/bench/caldav_bench.sh: one CalDAV workload
# against one server, a correctness oracle for its time-range queries, and the final
# comparison table.
#
#   caldav_bench.py run --name NAME --url URL --user U --password P [--events N]
#                       [--clients C] [--runs R] [--seed S] --uids-dir DIR
#       Discovers the calendar home (PROPFIND /.well-known/caldav -> redirect ->
#       current-user-principal -> calendar-home-set; nothing is hard-coded per server),
#       MKCALENDARs a fresh calendar in it, PUTs N generated events with C concurrent
#       keep-alive clients, then times (one untimed warm-up, then R runs each):
#         calendar-query VEVENT time-range of one week and of one year (getetag +
#         calendar-data), of the week with getetag only, calendar-multiget of 100
#         hrefs, PROPFIND Depth 1 (resourcetype, getcontenttype, getetag),
#         initial sync-collection, and incremental sync-collection after 10 PUTs.
#       With --fill-kind radicale|xandikos --fill-dir DIR [--fill-owner U:G] --put-count P,
#       only the first P events are PUT (and timed); the others are written into the
#       server's storage folder DIR directly (see fill_disk) before the queries.
#       Prints "NAME metric median p90" lines (ms, or events/s for the PUT) and writes
#       each distinct set of UIDs a query returned (every run is checked) to
#       DIR/NAME.week.1, DIR/NAME.week.2 ..., DIR/NAME.week_etag.1 ..., DIR/NAME.year.1 ...
#   caldav_bench.py table RESULTS --uids-dir DIR
#       RESULTS has "info key value" and the run lines. Prints the table (median and
#       p90 per server, ratios polder/radicale and polder/xandikos, the goal for
#       the week query), then compares every answer with the oracle and with each other;
#       exits 1 on any difference.
#   caldav_bench.py oracle [--events N] [--seed S]
#       Prints how many events the oracle expects in the week and in the year.
#
# The events (deterministic for a seed, 3 years from 2025-01-06): 10% recurring (DAILY
# or WEEKLY, INTERVAL 1-2, COUNT or UNTIL, some with EXDATE, some with an overridden
# instance as a second VEVENT with RECURRENCE-ID in the same resource), the others
# single: 50% in UTC, 40% in TZID=Europe/Amsterdam (with its VTIMEZONE), 10% all-day;
# some with DURATION instead of DTEND. No ORGANIZER/ATTENDEE, so no server schedules.
# The oracle expands them here with zoneinfo and applies RFC 4791 9.9's overlap test;
# all-day (floating) dates are taken as UTC, the servers run with TZ=UTC. The week
# (2026-03-23..30, UTC) holds the change to summer time in Amsterdam.
#
# SECURITY: talks to 127.0.0.1 only (URLs and redirects elsewhere are refused); Basic
# credentials of a throwaway account; responses are parsed with ElementTree, which
# expands no external entities; every socket has a timeout, so a stuck server ends the
# run instead of hanging it.
# STANDARDS: RFC 4791 (MKCALENDAR, calendar-query, calendar-multiget, time-range 9.9),
# RFC 4918 (PROPFIND), RFC 6578 (sync-collection), RFC 6764 (well-known URI), RFC 5397
# (current-user-principal), RFC 5545 (iCalendar, RRULE/EXDATE/RECURRENCE-ID), RFC 7617.
import argparse
import base64
import datetime as dt
import http.client
import math
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape as xml_escape
import zoneinfo

TIMEOUT = 600
UTC = dt.timezone.utc
AMS = zoneinfo.ZoneInfo("Europe/Amsterdam")
SPAN_START = dt.datetime(2025, 1, 6)            # a Monday; events spread over 3 years
SPAN_DAYS = 3 * 365
WEEK = (dt.datetime(2026, 3, 23, tzinfo=UTC), dt.datetime(2026, 3, 30, tzinfo=UTC))
YEAR = (dt.datetime(2026, 1, 1, tzinfo=UTC), dt.datetime(2027, 1, 1, tzinfo=UTC))
# The timed calendar-queries: one week and one year asking for getetag and calendar-data
# (as Apple Calendar and Evolution do), and the week asking for getetag only (as DAVx5
# and Thunderbird do before a multiget).
QUERIES = (("week", WEEK), ("week_etag", WEEK), ("year", YEAR))
MULTIGET = 100
CHANGES = 10
D = "{DAV:}"
C = "{urn:ietf:params:xml:ns:caldav}"
XML_HEAD = '<?xml version="1.0" encoding="utf-8"?>\n'
NS = 'xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"'

VTIMEZONE = """BEGIN:VTIMEZONE
TZID:Europe/Amsterdam
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE"""

WORDS = ("overleg", "budget", "wijkraad", "vergunning", "planning", "afstemming", "team",
         "evaluatie", "project", "burgerzaken", "inspraak", "bestemmingsplan", "review")


def fail(msg):
    sys.exit(f"caldav_bench.py: {msg}")


# --- the events and their oracle ----------------------------------------------------------

class Event:
    """One generated resource: a single event or a recurring one with its exceptions."""

    def __init__(self, i, rng):
        self.i = i
        self.uid = f"bench-{i:05d}@bench.example"
        self.name = f"e{i:05d}.ics"
        self.summary = " ".join(rng.choice(WORDS) for _ in range(3)).capitalize()
        self.description = " ".join(rng.choice(WORDS) for _ in range(30))
        self.recurring = i % 10 == 3                     # exactly 10%
        r = rng.random()
        self.kind = "tz" if self.recurring and r < 0.5 else "utc" if self.recurring else \
            "utc" if r < 0.5 else "tz" if r < 0.9 else "allday"
        day = SPAN_START + dt.timedelta(days=rng.randrange(SPAN_DAYS))
        self.use_duration = False
        self.rrule = None
        self.exdates = []
        self.override = None
        if self.kind == "allday":
            self.start = day.date()
            self.length = dt.timedelta(days=rng.choice((1, 1, 1, 2, 3)))
            return
        # Local times 07:00-19:45 never fall in a DST gap or overlap (02:00-03:00).
        self.start = day.replace(hour=rng.randrange(7, 20), minute=rng.choice((0, 15, 30, 45)))
        self.length = dt.timedelta(minutes=15 * rng.randrange(1, 13))
        self.use_duration = not self.recurring and rng.random() < 0.2
        if not self.recurring:
            return
        freq = "WEEKLY" if rng.random() < 0.7 else "DAILY"
        interval = rng.choice((1, 1, 1, 2))
        self.step = dt.timedelta(days=(7 if freq == "WEEKLY" else 1) * interval)
        if rng.random() < 0.5:
            count = rng.randrange(5, 60)
            self.rrule = {"FREQ": freq, "INTERVAL": interval, "COUNT": count}
            n = count
        else:
            n = rng.randrange(5, 60)
            # UNTIL exactly on the last instance's start half the time (it is inclusive).
            until = self.to_utc(self.start + (n - 1) * self.step)
            if rng.random() < 0.5:
                until += dt.timedelta(hours=rng.randrange(1, 20))
            self.rrule = {"FREQ": freq, "INTERVAL": interval, "UNTIL": until}
        picks = rng.sample(range(1, n), 3)
        if rng.random() < 0.3:
            self.exdates = [self.start + picks[0] * self.step]
            if rng.random() < 0.5:
                self.exdates.append(self.start + picks[1] * self.step)
        if rng.random() < 0.3:
            orig = self.start + picks[2] * self.step
            moved = orig + dt.timedelta(hours=rng.choice((-26, -3, 2, 5, 24, 49)))
            moved = moved.replace(hour=min(max(moved.hour, 7), 19))
            self.override = (orig, moved, dt.timedelta(minutes=15 * rng.randrange(1, 13)))

    def to_utc(self, local):
        if self.kind == "allday":
            return dt.datetime.combine(local, dt.time(), UTC)
        if self.kind == "tz":
            return local.replace(tzinfo=AMS).astimezone(UTC)
        return local.replace(tzinfo=UTC)

    def instances(self):
        """(start, end) in UTC of every instance, overrides applied (RFC 5545 3.8.5)."""
        if not self.recurring:
            yield self.to_utc(self.start), self.to_utc(self.start + self.length)
            return
        excluded = set(self.exdates)
        k = 0
        while True:
            local = self.start + k * self.step
            if "COUNT" in self.rrule and k >= self.rrule["COUNT"]:
                return
            if "UNTIL" in self.rrule and self.to_utc(local) > self.rrule["UNTIL"]:
                return
            k += 1
            if local in excluded:
                continue
            if self.override and local == self.override[0]:
                moved, length = self.override[1], self.override[2]
                yield self.to_utc(moved), self.to_utc(moved + length)
            else:
                yield self.to_utc(local), self.to_utc(local + self.length)

    def overlaps(self, rng):
        # RFC 4791 9.9: start < range end AND end > range start (every event has a length).
        return any(s < rng[1] and e > rng[0] for s, e in self.instances())

    def fmt(self, name, value, params=""):
        if self.kind == "allday":
            return f"{name};VALUE=DATE:{value:%Y%m%d}"
        if self.kind == "tz":
            return f"{name};TZID=Europe/Amsterdam{params}:{value:%Y%m%dT%H%M%S}"
        return f"{name}{params}:{value:%Y%m%dT%H%M%S}Z"

    def ics(self, sequence=0):
        def duration(td):
            minutes = td.seconds // 60
            return f"PT{minutes // 60}H{minutes % 60}M" if td.days == 0 else f"P{td.days}D"

        lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Polder//caldav_bench//EN",
                 "CALSCALE:GREGORIAN"]
        if self.kind == "tz":
            lines.append(VTIMEZONE)
        stamp = f"DTSTAMP:2025010{1 + sequence % 9}T120000Z"
        vevent = ["BEGIN:VEVENT", f"UID:{self.uid}", stamp, f"SEQUENCE:{sequence}",
                  f"SUMMARY:{self.summary}" + (f" (v{sequence})" if sequence else ""),
                  "LOCATION:Stadhuis\\, kamer 2." + str(self.i % 40),
                  f"DESCRIPTION:{self.description}", self.fmt("DTSTART", self.start)]
        if self.use_duration:
            vevent.append(f"DURATION:{duration(self.length)}")
        else:
            vevent.append(self.fmt("DTEND", self.start + self.length))
        if self.rrule:
            parts = [f"FREQ={self.rrule['FREQ']}", f"INTERVAL={self.rrule['INTERVAL']}"]
            if "COUNT" in self.rrule:
                parts.append(f"COUNT={self.rrule['COUNT']}")
            else:
                parts.append(f"UNTIL={self.rrule['UNTIL']:%Y%m%dT%H%M%S}Z")
            vevent.append("RRULE:" + ";".join(parts))
        for ex in self.exdates:
            vevent.append(self.fmt("EXDATE", ex))
        vevent.append("END:VEVENT")
        lines += vevent
        if self.override:
            orig, moved, length = self.override
            lines += ["BEGIN:VEVENT", f"UID:{self.uid}", stamp, f"SEQUENCE:{sequence}",
                      self.fmt("RECURRENCE-ID", orig), f"SUMMARY:{self.summary} (moved)",
                      self.fmt("DTSTART", moved), self.fmt("DTEND", moved + length),
                      "END:VEVENT"]
        lines.append("END:VCALENDAR")
        # RFC 5545 3.1: lines of at most 75 octets; the generated text is ASCII.
        out = []
        for line in "\n".join(lines).split("\n"):
            while len(line) > 75:
                out.append(line[:75])
                line = " " + line[75:]
            out.append(line)
        return ("\r\n".join(out) + "\r\n").encode()


def generate(n, seed):
    rng = random.Random(seed)
    return [Event(i, rng) for i in range(n)]


# --- HTTP --------------------------------------------------------------------------------

def check_loopback(url):
    u = urllib.parse.urlsplit(url)
    if u.scheme != "http" or u.hostname != "127.0.0.1":
        fail(f"refusing non-loopback URL {url}")
    return u


class Client:
    """One keep-alive HTTP/1.1 connection with Basic credentials (reopened if closed)."""

    def __init__(self, url, user, password):
        u = check_loopback(url)
        self.host, self.port = u.hostname, u.port
        self.auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        h = {"Authorization": self.auth}
        h.update(headers or {})
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)
            try:
                self.conn.request(method, path, body=body, headers=h)
                r = self.conn.getresponse()
                data = r.read()          # drain, so the connection can carry the next one
                if r.will_close:
                    self.conn.close()
                    self.conn = None
                return r.status, r, data
            except (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine):
                # A server may close an idle keep-alive connection just as we reuse it.
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def timed(self, method, path, body=None, headers=None):
        start = time.perf_counter()
        status, r, data = self.request(method, path, body, headers)
        return (time.perf_counter() - start) * 1000, status, r, data

    def close(self):
        if self.conn:
            self.conn.close()


def xml_body(s):
    return (XML_HEAD + s).encode()


def parse_xml(data, what):
    try:
        return ET.fromstring(data)
    except ET.ParseError as e:
        fail(f"{what}: malformed XML ({e}): {data[:300]!r}")


def norm_href(href):
    """A response href (absolute URL or path, percent-encoded) as a decoded path."""
    path = urllib.parse.urlsplit(href.strip()).path
    return urllib.parse.unquote(path)


def first_href(root, prop):
    for el in root.iter(prop):
        h = el.find(D + "href")
        if h is not None and h.text:
            return h.text.strip()
    return None


def responses(root):
    """[(decoded href, {prop tag: element} of the 200 propstat, status text)]."""
    out = []
    for resp in root.findall(D + "response"):
        href = norm_href(resp.findtext(D + "href", ""))
        props = {}
        for ps in resp.findall(D + "propstat"):
            if " 200 " in (ps.findtext(D + "status", "") + " "):
                prop = ps.find(D + "prop")
                for p in (list(prop) if prop is not None else []):
                    props[p.tag] = p
        out.append((href, props, resp.findtext(D + "status", "")))
    return out


# --- the workload ---------------------------------------------------------------------------

def discover(cl, url):
    """Calendar home path by RFC 6764 + RFC 5397 + RFC 4791 6.2.1 discovery."""
    body = xml_body('<D:propfind xmlns:D="DAV:"><D:prop><D:current-user-principal/>'
                    '</D:prop></D:propfind>')
    path = urllib.parse.urlsplit(url).path.rstrip("/") + "/.well-known/caldav"
    for _ in range(5):
        status, r, data = cl.request("PROPFIND", path, body,
                                     {"Depth": "0", "Content-Type": "application/xml"})
        if status in (301, 302, 303, 307, 308):
            loc = r.getheader("Location") or fail(f"{status} without Location at {path}")
            target = urllib.parse.urlsplit(urllib.parse.urljoin(url.rstrip("/") + path, loc))
            if target.hostname not in (None, "127.0.0.1") or (target.port and target.port != cl.port):
                fail(f"redirect off the server: {loc}")
            path = target.path or "/"
            continue
        break
    if status != 207:
        fail(f"PROPFIND {path} (current-user-principal): {status} {data[:300]!r}")
    principal = first_href(parse_xml(data, "current-user-principal"), D + "current-user-principal")
    if not principal:
        fail(f"no current-user-principal at {path}: {data[:300]!r}")
    principal = urllib.parse.urlsplit(principal).path
    body = xml_body(f'<D:propfind {NS}><D:prop><C:calendar-home-set/></D:prop></D:propfind>')
    status, _, data = cl.request("PROPFIND", principal, body,
                                 {"Depth": "0", "Content-Type": "application/xml"})
    if status != 207:
        fail(f"PROPFIND {principal} (calendar-home-set): {status} {data[:300]!r}")
    home = first_href(parse_xml(data, "calendar-home-set"), C + "calendar-home-set")
    if not home:
        fail(f"no calendar-home-set on {principal}: {data[:300]!r}")
    home = urllib.parse.urlsplit(home).path
    return principal, home if home.endswith("/") else home + "/"


def mkcalendar(cl, home):
    path = home + "polder-bench/"
    body = xml_body(f'<C:mkcalendar {NS}><D:set><D:prop><D:displayname>Benchmark</D:displayname>'
                    '<C:supported-calendar-component-set><C:comp name="VEVENT"/>'
                    '</C:supported-calendar-component-set></D:prop></D:set></C:mkcalendar>')
    status, _, data = cl.request("MKCALENDAR", path, body, {"Content-Type": "application/xml"})
    if status != 201:
        fail(f"MKCALENDAR {path}: {status} {data[:300]!r}")
    return path


def put_all(a, cal, events):
    errors = []
    lock = threading.Lock()
    todo = iter(events)
    bodies = {e.name: e.ics() for e in events}
    done = []

    def worker():
        cl = Client(a.url, a.user, a.password)
        try:
            while True:
                with lock:
                    e = next(todo, None)
                if e is None or errors:
                    return
                status, r, data = cl.request("PUT", cal + e.name, bodies[e.name],
                                             {"Content-Type": "text/calendar; charset=utf-8",
                                              "If-None-Match": "*"})
                if status not in (201, 204):
                    errors.append(f"PUT {e.name}: {status} {data[:300]!r}\n{bodies[e.name].decode()}")
                    return
                done.append(time.monotonic())     # list.append is atomic in CPython
        except (OSError, http.client.HTTPException) as ex:
            errors.append(f"PUT worker: {ex!r}")
        finally:
            cl.close()

    threads = [threading.Thread(target=worker) for _ in range(a.clients)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - start
    if errors:
        fail(errors[0])
    # The rate over the last tenth shows whether a PUT gets slower as the calendar fills.
    tail = max(2, len(done) // 10)
    return len(events) / took, (tail - 1) / (done[-1] - done[-tail])


def fill_disk(a, cal, events):
    """Write events straight into the server's storage (the anchors' fast fill).

    Radicale (multifilesystem): one .ics per resource in the collection's folder, named as
    its href; Radicale builds its item cache on the first read (the warm-up query).
    Xandikos: the calendar is a git repository with a work tree (what MKCALENDAR made);
    the files are added to its index and committed, as Xandikos itself does per PUT.
    Everything is then handed to the server's user (--fill-owner)."""
    folder = os.path.join(a.fill_dir, urllib.parse.unquote(cal).strip("/"))
    real = os.path.realpath(folder)
    if not real.startswith(os.path.realpath(a.fill_dir) + os.sep) or not os.path.isdir(real):
        fail(f"fill: {folder} is not a collection folder under {a.fill_dir}")
    for e in events:
        with open(os.path.join(real, e.name), "wb") as f:
            f.write(e.ics())
    if a.fill_kind == "xandikos":
        git = ["git", "-c", "safe.directory=*", "-c", "user.name=bench", "-c", "user.email=bench@bench.example",
               "-C", real]
        names = [e.name for e in events]
        for i in range(0, len(names), 1000):     # bounded command lines
            subprocess.run(git + ["add", "--"] + names[i:i + 1000], check=True, timeout=600)
        subprocess.run(git + ["commit", "-q", "-m", f"benchmark fill: {len(names)} events"], check=True,
                       timeout=600)
    if a.fill_owner:
        subprocess.run(["chown", "-R", a.fill_owner, real], check=True, timeout=600)


def query_body(rng, data=True):
    prop = "<D:getetag/>" + ("<C:calendar-data/>" if data else "")
    return xml_body(f'<C:calendar-query {NS}><D:prop>{prop}</D:prop><C:filter>'
                    '<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
                    f'<C:time-range start="{rng[0]:%Y%m%dT%H%M%SZ}" end="{rng[1]:%Y%m%dT%H%M%SZ}"/>'
                    '</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>')


UID_RE = re.compile(r"^UID:(.*)$", re.M)


def uids_of(data, what):
    """UIDs in the calendar-data of a multistatus; every response must carry it."""
    uids = set()
    for href, props, status in responses(parse_xml(data, what)):
        cd = props.get(C + "calendar-data")
        if cd is None or not cd.text:
            fail(f"{what}: no calendar-data for {href} ({status})")
        text = re.sub(r"\r?\n[ \t]", "", cd.text)
        found = set(u.strip() for u in UID_RE.findall(text))
        if len(found) != 1:
            fail(f"{what}: {href} has UIDs {found}")
        uids |= found
    return uids


def stats(times):
    s = sorted(times)
    return statistics.median(s), s[max(0, math.ceil(0.9 * len(s)) - 1)]


def sync_report(cl, cal, token):
    tok = f"<D:sync-token>{token}</D:sync-token>" if token else "<D:sync-token/>"
    body = xml_body(f'<D:sync-collection xmlns:D="DAV:">{tok}<D:sync-level>1</D:sync-level>'
                    '<D:prop><D:getetag/></D:prop></D:sync-collection>')
    ms, status, _, data = cl.timed("REPORT", cal, body, {"Content-Type": "application/xml",
                                                         "Depth": "0"})
    if status != 207:
        fail(f"sync-collection on {cal} (token {token!r}): {status} {data[:300]!r}")
    root = parse_xml(data, "sync-collection")
    new_token = root.findtext(D + "sync-token")
    if not new_token:
        fail(f"sync-collection on {cal}: no sync-token")
    here = urllib.parse.unquote(cal).rstrip("/")
    members = {h for h, _, _ in responses(root) if h.rstrip("/") != here}
    return ms, new_token.strip(), members


def run(a):
    events = generate(a.events, a.seed)
    cl = Client(a.url, a.user, a.password)
    principal, home = discover(cl, a.url)
    cal = mkcalendar(cl, home)
    print(f"== {a.name}: principal {principal}, calendar {cal}", file=sys.stderr)
    out = []

    def emit(metric, times):
        med, p90 = stats(times)
        out.append(f"{a.name} {metric} {med:.2f} {p90:.2f}")

    n_put = len(events) if not a.fill_kind or not a.put_count else min(a.put_count, len(events))
    print(f"== {a.name}: PUT {n_put} events with {a.clients} clients", file=sys.stderr)
    rate, tail_rate = put_all(a, cal, events[:n_put])
    out.append(f"{a.name} put {rate:.1f} {rate:.1f}")
    out.append(f"{a.name} put_tail {tail_rate:.1f} {tail_rate:.1f}")
    out.append(f"info put_count_{a.name} {n_put}")
    if n_put < len(events):
        print(f"== {a.name}: writing the other {len(events) - n_put} events into its storage ({a.fill_kind})",
              file=sys.stderr)
        fill_disk(a, cal, events[n_put:])

    q = {"Content-Type": "application/xml", "Depth": "1"}
    uid_by_name = {e.name: e.uid for e in events}
    for metric, rng in QUERIES:
        print(f"== {a.name}: calendar-query {metric} x {a.runs}", file=sys.stderr)
        with_data = metric != "week_etag"
        body = query_body(rng, with_data)
        times = []
        answers = []                                # every distinct answer, in order
        for k in range(a.runs + 1):                 # run 0 is the warm-up
            ms, status, _, data = cl.timed("REPORT", cal, body, q)
            if status != 207:
                fail(f"calendar-query {metric}: {status} {data[:300]!r}")
            if k:
                times.append(ms)
            # Every run's answer is checked, not only the first: a server that indexes
            # after repeated queries may answer differently later.
            if with_data:
                got = uids_of(data, f"calendar-query {metric}")
            else:
                names = [h.rsplit("/", 1)[-1] for h, _, _ in responses(parse_xml(data, metric))]
                if any(n not in uid_by_name for n in names):
                    fail(f"calendar-query {metric}: unknown hrefs {names[:5]}")
                got = {uid_by_name[n] for n in names}
            if got not in answers:
                answers.append(got)
                with open(os.path.join(a.uids_dir, f"{a.name}.{metric}.{len(answers)}"), "w") as f:
                    f.write(f"# run {k}\n" + "".join(u + "\n" for u in sorted(got)))
        if len(answers) > 1:
            print(f"== {a.name}: calendar-query {metric} gave {len(answers)} different answers",
                  file=sys.stderr)
        emit(metric, times)

    print(f"== {a.name}: calendar-multiget {MULTIGET} x {a.runs}", file=sys.stderr)
    step = max(1, len(events) // MULTIGET)
    picked = events[::step][:MULTIGET]
    # cal is the path as the server wrote it (already percent-encoded); names are ASCII.
    hrefs = "".join(f"<D:href>{xml_escape(cal + e.name)}</D:href>" for e in picked)
    body = xml_body(f'<C:calendar-multiget {NS}><D:prop><D:getetag/><C:calendar-data/></D:prop>'
                    f'{hrefs}</C:calendar-multiget>')
    want = {e.uid for e in picked}
    times = []
    for k in range(a.runs + 1):
        ms, status, _, data = cl.timed("REPORT", cal, body, q)
        if status != 207:
            fail(f"calendar-multiget: {status} {data[:300]!r}")
        if k == 0:
            got = uids_of(data, "calendar-multiget")
            if got != want:
                fail(f"calendar-multiget: {len(want - got)} UIDs missing, {len(got - want)} unexpected")
        else:
            times.append(ms)
    emit("multiget", times)

    print(f"== {a.name}: PROPFIND Depth 1 x {a.runs}", file=sys.stderr)
    body = xml_body('<D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:getcontenttype/>'
                    '<D:getetag/></D:prop></D:propfind>')
    times = []
    for k in range(a.runs + 1):
        ms, status, _, data = cl.timed("PROPFIND", cal, body, q)
        if status != 207:
            fail(f"PROPFIND Depth 1: {status} {data[:300]!r}")
        n = len(responses(parse_xml(data, "PROPFIND")))
        if n != len(events) + 1:
            fail(f"PROPFIND Depth 1: {n} responses, expected {len(events) + 1}")
        if k:
            times.append(ms)
    emit("propfind", times)

    print(f"== {a.name}: sync-collection initial x {a.runs}", file=sys.stderr)
    names = {urllib.parse.unquote(cal + e.name) for e in events}
    times = []
    token = None
    for k in range(a.runs + 1):
        ms, token, members = sync_report(cl, cal, None)
        if members != names:
            fail(f"initial sync-collection: {len(names - members)} missing, "
                 f"{len(members - names)} unexpected")
        if k:
            times.append(ms)
    emit("sync_initial", times)

    print(f"== {a.name}: sync-collection after {CHANGES} changes x {a.runs}", file=sys.stderr)
    single = [e for e in events if not e.recurring]
    times = []
    for k in range(a.runs + 1):
        changed = single[k * CHANGES % len(single):][:CHANGES]
        for e in changed:
            status, _, data = cl.request("PUT", cal + e.name, e.ics(sequence=k + 1),
                                         {"Content-Type": "text/calendar; charset=utf-8"})
            if status not in (201, 204):
                fail(f"PUT {e.name} (change): {status} {data[:300]!r}")
        ms, token, members = sync_report(cl, cal, token)
        if members != {urllib.parse.unquote(cal + e.name) for e in changed}:
            fail(f"incremental sync-collection: {sorted(members)[:20]} for "
                 f"{len(changed)} changed resources")
        if k:
            times.append(ms)
    emit("sync_changes", times)
    cl.close()
    print("\n".join(out))


# --- the table ------------------------------------------------------------------------------

SERVERS = ("polder", "radicale", "xandikos")
METRICS = [("put", "PUT {events} events, {clients} clients (events/s)", True),
           ("put_tail", "  the same over the last 10% (events/s)", True),
           ("week", "calendar-query 1 week (ms)", False),
           ("week_etag", "  the same, getetag only (ms)", False),
           ("year", "calendar-query 1 year (ms)", False),
           ("multiget", f"calendar-multiget {MULTIGET} (ms)", False),
           ("propfind", "PROPFIND Depth 1 on the calendar (ms)", False),
           ("sync_initial", "sync-collection initial (ms)", False),
           ("sync_changes", f"sync-collection after {CHANGES} changes (ms)", False)]


def table(a):
    values = {}
    info = {}
    with open(a.results) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[0] == "info":
                info[parts[1]] = parts[2]
            elif len(parts) == 4:
                values[(parts[0], parts[1])] = (float(parts[2]), float(parts[3]))
    servers = [s for s in SERVERS if any(k[0] == s for k in values)]
    others = [s for s in servers if s != "polder"] if "polder" in servers else []
    w = 44
    head = f"{'measure (median / p90)':<{w}}" + "".join(f"{s:>21}" for s in servers) + \
        "".join(f"{'p/' + o[:3]:>9}" for o in others)
    print(head)
    print("-" * len(head))
    for key, label, _ in METRICS:
        row = f"{label.format(**info):<{w}}"
        for s in servers:
            v = values.get((s, key))
            cell = "-" if v is None else f"{v[0]:.1f}" if key.startswith("put") else f"{v[0]:.1f} / {v[1]:.1f}"
            row += f"{cell:>21}"
        p = values.get(("polder", key))
        for o in others:
            ov = values.get((o, key))
            row += f"{p[0] / ov[0]:>9.3f}" if p and ov and ov[0] else f"{'-':>9}"
        print(row)
    for s_ in servers:
        n = int(info.get(f"put_count_{s_}", info["events"]))
        if n < int(info["events"]):
            print(f"{s_}: the PUT rows are its first {n} events over HTTP; the other {int(info['events']) - n} "
                  "were written into its storage directly, then every query ran on all of them.")
    print(f"Median and 90th percentile of {info.get('runs', '?')} runs after one warm-up run. "
          "Ratios are polder's median divided by the other's:")
    print("for events/s higher is better, for ms lower is better (0.05 = 20x faster).")
    if "polder" in servers:
        p = values.get(("polder", "week"))
        goals = []
        for o, factor in (("radicale", 20), ("xandikos", 1)):
            ov = values.get((o, "week"))
            if p and ov:
                speed = ov[0] / p[0]
                goals.append(f"{speed:.1f}x faster than {o} (goal {'>=' if factor > 1 else '>'} "
                             f"{factor}x: {'met' if (speed >= factor if factor > 1 else speed > 1) else 'NOT met'})")
        if goals:
            print("Week query: polder is " + "; ".join(goals) + ".")

    # The correctness check: every server's week and year UIDs against the oracle.
    events = generate(int(info["events"]), int(info["seed"]))
    failed = False
    print()
    for metric, rng in QUERIES:
        want = {e.uid for e in events if e.overlaps(rng)}
        got = {}                                    # "server" or "server (answer n)" -> UIDs
        for s in servers:
            n = 1
            while os.path.exists(path := os.path.join(a.uids_dir, f"{s}.{metric}.{n}")):
                with open(path) as f:
                    lines = f.read().split("\n")
                got[s if n == 1 else f"{s} ({lines[0][2:]})"] = {u for u in lines[1:] if u}
                n += 1
        same = len(set(map(frozenset, got.values()))) == 1
        print(f"{metric} {rng[0]:%Y-%m-%d}..{rng[1]:%Y-%m-%d}: expected {len(want)} events; " +
              ", ".join(f"{s} {len(u)}" for s, u in got.items()) +
              ("; all answers hold the same UIDs" if same else "; the answers DIFFER"))
        for s, u in got.items():
            if u != want:
                failed = True
                print(f"  FAIL {s}: missing {sorted(want - u)[:10]}{' ...' if len(want - u) > 10 else ''}"
                      f" unexpected {sorted(u - want)[:10]}{' ...' if len(u - want) > 10 else ''}")
                for uid in sorted(want ^ u)[:3]:
                    e = events[int(uid[6:11])]
                    print(f"    {uid}: {e.kind}, rrule {e.rrule}, exdates {e.exdates}, "
                          f"override {e.override}, start {e.start}, length {e.length}")
        if not same:
            failed = True
    if failed:
        print("CHECK FAILED: a server's time-range answer differs (see above).")
        sys.exit(1)
    print("CHECK OK: every server returned exactly the expected events to every query.")


def main():
    p = argparse.ArgumentParser(description="CalDAV benchmark helper (see caldav_bench.sh)")
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--name", required=True, choices=SERVERS)
    r.add_argument("--url", required=True)
    r.add_argument("--user", required=True)
    r.add_argument("--password", required=True)
    r.add_argument("--events", type=int, default=10000)
    r.add_argument("--clients", type=int, default=4)
    r.add_argument("--runs", type=int, default=10)
    r.add_argument("--seed", type=int, default=20260323)
    r.add_argument("--uids-dir", required=True)
    r.add_argument("--put-count", type=int, default=0,
                   help="with --fill-kind: PUT (and time) only this many events, write the rest to disk")
    r.add_argument("--fill-kind", choices=("radicale", "xandikos"))
    r.add_argument("--fill-dir", help="the server's storage folder that URL path / maps to")
    r.add_argument("--fill-owner", help="user:group the written files are given to")
    t = sub.add_parser("table")
    t.add_argument("results")
    t.add_argument("--uids-dir", required=True)
    g = sub.add_parser("oracle", help="print the expected UIDs of the week and year ranges")
    g.add_argument("--events", type=int, default=10000)
    g.add_argument("--seed", type=int, default=20260323)
    a = p.parse_args()
    if a.cmd in ("run", "oracle") and not 100 <= a.events <= 1000000:
        fail("--events must be between 100 and 1000000")
    if a.cmd == "run" and not (1 <= a.clients <= 64 and 1 <= a.runs <= 1000):
        fail("--clients must be 1..64 and --runs 1..1000")
    if a.cmd == "run" and a.fill_kind and (not a.fill_dir or a.put_count < 0):
        fail("--fill-kind needs --fill-dir (and --put-count >= 0)")
    try:
        if a.cmd == "run":
            run(a)
        elif a.cmd == "table":
            table(a)
        else:
            events = generate(a.events, a.seed)
            for metric, rng in QUERIES[::2]:
                uids = sorted(e.uid for e in events if e.overlaps(rng))
                print(f"{metric} {len(uids)}")
    except (OSError, http.client.HTTPException) as e:
        fail(f"{a.cmd}: {e!r}")


if __name__ == "__main__":
    main()
