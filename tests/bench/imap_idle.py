#!/usr/bin/python3
# imap_idle.py - the idle-connection half of tests/bench/imap_bench.sh:
#
#   imap_idle.py idle --port P --users U1,U2,... --password PW --connections N
#                     --pids PID[,PID] [--push-smtp-port S --push-user U --push N]
#                     [--deadline SECONDS]
#       Measures the memory of the server(s) (PSS summed over every process in the
#       trees rooted at PIDS: Dovecot forks a process per connection, and PSS counts
#       each shared page once in total, where RSS would count it once per process),
#       then opens N connections spread round-robin over the users, each doing LOGIN,
#       SELECT INBOX and IDLE (at most 200 logins in flight; one event loop with epoll,
#       so ten thousand sockets cost the client little), waits until every one is
#       idling, lets the server settle and measures again. Prints one JSON line:
#       {"connections", "pss_before_kib", "pss_after_kib", "per_connection_kib",
#        "processes", "setup_seconds"}.
#       With --push-smtp-port (polder only): while the N connections idle, one more
#       session of --push-user idles too, and --push messages are sent one by one over
#       one SMTP session to that user; for each, the time from the SMTP 250 to the
#       "* n EXISTS" on the idling session is recorded: adds "push_p50_ms",
#       "push_p99_ms", "push_max_ms", "push_count" to the JSON.
#
# Every connection is checked: a refused login or a missing "+ idling" fails the run.
# SECURITY: loopback only, no TLS (the figures compare IMAP servers, not OpenSSL), the
# throwaway accounts of the benchmark; every wait has a deadline.
# STANDARDS: RFC 9051 (LOGIN, SELECT, IDLE continuation and EXISTS), RFC 2177 (IDLE),
# RFC 5321 (the 250 after DATA).
import argparse
import errno
import json
import os
import selectors
import smtplib
import socket
import sys
import time


def tree_pids(roots):
    """The PIDs of the processes under roots (inclusive), from /proc/*/stat."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # comm may contain spaces and parentheses: the fields after the last ")".
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], list(roots)
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def pss_kib(roots):
    total, count = 0, 0
    for pid in tree_pids(roots):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        count += 1
                        break
        except OSError:
            continue   # a process that ended meanwhile
    return total, count


class Conn:
    __slots__ = ("sock", "buf", "state", "user")

    def __init__(self, sock, user):
        self.sock, self.buf, self.state, self.user = sock, b"", "greeting", user


def open_idlers(port, users, password, n, deadline, max_inflight=200):
    sel = selectors.DefaultSelector()
    conns, idling, started, failures = [], 0, 0, []

    def start_one(i):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        err = s.connect_ex(("127.0.0.1", port))
        if err not in (0, errno.EINPROGRESS):
            raise SystemExit(f"connect: {os.strerror(err)}")
        c = Conn(s, users[i % len(users)])
        conns.append(c)
        sel.register(s, selectors.EVENT_READ, c)

    def send(c, text):
        c.sock.setblocking(True)
        c.sock.sendall(text.encode())
        c.sock.setblocking(False)

    while idling < n:
        while started < n and started - idling < max_inflight:
            start_one(started)
            started += 1
        if time.monotonic() > deadline:
            raise SystemExit(f"only {idling} of {n} connections idling before the deadline")
        for key, _ in sel.select(timeout=1.0):
            c = key.data
            try:
                data = c.sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError as e:
                raise SystemExit(f"connection {c.user}: {e}")
            if not data:
                raise SystemExit(f"the server closed a connection of {c.user} in state {c.state}: {c.buf[-200:]!r}")
            c.buf += data
            while b"\r\n" in c.buf:
                line, c.buf = c.buf.split(b"\r\n", 1)
                if c.state == "greeting":
                    if not line.startswith(b"* OK"):
                        raise SystemExit(f"greeting: {line!r}")
                    c.state = "login"
                    send(c, f'l LOGIN "{c.user}" "{password}"\r\n')
                elif c.state == "login" and line.startswith(b"l "):
                    if not line.startswith(b"l OK"):
                        failures.append(line)
                        raise SystemExit(f"LOGIN {c.user}: {line!r}")
                    c.state = "select"
                    send(c, "s SELECT INBOX\r\n")
                elif c.state == "select" and line.startswith(b"s "):
                    if not line.startswith(b"s OK"):
                        raise SystemExit(f"SELECT {c.user}: {line!r}")
                    c.state = "idle"
                    send(c, "i IDLE\r\n")
                elif c.state == "idle" and line.startswith(b"+"):
                    c.state = "idling"
                    idling += 1
                    sel.unregister(c.sock)   # nothing more to read until the end
                    break
    sel.close()
    return conns


def push_latency(imap_port, user, password, smtp_port, count, deadline):
    s = socket.create_connection(("127.0.0.1", imap_port), timeout=30)
    f = s.makefile("rb")

    def line():
        text = f.readline()
        if not text:
            raise SystemExit("push session closed")
        return text.rstrip(b"\r\n")

    def until(tag):
        while True:
            text = line()
            if text.startswith(tag + b" "):
                if not text.startswith(tag + b" OK"):
                    raise SystemExit(f"push session: {text!r}")
                return

    line()
    s.sendall(f'p1 LOGIN "{user}" "{password}"\r\n'.encode())
    until(b"p1")
    s.sendall(b"p2 SELECT INBOX\r\n")
    until(b"p2")
    s.sendall(b"p3 IDLE\r\n")
    if not line().startswith(b"+"):
        raise SystemExit("push session: no IDLE continuation")
    times = []
    body = "Subject: push\r\nFrom: a@source.example\r\n\r\n" + "push latency sample\r\n" * 50
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as smtp:
        smtp.ehlo("push.bench.example")
        for i in range(count):
            if time.monotonic() > deadline:
                break
            smtp.mail("a@source.example")
            smtp.rcpt(user)
            code, _ = smtp.data(body.encode())
            t250 = time.perf_counter()
            if code != 250:
                raise SystemExit(f"SMTP DATA answered {code}")
            while True:
                text = line()
                if text.endswith(b" EXISTS"):
                    times.append(time.perf_counter() - t250)
                    break
    s.sendall(b"DONE\r\n")
    s.close()
    times.sort()

    def pct(q):
        return round(times[max(0, -(-len(times) * q // 100) - 1)] * 1000, 2)

    return {"push_count": len(times), "push_p50_ms": pct(50), "push_p99_ms": pct(99),
            "push_max_ms": round(times[-1] * 1000, 2)}


def cmd_idle(a):
    deadline = time.monotonic() + a.deadline
    roots = [int(p) for p in a.pids.split(",")]
    users = a.users.split(",")
    time.sleep(1.0)
    before, _ = pss_kib(roots)
    t0 = time.monotonic()
    conns = open_idlers(a.port, users, a.password, a.connections, deadline)
    setup = time.monotonic() - t0
    time.sleep(3.0)   # let allocators and the server's own bookkeeping settle
    after, processes = pss_kib(roots)
    out = {"connections": len(conns), "pss_before_kib": before, "pss_after_kib": after,
           "per_connection_kib": round((after - before) / len(conns), 2), "processes": processes,
           "setup_seconds": round(setup, 2)}
    if a.push_smtp_port:
        out.update(push_latency(a.port, a.push_user, a.password, a.push_smtp_port, a.push, deadline))
    # Every idler must still be there: a server that dropped connections to save memory
    # would otherwise look good.
    dropped = 0
    for c in conns:
        c.sock.setblocking(False)
        try:
            if c.sock.recv(1, socket.MSG_PEEK) == b"":
                dropped += 1
        except BlockingIOError:
            pass
    if dropped:
        raise SystemExit(f"{dropped} idle connections were closed by the server during the measurement")
    for c in conns:
        c.sock.close()
    print(json.dumps(out))
    return 0


def main():
    p = argparse.ArgumentParser(description="idle connections: memory and push latency")
    sub = p.add_subparsers(dest="cmd", required=True)
    i = sub.add_parser("idle")
    i.add_argument("--port", type=int, required=True)
    i.add_argument("--users", required=True)
    i.add_argument("--password", required=True)
    i.add_argument("--connections", type=int, required=True)
    i.add_argument("--pids", required=True)
    i.add_argument("--push-smtp-port", type=int, default=0)
    i.add_argument("--push-user", default="")
    i.add_argument("--push", type=int, default=200)
    i.add_argument("--deadline", type=float, default=900)
    a = p.parse_args()
    return cmd_idle(a)


if __name__ == "__main__":
    sys.exit(main())
