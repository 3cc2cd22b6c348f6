# test_imip_inbound.py - iMIP arriving by mail (RFC 6047): polder-smtpd delivers a mail
# with a text/calendar part to a local account's INBOX and hands it to polder-caldavd
# (cal.itip_inbound), which applies it:
#   - an outside attendee's REPLY (answering an invitation polder sent by iMIP through the
#     relay to a loopback aiosmtpd sink) sets that attendee's PARTSTAT on the organizer's
#     event: new ETag and sync token, the mail still in the INBOX, the reply in the
#     organizer's schedule inbox;
#   - refused, event unchanged: a reply from another sender (From: or envelope), for an
#     unknown UID, for an event the recipient does not organise, from a sender whose
#     SPF/DMARC fails (inbound checks in "mark" mode against a loopback DNS zone);
#   - an outside organizer's REQUEST lands in the attendee's calendar with NEEDS-ACTION
#     and its CANCEL marks it cancelled; a REQUEST whose From: is not the ORGANIZER is
#     refused.
#
# SECURITY: loopback only (SMTP sink, DNS zone and both services on 127.0.0.1).
# STANDARDS: RFC 6047, RFC 5546 3.2.2/3.2.3/3.2.5, RFC 6638 3.2, RFC 7489, RFC 7208.
import email
import email.policy
import re
import smtplib
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from email.message import EmailMessage
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "smtp"))
from dns_zone import DnsZone  # noqa: E402
from smtp_peer import smtp_peer  # noqa: E402
from test_imip import calendar_part, wait_for  # noqa: E402

PARTNER = "partner.example"     # SPF pass, DMARC pass
FORGED = "forged.example"       # SPF fails from 127.0.0.1, DMARC p=none: fail, still delivered


@pytest.fixture(scope="module")
def zone():
    z = DnsZone().start()
    z.add(PARTNER, "TXT", "v=spf1 ip4:127.0.0.1 -all")
    z.add(f"_dmarc.{PARTNER}", "TXT", "v=DMARC1; p=none")
    z.add(FORGED, "TXT", "v=spf1 ip4:192.0.2.1 -all")
    z.add(f"_dmarc.{FORGED}", "TXT", "v=DMARC1; p=none")
    yield z
    z.stop()


def partner_or_forged(address):
    return None if address.endswith("@" + PARTNER) or address.endswith("@" + FORGED) else "550 5.1.1 not here"


@pytest.fixture(scope="module")
def sink():
    with smtp_peer(accept=partner_or_forged, reply="250 2.0.0 Accepted by the test sink") as peer:
        yield peer


@pytest.fixture(scope="module")
def relay(start_service, cal_org, sink, zone):
    return start_service("smtp", settings={"smtp": {
        "routes": f"{PARTNER}=127.0.0.1:{sink.port},{FORGED}=127.0.0.1:{sink.port}",
        "dns_resolver": zone.address, "inbound_auth": "mark", "inbound_auth_timeout_seconds": 10,
        "max_messages_per_hour": 1000}})


@pytest.fixture(scope="module")
def queue_empty(sql):
    def check():
        wait_for(lambda: sql("SELECT count(*) FROM cal.itip_inbound")[0][0] == 0, timeout=30,
                 what="polder-caldavd to take every queued iTIP message")
    return check


def event(uid, organizer, attendees, summary="Overleg", sequence=0, start="20260402T090000Z",
          end="20260402T100000Z", method=None, partstat=None, status=None):
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Polder tests//EN"]
    if method:
        lines.append(f"METHOD:{method}")
    lines += ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:" + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()),
              f"DTSTART:{start}", f"DTEND:{end}", f"SUMMARY:{summary}", f"SEQUENCE:{sequence}",
              f"ORGANIZER:mailto:{organizer}"]
    if status:
        lines.append(f"STATUS:{status}")
    for a in attendees:
        ps = (partstat or {}).get(a, "NEEDS-ACTION")
        lines.append(f"ATTENDEE;PARTSTAT={ps};RSVP=TRUE:mailto:{a}")
    lines += ["END:VEVENT", "END:VCALENDAR", ""]
    return "\r\n".join(lines)


def reply_text(uid, organizer, attendee, partstat="ACCEPTED", sequence=0, dtstamp=None):
    stamp = dtstamp or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Partner mail//EN\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\n"
            f"UID:{uid}\r\nDTSTAMP:{stamp}\r\nDTSTART:20260402T090000Z\r\nDTEND:20260402T100000Z\r\n"
            f"SEQUENCE:{sequence}\r\nORGANIZER:mailto:{organizer}\r\n"
            f"ATTENDEE;PARTSTAT={partstat}:mailto:{attendee}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


def itip_mail(sender, to, method, ics, subject=None):
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject or f"{method.title()}: {uuid.uuid4().hex[:8]}"
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@{sender.split('@', 1)[1]}>"
    msg.set_content("Answer attached.\n")
    msg.add_alternative(ics.encode(), maintype="text", subtype="calendar",
                        params={"method": method, "charset": "utf-8"})
    return msg.as_bytes(policy=email.policy.SMTP)


def mx_send(relay, envelope_from, rcpt, data):
    with smtplib.SMTP("127.0.0.1", relay.port("mx"), local_hostname="mta.sender.example", timeout=60) as c:
        c.ehlo("mta.sender.example")
        c.sendmail(envelope_from, [rcpt], data)


def get_event(dav, path, user=None):
    status, headers, data = dav("GET", path, user=user)
    assert status == 200, (status, data[:300])
    return headers.get("etag"), data.decode().replace("\r\n ", "")


def attendee_line(text, address):
    lines = [x for x in text.splitlines() if x.startswith("ATTENDEE") and x.lower().endswith(address.lower())]
    assert lines, f"{address} not an attendee in:\n{text}"
    return lines[0]


def sync_token(dav, path):
    body = ('<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:sync-token/></D:prop></D:propfind>')
    status, _, data = dav("PROPFIND", path, body, {"Depth": "0", "Content-Type": "application/xml"})
    assert status == 207
    return ET.fromstring(data).find(".//{DAV:}sync-token").text


def inbox_subjects(sql, address):
    rows = sql("SELECT m.subject FROM mail.mailbox_messages mm JOIN mail.mailboxes mb ON mb.id = mm.mailbox_id "
               "JOIN mail.messages m ON m.id = mm.message_id JOIN directory.accounts a ON a.id = mb.account_id "
               "WHERE a.address = %s AND mb.name = 'INBOX'", (address,))
    return [r[0] for r in rows]


def refusals(caldav, reason):
    """How many times polder-caldavd logged refusing an iTIP message for this reason."""
    pattern = re.compile(r"itip_inbound_refused.*result[=\": ]+" + re.escape(reason))
    return len([line for line in caldav.log().splitlines() if pattern.search(line)])


def invite(dav, cal_org, sink, guest, uid):
    path = cal_org.cal(obj=f"{uid}.ics")
    assert dav("PUT", path, event(uid, cal_org.alice, [cal_org.alice, guest],
                                  partstat={cal_org.alice: "ACCEPTED"}))[0] == 201
    got = wait_for(lambda: [m for m in sink.received_for(guest) if f"UID:{uid}".encode() in
                            calendar_part(m[2])[1].get_content().encode()],
                   timeout=30, what="the iMIP invitation at the sink")
    _, part = calendar_part(got[0][2])
    assert part.get_param("method").upper() == "REQUEST"
    return path


def test_an_outside_attendees_reply_by_mail_updates_the_organizers_event(dav, cal_org, caldav, relay, sink, sql,
                                                                        queue_empty):
    guest = f"gast@{PARTNER}"
    uid = "inbound-accept-" + uuid.uuid4().hex[:8]
    path = invite(dav, cal_org, sink, guest, uid)
    etag, text = get_event(dav, path)
    assert "PARTSTAT=NEEDS-ACTION" in attendee_line(text, guest)
    token = sync_token(dav, cal_org.cal())

    subject = "Accepted: Overleg " + uid
    mx_send(relay, guest, cal_org.alice, itip_mail(guest, cal_org.alice, "REPLY",
                                                   reply_text(uid, cal_org.alice, guest), subject=subject))

    def accepted():
        new_etag, new_text = get_event(dav, path)
        return "PARTSTAT=ACCEPTED" in attendee_line(new_text, guest) and (new_etag, new_text)
    new_etag, new_text = wait_for(accepted, timeout=30, what="the attendee's PARTSTAT on the organizer's copy")
    assert new_etag != etag
    assert sync_token(dav, cal_org.cal()) != token
    assert "PARTSTAT=ACCEPTED" in attendee_line(new_text, cal_org.alice)   # nobody else changed
    assert "SUMMARY:Overleg" in new_text and "DTSTART:20260402T090000Z" in new_text
    queue_empty()
    # The mail itself is delivered as any other, and the reply is in the schedule inbox.
    assert subject in inbox_subjects(sql, cal_org.alice)
    status, _, data = dav("PROPFIND", cal_org.cal(name="inbox"), None, {"Depth": "1"})
    assert status == 207
    hrefs = [h.text for h in ET.fromstring(data).iter("{DAV:}href") if h.text.endswith(".ics")]
    assert any(f"UID:{uid}" in dav("GET", h)[2].decode() for h in hrefs)

    # A later reply changes the answer again; an older one that arrives late does not.
    mx_send(relay, guest, cal_org.alice, itip_mail(guest, cal_org.alice, "REPLY",
                                                   reply_text(uid, cal_org.alice, guest, "TENTATIVE",
                                                              dtstamp="20990101T000000Z")))
    wait_for(lambda: "PARTSTAT=TENTATIVE" in attendee_line(get_event(dav, path)[1], guest), timeout=30,
             what="the newer answer")
    before = refusals(caldav, "outdated")
    mx_send(relay, guest, cal_org.alice, itip_mail(guest, cal_org.alice, "REPLY",
                                                   reply_text(uid, cal_org.alice, guest, "DECLINED",
                                                              dtstamp="20260101T000000Z")))
    wait_for(lambda: refusals(caldav, "outdated") > before, timeout=30, what="the outdated reply to be refused")
    assert "PARTSTAT=TENTATIVE" in attendee_line(get_event(dav, path)[1], guest)


def test_replies_from_the_wrong_sender_or_for_the_wrong_event_change_nothing(dav, cal_org, caldav, relay, sink,
                                                                             queue_empty):
    guest = f"gast2@{PARTNER}"
    uid = "inbound-refuse-" + uuid.uuid4().hex[:8]
    path = invite(dav, cal_org, sink, guest, uid)
    etag, _ = get_event(dav, path)

    cases = [
        # Another outside address answering for the guest.
        ("sender_mismatch", f"someone@{PARTNER}", f"someone@{PARTNER}", reply_text(uid, cal_org.alice, guest)),
        # The right From: but another envelope sender.
        ("sender_mismatch", f"bounce@{PARTNER}", guest, reply_text(uid, cal_org.alice, guest)),
        # A UID the organizer never used.
        ("unknown_uid", guest, guest, reply_text("no-such-" + uid, cal_org.alice, guest)),
    ]
    for reason, envelope_from, header_from, ics in cases:
        before = refusals(caldav, reason)
        mx_send(relay, envelope_from, cal_org.alice, itip_mail(header_from, cal_org.alice, "REPLY", ics))
        wait_for(lambda: refusals(caldav, reason) > before, timeout=30, what=f"a refusal ({reason})")
    queue_empty()
    new_etag, text = get_event(dav, path)
    assert new_etag == etag
    assert "PARTSTAT=NEEDS-ACTION" in attendee_line(text, guest)

    # An event alice attends but does not organise: the guest cannot change it through her.
    other = "inbound-notmine-" + uuid.uuid4().hex[:8]
    theirs = cal_org.cal(obj=f"{other}.ics")
    assert dav("PUT", theirs, event(other, f"boss@{PARTNER}", [cal_org.alice, guest]))[0] == 201
    etag2, _ = get_event(dav, theirs)
    before = refusals(caldav, "not_organizer")
    mx_send(relay, guest, cal_org.alice, itip_mail(guest, cal_org.alice, "REPLY",
                                                   reply_text(other, f"boss@{PARTNER}", guest)))
    wait_for(lambda: refusals(caldav, "not_organizer") > before, timeout=30, what="the not_organizer refusal")
    new_etag2, text2 = get_event(dav, theirs)
    assert new_etag2 == etag2 and "PARTSTAT=NEEDS-ACTION" in attendee_line(text2, guest)


def test_a_reply_whose_sender_fails_spf_and_dmarc_is_not_applied(dav, cal_org, caldav, relay, sink, sql,
                                                                queue_empty):
    guest = f"gast@{FORGED}"
    uid = "inbound-dmarc-" + uuid.uuid4().hex[:8]
    path = invite(dav, cal_org, sink, guest, uid)
    etag, _ = get_event(dav, path)
    before = refusals(caldav, "dmarc_fail")
    subject = "Accepted (forged) " + uid
    mx_send(relay, guest, cal_org.alice, itip_mail(guest, cal_org.alice, "REPLY",
                                                   reply_text(uid, cal_org.alice, guest), subject=subject))
    wait_for(lambda: refusals(caldav, "dmarc_fail") > before, timeout=30, what="the DMARC refusal")
    queue_empty()
    new_etag, text = get_event(dav, path)
    assert new_etag == etag and "PARTSTAT=NEEDS-ACTION" in attendee_line(text, guest)
    assert subject in inbox_subjects(sql, cal_org.alice)   # "mark" mode still delivers the mail


def test_an_outside_organizers_request_and_cancel_by_mail_reach_the_attendees_calendar(dav, cal_org, caldav,
                                                                                       relay, queue_empty):
    boss = f"boss@{PARTNER}"
    uid = "inbound-request-" + uuid.uuid4().hex[:8]
    ics = event(uid, boss, [boss, cal_org.bob], method="REQUEST", partstat={boss: "ACCEPTED"})
    mx_send(relay, boss, cal_org.bob, itip_mail(boss, cal_org.bob, "REQUEST", ics))
    path = cal_org.cal(who=cal_org.bob, obj=f"{uid}.ics")

    def stored():
        status, _, data = dav("GET", path, user=cal_org.bob)
        return status == 200 and data.decode().replace("\r\n ", "")
    text = wait_for(stored, timeout=30, what="the invitation in bob's calendar")
    assert "METHOD" not in text
    assert "PARTSTAT=NEEDS-ACTION" in attendee_line(text, cal_org.bob)

    # Someone else cannot cancel it, not even with the organizer in the event.
    before = refusals(caldav, "sender_mismatch")
    cancel = event(uid, boss, [boss, cal_org.bob], method="CANCEL", sequence=1, status="CANCELLED")
    mx_send(relay, f"mallory@{PARTNER}", cal_org.bob, itip_mail(f"mallory@{PARTNER}", cal_org.bob, "CANCEL", cancel))
    wait_for(lambda: refusals(caldav, "sender_mismatch") > before, timeout=30, what="the forged cancel's refusal")
    assert "STATUS:CANCELLED" not in stored()

    mx_send(relay, boss, cal_org.bob, itip_mail(boss, cal_org.bob, "CANCEL", cancel))
    wait_for(lambda: "STATUS:CANCELLED" in stored(), timeout=30, what="the cancellation")
    queue_empty()
