# test_inbound_auth.py - SPF, DKIM and DMARC checks of mail arriving on the MX listener and
# the Authentication-Results: field they produce. The "remote" MTA is smtplib on 127.0.0.1;
# the sender domains' SPF, DKIM key and DMARC records come from the loopback DNS server
# (dns_zone.py) that polder-smtpd asks through smtp.dns_resolver. DKIM signatures are made
# here with Debian's python3-dkim and a fresh RSA key.
#   - SPF pass / fail / softfail / none (RFC 7208), null reverse-path checked as the HELO
#   - DKIM pass, a tampered body -> fail (RFC 6376)
#   - DMARC pass by SPF or by DKIM alignment, fail under p=none / quarantine / reject, in
#     "mark" (field only) and "enforce" (550 5.7.1 for reject, Junk for quarantine) modes;
#     SPF -all without DMARC is only marked, even in enforce (RFC 7489)
#   - a forged Authentication-Results naming our authserv-id is removed, others stay (RFC 8601 5)
#   - DNS server down -> temperror, message still accepted, within the configured deadline
#   - authenticated submission is not checked
# SECURITY: loopback only; the DNS zone never points anywhere but 127.0.0.1.
# STANDARDS: RFC 7208, RFC 6376, RFC 8301, RFC 7489, RFC 8601.

import base64
import re
import smtplib
import socket
import subprocess
import time

import dkim
import pytest

from conftest import PASSWORD, blob_bytes, message
from dns_zone import DnsZone

HOST = "mx.gemeente.example"


@pytest.fixture(scope="module")
def dkim_key(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dkim")
    key = folder / "key.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    der = subprocess.run(["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"], check=True,
                         capture_output=True).stdout
    return key.read_bytes(), base64.b64encode(der).decode()


@pytest.fixture(scope="module")
def zone(dkim_key):
    z = DnsZone().start()
    z.add("spf-pass.example", "TXT", "v=spf1 ip4:127.0.0.1 -all")
    z.add("spf-fail.example", "TXT", "v=spf1 ip4:192.0.2.1 -all")
    z.add("spf-soft.example", "TXT", "v=spf1 ip4:192.0.2.1 ~all")
    z.add("spf-none.example", "A", "192.0.2.7")          # exists, publishes no SPF
    z.add("helo.example", "TXT", "v=spf1 a -all")       # HELO identity for the null sender
    z.add("helo.example", "A", "127.0.0.1")
    z.add("signer.example", "A", "192.0.2.8")
    z.add("sel._domainkey.signer.example", "TXT", f"v=DKIM1; k=rsa; p={dkim_key[1]}")
    # DMARC: each domain's SPF fails from 127.0.0.1 unless it is the "aligned" one.
    for name, policy in (("dmarc-none", "none"), ("dmarc-quarantine", "quarantine"), ("dmarc-reject", "reject")):
        z.add(f"{name}.example", "TXT", "v=spf1 ip4:192.0.2.1 -all")
        z.add(f"_dmarc.{name}.example", "TXT", f"v=DMARC1; p={policy}")
    z.add("aligned.example", "TXT", "v=spf1 ip4:127.0.0.1 -all")
    z.add("_dmarc.aligned.example", "TXT", "v=DMARC1; p=reject")
    z.add("_dmarc.signer.example", "TXT", "v=DMARC1; p=reject; adkim=r")
    z.add("signer.example", "TXT", "v=spf1 ip4:192.0.2.1 -all")
    yield z
    z.stop()


def settings(zone_address, mode, timeout=10):
    return {"smtp": {"hostname": HOST, "dns_resolver": zone_address, "inbound_auth": mode,
                     "inbound_auth_timeout_seconds": timeout, "max_messages_per_hour": 1000}}


@pytest.fixture(scope="module")
def mark(start_service, world, zone):
    return start_service("smtp", settings=settings(zone.address, "mark"))


@pytest.fixture(scope="module")
def enforce(start_service, world, zone):
    return start_service("smtp", settings=settings(zone.address, "enforce"))


@pytest.fixture(scope="module")
def mailbox(sql):
    def rows(address, name="INBOX"):
        return sql("SELECT encode(m.blob_sha256, 'hex') FROM mail.mailbox_messages mm "
                   "JOIN mail.mailboxes mb ON mb.id = mm.mailbox_id "
                   "JOIN mail.messages m ON m.id = mm.message_id "
                   "JOIN directory.accounts a ON a.id = mb.account_id "
                   "WHERE a.address = %s AND mb.name = %s ORDER BY mm.uid", (address, name))
    return rows


def mx_send(service, mail_from, rcpt, data, helo="mta.sender.example"):
    """One transaction on the MX listener; returns the reply to the end of DATA."""
    with smtplib.SMTP("127.0.0.1", service.port("mx"), local_hostname=helo, timeout=60) as c:
        c.ehlo(helo)
        code, _ = c.mail(mail_from)
        assert code == 250
        code, _ = c.rcpt(rcpt)
        assert code == 250
        return c.data(data)


def stored_with(service, mailbox, address, subject, name="INBOX"):
    """The stored octets of the message with this subject in address's mailbox."""
    for hex_id in reversed([r[0] for r in mailbox(address, name)]):
        raw = blob_bytes(service, hex_id)
        if f"Subject: {subject}\r\n".encode() in raw:
            return raw
    return None


def auth_results(raw):
    """Every Authentication-Results field of the header, unfolded."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode()
    fields = re.split(r"\r\n(?![ \t])", head)
    return [re.sub(r"\r\n[ \t]+", " ", f) for f in fields if f.lower().startswith("authentication-results:")]


def ours(raw):
    fields = auth_results(raw)
    assert fields, raw[:600]
    assert fields[0].startswith(f"Authentication-Results: {HOST};"), fields[0]
    return fields[0]


def signed(data, key, domain=b"signer.example"):
    sig = dkim.sign(data, b"sel", domain, key, include_headers=[b"from", b"to", b"subject", b"message-id"])
    return sig + data


def test_spf_pass_is_reported_with_the_mail_from_domain(mark, world, mailbox):
    data = message("spf pass", "news@spf-pass.example", world.bob)
    code, _ = mx_send(mark, "news@spf-pass.example", world.bob, data)
    assert code == 250
    raw = stored_with(mark, mailbox, world.bob, "spf pass")
    field = ours(raw)
    assert "spf=pass smtp.mailfrom=spf-pass.example" in field
    assert "dkim=none" in field and "dmarc=none" in field
    # Return-Path: first, our verdict next, then Received: (RFC 8601 2: a trace field on top).
    head = raw.split(b"\r\n\r\n", 1)[0].decode()
    assert re.match(r"Return-Path: <news@spf-pass.example>\r\nAuthentication-Results: [^\r]*;\r\n(\t[^\r]*\r\n)+"
                    r"Received: from ", head), head[:400]
    assert raw.endswith(data)


@pytest.mark.parametrize("domain,expected", [("spf-fail.example", "fail"), ("spf-soft.example", "softfail"),
                                             ("spf-none.example", "none")])
def test_spf_fail_softfail_and_none_are_marked_and_delivered(mark, world, mailbox, domain, expected):
    subject = f"spf {expected}"
    code, _ = mx_send(mark, f"someone@{domain}", world.bob, message(subject, f"someone@{domain}", world.bob))
    assert code == 250
    field = ours(stored_with(mark, mailbox, world.bob, subject))
    assert f"spf={expected} smtp.mailfrom={domain}" in field


def test_null_reverse_path_is_checked_against_the_helo_name(mark, world, mailbox):
    code, _ = mx_send(mark, "<>", world.bob, message("bounce helo", "mailer-daemon@helo.example", world.bob),
                      helo="helo.example")
    assert code == 250
    field = ours(stored_with(mark, mailbox, world.bob, "bounce helo"))
    assert "spf=pass smtp.helo=helo.example" in field


def test_a_valid_dkim_signature_passes(mark, world, mailbox, dkim_key):
    data = signed(message("dkim good", "news@signer.example", world.bob), dkim_key[0])
    code, _ = mx_send(mark, "news@signer.example", world.bob, data)
    assert code == 250
    field = ours(stored_with(mark, mailbox, world.bob, "dkim good"))
    assert "dkim=pass header.d=signer.example" in field and "header.s=sel" in field
    # SPF fails (signer.example allows only 192.0.2.1) but DKIM aligns with From: DMARC passes.
    assert "spf=fail" in field and "dmarc=pass" in field


def test_a_tampered_body_fails_dkim(mark, world, mailbox, dkim_key):
    data = signed(message("dkim tampered", "news@signer.example", world.bob), dkim_key[0])
    data = data.replace(b"Dit is een test.", b"Dit is een TEST!")
    code, _ = mx_send(mark, "news@signer.example", world.bob, data)
    assert code == 250   # mark mode: delivered with the verdict
    field = ours(stored_with(mark, mailbox, world.bob, "dkim tampered"))
    assert "dkim=fail" in field and "header.d=signer.example" in field
    assert "dmarc=fail (p=reject dis=reject) header.from=signer.example" in field


def test_dmarc_passes_by_aligned_spf(enforce, world, mailbox):
    code, _ = mx_send(enforce, "news@aligned.example", world.bob, message("dmarc spf", "news@aligned.example", world.bob))
    assert code == 250
    field = ours(stored_with(enforce, mailbox, world.bob, "dmarc spf"))
    assert "spf=pass" in field and "dmarc=pass" in field and "header.from=aligned.example" in field


@pytest.mark.parametrize("policy", ["none", "quarantine", "reject"])
def test_mark_mode_only_marks_dmarc_failures(mark, world, mailbox, policy):
    domain = f"dmarc-{policy}.example"
    subject = f"mark {policy}"
    code, _ = mx_send(mark, f"ceo@{domain}", world.bob, message(subject, f"ceo@{domain}", world.bob))
    assert code == 250
    field = ours(stored_with(mark, mailbox, world.bob, subject))
    assert f"dmarc=fail (p={policy} dis={policy}) header.from={domain}" in field


def test_enforce_delivers_p_none_failures_to_the_inbox(enforce, world, mailbox):
    code, _ = mx_send(enforce, "ceo@dmarc-none.example", world.bob,
                      message("enforce none", "ceo@dmarc-none.example", world.bob))
    assert code == 250
    assert "dmarc=fail" in ours(stored_with(enforce, mailbox, world.bob, "enforce none"))


def test_enforce_files_p_quarantine_failures_in_junk(enforce, world, mailbox):
    code, _ = mx_send(enforce, "ceo@dmarc-quarantine.example", world.bob,
                      message("enforce quarantine", "ceo@dmarc-quarantine.example", world.bob))
    assert code == 250
    assert stored_with(enforce, mailbox, world.bob, "enforce quarantine") is None
    junk = stored_with(enforce, mailbox, world.bob, "enforce quarantine", name="Junk")
    assert junk is not None and "dis=quarantine" in ours(junk)


def test_enforce_refuses_p_reject_failures_with_550_5_7_1(enforce, world, mailbox):
    before = len(mailbox(world.bob)) + len(mailbox(world.bob, "Junk"))
    code, text = mx_send(enforce, "ceo@dmarc-reject.example", world.bob,
                         message("enforce reject", "ceo@dmarc-reject.example", world.bob))
    assert code == 550 and text.startswith(b"5.7.1") and b"DMARC" in text
    assert len(mailbox(world.bob)) + len(mailbox(world.bob, "Junk")) == before


def test_enforce_only_marks_spf_fail_without_a_dmarc_policy(enforce, world, mailbox):
    code, _ = mx_send(enforce, "x@spf-fail.example", world.bob, message("enforce spf", "x@spf-fail.example", world.bob))
    assert code == 250
    field = ours(stored_with(enforce, mailbox, world.bob, "enforce spf"))
    assert "spf=fail" in field and "dkim=none" in field and "dmarc=none" in field


def test_a_forged_authentication_results_with_our_id_is_removed(mark, world, mailbox):
    forged = (f"Authentication-Results: {HOST}; spf=pass smtp.mailfrom=bank.example;\r\n"
              f"\tdkim=pass header.d=bank.example\r\n"
              f"Authentication-Results: \"{HOST.upper()}\"; dmarc=pass\r\n"
              "Authentication-Results: other.example; spf=pass smtp.mailfrom=spf-fail.example\r\n").encode()
    data = forged + message("forged results", "x@spf-fail.example", world.bob)
    code, _ = mx_send(mark, "x@spf-fail.example", world.bob, data)
    assert code == 250
    raw = stored_with(mark, mailbox, world.bob, "forged results")
    fields = auth_results(raw)
    assert len(fields) == 2, fields                      # ours + the other server's
    assert fields[0].startswith(f"Authentication-Results: {HOST};") and "spf=fail" in fields[0]
    assert fields[1].startswith("Authentication-Results: other.example;")
    assert b"bank.example" not in raw


def test_authenticated_submission_is_not_checked(mark, world, mailbox, tls):
    with smtplib.SMTP("127.0.0.1", mark.port("submission"), timeout=20) as c:
        c.starttls(context=tls)
        c.login(world.alice, PASSWORD)
        c.sendmail(world.alice, [world.bob], message("submitted", world.alice, world.bob))
    raw = stored_with(mark, mailbox, world.bob, "submitted")
    assert raw is not None and auth_results(raw) == []


def test_dns_down_gives_temperror_and_the_message_is_still_accepted(start_service, world, mailbox):
    # A DNS server that takes queries and never answers: the deadline must end the checks.
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    try:
        svc = start_service("smtp", settings=settings(f"127.0.0.1:{silent.getsockname()[1]}", "mark", timeout=3))
        started = time.monotonic()
        code, _ = mx_send(svc, "ceo@dmarc-reject.example", world.bob,
                          message("dns down", "ceo@dmarc-reject.example", world.bob))
        elapsed = time.monotonic() - started
        assert code == 250
        assert elapsed < 15, elapsed
        field = ours(stored_with(svc, mailbox, world.bob, "dns down"))
        assert "spf=temperror" in field and "dmarc=temperror" in field
        assert svc.stop() == 0
    finally:
        silent.close()
