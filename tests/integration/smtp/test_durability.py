# test_durability.py - "never acknowledge what is not durable": polder-smtpd is killed with
# SIGKILL again and again while clients deliver; afterwards every message that got its 250
# is in its mailbox exactly once (and nothing is there twice).
# SECURITY: crash consistency of the delivery transaction (blob fsync before the row,
# 250 after COMMIT). STANDARDS: RFC 5321 section 6.1 (reliable delivery).

import signal
import smtplib
import subprocess
import threading
import time

from conftest import message, wait_for


def test_every_acknowledged_message_survives_sigkill_exactly_once(start_service, build_dir, world, sql):
    # Let the fixture write a complete config, then run the binary ourselves so that the
    # SIGKILLs below are not reported as a failed service at teardown.
    svc = start_service("smtp")
    config, port = svc.config, svc.port("mx")
    assert svc.stop() == 0
    binary = build_dir / "services" / "smtp" / "polder-smtpd"

    acknowledged, lock, stop = [], threading.Lock(), threading.Event()

    def client(n):
        i = 0
        while not stop.is_set():
            i += 1
            subject = f"durable-{n}-{i}"
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=5) as c:
                    c.sendmail("load@elders.example", [world.bob, world.team],
                               message(subject, "load@elders.example", world.bob))
                with lock:
                    acknowledged.append(subject)
            except (OSError, smtplib.SMTPException):
                time.sleep(0.05)   # the server is down or died mid-transaction: try again

    threads = [threading.Thread(target=client, args=(n,)) for n in range(3)]
    proc = None
    try:
        for t in threads:
            t.start()
        for _ in range(4):
            proc = subprocess.Popen([str(binary), "--config", str(config)], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            time.sleep(1.5)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        proc = subprocess.Popen([str(binary), "--config", str(config)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(1.0)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0

    print(f"{len(acknowledged)} messages acknowledged across 4 SIGKILLs")
    assert len(acknowledged) >= 10
    rows = sql("SELECT m.message_id_hdr, a.address, count(*) FROM mail.mailbox_messages mm "
               "JOIN mail.messages m ON m.id = mm.message_id JOIN mail.mailboxes mb ON mb.id = mm.mailbox_id "
               "JOIN directory.accounts a ON a.id = mb.account_id "
               "WHERE m.message_id_hdr LIKE 'durable-%%' GROUP BY 1, 2")
    per_message = {}
    for message_id, address, count in rows:
        assert count == 1, f"{message_id} is {count} times in {address}"
        per_message.setdefault(message_id.split("@")[0], set()).add(address)
    for subject in acknowledged:
        # bob is reached directly and through the group: one copy, and alice through the group
        assert per_message.get(subject) == {world.bob, world.alice}, subject
