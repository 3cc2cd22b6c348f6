# test_push_and_timeouts.py - IDLE is woken by a message that polder-smtpd delivers (a
# separate process: the push travels through PostgreSQL NOTIFY), and sessions idle for
# longer than the configured limit before login are logged out with BYE, and the
# configuration refuses an autologout under 30 minutes after login (RFC 9051 section 5.4).

import smtplib
import socket
import subprocess
import time

import pytest

from imap_helpers import Raw, message, tls_context


def test_idle_sees_mail_delivered_by_smtpd(start_service, imapd, raw, domain, new_user):
    user = new_user(domain)
    # No SPF/DKIM/DMARC lookups: this test is about the push, and must not ask a real DNS server.
    smtpd = start_service("smtp", settings={"smtp": {"hostname": "mx.test", "inbound_auth": "off"}})
    r = raw(user=user)
    r.cmd("SELECT INBOX")
    tag = r.send("IDLE")
    assert r.readline().startswith("+")
    r.sock.settimeout(15)
    with smtplib.SMTP("127.0.0.1", smtpd.port("mx"), timeout=30) as s:
        s.sendmail("someone@elsewhere.example", [user], message("Pushed by smtpd", to=user))
    sent = time.monotonic()
    line = r.readline()
    while not line.endswith("EXISTS"):
        line = r.readline()
    assert line == "* 1 EXISTS"
    assert time.monotonic() - sent < 10
    r.send_raw("DONE\r\n")
    assert r.until(tag)[-1].startswith(f"{tag} OK")
    fetched = r.cmd("FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert any("Pushed by smtpd" in l for l in fetched)


def test_sessions_idle_before_login_are_logged_out_after_the_configured_time(start_service, tls_files):
    svc = start_service("imap", settings={"imap": {"idle_timeout_seconds": 2}})
    sock = tls_context(tls_files).wrap_socket(
        socket.create_connection(("127.0.0.1", svc.port("imaps")), timeout=20), server_hostname="localhost")
    r = Raw(sock)
    assert r.readline().startswith("* OK")
    t0 = time.monotonic()
    line = r.readline()
    assert line.startswith("* BYE") and "utologout" in line
    assert 1.5 < time.monotonic() - t0 < 15
    with pytest.raises((EOFError, ConnectionError, OSError)):
        r.readline()


def test_an_autologout_under_thirty_minutes_after_login_is_refused_by_the_configuration(imapd, build_dir):
    # RFC 9051 5.4: the timer after authentication MUST be at least 30 minutes. The running
    # service's own configuration, with that key lowered, must not load.
    text = imapd.config.read_text().replace("[imap]\n", "[imap]\nidle_timeout_authenticated_seconds = 600\n", 1)
    bad = imapd.config.with_name("imap-short-autologout.toml")
    bad.write_text(text)
    r = subprocess.run([str(build_dir / "services" / "imap" / "polder-imapd"), "--config", str(bad)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 78, r.stdout + r.stderr
    assert "idle_timeout_authenticated_seconds" in r.stderr and "1800" in r.stderr
