# test_mailboxes.py - LIST (plain, LIST-EXTENDED selection and return options,
# SPECIAL-USE, CHILDREN, LIST-STATUS), LSUB, CREATE (CREATE-SPECIAL-USE), DELETE, RENAME,
# SUBSCRIBE/UNSUBSCRIBE, STATUS (SIZE, HIGHESTMODSEQ, RECENT, APPENDLIMIT), NAMESPACE,
# ENABLE and the response codes of refused mailbox commands.

from imap_helpers import message, ok


def listing(lines):
    return [l.decode() if isinstance(l, bytes) else l for l in lines if l is not None]


def test_every_new_account_has_the_default_mailboxes_with_special_use(connect, user):
    c = connect(user)
    names = listing(ok(c.list()))
    expected = {"INBOX": None, "Drafts": "\\Drafts", "Sent": "\\Sent", "Trash": "\\Trash", "Junk": "\\Junk",
                "Archive": "\\Archive"}
    for name, use in expected.items():
        line = next(l for l in names if l.endswith(f' "/" {name}') or l.endswith(f' "/" "{name}"'))
        assert "\\HasNoChildren" in line, line
        if use:
            assert use in line, line


def test_list_empty_pattern_returns_the_delimiter(raw, user):
    r = raw(user=user)
    lines = r.cmd('LIST "" ""')
    assert lines[0] == '* LIST (\\Noselect) "/" ""', lines


def test_create_hierarchy_children_rename_and_delete(connect, user):
    c = connect(user)
    ok(c.create("Projects/2026/Budget"))
    lines = listing(ok(c.list('""', "Projects*")))
    assert any('"Projects"' in l or l.endswith(" Projects") for l in lines), lines
    proj = next(l for l in lines if l.endswith(" Projects") or l.endswith('"Projects"'))
    assert "\\HasChildren" in proj and "\\NonExistent" not in proj, proj   # parents are created too
    lines = listing(ok(c.list('""', "Projects/%")))
    assert len(lines) == 1 and "Projects/2026" in lines[0] and "\\HasChildren" in lines[0], lines
    typ, data = c.create("Projects/2026/Budget")
    assert typ == "NO" and b"[ALREADYEXISTS]" in data[0], data
    ok(c.rename("Projects/2026/Budget", "Projects/2026/Spend"))
    lines = listing(ok(c.list('""', "Projects/2026/*")))
    assert any("Spend" in l for l in lines) and not any("Budget" in l for l in lines), lines
    ok(c.delete("Projects/2026/Spend"))
    typ, data = c.delete("Projects/2026/Spend")
    assert typ == "NO" and b"[NONEXISTENT]" in data[0], data
    typ, data = c.delete("INBOX")
    assert typ == "NO", data


def test_create_special_use_and_list_extended_selection(raw, user):
    r = raw(user=user)
    lines = r.cmd('CREATE "Important" (USE (\\Flagged))')
    assert lines[-1].startswith("r1 OK"), lines
    lines = r.cmd('CREATE "Weird" (USE (\\Bogus))')
    assert " NO [USEATTR]" in lines[-1], lines
    lines = r.cmd('LIST (SPECIAL-USE) "" "*"')
    names = [l for l in lines if l.startswith("* LIST")]
    assert any("\\Flagged" in l and "Important" in l for l in names), names
    assert not any(l.endswith(" INBOX") for l in names), names
    assert len(names) == 6, names   # Drafts Sent Trash Junk Archive Important
    lines = r.cmd('LIST "" "*" RETURN (SPECIAL-USE SUBSCRIBED STATUS (MESSAGES UIDNEXT SIZE))')
    sent = next(l for l in lines if l.startswith("* LIST") and "Sent" in l)
    assert "\\Sent" in sent and "\\Subscribed" in sent, sent
    assert any(l.startswith('* STATUS Sent (MESSAGES 0 UIDNEXT 1 SIZE 0)') for l in lines), lines


def test_subscribe_unsubscribe_lsub_and_list_subscribed(connect, user):
    c = connect(user)
    ok(c.create("Lists"))
    ok(c.subscribe("Lists"))
    assert any("Lists" in l for l in listing(ok(c.lsub('""', "*"))))
    typ, data = c._simple_command("LIST", "(SUBSCRIBED)", '""', "*")
    assert typ == "OK"
    lines = listing(c.untagged_responses.pop("LIST", []))
    assert any("Lists" in l and "\\Subscribed" in l for l in lines), lines
    ok(c.unsubscribe("Lists"))
    assert not any("Lists" in l for l in listing(ok(c.lsub('""', "*"))))


def test_status_reports_counts_size_and_modseq(connect, user):
    c = connect(user)
    raw_msg = message("status one")
    ok(c.append("INBOX", "(\\Seen)", None, raw_msg))
    ok(c.append("INBOX", None, None, message("status two")))
    data = ok(c.status("INBOX", "(MESSAGES UNSEEN UIDNEXT UIDVALIDITY SIZE HIGHESTMODSEQ RECENT DELETED APPENDLIMIT)"))
    text = data[0].decode()
    assert "MESSAGES 2" in text and "UNSEEN 1" in text and "UIDNEXT 3" in text and "RECENT 2" in text, text
    assert "DELETED 0" in text and "APPENDLIMIT 52428800" in text, text
    size = len(raw_msg) + len(message("status two"))
    assert f"SIZE {size}" in text, text
    assert "HIGHESTMODSEQ " in text
    typ, data = c.status("Nope", "(MESSAGES)")
    assert typ == "NO" and b"[NONEXISTENT]" in data[0], data


def test_namespace_and_enable(raw, user):
    r = raw(user=user)
    lines = r.cmd("NAMESPACE")
    assert lines[0] == '* NAMESPACE (("" "/")) (("Shared/" "/")) NIL', lines
    lines = r.cmd("ENABLE CONDSTORE IMAP4rev2 X-UNKNOWN")
    assert lines[0] == "* ENABLED CONDSTORE IMAP4rev2", lines
    lines = r.cmd("SELECT INBOX")
    assert not any(l.endswith(" RECENT") for l in lines), lines   # rev2 has no RECENT
    assert any("[HIGHESTMODSEQ " in l for l in lines), lines
