# test_export.py - polderctl export user / export org: data put in through the real
# protocols (SMTP delivery, IMAP APPEND with flags and keywords, CalDAV and CardDAV PUT,
# WebDAV PUT/DELETE of files) comes out in open formats that real readers accept:
# Python's mailbox.Maildir and mailbox.mbox see every message with its exact stored bytes
# and flags, icalendar parses every calendar (UIDs, recurrence and its exception,
# VTIMEZONEs), vobject every address book, files keep their bytes (sha256) and times,
# versions and trash are there, `sha256sum -c MANIFEST.sha256` passes, users.csv is
# accepted by `polderctl user import` of another installation, an organisation's export
# holds nothing of another organisation, hostile names stay inside the export, and every
# refusal is one line with a non-zero exit and no partial export left behind.
#
# SECURITY: loopback only; throwaway databases and folders (conftest.py).
# STANDARDS: Maildir, RFC 4155 (mboxrd), RFC 5545, RFC 6350, RFC 4180, sha256sum.

import base64
import email.utils
import hashlib
import http.client
import imaplib
import json
import mailbox
import os
import pty
import re
import select
import smtplib
import ssl
import subprocess
import time
import urllib.parse
from pathlib import Path

import icalendar
import pytest
import vobject

from blobs import blob_path
from conftest import PgServer, Polderctl, drop_database, free_port, new_database, write_config

PASSWORD = "correct horse battery staple"
INTERNALDATE = 1_700_000_000   # 2023-11-14T22:13:20Z

TZ_AMSTERDAM = (
    "BEGIN:VTIMEZONE\r\nTZID:Europe/Amsterdam\r\n"
    "BEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\nDTSTART:19700329T020000\r\n"
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\n"
    "BEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\nDTSTART:19701025T030000\r\n"
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n")
# Same TZID, different rules (a made-up zone without daylight saving time).
TZ_AMSTERDAM_OTHER = (
    "BEGIN:VTIMEZONE\r\nTZID:Europe/Amsterdam\r\n"
    "BEGIN:STANDARD\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\nDTSTART:19700101T000000\r\n"
    "END:STANDARD\r\nEND:VTIMEZONE\r\n")


def vcalendar(body, tz=TZ_AMSTERDAM):
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Polder tests//export//EN\r\n" + tz + body +
            "END:VCALENDAR\r\n")


RECURRING = vcalendar(
    "BEGIN:VEVENT\r\nUID:weekly-standup@test\r\nDTSTAMP:20260101T000000Z\r\n"
    "DTSTART;TZID=Europe/Amsterdam:20260105T090000\r\nDTEND;TZID=Europe/Amsterdam:20260105T093000\r\n"
    "RRULE:FREQ=WEEKLY;COUNT=10\r\nSUMMARY:Standup\\, wekelijks\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:weekly-standup@test\r\nDTSTAMP:20260101T000000Z\r\n"
    "RECURRENCE-ID;TZID=Europe/Amsterdam:20260112T090000\r\n"
    "DTSTART;TZID=Europe/Amsterdam:20260112T100000\r\nDTEND;TZID=Europe/Amsterdam:20260112T103000\r\n"
    "SUMMARY:Standup (later)\r\nEND:VEVENT\r\n")
SINGLE = vcalendar(
    "BEGIN:VEVENT\r\nUID:single@test\r\nDTSTAMP:20260101T000000Z\r\n"
    "DTSTART;TZID=Europe/Amsterdam:20260301T140000\r\nDTEND;TZID=Europe/Amsterdam:20260301T150000\r\n"
    "SUMMARY:Overleg\r\nEND:VEVENT\r\n")
OTHER_ZONE = vcalendar(
    "BEGIN:VEVENT\r\nUID:other-zone@test\r\nDTSTAMP:20260101T000000Z\r\n"
    "DTSTART;TZID=Europe/Amsterdam:20260701T120000\r\nDTEND;TZID=Europe/Amsterdam:20260701T130000\r\n"
    "SUMMARY:Andere zone\r\nEND:VEVENT\r\n", tz=TZ_AMSTERDAM_OTHER)
TODO = vcalendar("BEGIN:VTODO\r\nUID:todo-1@test\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Opruimen\r\nEND:VTODO\r\n",
                 tz="")
VCARD = ("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:card-1@test\r\nFN:Jan de Vries\r\nN:de Vries;Jan;;;\r\n"
         "EMAIL;TYPE=work:jan@example.org\r\nEND:VCARD\r\n")


def mutf7(name):
    """IMAP modified UTF-7 (RFC 3501 5.1.3) of a mailbox name."""
    out, buf = [], []

    def flush():
        if buf:
            data = "".join(buf).encode("utf-16-be")
            out.append("&" + base64.b64encode(data).decode().rstrip("=").replace("/", ",") + "-")
            buf.clear()
    for ch in name:
        if 0x20 <= ord(ch) <= 0x7e:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            buf.append(ch)
    flush()
    return "".join(out)


class World:
    pass


@pytest.fixture(scope="module")
def blob_root(service_root):
    return service_root / "blobs"


@pytest.fixture(scope="module")
def ctl(build_dir, make_config, service_root):
    """polderctl with the services' blob folder."""
    (service_root / "blobs").mkdir(exist_ok=True)
    config = make_config(f'[blob]\npath = "{service_root / "blobs"}"\n', name="export.toml")
    return Polderctl(build_dir / "services" / "admin" / "polderctl", config)


def dav_request(port, method, path, body=None, user=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    h = {"Authorization": "Basic " + base64.b64encode(f"{user}:{PASSWORD}".encode()).decode()}
    h.update(headers or {})
    conn.request(method, path, body=body.encode() if isinstance(body, str) else body, headers=h)
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, data


@pytest.fixture(scope="module")
def world(ctl, migrated, unique, start_service, tls_files):
    w = World()
    w.org, w.other_org = unique("exp"), unique("oth")
    w.domain, w.other_domain = f"{w.org}.test", f"{w.other_org}.test"
    ctl.ok("org", "add", w.org)
    ctl.ok("domain", "add", w.domain, "--org", w.org)
    ctl.ok("org", "add", w.other_org)
    ctl.ok("domain", "add", w.other_domain, "--org", w.other_org)
    w.alice, w.bob, w.carol = f"alice@{w.domain}", f"bob@{w.domain}", f"carol@{w.other_domain}"
    for user in (w.alice, w.bob, w.carol):
        ctl.ok("user", "add", user, "--password-stdin", "--name", "Naam, met komma", input=PASSWORD + "\n")
    ctl.ok("quota", "set", w.alice, "2G")
    ctl.ok("alias", "add", f"info@{w.domain}", w.alice)
    ctl.ok("group", "add", "Team", "--org", w.org, "--address", f"team@{w.domain}")
    ctl.ok("group", "member", "add", "Team", w.alice)
    ctl.ok("folder", "add", "Projecten", "--group", "Team", "--org", w.org)

    plain = {"auth": {"allow_plaintext_on_loopback": True}}
    smtp = start_service("smtp", settings={"smtp": {"hostname": "mx.export.test", "inbound_auth": "off",
                                                    "dns_resolver": "127.0.0.1:9"}})
    imap = start_service("imap")
    caldav = start_service("caldav", settings=plain)
    webdav = start_service("webdav", settings=plain)

    # Mail: one delivered over SMTP (with lines an mbox must quote), others appended.
    w.delivered_body = "Hallo,\r\nFrom the start this line needs quoting.\r\n>From and this one too.\r\n"
    with smtplib.SMTP("127.0.0.1", smtp.port("mx"), timeout=30) as s:
        s.sendmail("sender@afzender.example", [w.alice],
                   (f"From: Afzender <sender@afzender.example>\r\nTo: {w.alice}\r\nSubject: bezorgd\r\n"
                    f"Message-ID: <delivered@export.test>\r\n\r\n" + w.delivered_body).encode())
        s.sendmail("sender@afzender.example", [w.carol],
                   (f"From: x@afzender.example\r\nTo: {w.carol}\r\nSubject: CAROL-SECRET-MAIL\r\n\r\nCAROL-SECRET\r\n")
                   .encode())
    ctx = ssl.create_default_context(cafile=str(tls_files.ca_cert))
    c = imaplib.IMAP4_SSL("127.0.0.1", imap.port("imaps"), ssl_context=ctx, timeout=30)
    c.login(w.alice, PASSWORD)
    w.unicode_box = "Projecten/Überleg ✓"
    w.hostile_boxes = ["..", ".verborgen", "cur", "lijst.mbox", "dovecot-keywords"]
    for box in ["Projecten", "Veel", w.unicode_box, *w.hostile_boxes]:
        typ, data = c.create(f'"{mutf7(box)}"')
        assert typ == "OK", (box, data)
    date = imaplib.Time2Internaldate(INTERNALDATE)
    w.appended = {
        "INBOX": [(r"(\Seen \Flagged $Belangrijk)", b"From: a@example.org\r\nSubject: eerste\r\n\r\nFrom here.\r\n"),
                  (r"(\Deleted)", b"From: a@example.org\r\nSubject: weg\r\n\r\nweg\r\n"),
                  # over mailstore::max_inline_message (64 KiB): stored as a blob
                  (r"(\Seen)", b"From: a@example.org\r\nSubject: groot\r\n\r\n" + b"From the top, groot.\r\n" * 4000)],
        w.unicode_box: [(r"(\Answered \Draft $Label1)", "Subject: ünicode\r\n\r\nInhoud ✓\r\n".encode())],
        "..": [(r"(\Seen)", b"Subject: dots\r\n\r\ndots\r\n")],
        # more keywords than a Maildir has letters (26)
        "Veel": [("(" + " ".join(f"$k{i:02}" for i in range(1, 29)) + ")", b"Subject: veel\r\n\r\nveel\r\n")],
    }
    for box, items in w.appended.items():
        for flags, msg in items:
            typ, data = c.append(f'"{mutf7(box)}"', flags, date, msg)
            assert typ == "OK", data
    c.logout()

    # Calendars and contacts.
    cal = caldav.port("http")
    w.calendar_name = "werk"
    body = ('<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" '
            'xmlns:A="http://apple.com/ns/ical/"><D:set><D:prop><D:displayname>Werk, agenda; ✓</D:displayname>'
            "<C:calendar-description>Afspraken\nvan het werk</C:calendar-description>"
            "<A:calendar-color>#ff0000</A:calendar-color></D:prop></D:set></C:mkcalendar>")
    assert dav_request(cal, "MKCALENDAR", f"/dav/calendars/{w.alice}/werk/", body, w.alice)[0] == 201
    assert dav_request(cal, "MKCALENDAR", f"/dav/calendars/{w.alice}/.verborgen/", None, w.alice)[0] == 201
    # Objects are merged in name order: the first definition of a TZID keeps its name, so
    # the differing one (zz-other) is the one renamed.
    for name, data in (("standup.ics", RECURRING), ("single.ics", SINGLE), ("zz-other.ics", OTHER_ZONE)):
        status, text = dav_request(cal, "PUT", f"/dav/calendars/{w.alice}/werk/{name}", data, w.alice,
                            {"Content-Type": "text/calendar"})
        assert status == 201, text
    assert dav_request(cal, "PUT", f"/dav/calendars/{w.alice}/tasks/todo.ics", TODO, w.alice,
                {"Content-Type": "text/calendar"})[0] == 201
    assert dav_request(cal, "PUT", f"/dav/calendars/{w.alice}/.verborgen/s.ics", SINGLE, w.alice,
                {"Content-Type": "text/calendar"})[0] == 201
    assert dav_request(cal, "PUT", f"/dav/addressbooks/{w.alice}/contacts/jan.vcf", VCARD, w.alice,
                {"Content-Type": "text/vcard"})[0] == 201
    # carol's calendar, shared with nobody: must never show up in org A's export
    assert dav_request(cal, "PUT", f"/dav/calendars/{w.carol}/agenda/c.ics",
                SINGLE.replace("single@test", "CAROL-SECRET-UID"), w.carol, {"Content-Type": "text/calendar"})[0] == 201

    # Files: a version, a deleted file, a 1 MB binary, hostile names, a team folder file.
    dav = webdav.port("http")
    home = f"/dav/files/{w.alice}/"
    assert dav_request(dav, "MKCOL", home + "docs/", None, w.alice)[0] == 201
    w.v1, w.v2 = b"versie een\n", b"versie twee, langer\n"
    assert dav_request(dav, "PUT", home + "docs/rapport.txt", w.v1, w.alice)[0] == 201
    time.sleep(1.1)
    assert dav_request(dav, "PUT", home + "docs/rapport.txt", w.v2, w.alice)[0] == 204
    w.binary = os.urandom(1024 * 1024)
    assert dav_request(dav, "PUT", home + "groot.bin", w.binary, w.alice)[0] == 201
    w.gone = b"dit wordt verwijderd\n"
    assert dav_request(dav, "PUT", home + "weg.txt", w.gone, w.alice)[0] == 201
    assert dav_request(dav, "DELETE", home + "weg.txt", None, w.alice)[0] == 204
    assert dav_request(dav, "MKCOL", home + "oud/", None, w.alice)[0] == 201
    assert dav_request(dav, "PUT", home + "oud/a.txt", b"oud bestand\n", w.alice)[0] == 201
    assert dav_request(dav, "DELETE", home + "oud/", None, w.alice)[0] == 204
    w.hostile_files = {".verborgen.txt": b"hidden\n", "naam met spaties & ü.txt": b"spaties\n",
                       "%procent.txt": b"procent\n", "..dubbel": b"twee punten\n"}
    for name, data in w.hostile_files.items():
        quoted = name.replace("%", "%25").replace(" ", "%20").replace("&", "%26").replace("ü", "%C3%BC")
        assert dav_request(dav, "PUT", home + quoted, data, w.alice)[0] == 201, name
    w.long_name = "ü" * 120 + ".txt"   # 244 octets: allowed, but longer than an export segment may be
    assert dav_request(dav, "PUT", home + urllib.parse.quote(w.long_name), b"lange naam\n", w.alice)[0] == 201
    w.team_file = b"gedeeld met het team\n"
    assert dav_request(dav, "PUT", "/dav/teams/Projecten/plan.txt", w.team_file, w.alice)[0] == 201
    assert dav_request(dav, "PUT", f"/dav/files/{w.carol}/geheim.txt", b"CAROL-SECRET\n", w.carol)[0] == 201
    return w


def run_export(ctl, *args):
    r = ctl(*args, timeout=300)
    assert r.returncode == 0, r.stderr
    return r


def stored_messages(sql, address, mailbox_name):
    """uid -> (blob id, flags, internaldate, octets kept in the database or None)."""
    return {uid: (hexid, flags, date, raw) for uid, hexid, flags, date, raw in sql(
        "SELECT mm.uid, encode(m.blob_sha256, 'hex'), mm.flags, extract(epoch FROM mm.internaldate)::bigint, m.raw "
        "FROM mail.mailbox_messages mm JOIN mail.mailboxes mb ON mb.id = mm.mailbox_id "
        "JOIN mail.messages m ON m.id = mm.message_id JOIN directory.accounts a ON a.id = mb.account_id "
        "WHERE a.address = %s AND mb.name = %s", (address, mailbox_name))}


def blob(blob_root, hexid):
    return blob_path(blob_root, hexid).read_bytes()


MAILDIR_FLAG = {"\\Draft": "D", "\\Flagged": "F", "\\Answered": "R", "\\Seen": "S", "\\Deleted": "T"}


@pytest.fixture(scope="module")
def alice_export(world, ctl, tmp_path_factory):
    target = tmp_path_factory.mktemp("exports") / "alice"
    r = run_export(ctl, "export", "user", world.alice, "--to", target, "--mbox", "--json")
    return target, json.loads(r.stdout), r.stderr


def test_a_user_export_has_every_message_with_its_stored_bytes_flags_and_time(world, alice_export, sql, blob_root):
    target, summary, progress = alice_export
    base = target / world.alice
    assert "mail" in progress
    for box, folder in (("INBOX", "INBOX"), (world.unicode_box, "Projecten/Überleg ✓"), ("..", "%2E.")):
        md = mailbox.Maildir(base / "mail" / folder, factory=None, create=False)
        stored = stored_messages(sql, world.alice, box)
        keywords = {}
        kw_file = base / "mail" / folder / "dovecot-keywords"
        if kw_file.exists():
            for line in kw_file.read_text().splitlines():
                n, name = line.split(" ", 1)
                keywords[chr(ord("a") + int(n))] = name
        assert len(md) == len(stored) and len(stored) >= 1, (box, len(md), len(stored))
        for key in md.keys():
            msg = md.get_message(key)
            name = Path(md._toc[key]).name
            uid = int(name.split(".")[1])
            hexid, flags, date, raw = stored[uid]
            # A small APPENDed message is kept in PostgreSQL (schema 0109), the others in
            # the blob store: the export has the same bytes either way.
            assert md.get_bytes(key) == (bytes(raw) if raw is not None else blob(blob_root, hexid))
            system = "".join(sorted(MAILDIR_FLAG[f] for f in flags if f in MAILDIR_FLAG))
            letters = "".join(sorted(k for k, v in keywords.items() if v in flags))
            assert msg.get_flags() == "".join(sorted(system + letters)), (name, flags)
            assert name.startswith(f"{date}.{uid}.") and ".polder:2," in name
            assert int(os.stat(base / "mail" / folder / md._toc[key]).st_mtime) == date
    # INBOX holds both kinds: appended ones kept in the database (one too large for
    # that, in the blob store) and the delivered one in the blob store.
    kinds = {raw is None for _, _, _, raw in stored_messages(sql, world.alice, "INBOX").values()}
    assert kinds == {True, False}
    inbox_kw = (base / "mail" / "INBOX" / "dovecot-keywords").read_text()
    assert "$Belangrijk" in inbox_kw
    # the delivered one came through SMTP and is in INBOX too
    inbox = mailbox.Maildir(base / "mail" / "INBOX", factory=None, create=False)
    assert any(world.delivered_body.encode() in inbox.get_bytes(k) for k in inbox.keys())
    assert summary["mail"]["messages"] >= 5


def test_keywords_beyond_the_26_maildir_letters_are_listed_in_the_overflow_file(world, alice_export):
    target, _, _ = alice_export
    base = target / world.alice
    [name] = os.listdir(base / "mail" / "Veel" / "cur")
    lines = (base / "mail" / "Veel" / "dovecot-keywords").read_text().splitlines()
    assert lines == [f"{i} $k{i + 1:02}" for i in range(26)]
    assert name.endswith(":2," + "abcdefghijklmnopqrstuvwxyz")
    overflow = (base / "mail-keywords-overflow.tsv").read_text().splitlines()
    assert overflow == [f"mail/Veel/cur/{name}\t$k27", f"mail/Veel/cur/{name}\t$k28"]


def test_the_mbox_files_hold_the_same_messages_with_mboxrd_quoting(world, alice_export):
    target, _, _ = alice_export
    base = target / world.alice / "mail"
    for folder in ("INBOX", "Projecten/Überleg ✓"):
        md = mailbox.Maildir(base / folder, factory=None, create=False)
        expected = sorted(md.get_bytes(k) for k in md.keys())
        mb = mailbox.mbox(str(base / folder) + ".mbox", create=False)
        got = sorted(re.sub(rb"(?m)^>(>*From )", rb"\1", mb.get_bytes(k)) for k in mb.keys())
        assert got == expected, folder
    raw = (base / "INBOX.mbox").read_bytes()
    assert b"\n>From the start" in raw and b"\n>>From and this one" in raw and b"\n>From here." in raw


def run_in_pty(argv, env, timeout=60):
    """mutt needs a terminal: run it on a pseudo-terminal, bounded in time."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    output = b""
    deadline = time.monotonic() + timeout
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    output += os.read(master, 65536)
                except OSError:
                    break
        try:
            proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail("mutt did not finish: " + output[-2000:].decode(errors="replace"))
    finally:
        os.close(master)
    return proc.returncode, output.decode(errors="replace")


def test_mutt_reads_the_exported_maildir_with_its_flags(world, alice_export, tmp_path):
    target, _, _ = alice_export
    folder = target / world.alice / "mail" / "INBOX"
    rc_file = tmp_path / "muttrc"
    rc_file.write_text(f"set folder=\"{tmp_path}\"\nset quit=yes\nset wait_key=no\nset mail_check=0\n"
                       "set header_cache=\"\"\nset status_format=\"Msgs:%m Del:%d Flag:%F\"\n")
    env = dict(os.environ, HOME=str(tmp_path), TERM="xterm", COLUMNS="160", LINES="40")
    rc, out = run_in_pty(["mutt", "-n", "-F", str(rc_file), "-R", "-f", str(folder), "-e", "push '<quit>'"], env)
    assert rc == 0, out[-2000:]
    screen = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", " ", out)
    md = mailbox.Maildir(folder, factory=None, create=False)
    flags = [md.get_message(k).get_flags() for k in md.keys()]
    # mutt's status line counts what it read: every message, \Deleted (T) and \Flagged (F) ones.
    assert f"Msgs:{len(md)}" in screen, screen[-1500:]
    assert f"Del:{sum('T' in f for f in flags)}" in screen and f"Flag:{sum('F' in f for f in flags)}" in screen
    for subject in ("bezorgd", "eerste", "weg"):
        assert subject in screen


def test_calendars_become_one_icalendar_file_each_with_their_timezones_and_recurrences(world, alice_export):
    target, summary, _ = alice_export
    cal_dir = target / world.alice / "calendars"
    werk = icalendar.Calendar.from_ical((cal_dir / "werk.ics").read_bytes())
    assert str(werk["X-WR-CALNAME"]) == "Werk, agenda; ✓"
    assert str(werk["X-APPLE-CALENDAR-COLOR"]) == "#ff0000"
    assert str(werk["X-WR-CALDESC"]) == "Afspraken\nvan het werk"
    zones = [str(z["TZID"]) for z in werk.walk("VTIMEZONE")]
    assert len(zones) == len(set(zones)) == 2, zones   # one shared, one renamed
    assert "Europe/Amsterdam" in zones and "Europe/Amsterdam-2" in zones
    events = werk.walk("VEVENT")
    assert sorted({str(e["UID"]) for e in events}) == ["other-zone@test", "single@test", "weekly-standup@test"]
    standup = [e for e in events if str(e["UID"]) == "weekly-standup@test"]
    master = [e for e in standup if "RECURRENCE-ID" not in e]
    override = [e for e in standup if "RECURRENCE-ID" in e]
    assert len(master) == 1 and len(override) == 1
    assert master[0]["RRULE"]["FREQ"] == ["WEEKLY"] and master[0]["RRULE"]["COUNT"] == [10]
    assert str(master[0]["SUMMARY"]) == "Standup, wekelijks"
    assert override[0]["RECURRENCE-ID"].params["TZID"] == "Europe/Amsterdam"
    other = [e for e in events if str(e["UID"]) == "other-zone@test"][0]
    assert other["DTSTART"].params["TZID"] == "Europe/Amsterdam-2"
    # every TZID used is defined
    used = {str(p.params["TZID"]) for e in events for k in ("DTSTART", "DTEND", "RECURRENCE-ID") if k in e
            for p in [e[k]] if "TZID" in p.params}
    assert used <= set(zones)
    tasks = icalendar.Calendar.from_ical((cal_dir / "tasks.ics").read_bytes())
    assert [str(t["UID"]) for t in tasks.walk("VTODO")] == ["todo-1@test"]
    hidden = icalendar.Calendar.from_ical((cal_dir / "%2Everborgen.ics").read_bytes())
    assert [str(e["UID"]) for e in hidden.walk("VEVENT")] == ["single@test"]
    assert summary["calendars"]["objects"] >= 5


def test_address_books_become_vcard_files_parsed_by_vobject(world, alice_export):
    target, summary, _ = alice_export
    cards = list(vobject.readComponents((target / world.alice / "contacts" / "contacts.vcf").read_text()))
    assert [c.uid.value for c in cards] == ["card-1@test"]
    assert cards[0].fn.value == "Jan de Vries"
    assert summary["contacts"]["cards"] == 1


def sha(data):
    return hashlib.sha256(data).hexdigest()


def test_files_versions_and_trash_keep_their_bytes(world, alice_export):
    target, summary, _ = alice_export
    base = target / world.alice
    assert sha((base / "files" / "docs" / "rapport.txt").read_bytes()) == sha(world.v2)
    assert sha((base / "files" / "groot.bin").read_bytes()) == sha(world.binary)
    versions = list((base / "files-versions" / "docs").iterdir())
    assert len(versions) == 1 and versions[0].name.endswith("-rapport.txt")
    assert re.match(r"^\d{8}T\d{6}Z-rapport\.txt$", versions[0].name)
    assert versions[0].read_bytes() == world.v1
    trashed = list((base / "files-trash").glob("*/weg.txt"))
    assert len(trashed) == 1 and trashed[0].read_bytes() == world.gone
    folder = list((base / "files-trash").glob("*/oud/a.txt"))
    assert len(folder) == 1 and folder[0].read_bytes() == b"oud bestand\n"
    index = json.loads((base / "files-trash" / "index.json").read_text())
    assert [(e["original_path"], e["is_folder"]) for e in index] == [("weg.txt", False), ("oud", True)]
    assert all(e["deleted_by"] == world.alice for e in index)
    assert (base / index[1]["folder"] / "oud" / "a.txt").is_file()   # folder: relative to the account
    assert not (base / "files" / "weg.txt").exists() and not (base / "files" / "oud").exists()
    assert summary["files"]["versions"] == 1 and summary["files"]["trash_entries"] == 2


def test_hostile_names_are_mapped_reversibly_and_stay_inside_the_export(world, alice_export):
    target, _, _ = alice_export
    base = target / world.alice
    files = base / "files"
    assert (files / "%2Everborgen.txt").read_bytes() == b"hidden\n"
    assert (files / "naam met spaties & ü.txt").read_bytes() == b"spaties\n"
    assert (files / "%25procent.txt").read_bytes() == b"procent\n"
    assert (files / "%2E.dubbel").read_bytes() == b"twee punten\n"
    mail = base / "mail"
    for exported in ("%2E.", "%2Everborgen", "%63ur", "lijst%2Embox", "%64ovecot-keywords"):
        assert (mail / exported / "cur").is_dir(), exported
    root = target.resolve()
    for dirpath, dirnames, filenames in os.walk(target):
        for n in dirnames + filenames:
            p = Path(dirpath) / n
            assert not p.is_symlink()
            assert str(p.resolve()).startswith(str(root) + os.sep)
            assert not n.startswith(".") and n not in ("", ".", "..")


def test_a_name_too_long_for_the_export_is_shortened_and_listed_in_long_names_json(world, alice_export):
    target, _, _ = alice_export
    entries = json.loads((target / "long-names.json").read_text())
    [entry] = [e for e in entries if e["original"] == world.long_name]
    exported = target / entry["exported"]
    assert exported.read_bytes() == b"lange naam\n"
    assert len(exported.name.encode()) <= 200 and "%~" in exported.name
    assert exported.parent == target / world.alice / "files"


def test_the_manifest_lists_every_file_and_sha256sum_verifies_it(alice_export):
    target, summary, _ = alice_export
    r = subprocess.run(["sha256sum", "--strict", "-c", "MANIFEST.sha256"], cwd=target, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr
    listed = {line.split("  ", 1)[1] for line in (target / "MANIFEST.sha256").read_text().splitlines()}
    on_disk = {str(p.relative_to(target)) for p in target.rglob("*") if p.is_file()} - {"MANIFEST.sha256"}
    assert listed == on_disk
    assert not (target / "EXPORT-IN-PROGRESS").exists()
    assert summary["written"]["files"] == len(listed)
    assert oct(target.stat().st_mode & 0o777) == "0o700"


def test_account_json_describes_the_account(world, alice_export):
    target, _, _ = alice_export
    account = json.loads((target / world.alice / "account.json").read_text())
    assert account["address"] == world.alice and account["display_name"] == "Naam, met komma"
    assert account["aliases"] == [f"info@{world.domain}"]
    assert [g["name"] for g in account["groups"]] == ["Team"]
    assert account["quota_bytes"] == 2 * 1024 ** 3 and account["created_at"]


def test_only_limits_the_export_to_the_named_kinds(world, ctl, tmp_path):
    target = tmp_path / "only"
    r = run_export(ctl, "export", "user", world.alice, "--to", target, "--only", "contacts,files", "--json")
    base = target / world.alice
    assert (base / "contacts" / "contacts.vcf").is_file() and (base / "files" / "groot.bin").is_file()
    assert not (base / "mail").exists() and not (base / "calendars").exists()
    assert json.loads(r.stdout)["mail"]["messages"] == 0
    assert not list(target.rglob("*.mbox"))


@pytest.fixture(scope="module")
def org_export(world, ctl, tmp_path_factory):
    target = tmp_path_factory.mktemp("orgexport") / "org"
    r = run_export(ctl, "export", "org", world.org, "--to", target, "--json")
    return target, json.loads(r.stdout)


def test_an_organisation_export_holds_every_account_the_directory_and_the_team_folders(world, org_export):
    target, summary = org_export
    assert {p.name for p in target.iterdir()} == {world.alice, world.bob, "_team-folders", "directory.json",
                                                  "users.csv", "MANIFEST.sha256", "long-names.json"}
    assert (target / "_team-folders" / "Projecten" / "files" / "plan.txt").read_bytes() == world.team_file
    directory = json.loads((target / "directory.json").read_text())
    assert directory["org"]["name"] == world.org
    assert directory["domains"] == [world.domain]
    assert sorted(a["address"] for a in directory["accounts"]) == sorted([world.alice, world.bob])
    assert directory["aliases"] == [{"address": f"info@{world.domain}", "target": world.alice}]
    assert directory["groups"][0]["members"] == [world.alice]
    assert directory["team_folders"] == [{"name": "Projecten", "group": "Team"}]
    assert summary["accounts"] == 2 and summary["team_folders"] == 1
    r = subprocess.run(["sha256sum", "--strict", "-c", "MANIFEST.sha256"], cwd=target, capture_output=True, timeout=120)
    assert r.returncode == 0


def test_an_organisation_export_contains_nothing_of_another_organisation(world, org_export):
    target, _ = org_export
    for p in target.rglob("*"):
        assert world.other_domain not in p.name and world.other_org not in p.name
        if p.is_file():
            data = p.read_bytes()
            assert b"CAROL-SECRET" not in data, p
            assert world.other_domain.encode() not in data, p
            assert world.other_org.encode() not in data, p


def test_users_csv_reprovisions_the_accounts_in_another_installation(world, org_export, pg, build_dir, tmp_path):
    target, _ = org_export
    lines = (target / "users.csv").read_text().splitlines()
    assert lines[0] == "address,display_name,quota"
    assert f'{world.alice},"Naam, met komma",{2 * 1024 ** 3}' in lines
    name = new_database(pg, "export_reimport")
    try:
        other = Polderctl(build_dir / "services" / "admin" / "polderctl",
                          write_config(tmp_path / "other.toml", pg, name))
        other.ok("migrate")
        other.ok("org", "add", world.org)
        other.ok("domain", "add", world.domain, "--org", world.org)
        r = other.ok("user", "import", target / "users.csv", "--org", world.org, "--passwords-out", tmp_path / "pw.csv")
        assert "imported 2 user(s)" in r.stdout
        shown = json.loads(other.ok("user", "show", world.alice, "--json").stdout)
        assert shown["display_name"] == "Naam, met komma" and shown["quota_bytes"] == 2 * 1024 ** 3
    finally:
        drop_database(pg, name)


def test_shared_in_calendars_are_exported_only_with_their_owner(world, ctl, tmp_path):
    ctl.ok("calendar", "share", world.alice, "werk", "--with", world.bob, "--read")
    try:
        target = tmp_path / "bob"
        run_export(ctl, "export", "user", world.bob, "--to", target, "--only", "calendar")
        names = {p.name for p in (target / world.bob / "calendars").iterdir()} \
            if (target / world.bob / "calendars").exists() else set()
        assert "werk.ics" not in names
        for p in target.rglob("*.ics"):
            assert b"weekly-standup@test" not in p.read_bytes()
    finally:
        ctl.ok("calendar", "unshare", world.alice, "werk", "--with", world.bob)


def test_refusals_are_one_line_with_a_non_zero_exit(world, ctl, tmp_path, expect_failure, make_config, build_dir):
    expect_failure(ctl("export", "user", f"nobody@{world.domain}", "--to", tmp_path / "a"), 1, "unknown user")
    expect_failure(ctl("export", "org", "no-such-org", "--to", tmp_path / "b"), 1, "unknown organisation")
    expect_failure(ctl("export", "user", world.carol, "--org", world.org, "--to", tmp_path / "c"), 1, "unknown user")
    full = tmp_path / "full"
    full.mkdir()
    (full / "something").write_text("x")
    expect_failure(ctl("export", "user", world.alice, "--to", full), 1, "not empty")
    assert (full / "something").read_text() == "x"
    afile = tmp_path / "afile"
    afile.write_text("x")
    expect_failure(ctl("export", "user", world.alice, "--to", afile), 1, "not a folder")
    expect_failure(ctl("export", "user", world.alice, "--to", afile / "below"), 1, "Not a directory")
    expect_failure(ctl("export", "user", world.alice, "--to", tmp_path / "missing" / "deeper"), 1, "cannot create")
    # An unwritable place: sysfs refuses mkdir even to root.
    expect_failure(ctl("export", "user", world.alice, "--to", f"/sys/polder-export-{os.getpid()}"), 1,
                   "cannot create", "not permitted")
    readonly = tmp_path / "readonly"
    readonly.mkdir()
    readonly.chmod(0o500)
    if os.geteuid() != 0:   # root writes into a 0500 folder anyway
        expect_failure(ctl("export", "user", world.alice, "--to", readonly), 1, "cannot write into")
        assert not any(readonly.iterdir())
    expect_failure(ctl("export", "user", world.alice, "--to", tmp_path / "x", "--only", "mail,pictures"), 2, "--only")
    nowhere = PgServer("127.0.0.1", free_port(), "polder")
    down = write_config(tmp_path / "down.toml", nowhere, "polder")
    expect_failure(Polderctl(build_dir / "services" / "admin" / "polderctl", down)(
        "export", "user", world.alice, "--to", tmp_path / "y"), 69, "PostgreSQL")
    for p in ("a", "b", "c", "x", "y"):
        assert not (tmp_path / p).exists()


def test_an_export_that_fails_midway_removes_what_it_wrote(world, ctl, tmp_path, expect_failure, sql, blob_root):
    (hexid,) = sql("SELECT n.blob_id FROM files.nodes n JOIN files.homes h ON h.id = n.home_id "
                   "JOIN directory.accounts a ON a.id = h.account_id WHERE a.address = %s AND n.path = 'groot.bin'",
                   (world.alice,))[0]
    path = blob_path(blob_root, hexid)
    aside = path.with_name(hexid + ".aside")
    path.rename(aside)
    try:
        target = tmp_path / "broken"
        r = ctl("export", "user", world.alice, "--to", target)
        # progress lines first, then the one error line
        assert r.returncode == 1, r.stderr
        last = r.stderr.strip().splitlines()[-1]
        assert "cannot read blob" in last and hexid in last and "partial export was removed" in last, last
        assert all(line.startswith("polderctl: export: ") for line in r.stderr.strip().splitlines()[:-1])
        assert not target.exists()
        empty = tmp_path / "empty"
        empty.mkdir()
        r = ctl("export", "user", world.alice, "--to", empty)
        assert r.returncode == 1 and "cannot read blob" in r.stderr
        assert empty.is_dir() and not any(empty.iterdir())
    finally:
        aside.rename(path)
