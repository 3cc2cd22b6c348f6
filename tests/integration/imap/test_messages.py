# test_messages.py - APPEND (APPENDUID, LITERAL+, APPENDLIMIT), SELECT/EXAMINE responses,
# FETCH of every item (ENVELOPE, BODYSTRUCTURE, BODY[section]<partial>, BODY.PEEK and
# \Seen, RFC822.*, BINARY, BINARY.SIZE, MODSEQ), STORE (+FLAGS.SILENT, UNCHANGEDSINCE),
# SEARCH with RFC 3501 keys, ESEARCH and SEARCHRES, COPY/MOVE with COPYUID, EXPUNGE,
# UID EXPUNGE, CLOSE and UNSELECT.

import base64
import re

from imap_helpers import message, ok

MULTIPART = (
    b"From: Carla <carla@example.org>\r\nTo: dirk@example.org, Eva <eva@example.org>\r\n"
    b"Cc: frank@example.org\r\nSubject: Vergadering agenda\r\nDate: Tue, 24 Nov 2026 09:30:00 +0100\r\n"
    b"Message-ID: <agenda@test>\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=\"XYZ\"\r\n\r\n"
    b"--XYZ\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    b"De vergadering begint om tien uur. Caf=C3=A9 is open.\r\n"
    b"--XYZ\r\nContent-Type: application/octet-stream; name=\"data.bin\"\r\n"
    b"Content-Disposition: attachment; filename=\"data.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    + base64.encodebytes(bytes(range(256))).replace(b"\n", b"\r\n") +
    b"--XYZ--\r\n")


def test_append_returns_appenduid_and_select_reports_the_mailbox(connect, user):
    c = connect(user)
    data = ok(c.append("INBOX", "(\\Flagged $Work)", '"23-Nov-2026 10:00:00 +0000"', message("first")))
    m = re.search(rb"\[APPENDUID (\d+) 1\]", data[0])
    assert m, data
    uidvalidity = m.group(1)
    ok(c.append("INBOX", None, None, message("second")))
    typ, data = c.select("INBOX")
    assert typ == "OK" and data == [b"2"]
    assert c.untagged_responses["UIDVALIDITY"] == [uidvalidity]
    assert c.untagged_responses["UIDNEXT"] == [b"3"]
    assert c.untagged_responses["RECENT"] == [b"2"]
    flags = c.untagged_responses["FLAGS"][0]
    assert b"$Work" in flags and b"\\Seen" in flags
    assert b"\\*" in c.untagged_responses["PERMANENTFLAGS"][0]
    assert c.untagged_responses["UNSEEN"] == [b"1"]
    assert b"HIGHESTMODSEQ" in b" ".join(c.untagged_responses.get("OK", []))
    typ, data = c.select("INBOX", readonly=True)
    assert typ == "OK" and c.untagged_responses["READ-ONLY"]
    assert c.untagged_responses["RECENT"] == [b"0"]   # this session already claimed them


def test_append_to_a_missing_mailbox_says_trycreate(connect, user):
    c = connect(user)
    typ, data = c.append("Nope", None, None, message("x"))
    assert typ == "NO" and b"[TRYCREATE]" in data[0], data


def test_append_with_literal_plus_and_over_appendlimit(raw, user):
    r = raw(user=user)
    body = message("literal plus")
    r.send_raw(b"a1 APPEND INBOX {%d+}\r\n" % len(body) + body + b"\r\n")
    lines = r.until("a1")
    assert lines[-1].startswith("a1 OK [APPENDUID "), lines
    r.send_raw(b"a2 APPEND INBOX {99999999999}\r\n")
    lines = r.until("a2")
    assert lines[-1].startswith("a2 NO [TOOBIG]") or lines[-1].startswith("a2 BAD"), lines
    lines = r.cmd("NOOP")
    assert "OK" in lines[-1], lines


def test_fetch_envelope_bodystructure_sections_and_seen(connect, user):
    c = connect(user)
    ok(c.append("INBOX", None, '"24-Nov-2026 09:30:00 +0100"', MULTIPART))
    ok(c.select("INBOX"))
    data = ok(c.fetch("1", "(UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)"))
    text = data[0].decode() if isinstance(data[0], bytes) else data[0][0].decode()
    assert "UID 1" in text and f"RFC822.SIZE {len(MULTIPART)}" in text
    assert 'INTERNALDATE "24-Nov-2026 08:30:00 +0000"' in text
    assert '"Vergadering agenda"' in text and '(("Carla" NIL "carla" "example.org"))' in text
    assert '((NIL NIL "dirk" "example.org")("Eva" NIL "eva" "example.org"))' in text
    data = ok(c.fetch("1", "BODYSTRUCTURE"))
    bs = data[0].decode()
    assert '("TEXT" "PLAIN" ("charset" "utf-8") NIL NIL "QUOTED-PRINTABLE"' in bs, bs
    assert '"APPLICATION" "OCTET-STREAM" ("name" "data.bin")' in bs, bs
    assert '"MIXED" ("boundary" "XYZ")' in bs, bs
    data = ok(c.fetch("1", "BODY"))
    assert '"MIXED")' in data[0].decode()
    data = ok(c.fetch("1", "(BODY.PEEK[HEADER.FIELDS (Subject From)])"))
    assert data[0][1] == b"From: Carla <carla@example.org>\r\nSubject: Vergadering agenda\r\n\r\n", data
    data = ok(c.fetch("1", "(BODY.PEEK[HEADER.FIELDS.NOT (Subject From To Cc Date Message-ID MIME-Version)])"))
    assert data[0][1] == b'Content-Type: multipart/mixed; boundary="XYZ"\r\n\r\n', data
    data = ok(c.fetch("1", "(FLAGS)"))
    assert b"\\Seen" not in data[0]
    data = ok(c.fetch("1", "(BODY.PEEK[1]<0.12>)"))
    assert data[0][1] == b"De vergaderi" and b"BODY[1]<0>" in data[0][0], data
    data = ok(c.fetch("1", "(BODY.PEEK[1.MIME])"))
    assert data[0][1].startswith(b"Content-Type: text/plain; charset=utf-8\r\n"), data
    data = ok(c.fetch("1", "(BINARY.PEEK[1] BINARY.SIZE[2])"))
    assert data[0][1] == "De vergadering begint om tien uur. Café is open.".encode(), data
    assert data[1] == b" BINARY.SIZE[2] 256)", data
    data = ok(c.fetch("1", "(BINARY.PEEK[2])"))
    assert data[0][1] == bytes(range(256)), data
    data = ok(c.fetch("1", "(RFC822.HEADER)"))
    assert data[0][1].endswith(b"boundary=\"XYZ\"\r\n\r\n")
    data = ok(c.fetch("1", "(FLAGS)"))
    assert b"\\Seen" not in data[0]
    data = ok(c.fetch("1", "(BODY[TEXT])"))
    assert data[0][1].startswith(b"--XYZ\r\n")
    assert b"\\Seen" in b"".join(x if isinstance(x, bytes) else x[0] for x in data)
    data = ok(c.fetch("1", "(RFC822)"))
    assert data[0][1] == MULTIPART
    data = ok(c.uid("FETCH", "1", "(BODY.PEEK[]<10.5>)"))
    assert data[0][1] == MULTIPART[10:15]


def test_examine_never_sets_seen(connect, user):
    c = connect(user)
    ok(c.append("INBOX", None, None, message("peek")))
    ok(c.select("INBOX", readonly=True))
    ok(c.fetch("1", "(BODY[])"))
    data = ok(c.fetch("1", "(FLAGS)"))
    assert b"\\Seen" not in data[0]


def test_store_flags_silent_and_unchangedsince(raw, user, connect):
    c = connect(user)
    for i in range(3):
        ok(c.append("INBOX", None, None, message(f"store {i}")))
    r = raw(user=user)
    r.cmd("SELECT INBOX (CONDSTORE)")
    lines = r.cmd("STORE 1:2 +FLAGS (\\Flagged $Label1)")
    fetches = [l for l in lines if l.startswith("* ") and " FETCH " in l]
    assert len(fetches) == 2 and all("\\Flagged" in l and "$Label1" in l and "MODSEQ" in l for l in fetches), lines
    assert any(l.startswith("* FLAGS (") and "$Label1" in l for l in lines), lines
    lines = r.cmd("STORE 3 +FLAGS.SILENT (\\Deleted)")
    fetches = [l for l in lines if l.startswith("* ") and " FETCH " in l]
    assert fetches == [f"* 3 FETCH (MODSEQ ({fetches[0].split('(')[-1].split(')')[0]}))"], lines   # no FLAGS
    lines = r.cmd("UID STORE 1 -FLAGS (\\Flagged)")
    assert any("UID 1" in l and "\\Flagged" not in l for l in lines if " FETCH " in l), lines
    lines = r.cmd("FETCH 1 (MODSEQ)")
    modseq = int(re.search(r"MODSEQ \((\d+)\)", lines[0]).group(1))
    r.cmd("STORE 2 +FLAGS.SILENT ($Later)")   # message 2 changes after the modseq the client knows
    lines = r.cmd(f"STORE 1,2 (UNCHANGEDSINCE {modseq}) +FLAGS (\\Answered)")
    assert "[MODIFIED 2]" in lines[-1], lines
    lines = r.cmd("FETCH 1:3 (FLAGS)")
    assert "\\Answered" in lines[0] and "\\Answered" not in lines[1] and "\\Deleted" in lines[2], lines
    lines = r.cmd("STORE 1 +FLAGS (\\Recent)")
    assert "OK" in lines[-1], lines


def test_search_keys_esearch_and_searchres(raw, user, connect):
    c = connect(user)
    ok(c.append("INBOX", "(\\Seen)", '"01-Jan-2026 12:00:00 +0000"', message("alpha report", body="budget numbers\r\n")))
    ok(c.append("INBOX", "(\\Flagged)", '"15-Jun-2026 12:00:00 +0000"',
                message("beta vergadering", sender="zed@other.example", body="De vergaderingen zijn lang.\r\n")))
    ok(c.append("INBOX", None, '"20-Nov-2026 12:00:00 +0000"', message("gamma", body="x" * 5000 + "\r\n",
                                                                  headers="X-Priority: 1\r\n")))
    r = raw(user=user)
    r.cmd("SELECT INBOX")

    def search(q):
        lines = r.cmd(q)
        assert " OK " in lines[-1], (q, lines)
        found = [l for l in lines if l.startswith("* SEARCH") or l.startswith("* ESEARCH")]
        return found[0] if found else None

    assert search("SEARCH ALL") == "* SEARCH 1 2 3"
    assert search("SEARCH SEEN") == "* SEARCH 1"
    assert search("SEARCH UNSEEN") == "* SEARCH 2 3"
    assert search("SEARCH FLAGGED") == "* SEARCH 2"
    assert search("SEARCH NOT FLAGGED") == "* SEARCH 1 3"
    assert search("SEARCH OR SEEN FLAGGED") == "* SEARCH 1 2"
    assert search("SEARCH SUBJECT report") == "* SEARCH 1"
    assert search("SEARCH FROM zed@other") == "* SEARCH 2"
    assert search('SEARCH BODY "budget"') == "* SEARCH 1"
    assert search("SEARCH BODY vergadering") == "* SEARCH 2"
    # RFC 3501/9051: a substring, so a stem alone does not match; FUZZY (RFC 6203) does.
    assert search("SEARCH BODY vergaderingen") == "* SEARCH 2"
    assert search("SEARCH BODY vergaderinge") == "* SEARCH 2"
    assert search("SEARCH BODY budgets") == "* SEARCH"
    assert search("SEARCH FUZZY BODY budgets") == "* SEARCH 1"
    assert search("SEARCH FUZZY (OR SUBJECT alpha TEXT vergadering) FLAGGED") == "* SEARCH 2"
    ranked = search("UID SEARCH RETURN (RELEVANCY) FUZZY TEXT budgets")
    assert ranked.startswith('* ESEARCH (TAG "') and ranked.endswith(" UID ALL 1 RELEVANCY (%s)" % ranked.split("(")[-1][:-1]), ranked
    score = int(ranked.split("RELEVANCY (")[1].rstrip(")"))
    assert 1 <= score <= 100, ranked
    assert search("SEARCH TEXT gamma") == "* SEARCH 3"
    assert search("SEARCH HEADER X-Priority 1") == "* SEARCH 3"
    assert search("SEARCH LARGER 4000") == "* SEARCH 3"
    assert search("SEARCH SMALLER 4000") == "* SEARCH 1 2"
    assert search("SEARCH BEFORE 1-Feb-2026") == "* SEARCH 1"
    assert search("SEARCH SINCE 1-Jun-2026") == "* SEARCH 2 3"
    assert search("SEARCH ON 15-Jun-2026") == "* SEARCH 2"
    assert search("SEARCH SENTON 23-Nov-2026") == "* SEARCH 1 2 3"
    assert search("SEARCH 2:3 UNSEEN") == "* SEARCH 2 3"
    assert search("UID SEARCH UID 2:*") == "* SEARCH 2 3"
    assert search("SEARCH RECENT") == "* SEARCH 1 2 3"
    assert search("SEARCH NEW") == "* SEARCH 2 3"
    assert search("SEARCH KEYWORD $Nothing") == "* SEARCH"
    assert search("SEARCH RETURN (MIN MAX COUNT) ALL").endswith("MIN 1 MAX 3 COUNT 3")
    assert search("UID SEARCH RETURN () UNSEEN").endswith("UID ALL 2:3")
    assert search("SEARCH RETURN (SAVE) FLAGGED") is None
    lines = r.cmd("FETCH $ (UID)")
    assert [l for l in lines if l.startswith("* ") and " FETCH " in l] == ["* 2 FETCH (UID 2)"], lines
    assert search("SEARCH $") == "* SEARCH 2"
    lines = r.cmd("SEARCH CHARSET KOI8-R ALL")
    assert "[BADCHARSET" in lines[-1], lines


def test_copy_move_with_copyuid_and_expunge(raw, user, connect):
    c = connect(user)
    for i in range(4):
        ok(c.append("INBOX", None, None, message(f"move {i}")))
    ok(c.create("Keep"))
    r = raw(user=user)
    r.cmd("SELECT INBOX")
    lines = r.cmd("COPY 1:2 Keep")
    assert re.match(r"r2 OK \[COPYUID \d+ 1:2 1:2\]", lines[-1]), lines
    lines = r.cmd("UID MOVE 3 Keep")
    assert any(re.match(r"\* OK \[COPYUID \d+ 3 3\]", l) for l in lines), lines
    assert "* 3 EXPUNGE" in lines, lines
    lines = r.cmd("COPY 1 Missing")
    assert "[TRYCREATE]" in lines[-1], lines
    lines = r.cmd("STORE 1,2 +FLAGS.SILENT (\\Deleted)")
    lines = r.cmd("UID EXPUNGE 2")
    assert "* 2 EXPUNGE" in lines and "* 1 EXPUNGE" not in lines, lines
    lines = r.cmd("EXPUNGE")
    assert "* 1 EXPUNGE" in lines, lines
    lines = r.cmd("FETCH 1 UID")
    assert lines[0] == "* 1 FETCH (UID 4)", lines
    lines = r.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)")
    lines = r.cmd("UNSELECT")
    assert "OK" in lines[-1]
    data = ok(c.status("INBOX", "(MESSAGES)"))
    assert b"MESSAGES 1" in data[0]
    r.cmd("SELECT INBOX")
    lines = r.cmd("CLOSE")
    assert "OK" in lines[-1]
    data = ok(c.status("INBOX", "(MESSAGES)"))
    assert b"MESSAGES 0" in data[0]
    data = ok(c.status("Keep", "(MESSAGES)"))
    assert b"MESSAGES 3" in data[0]
    lines = r.cmd("FETCH 1 FLAGS")
    assert " BAD " in lines[-1], lines   # nothing selected any more
