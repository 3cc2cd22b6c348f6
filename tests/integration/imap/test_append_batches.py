# test_append_batches.py - concurrent sessions' APPENDs committed together in one
# statement (mail.append_batch, schema 0116, sent by polder-imapd from its I/O threads)
# answer exactly as APPENDs alone would: APPENDUIDs strictly ascending per mailbox and
# none lost or doubled, every message's octets back byte for byte (small ones kept with
# their row, larger ones in the blob store), [OVERQUOTA] once an account's quota is full
# (the usage counting the batch's earlier messages), [TRYCREATE] for a mailbox that does
# not exist, and an APPEND into another account's shared mailbox (which the statement
# leaves to the batch's transaction) stored with the rights it has.
# SECURITY: the statement only writes into the actors' own mailboxes; the shared one is
# checked for the insert right as before.
# STANDARDS: RFC 3501 / RFC 9051 6.3.12 (APPEND), RFC 4315 (APPENDUID), RFC 9208
# (OVERQUOTA), RFC 4314 (the insert right).

import re

from imap_helpers import message, ok
from metrics import metric
from parallel import run_parallel

ROUNDS = 12


def appenduid(data):
    m = re.search(rb"\[APPENDUID (\d+) (\d+)\]", data[0])
    assert m, data
    return int(m.group(2))


def body_of(k, i):
    # Every fourth message of session 2 is larger than the 64 KiB kept in PostgreSQL.
    size = 70 * 1024 if k == 2 and i % 4 == 0 else 200 + 37 * i
    line = f"session {k} message {i} " + "abcdefghij" * 8 + "\r\n"
    return (line * (size // len(line) + 1))[:size] + "\r\n"


def test_concurrent_appends_share_one_statement_and_each_gets_its_exact_answer(imapd, connect, domain, new_user):
    owners = [new_user(domain) for _ in range(6)]
    small = new_user(domain, "--quota", "3K")      # session 6: a few fit, then OVERQUOTA
    guest = new_user(domain)                       # session 7: into owner 0's INBOX, shared
    ok(connect(owners[0]).setacl("INBOX", guest, "lri"))
    sessions = [connect(u) for u in owners + [small, guest]]
    for c in sessions:
        assert c.select("INBOX")[0] == "OK"       # no pre-check at the literal: the batch decides
    singles0 = metric(imapd.admin_port, "polder_db_group_commit_single_statements_total")
    batches0 = metric(imapd.admin_port, "polder_db_group_commit_batch_size_count")
    sent = [dict() for _ in sessions]              # session -> {subject: octets}
    answers = [[] for _ in sessions]

    def work(k):
        c = sessions[k]
        for i in range(ROUNDS):
            subject = f"batch s{k} m{i}"
            data = message(subject, body=body_of(k, i))
            if k == 5 and i % 3 == 0:
                target = "Nonexistent"
            elif k == 7:
                target = f"Shared/{owners[0]}/INBOX"
            else:
                target = "INBOX"
            typ, resp = c.append(target, None, None, data)
            answers[k].append((target, typ, resp))
            if typ == "OK":
                sent[k][subject] = data

    run_parallel(work, len(sessions), timeout=180)

    for k in range(len(sessions)):
        for target, typ, resp in answers[k]:
            if target == "Nonexistent":
                assert typ == "NO" and b"[TRYCREATE]" in resp[0], resp
            elif k == 6:
                assert typ == "OK" or b"[OVERQUOTA]" in resp[0], resp
            else:
                assert typ == "OK", (k, target, resp)
    # Each own INBOX: the session's UIDs strictly ascending, 1..n without a gap.
    for k in (1, 2, 3, 4, 5, 6):
        uids = [appenduid(resp) for target, typ, resp in answers[k] if typ == "OK"]
        assert uids == list(range(1, len(uids) + 1)), (k, uids)
    # Owner 0's INBOX got its own and the guest's, interleaved, every UID once.
    uids0 = [appenduid(r) for t, typ, r in answers[0]] + [appenduid(r) for t, typ, r in answers[7]]
    assert sorted(uids0) == list(range(1, 2 * ROUNDS + 1))
    # The small account: what fits was stored, then everything after was refused.
    verdicts = [typ for _, typ, _ in answers[6]]
    assert "OK" in verdicts and "NO" in verdicts and verdicts == sorted(verdicts, reverse=True), verdicts
    assert sum(len(v) for v in sent[6].values()) <= 3 * 1024

    # Everything back, byte for byte, from a fresh session of each owner.
    def stored(address):
        c = connect(address)
        c.select("INBOX", readonly=True)
        typ, data = c.uid("FETCH", "1:*", "(BODY.PEEK[])")
        assert typ == "OK"
        got = {}
        for item in data:
            if isinstance(item, tuple):
                subject = re.search(rb"^Subject: (.*)\r$", item[1], re.M).group(1).decode()
                assert subject not in got, subject   # never stored twice
                got[subject] = item[1]
        return got

    assert stored(owners[0]) == {**sent[0], **sent[7]}
    for k in (1, 2, 3, 4, 5, 6):
        assert stored((owners + [small])[k]) == sent[k], k

    # The batches shared statements: fewer batches than APPENDs, and one-statement ones.
    appends = sum(len(a) for a in answers)
    assert metric(imapd.admin_port, "polder_db_group_commit_single_statements_total") > singles0
    assert metric(imapd.admin_port, "polder_db_group_commit_batch_size_count") - batches0 < appends
