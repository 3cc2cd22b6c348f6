# test_dsn.py - delivery status notifications of the outbound queue beyond failures
# (RFC 3461): NOTIFY=SUCCESS to a next hop WITHOUT the DSN extension gives the sender a
# "relayed" notice (headers only, ENVID and ORCPT echoed); NOTIFY=DELAY gives one "delayed"
# notice after smtp.dsn_delay_seconds, however often the recipient is retried; a next hop WITH DSN gets RET,
# ENVID, NOTIFY and ORCPT passed on (xtext-encoded) and reports itself - no notice from us.
# Peers: aiosmtpd (no DSN) and a scripted loopback SMTP server that offers DSN.
# SECURITY: loopback only.
# STANDARDS: RFC 3461 (4.1-4.4, 6.2.4 "relayed"), RFC 3464 (2.3.3 Action), RFC 6522.

import smtplib
import socket
import threading
import time

import pytest

from conftest import PASSWORD, blob_bytes, message, wait_for
from smtp_peer import smtp_peer


def hold(address):
    """hold@ recipients are refused for now, so their mail stays queued (DELAY notices)."""
    return "452 4.2.2 Mailbox busy" if address.lower().startswith("hold") else None


class DsnPeer:
    """A minimal scripted SMTP server that offers DSN and records the command lines."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.lines = []
        self.messages = 0
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            with conn:
                conn.settimeout(10)
                try:
                    self.session(conn.makefile("rb"), conn)
                except (OSError, ValueError):
                    pass

    def session(self, rfile, conn):
        conn.sendall(b"220 dsn.peer ESMTP\r\n")
        while True:
            line = rfile.readline(2048)
            if not line:
                return
            text = line.decode().rstrip("\r\n")
            self.lines.append(text)
            verb = text.split(" ")[0].upper()
            if verb == "EHLO":
                conn.sendall(b"250-dsn.peer\r\n250-PIPELINING\r\n250 DSN\r\n")
            elif verb == "DATA":
                conn.sendall(b"354 go ahead\r\n")
                while rfile.readline(65536) not in (b".\r\n", b""):
                    pass
                self.messages += 1
                conn.sendall(b"250 2.0.0 Queued with DSN\r\n")
            elif verb == "QUIT":
                conn.sendall(b"221 bye\r\n")
                return
            else:
                conn.sendall(b"250 2.0.0 OK\r\n")

    def stop(self):
        self.running = False
        self.thread.join(5)
        self.sock.close()


@pytest.fixture(scope="module")
def remote():
    with smtp_peer(accept=hold, reply="250 2.0.0 Queued remotely") as peer:
        yield peer


@pytest.fixture(scope="module")
def dsn_peer():
    peer = DsnPeer()
    yield peer
    peer.stop()


@pytest.fixture(scope="module")
def relay(start_service, world, remote, dsn_peer):
    routes = f"remote.example=127.0.0.1:{remote.port}, dsn.example=127.0.0.1:{dsn_peer.port}"
    return start_service("smtp", settings={"smtp": {"routes": routes, "queue_retry_seconds": 1,
                                                    "dsn_delay_seconds": 1, "dns_resolver": "127.0.0.1:9"}})


def send(service, tls, world, rcpt, subject, mail_options=(), rcpt_options=()):
    with smtplib.SMTP("127.0.0.1", service.port("submission"), timeout=20) as c:
        c.starttls(context=tls)
        c.login(world.alice, PASSWORD)
        c.sendmail(world.alice, [rcpt], message(subject, world.alice, rcpt), list(mail_options), list(rcpt_options))


def notices(service, inbox, world, before):
    return [blob_bytes(service, row[1]).decode() for row in inbox(world.alice)[before:]]


def test_notify_success_to_a_next_hop_without_dsn_gives_a_relayed_notice(relay, remote, tls, world, inbox):
    before = len(inbox(world.alice))
    send(relay, tls, world, "ok-success@remote.example", "dsn success",
         ["RET=FULL", "ENVID=env-42"], ["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;Original@remote.example"])
    wait_for(lambda: remote.received_for("ok-success@remote.example"), timeout=20, what="delivery")
    dsn = wait_for(lambda: notices(relay, inbox, world, before), timeout=20, what="the relayed notice")[0]
    assert "Subject: Successful Mail Delivery Report" in dsn
    assert "Content-Type: multipart/report; report-type=delivery-status" in dsn
    assert "Action: relayed" in dsn and "Status: 2.0.0" in dsn
    assert "Original-Envelope-Id: env-42" in dsn
    assert "Original-Recipient: rfc822;Original@remote.example" in dsn
    assert "Final-Recipient: rfc822; ok-success@remote.example" in dsn
    # A success notice returns the header only, whatever RET says (RFC 3461 4.3).
    assert "Content-Type: text/rfc822-headers" in dsn and "Dit is een test." not in dsn


def test_without_notify_success_a_delivery_sends_no_notice(relay, remote, tls, world, inbox):
    before = len(inbox(world.alice))
    send(relay, tls, world, "ok-quiet@remote.example", "dsn quiet", [], ["NOTIFY=FAILURE"])
    wait_for(lambda: remote.received_for("ok-quiet@remote.example"), timeout=20, what="delivery")
    time.sleep(1.5)   # the notice would be delivered in the same transaction as the outcome
    assert notices(relay, inbox, world, before) == []


def test_a_next_hop_with_dsn_gets_the_parameters_and_we_send_no_notice(relay, dsn_peer, tls, world, inbox):
    before = len(inbox(world.alice))
    send(relay, tls, world, "x@dsn.example", "dsn passed on",
         ["RET=HDRS", "ENVID=env+2B7"], ["NOTIFY=SUCCESS,DELAY", "ORCPT=rfc822;x+2Bo@dsn.example"])
    wait_for(lambda: dsn_peer.messages >= 1, timeout=20, what="delivery to the DSN peer")
    mail = next(l for l in dsn_peer.lines if l.upper().startswith("MAIL FROM:"))
    rcpt = next(l for l in dsn_peer.lines if l.upper().startswith("RCPT TO:"))
    assert mail == f"MAIL FROM:<{world.alice}> RET=HDRS ENVID=env+2B7"
    assert rcpt == "RCPT TO:<x@dsn.example> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;x+2Bo@dsn.example"
    time.sleep(1.5)
    assert notices(relay, inbox, world, before) == []


def test_notify_delay_gives_one_delayed_notice_however_often_it_is_retried(relay, tls, world, inbox, sql):
    before = len(inbox(world.alice))
    send(relay, tls, world, "hold-delay@remote.example", "dsn delay", ["ENVID=late-1"], ["NOTIFY=DELAY,FAILURE"])
    dsn = wait_for(lambda: notices(relay, inbox, world, before), timeout=20, what="the delayed notice")[0]
    assert "Subject: Delayed Mail (still being retried)" in dsn
    assert "Action: delayed" in dsn and "Status: 4.2.2" in dsn
    assert "Diagnostic-Code: smtp; 452 4.2.2 Mailbox busy" in dsn
    assert "Original-Envelope-Id: late-1" in dsn
    wait_for(lambda: sql("SELECT 1 FROM mail.smtp_queue_rcpt WHERE recipient = 'hold-delay@remote.example' "
                         "AND attempts >= 3"), timeout=30, what="more retries")
    assert len(notices(relay, inbox, world, before)) == 1
    assert sql("SELECT delay_notified FROM mail.smtp_queue_rcpt WHERE recipient = 'hold-delay@remote.example'") \
        == [(True,)]
    # NOTIFY=FAILURE alone: no delayed notice.
    before = len(inbox(world.alice))
    send(relay, tls, world, "hold-nodelay@remote.example", "dsn no delay", [], ["NOTIFY=FAILURE"])
    wait_for(lambda: sql("SELECT 1 FROM mail.smtp_queue_rcpt WHERE recipient = 'hold-nodelay@remote.example' "
                         "AND attempts >= 2"), timeout=30, what="retries")
    assert notices(relay, inbox, world, before) == []
    sql("DELETE FROM mail.smtp_queue_rcpt WHERE recipient LIKE 'hold-%'")
