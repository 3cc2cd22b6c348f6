# ports.py - loopback ports for the services and peers the integration tests start.

import socket

_issued_ports = set()


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago (for services under test).

    The kernel may hand out the same ephemeral port again right after it was closed, so
    a port is never returned twice by this process: one service's admin port and
    listener port were seen to collide that way."""
    for _ in range(1000):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _issued_ports:
            _issued_ports.add(port)
            return port
    raise RuntimeError("no unused loopback port found")
