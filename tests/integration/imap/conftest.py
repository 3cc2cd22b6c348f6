# conftest.py - fixtures for the polder-imapd scenarios: organisations, users, a running
# polder-imapd, imaplib clients over implicit TLS (verified against the test CA) and a raw
# line client for protocol-level checks (malformed input, SASL-IR, pipelining).

import imaplib
import socket

import pytest

from imap_helpers import PASSWORD, Raw, tls_context



@pytest.fixture(scope="module")
def new_org(migrated, polderctl, unique):
    def make():
        name = unique("org")
        polderctl.ok("org", "add", name)
        polderctl.ok("domain", "add", f"{name}.example", "--org", name)
        return f"{name}.example"
    return make


@pytest.fixture(scope="module")
def new_user(migrated, polderctl, unique):
    def make(domain, *extra):
        address = f"{unique('u')}@{domain}"
        polderctl.ok("user", "add", address, "--password-stdin", *extra, input=PASSWORD + "\n")
        return address
    return make


@pytest.fixture(scope="module")
def domain(new_org):
    """An organisation (and its mail domain) of this test module's own."""
    return new_org()


@pytest.fixture
def user(domain, new_user):
    """A fresh account in `domain` for each test."""
    return new_user(domain)


@pytest.fixture(scope="module")
def imapd(start_service):
    return start_service("imap")


@pytest.fixture
def connect(imapd, tls_files):
    opened = []

    def make(user=None, service=None):
        svc = service or imapd
        c = imaplib.IMAP4_SSL("127.0.0.1", svc.port("imaps"), ssl_context=tls_context(tls_files), timeout=30)
        if user:
            c.login(user, PASSWORD)
        opened.append(c)
        return c
    yield make
    for c in opened:
        try:
            c.logout()
        except Exception:
            pass


@pytest.fixture
def raw(imapd, tls_files):
    opened = []

    def make(user=None, tls=True, service=None):
        svc = service or imapd
        if tls:
            sock = tls_context(tls_files).wrap_socket(
                socket.create_connection(("127.0.0.1", svc.port("imaps")), timeout=30), server_hostname="localhost")
        else:
            sock = socket.create_connection(("127.0.0.1", svc.port("imap")), timeout=30)
        r = Raw(sock)
        r.greeting = r.readline()
        if user:
            r.send_raw(f'L0 LOGIN "{user}" "{PASSWORD}"\r\n')   # keeps r1, r2... for the test's commands
            lines = r.until("L0")
            assert " OK " in lines[-1], lines
        opened.append(r)
        return r
    yield make
    for r in opened:
        r.close()
