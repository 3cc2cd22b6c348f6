#!/usr/bin/python3
# free_port.py - choose TCP ports on 127.0.0.1 for development and test servers.
#
#   free_port.py                 print one free port (chosen by the kernel)
#   free_port.py 2525 2587 ...   print, per preferred port, that port when it is
#                                free, else a free port chosen by the kernel; the
#                                answers are distinct from each other
#
# Used by scripts/dev (default ports "unless busy") and tests/harness/pg.sh.
# "Free" means a server could bind it right now the way ours do (SO_REUSEADDR,
# so leftover TIME_WAIT connections do not count as busy, but a listener on
# 127.0.0.1 or on the wildcard address does). Another process may still take
# the port before ours binds it; callers report that as a bind error.
#
# SECURITY: binds and closes test sockets only; no connections are made.
# STANDARDS: none.
import socket
import sys


def can_bind(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(1)
        return True
    except OSError:
        return False
    finally:
        s.close()


def kernel_port(taken):
    # Ask the kernel for an ephemeral port; retry if it hands back one we
    # already promised to an earlier argument.
    for _ in range(100):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        finally:
            s.close()
        if port not in taken:
            return port
    raise SystemExit("free_port.py: no free port found")


def main(argv):
    wanted = []
    for arg in argv:
        if not arg.isdigit() or not 0 < int(arg) < 65536:
            raise SystemExit(f"free_port.py: not a port number: {arg!r}")
        wanted.append(int(arg))
    if not wanted:
        print(kernel_port(set()))
        return
    taken = set()
    answers = []
    for port in wanted:
        if port not in taken and can_bind(port):
            chosen = port
        else:
            chosen = kernel_port(taken | set(wanted))
        taken.add(chosen)
        answers.append(str(chosen))
    print(" ".join(answers))


if __name__ == "__main__":
    main(sys.argv[1:])
