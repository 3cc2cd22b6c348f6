# test_cross_account.py - another user's mailboxes, in the same organisation or another
# one, cannot be reached through any mailbox-naming command: each attempt gets NO with
# [NONEXISTENT] (invisible) or [NOPERM] (visible without the right), and nothing changes.

import pytest

from imap_helpers import message, ok


@pytest.fixture(scope="module")
def world(new_org, new_user, imapd, tls_files):
    home = new_org()
    away = new_org()
    return {"victim": new_user(home), "colleague": new_user(home), "stranger": new_user(away)}


NAMES = ["Shared/{victim}/INBOX", "Shared/{victim}/Sent", "{victim}/INBOX", "../INBOX", "Shared/{victim}"]


@pytest.mark.parametrize("attacker", ["colleague", "stranger"])
def test_every_mailbox_command_on_another_users_mailbox_is_refused(raw, connect, world, attacker):
    victim = world["victim"]
    vc = connect(victim)
    ok(vc.append("INBOX", None, None, message("private")))
    before = ok(vc.status("INBOX", "(MESSAGES UIDNEXT)"))[0]
    r = raw(user=world[attacker])
    commands = []
    for template in NAMES:
        name = template.format(victim=victim)
        q = f'"{name}"'
        commands += [f"SELECT {q}", f"EXAMINE {q}", f"STATUS {q} (MESSAGES)", f"DELETE {q}",
                     f"RENAME {q} \"Mine\"", f"GETACL {q}", f"MYRIGHTS {q}", f"SETACL {q} {world[attacker]} lrswi",
                     f"GETQUOTAROOT {q}", f"SUBSCRIBE {q}", f"LISTRIGHTS {q} {world[attacker]}"]
    for cmd in commands:
        lines = r.cmd(cmd)
        assert " NO [NONEXISTENT]" in lines[-1] or " NO [NOPERM]" in lines[-1] or " NO [CANNOT]" in lines[-1], (cmd, lines)
        assert not any("private" in l for l in lines)
    body = message("injected")
    for template in NAMES:
        name = template.format(victim=victim)
        r.send_raw(b'a1 APPEND "%s" {%d+}\r\n' % (name.encode(), len(body)) + body + b"\r\n")
        lines = r.until("a1")
        assert " NO [TRYCREATE]" in lines[-1] or " NO [NOPERM]" in lines[-1] or " NO [CANNOT]" in lines[-1], lines
    ok(connect(world[attacker]).append("INBOX", None, None, message("mine")))
    r.cmd("SELECT INBOX")
    for template in NAMES:
        name = template.format(victim=victim)
        for verb in ("COPY", "MOVE"):
            lines = r.cmd(f'{verb} 1 "{name}"')
            assert " NO [TRYCREATE]" in lines[-1] or " NO [NOPERM]" in lines[-1] or " NO [CANNOT]" in lines[-1], lines
    lines = r.cmd('LIST "" "*"')
    assert not any(victim in l for l in lines), lines
    assert ok(vc.status("INBOX", "(MESSAGES UIDNEXT)"))[0] == before
    assert any(b"INBOX" in l for l in ok(vc.list()))
