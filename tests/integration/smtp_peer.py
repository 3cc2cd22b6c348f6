# smtp_peer.py - the loopback SMTP server that plays "the rest of the world" in the
# integration tests (a remote MX, a next hop on a route, a partner's mail server):
# aiosmtpd (Debian's python3-aiosmtpd) with a handler that records every message it
# accepts. Importable from every tests/integration/<area>/ folder: pytest puts this
# folder on sys.path for its conftest.py.
#
#   with smtp_peer(accept=...) as peer:            # or start_peer() / peer.stop()
#       ... peer.port ...
#       peer.received_for("someone@remote.example")  -> [Received(mail_from, rcpts, content, tls)]
#
# SECURITY: listens on 127.0.0.1 only, on a free port; TLS only with the test CA's
# certificates the caller passes in.
# STANDARDS: RFC 5321 (as aiosmtpd implements it), RFC 3207 (STARTTLS).

import collections
import contextlib
import socket
import threading

from aiosmtpd.controller import Controller

# One accepted message; a tuple, so received_for(...)[0][2] is the content.
Received = collections.namedtuple("Received", "mail_from rcpts content tls")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpPeer:
    """aiosmtpd handler. `accept(address)` decides each RCPT: None accepts it, a string is
    the reply (e.g. "550 5.1.1 No such user here"); `reply` answers the end of data."""

    def __init__(self, accept=None, reply="250 2.0.0 OK"):
        self.lock = threading.Lock()
        self.messages = []         # Received, in arrival order
        self.accept = accept
        self.reply = reply
        self.port = None
        self.controller = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        refusal = self.accept(address) if self.accept else None
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                          envelope.original_content, session.ssl is not None))
        return self.reply

    def received_for(self, address):
        with self.lock:
            return [m for m in self.messages if address in m.rcpts]

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def start_peer(accept=None, reply="250 2.0.0 OK", tls_context=None, require_starttls=False):
    """A running SmtpPeer on a free loopback port (STARTTLS offered with tls_context)."""
    peer = SmtpPeer(accept, reply)
    peer.port = _free_port()
    kwargs = {"tls_context": tls_context, "require_starttls": require_starttls} if tls_context else {}
    peer.controller = Controller(peer, hostname="127.0.0.1", port=peer.port, **kwargs)
    peer.controller.start()
    return peer


@contextlib.contextmanager
def smtp_peer(**kwargs):
    peer = start_peer(**kwargs)
    try:
        yield peer
    finally:
        peer.stop()
