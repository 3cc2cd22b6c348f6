# test_smarthost.py - outbound mail through a smarthost with AUTH: every foreign domain
# goes to smtp.smarthost, the queue upgrades with STARTTLS and authenticates with AUTH PLAIN
# (never before TLS, certificate verified against the test CA: smtp.tls_ca_file), and a
# smarthost without STARTTLS never gets the credentials.
# SECURITY: smarthost credentials only inside TLS. STANDARDS: RFC 4954, RFC 3207, RFC 4616.

import smtplib
import ssl
import threading

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from conftest import PASSWORD, free_port, message, wait_for


class Smarthost:
    def __init__(self):
        self.lock = threading.Lock()
        self.messages = []   # (rcpts, authenticated, tls)
        self.logins = []

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"polder-relay" and auth_data.password == b"relay secret"
        with self.lock:
            self.logins.append((mechanism, ok, session.ssl is not None))
        return AuthResult(success=ok)

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), session.authenticated, session.ssl is not None))
        return "250 2.0.0 Relayed"


@pytest.fixture(scope="module")
def smarthost(tls_files):
    handler = Smarthost()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(tls_files.cert), str(tls_files.key))
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, tls_context=ctx, require_starttls=True,
                            authenticator=handler.authenticate, auth_required=True, auth_require_tls=True)
    controller.start()
    handler.port = port
    yield handler
    controller.stop()


def send(service, tls, world, rcpt, subject):
    with smtplib.SMTP("127.0.0.1", service.port("submission"), timeout=20) as c:
        c.starttls(context=tls)
        c.login(world.alice, PASSWORD)
        c.sendmail(world.alice, [rcpt], message(subject, world.alice, rcpt))


def test_foreign_mail_goes_through_the_smarthost_with_auth_over_tls(start_service, smarthost, tls, world, sql,
                                                                       tls_files):
    svc = start_service("smtp", settings={"smtp": {"smarthost": f"127.0.0.1:{smarthost.port}",
                                                   "smarthost_user": "polder-relay",
                                                   "smarthost_password": "relay secret",
                                                   "tls_ca_file": str(tls_files.ca_cert),
                                                   "queue_retry_seconds": 1}})
    send(svc, tls, world, "someone@anywhere.example", "via smarthost")
    got = wait_for(lambda: [m for m in smarthost.messages if m[0] == ["someone@anywhere.example"]], timeout=20,
                   what="delivery through the smarthost")
    assert got[0][1] is True and got[0][2] is True        # authenticated, inside TLS
    assert ("PLAIN", True, True) in smarthost.logins
    assert "relay secret" not in svc.log()
    wait_for(lambda: not sql("SELECT 1 FROM mail.smtp_queue_rcpt WHERE recipient = %s",
                             ("someone@anywhere.example",)), what="queue drained")
    assert svc.stop() == 0   # its workers must not serve the next test's queue


def test_credentials_are_never_sent_to_a_smarthost_without_starttls(start_service, tls, world, sql, inbox):
    plain = Smarthost()   # offers neither STARTTLS nor AUTH
    port = free_port()
    controller = Controller(plain, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        before = len(inbox(world.alice))
        svc = start_service("smtp", settings={"smtp": {"smarthost": f"127.0.0.1:{port}",
                                                       "smarthost_user": "polder-relay",
                                                       "smarthost_password": "relay secret",
                                                       # the credential rule itself, without verification
                                                       "smarthost_tls_verify": False,
                                                       "queue_retry_seconds": 1}})
        send(svc, tls, world, "deferred@anywhere.example", "no tls at the smarthost")
        rows = wait_for(lambda: [r for r in sql("SELECT attempts, last_error FROM mail.smtp_queue_rcpt "
                                                "WHERE recipient = %s", ("deferred@anywhere.example",)) if r[0] >= 1],
                        timeout=20, what="a deferral")
        assert "does not offer STARTTLS; not sending credentials" in rows[0][1]
        assert plain.messages == [] and plain.logins == []
        assert len(inbox(world.alice)) == before   # deferred, not bounced
        assert svc.stop() == 0
    finally:
        controller.stop()
