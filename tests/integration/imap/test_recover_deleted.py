# test_recover_deleted.py - mail a user expunged, or lost with a deleted mailbox, stays
# recoverable (schema 0115): `polderctl mailbox deleted list` shows it, `restore` puts it
# back - where it was, a deleted mailbox created again, or into --to - with its flags and
# exact bytes and a new UID that an open IMAP session sees arrive; `purge` ends it; the
# quota, the account boundary and bad input are respected, and each change is audited.

import json
import re

from imap_helpers import message, ok


def deleted(polderctl, user, *args):
    return json.loads(polderctl.ok("mailbox", "deleted", "list", user, "--json", *args).stdout)


def uids_and_flags(c):
    typ, data = c.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert typ == "OK"
    out = {}
    for item in data:
        if isinstance(item, tuple):
            uid = int(re.search(rb"UID (\d+)", item[0]).group(1))
            flags = re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1).decode().split()
            subject = item[1].decode().split(":", 1)[1].strip()
            out[subject] = (uid, sorted(f for f in flags if f != "\\Recent"))   # restored = new to sessions
    return out


def test_expunged_and_deleted_mailbox_mail_is_restored_where_it_was(connect, user, polderctl, sql):
    c = connect(user)
    for subject in ("keep me", "oops one", "oops two"):
        ok(c.append("INBOX", None, None, message(subject)))
    ok(c.create("Projects/2026"))
    original = message("project plan", body="Exact bytes, kept.\r\n")
    ok(c.append("Projects/2026", r"(\Flagged)", None, original))
    ok(c.select("INBOX"))
    before = uids_and_flags(c)
    ok(c.uid("STORE", str(before["oops one"][0]), "+FLAGS.SILENT", r"(\Seen \Deleted)"))
    ok(c.uid("STORE", str(before["oops two"][0]), "+FLAGS.SILENT", r"(\Deleted)"))
    ok(c.expunge())
    ok(c.unselect())
    ok(c.delete("Projects/2026"))

    listed = deleted(polderctl, user)
    assert [(d["mailbox"], d["subject"], d["flags"]) for d in listed] == [
        ("INBOX", "oops one", ["\\Seen"]), ("INBOX", "oops two", []), ("Projects/2026", "project plan", ["\\Flagged"])]
    assert all(d["from"].startswith("Anna") and d["deleted_at"].endswith("Z") for d in listed)
    assert [d["subject"] for d in deleted(polderctl, user, "--mailbox", "Projects")] == ["project plan"]
    assert deleted(polderctl, user, "--mailbox", "Proj") == []
    table = polderctl.ok("mailbox", "deleted", "list", user).stdout.splitlines()
    assert table[0].split() == ["ID", "DELETED", "(UTC)", "MAILBOX", "SIZE", "FROM", "SUBJECT"]
    assert len(table) == 4 and "oops one" in table[1]

    # One message back into INBOX while a session has it selected: it arrives (EXISTS).
    watcher = connect(user)
    ok(watcher.select("INBOX"))
    r = polderctl.ok("mailbox", "deleted", "restore", user, "--id", str(listed[0]["id"]))
    assert r.stdout.strip() == "restored 1 message into INBOX (1)"
    ok(watcher.noop())
    assert watcher.response("EXISTS")[1] != [None], "the session was not told of the restored message"
    after = uids_and_flags(watcher)
    assert after["oops one"][1] == ["\\Seen"]
    assert after["oops one"][0] > max(uid for uid, _ in before.values())   # a new UID
    assert "oops two" not in after

    # Everything from the deleted mailbox: it is created again, the message byte for byte.
    r = polderctl.ok("mailbox", "deleted", "restore", user, "--all", "--mailbox", "Projects/2026")
    assert r.stdout.strip() == "restored 1 message into Projects/2026 (1)"
    typ, boxes = c.list()
    assert any(b'"Projects/2026"' in b or b" Projects/2026" in b for b in boxes), boxes
    ok(c.select("Projects/2026"))
    typ, data = c.fetch("1", "(FLAGS BODY.PEEK[])")
    assert typ == "OK" and data[0][1] == original and b"\\Flagged" in data[0][0]

    # The rest into a mailbox of the operator's choice.
    r = polderctl.ok("mailbox", "deleted", "restore", user, "--all", "--to", "Recovered")
    assert r.stdout.strip() == "restored 1 message into Recovered (1)"
    ok(c.select("Recovered"))
    assert list(uids_and_flags(c)) == ["oops two"]
    assert deleted(polderctl, user) == []
    events = sql("SELECT e.event, e.details FROM audit.events e JOIN directory.accounts a ON a.id = e.account_id "
                 "WHERE a.address = %s AND e.event LIKE 'admin.mail.%%' ORDER BY e.id", (user,))
    assert [(e, d["messages"]) for e, d in events] == [("admin.mail.restore", 1)] * 3
    assert events[1][1]["mailboxes"] == {"Projects/2026": 1}


def test_restore_and_purge_refuse_what_they_must(connect, user, new_user, domain, polderctl, expect_failure, sql):
    c = connect(user)
    ok(c.append("INBOX", None, None, message("big enough", body="y" * 4000 + "\r\n")))
    ok(c.append("INBOX", None, None, message("second")))
    ok(c.select("INBOX"))
    ok(c.store("1:2", "+FLAGS.SILENT", r"(\Deleted)"))
    ok(c.expunge())
    [big, second] = deleted(polderctl, user)
    stranger = new_user(domain)

    expect_failure(polderctl("mailbox", "deleted", "restore", user), 2, "--id", "--all")
    expect_failure(polderctl("mailbox", "deleted", "restore", user, "--id", "1", "--all"), 2, "--id", "--all")
    expect_failure(polderctl("mailbox", "deleted", "restore", user, "--id", str(big["id"]), "--since", "1d"), 2,
                   "--since")
    expect_failure(polderctl("mailbox", "deleted", "list", user, "--since", "tomorrow"), 2, "--since")
    # Another account's ids are unknown to it; nothing of the user's moves.
    expect_failure(polderctl("mailbox", "deleted", "restore", stranger, "--id", str(big["id"])), 1,
                   "unknown deleted message id")
    expect_failure(polderctl("mailbox", "deleted", "purge", stranger, "--id", str(big["id"])), 1,
                   "unknown deleted message id")
    expect_failure(polderctl("mailbox", "deleted", "restore", user, "--id", str(big["id"]), "--to", "Shared/x/y"), 2,
                   "cannot restore into")
    # Over the quota: refused, nothing restored.
    polderctl.ok("quota", "set", user, "1K")
    expect_failure(polderctl("mailbox", "deleted", "restore", user, "--all"), 1, "exceed the quota")
    assert len(deleted(polderctl, user)) == 2
    polderctl.ok("quota", "set", user, "1G")

    r = polderctl.ok("mailbox", "deleted", "purge", user, "--id", str(big["id"]))
    assert r.stdout.strip() == "purged 1 deleted message"
    assert [d["id"] for d in deleted(polderctl, user)] == [second["id"]]
    assert polderctl.ok("mailbox", "deleted", "purge", user, "--all").stdout.strip() == "purged 1 deleted message"
    assert deleted(polderctl, user) == []
    assert sql("SELECT count(*) FROM audit.events e JOIN directory.accounts a ON a.id = e.account_id "
               "WHERE a.address = %s AND e.event = 'admin.mail.purge'", (user,))[0][0] == 2


def test_a_move_leaves_nothing_to_recover(connect, user, polderctl):
    c = connect(user)
    ok(c.append("INBOX", None, None, message("moved along")))
    ok(c.select("INBOX"))
    ok(c.uid("MOVE", "1", "Archive"))
    assert deleted(polderctl, user) == []
