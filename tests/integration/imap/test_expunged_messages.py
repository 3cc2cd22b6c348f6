# test_expunged_messages.py - deleted mail leaves the database (schema 0112): a message
# expunged from its last mailbox, left in a deleted mailbox or owned by a removed account
# is deleted by polder-imapd's housekeeper once it is no longer recoverable either (schema
# 0115: here `mailbox deleted purge` ends that at once), and then its blob by `polderctl
# file gc`; a
# message another mailbox still holds (COPY, MOVE) stays, readable; a message
# a concurrent writer is referencing is left for a later round, never deleted under it.

import os
import time

import psycopg2
import pytest

from blobs import blob_path, blob_root
from polling import wait_for
from imap_helpers import message, ok


def rows_of(sql, mid):
    """mail.messages rows whose Message-ID is <mid@test>."""
    return sql("SELECT id, encode(blob_sha256, 'hex'), raw IS NULL FROM mail.messages WHERE message_id_hdr = %s",
               (f"{mid}@test",))


def gone(sql, mid, what):
    wait_for(lambda: not rows_of(sql, mid), timeout=15, what=what)


def purge_deleted(polderctl, user):
    """Ends the recoverability of everything the user deleted (schema 0115)."""
    polderctl.ok("mailbox", "deleted", "purge", user, "--all")


def test_an_expunged_message_leaves_the_database_and_its_blob_is_collected(connect, user, sql, imapd, polderctl):
    c = connect(user)
    big = "x" * 70 * 1024 + "\r\n"       # above mailstore::max_inline_message: kept in the blob store
    ok(c.append("INBOX", None, None, message("expunge small")))
    ok(c.append("INBOX", None, None, message("expunge big", body=big)))
    ok(c.append("INBOX", None, None, message("expunge kept")))
    [(_, big_blob, big_in_blob)] = rows_of(sql, "expungebig")
    path = blob_path(blob_root(imapd), big_blob)
    assert big_in_blob and path.is_file()
    assert rows_of(sql, "expungesmall") and rows_of(sql, "expungekept")

    ok(c.select("INBOX"))
    ok(c.uid("STORE", "1:2", "+FLAGS.SILENT", r"(\Deleted)"))
    ok(c.expunge())
    time.sleep(2.5)   # housekeeper rounds: a recoverable message stays, and so does its blob
    assert rows_of(sql, "expungesmall") and rows_of(sql, "expungebig") and path.is_file()
    purge_deleted(polderctl, user)
    gone(sql, "expungesmall", "the expunged small message to be deleted")
    gone(sql, "expungebig", "the expunged big message to be deleted")
    assert rows_of(sql, "expungekept"), "a message still in INBOX was deleted"
    typ, data = c.uid("FETCH", "3", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert typ == "OK" and b"expunge kept" in data[0][1]

    # The blob is garbage now: collected by file gc once older than the grace period.
    assert path.is_file()
    old = time.time() - 3 * 86400
    os.utime(path, (old, old))
    r = polderctl("file", "gc", config=imapd.config)
    assert r.returncode == 0, r.stderr
    assert not path.exists()


def test_a_message_another_mailbox_holds_stays_until_its_last_copy_goes(connect, user, sql, polderctl):
    c = connect(user)
    ok(c.append("INBOX", None, None, message("copied once")))
    ok(c.select("INBOX"))
    ok(c.uid("COPY", "1", "Archive"))
    ok(c.uid("STORE", "1", "+FLAGS.SILENT", r"(\Deleted)"))
    ok(c.expunge())
    # Give the housekeeper rounds to (wrongly) take it.
    time.sleep(2.5)
    assert rows_of(sql, "copiedonce"), "a message Archive still holds was deleted"
    ok(c.select("Archive"))
    typ, data = c.fetch("1", "(BODY.PEEK[TEXT])")
    assert typ == "OK" and b"Hello there." in data[0][1]
    # MOVE out of Archive and back keeps it; EXPUNGE of the last copy deletes it.
    ok(c.uid("MOVE", "1", "INBOX"))
    time.sleep(2.5)
    assert rows_of(sql, "copiedonce"), "a moved message was deleted"
    ok(c.select("INBOX"))
    ok(c.store("1", "+FLAGS.SILENT", r"(\Deleted)"))
    ok(c.expunge())
    purge_deleted(polderctl, user)
    gone(sql, "copiedonce", "the last copy's message to be deleted")


def test_a_deleted_mailbox_and_a_removed_account_leave_no_messages(connect, new_user, domain, sql, polderctl):
    owner = new_user(domain)
    c = connect(owner)
    ok(c.create("Projects"))
    ok(c.append("Projects", None, None, message("in a deleted mailbox")))
    ok(c.append("INBOX", None, None, message("of a removed account")))
    ok(c.append("INBOX", None, None, message("expunged by a removed account")))
    assert rows_of(sql, "inadeletedmailbox") and rows_of(sql, "ofaremovedaccount")
    ok(c.delete("Projects"))
    purge_deleted(polderctl, owner)
    gone(sql, "inadeletedmailbox", "the deleted mailbox's message to be deleted")
    assert rows_of(sql, "ofaremovedaccount")
    ok(c.select("INBOX"))
    ok(c.uid("STORE", "2", "+FLAGS.SILENT", r"(\Deleted)"))
    ok(c.expunge())
    c.logout()
    polderctl.ok("user", "remove", owner)   # its recoverable mail goes with it
    gone(sql, "ofaremovedaccount", "the removed account's message to be deleted")
    gone(sql, "expungedbyaremovedaccount", "the removed account's recoverable message to be deleted")


def test_a_message_a_writer_is_referencing_is_left_for_a_later_round(connect, user, sql, pg, database, polderctl):
    c = connect(user)
    ok(c.append("INBOX", None, None, message("held by a writer")))
    [(row, _, _)] = rows_of(sql, "heldbyawriter")
    # A second transaction plays a writer adding an entry for the message (its foreign
    # key check takes this lock) while the last entry goes; the collector must skip it.
    writer = pg.connect(database, autocommit=False)
    try:
        with writer.cursor() as cur:
            cur.execute("SELECT 1 FROM mail.messages WHERE id = %s FOR KEY SHARE", (row,))
        ok(c.select("INBOX"))
        ok(c.uid("STORE", "1", "+FLAGS.SILENT", r"(\Deleted)"))
        ok(c.expunge())
        purge_deleted(polderctl, user)
        wait_for(lambda: sql("SELECT 1 FROM mail.unreferenced_messages WHERE message_id = %s", (row,)),
                 what="the message to be listed")
        time.sleep(2.5)   # housekeeper rounds while the writer holds it
        assert rows_of(sql, "heldbyawriter"), "the collector deleted a message a writer held"
        assert sql("SELECT 1 FROM mail.unreferenced_messages WHERE message_id = %s", (row,)), "listing dropped"
    finally:
        writer.rollback()
        writer.close()
    gone(sql, "heldbyawriter", "the message to be deleted once the writer is gone")
    assert not sql("SELECT 1 FROM mail.unreferenced_messages WHERE message_id = %s", (row,))


def test_a_message_referenced_again_is_never_deleted_and_leaves_the_list(user, sql, pg, database):
    # The collector's own rules, on a message listed while an entry still holds it.
    [(mailbox,)] = sql("SELECT m.id FROM mail.mailboxes m JOIN directory.accounts a ON a.id = m.account_id "
                       "WHERE a.address = %s AND m.name = 'INBOX'", (user,))
    conn = pg.connect(database, autocommit=False)
    try:
        with conn.cursor() as cur:
            cur.execute("INSERT INTO mail.messages (blob_sha256, size, envelope, bodystructure, header_fields, fts) "
                        "VALUES (sha256('x'), 1, '{}', '{}', '[]', ''::tsvector) RETURNING id")
            [(row,)] = cur.fetchall()
            cur.execute("INSERT INTO mail.mailbox_messages (mailbox_id, uid, message_id, size, modseq, internaldate) "
                        "SELECT id, uidnext, %s, 1, highestmodseq, now() FROM mail.mailboxes WHERE id = %s",
                        (row, mailbox))
            cur.execute("INSERT INTO mail.unreferenced_messages VALUES (%s)", (row,))
            cur.execute("SELECT mail.collect_messages(100000)")
            assert cur.fetchone()[0] >= 1
            cur.execute("SELECT count(*) FROM mail.messages WHERE id = %s", (row,))
            assert cur.fetchone()[0] == 1
            cur.execute("SELECT count(*) FROM mail.unreferenced_messages WHERE message_id = %s", (row,))
            assert cur.fetchone()[0] == 0
            # Deleting a message an entry refers to is refused by the foreign key, whoever tries.
            with pytest.raises(psycopg2.errors.ForeignKeyViolation):
                cur.execute("DELETE FROM mail.messages WHERE id = %s", (row,))
    finally:
        conn.rollback()
        conn.close()


def test_the_housekeeper_waits_for_a_quiet_moment_but_not_forever(connect, user, sql):
    # Its rounds start once no command has begun for 0.3 s (mailstore::activity), or after
    # 10 s of waiting: a message APPENDed while a session keeps sending commands gets its
    # full-text vector only after those 10 s, or as soon as the session pauses.
    busy = connect(user)

    def indexed(mid):
        return sql("SELECT fts IS NOT NULL FROM mail.messages WHERE message_id_hdr = %s", (f"{mid}@test",))

    def keep_busy(seconds, check=None):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ok(busy.noop())
            if check:
                check()
            time.sleep(0.1)

    keep_busy(0.6)   # any round already under way is over; the next one waits
    ok(busy.append("INBOX", None, None, message("busy pending")))
    started = time.monotonic()
    keep_busy(5, lambda: indexed("busypending") == [(False,)] or pytest.fail("indexed while sessions were busy"))
    keep_busy(7)
    assert indexed("busypending") == [(True,)], "not indexed after 10 s of waiting"
    assert time.monotonic() - started >= 10

    keep_busy(0.6)
    ok(busy.append("INBOX", None, None, message("quiet pending")))
    wait_for(lambda: indexed("quietpending") == [(True,)], timeout=5, what="the vector after the session went quiet")
