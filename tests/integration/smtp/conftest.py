# conftest.py - fixtures of the polder-smtpd integration tests: a provisioned
# organisation (users, alias, group, app password, a user with a tiny quota) and a
# running polder-smtpd, plus helpers to talk to it (smtplib, swaks, raw sockets) and to
# look at what was delivered (SQL on the mail tables, the blob files).
#
#   world   - the provisioned directory: world.alice, world.password, world.app_password ...
#   smtpd   - a polder-smtpd started with start_service("smtp") for the module
#   start_service - the harness's, with smtp.dns_resolver defaulting to empty_zone, a
#             loopback DNS server that answers NXDOMAIN to everything (never real DNS)
#   tls     - an ssl.SSLContext that trusts only the test CA (tls_files.ca_cert)
#   inbox(address) -> [(uid, blob hex, size)] of that account's INBOX
#   blob_bytes(service, hex) -> the stored message octets
#
# SECURITY: loopback only; throwaway database, blob folder and CA (see ../conftest.py).
# STANDARDS: none beyond the tests' own (RFC 5321 conversations).

import dataclasses
import re
import socket
import ssl
import subprocess
from pathlib import Path

import pytest

from blobs import blob_path
from dns_zone import DnsZone
from polling import wait_for  # noqa: F401 (the tests import it from here)
from ports import free_port  # noqa: F401 (the tests import it from here)

PASSWORD = "correct horse battery staple"
DOMAIN = "gemeente.example"


@dataclasses.dataclass
class World:
    org: str
    domain: str
    password: str
    alice: str
    bob: str
    carol: str          # tiny quota, already full
    sales: str          # alias -> alice
    team: str           # group: alice, bob
    app_password: str   # alice's


@pytest.fixture(scope="module")
def world(polderctl, migrated):
    org = "gemeente"
    polderctl.ok("org", "add", org)
    polderctl.ok("domain", "add", DOMAIN, "--org", org)
    for user in ("alice", "bob", "carol"):
        polderctl.ok("user", "add", f"{user}@{DOMAIN}", "--password-stdin", input=PASSWORD + "\n")
    polderctl.ok("quota", "set", f"carol@{DOMAIN}", "0")
    polderctl.ok("alias", "add", f"sales@{DOMAIN}", f"alice@{DOMAIN}")
    polderctl.ok("group", "add", "Team", "--org", org, "--address", f"team@{DOMAIN}")
    polderctl.ok("group", "member", "add", "Team", f"alice@{DOMAIN}")
    polderctl.ok("group", "member", "add", "Team", f"bob@{DOMAIN}")
    r = polderctl.ok("app-password", "add", f"alice@{DOMAIN}", "--label", "mail client")
    app = re.search(r"^password: (ap-\S+)$", r.stdout, re.M).group(1)
    return World(org, DOMAIN, PASSWORD, f"alice@{DOMAIN}", f"bob@{DOMAIN}", f"carol@{DOMAIN}",
                 f"sales@{DOMAIN}", f"team@{DOMAIN}", app)


@pytest.fixture(scope="module")
def empty_zone():
    """A loopback DNS server that knows no names: every lookup is a quick NXDOMAIN."""
    zone = DnsZone().start()
    yield zone
    zone.stop()


@pytest.fixture(scope="module")
def start_service(start_service, empty_zone):
    """The harness's start_service; polder-smtpd gets smtp.dns_resolver = the empty zone
    unless the test names a resolver. Mail on the MX listener is checked with SPF, DKIM and
    DMARC (smtp.inbound_auth = "mark"), so its lookups must never reach real DNS, nor wait
    for a server that does not answer (a closed port makes libunbound wait until the
    check's deadline)."""
    def start(kind, settings=None, **kw):
        settings = {section: dict(keys) for section, keys in (settings or {}).items()}
        if kind == "smtp":
            settings.setdefault("smtp", {}).setdefault("dns_resolver", empty_zone.address)
        return start_service(kind, settings=settings, **kw)
    return start


@pytest.fixture(scope="module")
def smtpd(start_service, world):
    return start_service("smtp", settings={"smtp": {"hostname": "mx.gemeente.example",
                                                     "max_message_size": "64K",
                                                     "max_messages_per_hour": 1000}})


@pytest.fixture(scope="module")
def tls(tls_files):
    ctx = ssl.create_default_context(cafile=str(tls_files.ca_cert))
    return ctx


@pytest.fixture(scope="module")
def inbox(sql):
    def rows(address):
        return sql("SELECT mm.uid, encode(m.blob_sha256, 'hex'), m.size FROM mail.mailbox_messages mm "
                   "JOIN mail.mailboxes mb ON mb.id = mm.mailbox_id "
                   "JOIN mail.messages m ON m.id = mm.message_id "
                   "JOIN directory.accounts a ON a.id = mb.account_id "
                   "WHERE a.address = %s AND upper(mb.name) = 'INBOX' ORDER BY mm.uid", (address,))
    return rows


def blob_bytes(service, hex_id):
    return blob_path(Path(service.config).parent / "blobs", hex_id).read_bytes()


def message(subject, sender, to, body="Hallo,\r\n\r\nDit is een test.\r\n"):
    return (f"From: <{sender}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject.replace(' ', '-')}@test.example>\r\n\r\n{body}").encode()


class Raw:
    """A raw SMTP conversation over a socket: send exact bytes, read replies."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def reply(self):
        """One complete (possibly multi-line) reply: (code, [text lines])."""
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError(f"connection closed; got so far: {lines!r} {self.buf!r}")
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            text = line.decode("utf-8", "replace")
            lines.append(text[4:])
            if len(text) < 4 or text[3] != "-":
                return int(text[:3]), lines

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def closed(self):
        """True when the server closed the connection (after any pending replies)."""
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, socket.timeout):
            return False

    def close(self):
        self.sock.close()


@pytest.fixture
def raw(smtpd):
    opened = []

    def connect(listener="mx"):
        r = Raw(smtpd.port(listener))
        opened.append(r)
        code, _ = r.reply()
        assert code == 220
        return r
    yield connect
    for r in opened:
        r.close()


def swaks(*args, timeout=60):
    return subprocess.run(["swaks", "--hide-all", "--timeout", "20", *args], capture_output=True, text=True,
                          timeout=timeout)


def swaks_transcript(*args, timeout=60):
    return subprocess.run(["swaks", "--timeout", "20", *args], capture_output=True, text=True, timeout=timeout)
