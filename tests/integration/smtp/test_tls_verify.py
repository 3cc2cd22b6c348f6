# test_tls_verify.py - certificate verification of outbound TLS. The smarthost's
# certificate must chain to a trusted CA (smtp.tls_ca_file: here the test CA) and name the
# smarthost (smtp.smarthost_tls_verify, default true): a certificate for another name, or
# from a CA we do not trust, defers the mail with the reason shown by `polderctl queue
# show`; the right certificate delivers. A smarthost without STARTTLS defers too. MX hosts
# stay opportunistic (RFC 7435) unless smtp.mx_tls_verify is set.
# Peers: aiosmtpd with STARTTLS and certificates made here by the test CA (openssl).
# SECURITY: loopback only; throwaway keys. STANDARDS: RFC 3207, RFC 6125, RFC 7435.

import json
import smtplib
import ssl
import subprocess

import pytest

from conftest import PASSWORD, message, wait_for
from dns_zone import DnsZone
from smtp_peer import start_peer


def issue(tls_files, folder, name, san):
    """A server certificate for `san`, signed by the session's test CA."""
    ca = tls_files.ca_cert.parent
    key, csr, crt, ext = (folder / f"{name}.{x}" for x in ("key", "csr", "crt", "cnf"))
    subprocess.run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={name}"], check=True, capture_output=True)
    ext.write_text(f"subjectAltName={san}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n")
    subprocess.run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca / "ca.crt"), "-CAkey", str(ca / "ca.key"),
                    "-CAcreateserial", "-out", str(crt), "-days", "2", "-extfile", str(ext)],
                   check=True, capture_output=True)
    return crt, key


def start_tls_peer(cert, key, require_tls=True):
    """A peer offering STARTTLS with cert (required unless require_tls is False); none
    without a cert."""
    if not cert:
        return start_peer()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert), str(key))
    return start_peer(tls_context=ctx, require_starttls=require_tls)


@pytest.fixture(scope="module")
def certs(tls_files, tmp_path_factory):
    folder = tmp_path_factory.mktemp("certs")
    return {"wrong": issue(tls_files, folder, "wrong.example", "DNS:wrong.example"),
            "right": (tls_files.cert, tls_files.key)}   # DNS:localhost, IP:127.0.0.1


def submit(service, tls, world, rcpt, subject):
    with smtplib.SMTP("127.0.0.1", service.port("submission"), timeout=20) as c:
        c.starttls(context=tls)
        c.login(world.alice, PASSWORD)
        c.sendmail(world.alice, [rcpt], message(subject, world.alice, rcpt))


def queued(polderctl, rcpt):
    rows = json.loads(polderctl.ok("queue", "list", "--json").stdout)
    return [r for r in rows if r["recipient"] == rcpt and r["attempts"] >= 1]


def deferred_reason(polderctl, rcpt):
    row = wait_for(lambda: queued(polderctl, rcpt), timeout=20, what=f"a deferral of {rcpt}")[0]
    shown = polderctl.ok("queue", "show", str(row["id"])).stdout
    polderctl.ok("queue", "delete", str(row["id"]))   # keep it from the next test's workers
    return shown


def test_a_smarthost_certificate_for_another_name_defers_with_the_reason(start_service, certs, tls, world, polderctl,
                                                                          tls_files):
    peer = start_tls_peer(*certs["wrong"])
    try:
        svc = start_service("smtp", settings={"smtp": {"smarthost": f"127.0.0.1:{peer.port}", "queue_retry_seconds": 60,
                                                       "tls_ca_file": str(tls_files.ca_cert)}})
        submit(svc, tls, world, "x@wrongname.example", "wrong name")
        shown = deferred_reason(polderctl, "x@wrongname.example")
        assert "TLS handshake with 127.0.0.1 failed: certificate verification failed" in shown
        assert "mismatch" in shown   # OpenSSL: "IP address mismatch"
        assert peer.messages == []
        assert svc.stop() == 0
    finally:
        peer.stop()


def test_a_smarthost_certificate_from_an_untrusted_ca_defers(start_service, certs, tls, world, polderctl):
    peer = start_tls_peer(*certs["right"])
    try:
        # No tls_ca_file: the system store, which does not know the test CA.
        svc = start_service("smtp", settings={"smtp": {"smarthost": f"127.0.0.1:{peer.port}", "queue_retry_seconds": 60}})
        submit(svc, tls, world, "x@untrusted.example", "untrusted ca")
        shown = deferred_reason(polderctl, "x@untrusted.example")
        assert "certificate verification failed: unable to get local issuer certificate" in shown
        assert peer.messages == []
        assert svc.stop() == 0
    finally:
        peer.stop()


def test_a_smarthost_without_starttls_defers_when_verification_is_on(start_service, tls, world, polderctl):
    peer = start_tls_peer(None, None)
    try:
        svc = start_service("smtp", settings={"smtp": {"smarthost": f"127.0.0.1:{peer.port}", "queue_retry_seconds": 60}})
        submit(svc, tls, world, "x@plaintext.example", "no starttls")
        shown = deferred_reason(polderctl, "x@plaintext.example")
        assert "does not offer STARTTLS; smtp.smarthost_tls_verify requires a verified TLS connection" in shown
        assert peer.messages == []
        assert svc.stop() == 0
    finally:
        peer.stop()


def test_the_right_certificate_and_ca_deliver_through_the_smarthost(start_service, certs, tls, world, tls_files, sql):
    peer = start_tls_peer(*certs["right"])
    try:
        svc = start_service("smtp", settings={"smtp": {"smarthost": f"127.0.0.1:{peer.port}", "queue_retry_seconds": 1,
                                                       "tls_ca_file": str(tls_files.ca_cert)}})
        submit(svc, tls, world, "x@verified.example", "verified")
        got = wait_for(lambda: peer.received_for("x@verified.example"), timeout=20, what="verified delivery")
        assert got[0].tls is True   # inside TLS
        wait_for(lambda: not sql("SELECT 1 FROM mail.smtp_queue_rcpt WHERE recipient = %s", ("x@verified.example",)),
                 what="queue drained")
        assert svc.stop() == 0
    finally:
        peer.stop()


def test_mx_hosts_stay_opportunistic_unless_mx_tls_verify(start_service, certs, tls, world, polderctl, sql):
    peer = start_tls_peer(*certs["wrong"])
    zone = DnsZone().start()
    zone.add("opportunistic.example", "MX", (10, "mx.opportunistic.example"))
    zone.add("mx.opportunistic.example", "A", "127.0.0.1")
    try:
        base = {"dns_resolver": zone.address, "remote_mx_port": peer.port, "queue_retry_seconds": 60}
        svc = start_service("smtp", settings={"smtp": base})
        submit(svc, tls, world, "a@opportunistic.example", "opportunistic")
        got = wait_for(lambda: peer.received_for("a@opportunistic.example"), timeout=20, what="MX delivery")
        assert got[0].tls is True   # encrypted, though the certificate names another host
        assert svc.stop() == 0

        strict = start_service("smtp", settings={"smtp": dict(base, mx_tls_verify=True)})
        submit(strict, tls, world, "b@opportunistic.example", "strict mx")
        shown = deferred_reason(polderctl, "b@opportunistic.example")
        assert "TLS handshake with mx.opportunistic.example failed: certificate verification failed" in shown
        assert peer.received_for("b@opportunistic.example") == []
        assert strict.stop() == 0
    finally:
        zone.stop()
        peer.stop()
