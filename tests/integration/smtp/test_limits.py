# test_limits.py - polder-smtpd's limits and operational surface: the idle timeout ends a
# silent session with 421, the recipient limit, the per-IP connection limit answers 421,
# plaintext AUTH only where the operator allowed it (loopback development), and the
# Prometheus metrics count accepted and rejected mail.
# SECURITY: bounded sessions; credentials without TLS only when explicitly allowed.
# STANDARDS: RFC 5321 4.5.3.1.8 (recipients), 4.5.3.2 (timeouts), 3.8 (421); RFC 4954 4.

import smtplib
import socket
import urllib.request

from conftest import PASSWORD, Raw, message


def test_an_idle_session_ends_with_421_after_the_timeout(start_service, world):
    svc = start_service("smtp", settings={"smtp": {"idle_timeout_seconds": 1}})
    r = Raw(svc.port("mx"))
    try:
        assert r.reply()[0] == 220
        code, text = r.reply()          # nothing sent: the server gives up
        assert code == 421 and text[0].startswith("4.4.2")
        assert r.closed()
    finally:
        r.close()


def test_recipients_beyond_the_limit_are_refused(start_service, world):
    svc = start_service("smtp", settings={"smtp": {"max_recipients": 100}})
    with smtplib.SMTP("127.0.0.1", svc.port("mx"), timeout=20) as c:
        c.ehlo("client.test")
        c.mail("x@elders.example")
        codes = [c.rcpt(world.bob)[0] for _ in range(101)]
        assert set(codes[:100]) == {250}
        assert codes[100] == 452


def test_connections_over_the_per_ip_limit_get_421(start_service, world):
    svc = start_service("smtp", settings={"smtp": {"max_connections_per_ip": 2}})
    held = [socket.create_connection(("127.0.0.1", svc.port("mx")), timeout=10) for _ in range(2)]
    try:
        for s in held:
            assert s.recv(512).startswith(b"220 ")
        third = Raw(svc.port("mx"))
        code, text = third.reply()
        assert code == 421
        third.close()
    finally:
        for s in held:
            s.close()


def test_plaintext_auth_is_offered_on_loopback_only_when_allowed(start_service, world):
    svc = start_service("smtp", settings={"auth": {"allow_plaintext_on_loopback": True}})
    with smtplib.SMTP("127.0.0.1", svc.port("submission"), timeout=20) as c:
        c.ehlo("client.test")
        assert "auth" in c.esmtp_features and "starttls" in c.esmtp_features
        c.login(world.bob, PASSWORD)
        c.sendmail(world.bob, [world.alice], message("plain dev", world.bob, world.alice))


def test_metrics_count_accepted_and_rejected_mail(smtpd, world, raw):
    with smtplib.SMTP("127.0.0.1", smtpd.port("mx"), timeout=20) as c:
        c.sendmail("x@elders.example", [world.bob], message("metrics", "x@elders.example", world.bob))
    r = raw("mx")
    r.cmd("EHLO client.test")
    r.cmd("MAIL FROM:<x@elders.example>")
    assert r.cmd("RCPT TO:<victim@elsewhere.example>")[0] == 554
    with urllib.request.urlopen(f"http://127.0.0.1:{smtpd.admin_port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    values = {}
    for line in text.splitlines():
        if line.startswith("polder_smtp_"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    assert values['polder_smtp_messages_accepted_total{listener="mx"}'] >= 1
    assert values['polder_smtp_rejected_total{reason="relay_denied"}'] >= 1
    assert values["polder_smtp_delivered_total"] >= 1
    assert "polder_smtp_delivery_seconds_count" in values


def test_repeated_wrong_passwords_lock_the_account_with_454(start_service, polderctl, tls, world):
    frank = "frank@" + world.domain
    polderctl.ok("user", "add", frank, "--password-stdin", input=PASSWORD + "\n")
    svc = start_service("smtp", settings={"auth": {"max_failures_per_account": 2}})
    def attempt(secret):
        with smtplib.SMTP("127.0.0.1", svc.port("submission"), timeout=20) as c:
            c.starttls(context=tls)
            return _auth_code(c, frank, secret)
    codes = [attempt("wrong password")]
    while codes[-1] == 535 and len(codes) < 5:
        codes.append(attempt("wrong password"))
    assert codes[0] == 535 and codes[-1] == 454   # the foundation's throttle locked the account
    assert attempt(PASSWORD) == 454                 # locked: even the right password waits


def _auth_code(c, user, secret):
    try:
        c.login(user, secret)
        return 235
    except smtplib.SMTPAuthenticationError as e:
        return e.smtp_code


def test_a_message_that_does_not_fit_the_quota_gets_552_at_the_end_of_data(smtpd, polderctl, world, raw, inbox):
    erin = "erin@" + world.domain
    polderctl.ok("user", "add", erin, "--password-stdin", input=PASSWORD + "\n")
    polderctl.ok("quota", "set", erin, "1K")
    r = raw("mx")
    r.cmd("EHLO client.test")
    assert r.cmd("MAIL FROM:<x@elders.example>")[0] == 250   # no SIZE=: the RCPT check cannot know
    assert r.cmd(f"RCPT TO:<{erin}>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send(message("too big for quota", "x@elders.example", erin, body="z" * 4000 + "\r\n") + b".\r\n")
    code, text = r.reply()
    assert code == 552 and text[0].startswith("5.2.2")
    assert inbox(erin) == []
