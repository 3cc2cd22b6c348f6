# test_fast_paths.py - the shortcuts polder-imapd takes for throughput keep the protocol
# exact: the login cache (a repeated login skips Argon2id; a wrong password never passes),
# APPEND to the selected mailbox announced without a resync (EXISTS, RECENT for exactly
# one session), one-statement STORE and FETCH of header sections in batches, and SEARCH
# HEADER with its prefilter matching only the named field.

import re

import pytest

from imap_helpers import PASSWORD, message, ok


@pytest.fixture(scope="module")
def domain(new_org):
    return new_org()


@pytest.fixture
def user(domain, new_user):
    return new_user(domain)


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
