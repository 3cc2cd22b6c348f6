#!/usr/bin/python3
# smtp_bench.py - helpers of tests/bench/smtp_bench.sh (not a test, not a library):
#
#   latency HOST PORT --from A --to B --count N --size BYTES [--deadline S]
#       one SMTP session (smtplib) sending N messages of about BYTES octets; for each it
#       times from the last octet of "<CRLF>.<CRLF>" to the final reply and prints a
#       JSON line {"count", "p50_ms", "p99_ms", "max_ms", "codes"}. Every reply must be
#       250, otherwise the exit status is 1.
#   histogram URL NAME
#       reads a Prometheus text page (the admin port's /metrics) and prints a JSON line
#       {"count", "p50_ms", "p99_ms"} for histogram NAME, interpolated linearly inside
#       the bucket (so the figures have the resolution of the buckets).
#   wait-files DIR COUNT TIMEOUT
#       waits until the new/ and cur/ folders under DIR (a maildir) hold at least COUNT
#       files; prints the count; exit 1 on timeout.
#
# SECURITY: talks only to the loopback addresses the script gives it; every network
# call and wait has a time limit.
# STANDARDS: RFC 5321 (DATA, final reply), Prometheus text exposition format 0.0.4.
import argparse
import json
import os
import smtplib
import sys
import time
import urllib.request


def percentile(sorted_values, q):
    if not sorted_values:
        return None
    # Nearest-rank: the smallest value with at least q of the sample at or below it.
    rank = max(1, -(-len(sorted_values) * q // 100))
    return sorted_values[int(rank) - 1]


def message(sender, rcpt, size, n):
    head = (f"From: <{sender}>\r\nTo: <{rcpt}>\r\nSubject: latency sample {n}\r\n"
            f"Message-ID: <sample-{n}-{os.getpid()}@bench.example>\r\n"
            f"Date: {time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime())}\r\n\r\n")
    line = "X" * 78 + "\r\n"
    body = line * max(1, (size - len(head)) // len(line))
    return (head + body).encode()


def cmd_latency(a):
    times, codes = [], {}
    deadline = time.monotonic() + a.deadline
    with smtplib.SMTP(a.host, a.port, timeout=60) as s:
        s.ehlo("latency.bench.example")
        for n in range(a.count):
            if time.monotonic() > deadline:
                break
            code, _ = s.mail(a.sender)
            if code != 250:
                raise SystemExit(f"MAIL FROM: {code}")
            code, _ = s.rcpt(a.rcpt)
            if code != 250:
                raise SystemExit(f"RCPT TO: {code}")
            s.putcmd("data")
            code, _ = s.getreply()
            if code != 354:
                raise SystemExit(f"DATA: {code}")
            s.send(message(a.sender, a.rcpt, a.size, n) + b".\r\n")
            t0 = time.perf_counter()
            code, _ = s.getreply()
            times.append(time.perf_counter() - t0)
            codes[str(code)] = codes.get(str(code), 0) + 1
    times.sort()
    out = {"count": len(times), "codes": codes,
           "p50_ms": round(percentile(times, 50) * 1000, 2) if times else None,
           "p99_ms": round(percentile(times, 99) * 1000, 2) if times else None,
           "max_ms": round(times[-1] * 1000, 2) if times else None}
    print(json.dumps(out))
    return 0 if times and set(codes) == {"250"} else 1


def cmd_histogram(a):
    with urllib.request.urlopen(a.url, timeout=10) as r:
        text = r.read().decode()
    buckets = []   # (upper bound, cumulative count)
    for line in text.splitlines():
        if not line.startswith(a.name + "_bucket"):
            continue
        labels, value = line.rsplit(" ", 1)
        le = labels.split('le="', 1)[1].split('"', 1)[0]
        buckets.append((float("inf") if le == "+Inf" else float(le), float(value)))
    if not buckets:
        raise SystemExit(f"histogram {a.name} not found at {a.url}")
    buckets.sort()
    total = buckets[-1][1]

    def quantile(q):
        if total == 0:
            return None
        want = total * q
        lower_bound, lower_count = 0.0, 0.0
        for bound, count in buckets:
            if count >= want:
                if bound == float("inf"):
                    return lower_bound   # beyond the last bucket: its bound is all we know
                inside = count - lower_count
                frac = (want - lower_count) / inside if inside else 1.0
                return lower_bound + (bound - lower_bound) * frac
            lower_bound, lower_count = bound, count
        return lower_bound

    p50, p99 = quantile(0.5), quantile(0.99)
    print(json.dumps({"count": int(total),
                      "p50_ms": round(p50 * 1000, 2) if p50 is not None else None,
                      "p99_ms": round(p99 * 1000, 2) if p99 is not None else None}))
    return 0


def count_files(root):
    n = 0
    for d, _, files in os.walk(root):
        # Only messages: Dovecot keeps its index and uidlist files beside new/ and cur/.
        if os.path.basename(d) in ("new", "cur"):
            n += len(files)
    return n


def cmd_wait_files(a):
    deadline = time.monotonic() + a.timeout
    while True:
        n = count_files(a.dir) if os.path.isdir(a.dir) else 0
        if n >= a.count or time.monotonic() > deadline:
            print(n)
            return 0 if n >= a.count else 1
        time.sleep(0.05)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    lat = sub.add_parser("latency")
    lat.add_argument("host")
    lat.add_argument("port", type=int)
    lat.add_argument("--from", dest="sender", required=True)
    lat.add_argument("--to", dest="rcpt", required=True)
    lat.add_argument("--count", type=int, default=200)
    lat.add_argument("--size", type=int, default=20480)
    lat.add_argument("--deadline", type=float, default=600)
    h = sub.add_parser("histogram")
    h.add_argument("url")
    h.add_argument("name")
    w = sub.add_parser("wait-files")
    w.add_argument("dir")
    w.add_argument("count", type=int)
    w.add_argument("timeout", type=float)
    a = p.parse_args()
    return {"latency": cmd_latency, "histogram": cmd_histogram, "wait-files": cmd_wait_files}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
