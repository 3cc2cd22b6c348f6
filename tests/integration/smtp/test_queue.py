# test_queue.py - the outbound queue against a real SMTP peer on loopback (Python aiosmtpd
# as the "remote" server of remote.example): delivery, 4xx then success on retry (the
# queue row survives in PostgreSQL in between), 5xx -> an RFC 3464 bounce in the sender's
# INBOX, and address literals refused at RCPT (MX delivery: test_mx.py).
# SECURITY: only authenticated users relay; the MX listener never does.
# STANDARDS: RFC 5321 4.5.4.1 (retries), RFC 3461/3464 (DSN), RFC 6522.

import json
import smtplib
import ssl
import urllib.request
import threading

import pytest

from conftest import PASSWORD, blob_bytes, message, wait_for
from smtp_peer import smtp_peer


class Refusals:
    """RCPT policy of the remote: ok@ accepts, perm@ refuses with 550, temp@ refuses once
    with 451, hold@ always refuses with 452."""

    def __init__(self):
        self.lock = threading.Lock()
        self.temp_refusals = 0

    def __call__(self, address):
        local = address.split("@")[0].lower()
        if local.startswith("perm"):
            return "550 5.1.1 No such user here"
        if local.startswith("hold"):
            return "452 4.2.2 Mailbox busy"
        if local.startswith("temp"):
            with self.lock:
                self.temp_refusals += 1
                if self.temp_refusals == 1:
                    return "451 4.3.0 Try again later"
        return None


@pytest.fixture(scope="module")
def remote():
    with smtp_peer(accept=Refusals(), reply="250 2.0.0 Queued remotely") as peer:
        yield peer


@pytest.fixture(scope="module")
def tls_remote(tls_files):
    """A next hop that requires STARTTLS before MAIL (aiosmtpd require_starttls)."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(tls_files.cert), str(tls_files.key))
    with smtp_peer(accept=Refusals(), reply="250 2.0.0 Queued remotely", tls_context=ctx,
                   require_starttls=True) as peer:
        yield peer


@pytest.fixture(scope="module")
def relay(start_service, world, remote, tls_remote):
    routes = f"remote.example=127.0.0.1:{remote.port}, tls.example=127.0.0.1:{tls_remote.port}"
    # dns_resolver: a closed loopback port, so an unrouted domain can never reach real DNS.
    return start_service("smtp", settings={"smtp": {"routes": routes, "queue_retry_seconds": 1,
                                                    "dns_resolver": "127.0.0.1:9"}})


def submit(service, tls, world, rcpt, subject):
    with smtplib.SMTP("127.0.0.1", service.port("submission"), timeout=20) as c:
        c.starttls(context=tls)
        c.login(world.alice, PASSWORD)
        data = message(subject, world.alice, rcpt)
        c.sendmail(world.alice, [rcpt], data)
    return data


def queued(sql, rcpt):
    return sql("SELECT attempts, last_error FROM mail.smtp_queue_rcpt WHERE recipient = %s", (rcpt,))


def test_mail_to_a_routed_domain_is_delivered_to_the_next_hop(relay, remote, tls, world, sql):
    data = submit(relay, tls, world, "ok@remote.example", "outbound ok")
    got = wait_for(lambda: remote.received_for("ok@remote.example"), timeout=20, what="remote delivery")
    mail_from, rcpts, content = got[0].mail_from, got[0].rcpts, got[0].content
    assert mail_from == world.alice and rcpts == ["ok@remote.example"]
    assert content.endswith(data)
    assert b"Received: from " in content and b"with ESMTPSA" in content
    assert remote.messages[-1].tls is False   # this next hop offers no STARTTLS: plain SMTP
    wait_for(lambda: not queued(sql, "ok@remote.example"), what="queue row removed")
    assert sql("SELECT count(*) FROM mail.smtp_queue")[0][0] == 0


def test_outbound_delivery_uses_starttls_when_the_next_hop_offers_it(relay, remote, tls_remote, tls, world):
    submit(relay, tls, world, "ok@tls.example", "outbound tls")
    wait_for(lambda: tls_remote.received_for("ok@tls.example"), timeout=20, what="delivery over TLS")
    assert [m.tls for m in tls_remote.messages] == [True]


def test_a_temporary_failure_is_retried_from_the_durable_queue(relay, remote, tls, world, sql):
    submit(relay, tls, world, "temp@remote.example", "outbound retry")
    rows = wait_for(lambda: [r for r in queued(sql, "temp@remote.example") if r[0] >= 1], timeout=20,
                    what="a deferred queue row")
    assert rows[0][1].startswith("451 4.3.0")
    wait_for(lambda: remote.received_for("temp@remote.example"), timeout=30, what="delivery on retry")
    wait_for(lambda: not queued(sql, "temp@remote.example"), what="queue row removed")


def test_a_permanent_failure_bounces_into_the_senders_inbox(relay, remote, tls, world, inbox):
    before = len(inbox(world.alice))
    submit(relay, tls, world, "perm@remote.example", "outbound bounce")
    rows = wait_for(lambda: len(inbox(world.alice)) > before and inbox(world.alice), timeout=20, what="bounce")
    dsn = blob_bytes(relay, rows[-1][1]).decode()
    assert "Content-Type: multipart/report; report-type=delivery-status" in dsn
    assert "Final-Recipient: rfc822; perm@remote.example" in dsn
    assert "Action: failed" in dsn and "Status: 5.1.1" in dsn
    assert "Diagnostic-Code: smtp; 550 5.1.1 No such user here" in dsn
    assert "Subject: outbound bounce" in dsn   # the original headers are returned
    assert not remote.received_for("perm@remote.example")


def test_an_address_literal_is_refused_at_rcpt(relay, tls, world):
    with smtplib.SMTP("127.0.0.1", relay.port("submission"), timeout=20) as c:
        c.starttls(context=tls)
        c.login(world.alice, PASSWORD)
        c.mail(world.alice)
        code, text = c.rcpt("someone@[127.0.0.1]")
        assert code == 550 and text.startswith(b"5.7.1")


def test_mx_never_relays_even_to_a_routed_domain(relay, world):
    with smtplib.SMTP("127.0.0.1", relay.port("mx"), timeout=20) as c:
        c.ehlo("client.test")
        c.mail("stranger@elders.example")
        code, _ = c.rcpt("ok@remote.example")
        assert code == 554


def test_polderctl_queue_lists_shows_retries_and_deletes(relay, tls, world, polderctl, sql):
    submit(relay, tls, world, "hold@remote.example", "outbound held")
    wait_for(lambda: [r for r in queued(sql, "hold@remote.example") if r[0] >= 1], timeout=20, what="a deferral")
    entries = [e for e in json.loads(polderctl.ok("queue", "list", "--json").stdout)
               if e["recipient"] == "hold@remote.example"]
    assert len(entries) == 1 and entries[0]["sender"] == world.alice
    assert entries[0]["last_error"].startswith("452 4.2.2") and entries[0]["attempts"] >= 1
    qid = entries[0]["id"]
    assert "hold@remote.example" in polderctl.ok("queue", "list").stdout
    shown = json.loads(polderctl.ok("queue", "show", str(qid), "--json").stdout)
    assert shown["account"] == world.alice and shown["recipients"][0]["recipient"] == "hold@remote.example"
    # the backoff pushed the next attempt into the future; retry makes it due now
    sql("UPDATE mail.smtp_queue_rcpt SET next_attempt_at = now() + interval '1 hour' WHERE queue_id = %s", (qid,))
    assert "1 recipient(s) due now" in polderctl.ok("queue", "retry", str(qid)).stdout
    attempts = queued(sql, "hold@remote.example")[0][0]
    wait_for(lambda: queued(sql, "hold@remote.example")[0][0] > attempts, timeout=20, what="another attempt")
    sql("UPDATE mail.smtp_queue_rcpt SET next_attempt_at = now() + interval '1 hour' WHERE queue_id = %s", (qid,))
    assert "recipient(s) due now" in polderctl.ok("queue", "flush").stdout
    assert "deleted queue id" in polderctl.ok("queue", "delete", str(qid)).stdout
    assert not queued(sql, "hold@remote.example")
    assert sql("SELECT count(*) FROM audit.events WHERE event = 'admin.queue.delete'")[0][0] == 1
    r = polderctl("queue", "show", str(qid))
    assert r.returncode == 1 and "unknown queue id" in r.stderr
    assert polderctl("queue", "delete", "abc").returncode == 2


def test_a_message_older_than_the_maximum_age_bounces_with_4_4_7(relay, remote, tls, world, inbox, sql):
    before = len(inbox(world.alice))
    submit(relay, tls, world, "hold-expiry@remote.example", "outbound expiry")
    wait_for(lambda: [r for r in queued(sql, "hold-expiry@remote.example") if r[0] >= 1], timeout=20,
             what="a deferral")
    # Age the message instead of waiting days (RFC 5321 4.5.4.1: give up after 4-5 days).
    sql("UPDATE mail.smtp_queue SET expires_at = now() - interval '1 second' WHERE id IN "
        "(SELECT queue_id FROM mail.smtp_queue_rcpt WHERE recipient = %s)", ("hold-expiry@remote.example",))
    sql("UPDATE mail.smtp_queue_rcpt SET next_attempt_at = now() WHERE recipient = %s",
        ("hold-expiry@remote.example",))
    wait_for(lambda: not queued(sql, "hold-expiry@remote.example"), timeout=20, what="the expired row removed")
    dsns = [blob_bytes(relay, row[1]).decode() for row in inbox(world.alice)[before:]]
    dsn = next(d for d in dsns if "Final-Recipient: rfc822; hold-expiry@remote.example" in d)
    assert "Status: 4.4.7" in dsn and "Action: failed" in dsn


def test_outbound_metrics_count_deliveries_deferrals_and_bounces(relay, remote, tls, world):
    submit(relay, tls, world, "ok-metrics@remote.example", "outbound metrics")
    wait_for(lambda: remote.received_for("ok-metrics@remote.example"), timeout=20, what="delivery")
    def values():
        with urllib.request.urlopen(f"http://127.0.0.1:{relay.admin_port}/metrics", timeout=5) as resp:
            text = resp.read().decode()
        return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
                for line in text.splitlines() if line.startswith("polder_smtp_")}
    v = wait_for(lambda: (lambda m: m if m.get("polder_smtp_outbound_delivered_total", 0) >= 1 else None)(values()),
                 what="outbound metrics")
    assert "polder_smtp_outbound_deferred_total" in v and "polder_smtp_outbound_bounced_total" in v
    assert "polder_smtp_queue_recipients" in v


def test_two_smtpd_processes_share_the_queue_and_deliver_each_message_once(relay, start_service, remote, tls_remote,
                                                                            tls, world, sql):
    routes = f"remote.example=127.0.0.1:{remote.port}, tls.example=127.0.0.1:{tls_remote.port}"
    second = start_service("smtp", settings={"smtp": {"routes": routes, "queue_retry_seconds": 1}})
    subjects = [f"shared-{i}" for i in range(12)]
    for i, subject in enumerate(subjects):
        submit(relay if i % 2 else second, tls, world, "ok-shared@remote.example", subject)
    wait_for(lambda: len(remote.received_for("ok-shared@remote.example")) >= len(subjects), timeout=30,
             what="all shared deliveries")
    wait_for(lambda: not queued(sql, "ok-shared@remote.example"), what="queue drained")
    got = [m.content for m in remote.received_for("ok-shared@remote.example")]
    for subject in subjects:
        assert sum(f"Subject: {subject}\r\n".encode() in data for data in got) == 1, subject
