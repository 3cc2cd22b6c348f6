# test_expunge_records.py - QRESYNC's expunge records are kept for imap.expunged_days and
# then pruned (schema 0114, mail.prune_expunged; the housekeeper's own loop is covered by
# tests/unit/mailstore). A client resynchronising from before a pruned record is told
# every UID of its range that is not in the mailbox (RFC 7162 section 3.2.6), by SELECT
# (QRESYNC), by UID FETCH (VANISHED) and by a selected session's own update; a client
# from after it still gets the exact list. A mailbox deleted for its children and created
# again (same UIDVALIDITY) reports every UID it held as gone.

import re

from imap_helpers import message, ok


def inbox_of(sql, user):
    return sql("SELECT m.id FROM mail.mailboxes m JOIN directory.accounts a ON a.id = m.account_id "
               "WHERE a.address = %s AND m.name = 'INBOX'", (user,))[0][0]


def prune_all(sql, mailbox):
    """Ages the mailbox's records past a 30-day retention and prunes them as the housekeeper does."""
    sql("UPDATE mail.expunged SET expunged_at = now() - interval '40 days' WHERE mailbox_id = %s", (mailbox,))
    sql("SELECT mail.prune_expunged(now() - interval '30 days', 1000)")
    assert sql("SELECT count(*) FROM mail.expunged WHERE mailbox_id = %s", (mailbox,))[0][0] == 0


def state(lines):
    text = "\n".join(lines)
    return (re.search(r"\[UIDVALIDITY (\d+)\]", text).group(1),
            int(re.search(r"\[HIGHESTMODSEQ (\d+)\]", text).group(1)))


def vanished(lines):
    return [l for l in lines if l.startswith("* VANISHED")]


def test_a_resync_from_before_pruned_records_lists_every_uid_not_in_the_mailbox(raw, connect, user, sql):
    c = connect(user)
    for i in range(6):
        ok(c.append("INBOX", None, None, message(f"pruned {user} {i}")))
    r = raw(user=user)
    assert r.cmd("ENABLE QRESYNC")[0] == "* ENABLED QRESYNC"
    uidvalidity, before = state(r.cmd("SELECT INBOX"))
    r.cmd("UNSELECT")

    # Another client deletes 2 and 4 and flags 5 while this one is away.
    ok(c.select("INBOX"))
    ok(c.uid("STORE", "2,4", "+FLAGS.SILENT", "(\\Deleted)"))
    ok(c.expunge())
    ok(c.uid("STORE", "5", "+FLAGS.SILENT", "(\\Flagged)"))
    # Exact while the records are there.
    lines = r.cmd(f"SELECT INBOX (QRESYNC ({uidvalidity} {before} 1:6))")
    assert vanished(lines) == ["* VANISHED (EARLIER) 2,4"], lines
    _, middle = state(lines)
    r.cmd("UNSELECT")

    prune_all(sql, inbox_of(sql, user))
    # UID 6 goes after the prune: its record is new.
    ok(c.uid("STORE", "6", "+FLAGS.SILENT", "(\\Deleted)"))
    ok(c.expunge())

    # From before the pruned records: every UID the client may know that is not there.
    lines = r.cmd(f"SELECT INBOX (QRESYNC ({uidvalidity} {before} 1:6))")
    assert vanished(lines) == ["* VANISHED (EARLIER) 2,4,6"], lines
    changed = [l for l in lines if " FETCH " in l]
    assert len(changed) == 1 and "UID 5" in changed[0] and "\\Flagged" in changed[0], lines
    r.cmd("UNSELECT")
    # Without known UIDs, the whole range below UIDNEXT.
    lines = r.cmd(f"SELECT INBOX (QRESYNC ({uidvalidity} {before}))")
    assert vanished(lines) == ["* VANISHED (EARLIER) 2,4,6"], lines
    # Known UIDs narrow it.
    r.cmd("UNSELECT")
    lines = r.cmd(f"SELECT INBOX (QRESYNC ({uidvalidity} {before} 3:5))")
    assert vanished(lines) == ["* VANISHED (EARLIER) 4"], lines
    # UID FETCH ... VANISHED within its set.
    lines = r.cmd(f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {before} VANISHED)")
    assert vanished(lines) == ["* VANISHED (EARLIER) 2,4"], lines   # "*" is the highest UID in use, 5
    lines = r.cmd(f"UID FETCH 1:10 (FLAGS) (CHANGEDSINCE {before} VANISHED)")
    assert vanished(lines) == ["* VANISHED (EARLIER) 2,4,6"], lines
    # From after the pruned records: exact again.
    r.cmd("UNSELECT")
    lines = r.cmd(f"SELECT INBOX (QRESYNC ({uidvalidity} {middle} 1:6))")
    assert vanished(lines) == ["* VANISHED (EARLIER) 6"], lines
    lines = r.cmd("UID FETCH 1:* (FLAGS)")
    assert sorted(int(m) for m in re.findall(r"UID (\d+)", "\n".join(lines))) == [1, 3, 5]


def test_a_selected_session_learns_of_expunges_whose_records_were_pruned(raw, connect, user, sql):
    c = connect(user)
    for i in range(5):
        ok(c.append("INBOX", None, None, message(f"live {user} {i}")))
    r = raw(user=user)
    assert r.cmd("ENABLE QRESYNC")[0] == "* ENABLED QRESYNC"
    r.cmd("SELECT INBOX")
    plain = connect(user)   # without QRESYNC: EXPUNGE by sequence number
    ok(plain.select("INBOX"))

    ok(c.select("INBOX"))
    ok(c.uid("STORE", "1,3", "+FLAGS.SILENT", "(\\Deleted)"))
    ok(c.expunge())
    prune_all(sql, inbox_of(sql, user))
    ok(c.append("INBOX", None, None, message(f"live {user} new")))

    lines = r.cmd("NOOP")
    assert vanished(lines) == ["* VANISHED 1,3"], lines
    assert "* 4 EXISTS" in lines, lines
    typ, data = plain.noop()
    assert typ == "OK"
    untagged = plain.untagged_responses
    assert untagged.get("EXPUNGE") == [b"1", b"2"], untagged   # 1, then 3 renumbered as 2
    lines = r.cmd("UID FETCH 1:* (FLAGS)")
    assert sorted(int(m) for m in re.findall(r"UID (\d+)", "\n".join(lines))) == [2, 4, 5, 6]


def test_a_mailbox_deleted_for_its_children_and_created_again_reports_its_old_uids_gone(raw, connect, user):
    c = connect(user)
    ok(c.create("Work"))
    ok(c.create("Work/Sub"))
    for i in range(3):
        ok(c.append("Work", None, None, message(f"work {user} {i}")))
    r = raw(user=user)
    assert r.cmd("ENABLE QRESYNC")[0] == "* ENABLED QRESYNC"
    uidvalidity, before = state(r.cmd("SELECT Work"))
    r.cmd("UNSELECT")
    ok(c.delete("Work"))   # has a child: stays as \Noselect, UIDVALIDITY kept
    ok(c.create("Work"))
    ok(c.append("Work", None, None, message(f"work {user} again")))
    lines = r.cmd(f"SELECT Work (QRESYNC ({uidvalidity} {before} 1:3))")
    assert state(lines)[0] == uidvalidity
    assert vanished(lines) == ["* VANISHED (EARLIER) 1:3"], lines
