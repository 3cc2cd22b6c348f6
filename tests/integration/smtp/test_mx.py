# test_mx.py - MX delivery of the outbound queue (RFC 5321 section 5.1) against a loopback
# DNS server (dns_zone.py, python3-dnslib) and a loopback SMTP peer (aiosmtpd): MX hosts
# tried in order of preference, the domain's own address when it has no MX, a null MX
# (RFC 7505) and a domain that does not exist bounce at once, MX hosts without addresses
# defer, an MX list that leads back to ourselves bounces (5.4.6). smtp.remote_mx_port points the MX hosts at the peer's port (an MX record has no port).
# Domains are under .example: libunbound answers .test and .invalid itself (NXDOMAIN, RFC 6761).
# SECURITY: loopback only - the DNS answers point at 127.0.0.1/127.0.0.2, never the internet.
# STANDARDS: RFC 5321 5.1, RFC 7505, RFC 3464 (the bounces), RFC 3463 (5.1.2, 5.1.10, 5.4.6).

import smtplib

import pytest

from conftest import PASSWORD, blob_bytes, message, wait_for
from dns_zone import DnsZone
from smtp_peer import smtp_peer


@pytest.fixture(scope="module")
def sink():
    with smtp_peer(reply="250 2.0.0 Accepted by the test MX") as peer:
        yield peer


@pytest.fixture(scope="module")
def zone(sink):
    z = DnsZone().start()
    z.add("mx.example", "MX", (10, "mx1.mx.example"))
    z.add("mx1.mx.example", "A", "127.0.0.1")
    # The preferred host refuses connections (nothing listens on 127.0.0.2), the next one works.
    z.add("pref.example", "MX", (20, "live.pref.example"))
    z.add("pref.example", "MX", (5, "dead.pref.example"))
    z.add("dead.pref.example", "A", "127.0.0.2")
    z.add("live.pref.example", "A", "127.0.0.1")
    z.add("implicit.example", "A", "127.0.0.1")
    z.add("nullmx.example", "MX", (0, "."))
    z.add("noaddress.example", "MX", (10, "ghost.noaddress.example"))
    # We (smtp.hostname) are the best MX of loop.example: a routing loop. For backup.example
    # we are only the backup; the primary takes the mail.
    z.add("loop.example", "MX", (10, "mx.gemeente.example"))
    z.add("backup.example", "MX", (20, "mx.gemeente.example"))
    z.add("backup.example", "MX", (5, "primary.backup.example"))
    z.add("mx.gemeente.example", "A", "127.0.0.2")
    z.add("primary.backup.example", "A", "127.0.0.1")
    yield z
    z.stop()


@pytest.fixture(scope="module")
def mx_relay(start_service, world, zone, sink):
    return start_service("smtp", settings={"smtp": {"dns_resolver": zone.address, "remote_mx_port": sink.port,
                                                    "queue_retry_seconds": 1, "hostname": "mx.gemeente.example"}})


def submit(service, tls, world, rcpt, subject):
    with smtplib.SMTP("127.0.0.1", service.port("submission"), timeout=20) as c:
        c.starttls(context=tls)
        c.login(world.alice, PASSWORD)
        data = message(subject, world.alice, rcpt)
        c.sendmail(world.alice, [rcpt], data)
    return data


def bounce_for(service, inbox, world, before, rcpt):
    def find():
        for row in inbox(world.alice)[before:]:
            text = blob_bytes(service, row[1]).decode()
            if f"Final-Recipient: rfc822; {rcpt}" in text:
                return text
        return None
    return wait_for(find, timeout=30, what=f"a bounce for {rcpt}")


def test_mail_to_a_foreign_domain_goes_to_its_mx_host(mx_relay, sink, zone, tls, world, sql):
    data = submit(mx_relay, tls, world, "someone@mx.example", "mx delivery")
    got = wait_for(lambda: sink.received_for("someone@mx.example"), timeout=30, what="delivery to the MX host")
    assert got[0].mail_from == world.alice and got[0].content.endswith(data)
    assert zone.asked("mx.example", "MX") and zone.asked("mx1.mx.example", "A")
    wait_for(lambda: not sql("SELECT 1 FROM mail.smtp_queue_rcpt WHERE recipient = 'someone@mx.example'"),
             what="queue row removed")


def test_mx_hosts_are_tried_in_order_of_preference_until_one_answers(mx_relay, sink, zone, tls, world):
    submit(mx_relay, tls, world, "pref@pref.example", "mx preference")
    wait_for(lambda: sink.received_for("pref@pref.example"), timeout=30, what="delivery to the second MX host")
    assert zone.asked("dead.pref.example", "A")   # the preferred host was tried first
    assert len(sink.received_for("pref@pref.example")) == 1


def test_a_domain_without_mx_records_receives_at_its_own_address(mx_relay, sink, zone, tls, world):
    submit(mx_relay, tls, world, "plain@implicit.example", "implicit mx")
    wait_for(lambda: sink.received_for("plain@implicit.example"), timeout=30, what="delivery to the domain's A")
    assert zone.asked("implicit.example", "MX") and zone.asked("implicit.example", "A")


def test_a_null_mx_bounces_at_once_with_5_1_10(mx_relay, sink, tls, world, inbox, sql):
    before = len(inbox(world.alice))
    submit(mx_relay, tls, world, "nobody@nullmx.example", "null mx")
    dsn = bounce_for(mx_relay, inbox, world, before, "nobody@nullmx.example")
    assert "Action: failed" in dsn and "Status: 5.1.10" in dsn
    assert "does not accept mail (null MX)" in dsn
    assert "Diagnostic-Code:" not in dsn   # our own verdict, not a remote server's reply
    assert not sql("SELECT 1 FROM mail.smtp_queue_rcpt WHERE recipient = 'nobody@nullmx.example'")
    assert not sink.received_for("nobody@nullmx.example")


def test_a_domain_that_does_not_exist_bounces_with_5_1_2(mx_relay, tls, world, inbox):
    before = len(inbox(world.alice))
    submit(mx_relay, tls, world, "someone@nxdomain.example", "no such domain")
    dsn = bounce_for(mx_relay, inbox, world, before, "someone@nxdomain.example")
    assert "Status: 5.1.2" in dsn and "nxdomain.example does not exist" in dsn


def test_mx_hosts_without_addresses_are_retried_not_bounced(mx_relay, tls, world, sql, zone, sink):
    submit(mx_relay, tls, world, "later@noaddress.example", "no address yet")
    rows = wait_for(lambda: sql("SELECT attempts, last_error FROM mail.smtp_queue_rcpt "
                                "WHERE recipient = 'later@noaddress.example' AND attempts >= 1"),
                    timeout=30, what="a deferral")
    assert "ghost.noaddress.example" in rows[0][1] or "no address" in rows[0][1]
    # The zone gets fixed: the next retry delivers.
    zone.add("ghost.noaddress.example", "A", "127.0.0.1")
    wait_for(lambda: sink.received_for("later@noaddress.example"), timeout=30, what="delivery after the fix")


def test_an_mx_list_that_leads_back_to_us_bounces_as_a_loop(mx_relay, sink, tls, world, inbox):
    before = len(inbox(world.alice))
    submit(mx_relay, tls, world, "someone@loop.example", "mx loop")
    dsn = bounce_for(mx_relay, inbox, world, before, "someone@loop.example")
    assert "Status: 5.4.6" in dsn and "loops back to myself" in dsn
    assert not sink.received_for("someone@loop.example")


def test_when_we_are_only_a_backup_mx_the_preferred_host_gets_the_mail(mx_relay, sink, tls, world):
    submit(mx_relay, tls, world, "someone@backup.example", "backup mx")
    wait_for(lambda: sink.received_for("someone@backup.example"), timeout=30, what="delivery to the primary")
