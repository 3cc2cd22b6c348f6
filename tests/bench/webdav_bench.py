#!/usr/bin/python3
# webdav_bench.py - the small-request half of tests/bench/webdav_bench.sh:
# many small PUTs over parallel keep-alive connections, and repeated PROPFIND
# Depth 1 on the folder they filled. Also renders the final table.
#
#   webdav_bench.py put-many  --base URL --user U --password P --files N --size B --clients C
#       MKCOL URL (201, or 405 if it exists), then C threads, each with ONE
#       keep-alive http.client connection, PUT files f00000..f(N-1) of B bytes;
#       prints "files_per_s <value>". Any status other than 201/204 fails.
#   webdav_bench.py propfind  --base URL --user U --password P --runs R --expect N
#       R x PROPFIND Depth 1 (allprop) on URL over one keep-alive connection;
#       checks the 207 lists N members (+ the folder); prints "median_ms <value>".
#   webdav_bench.py get       --base URL --user U --password P
#       GET URL (one file), reading the body into a 1 MiB buffer and dropping it;
#       prints "<status> <bytes> <seconds>". curl -o /dev/null writes what it
#       receives in 8 KiB pieces and was the limit of the big GET (2-3 GB/s against
#       any of the three servers, where this client reads 3-4 GB/s from the same
#       server); the same client for all three keeps the comparison fair.
#   webdav_bench.py table RESULTS_FILE
#       RESULTS_FILE has "server metric value" lines, one per round; prints the
#       medians, the ratios of the medians and (several rounds) the ratios' ranges.
#
# SECURITY: talks to 127.0.0.1 only (the URL is refused otherwise); Basic
# credentials of a throwaway benchmark account; every socket has a timeout so
# a stuck server ends the run instead of hanging it.
# STANDARDS: RFC 4918 (MKCOL, PUT, PROPFIND Depth 1), RFC 9112 (persistent
# connections), RFC 7617 (Basic).
import argparse
import base64
import http.client
import re
import statistics
import sys
import threading
import time
import urllib.parse

TIMEOUT = 120


def connect(base):
    u = urllib.parse.urlsplit(base)
    if u.scheme != "http" or u.hostname != "127.0.0.1":
        sys.exit(f"webdav_bench.py: refusing non-loopback URL {base}")
    return http.client.HTTPConnection(u.hostname, u.port, timeout=TIMEOUT), u.path.rstrip("/") + "/"


def auth_header(user, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def request(conn, method, path, headers, body=None):
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    data = r.read()     # drain, so the connection can carry the next request
    return r.status, data


def put_many(a):
    conn, folder = connect(a.base)
    h = auth_header(a.user, a.password)
    status, body = request(conn, "MKCOL", folder, h)
    if status not in (201, 405):
        sys.exit(f"MKCOL {folder}: {status} {body[:200]!r}")
    conn.close()
    payload = bytes((i * 7 + 13) % 251 for i in range(a.size))
    errors = []
    lock = threading.Lock()
    counter = iter(range(a.files))

    def worker():
        c, _ = connect(a.base)
        hh = dict(h, **{"Content-Type": "application/octet-stream"})
        try:
            while True:
                with lock:
                    n = next(counter, None)
                if n is None or errors:
                    return
                st, data = request(c, "PUT", f"{folder}f{n:05d}", hh, payload)
                if st not in (201, 204):
                    errors.append(f"PUT f{n:05d}: {st} {data[:200]!r}")
                    return
        except (OSError, http.client.HTTPException) as e:
            errors.append(f"worker: {e!r}")
        finally:
            c.close()

    threads = [threading.Thread(target=worker) for _ in range(a.clients)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - start
    if errors:
        sys.exit("put-many failed: " + errors[0])
    print(f"files_per_s {a.files / took:.1f}")


def get_big(a):
    """a.times GETs of the file, one connection each; prints the first bad status (or
    200), the fewest bytes any of them got, and the median time of one GET."""
    u = urllib.parse.urlsplit(a.base)
    if u.scheme != "http" or u.hostname != "127.0.0.1":
        sys.exit(f"webdav_bench.py: refusing non-loopback URL {a.base}")
    buf = memoryview(bytearray(1 << 20))
    status, fewest, times = 200, None, []
    for _ in range(a.times):
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=TIMEOUT)
        got = 0
        start = time.perf_counter()
        conn.request("GET", u.path, headers=auth_header(a.user, a.password))
        r = conn.getresponse()
        while True:
            n = r.readinto(buf)
            if not n:
                break
            got += n
        times.append(time.perf_counter() - start)
        conn.close()
        if r.status != 200 and status == 200:
            status = r.status
        fewest = got if fewest is None else min(fewest, got)
    print(f"{status} {fewest} {statistics.median(times):.6f}")


def propfind(a):
    conn, folder = connect(a.base)
    h = dict(auth_header(a.user, a.password), Depth="1", **{"Content-Type": "application/xml"})
    body = b'<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>'
    times = []
    for _ in range(a.runs):
        start = time.perf_counter()
        status, data = request(conn, "PROPFIND", folder, h, body)
        times.append((time.perf_counter() - start) * 1000)
        if status != 207:
            sys.exit(f"PROPFIND {folder}: {status} {data[:200]!r}")
        # Count closing tags: opening ones may carry xmlns attributes (Apache).
        members = len(re.findall(rb"</(?:[A-Za-z][\w.-]*:)?response>", data))
        if members != a.expect + 1:
            sys.exit(f"PROPFIND {folder}: {members} responses, expected {a.expect + 1}")
    conn.close()
    print(f"median_ms {statistics.median(times):.2f}")


METRICS = [("put_big", "PUT {size} (MB/s)", True), ("get_big", "GET {size} (MB/s)", True),
           ("put_small", "PUT {files} x 4 KiB, 8 clients (files/s)", True),
           ("propfind", "PROPFIND Depth 1, {files} members (median ms)", False)]


def table(a):
    runs = {}    # (server, metric) -> values in round order
    info = {}
    with open(a.results) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[0] == "info":
                info[parts[1]] = parts[2]
            elif len(parts) == 3:
                runs.setdefault((parts[0], parts[1]), []).append(float(parts[2]))
    servers = ["polder", "apache", "nginx"]
    rounds = max((len(v) for v in runs.values()), default=0)

    def median(server, key):
        v = runs.get((server, key))
        return statistics.median(v) if v else None

    def ratio_range(key, other):
        pairs = [p / o for p, o in zip(runs.get(("polder", key), []), runs.get((other, key), [])) if o]
        return f"{min(pairs):.2f}-{max(pairs):.2f}" if pairs else "-"

    head = f"{'measure':<46}" + "".join(f"{s:>10}" for s in servers) + f"{'p/apache':>10}{'p/nginx':>10}"
    if rounds > 1:
        head += f"{'range p/a':>12}{'range p/n':>12}"
    print(head)
    print("-" * len(head))
    for key, label, _ in METRICS:
        label = label.format(size=info.get("size", "?"), files=info.get("files", "?"))
        row = f"{label:<46}"
        for s in servers:
            v = median(s, key)
            row += f"{v:>10.1f}" if v is not None else f"{'-':>10}"
        p = median("polder", key)
        for other in ("apache", "nginx"):
            o = median(other, key)
            row += f"{p / o:>10.2f}" if p is not None and o else f"{'-':>10}"
        if rounds > 1:
            row += f"{ratio_range(key, 'apache'):>12}{ratio_range(key, 'nginx'):>12}"
        print(row)
    local = median("local", "cat_big")
    loopback = median("local", "loopback")
    size = info.get("size", "?")
    if local is not None:
        print(f"{'cat ' + size + ' > /dev/null (MB/s, local limit)':<46}{local:>10.1f}")
    if loopback is not None:
        print(f"{'iperf3 -Z, 1 TCP stream, 3 s (MB/s, loopback)':<46}{loopback:>10.1f}")
    write = median("local", "write_big")
    if write is not None:
        print(f"{'dd ' + size + ' with fsync (MB/s, local write)':<46}{write:>10.1f}")
    for key, limit, name in (("get_big", local, "GET / local limit"), ("get_big", loopback, "GET / loopback TCP"),
                             ("put_big", local, "PUT / local limit"), ("put_big", write, "PUT / local write")):
        if limit is None:
            continue
        row = f"{name:<46}"
        for s in servers:
            v = median(s, key)
            row += f"{v / limit:>10.2f}" if v is not None else f"{'-':>10}"
        print(row)
    if local is not None and loopback is not None:
        print(f"{'loopback TCP / local limit':<46}{loopback / local:>10.2f}")
    print("Ratios are polder divided by the other; for MB/s and files/s higher is better, "
          "for PROPFIND ms lower is better.")
    if rounds > 1:
        print(f"Each figure is the median of {rounds} rounds; a range is the lowest and highest ratio "
              "of round k of polder to round k of the other.")


def main():
    p = argparse.ArgumentParser(description="WebDAV benchmark helper (see webdav_bench.sh)")
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("put-many", "propfind", "get"):
        s = sub.add_parser(name)
        s.add_argument("--base", required=True)
        s.add_argument("--user", required=True)
        s.add_argument("--password", required=True)
    pm = sub.choices["put-many"]
    pm.add_argument("--files", type=int, default=2000)
    pm.add_argument("--size", type=int, default=4096)
    pm.add_argument("--clients", type=int, default=8)
    pf = sub.choices["propfind"]
    pf.add_argument("--runs", type=int, default=20)
    pf.add_argument("--expect", type=int, required=True)
    sub.choices["get"].add_argument("--times", type=int, default=3)
    t = sub.add_parser("table")
    t.add_argument("results")
    a = p.parse_args()
    try:
        {"put-many": put_many, "propfind": propfind, "get": get_big, "table": table}[a.cmd](a)
    except (OSError, http.client.HTTPException) as e:
        sys.exit(f"webdav_bench.py {a.cmd}: {e!r}")


if __name__ == "__main__":
    main()
