# test_extensions.py - CONDSTORE (MODSEQ, CHANGEDSINCE, SEARCH MODSEQ, HIGHESTMODSEQ),
# SORT (incl. REVERSE and DISPLAYFROM), THREAD=ORDEREDSUBJECT and THREAD=REFERENCES,
# BINARY with an unknown transfer encoding.

import re

import pytest

from imap_helpers import ok


def mail(subject, sender, date, msgid, refs="", size_pad=0):
    extra = f"References: {refs}\r\nIn-Reply-To: {refs.split()[-1]}\r\n" if refs else ""
    return (f"From: {sender}\r\nTo: team@example.org\r\nSubject: {subject}\r\nDate: {date}\r\n"
            f"Message-ID: {msgid}\r\n{extra}\r\nbody{'.' * size_pad}\r\n").encode()


@pytest.fixture
def thread_box(connect, user):
    c = connect(user)
    ok(c.append("INBOX", None, None, mail("Planning", "Zoe <zoe@example.org>", "Mon, 2 Nov 2026 10:00:00 +0000", "<a@x>", size_pad=300)))
    ok(c.append("INBOX", None, None, mail("Re: Planning", "Adam <adam@example.org>", "Tue, 3 Nov 2026 10:00:00 +0000", "<b@x>", "<a@x>")))
    ok(c.append("INBOX", None, None, mail("Budget", "Mia <mia@example.org>", "Sun, 1 Nov 2026 10:00:00 +0000", "<c@x>", size_pad=100)))
    ok(c.append("INBOX", None, None, mail("Re: Re: Planning", "Bob <bob@example.org>", "Wed, 4 Nov 2026 10:00:00 +0000", "<d@x>", "<a@x> <b@x>")))
    return user


def test_sort_by_date_subject_from_size_and_display(raw, thread_box):
    r = raw(user=thread_box)
    r.cmd("SELECT INBOX")
    assert r.cmd("SORT (DATE) UTF-8 ALL")[0] == "* SORT 3 1 2 4"
    assert r.cmd("SORT (REVERSE DATE) UTF-8 ALL")[0] == "* SORT 4 2 1 3"
    assert r.cmd("SORT (SUBJECT DATE) UTF-8 ALL")[0] == "* SORT 3 1 2 4"
    assert r.cmd("SORT (FROM) UTF-8 ALL")[0] == "* SORT 2 4 3 1"
    assert r.cmd("SORT (SIZE) UTF-8 ALL")[0].startswith("* SORT ")
    assert r.cmd("SORT (REVERSE SIZE) UTF-8 ALL")[0].split()[2] == "1"
    assert r.cmd("SORT (DISPLAYFROM) UTF-8 ALL")[0] == "* SORT 2 4 3 1"
    assert r.cmd("UID SORT (ARRIVAL) UTF-8 SUBJECT Planning")[0] == "* SORT 1 2 4"
    assert "[BADCHARSET" in r.cmd("SORT (DATE) KOI8-R ALL")[-1]


def test_thread_references_and_orderedsubject(raw, thread_box):
    r = raw(user=thread_box)
    r.cmd("SELECT INBOX")
    assert r.cmd("THREAD REFERENCES UTF-8 ALL")[0] == "* THREAD (3)(1 2 4)"
    assert r.cmd("THREAD ORDEREDSUBJECT UTF-8 ALL")[0] == "* THREAD (3)(1 (2)(4))"
    assert r.cmd("UID THREAD REFERENCES UTF-8 NOT SUBJECT Budget")[0] == "* THREAD (1 2 4)"


def test_condstore_modseq_changedsince_and_search(raw, connect, user):
    c = connect(user)
    for i in range(3):
        ok(c.append("INBOX", None, None, mail(f"cs {i}", "a@example.org", "Mon, 2 Nov 2026 10:00:00 +0000", f"<cs{i}@x>")))
    r = raw(user=user)
    lines = r.cmd("SELECT INBOX (CONDSTORE)")
    highest = int(re.search(r"\[HIGHESTMODSEQ (\d+)\]", "\n".join(lines)).group(1))
    lines = r.cmd("STORE 2 +FLAGS.SILENT (\\Flagged)")
    fetched = [l for l in lines if " FETCH " in l and l.startswith("* ")]
    assert fetched and "MODSEQ" in fetched[0], lines
    lines = r.cmd(f"FETCH 1:* (FLAGS) (CHANGEDSINCE {highest})")
    fetched = [l for l in lines if l.startswith("* ") and " FETCH " in l]
    assert len(fetched) == 1 and fetched[0].startswith("* 2 FETCH") and "MODSEQ (" in fetched[0], lines
    lines = r.cmd(f"SEARCH MODSEQ {highest + 1}")
    assert re.match(r"\* SEARCH 2 \(MODSEQ \d+\)", lines[0]), lines
    data = ok(c.status("INBOX", "(HIGHESTMODSEQ)"))
    assert int(re.search(rb"HIGHESTMODSEQ (\d+)", data[0]).group(1)) > highest


def test_binary_of_an_unknown_encoding_says_unknown_cte(raw, connect, user):
    c = connect(user)
    msg = (b"From: a@example.org\r\nSubject: odd\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
           b"--b\r\nContent-Type: application/x-odd\r\nContent-Transfer-Encoding: x-rot13\r\n\r\nnopqrs\r\n--b--\r\n")
    ok(c.append("INBOX", None, None, msg))
    r = raw(user=user)
    r.cmd("SELECT INBOX")
    lines = r.cmd("FETCH 1 (BINARY.PEEK[1])")
    assert " NO [UNKNOWN-CTE]" in lines[-1], lines
    lines = r.cmd("FETCH 1 (BODY.PEEK[1])")
    assert any("nopqrs" in l for l in lines) and " OK " in lines[-1], lines


def test_qresync_select_vanished_and_uid_fetch_vanished(raw, connect, user):
    c = connect(user)
    for i in range(5):
        ok(c.append("INBOX", None, None, mail(f"qr {i}", "a@example.org", "Mon, 2 Nov 2026 10:00:00 +0000", f"<qr{i}@x>")))
    r = raw(user=user)
    assert r.cmd("ENABLE QRESYNC")[0] == "* ENABLED QRESYNC"
    lines = r.cmd("SELECT INBOX")
    text = "\n".join(lines)
    uidvalidity = re.search(r"\[UIDVALIDITY (\d+)\]", text).group(1)
    modseq = int(re.search(r"\[HIGHESTMODSEQ (\d+)\]", text).group(1))
    r.cmd("UNSELECT")
    # Another session changes flags and expunges while this client is away.
    ok(c.select("INBOX"))
    ok(c.store("2", "+FLAGS", "(\\Flagged)"))
    ok(c.store("4", "+FLAGS", "(\\Deleted)"))
    ok(c.expunge())
    lines = r.cmd(f"SELECT INBOX (QRESYNC ({uidvalidity} {modseq} 1:5))")
    assert "* VANISHED (EARLIER) 4" in lines, lines
    changed = [l for l in lines if l.startswith("* ") and " FETCH " in l]
    assert len(changed) == 1 and "UID 2" in changed[0] and "\\Flagged" in changed[0] and "MODSEQ" in changed[0], lines
    lines = r.cmd(f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {modseq} VANISHED)")
    assert "* VANISHED (EARLIER) 4" in lines, lines
    # Expunges in this session are reported as VANISHED, and SELECT says CLOSED.
    r.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)")
    lines = r.cmd("EXPUNGE")
    assert "* VANISHED 1" in lines and not any(l.endswith(" EXPUNGE") for l in lines), lines
    lines = r.cmd("SELECT Sent")
    assert any(l.startswith("* OK [CLOSED]") for l in lines), lines
