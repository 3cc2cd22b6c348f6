# test_concurrency.py - two sessions on one mailbox see each other's changes (EXISTS,
# EXPUNGE, FETCH FLAGS) at the points RFC 9051 allows, and IDLE is woken through
# PostgreSQL LISTEN/NOTIFY by an APPEND from another session.

import time

import pytest

from imap_helpers import message, ok


def noop_until(r, predicate, timeout=10):
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        lines = r.cmd("NOOP")
        seen += lines
        if predicate(seen):
            return seen
        time.sleep(0.1)
    pytest.fail(f"no update within {timeout}s: {seen}")


def test_two_sessions_see_exists_fetch_flags_and_expunge(raw, user, connect):
    c = connect(user)
    for i in range(3):
        ok(c.append("INBOX", None, None, message(f"shared view {i}")))
    a = raw(user=user)
    b = raw(user=user)
    assert any(l == "* 3 EXISTS" for l in a.cmd("SELECT INBOX"))
    assert any(l == "* 3 EXISTS" for l in b.cmd("SELECT INBOX"))

    ok(c.append("INBOX", None, None, message("arrives later")))
    lines = noop_until(a, lambda s: "* 4 EXISTS" in s)
    assert "* 4 EXISTS" in lines

    b.cmd("STORE 2 +FLAGS.SILENT (\\Flagged)")
    lines = noop_until(a, lambda s: any(l.startswith("* 2 FETCH") and "\\Flagged" in l for l in s))

    b.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)")
    lines = b.cmd("EXPUNGE")
    assert "* 1 EXPUNGE" in lines
    # A FETCH is no point for EXPUNGE: session A keeps its numbering until NOOP.
    lines = a.cmd("FETCH 4 (UID)")
    assert not any(l.endswith("EXPUNGE") for l in lines), lines
    assert lines[0] == "* 4 FETCH (UID 4)", lines
    lines = noop_until(a, lambda s: "* 1 EXPUNGE" in s)
    lines = a.cmd("FETCH 1:* (UID)")
    assert [l for l in lines if l.startswith("* ") and " FETCH " in l] == ["* 1 FETCH (UID 2)", "* 2 FETCH (UID 3)", "* 3 FETCH (UID 4)"]


def test_own_stores_interleaved_with_another_sessions_never_hide_its_changes(raw, user, connect):
    # A session skips the resync its own STORE's NOTIFY would cause only when nothing else
    # changed the mailbox in between; interleaved STOREs of two sessions must all show up.
    c = connect(user)
    for i in range(4):
        ok(c.append("INBOX", None, None, message(f"interleaved {i}")))
    a = raw(user=user)
    b = raw(user=user)
    a.cmd("SELECT INBOX (CONDSTORE)")
    b.cmd("SELECT INBOX (CONDSTORE)")
    seen_by = {"a": [], "b": []}
    for i in range(1, 5):
        seen_by["a"] += a.cmd(f"STORE {i} +FLAGS.SILENT (\\Seen)")
        seen_by["b"] += b.cmd(f"STORE {i} +FLAGS.SILENT (\\Flagged)")

    def final_flags(lines):
        # The last FETCH FLAGS per message number: updates arrive at STORE or NOOP.
        out = {}
        for l in lines:
            if " FETCH " in l and "FLAGS (" in l:
                out[l.split()[1]] = l.split("FLAGS (")[1].split(")")[0].split()
        return out

    seen_by["a"] += noop_until(a, lambda s: all("\\Flagged" in f for f in final_flags(seen_by["a"] + s).values())
                               and len(final_flags(seen_by["a"] + s)) == 4)
    assert all({"\\Seen", "\\Flagged"} <= set(f) for f in final_flags(seen_by["a"]).values()), seen_by["a"]
    # B took A's \\Seen from the results of its own STOREs (.SILENT shows the client
    # nothing); its view must agree with the store.
    lines = b.cmd("FETCH 1:4 (FLAGS)")
    assert all({"\\Seen", "\\Flagged"} <= set(f) for f in final_flags(lines).values()) and len(final_flags(lines)) == 4, lines
    # And a session's own changes alone produce no echo at the next NOOP.
    a.cmd("STORE 1 -FLAGS.SILENT (\\Seen)")
    lines = a.cmd("NOOP")
    assert not any(" FETCH " in l for l in lines), lines


def test_idle_is_woken_by_an_append_from_another_session(raw, user, connect):
    r = raw(user=user)
    r.cmd("SELECT INBOX")
    tag = r.send("IDLE")
    assert r.readline().startswith("+ ")
    started = time.monotonic()
    c = connect(user)
    ok(c.append("INBOX", None, None, message("wake up")))
    line = r.readline()
    assert line == "* 1 EXISTS", line
    assert time.monotonic() - started < 10
    r.send_raw("DONE\r\n")
    lines = r.until(tag)
    assert lines[-1] == f"{tag} OK IDLE terminated", lines
    lines = r.cmd("NOOP")
    assert "OK" in lines[-1]


def test_idle_reports_flag_changes_and_expunges(raw, user, connect):
    c = connect(user)
    ok(c.append("INBOX", None, None, message("idle flags")))
    ok(c.append("INBOX", None, None, message("idle expunge")))
    r = raw(user=user)
    r.cmd("SELECT INBOX")
    tag = r.send("IDLE")
    assert r.readline().startswith("+ ")
    ok(c.select("INBOX"))
    ok(c.store("1", "+FLAGS", "(\\Flagged)"))
    line = r.readline()
    assert line.startswith("* 1 FETCH (") and "\\Flagged" in line, line
    ok(c.store("2", "+FLAGS", "(\\Deleted)"))
    line = r.readline()
    assert line.startswith("* 2 FETCH (") and "\\Deleted" in line, line
    ok(c.expunge())
    assert r.readline() == "* 2 EXPUNGE"
    r.send_raw("DONE\r\n")
    assert r.until(tag)[-1].startswith(f"{tag} OK")


def test_idle_with_a_wrong_continuation_ends_with_bad(raw, user):
    r = raw(user=user)
    r.cmd("SELECT INBOX")
    tag = r.send("IDLE")
    assert r.readline().startswith("+ ")
    r.send_raw("NOTDONE\r\n")
    assert r.until(tag)[-1].startswith(f"{tag} BAD")
    assert "OK" in r.cmd("NOOP")[-1]
