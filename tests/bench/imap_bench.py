#!/usr/bin/python3
# imap_bench.py - the client half of tests/bench/imap_bench.sh: fills mailboxes and runs
# the same IMAP workload against one server, then renders the polder/Dovecot table.
#
#   imap_bench.py seed  --port P --users U1,U2 --password PW --messages M [--clients C]
#       APPENDs M generated messages to the INBOX of each user (not timed) and checks
#       that SELECT then reports exactly M messages.
#   imap_bench.py run   --name NAME --port P --users U1,U2 --password PW --messages M
#                       [--fetch-bodies B] [--searches S] [--stores T] [--appends A] [--run K]
#       One process per user (so the Python client is not limited by the GIL), all
#       starting each phase together (a barrier), one phase after the other:
#         login      LOGIN
#         select     SELECT INBOX
#         headers    FETCH 1:* (UID FLAGS BODY.PEEK[HEADER])  (one command, M messages)
#         bodies     UID FETCH <uid> (BODY.PEEK[])            (B commands, one message each)
#         search_hdr SEARCH HEADER Subject "group-NN"         (S commands)
#         search_body SEARCH BODY "needleNN"                   (S commands)
#         store      UID STORE <uid> +FLAGS (\Flagged)         (T commands; -FLAGS in odd
#                                                               runs K, so each is a change)
#         append     APPEND INBOX                              (A commands)
#         expunge    UID STORE <appended> +FLAGS.SILENT (\Deleted), EXPUNGE (2 commands)
#         logout     LOGOUT
#       Every answer is checked (message counts, search results, EXPUNGE count), so a
#       server that answers fast but wrong fails the run. Prints "NAME phase ops seconds"
#       lines: a phase's time runs from the barrier until the last client finished it.
#   imap_bench.py table RESULTS_FILE
#       RESULTS_FILE holds those lines for "polder" and "dovecot", one set per run; prints
#       ops/s per phase and in total, each the median over the runs, the ratio of the
#       medians polder/dovecot (higher is better for polder), and with several runs the
#       range of the ratio over the runs (run k of polder against run k of Dovecot).
#
# An "op" is one IMAP command; "headers" also shows messages/s because it is one command
# for all M messages.
#
# SECURITY: connects to 127.0.0.1 only, without TLS, with the throwaway accounts the
# shell script created; every socket has a timeout so a stuck server ends the run.
# STANDARDS: RFC 3501 / RFC 9051 (LOGIN, SELECT, FETCH, SEARCH, STORE, APPEND, EXPUNGE,
# LOGOUT), RFC 5322 (the generated messages).
import argparse
import imaplib
import multiprocessing
import re
import statistics
import sys
import threading
import time

TIMEOUT = 300          # seconds for one IMAP answer
PHASE_TIMEOUT = 3600   # seconds for all clients to finish one phase
GROUPS = 20        # Subject "group-NN", NN = i % GROUPS
NEEDLES = 50       # body word "needleNN", NN = i % NEEDLES

PHASES = ["login", "select", "headers", "bodies", "search_hdr", "search_body", "store", "append", "expunge",
          "logout"]

WORDS = ("vergadering gemeente raad besluit begroting agenda meeting council budget decision report "
         "planning project update overzicht bijlage verslag stukken review").split()


def message(i, user):
    """Message i of a mailbox: about 2 KiB, a searchable subject group and body needle."""
    lines = []
    for n in range(24):
        lines.append(" ".join(WORDS[(i * 7 + n * 3 + k) % len(WORDS)] for k in range(12)))
    lines.insert(12, f"Reference needle{i % NEEDLES:02d} for this message.")
    body = "\r\n".join(lines)
    head = (f"From: Sender {i % 37} <sender{i % 37}@bench.example>\r\n"
            f"To: {user}\r\n"
            f"Subject: Bench message {i} group-{i % GROUPS:02d}\r\n"
            f"Date: Mon, 02 Nov 2026 10:{i % 60:02d}:00 +0100\r\n"
            f"Message-ID: <bench-{i}@bench.example>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n")
    return (head + "\r\n" + body + "\r\n").encode()


def connect(port, user, password):
    c = imaplib.IMAP4("127.0.0.1", port, timeout=TIMEOUT)
    check(c.login(user, password), "LOGIN")
    return c


def check(answer, what):
    typ, data = answer
    if typ != "OK":
        raise RuntimeError(f"{what}: {typ} {data!r}")
    return data


def expect(cond, what):
    if not cond:
        raise RuntimeError(what)


def search_numbers(data):
    return [int(x) for x in b" ".join(d for d in data if d).split()]


# ------------------------------------------------------------------------------- seed

def seed_user(args):
    port, user, password, messages = args
    c = connect(port, user, password)
    for i in range(messages):
        check(c.append("INBOX", None, None, message(i, user)), f"APPEND {i} for {user}")
    typ, data = c.select("INBOX")
    check((typ, data), "SELECT")
    expect(int(data[0]) == messages, f"{user}: INBOX has {data[0]!r} messages after seeding, expected {messages}")
    c.logout()
    return user


def seed(a):
    users = a.users.split(",")
    with multiprocessing.get_context("fork").Pool(min(a.clients, len(users))) as pool:
        for _ in pool.imap_unordered(seed_user, [(a.port, u, a.password, a.messages) for u in users]):
            pass


# ------------------------------------------------------------------------------- run

def client(a, user, barrier, queue):
    """Runs every phase for one user; puts (phase, ops) or ("error", text) on queue."""
    def phase(name):
        barrier.wait(PHASE_TIMEOUT)
        return name

    c = None
    try:
        m = a.messages
        phase("login")
        c = imaplib.IMAP4("127.0.0.1", a.port, timeout=TIMEOUT)
        check(c.login(user, a.password), "LOGIN")
        queue.put(("login", 1))

        phase("select")
        typ, data = c.select("INBOX")
        check((typ, data), "SELECT")
        expect(int(data[0]) == m, f"SELECT: {data[0]!r} messages, expected {m}")
        queue.put(("select", 1))

        phase("headers")
        data = check(c.fetch("1:*", "(UID FLAGS BODY.PEEK[HEADER])"), "FETCH headers")
        uids = []
        for item in data:
            if isinstance(item, tuple):
                found = re.search(rb"UID (\d+)", item[0])
                expect(found and b"Subject: Bench message" in item[1], f"FETCH headers: bad item {item[0]!r}")
                uids.append(int(found.group(1)))
        expect(len(uids) == m, f"FETCH headers: {len(uids)} messages, expected {m}")
        uids.sort()
        queue.put(("headers", 1))

        phase("bodies")
        n = min(a.fetch_bodies, m)
        for k in range(n):
            data = check(c.uid("FETCH", str(uids[k * m // n]), "(BODY.PEEK[])"), "UID FETCH body")
            expect(any(isinstance(x, tuple) and b"needle" in x[1] for x in data), "UID FETCH body: no message text")
        queue.put(("bodies", n))

        phase("search_hdr")
        for k in range(a.searches):
            g = k % GROUPS
            found = search_numbers(check(c.search(None, "HEADER", "Subject", f'"group-{g:02d}"'), "SEARCH HEADER"))
            want = len([i for i in range(m) if i % GROUPS == g])
            expect(len(found) == want, f"SEARCH HEADER group-{g:02d}: {len(found)} results, expected {want}")
        queue.put(("search_hdr", a.searches))

        phase("search_body")
        for k in range(a.searches):
            g = k % NEEDLES
            found = search_numbers(check(c.search(None, "BODY", f'"needle{g:02d}"'), "SEARCH BODY"))
            want = len([i for i in range(m) if i % NEEDLES == g])
            expect(len(found) == want, f"SEARCH BODY needle{g:02d}: {len(found)} results, expected {want}")
        queue.put(("search_body", a.searches))

        phase("store")
        t = min(a.stores, m)
        op = "-FLAGS" if a.run % 2 else "+FLAGS"   # a repeated run changes the flag back
        for k in range(t):
            check(c.uid("STORE", str(uids[k]), op, "(\\Flagged)"), "UID STORE")
        queue.put(("store", t))

        phase("append")
        for k in range(a.appends):
            check(c.append("INBOX", None, None, message(m + k, user)), "APPEND")
        queue.put(("append", a.appends))

        phase("expunge")
        if a.appends:
            check(c.uid("STORE", f"{uids[-1] + 1}:*", "+FLAGS.SILENT", "(\\Deleted)"), "UID STORE \\Deleted")
            data = check(c.expunge(), "EXPUNGE")
            gone = [d for d in data if d]
            expect(len(gone) == a.appends, f"EXPUNGE: {len(gone)} messages expunged, expected {a.appends}")
        else:
            check(c.expunge(), "EXPUNGE")
        queue.put(("expunge", 2 if a.appends else 1))

        phase("logout")
        typ, _ = c.logout()
        expect(typ == "BYE", f"LOGOUT: {typ}")
        c = None
        queue.put(("logout", 1))
        barrier.wait(PHASE_TIMEOUT)      # marks the end of the last phase
    except Exception as e:   # report, and release the others instead of letting them wait
        queue.put(("error", f"{user}: {e}"))
        barrier.abort()
        if c is not None:
            try:
                c.shutdown()
            except Exception:
                pass


def run(a):
    users = a.users.split(",")
    ctx = multiprocessing.get_context("fork")
    # The coordinator is one more party: it timestamps each barrier release.
    barrier = ctx.Barrier(len(users) + 1)
    queue = ctx.Queue()
    procs = [ctx.Process(target=client, args=(a, u, barrier, queue)) for u in users]
    for p in procs:
        p.start()
    times = []
    try:
        for _ in range(len(PHASES) + 1):
            barrier.wait(PHASE_TIMEOUT)
            times.append(time.perf_counter())
    except threading.BrokenBarrierError:
        pass
    for p in procs:
        p.join(PHASE_TIMEOUT)
    ops = {name: 0 for name in PHASES}
    errors = []
    while not queue.empty():
        name, value = queue.get()
        if name == "error":
            errors.append(value)
        else:
            ops[name] += value
    if errors or len(times) != len(PHASES) + 1:
        for e in errors or ["a client stopped without a reason"]:
            print(f"imap_bench.py: {a.name}: {e}", file=sys.stderr)
        sys.exit(1)
    for k, name in enumerate(PHASES):
        print(f"{a.name} {name} {ops[name]} {times[k + 1] - times[k]:.6f}")


# ------------------------------------------------------------------------------- table

def table(a):
    runs = {}    # (server, phase) -> [(ops, seconds)] in run order
    info = {}
    with open(a.results) as f:
        for line in f:
            parts = line.split()
            if parts and parts[0] == "info":
                info[parts[1]] = " ".join(parts[2:])
            elif len(parts) == 4:
                runs.setdefault((parts[0], parts[1]), []).append((int(parts[2]), float(parts[3])))
    servers = ["polder", "dovecot"]
    n_runs = max((len(v) for v in runs.values()), default=0)
    head = f"{'phase (ops = IMAP commands)':<44}" + "".join(f"{s + ' ops/s':>14}" for s in servers) + f"{'ratio p/d':>11}"
    if n_runs > 1:
        head += f"{'range':>14}"
    print(head)
    print("-" * len(head))

    def rates(server, name, scale=1):
        return [o * scale / t for o, t in runs.get((server, name), []) if t > 0]

    def line(label, per_server):
        row = f"{label:<44}"
        medians = [statistics.median(v) if v else None for v in per_server]
        for v in medians:
            row += f"{v:>14.1f}" if v is not None else f"{'-':>14}"
        p, d = medians
        row += f"{p / d:>11.2f}" if p and d else f"{'-':>11}"
        if n_runs > 1:
            ratios = [x / y for x, y in zip(*per_server) if y > 0]
            row += f"{min(ratios):>7.2f}-{max(ratios):<6.2f}" if ratios else f"{'-':>14}"
        print(row)

    labels = {
        "login": "LOGIN", "select": "SELECT INBOX",
        "headers": "FETCH 1:* BODY.PEEK[HEADER]",
        "bodies": "UID FETCH BODY.PEEK[] (one message each)",
        "search_hdr": "SEARCH HEADER Subject", "search_body": "SEARCH BODY",
        "store": "UID STORE +FLAGS", "append": "APPEND", "expunge": "STORE \\Deleted + EXPUNGE",
        "logout": "LOGOUT",
    }
    for name in PHASES:
        line(labels[name], [rates(s, name) for s in servers])
        if name == "headers":
            line("  = messages/s", [rates(s, name, int(info.get("messages", "0"))) for s in servers])
    print("-" * len(head))
    totals = []
    for s in servers:
        per_run = [[0, 0.0] for _ in range(n_runs)]
        for name in PHASES:
            for k, (o, t) in enumerate(runs.get((s, name), [])):
                per_run[k][0] += o
                per_run[k][1] += t
        totals.append([o / t for o, t in per_run if t > 0])
    line("all phases (total ops / total time)", totals)
    print("Ratio = polder ops/s divided by Dovecot ops/s (above 1: polder is faster).")
    if n_runs > 1:
        print(f"Each figure is the median of {n_runs} runs; range = the lowest and highest ratio of run k of"
              " polder to run k of Dovecot.")


def main():
    p = argparse.ArgumentParser(description="IMAP benchmark helper (see imap_bench.sh)")
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("seed", "run"):
        s = sub.add_parser(name)
        s.add_argument("--port", type=int, required=True)
        s.add_argument("--users", required=True)
        s.add_argument("--password", required=True)
        s.add_argument("--messages", type=int, required=True)
    sub.choices["seed"].add_argument("--clients", type=int, default=4)
    r = sub.choices["run"]
    r.add_argument("--name", required=True)
    r.add_argument("--fetch-bodies", type=int, default=100)
    r.add_argument("--searches", type=int, default=20)
    r.add_argument("--stores", type=int, default=100)
    r.add_argument("--appends", type=int, default=20)
    r.add_argument("--run", type=int, default=0)
    t = sub.add_parser("table")
    t.add_argument("results")
    a = p.parse_args()
    if a.cmd == "table":
        table(a)
        return
    for v in ("messages",) + (("fetch_bodies", "searches", "stores", "appends") if a.cmd == "run" else ()):
        if getattr(a, v) < (1 if v == "messages" else 0) or getattr(a, v) > 1000000:
            sys.exit(f"imap_bench.py: --{v.replace('_', '-')} out of range")
    {"seed": seed, "run": run}[a.cmd](a)


if __name__ == "__main__":
    main()
