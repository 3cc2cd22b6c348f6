# test_imip.py - invitations to attendees outside the organisation go by mail (iMIP,
# RFC 6047): polder-caldavd queues them in polder-smtpd's outbound queue, polder-smtpd
# (running beside it, with a route to a loopback aiosmtpd sink) delivers them, and the
# received mail is a multipart message whose text/calendar part has method=REQUEST (and
# CANCEL when the organizer deletes the event), sent from the organizer's address.
#
# SECURITY: loopback only; the sink accepts mail for the test's partner domain only.
# STANDARDS: RFC 6047, RFC 6638 7.3 (SCHEDULE-STATUS 1.1), RFC 5546.
import email
import email.policy
import time

import pytest

from smtp_peer import smtp_peer  # tests/integration/smtp_peer.py


def wait_for(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def partner_only(address):
    """The sink is the partner's mail server: other domains are not its business."""
    return None if address.endswith("@partner.example") else "550 5.1.1 not here"


@pytest.fixture(scope="module")
def sink():
    with smtp_peer(accept=partner_only, reply="250 2.0.0 Accepted by the test sink") as peer:
        yield peer


@pytest.fixture(scope="module")
def relay(start_service, cal_org, sink):
    return start_service("smtp", settings={"smtp": {"routes": f"partner.example=127.0.0.1:{sink.port}",
                                                     "dns_resolver": "127.0.0.1:9"}})


def invitation(uid, organizer, attendee, summary="Afstemming met de partner"):
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Polder tests//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:{uid}\r\nDTSTAMP:20260201T000000Z\r\nDTSTART:20260402T090000Z\r\nDTEND:20260402T100000Z\r\n"
            f"SUMMARY:{summary}\r\nORGANIZER:mailto:{organizer}\r\n"
            f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{organizer}\r\n"
            f"ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:{attendee}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


def calendar_part(raw):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    for part in msg.walk():
        if part.get_content_type() == "text/calendar":
            return msg, part
    raise AssertionError("no text/calendar part:\n" + raw.decode(errors="replace")[:2000])


def test_an_external_attendee_gets_the_invitation_and_the_cancellation_by_mail(dav, cal_org, relay, sink):
    guest = "gast@partner.example"
    path = cal_org.cal(obj="imip-1.ics")
    assert dav("PUT", path, invitation("imip-1", cal_org.alice, guest))[0] == 201
    status, _, data = dav("GET", path)
    line = [x for x in data.decode().replace("\r\n ", "").splitlines() if x.endswith(guest)][0]
    assert "SCHEDULE-STATUS=1.1" in line
    got = wait_for(lambda: sink.received_for(guest), timeout=30, what="the iMIP invitation at the sink")
    mail_from, raw = got[0].mail_from, got[0].content
    assert mail_from == cal_org.alice
    msg, part = calendar_part(raw)
    assert msg["From"].addresses[0].addr_spec == cal_org.alice
    assert msg["To"].addresses[0].addr_spec == guest
    assert "Afstemming met de partner" in str(msg["Subject"])
    assert part.get_param("method").upper() == "REQUEST"
    text = part.get_content()
    assert "METHOD:REQUEST" in text and "UID:imip-1" in text and "SCHEDULE-STATUS" not in text

    assert dav("DELETE", path)[0] == 204
    got = wait_for(lambda: len(sink.received_for(guest)) >= 2, timeout=30, what="the iMIP cancellation")
    _, part = calendar_part(sink.received_for(guest)[1][2])
    assert part.get_param("method").upper() == "CANCEL"
    assert "METHOD:CANCEL" in part.get_content() and "UID:imip-1" in part.get_content()


def test_a_non_ascii_summary_is_encoded_in_the_subject(dav, cal_org, relay, sink):
    guest = "tweede@partner.example"
    assert dav("PUT", cal_org.cal(obj="imip-2.ics"),
               invitation("imip-2", cal_org.alice, guest, summary="Overleg café Ĳsselstein"))[0] == 201
    got = wait_for(lambda: sink.received_for(guest), timeout=30, what="the second invitation")
    raw = got[0].content
    header = raw.split(b"\r\n\r\n", 1)[0]
    assert all(b < 0x80 for b in header)   # 7-bit headers (RFC 2047 encoded words)
    msg, _ = calendar_part(raw)
    assert "Overleg café Ĳsselstein" in str(msg["Subject"])
