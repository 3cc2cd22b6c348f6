# test_proxy_protocol.py - polder-imapd behind a real HAProxy (Debian's haproxy, started
# by the test on loopback, never as a system service) that sends PROXY protocol headers:
# v2 in front of the implicit-TLS listener, v1 in front of the STARTTLS one
# (imap.proxy_protocol_from). Clients bind their own loopback addresses (127.0.0.3,
# 127.0.0.4), so the service sees through the balancer: the log names the client and the
# balancer, the per-IP limit counts the client, not the balancer. A connection from the
# balancer's address without a header is closed; others connect directly. A header
# naming a client elsewhere turns off the loopback-only plaintext login.

import imaplib
import shutil
import socket
import subprocess
import time

import pytest

from ports import free_port
from imap_helpers import PASSWORD, tls_context
from polling import wait_for


class FromAddress:
    """imaplib with the client's own source address (a loopback address of its choice)."""

    def __init__(self, source):
        self.source = source

    def _sock(self, host, port, timeout):
        return socket.create_connection((host, port), timeout, source_address=(self.source, 0))

    def imap(self, host, port):
        outer = self

        class C(imaplib.IMAP4):
            def _create_socket(self, timeout):
                return outer._sock(self.host, self.port, timeout)
        return C(host, port, timeout=30)

    def imaps(self, host, port, ctx):
        outer = self

        class C(imaplib.IMAP4_SSL):
            def _create_socket(self, timeout):
                return self.ssl_context.wrap_socket(outer._sock(self.host, self.port, timeout),
                                                    server_hostname="localhost")
        return C(host, port, ssl_context=ctx, timeout=30)


@pytest.fixture(scope="module")
def balanced(start_service, service_root):
    """polder-imapd that takes PROXY headers from 127.0.0.1, and HAProxy in front of it."""
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    svc = start_service("imap", settings={
        "imap": {"proxy_protocol_from": "127.0.0.1/32", "max_connections_per_ip": 2},
        "auth": {"allow_plaintext_on_loopback": True}})
    front_tls, front_plain = free_port(), free_port()
    cfg = service_root / "haproxy.cfg"
    cfg.write_text(f"""global
    maxconn 200
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend imaps_in
    bind 127.0.0.2:{front_tls}
    default_backend imaps_out
backend imaps_out
    server imapd 127.0.0.1:{svc.port("imaps")} send-proxy-v2 source 127.0.0.1
frontend imap_in
    bind 127.0.0.2:{front_plain}
    default_backend imap_out
backend imap_out
    server imapd 127.0.0.1:{svc.port("imap")} send-proxy source 127.0.0.1
""")
    log = open(service_root / "haproxy.log", "w")
    proc = subprocess.Popen([haproxy, "-db", "-f", str(cfg)], stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT)

    def listening():
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.2", front_plain)) == 0
    wait_for(listening, timeout=15, what="haproxy listening")
    yield svc, front_tls, front_plain
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def test_through_haproxy_the_service_sees_and_limits_the_client_not_the_balancer(balanced, domain, new_user,
                                                                                 tls_files):
    svc, front_tls, front_plain = balanced
    user = new_user(domain)
    anna = FromAddress("127.0.0.3")
    # v2 in front of implicit TLS: the header comes before the TLS handshake.
    c1 = anna.imaps("127.0.0.2", front_tls, tls_context(tls_files))
    assert c1.login(user, PASSWORD)[0] == "OK"
    assert c1.select("INBOX")[0] == "OK"
    # v1 in front of the STARTTLS listener.
    c2 = anna.imap("127.0.0.2", front_plain)
    assert c2.login(user, PASSWORD)[0] == "OK"
    wait_for(lambda: svc.log().count("peer=127.0.0.3") >= 2, timeout=10, what="both sessions logged")
    opened = [l for l in svc.log().splitlines() if "event=conn.open" in l and "peer=127.0.0.3" in l]
    assert len(opened) == 2 and all("via=127.0.0.1" in l for l in opened), opened
    assert any("listener=imaps" in l for l in opened) and any("listener=imap " in l for l in opened), opened

    # The per-IP limit (2) is the client's: a third session of 127.0.0.3 is refused,
    # one of 127.0.0.4 through the same balancer is not.
    with pytest.raises(imaplib.IMAP4.error, match="Too many connections"):
        anna.imap("127.0.0.2", front_plain)
    bert = FromAddress("127.0.0.4").imap("127.0.0.2", front_plain)
    assert bert.login(user, PASSWORD)[0] == "OK"
    assert bert.logout()[0] == "BYE"
    # The first sessions are still served.
    assert c1.noop()[0] == "OK" and c2.noop()[0] == "OK"
    c1.logout()
    c2.logout()


def test_the_balancers_address_without_a_header_is_closed_and_others_connect_directly(balanced, domain, new_user):
    svc, _, _ = balanced
    before = svc.log().count("event=conn.proxy_header_invalid")
    with socket.create_connection(("127.0.0.1", svc.port("imap")), timeout=10, source_address=("127.0.0.1", 0)) as s:
        s.sendall(b"a001 CAPABILITY\r\n")
        got = b""
        try:
            while chunk := s.recv(4096):
                got += chunk
        except ConnectionResetError:
            pass
        assert got == b"", got      # no greeting, no answer
    wait_for(lambda: svc.log().count("event=conn.proxy_header_invalid") > before, timeout=10,
             what="the bad header logged")
    assert "not a PROXY protocol header" in svc.log()
    # Anyone else connects without a header, as before.
    user = new_user(domain)
    direct = FromAddress("127.0.0.5").imap("127.0.0.1", svc.port("imap"))
    assert direct.login(user, PASSWORD)[0] == "OK"
    direct.logout()
    line = [l for l in svc.log().splitlines() if "event=conn.open" in l and "peer=127.0.0.5" in l]
    assert line and "via=" not in line[0], line


def test_a_client_elsewhere_named_by_the_balancer_gets_no_loopback_plaintext_login(balanced):
    svc, _, _ = balanced
    # The balancer is on loopback; the client it names is not: LOGINDISABLED as for any
    # remote client on a plain connection (allow_plaintext_on_loopback is on).
    with socket.create_connection(("127.0.0.1", svc.port("imap")), timeout=10, source_address=("127.0.0.1", 0)) as s:
        s.sendall(b"PROXY TCP4 203.0.113.7 192.0.2.1 40001 143\r\na001 CAPABILITY\r\n")
        f = s.makefile("rb")
        greeting = f.readline()
        assert greeting.startswith(b"* OK"), greeting
        caps = f.readline()
        assert b"LOGINDISABLED" in caps and b"STARTTLS" in caps, caps
        assert f.readline().startswith(b"a001 OK")
    wait_for(lambda: "peer=203.0.113.7" in svc.log(), timeout=10, what="the named client logged")
    # A client on loopback, named the same way, keeps the development convenience.
    with socket.create_connection(("127.0.0.1", svc.port("imap")), timeout=10, source_address=("127.0.0.1", 0)) as s:
        s.sendall(b"PROXY TCP4 127.0.0.9 127.0.0.1 40002 143\r\na001 CAPABILITY\r\n")
        f = s.makefile("rb")
        f.readline()
        caps = f.readline()
        assert b"LOGINDISABLED" not in caps, caps
