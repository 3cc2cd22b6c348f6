# test_sender_policy.py - what an authenticated submission client may send: only its own
# addresses and aliases in MAIL FROM and From:, within its hourly message rate; relaying
# for authenticated users is refused while the outbound queue does not exist.
# SECURITY: anti-spoofing and abuse limits of the MSA. STANDARDS: RFC 6409 section 8,
# RFC 5321 section 3.6, RFC 3463 (5.7.1, 4.7.1).

import smtplib

import pytest

from conftest import PASSWORD, message


def submit(smtpd, tls, user, secret):
    c = smtplib.SMTP("127.0.0.1", smtpd.port("submission"), timeout=10)
    c.starttls(context=tls)
    c.login(user, secret)
    return c


def test_mail_from_another_users_address_is_refused(smtpd, tls, world, inbox):
    with submit(smtpd, tls, world.bob, PASSWORD) as c:
        c.ehlo("client.test")
        code, text = c.mail(world.alice)
        assert code == 553 and text.startswith(b"5.7.1")
        code, _ = c.mail("BOB@" + world.domain.upper())   # any spelling of its own address is fine
        assert code == 250
        c.rset()
        code, _ = c.mail("bob+lists@" + world.domain)
        assert code == 250


def test_mail_from_an_own_alias_is_accepted(smtpd, tls, world):
    with submit(smtpd, tls, world.alice, PASSWORD) as c:
        c.ehlo("client.test")
        assert c.mail(world.sales)[0] == 250


def test_a_spoofed_from_header_is_refused_and_nothing_delivered(smtpd, tls, world, inbox):
    before = len(inbox(world.alice))
    with submit(smtpd, tls, world.bob, PASSWORD) as c:
        with pytest.raises(smtplib.SMTPDataError) as e:
            c.sendmail(world.bob, [world.alice], message("spoof", "burgemeester@" + world.domain, world.alice))
        assert e.value.smtp_code == 550 and e.value.smtp_error.startswith(b"5.7.1")
    assert len(inbox(world.alice)) == before


def test_an_authenticated_user_may_relay_to_any_domain_but_not_to_address_literals(smtpd, tls, world):
    # Foreign domains are queued for MX delivery (test_mx.py delivers them); the
    # transaction is reset here, so nothing is queued.
    with submit(smtpd, tls, world.bob, PASSWORD) as c:
        c.ehlo("client.test")
        assert c.mail(world.bob)[0] == 250
        assert c.rcpt("someone@elsewhere.example")[0] == 250
        code, text = c.rcpt("someone@[192.0.2.1]")
        assert code == 550 and text.startswith(b"5.7.1")
        assert c.rset()[0] == 250


def test_the_hourly_rate_limit_refuses_with_450(start_service, polderctl, tls, world):
    dave = "dave@" + world.domain   # a fresh account: its window is empty
    polderctl.ok("user", "add", dave, "--password-stdin", input=PASSWORD + "\n")
    limited = start_service("smtp", settings={"smtp": {"max_messages_per_hour": 2}})
    with submit(limited, tls, dave, PASSWORD) as c:
        for _ in range(2):
            c.sendmail(dave, [world.alice], message("rate", dave, world.alice))
        c.ehlo("client.test")
        code, text = c.mail(dave)
        assert code == 450 and text.startswith(b"4.7.1")
