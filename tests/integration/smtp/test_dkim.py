# test_dkim.py - DKIM signing of outbound mail: `polderctl domain dkim generate|show` make
# and print the key record, the queue signs with the sender domain's active key, and the
# loopback "remote" (aiosmtpd) receives a message whose signature verifies with Debian's
# python3-dkim against exactly the TXT record polderctl printed; key rotation.
# SECURITY: the private key never appears in polderctl's output; loopback only.
# STANDARDS: RFC 6376, RFC 8301, RFC 5321 4.4 (no Return-Path: sent).

import json
import re
import smtplib

import dkim
import pytest

from conftest import PASSWORD, message, wait_for
from smtp_peer import smtp_peer


@pytest.fixture(scope="module")
def remote():
    with smtp_peer() as peer:
        yield peer


@pytest.fixture(scope="module")
def relay(start_service, world, remote):
    return start_service("smtp", settings={"smtp": {"routes": f"remote.example=127.0.0.1:{remote.port}",
                                                    "queue_retry_seconds": 1, "dns_resolver": "127.0.0.1:9"}})


def send(service, tls, world, rcpt, subject):
    with smtplib.SMTP("127.0.0.1", service.port("submission"), timeout=20) as c:
        c.starttls(context=tls)
        c.login(world.alice, PASSWORD)
        c.sendmail(world.alice, [rcpt], message(subject, world.alice, rcpt))


def published(record_line):
    """name and value of a zone-file TXT line as polderctl prints it."""
    m = re.match(r'^(\S+)\. 3600 IN TXT((?: "[^"]*")+)$', record_line.strip())
    assert m, record_line
    return m.group(1), "".join(re.findall(r'"([^"]*)"', m.group(2)))


def signature_tags(content):
    """The tags of the first header field (the DKIM-Signature), unfolded."""
    lines = content.split(b"\r\n\r\n")[0].split(b"\r\n")
    field = lines[0]
    for line in lines[1:]:
        if line[:1] not in (b" ", b"\t"):
            break
        field += line
    return dkim.util.parse_tag_value(field.split(b":", 1)[1].replace(b" ", b"").replace(b"\t", b""))


def verify(content, name, value):
    def dnsfunc(qname, timeout=5):
        q = qname.decode() if isinstance(qname, bytes) else qname
        return value.encode() if q.rstrip(".") == name else None
    return dkim.verify(content, dnsfunc=dnsfunc)


def test_outbound_mail_carries_an_rsa_signature_that_verifies(relay, remote, tls, world, polderctl):
    out = polderctl.ok("domain", "dkim", "generate", world.domain, "--selector", "rsa1").stdout
    assert "PRIVATE KEY" not in out
    name, value = published(out.strip().splitlines()[-1])
    assert name == f"rsa1._domainkey.{world.domain}"
    assert value.startswith("v=DKIM1; k=rsa; p=MII")
    assert published(polderctl.ok("domain", "dkim", "show", world.domain).stdout) == (name, value)

    send(relay, tls, world, "signed@remote.example", "dkim rsa")
    content = wait_for(lambda: remote.received_for("signed@remote.example"), timeout=20, what="delivery")[0].content
    assert content.startswith(b"DKIM-Signature: ")
    assert b"Return-Path:" not in content   # RFC 5321 4.4: added at final delivery only
    sig = signature_tags(content)
    assert sig[b"d"] == world.domain.encode() and sig[b"s"] == b"rsa1"
    assert sig[b"a"] == b"rsa-sha256" and sig[b"c"] == b"relaxed/relaxed"
    signed = sig[b"h"].lower().replace(b" ", b"").split(b":")
    for field in (b"from", b"to", b"subject", b"message-id"):
        assert field in signed
    assert signed.count(b"from") == 2   # over-signed: a second From: would break the signature
    assert verify(content, name, value)
    # A changed body no longer verifies (the test can fail).
    assert not verify(content.replace(b"Dit is een test.", b"Dit is geen test."), name, value)


def test_a_rotated_key_signs_from_then_on_and_the_old_one_stays_inactive(relay, remote, tls, world, polderctl,
                                                                          sql):
    out = polderctl.ok("domain", "dkim", "generate", world.domain, "--selector", "rsa2", "--bits", "3072").stdout
    name, value = published(out.strip().splitlines()[-1])
    shown = json.loads(polderctl.ok("domain", "dkim", "show", world.domain, "--json").stdout)
    assert shown["selector"] == "rsa2" and shown["algorithm"] == "rsa-sha256" and shown["value"] == value
    assert shown["name"] == name
    assert sql("SELECT selector, active FROM mail.dkim_keys ORDER BY id") == [("rsa1", False), ("rsa2", True)]
    assert sql("SELECT count(*) FROM audit.events WHERE event = 'admin.domain.dkim.generate'")[0][0] == 2

    send(relay, tls, world, "rotated@remote.example", "dkim rotated")
    content = wait_for(lambda: remote.received_for("rotated@remote.example"), timeout=20, what="delivery")[0].content
    assert signature_tags(content)[b"s"] == b"rsa2"
    assert verify(content, name, value)


def test_polderctl_dkim_refuses_bad_input(polderctl, world):
    assert polderctl("domain", "dkim", "generate", world.domain, "--selector", "rsa2").returncode == 1   # used
    assert polderctl("domain", "dkim", "generate", world.domain, "--bits", "1024").returncode == 2
    assert polderctl("domain", "dkim", "generate", world.domain, "--selector", "Bad_Sel").returncode == 2
    assert polderctl("domain", "dkim", "show", "unknown.example").returncode == 1
    polderctl.ok("domain", "add", "nokey.example", "--org", world.org)
    r = polderctl("domain", "dkim", "show", "nokey.example")
    assert r.returncode == 1 and "no DKIM key" in r.stderr
