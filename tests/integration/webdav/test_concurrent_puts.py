# test_concurrent_puts.py - many clients PUT into one home at once: the PUTs'
# metadata transactions are batched (db::batch_commit: one transaction and a
# few set-based statements per batch), and each client must still see
# exactly its own outcome: every file stored once, a 201 only once the file
# is readable by anyone, the folder's ETag and sync token advanced, a PUT
# refused for quota (507) failing alone, PUTs of one path in one batch seeing
# each other, several homes in one batch, an account's home made by its
# first batch, and the homes' usage equal to their files' sizes throughout.
#
# SECURITY: the quota is enforced per PUT inside a shared transaction: the
# test checks that exactly as many files as fit are accepted, no more; files
# of a batch holding two accounts' PUTs stay each in its own home.
# STANDARDS: RFC 4918 9.7 (PUT), RFC 6578 (sync-collection), RFC 4331 (quota),
# RFC 9110 9.3.4.
import base64
import hashlib
import http.client
import re
import threading
import urllib.request

from metrics import metric
from parallel import run_parallel


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

CLIENTS = 8
PER_CLIENT = 25
SIZE = 4096


def content(client, i):
    # Distinct bytes per file, so dedup cannot hide a lost or swapped file.
    seed = f"client {client} file {i} ".encode()
    return (seed * (SIZE // len(seed) + 1))[:SIZE]


def put_in_parallel(port, user, password, folder, clients, per_client, readback):
    """Each client PUTs per_client files on one keep-alive connection, all
    clients starting together; returns {path: (status, body)}."""
    results = {}
    lock = threading.Lock()
    start = threading.Barrier(clients)

    def worker(client):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        auth = {"Authorization": basic(user, password)}
        start.wait(timeout=30)
        for i in range(per_client):
            path = f"{folder}c{client}-{i}.bin"
            body = content(client, i)
            conn.request("PUT", path, body=body, headers=dict(auth, **{"Content-Type": "application/octet-stream"}))
            r = conn.getresponse()
            r.read()
            got = None
            if readback and r.status == 201:
                # Answered means committed: the same connection reads it back at once.
                conn.request("GET", path, headers=auth)
                g = conn.getresponse()
                got = (g.status, g.read())
            with lock:
                results[path] = (r.status, got, body)
        conn.close()

    run_parallel(worker, clients, timeout=120)
    return results


def batch_histogram(admin_port):
    with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=5) as r:
        text = r.read().decode()
    count = re.search(r"^polder_db_group_commit_batch_size_count(?:\{\})? (\S+)$", text, re.M)
    ones = re.search(r'^polder_db_group_commit_batch_size_bucket\{le="1(?:\.0)?"\} (\S+)$', text, re.M)
    total = re.search(r"^polder_db_group_commit_batch_size_sum(?:\{\})? (\S+)$", text, re.M)
    assert count and ones and total, "group commit metrics missing"
    return float(count.group(1)), float(ones.group(1)), float(total.group(1))


def propfind_members(dav, folder):
    status, _, body = dav("PROPFIND", folder, headers={"Depth": "1"},
                          body='<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:getcontentlength/>'
                               '</D:prop></D:propfind>')
    assert status == 207
    return re.findall(rb"<D:href>([^<]+)</D:href>", body), body


def folder_etag(dav, folder):
    status, _, body = dav("PROPFIND", folder, headers={"Depth": "0"},
                          body='<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>')
    assert status == 207
    return re.search(rb"<D:getetag>([^<]+)<", body).group(1)


def sync_report(dav, folder, token):
    return dav("REPORT", folder, headers={"Depth": "0"},
               body=f'<D:sync-collection xmlns:D="DAV:"><D:sync-token>{token}</D:sync-token>'
                    f'<D:sync-level>infinite</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>')


def test_concurrent_puts_into_one_folder_are_each_stored_once_and_visible_when_answered(webdav, dav, dav_org):
    folder = dav_org.home() + "batch/"
    assert dav("MKCOL", folder)[0] == 201
    status, _, body = sync_report(dav, folder, "")
    assert status == 207
    token = re.search(rb"<D:sync-token>([^<]+)</D:sync-token>", body).group(1).decode()
    etag_before = folder_etag(dav, folder)
    count_before, ones_before, sum_before = batch_histogram(webdav.admin_port)

    results = put_in_parallel(webdav.port("http"), dav_org.alice, dav_org.password, folder,
                              CLIENTS, PER_CLIENT, readback=True)
    assert len(results) == CLIENTS * PER_CLIENT
    for path, (status, got, body) in results.items():
        assert status == 201, (path, status)
        assert got == (200, body), path

    # Every file exactly once in the listing, with its own content.
    hrefs, listing = propfind_members(dav, folder)
    files = [h for h in hrefs if h.endswith(b".bin")]
    assert len(files) == len(set(files)) == CLIENTS * PER_CLIENT
    for path, (_, _, body) in list(results.items())[::37]:
        status, headers, data = dav("GET", path)
        assert status == 200 and hashlib.sha256(data).digest() == hashlib.sha256(body).digest()

    # Folder ETag and sync token advanced; the report lists every new file.
    assert folder_etag(dav, folder) != etag_before
    status, _, body = sync_report(dav, folder, token)
    assert status == 207
    reported = set(re.findall(rb"<D:href>([^<]+\.bin)</D:href>", body))
    assert reported == set(files)

    # The metadata went through the group commit, and some batch held more
    # than one PUT (8 clients waiting on one home's row lock queue up).
    count, ones, total = batch_histogram(webdav.admin_port)
    assert total - sum_before >= CLIENTS * PER_CLIENT
    assert (count - count_before) < (total - sum_before), "every batch held a single PUT"
    assert (count - count_before) - (ones - ones_before) >= 1


def test_puts_refused_for_quota_in_a_shared_batch_do_not_fail_the_others(webdav, dav, dav_org, polderctl):
    fits = 10
    polderctl.ok("quota", "set", dav_org.bob, f"{fits * SIZE // 1024}K")
    try:
        folder = dav_org.home(dav_org.bob)
        results = put_in_parallel(webdav.port("http"), dav_org.bob, dav_org.password, folder,
                                  CLIENTS, 4, readback=False)
        statuses = [s for s, _, _ in results.values()]
        assert set(statuses) <= {201, 507}, statuses
        assert statuses.count(201) == fits, statuses
        for path, (status, _, body) in results.items():
            code, _, data = dav("GET", path, user=dav_org.bob)
            if status == 201:
                assert (code, data) == (200, body), path
            else:
                assert code == 404, path
        status, _, body = dav("PROPFIND", folder, user=dav_org.bob, headers={"Depth": "0"},
                              body='<D:propfind xmlns:D="DAV:"><D:prop><D:quota-used-bytes/></D:prop></D:propfind>')
        assert status == 207
        assert int(re.search(rb"<D:quota-used-bytes>(\d+)<", body).group(1)) == fits * SIZE
    finally:
        polderctl.ok("quota", "set", dav_org.bob, "unlimited")


def test_changes_of_one_transaction_share_one_modseq(pg, database, dav, dav_org):
    # files.begin_change (schema 0303): the first change of a home in a
    # transaction takes the next modseq, later ones in the same transaction get
    # the same; a new transaction takes the next; a rolled-back savepoint
    # forgets what it took.
    assert dav("PUT", dav_org.home() + "modseq-probe.txt", body=b"probe")[0] == 201
    conn = pg.connect(database, autocommit=False)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT h.id FROM files.homes h JOIN directory.accounts a ON a.id = h.account_id "
                        "WHERE a.address = %s", (dav_org.alice,))
            home = cur.fetchone()[0]

            def take():
                cur.execute("SELECT modseq FROM files.begin_change(%s)", (home,))
                return cur.fetchone()[0]

            first = take()
            assert take() == first and take() == first
            conn.commit()
            second = take()
            assert second == first + 1 and take() == second
            conn.rollback()
            cur.execute("SAVEPOINT s")
            third = take()
            assert third == first + 1   # the rolled-back transaction's modseq was not kept
            cur.execute("ROLLBACK TO SAVEPOINT s")
            assert take() == third      # taken again: the savepoint's setting is gone with it
            conn.commit()
            cur.execute("SELECT modseq FROM files.homes WHERE id = %s", (home,))
            assert cur.fetchone()[0] == third
            with_missing = None
            try:
                cur.execute("SELECT modseq FROM files.begin_change(-1)")
            except Exception as e:   # no such home: an error, never a made-up modseq
                with_missing = e
            assert with_missing is not None
            conn.rollback()
    finally:
        conn.close()


def usage_matches_nodes(pg, database):
    """files.homes.used_bytes against the sum of its files' sizes, for every home."""
    conn = pg.connect(database)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT h.id, h.used_bytes, coalesce(sum(n.size), 0) FROM files.homes h "
                        "LEFT JOIN files.nodes n ON n.home_id = h.id GROUP BY h.id, h.used_bytes")
            return [(home, used, total) for home, used, total in cur.fetchall() if used != total]
    finally:
        conn.close()


def test_concurrent_puts_to_one_path_in_a_batch_each_see_the_one_before(webdav, dav, dav_org):
    # PUTs of one batch are checked in arrival order against what the earlier
    # ones of the batch wrote (cmd_put.cpp, run_puts): the first creates the
    # file (201), every later one replaces it (204) and keeps a version; no
    # PUT fails on the key the earlier one just took.
    folder = dav_org.home() + "same-path/"
    assert dav("MKCOL", folder)[0] == 201
    path = folder + "shared.txt"
    statuses = []
    bodies = set()
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS)

    def worker(client):
        conn = http.client.HTTPConnection("127.0.0.1", webdav.port("http"), timeout=60)
        auth = {"Authorization": basic(dav_org.alice, dav_org.password)}
        start.wait(timeout=30)
        for i in range(4):
            body = content(client, i)
            conn.request("PUT", path, body=body, headers=auth)
            r = conn.getresponse()
            r.read()
            with lock:
                statuses.append(r.status)
                bodies.add(body)
        conn.close()

    run_parallel(worker, CLIENTS, timeout=120)
    assert sorted(set(statuses)) == [201, 204], statuses
    assert statuses.count(201) == 1, statuses
    status, _, data = dav("GET", path)
    assert status == 200 and data in bodies
    hrefs, _ = propfind_members(dav, folder)
    assert [h for h in hrefs if h.endswith(b"shared.txt")] == [path.encode()]


def test_a_batch_with_several_homes_keeps_each_file_in_its_own(webdav, dav, dav_org, pg, database):
    # One batch locks every home it writes, in ascending order, and each PUT
    # lands in its own account's home: alice's and bob's clients at once.
    results = {}
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS)
    users = [dav_org.alice, dav_org.bob]

    def worker(client):
        user = users[client % 2]
        conn = http.client.HTTPConnection("127.0.0.1", webdav.port("http"), timeout=60)
        auth = {"Authorization": basic(user, dav_org.password)}
        start.wait(timeout=30)
        for i in range(10):
            path = f"{dav_org.home(user)}mixed-c{client}-{i}.bin"
            body = content(client, i)
            conn.request("PUT", path, body=body, headers=auth)
            r = conn.getresponse()
            r.read()
            with lock:
                results[path] = (user, r.status, body)
        conn.close()

    run_parallel(worker, CLIENTS, timeout=120)
    assert {s for _, s, _ in results.values()} == {201}
    for path, (user, _, body) in results.items():
        other = dav_org.bob if user == dav_org.alice else dav_org.alice
        assert dav("GET", path, user=user)[::2] == (200, body), path
        assert dav("GET", path, user=other)[0] in (403, 404), path
        # The other's home has no such name either.
        assert dav("GET", dav_org.home(other) + path.rsplit("/", 1)[1], user=other)[0] == 404
    assert usage_matches_nodes(pg, database) == []


def test_an_accounts_first_requests_can_be_concurrent_puts(webdav, dav, dav_org, polderctl, pg, database):
    # A new account's home is made by the batch that first needs it
    # (open_home inside run_puts), once, however many of its PUTs share it.
    user = f"carol@{dav_org.domain}"
    polderctl.ok("user", "add", user, "--password-stdin", input=dav_org.password + "\n")
    results = put_in_parallel(webdav.port("http"), user, dav_org.password, dav_org.home(user),
                              CLIENTS, 3, readback=True)
    assert {s for s, _, _ in results.values()} == {201}
    for path, (_, got, body) in results.items():
        assert got == (200, body), path
    conn = pg.connect(database)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM files.homes h JOIN directory.accounts a ON a.id = h.account_id "
                        "WHERE a.address = %s", (user,))
            assert cur.fetchone()[0] == 1
    finally:
        conn.close()
    assert usage_matches_nodes(pg, database) == []


def test_usage_follows_batched_inserts_overwrites_and_deletes(webdav, dav, dav_org, pg, database):
    # The quota triggers (schema 0304): statement-level for INSERT and DELETE
    # (one update of the home's row per statement, from the transition
    # tables), row-level for a size change.
    folder = dav_org.home(dav_org.bob) + "usage/"
    assert dav("MKCOL", folder, user=dav_org.bob)[0] == 201
    put_in_parallel(webdav.port("http"), dav_org.bob, dav_org.password, folder, CLIENTS, 3, readback=False)
    assert usage_matches_nodes(pg, database) == []
    assert dav("PUT", folder + "c0-0.bin", body=b"smaller now", user=dav_org.bob)[0] == 204
    assert dav("MKCOL", folder + "sub/", user=dav_org.bob)[0] == 201
    assert dav("PUT", folder + "sub/deep.bin", body=b"x" * 1000, user=dav_org.bob)[0] == 201
    assert usage_matches_nodes(pg, database) == []
    # A folder's deletion removes its subtree (a cascade of DELETE statements).
    assert dav("DELETE", folder, user=dav_org.bob)[0] == 204
    assert usage_matches_nodes(pg, database) == []


def run_cases(port, user, password, cases, rounds):
    """cases: one function per client, case(round) -> (method, path, headers, body, expected status);
    all clients start together on keep-alive connections. Returns {client: [(status, expected)]}."""
    seen = {}
    lock = threading.Lock()
    start = threading.Barrier(len(cases))

    def worker(client):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        start.wait(timeout=30)
        got = []
        for i in range(rounds):
            method, path, headers, body, expected = cases[client](i)
            conn.request(method, path, body=body, headers=dict(headers, Authorization=basic(user, password)))
            r = conn.getresponse()
            r.read()
            got.append((r.status, expected, path))
        conn.close()
        with lock:
            seen[client] = got

    run_parallel(worker, len(cases), timeout=120)
    return seen


def test_new_files_are_one_statement_and_every_other_put_of_the_batch_still_gets_its_answer(webdav, dav, dav_org,
                                                                                           pg, database):
    # Batches of concurrent PUTs first go through files.put_new_files (schema
    # 0305: one statement, no BEGIN/COMMIT), which creates new files and
    # answers 409/405 itself, and leaves overwrites and conditional PUTs to the
    # batch's transaction. Eight clients send one kind of PUT each, all at
    # once, so batches mix them; each must get exactly the answer a PUT alone
    # would get.
    folder = dav_org.home() + "one-statement/"
    assert dav("MKCOL", folder)[0] == 201
    assert dav("MKCOL", folder + "sub/")[0] == 201
    assert dav("PUT", folder + "old.txt", body=b"first")[0] == 201
    assert dav("PUT", folder + "a-file", body=b"not a folder")[0] == 201
    singles = metric(webdav.admin_port, "polder_db_group_commit_single_statements_total")
    none = {}

    def new(client):
        return lambda i: ("PUT", f"{folder}n{client}-{i}.bin", none, sized(client, i), 201)

    def sized(client, i):
        # Client 7's files take turns: empty, in the blob store (over
        # inline_max_bytes), kept in the database; the others' are 4 KiB.
        if client != 7:
            return content(client, i)
        return [b"", content(client, i) * 10, content(client, i)][i % 3]

    cases = [
        new(0),
        lambda i: ("PUT", f"{folder}missing/x-{i}.bin", none, b"x", 409),            # no parent
        lambda i: ("PUT", f"{folder}a-file/x-{i}.bin", none, b"x", 409),             # the parent is a file
        lambda i: ("PUT", folder + "sub", none, b"x", 405),                            # a collection is there
        lambda i: ("PUT", folder + "old.txt", none, f"version {i}".encode(), 204),     # an overwrite
        lambda i: ("PUT", f"{folder}im-{i}.bin", {"If-Match": '"nope"'}, b"x", 412),   # If-Match, nothing there
        lambda i: ("PUT", f"{folder}inm-{i}.bin", {"If-None-Match": "*"}, b"new", 201),
        new(7),
    ]
    rounds = 12
    seen = run_cases(webdav.port("http"), dav_org.alice, dav_org.password, cases, rounds)
    for client, got in seen.items():
        for status, expected, path in got:
            assert status == expected, (client, path, status)
    # Once created, the If-None-Match file refuses a second create.
    assert dav("PUT", f"{folder}inm-0.bin", body=b"again", headers={"If-None-Match": "*"})[0] == 412
    for i in range(rounds):
        assert dav("GET", f"{folder}n0-{i}.bin")[::2] == (200, content(0, i))
        assert dav("GET", f"{folder}n7-{i}.bin")[::2] == (200, sized(7, i))
        assert dav("GET", f"{folder}inm-{i}.bin")[::2] == (200, b"new")
        assert dav("GET", f"{folder}im-{i}.bin")[0] == 404
    assert dav("GET", folder + "old.txt")[::2] == (200, f"version {rounds - 1}".encode())
    assert dav("GET", folder + "missing/")[0] == 404
    assert metric(webdav.admin_port, "polder_db_group_commit_single_statements_total") > singles
    assert usage_matches_nodes(pg, database) == []


def test_puts_into_a_home_with_a_lock_take_the_transaction_and_honour_it(webdav, dav, dav_org, pg, database):
    # A home with any live lock is left by the one statement: the lock rules
    # (RFC 4918 7) need the If header, which only the transaction evaluates.
    folder = dav_org.home(dav_org.bob) + "locked-home/"
    assert dav("MKCOL", folder, user=dav_org.bob)[0] == 201
    assert dav("PUT", folder + "held.txt", body=b"held", user=dav_org.bob)[0] == 201
    status, headers, _ = dav("LOCK", folder + "held.txt", user=dav_org.bob, headers={"Timeout": "Second-600"},
                             body='<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope>'
                                  '<D:locktype><D:write/></D:locktype></D:lockinfo>')
    assert status == 200
    token = headers["lock-token"]
    try:
        none = {}
        cases = [
            lambda i: ("PUT", f"{folder}free-{i}.bin", none, content(0, i), 201),
            lambda i: ("PUT", folder + "held.txt", none, b"no token", 423),
            lambda i: ("PUT", folder + "held.txt", {"If": f"({token})"}, f"with token {i}".encode(), 204),
            lambda i: ("PUT", f"{folder}free-b-{i}.bin", none, content(1, i), 201),
        ]
        seen = run_cases(webdav.port("http"), dav_org.bob, dav_org.password, cases, 8)
        for client, got in seen.items():
            for status, expected, path in got:
                assert status == expected, (client, path, status)
        assert dav("GET", folder + "held.txt", user=dav_org.bob)[::2] == (200, b"with token 7")
        assert dav("GET", f"{folder}free-3.bin", user=dav_org.bob)[::2] == (200, content(0, 3))
    finally:
        assert dav("UNLOCK", folder + "held.txt", user=dav_org.bob, headers={"Lock-Token": token})[0] == 204
    assert usage_matches_nodes(pg, database) == []


def test_batches_of_overwrites_soon_skip_the_one_statement(webdav, dav, dav_org, pg, database):
    # A batch of overwrites is left whole by files.put_new_files: a round trip for
    # nothing. After two such batches in a row only every eighth batch tries it
    # (service::put_new_files), until one is decided again; every PUT still gets 204.
    folder = dav_org.home() + "overwrites/"
    assert dav("MKCOL", folder)[0] == 201
    for client in range(CLIENTS):
        assert dav("PUT", f"{folder}f{client}.bin", body=b"first")[0] == 201
    singles = metric(webdav.admin_port, "polder_db_group_commit_single_statements_total")
    batches = metric(webdav.admin_port, "polder_db_group_commit_batch_size_count")
    cases = [(lambda c: lambda i: ("PUT", f"{folder}f{c}.bin", {}, content(c, i), 204))(c) for c in range(CLIENTS)]
    seen = run_cases(webdav.port("http"), dav_org.alice, dav_org.password, cases, 20)
    for client, got in seen.items():
        for status, expected, path in got:
            assert status == expected, (client, path, status)
    tried = metric(webdav.admin_port, "polder_db_group_commit_single_statements_total") - singles
    ran = metric(webdav.admin_port, "polder_db_group_commit_batch_size_count") - batches
    assert ran >= 8, ran
    assert tried <= ran / 8 + 3, (tried, ran)
    for client in range(CLIENTS):
        assert dav("GET", f"{folder}f{client}.bin")[::2] == (200, content(client, 19))
    # New files are taken by the statement again (after at most eight batches).
    results = put_in_parallel(webdav.port("http"), dav_org.alice, dav_org.password, folder, CLIENTS, 6,
                              readback=False)
    assert {s for s, _, _ in results.values()} == {201}
    assert metric(webdav.admin_port, "polder_db_group_commit_single_statements_total") > singles + tried
    assert usage_matches_nodes(pg, database) == []
