# test_dsn_delivered.py - RFC 3461 NOTIFY=SUCCESS for LOCAL recipients: after the delivery
# commits, the envelope sender gets an RFC 3464 report with "Action: delivered" (or
# "expanded" for a group reaching several mailboxes) - into its INBOX when it is one of our
# accounts, or queued to it with the null reverse-path when it is remote (here: a loopback
# aiosmtpd reached through smtp.routes). No notice without NOTIFY=SUCCESS, none for <>.
# SECURITY: loopback only. STANDARDS: RFC 3461 (4.1, 4.3, 6.2), RFC 3464 (2.3.3), RFC 5321 4.5.5.

import smtplib
import time

import pytest

from conftest import PASSWORD, blob_bytes, message, wait_for
from smtp_peer import smtp_peer


@pytest.fixture(scope="module")
def remote():
    with smtp_peer() as peer:
        yield peer


@pytest.fixture(scope="module")
def svc(start_service, world, remote):
    return start_service("smtp", settings={"smtp": {"hostname": "mx.gemeente.example",
                                                    "routes": f"remote.example=127.0.0.1:{remote.port}",
                                                    "queue_retry_seconds": 1, "inbound_auth": "off",
                                                    "dns_resolver": "127.0.0.1:9"}})


def submit(service, tls, world, rcpt, subject, mail_options=(), rcpt_options=()):
    with smtplib.SMTP("127.0.0.1", service.port("submission"), timeout=20) as c:
        c.starttls(context=tls)
        c.login(world.alice, PASSWORD)
        c.sendmail(world.alice, [rcpt], message(subject, world.alice, rcpt), list(mail_options), list(rcpt_options))


def notices(service, inbox, address, before):
    return [blob_bytes(service, row[1]).decode() for row in inbox(address)[before:]]


def test_notify_success_for_a_local_recipient_reports_delivered_to_a_local_sender(svc, tls, world, inbox):
    before_alice, before_bob = len(inbox(world.alice)), len(inbox(world.bob))
    submit(svc, tls, world, world.bob, "local success", ["ENVID=env-7"],
           ["NOTIFY=SUCCESS", f"ORCPT=rfc822;{world.bob}"])
    assert len(inbox(world.bob)) == before_bob + 1
    dsn = wait_for(lambda: notices(svc, inbox, world.alice, before_alice), timeout=10, what="the notice")[0]
    assert "Subject: Successful Mail Delivery Report" in dsn
    assert "Content-Type: multipart/report; report-type=delivery-status" in dsn
    assert "Action: delivered" in dsn and "Status: 2.0.0" in dsn
    assert f"Final-Recipient: rfc822; {world.bob}" in dsn
    assert f"Original-Recipient: rfc822;{world.bob}" in dsn
    assert "Original-Envelope-Id: env-7" in dsn
    assert "Diagnostic-Code" not in dsn
    assert "Content-Type: text/rfc822-headers" in dsn and "Dit is een test." not in dsn


def test_a_group_recipient_is_reported_as_expanded(svc, tls, world, inbox):
    before = len(inbox(world.alice))
    submit(svc, tls, world, world.team, "group success", [], ["NOTIFY=SUCCESS"])
    dsns = wait_for(lambda: [d for d in notices(svc, inbox, world.alice, before) if "Action:" in d], timeout=10,
                    what="the notice")
    assert "Action: expanded" in dsns[0] and f"Final-Recipient: rfc822; {world.team}" in dsns[0]


def test_a_remote_sender_gets_the_notice_queued_with_the_null_reverse_path(svc, remote, world, inbox):
    before = len(inbox(world.bob))
    with smtplib.SMTP("127.0.0.1", svc.port("mx"), timeout=20) as c:
        c.sendmail("ann@remote.example", [world.bob], message("remote success", "ann@remote.example", world.bob),
                   [], ["NOTIFY=SUCCESS,FAILURE"])
    assert len(inbox(world.bob)) == before + 1
    got = wait_for(lambda: remote.received_for("ann@remote.example"), timeout=20, what="the queued notice")
    mail_from, rcpts, content = got[0].mail_from, got[0].rcpts, got[0].content
    assert mail_from == "<>" and rcpts == ["ann@remote.example"]   # RFC 3461 6.2: MAIL FROM:<>
    text = content.decode()
    assert "Action: delivered" in text and f"Final-Recipient: rfc822; {world.bob}" in text


def test_no_notice_without_notify_success_or_for_the_null_sender(svc, tls, world, inbox, remote):
    before = len(inbox(world.alice))
    submit(svc, tls, world, world.bob, "no success wanted", [], ["NOTIFY=FAILURE"])
    with smtplib.SMTP("127.0.0.1", svc.port("mx"), timeout=20) as c:
        c.sendmail("<>", [world.bob], message("null sender", "mailer-daemon@remote.example", world.bob),
                   [], ["NOTIFY=SUCCESS"])
    time.sleep(1.5)   # a notice is made before the 250; the queue would need about a second
    assert notices(svc, inbox, world.alice, before) == []
    assert not [m for m in remote.messages if b"null sender" in m.content]
