# test_group_commit.py - many sessions delivering to one mailbox at once: every message
# that got 250 is in the INBOX exactly once with strictly ascending UIDs, the deliveries
# shared transactions (group commit: the metric shows batches of more than one), and the
# background indexer then fills every message's stemmed full-text vector (schema 0105).
# SECURITY: durability of batched deliveries (250 only after the commit that holds them).
# STANDARDS: RFC 5321 4.2.5 (250 after the message is safe), RFC 3501 2.3.1.1 (UIDs).

import smtplib
import threading

from conftest import message, wait_for
from metrics import metric
from parallel import run_parallel

SESSIONS = 12
PER_SESSION = 10


def test_concurrent_deliveries_to_one_mailbox_commit_together_and_get_indexed(smtpd, world, inbox, sql):
    before = {row[0] for row in inbox(world.alice)}
    batches0 = metric(smtpd.admin_port, "polder_db_group_commit_batch_size_count")
    messages0 = metric(smtpd.admin_port, "polder_db_group_commit_batch_size_sum")
    accepted = []
    lock = threading.Lock()

    def sender(n):
        with smtplib.SMTP("127.0.0.1", smtpd.port("mx"), timeout=30) as c:
            for i in range(PER_SESSION):
                subject = f"batch {n}-{i}"
                data = message(subject, "news@elders.example", world.alice,
                               body="Vergaderingen van de gemeenteraad\r\n")
                c.sendmail("news@elders.example", [world.alice], data)
                with lock:
                    accepted.append(subject)

    run_parallel(sender, SESSIONS, timeout=120)
    assert len(accepted) == SESSIONS * PER_SESSION

    rows = [r for r in inbox(world.alice) if r[0] not in before]
    assert len(rows) == SESSIONS * PER_SESSION
    uids = [r[0] for r in rows]
    assert uids == sorted(set(uids))           # strictly ascending, no duplicates
    subjects = sql("SELECT m.subject FROM mail.mailbox_messages mm JOIN mail.messages m ON m.id = mm.message_id "
                   "JOIN mail.mailboxes mb ON mb.id = mm.mailbox_id JOIN directory.accounts a ON a.id = mb.account_id "
                   "WHERE a.address = %s AND m.subject LIKE 'batch %%'", (world.alice,))
    assert sorted(s[0] for s in subjects) == sorted(accepted)   # each exactly once

    batches = metric(smtpd.admin_port, "polder_db_group_commit_batch_size_count") - batches0
    delivered = metric(smtpd.admin_port, "polder_db_group_commit_batch_size_sum") - messages0
    assert delivered >= SESSIONS * PER_SESSION
    assert batches < delivered, "no two deliveries shared a transaction"

    # The stemmed vector comes after the commit: the background indexer fills it, and then
    # a Dutch stem finds the plural ("vergadering" for "Vergaderingen").
    wait_for(lambda: sql("SELECT count(*) FROM mail.messages WHERE fts IS NULL")[0][0] == 0,
             timeout=30, what="the background full-text indexer")
    found = sql("SELECT count(*) FROM mail.messages m WHERE m.subject LIKE 'batch %%' AND "
                "m.fts @@ plainto_tsquery('dutch', 'vergadering')")[0][0]
    assert found == SESSIONS * PER_SESSION
