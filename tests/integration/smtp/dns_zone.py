# dns_zone.py - a loopback authoritative-style DNS server for the smtpd tests (Debian's
# python3-dnslib): answers from a dict that tests fill (MX, A, AAAA, TXT), NXDOMAIN for
# names it does not know, over UDP and TCP on one free port of 127.0.0.1. polder-smtpd
# reaches it through smtp.dns_resolver = "127.0.0.1:<port>".
#
#   zone = DnsZone(); zone.start()
#   zone.add("remote.test", "MX", (10, "mx1.remote.test")); zone.add("mx1.remote.test", "A", "127.0.0.1")
#   zone.address   -> "127.0.0.1:<port>"
#
# SECURITY: loopback only; tests never touch the internet's DNS.
# STANDARDS: RFC 1035 (the server side is dnslib's), RFC 7505 (null MX: add(..., "MX", (0, "."))).

import socket
import threading

from dnslib import AAAA, MX, QTYPE, RCODE, RR, TXT, A
from dnslib.server import BaseResolver, DNSLogger, DNSServer


def _free_udp_and_tcp_port():
    for _ in range(50):
        with socket.socket() as t:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                try:
                    u.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port for the test DNS server")


class DnsZone(BaseResolver):
    def __init__(self):
        self.lock = threading.Lock()
        self.records = {}   # (name, qtype) -> [rdata]
        self.queries = []   # (name, qtype) as asked
        self.servers = []
        self.port = None

    @staticmethod
    def _key(name):
        return name.lower().rstrip(".") + "."

    def add(self, name, rtype, value):
        if rtype == "MX":
            rdata = MX(value[1], value[0])
        elif rtype == "A":
            rdata = A(value)
        elif rtype == "AAAA":
            rdata = AAAA(value)
        elif rtype == "TXT":
            # Long TXT values are split into 255-octet character-strings (RFC 1035 3.3.14).
            data = value.encode() if isinstance(value, str) else value
            rdata = TXT([data[i:i + 255] for i in range(0, len(data), 255)] or [b""])
        else:
            raise ValueError(rtype)
        with self.lock:
            self.records.setdefault((self._key(name), rtype), []).append(rdata)

    def clear(self, name, rtype):
        with self.lock:
            self.records.pop((self._key(name), rtype), None)

    def resolve(self, request, handler):
        reply = request.reply()
        qname = str(request.q.qname)
        qtype = QTYPE[request.q.qtype]
        key = self._key(qname)
        with self.lock:
            self.queries.append((key.rstrip("."), qtype))
            answers = list(self.records.get((key, qtype), []))
            known = any(k[0] == key for k in self.records)
        for rdata in answers:
            reply.add_answer(RR(qname, getattr(QTYPE, qtype), rdata=rdata, ttl=1))
        if not answers and not known:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply

    def start(self):
        self.port = _free_udp_and_tcp_port()
        for tcp in (False, True):
            server = DNSServer(self, port=self.port, address="127.0.0.1", tcp=tcp,
                               logger=DNSLogger(logf=lambda _: None))
            server.start_thread()
            self.servers.append(server)
        return self

    def stop(self):
        for server in self.servers:
            server.stop()

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def asked(self, name, qtype):
        with self.lock:
            return (name.lower().rstrip("."), qtype) in self.queries
