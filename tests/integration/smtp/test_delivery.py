# test_delivery.py - local delivery by polder-smtpd, checked in the mail tables and the
# blob store: aliases, groups and plus-addresses land in each INBOX exactly once with one
# blob; trace fields; SIZE enforced while streaming (nothing stored); BDAT; the bare LF /
# bare CR smuggling cases (REJECT policy: 550 5.6.0, nothing stored, session in step).
# SECURITY: smuggling and size limits. STANDARDS: RFC 5321 (2.3.8, 4.4, 4.5.2), RFC 1870,
# RFC 3030, RFC 3461.

import re
import smtplib

from conftest import PASSWORD, blob_bytes, message


def count_messages(sql):
    return sql("SELECT count(*) FROM mail.messages")[0][0]


def send(smtpd, sender, rcpts, data, **kw):
    with smtplib.SMTP("127.0.0.1", smtpd.port("mx"), timeout=20) as c:
        return c.sendmail(sender, rcpts, data, **kw)


def test_alias_group_and_plus_address_land_once_per_inbox_with_one_blob(smtpd, world, inbox, sql):
    a0, b0 = len(inbox(world.alice)), len(inbox(world.bob))
    data = message("fan out", "news@elders.example", world.team)
    refused = send(smtpd, "news@elders.example",
                   [world.sales, world.team, "alice+newsletter@" + world.domain, world.alice], data)
    assert refused == {}
    alice, bob = inbox(world.alice), inbox(world.bob)
    assert len(alice) == a0 + 1 and len(bob) == b0 + 1
    assert alice[-1][1] == bob[-1][1]   # one blob shared by both mailboxes
    rows = sql("SELECT count(*) FROM mail.messages WHERE encode(blob_sha256, 'hex') = %s", (alice[-1][1],))
    assert rows[0][0] == 1


def test_delivered_message_starts_with_return_path_and_received(smtpd, world, inbox):
    data = message("trace fields", "Sender@Elders.example", world.bob)
    send(smtpd, "Sender@Elders.example", [world.bob], data)
    raw = blob_bytes(smtpd, inbox(world.bob)[-1][1])
    head = raw.split(b"\r\n\r\n", 1)[0].decode()
    # MX mail: our Authentication-Results: sits between them (test_inbound_auth.py).
    assert re.match(r"Return-Path: <Sender@Elders.example>\r\nAuthentication-Results: mx.gemeente.example;"
                    r"[^\r]*\r\n(\t[^\r]*\r\n)*Received: from ", head), head[:400]
    received = head[head.index("Received: from "):].split("\r\nFrom:")[0]
    assert "by mx.gemeente.example (Polder)" in received
    assert "with ESMTP id " in received
    assert f"for <{world.bob}>" in received
    assert raw.endswith(data)   # the client's octets follow unchanged


def test_unknown_user_gets_550_5_1_1(smtpd, world, raw):
    r = raw("mx")
    r.cmd("EHLO client.test")
    assert r.cmd("MAIL FROM:<x@elders.example>")[0] == 250
    code, text = r.cmd(f"RCPT TO:<nobody@{world.domain}>")
    assert code == 550 and text[0].startswith("5.1.1")
    code, text = r.cmd(f"RCPT TO:<nobody+tag@{world.domain}>")
    assert code == 550


def test_relaying_to_a_foreign_domain_is_refused_on_mx(smtpd, raw):
    r = raw("mx")
    r.cmd("EHLO client.test")
    assert r.cmd("MAIL FROM:<x@elders.example>")[0] == 250
    code, text = r.cmd("RCPT TO:<victim@elsewhere.example>")
    assert code == 554 and text[0].startswith("5.7.1")
    code, _ = r.cmd("RCPT TO:<victim@[127.0.0.1]>")
    assert code == 554


def test_a_full_mailbox_gets_452_at_rcpt(smtpd, world, raw):
    r = raw("mx")
    r.cmd("EHLO client.test")
    assert r.cmd("MAIL FROM:<x@elders.example>")[0] == 250
    code, text = r.cmd(f"RCPT TO:<{world.carol}>")
    assert code == 452 and text[0].startswith("4.2.2")


def test_a_message_over_size_gets_552_while_streaming_and_nothing_is_stored(smtpd, world, raw, sql, inbox):
    before, bob = count_messages(sql), len(inbox(world.bob))
    big = message("too big", "x@elders.example", world.bob, body=("y" * 76 + "\r\n") * 1000)   # 78 KB > 64K
    r = raw("mx")
    r.cmd("EHLO client.test")
    assert r.cmd("MAIL FROM:<x@elders.example>")[0] == 250   # no SIZE= declared
    assert r.cmd(f"RCPT TO:<{world.bob}>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send(big + b".\r\n")
    code, text = r.reply()
    assert code == 552 and text[0].startswith("5.3.4")
    assert r.cmd("NOOP")[0] == 250
    assert count_messages(sql) == before and len(inbox(world.bob)) == bob


def test_smtplib_declares_size_and_is_refused_at_mail(smtpd, world):
    big = message("too big", "x@elders.example", world.bob, body=("y" * 76 + "\r\n") * 1000)
    try:
        send(smtpd, "x@elders.example", [world.bob], big)
        raise AssertionError("accepted a message over SIZE")
    except smtplib.SMTPSenderRefused as e:
        assert e.smtp_code == 552


def test_a_declared_size_over_the_limit_is_refused_at_mail(smtpd, raw):
    r = raw("mx")
    r.cmd("EHLO client.test")
    code, text = r.cmd(f"MAIL FROM:<x@elders.example> SIZE={10 * 1024 * 1024}")
    assert code == 552 and text[0].startswith("5.3.4")


def test_dsn_and_8bitmime_parameters_are_accepted(smtpd, world, raw, inbox):
    before = len(inbox(world.bob))
    r = raw("mx")
    r.cmd("EHLO client.test")
    assert r.cmd("MAIL FROM:<x@elders.example> BODY=8BITMIME RET=HDRS ENVID=abc+2Bdef SMTPUTF8")[0] == 250
    assert r.cmd(f"RCPT TO:<{world.bob}> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;{world.bob}")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send("Subject: =?utf-8?q?caf=C3=A9?=\r\nFrom: <x@elders.example>\r\n\r\ncaf\u00e9\r\n.\r\n")
    assert r.reply()[0] == 250
    assert len(inbox(world.bob)) == before + 1


def test_bdat_chunks_are_delivered(smtpd, world, raw, inbox):
    before = len(inbox(world.bob))
    data = message("chunked", "x@elders.example", world.bob)
    part1, part2 = data[:20], data[20:]
    r = raw("mx")
    r.cmd("EHLO client.test")
    r.send(f"MAIL FROM:<x@elders.example>\r\nRCPT TO:<{world.bob}>\r\n".encode()
           + f"BDAT {len(part1)}\r\n".encode() + part1 + f"BDAT {len(part2)} LAST\r\n".encode() + part2)
    assert [r.reply()[0] for _ in range(4)] == [250, 250, 250, 250]
    rows = inbox(world.bob)
    assert len(rows) == before + 1
    assert blob_bytes(smtpd, rows[-1][1]).endswith(data)


def test_bdat_over_size_is_refused_and_nothing_stored(smtpd, world, raw, sql):
    before = count_messages(sql)
    r = raw("mx")
    r.cmd("EHLO client.test")
    chunk = b"a" * 40000 + b"\r\n"
    r.send(f"MAIL FROM:<x@elders.example>\r\nRCPT TO:<{world.bob}>\r\n".encode()
           + f"BDAT {len(chunk)}\r\n".encode() + chunk + f"BDAT {len(chunk)} LAST\r\n".encode() + chunk)
    codes = [r.reply()[0] for _ in range(4)]
    assert codes[:3] == [250, 250, 250] and codes[3] == 552
    assert r.cmd("NOOP")[0] == 250
    assert count_messages(sql) == before


def smuggle(r, world, payload):
    r.cmd("EHLO client.test")
    assert r.cmd("MAIL FROM:<x@elders.example>")[0] == 250
    assert r.cmd(f"RCPT TO:<{world.bob}>")[0] == 250
    assert r.cmd("DATA")[0] == 354
    r.send(payload)
    return r.reply()


def test_bare_lf_dot_lf_is_not_an_end_of_data_and_the_message_is_refused(smtpd, world, raw, sql):
    for fake_end in (b"\n.\n", b"\n.\r\n", b"\r\n.\n", b"\r.\r", b"\r\n.\r"):
        before = count_messages(sql)
        r = raw("mx")
        smuggled = (b"Subject: smuggle\r\n\r\nhello" + fake_end
                    + b"MAIL FROM:<evil@elders.example>\r\nRCPT TO:<" + world.alice.encode() + b">\r\nDATA\r\n"
                    + b"Subject: smuggled\r\n\r\nsmuggled\r\n.\r\n")
        code, text = smuggle(r, world, smuggled)
        assert code == 550 and text[0].startswith("5.6.0"), (fake_end, code, text)
        assert r.cmd("NOOP")[0] == 250   # in step: the smuggled commands were content, not commands
        assert count_messages(sql) == before, fake_end


def test_a_bare_cr_inside_a_line_refuses_the_message(smtpd, world, raw, sql):
    before = count_messages(sql)
    r = raw("mx")
    code, text = smuggle(r, world, b"Subject: cr\r\n\r\nab\rcd\r\n.\r\n")
    assert code == 550 and text[0].startswith("5.6.0")
    assert count_messages(sql) == before


def test_bare_lf_inside_bdat_refuses_the_message(smtpd, world, raw, sql):
    before = count_messages(sql)
    r = raw("mx")
    r.cmd("EHLO client.test")
    chunk = b"Subject: x\r\n\r\nline\n.\nmore\r\n"
    r.send(f"MAIL FROM:<x@elders.example>\r\nRCPT TO:<{world.bob}>\r\nBDAT {len(chunk)} LAST\r\n".encode() + chunk)
    codes = [r.reply()[0] for _ in range(3)]
    assert codes == [250, 250, 550]
    assert count_messages(sql) == before


def test_dot_stuffing_is_undone(smtpd, world, inbox):
    data = message("dots", "x@elders.example", world.bob, body="..starts with a dot\r\n.\r\nend\r\n")
    send(smtpd, "x@elders.example", [world.bob], data)
    raw = blob_bytes(smtpd, inbox(world.bob)[-1][1])
    assert raw.endswith(b"..starts with a dot\r\n.\r\nend\r\n")   # smtplib stuffs, the server unstuffs


def test_submission_delivers_locally_for_the_authenticated_sender(smtpd, tls, world, inbox):
    before = len(inbox(world.bob))
    with smtplib.SMTP("127.0.0.1", smtpd.port("submission"), timeout=10) as c:
        c.starttls(context=tls)
        c.login(world.alice, PASSWORD)
        c.sendmail(world.sales, [world.bob], message("from alias", world.sales, world.bob))
    rows = inbox(world.bob)
    assert len(rows) == before + 1
    received = blob_bytes(smtpd, rows[-1][1]).decode()
    assert "with ESMTPSA id" in received
