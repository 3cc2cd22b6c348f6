# test_conversation.py - polder-smtpd's conversation with real clients (Python smtplib,
# swaks, raw sockets): capabilities per listener, STARTTLS with a verified certificate,
# implicit TLS, AUTH PLAIN/LOGIN with passwords and app passwords, sequencing on
# submission, garbage commands, pipelining.
# SECURITY: checks that credentials are refused before TLS and that plaintext pipelined
# after STARTTLS is never executed. STANDARDS: RFC 5321, 3207, 4954, 6409, 8314, 2920.

import smtplib
import ssl

import pytest

from conftest import PASSWORD, message, swaks, swaks_transcript


def ehlo_keywords(client):
    code, _ = client.ehlo("client.test")
    assert code == 250
    return {k.upper(): v for k, v in client.esmtp_features.items()}


def test_mx_offers_esmtp_extensions_and_starttls_but_no_auth(smtpd):
    with smtplib.SMTP("127.0.0.1", smtpd.port("mx"), timeout=10) as c:
        caps = ehlo_keywords(c)
        for k in ("PIPELINING", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "STARTTLS", "CHUNKING", "DSN"):
            assert k in caps, caps
        assert caps["SIZE"] == str(64 * 1024)
        assert "AUTH" not in caps


def test_submission_offers_auth_only_after_starttls(smtpd, tls):
    with smtplib.SMTP("127.0.0.1", smtpd.port("submission"), timeout=10) as c:
        caps = ehlo_keywords(c)
        assert "STARTTLS" in caps and "AUTH" not in caps
        c.starttls(context=tls)
        caps = ehlo_keywords(c)
        assert "STARTTLS" not in caps
        assert set(caps["AUTH"].split()) == {"PLAIN", "LOGIN"}


def test_submissions_speaks_implicit_tls_with_the_configured_certificate(smtpd, tls, world):
    with smtplib.SMTP_SSL("127.0.0.1", smtpd.port("submissions"), context=tls, timeout=10) as c:
        caps = ehlo_keywords(c)
        assert "STARTTLS" not in caps and "AUTH" in caps
        assert c.sock.getpeercert()["subjectAltName"]
        c.login(world.alice, PASSWORD)


def test_starttls_refuses_a_client_that_does_not_trust_the_certificate(smtpd):
    with smtplib.SMTP("127.0.0.1", smtpd.port("mx"), timeout=10) as c:
        c.ehlo("client.test")
        with pytest.raises(ssl.SSLCertVerificationError):
            c.starttls(context=ssl.create_default_context())   # system CAs do not know the test CA


def test_auth_is_refused_before_tls_on_submission(smtpd, raw, world):
    r = raw("submission")
    assert r.cmd("EHLO client.test")[0] == 250
    code, text = r.cmd("AUTH PLAIN AGFsaWNlQGdlbWVlbnRlLmV4YW1wbGUAeA==")
    assert code == 538 and text[0].startswith("5.7.11")
    code, text = r.cmd(f"MAIL FROM:<{world.alice}>")
    assert code == 530 and text[0].startswith("5.7.0"), (code, text)


def test_auth_plain_and_login_succeed_with_the_account_password(smtpd, tls, world):
    for mechanism in ("PLAIN", "LOGIN"):
        with smtplib.SMTP("127.0.0.1", smtpd.port("submission"), timeout=10) as c:
            c.starttls(context=tls)
            c.ehlo("client.test")
            c.user, c.password = world.bob, PASSWORD
            code, text = c.auth(mechanism, getattr(c, "auth_" + mechanism.lower()), initial_response_ok=True)
            assert code == 235, text


def test_auth_succeeds_with_an_app_password(smtpd, tls, world):
    with smtplib.SMTP("127.0.0.1", smtpd.port("submission"), timeout=10) as c:
        c.starttls(context=tls)
        c.login(world.alice, world.app_password)


def test_a_wrong_password_gets_535_and_the_session_goes_on(smtpd, tls, world):
    with smtplib.SMTP("127.0.0.1", smtpd.port("submission"), timeout=10) as c:
        c.starttls(context=tls)
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            c.login(world.bob, "wrong password")
        assert e.value.smtp_code == 535
        assert c.noop()[0] == 250
        c.login(world.bob, PASSWORD)


def test_submission_requires_auth_before_mail(smtpd, tls, world):
    with smtplib.SMTP("127.0.0.1", smtpd.port("submission"), timeout=10) as c:
        c.starttls(context=tls)
        c.ehlo("client.test")
        code, text = c.mail(world.alice)
        assert code == 530, text


def test_swaks_submits_over_starttls_with_a_verified_certificate(smtpd, tls_files, world, inbox):
    before = len(inbox(world.bob))
    r = swaks_transcript("--server", f"127.0.0.1:{smtpd.port('submission')}", "--tls", "--tls-verify",
              "--tls-ca-path", str(tls_files.ca_cert), "--auth", "LOGIN", "--auth-user", world.alice,
              "--auth-password", PASSWORD, "--from", world.alice, "--to", world.bob,
              "--header", f"From: <{world.alice}>", "--header", "Subject: swaks submission")
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(inbox(world.bob)) == before + 1


def test_swaks_over_implicit_tls_with_auth_plain(smtpd, tls_files, world, inbox):
    before = len(inbox(world.bob))
    r = swaks("--server", f"127.0.0.1:{smtpd.port('submissions')}", "--tls-on-connect", "--tls-verify",
              "--tls-ca-path", str(tls_files.ca_cert), "--auth", "PLAIN", "--auth-user", world.alice,
              "--auth-password", world.app_password, "--from", world.alice, "--to", world.bob,
              "--header", f"From: <{world.alice}>", "--header", "Subject: swaks smtps")
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(inbox(world.bob)) == before + 1


def test_garbage_commands_get_500_or_501_and_the_session_continues(smtpd, raw):
    r = raw("mx")
    assert r.cmd("EHLO client.test")[0] == 250
    assert r.cmd("FROBNICATE now")[0] == 500
    assert r.cmd("MAIL FROM:not-an-address")[0] == 501
    assert r.cmd("MAIL FROM:<a@b.example> BOGUS=1")[0] == 555
    assert r.cmd("\x01\x02\x03")[0] == 500
    assert r.cmd("RCPT TO:<x@gemeente.example>")[0] == 503   # no MAIL yet
    assert r.cmd("A" * 3000)[0] == 500                        # over-long line
    assert r.cmd("NOOP")[0] == 250


def test_a_command_line_ending_in_bare_lf_is_refused(smtpd, raw):
    r = raw("mx")
    r.send("EHLO client.test\n")
    code, text = r.reply()
    assert code == 500 and text[0].startswith("5.5.2")
    assert r.cmd("EHLO client.test")[0] == 250


def test_too_many_errors_end_the_session_with_421(smtpd, raw):
    r = raw("mx")
    codes = []
    while len(codes) < 30 and 421 not in codes:
        codes.append(r.cmd("XYZZY")[0])
    assert codes[-1] == 421 and set(codes[:-1]) == {500}
    assert 10 <= len(codes) <= 25
    assert r.closed()


def test_http_spoken_to_the_smtp_port_closes_the_connection(smtpd, raw):
    r = raw("mx")
    code, _ = r.cmd("GET / HTTP/1.1")
    assert code >= 500 or code == 421
    assert r.closed()


def test_pipelined_commands_are_answered_in_order(smtpd, raw, world, inbox):
    before = len(inbox(world.bob))
    r = raw("mx")
    assert r.cmd("EHLO client.test")[0] == 250
    body = message("pipelined", "sender@elders.example", world.bob).decode()
    r.send(f"MAIL FROM:<sender@elders.example>\r\nRCPT TO:<{world.bob}>\r\n"
           f"RCPT TO:<nobody@{world.domain}>\r\nDATA\r\n")
    assert r.reply()[0] == 250
    assert r.reply()[0] == 250
    assert r.reply()[0] == 550
    assert r.reply()[0] == 354
    r.send(body + ".\r\nNOOP\r\n")
    assert r.reply()[0] == 250
    assert r.reply()[0] == 250
    assert len(inbox(world.bob)) == before + 1


def test_plaintext_pipelined_after_starttls_is_not_executed(smtpd, tls, raw):
    r = raw("mx")
    assert r.cmd("EHLO client.test")[0] == 250
    r.send("STARTTLS\r\nRSET\r\n")   # the RSET is injected plaintext
    assert r.reply()[0] == 220
    tls_sock = tls.wrap_socket(r.sock, server_hostname="localhost")
    tls_sock.sendall(b"NOOP\r\n")
    data = tls_sock.recv(4096)
    assert data.startswith(b"250 "), data   # exactly one reply: the NOOP's, no RSET reply before it
    tls_sock.close()


def test_swaks_pipelining_conversation(smtpd, world, inbox):
    before = len(inbox(world.alice))
    r = swaks_transcript("--server", f"127.0.0.1:{smtpd.port('mx')}", "--pipeline", "--from",
                         "someone@elders.example", "--to", world.sales, "--header", "Subject: swaks pipelined")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "PIPELINING" in r.stdout
    assert len(inbox(world.alice)) == before + 1
