# test_fast_paths.py - the shortcuts polder-imapd takes for throughput keep the protocol
# exact: the login cache (a repeated login skips Argon2id; a wrong password never passes),
# APPEND to the selected mailbox announced without a resync (EXISTS, RECENT for exactly
# one session), one-statement STORE and FETCH of header sections in batches, SEARCH
# HEADER with its prefilter matching only the named field; and those of schema 0106 and
# after: the PL/pgSQL flag functions (keywords case-insensitive), one-UID STOREs (each
# change its own higher modseq), whole-message sections from the root's offsets only,
# APPEND without the pre-check to the selected mailbox (quota still enforced) and
# concurrent APPENDs and STOREs (UIDs and modseqs strictly ascending, none lost); and a
# session's view following its own STOREs, also those that change nothing, without a
# resync, while other sessions' changes still reach it; and the STOREs of a batch in one
# statement (schema 0108) for every kind of STORE; and small APPENDs kept in PostgreSQL
# instead of the blob store (schema 0109), every section read from there exactly; and
# SEARCHes answered alike whether their SQL runs prepared or not, and whether polder-imapd
# decides them from its header cache or PostgreSQL does.

import base64
import hashlib
import re
import time
import urllib.request

import psycopg2
import pytest

from blobs import blob_path
from imap_helpers import PASSWORD, message, ok
from parallel import run_parallel


def login_events(sql, address):
    rows = sql("SELECT count(*) FROM audit.events e JOIN directory.accounts a ON a.id = e.account_id "
               "WHERE a.address = %s AND e.event LIKE 'auth.login%%'", (address,))
    return rows[0][0]


def test_a_repeated_login_is_served_from_the_cache_and_a_wrong_password_never_is(raw, user, sql, polderctl):
    first = raw()
    assert " OK " in first.cmd(f'LOGIN "{user}" "{PASSWORD}"')[-1]
    audited = login_events(sql, user)
    assert audited >= 1
    second = raw()
    assert " OK " in second.cmd(f'LOGIN "{user}" "{PASSWORD}"')[-1]
    assert login_events(sql, user) == audited   # no second verification (and no second audit event)
    wrong = raw()
    lines = wrong.cmd(f'LOGIN "{user}" "{PASSWORD}x"')
    assert lines[-1].startswith("r1 NO [AUTHENTICATIONFAILED]"), lines
    assert login_events(sql, user) == audited + 1   # failures always take the full path
    # A new password works at once (it was never cached).
    polderctl.ok("user", "passwd", user, "--password-stdin", input="another-Passw0rd-here\n")
    fresh = raw()
    assert " OK " in fresh.cmd(f'LOGIN "{user}" "another-Passw0rd-here"')[-1]


def test_append_to_the_selected_mailbox_announces_exists_and_recent_to_one_session(raw, user):
    a = raw(user=user)
    b = raw(user=user)
    assert " OK " in a.cmd("SELECT INBOX")[-1]
    assert " OK " in b.cmd("SELECT INBOX")[-1]
    data = message("appended while selected")
    tag = a.send(f"APPEND INBOX (\\Flagged) {{{len(data)}+}}")
    a.send_raw(data + b"\r\n")
    lines = a.until(tag)
    assert "* 1 EXISTS" in lines and "* 1 RECENT" in lines, lines
    assert re.search(r"OK \[APPENDUID \d+ 1\]", lines[-1]), lines
    lines = a.cmd("FETCH 1 (UID FLAGS)")
    assert any("UID 1" in l and "\\Flagged" in l and "\\Recent" in l for l in lines), lines
    # The other session learns of it as well, but the message is not \Recent there.
    lines = b.cmd("NOOP")
    assert "* 1 EXISTS" in lines and "* 0 RECENT" in lines, lines
    lines = b.cmd("FETCH 1 (FLAGS)")
    assert any("\\Flagged" in l and "\\Recent" not in l for l in lines), lines
    # After b changed something, a's next APPEND resyncs and still reports everything.
    assert " OK " in b.cmd("STORE 1 +FLAGS (\\Seen)")[-1]
    tag = a.send(f"APPEND INBOX {{{len(data)}+}}")
    a.send_raw(data + b"\r\n")
    lines = a.until(tag)
    assert "* 2 EXISTS" in lines, lines
    lines = a.cmd("FETCH 1:2 (UID FLAGS)")
    assert any("UID 1" in l and "\\Seen" in l for l in lines), lines
    assert any("UID 2" in l and "\\Recent" in l for l in lines), lines


def test_store_and_header_fetch_in_batches_answer_exactly(connect, user):
    c = connect(user)
    for i in range(40):
        ok(c.append("INBOX", None, None, message(f"batch {i}", body=("line %d\r\n" % i) * (i * 50 + 1))))
    assert c.select("INBOX")[0] == "OK"
    data = ok(c.fetch("1:*", "(UID BODY.PEEK[HEADER] BODY.PEEK[TEXT]<0.20>)"))
    items = [d for d in data if isinstance(d, tuple)]
    assert len(items) == 80   # two literals per message
    for n in range(40):
        head, text = items[2 * n], items[2 * n + 1]
        assert f"Subject: batch {n}\r\n".encode() in head[1] and head[1].endswith(b"\r\n\r\n")
        assert text[1] == (b"line %d\r\n" % n * (n * 50 + 1))[:20]
    ok(c.uid("STORE", "3", "+FLAGS", "(\\Flagged $Batch)"))
    typ, data = c.uid("FETCH", "3", "(FLAGS)")
    assert b"\\Flagged" in data[0] and b"$Batch" in data[0]
    ok(c.uid("STORE", "3", "-FLAGS", "(\\Flagged)"))
    typ, data = c.uid("FETCH", "3", "(FLAGS)")
    assert b"\\Flagged" not in data[0] and b"$Batch" in data[0]


def test_search_header_matches_only_the_named_field(connect, user):
    c = connect(user)
    ok(c.append("INBOX", None, None, message("Report group-07", headers="X-Project: Harbour\r\n")))
    ok(c.append("INBOX", None, None, message("Other", headers="X-Project: group-07\r\n")))
    assert c.select("INBOX")[0] == "OK"
    assert ok(c.search(None, "HEADER", "Subject", '"GROUP-07"')) == [b"1"]
    assert ok(c.search(None, "HEADER", "X-Project", '"group-07"')) == [b"2"]
    assert ok(c.search(None, "HEADER", "X-Project", '""')) == [b"1 2"]
    assert ok(c.search(None, "HEADER", "Subject", '"nowhere"')) == [b""]


def test_searches_of_many_shapes_are_answered_alike_prepared_or_not(connect, user):
    # The first 64 distinct SQL texts of SEARCH run as prepared statements, later ones
    # unprepared (ops.cpp, exec_search): 80 shapes (an AND of k SUBJECT keys) and the
    # same shapes again with other values all give the exact answer.
    c = connect(user)
    ok(c.append("INBOX", None, None, message("alpha beta")))
    ok(c.append("INBOX", None, None, message("alpha gamma")))
    ok(c.append("INBOX", None, None, message("delta")))
    assert c.select("INBOX")[0] == "OK"
    for k in range(1, 81):
        assert ok(c.search(None, *(["SUBJECT", '"alpha"'] * k))) == [b"1 2"], k
        assert ok(c.search(None, *(["SUBJECT", '"gamma"'] * k))) == [b"2"], k
        assert ok(c.search(None, *(["SUBJECT", '"nowhere"'] * k))) == [b""], k
    for word, want in (("beta", b"1"), ("DELTA", b"3"), ("a", b"1 2 3")):
        assert ok(c.search(None, "HEADER", "Subject", f'"{word}"')) == [want], word


def test_header_searches_decided_in_memory_answer_as_postgresql_does(connect, user):
    # A SEARCH of header keys only (HEADER, SUBJECT, FROM, TO, CC, BCC, UID, ALL, with AND,
    # OR, NOT) in one's own mailbox is decided by polder-imapd from its header cache
    # (ops::search_in_memory); with one key more that only PostgreSQL decides (NOT SMALLER
    # 0 holds for every message) the same search runs as SQL. Both answer alike, on the
    # first search (cache filled) and the second (cache hit), also for non-ASCII text.
    c = connect(user)
    ok(c.append("INBOX", None, None, message("=?UTF-8?Q?=C3=89=C3=A9n_vergadering?=", sender="elise@example.org")))
    ok(c.append("INBOX", None, None, message("Budget 2027", headers="Cc: Zoë <zoe@example.org>\r\nX-Label: Eerste\r\n")))
    ok(c.append("INBOX", None, None, message("RE: één vergadering", to="ANNA@example.org",
                                             headers="X-Label: tweede\r\nX-Label: derde\r\nX-Empty:\r\n")))
    ok(c.append("INBOX", None, None, message("Notulen", sender="bob@example.org")))
    assert c.select("INBOX")[0] == "OK"
    criteria = [
        ["ALL"], ["SUBJECT", '"vergadering"'], ["SUBJECT", '"VERGADERING"'], ["SUBJECT", '""'],
        ["FROM", '"ELISE"'], ["FROM", '"anna"'], ["TO", '"anna@"'], ["CC", '"zoë"'.encode()], ["BCC", '"x"'],
        ["HEADER", "x-label", '"DERDE"'], ["HEADER", "X-LABEL", '""'], ["HEADER", "X-Empty", '""'],
        ["HEADER", "Subject", '"=?utf-8?q?"'], ["HEADER", "X-Missing", '""'],
        ["NOT", "SUBJECT", '"budget"'], ["OR", "FROM", '"bob"', "HEADER", "X-Label", '"eerste"'],
        ["UID", "4:2", "NOT", "FROM", '"bob"'], ["2:3"], ["NOT", "OR", "ALL", "SUBJECT", '"één"'.encode()],
        ["OR", "SUBJECT", '"notulen"', "SUBJECT", '"ÉÉN"'.encode()],
    ]

    def search(*keys):
        if any(isinstance(k, bytes) for k in keys):   # non-ASCII: CHARSET UTF-8 and a literal
            *head, tail = keys
            c.literal = tail.strip(b'"')
            return ok(c.search("UTF-8", *head))
        return ok(c.search(None, *keys))

    for keys in criteria:
        for _ in range(2):
            assert search(*keys) == search("NOT", "SMALLER", "0", *keys), keys
    assert search("SUBJECT", "één".encode()) == [b"1 3"]
    assert search("CC", '"zoë"'.encode()) == [b"2"]
    assert search("HEADER", "X-Label", '""') == [b"2 3"]
    # Expunged by another session and not yet announced here: gone from both answers.
    other = connect(user)
    assert other.select("INBOX")[0] == "OK"
    ok(other.uid("STORE", "1", "+FLAGS", "(\\Deleted)"))
    ok(other.expunge())
    assert search("SUBJECT", '"vergadering"') == search("NOT", "SMALLER", "0", "SUBJECT", '"vergadering"') == [b"3"]


def test_whole_message_fetch_after_a_header_fetch_returns_the_exact_bytes(connect, user):
    c = connect(user)
    msgs = [message(f"whole {i}", body=f"body {i}\r\n" * (i + 1)) for i in range(5)]
    for m in msgs:
        ok(c.append("INBOX", None, None, m))
    assert c.select("INBOX")[0] == "OK"
    ok(c.fetch("1:*", "(UID BODY.PEEK[HEADER])"))   # the view now remembers these bodies
    for i, m in enumerate(msgs):
        data = ok(c.uid("FETCH", str(i + 1), "(BODY.PEEK[] RFC822.SIZE INTERNALDATE)"))
        assert data[0][1] == m
        meta = b" ".join(x[0] if isinstance(x, tuple) else x for x in data if x)   # items around the literal
        assert f"RFC822.SIZE {len(m)}".encode() in meta and b"INTERNALDATE" in meta
        data = ok(c.uid("FETCH", str(i + 1), "(BODY.PEEK[]<2.5>)"))
        assert data[0][1] == m[2:7]
    # Expunged by another session: once announced here, it is gone from this view too.
    other = connect(user)
    assert other.select("INBOX")[0] == "OK"
    ok(other.uid("STORE", "2", "+FLAGS", "(\\Deleted)"))
    ok(other.expunge())
    ok(c.noop())
    data = ok(c.uid("FETCH", "2", "(BODY.PEEK[])"))
    assert not any(isinstance(d, tuple) for d in data), data
    data = ok(c.uid("FETCH", "3", "(BODY.PEEK[])"))
    assert data[0][1] == msgs[2]


# --- the paths of the 2026-11-24 throughput work (schema 0106, uid equality, root offsets,
# APPEND in two statements, no pre-check for a small APPEND to the selected mailbox)


def flags_of(c, uid):
    data = ok(c.uid("FETCH", str(uid), "(FLAGS)"))
    found = re.search(rb"FLAGS \(([^)]*)\)", data[0])
    assert found, data
    return [f for f in found.group(1).decode().split() if f != "\\Recent"]   # session state, not stored


def test_keywords_that_differ_only_in_case_are_one_flag_in_store_and_search(connect, user):
    c = connect(user)
    ok(c.append("INBOX", None, None, message("case keywords")))
    assert c.select("INBOX")[0] == "OK"
    ok(c.uid("STORE", "1", "+FLAGS", "(Foo)"))
    ok(c.uid("STORE", "1", "+FLAGS", "(foo \\Seen FOO Bar)"))
    assert sorted(flags_of(c, 1)) == sorted(["Foo", "\\Seen", "Bar"])   # the first spelling stays
    assert ok(c.search(None, "KEYWORD", "bar")) == [b"1"]
    assert ok(c.search(None, "KEYWORD", "FOO")) == [b"1"]
    ok(c.uid("STORE", "1", "-FLAGS", "(fOO)"))
    assert sorted(flags_of(c, 1)) == sorted(["\\Seen", "Bar"])
    assert ok(c.search(None, "KEYWORD", "foo")) == [b""]
    assert ok(c.search(None, "UNKEYWORD", "foo")) == [b"1"]
    ok(c.uid("STORE", "1", "FLAGS", "(Zed a B \\Flagged b)"))
    assert sorted(flags_of(c, 1)) == sorted(["Zed", "a", "B", "\\Flagged"])
    ok(c.uid("STORE", "1", "FLAGS", "()"))
    assert flags_of(c, 1) == []


def test_one_message_and_range_stores_give_every_change_a_higher_modseq(raw, user, connect):
    c = connect(user)
    for i in range(4):
        ok(c.append("INBOX", None, None, message(f"modseq {i}")))
    r = raw(user=user)
    assert " OK " in r.cmd("SELECT INBOX (CONDSTORE)")[-1]
    seen = []
    for command in ("UID STORE 2 +FLAGS (\\Flagged)", "UID STORE 1:3 +FLAGS ($Work)", "UID STORE 3 -FLAGS ($Work)",
                    "UID STORE 4 FLAGS (\\Answered)"):
        lines = r.cmd(command)
        assert " OK " in lines[-1], lines
        modseqs = {int(m) for l in lines for m in re.findall(r"MODSEQ \((\d+)\)", l)}
        assert len(modseqs) == 1, lines   # one command, one modseq for all it changed
        seen.append(modseqs.pop())
    assert seen == sorted(seen) and len(set(seen)) == len(seen), seen
    # Nothing to change: the flags are echoed with the modseq of their last change; a UID
    # that does not exist gets no FETCH at all.
    lines = r.cmd("UID STORE 2 +FLAGS (\\Flagged)")
    assert " OK " in lines[-1] and [int(m) for l in lines for m in re.findall(r"MODSEQ \((\d+)\)", l)] == [seen[1]], lines
    lines = r.cmd("UID STORE 99 +FLAGS (\\Flagged)")
    assert " OK " in lines[-1] and not any("FETCH" in l for l in lines), lines
    lines = r.cmd("UID FETCH 1:4 (FLAGS)")
    flags = {int(re.search(r"UID (\d+)", l).group(1)): l for l in lines if l.startswith("* ") and "FETCH" in l}
    assert "\\Flagged" in flags[2] and "$Work" in flags[1] and "$Work" in flags[2]
    assert "$Work" not in flags[3] and "\\Answered" in flags[4]
    lines = r.cmd("UID FETCH 1:4 (MODSEQ) (CHANGEDSINCE %d)" % seen[-2])
    assert sorted(int(re.search(r"UID (\d+)", l).group(1)) for l in lines if l.startswith("* ") and "FETCH" in l) == [4], lines


def fetch_lines(lines):
    return [l for l in lines if l.startswith("* ") and "FETCH" in l]


def test_own_stores_move_the_view_and_other_sessions_changes_still_arrive(raw, domain, new_user, connect):
    # A STORE takes one modseq step even when it changes nothing; the session's view
    # follows its own steps (no resync), and a change by another session in between
    # still makes the view resync and report it.
    user = new_user(domain)
    c = connect(user)
    for i in range(3):
        ok(c.append("INBOX", None, None, message(f"view {i}")))
    a = raw(user=user)
    b = raw(user=user)
    assert " OK " in a.cmd("SELECT INBOX")[-1]
    assert " OK " in b.cmd("SELECT INBOX")[-1]
    # Only a's own changes, changing and not: nothing else to report afterwards.
    for command in ("UID STORE 1 +FLAGS (\\Seen)", "UID STORE 1 +FLAGS (\\Seen)", "UID STORE 2 +FLAGS ($A)",
                    "UID STORE 2 -FLAGS ($Nothing)", "UID STORE 3 -FLAGS (\\Seen)"):
        lines = a.cmd(command)
        assert " OK " in lines[-1], lines
    lines = a.cmd("NOOP")
    assert not fetch_lines(lines), lines
    # b changes message 2 after a no-op STORE of a: a learns of it at its next command
    # that may report it (here the STORE itself or the NOOP after it).
    assert " OK " in a.cmd("UID STORE 1 +FLAGS (\\Seen)")[-1]
    b_seen = b.cmd("UID STORE 2 +FLAGS ($FromB)")
    assert " OK " in b_seen[-1], b_seen
    time.sleep(0.5)   # b's NOTIFY reaches a's process
    seen = a.cmd("UID STORE 3 +FLAGS ($A)") + a.cmd("NOOP")
    assert any("$FromB" in l for l in fetch_lines(seen)), seen
    # And the other way round: b's view had none of a's changes, and gets them (in its
    # STORE's answer or at the NOOP after it).
    b_seen += b.cmd("NOOP")
    assert "$A" in " ".join(fetch_lines(b_seen)), b_seen
    lines = b.cmd("UID FETCH 1:3 (FLAGS)")
    got = {int(re.search(r"UID (\d+)", l).group(1)): l for l in fetch_lines(lines)}
    assert "\\Seen" in got[1] and "$A" in got[2] and "$FromB" in got[2] and "$A" in got[3], lines


def test_small_append_to_the_selected_mailbox_over_quota_is_refused_after_the_upload(raw, domain, new_user):
    user = new_user(domain, "--quota", "2K")
    r = raw(user=user)
    assert " OK " in r.cmd("SELECT INBOX")[-1]
    # To the selected mailbox, a small message gets its continuation at once; the store
    # still refuses what does not fit, and nothing is kept.
    body = b"Subject: big\r\n\r\n" + b"x" * 5000 + b"\r\n"
    r.send_raw(f"a1 APPEND INBOX {{{len(body)}}}\r\n")
    assert r.readline().startswith("+")
    r.send_raw(body + b"\r\n")
    lines = r.until("a1")
    assert lines[-1].startswith("a1 NO [OVERQUOTA]"), lines
    assert not any("EXISTS" in l for l in lines), lines
    # A large one to the selected mailbox, and any size to another mailbox, is still
    # refused before the upload.
    r.send_raw("a2 APPEND INBOX {70000}\r\n")
    assert r.readline().startswith("a2 NO [OVERQUOTA]")
    r.send_raw("a3 APPEND Drafts {5000}\r\n")
    assert r.readline().startswith("a3 NO [OVERQUOTA]")
    r.send_raw("a4 APPEND Nowhere {20}\r\n")
    assert r.readline().startswith("a4 NO [TRYCREATE]")
    lines = r.cmd('STATUS INBOX (MESSAGES)')
    assert any("MESSAGES 0" in l for l in lines), lines
    small = b"Subject: small\r\n\r\nfits\r\n"
    r.send_raw(f"a5 APPEND INBOX {{{len(small)}}}\r\n")
    assert r.readline().startswith("+")
    r.send_raw(small + b"\r\n")
    lines = r.until("a5")
    assert lines[-1].startswith("a5 OK [APPENDUID"), lines
    assert "* 1 EXISTS" in lines, lines


MULTIPART = (b"From: Anna <anna@example.org>\r\nTo: bert@example.org\r\nSubject: parts\r\n"
             b"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
             b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\npreamble\r\n--b1\r\n"
             b"Content-Type: text/plain\r\n\r\nfirst part\r\n--b1\r\n"
             b"Content-Type: text/html\r\nX-Part: two\r\n\r\n<p>second</p>\r\n--b1--\r\n")


def test_whole_message_sections_come_from_the_root_offsets_exactly(connect, user):
    c = connect(user)
    plain = message("plain one", body="only text\r\n")
    # An 8-bit header block is not kept as the stored header: it is read from the message's
    # octets (kept with its row, the message being small; schema 0109).
    eight_bit = "Subject: Café überall\r\nFrom: anna@example.org\r\n\r\nbody\r\n".encode()
    ok(c.append("INBOX", None, None, MULTIPART))
    ok(c.append("INBOX", None, None, plain))
    ok(c.append("INBOX", None, None, eight_bit))
    assert c.select("INBOX")[0] == "OK"
    for raw_bytes, seq in ((MULTIPART, 1), (plain, 2), (eight_bit, 3)):
        head, _, text = raw_bytes.partition(b"\r\n\r\n")
        head += b"\r\n\r\n"
        data = ok(c.fetch(str(seq), "(BODY.PEEK[HEADER])"))
        assert data[0][1] == head
        data = ok(c.fetch(str(seq), "(BODY.PEEK[TEXT])"))
        assert data[0][1] == text
        data = ok(c.fetch(str(seq), "(RFC822.HEADER)"))
        assert data[0][1] == head
        data = ok(c.fetch(str(seq), "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
        assert data[0][1] == b"Subject: " + head.split(b"Subject: ")[1].split(b"\r\n")[0] + b"\r\n\r\n"
        data = ok(c.fetch(str(seq), "(BODY.PEEK[HEADER.FIELDS.NOT (SUBJECT)])"))
        assert b"Subject" not in data[0][1] and data[0][1].endswith(b"\r\n\r\n") and b"From: " in data[0][1]
        data = ok(c.fetch(str(seq), "(BODY.PEEK[HEADER]<5.10>)"))
        assert data[0][1] == head[5:15]
        data = ok(c.fetch(str(seq), "(BODY.PEEK[TEXT]<3.4>)"))
        assert data[0][1] == text[3:7]
    # Mixed with a part section or the structure, the whole structure is read as before.
    data = ok(c.fetch("1", "(BODY.PEEK[HEADER] BODY.PEEK[2] BODYSTRUCTURE)"))
    literals = [d[1] for d in data if isinstance(d, tuple)]
    assert MULTIPART.partition(b"\r\n\r\n")[0] + b"\r\n\r\n" in literals and b"<p>second</p>" in literals, data
    assert b"\"HTML\"" in b" ".join(d[0] if isinstance(d, tuple) else d for d in data).upper(), data
    data = ok(c.fetch("1", "(BODY.PEEK[2.MIME])"))
    assert data[0][1] == b"Content-Type: text/html\r\nX-Part: two\r\n\r\n"


def test_concurrent_appends_and_stores_keep_uids_and_modseqs_strictly_ascending(connect, user):
    clients = [connect(user) for _ in range(4)]
    for c in clients:
        assert c.select("INBOX")[0] == "OK"
    results = [[] for _ in clients]

    def work(k):
        c = clients[k]
        for i in range(8):
            typ, data = c.append("INBOX", None, None, message(f"parallel {k} {i}"))
            assert typ == "OK", data
            uid = int(re.search(rb"APPENDUID \d+ (\d+)", data[0]).group(1))
            results[k].append(uid)
            ok(c.uid("STORE", str(uid), "+FLAGS", "(\\Flagged)"))

    run_parallel(work, len(clients), timeout=60)
    every = [u for r in results for u in r]
    assert len(set(every)) == len(every) == 32
    for r in results:
        assert r == sorted(r)   # each session's own APPENDs get ascending UIDs
    c = clients[0]
    ok(c.noop())   # the view learns of the other sessions' last APPENDs
    data = ok(c.uid("FETCH", "1:*", "(UID FLAGS MODSEQ)"))
    # Untagged FETCHes of the other sessions' STOREs may come along: the last one per UID counts.
    rows = {}
    for d in data:
        m = re.search(rb"UID (\d+) FLAGS \(([^)]*)\) MODSEQ \((\d+)\)", d)
        if m:
            rows[int(m.group(1))] = (m.group(2), int(m.group(3)))
    assert sorted(rows) == sorted(every), data
    assert all(b"\\Flagged" in f for f, _ in rows.values())
    modseqs = [m for _, m in rows.values()]
    assert len(set(modseqs)) == 32   # every STORE committed with a modseq of its own


def group_commit_metrics(imapd):
    with urllib.request.urlopen(f"http://127.0.0.1:{imapd.admin_port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    def value(name):
        m = re.search(rf"^{name} ([0-9.e+]+)$", text, re.M)
        return float(m.group(1)) if m else 0.0
    return (value("polder_db_group_commit_batch_size_count"), value("polder_db_group_commit_batch_size_sum"))


def test_concurrent_sessions_stores_share_commits_and_each_gets_its_own_answer(imapd, connect, domain, new_user):
    # Eight sessions, each in its own account's INBOX, storing flags one UID at a time: the
    # STOREs go through polder-imapd's group commit (several in one transaction and one
    # WAL flush), yet every session's answer carries exactly its own change.
    sessions = []
    for _ in range(8):
        c = connect(new_user(domain))
        ok(c.append("INBOX", None, None, message("grouped")))
        assert c.select("INBOX")[0] == "OK"
        sessions.append(c)
    batches0, stores0 = group_commit_metrics(imapd)
    answers = [[] for _ in sessions]

    def work(k):
        for i in range(15):
            keyword = f"k{k}x{i}"
            data = ok(sessions[k].uid("STORE", "1", "+FLAGS", f"({keyword})"))
            answers[k].append((keyword, b" ".join(x for x in data if isinstance(x, bytes))))

    run_parallel(work, len(sessions), timeout=120)
    for k, got in enumerate(answers):
        for keyword, text in got:
            assert keyword.encode() in text, (k, keyword, text)
            assert f"k{(k + 1) % 8}x".encode() not in text   # never another account's flags
    batches, stores = group_commit_metrics(imapd)
    assert stores - stores0 >= 8 * 15
    assert batches - batches0 < stores - stores0, "no two STOREs shared a transaction"
    final = ok(sessions[3].uid("FETCH", "1", "(FLAGS)"))[0]
    assert all(f"k3x{i}".encode() in final for i in range(15))


def test_batched_stores_of_every_kind_leave_exact_flags_and_reach_the_accounts_other_sessions(
        connect, domain, new_user):
    # Concurrent sessions' flag STOREs of one batch run in one statement
    # (mail.store_flags_batch, schema 0108), one per mailbox; a second STORE of the
    # same mailbox in the batch runs on its own. Every kind must come out exact: +FLAGS,
    # -FLAGS and FLAGS, single UIDs and ranges, and each account's other session must
    # learn of the changes (its NOTIFY).
    writers, watchers = [], []
    for _ in range(6):
        address = new_user(domain)
        w = connect(address)
        for i in range(5):
            ok(w.append("INBOX", None, None, message(f"batched {i}")))
        assert w.select("INBOX")[0] == "OK"
        v = connect(address)
        assert v.select("INBOX")[0] == "OK"
        writers.append(w)
        watchers.append(v)
    steps = [("1:5", "+FLAGS", "(alpha beta)"), ("2:3", "-FLAGS", "(alpha)"), ("4", "FLAGS", "(gamma)"),
             ("5", "+FLAGS", "(\\Seen)"), ("1", "-FLAGS", "(beta)"), ("1", "+FLAGS", "(delta)")]

    def work(k):
        for rounds in range(3):
            for uids, op, flags in steps:
                ok(writers[k].uid("STORE", uids, op, flags))

    run_parallel(work, len(writers), timeout=120)
    expected = {1: {b"alpha", b"delta"}, 2: {b"beta"}, 3: {b"beta"}, 4: {b"gamma"}, 5: {b"alpha", b"beta", b"\\Seen"}}
    for k, v in enumerate(watchers):
        # The watcher, idle in the same mailbox, was told (NOTIFY): a NOOP reports the
        # other session's changes as untagged FETCHes (they may take a moment to arrive).
        told = []
        for _ in range(50):
            ok(v.noop())
            told = v.untagged_responses.pop("FETCH", [])
            if told:
                break
            time.sleep(0.05)
        assert told, f"account {k}: the other session's STOREs were never announced"

    def flags(c):
        got = {}
        for d in ok(c.uid("FETCH", "1:5", "(UID FLAGS)")):
            m = re.search(rb"UID (\d+) FLAGS \(([^)]*)\)", d if isinstance(d, bytes) else d[0])
            if m:
                got[int(m.group(1))] = set(m.group(2).split()) - {b"\\Recent"}
        return got

    for k, (w, v) in enumerate(zip(writers, watchers)):
        assert flags(w) == expected, k
        assert flags(v) == expected, k


INLINE_MAX = 64 * 1024   # mailstore::max_inline_message


def stored_row(sql, user, subject):
    rows = sql("SELECT encode(m.blob_sha256, 'hex'), m.size, m.raw FROM mail.messages m "
               "JOIN mail.mailbox_messages mm ON mm.message_id = m.id JOIN mail.mailboxes b ON b.id = mm.mailbox_id "
               "JOIN directory.accounts a ON a.id = b.account_id WHERE a.address = %s AND m.subject = %s",
               (user, subject))
    assert len(rows) == 1, rows
    return rows[0]


def test_a_small_append_is_kept_in_the_database_and_every_section_reads_back_exactly(
        connect, user, sql, service_root, start_service):
    c = connect(user)
    attachment = bytes(range(256)) * 8
    encoded = base64.encodebytes(attachment).replace(b"\n", b"\r\n")
    small = (b"From: Anna <anna@example.org>\r\nTo: bert@example.org\r\nSubject: klein\r\n"
             b"X-Note: caf\xc3\xa9\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"zz\"\r\n\r\n"
             b"--zz\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
             b"Gr\xc3\xbc\xc3\x9fe, de kat zit op de mat.\r\n--zz\r\nContent-Type: application/octet-stream\r\n"
             b"Content-Transfer-Encoding: base64\r\n\r\n" + encoded + b"--zz--\r\n")
    line = b"Een regel tekst om het bericht groot te maken.\r\n"
    large = b"From: anna@example.org\r\nSubject: groot\r\n\r\n" + line * (INLINE_MAX // len(line) + 10)
    at_limit_head = b"From: anna@example.org\r\nSubject: precies\r\n\r\n"
    filler = (b"x" * 78 + b"\r\n") * INLINE_MAX
    at_limit = at_limit_head + filler[:INLINE_MAX - len(at_limit_head) - 2] + b"\r\n"
    assert len(small) < INLINE_MAX < len(large) and len(at_limit) == INLINE_MAX
    for data in (small, large, at_limit):
        ok(c.append("INBOX", None, None, data))

    blobs = service_root / "blobs"
    def blob_file(hexid):
        return blob_path(blobs, hexid)

    # Where the octets are: small ones with the row (named by their SHA-256, no blob file),
    # the large one in the blob store.
    for subject, data in (("klein", small), ("precies", at_limit)):
        hexid, size, raw = stored_row(sql, user, subject)
        assert bytes(raw) == data and size == len(data) and hexid == hashlib.sha256(data).hexdigest()
        assert not blob_file(hexid).exists()
    hexid, size, raw = stored_row(sql, user, "groot")
    assert raw is None and size == len(large) and blob_file(hexid).read_bytes() == large

    # Every way of reading a message, twice (the second FETCH of a session may take other
    # paths), for both kinds.
    assert c.select("INBOX")[0] == "OK"
    head, _, text = small.partition(b"\r\n\r\n")
    head += b"\r\n\r\n"
    for _ in range(2):
        assert ok(c.fetch("1", "(BODY.PEEK[])"))[0][1] == small
        assert ok(c.fetch("1", "(RFC822.SIZE BODY.PEEK[]<10.20>)"))[0][1] == small[10:30]
        assert ok(c.fetch("1", "(BODY.PEEK[HEADER])"))[0][1] == head   # 8-bit: no stored header block
        assert ok(c.fetch("1", "(BODY.PEEK[TEXT])"))[0][1] == text
        assert ok(c.fetch("1", "(BODY.PEEK[1])"))[0][1] == "Grüße, de kat zit op de mat.".encode()
        assert ok(c.fetch("1", "(BODY.PEEK[2.MIME])"))[0][1].startswith(b"Content-Type: application/octet-stream")
        assert ok(c.fetch("1", "(BINARY.PEEK[2])"))[0][1] == attachment
        data = ok(c.fetch("1", "(BINARY.SIZE[2])"))
        assert f"BINARY.SIZE[2] {len(attachment)}" in data[0].decode(), data
        assert ok(c.fetch("1", "(RFC822)"))[0][1] == small
        assert ok(c.fetch("2", "(BODY.PEEK[])"))[0][1] == large
        assert ok(c.fetch("2", "(BODY.PEEK[TEXT]<0.100>)"))[0][1] == large.partition(b"\r\n\r\n")[2][:100]
        assert ok(c.fetch("3", "(BODY.PEEK[])"))[0][1] == at_limit
    data = ok(c.uid("FETCH", "1:*", "(UID BODY.PEEK[])"))
    assert [d[1] for d in data if isinstance(d, tuple)] == [small, large, at_limit]

    # Another process has none of them in its message cache: a session there that first
    # learns the messages without their octets (sizes) reads them by row, then from its
    # cache; both give the same octets.
    other = connect(user, service=start_service("imap"))
    assert other.select("INBOX")[0] == "OK"
    ok(other.fetch("1:3", "(RFC822.SIZE INTERNALDATE)"))
    for _ in range(2):
        data = ok(other.fetch("1:3", "(BODY.PEEK[])"))
        assert [d[1] for d in data if isinstance(d, tuple)] == [small, large, at_limit]
        assert ok(other.fetch("1", "(BINARY.PEEK[2])"))[0][1] == attachment

    # The database refuses octets that are not the message the row names.
    hexid, _, _ = stored_row(sql, user, "klein")
    for change in ("raw = raw || '\\x00'::bytea", "raw = overlay(raw placing '\\x58'::bytea from 1 for 1)"):
        with pytest.raises(psycopg2.errors.CheckViolation, match="messages_raw_content"):
            sql(f"UPDATE mail.messages SET {change} WHERE blob_sha256 = decode(%s, 'hex')", (hexid,))
    assert bytes(stored_row(sql, user, "klein")[2]) == small
